"""Errors of the reachability engine: bad input is reported, never a traceback."""

from __future__ import annotations


class ReachInputError(ValueError):
    """A bad endpoint spec, port, protocol or option: the message says what was given and what is valid."""


class InventoryError(ReachInputError):
    """A bad inventory file: the message names the file, the key, the bad value and the valid values."""
