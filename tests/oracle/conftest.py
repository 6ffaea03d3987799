"""The oracle binary: built once per session when missing (tools/cilium-verdict/build.sh), never
skipped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from oracle_run import build_oracle  # noqa: E402


@pytest.fixture(scope="session")
def cilium_verdict():
    # Two xdist workers may both find it missing: serialise the build on a lock file.
    import fcntl

    lock = Path(__file__).resolve().parents[2] / ".tools" / ".cilium-verdict.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            return build_oracle()
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
