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
