"""课堂任务的测试（pytest -m taskNN_K）；是个包，免得它的 conftest 与 tests/conftest.py 同名冲突。"""
