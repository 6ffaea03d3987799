"""Shared test paths (imported by name; conftest.py modules shadow each other across folders)."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
STACKS = ("dev", "integration", "live")
