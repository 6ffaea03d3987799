"""The CLI's start-up: pydantic's plugin lookup is skipped unless the environment asks for it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = ("import netpol.cli, netpol.model, pydantic.plugin._loader as L; "
         "print('scanned' if L._plugins is not None else 'skipped')")


@pytest.mark.parametrize("env, expected", [
    ({}, "skipped"),  # the CLI's default: no scan of every distribution's entry points
    ({"PYDANTIC_DISABLE_PLUGINS": ""}, "scanned"),  # an explicit setting wins: plugins load
])
def test_pydantic_plugin_lookup(env, expected):
    base = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**base, **env}, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == expected
