"""netpol.config.paused_gc: automatic collection is off inside, back as it was after (nested, on error)."""

from __future__ import annotations

import gc

import pytest

from netpol.config import paused_gc


def test_pauses_and_restores():
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner scope found it off: it stays off until the outer one ends
    assert gc.isenabled()


def test_restores_on_error():
    with pytest.raises(ValueError):
        with paused_gc():
            raise ValueError("boom")
    assert gc.isenabled()


def test_leaves_it_off_when_it_was_off():
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_triage_reads_and_verifies_with_collection_paused():
    """`triage()` (the library entry point, not only the CLI) pauses collection while it reads and
    verifies, and gives it back after."""
    import io

    from netpol.stack import load_stack
    from netpol.triage import triage

    seen = []

    class Recording(io.BytesIO):
        def read(self, *a):
            seen.append(gc.isenabled())
            return super().read(*a)

        def read1(self, *a):
            seen.append(gc.isenabled())
            return super().read1(*a)

        def readinto(self, b):
            seen.append(gc.isenabled())
            return super().readinto(b)

        def readlines(self, *a):
            seen.append(gc.isenabled())
            return super().readlines(*a)

    assert gc.isenabled()
    report = triage(load_stack("dev"), Recording(b'{"verdict": "FORWARDED"}\n'))
    assert seen and not any(seen)
    assert gc.isenabled()
    assert report.stats.flows_read == 1
