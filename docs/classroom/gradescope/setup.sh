#!/usr/bin/env bash
# Gradescope 自动评分程序的安装脚本：装好 Python 依赖（学生的框架在评分时从提交里安装）。
set -euo pipefail
apt-get update -qq && apt-get install -y -qq python3 python3-pip python3-venv > /dev/null
python3 -m pip install -q "numpy>=1.24" "scipy>=1.10" "pytest>=7"
