"""policies/config.example.json: every policy and key it names exists and reads it, and it repeats no
list (a key the pack's schema defaults is left out; the defaults live in netpol/defaults.py)."""

from __future__ import annotations

import json
from pathlib import Path

from policies.adapter import CONFIG_SCHEMA, context_from_config
from policies.rules import RULES_BY_NAME

EXAMPLE = Path(__file__).resolve().parents[2] / "policies" / "config.example.json"


def test_example_names_real_policies_and_their_keys():
    doc = json.loads(EXAMPLE.read_text())
    assert doc
    for policy, cfg in doc.items():
        assert policy in RULES_BY_NAME, policy
        assert set(cfg) <= set(RULES_BY_NAME[policy].config_keys), (policy, cfg)
        for key, value in cfg.items():
            assert CONFIG_SCHEMA[key]["type"] == "array" and isinstance(value, list)
            assert all(isinstance(v, str) for v in value)
        ctx = context_from_config(cfg)
        for key, value in cfg.items():
            attr = {"platformNamespaces": "platform_namespaces", "meshNamespaces": "mesh_namespaces",
                    "directApplyStacks": "direct_apply_stacks"}[key]
            assert getattr(ctx, attr) == frozenset(value)


def test_example_repeats_no_key():
    doc = json.loads(EXAMPLE.read_text())
    keys = [k for cfg in doc.values() for k in cfg]
    assert len(keys) == len(set(keys)), keys
