"""The program reads its config through `pulumi.Config("netpol")` and sees what the offline reader sees.

Oracles: the stack files themselves (read by `netpol.config.load_config`, the offline reader) and the
Pulumi SDK's documented config sources (the config map, PULUMI_CONFIG, PULUMI_CONFIG_<KEY>)."""

from __future__ import annotations

import json

import pytest
from pulumi.runtime.config import CONFIG, set_all_config

from netpol.config import build_config, load_config
from netpol.pulumi_config import read_pulumi_config
from paths import ROOT, STACKS
from program_mocks import stack_config


@pytest.fixture
def engine_config(monkeypatch):
    """Set the program's config as the engine passes it (structured values as JSON strings)."""
    saved = dict(CONFIG.get())
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)

    def give(values: dict) -> None:
        set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()})

    yield give
    set_all_config(saved)


@pytest.mark.parametrize("stack", STACKS)
def test_the_program_sees_the_offline_readers_config(stack, engine_config):
    engine_config(stack_config(stack))
    program = build_config(stack, f"Pulumi.{stack}.yaml", read_pulumi_config(), ROOT).config
    assert program == load_config(stack, ROOT).config


def test_a_misspelt_key_reaches_build_config(engine_config):
    engine_config({"netpol:applyMode": "gitops", "netpol:namespcaes": {"a": {}}, "other:key": "x"})
    assert read_pulumi_config() == {"applyMode": "gitops", "namespcaes": {"a": {}}}


def test_the_sdks_other_sources_count(engine_config, monkeypatch):
    """PULUMI_CONFIG (the engine's JSON map) and a PULUMI_CONFIG_<KEY> variable are config too: the
    SDK's reader honours them, and so does the program."""
    engine_config({})
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"netpol:applyMode": "gitops", "netpol:typo": "1"}))
    monkeypatch.setenv("PULUMI_CONFIG_NETPOL_RENDERDIR", "out/here")
    assert read_pulumi_config() == {"applyMode": "gitops", "typo": 1, "renderDir": "out/here"}
