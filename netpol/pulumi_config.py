"""The program's stack config, read through the Pulumi SDK: `pulumi.Config("netpol")`.

The engine merges the project's defaults (`config:` in Pulumi.yaml) with the stack's file and hands
the result to the program; `pulumi.Config` is the SDK's reader of it (the config map, PULUMI_CONFIG,
PULUMI_CONFIG_<KEY> overrides, secrets). The offline commands cannot ask the engine and read the same
files themselves (`netpol.config.load_config`: project defaults, then the stack file, key by key);
tests/test_config_errors.py and the engine tests hold the two readers to the same model.

Structured values arrive as JSON strings (`pulumi config set --path`, or YAML objects in the stack
file) and are decoded here; `build_config` validates them. `pulumi.Config` reads a key by name but
cannot list the keys it holds, so the names of the `netpol:` keys the engine passed come from the
SDK's config map (`pulumi.runtime.config`): every one is read, known or not, so that a misspelt key
fails in the program the way it fails offline (`build_config` names it and lists the valid ones).
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from netpol.config import CONFIG_KEYS, NAMESPACE


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # a plain string such as `gitops`


def netpol_values(config: Mapping[str, Any]) -> dict[str, Any]:
    """The `netpol:` keys of an engine config map (`{"netpol:namespaces": "<json>", ...}`), decoded and
    without the prefix: the raw input of `netpol.config.build_config` (the policy pack reads its
    PULUMI_CONFIG with this)."""
    return {k.partition(":")[2]: _decode(v) for k, v in sorted(config.items()) if k.startswith(NAMESPACE + ":")}


def passed_keys() -> list[str]:
    """The names of the `netpol:` keys the engine (or a test) passed to the program."""
    from pulumi.runtime.config import CONFIG, get_config_env

    return sorted({k.partition(":")[2] for k in (*get_config_env(), *CONFIG.get()) if k.startswith(NAMESPACE + ":")})


def read_pulumi_config() -> dict[str, Any]:
    """The program's config, through `pulumi.Config("netpol")`: every known key and every key passed."""
    import pulumi

    config = pulumi.Config(NAMESPACE)
    out: dict[str, Any] = {}
    for key in sorted({*CONFIG_KEYS, *passed_keys()}):
        value = config.get(key)
        if value is not None:
            out[key] = _decode(value)
    return out
