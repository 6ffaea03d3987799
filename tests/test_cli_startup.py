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


def test_triage_package_names_resolve_lazily():
    """Every name `netpol.triage` exports resolves, and importing the triage pass loads neither verify
    nor suggest (they are loaded when one of their names is asked for)."""
    code = ("import sys, netpol.triage.classify, netpol.triage as T; "
            "before = [m for m in ('netpol.triage.verify', 'netpol.triage.suggest') if m in sys.modules]; "
            "missing = [n for n in T.__all__ if getattr(T, n, None) is None]; "
            "print(before, missing, 'netpol.triage.verify' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] [] True"
