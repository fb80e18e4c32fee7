import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
TESTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS)  # the oracles: `from reference import ...`
sys.path.insert(0, os.path.dirname(TESTS))  # the repository: `benchmarks`, `tests`
