import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))  # tests/crds.py, tests/program_mocks.py
ROOT = TESTS.parent
STACKS = ("dev", "integration", "live")
