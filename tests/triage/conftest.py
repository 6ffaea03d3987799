"""Shared fixtures of the triage tests: the `dev` stack and one Verifier for the session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # triage_helpers, make_fixtures


@pytest.fixture(scope="session")
def dev():
    from netpol.stack import load_stack

    return load_stack("dev")


@pytest.fixture(scope="session")
def verifier(dev):
    from netpol.triage import Verifier

    return Verifier(dev)
