"""Shared policy-pack processes for the tests (no conftest.py here: the root `tests/conftest.py` is
imported by name by other tests, and a second conftest module would shadow it).

`get_pack(stack, pack_config)` starts a `PolicyPackProcess` the way the engine does, once per
(stack, config) per test process, and stops them all at exit. The `packs` fixture exposes it.
"""

from __future__ import annotations

import atexit
import json

import pytest

from analyzer_harness import PolicyPackProcess

_RUNNING: dict[tuple[str, str], PolicyPackProcess] = {}


def get_pack(stack: str = "live", pack_config: dict | None = None, stack_config: dict | None = None
             ) -> PolicyPackProcess:
    """A running pack for `stack`, configured with `pack_config` (--policy-pack-config) and given
    `stack_config` as the engine gives it (PULUMI_CONFIG)."""
    key = (stack, json.dumps(pack_config or {}, sort_keys=True), json.dumps(stack_config or {}, sort_keys=True))
    if key not in _RUNNING:
        _RUNNING[key] = PolicyPackProcess(stack=stack, pack_config=pack_config, stack_config=stack_config).start()
    return _RUNNING[key]


@atexit.register
def _stop_all() -> None:
    for p in _RUNNING.values():
        p.close()
    _RUNNING.clear()


@pytest.fixture
def packs():
    return get_pack
