"""Read the `netpol:` keys through the Pulumi SDK (structured values arrive as JSON strings).

Every `netpol:` key the engine passed is read, known or not, so that a misspelt key fails the
same way it fails offline (`build_config` names it and lists the valid ones).
"""

from __future__ import annotations

import json
from typing import Any, Mapping


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value  # a plain string such as `gitops`


def netpol_values(config: Mapping[str, Any]) -> dict[str, Any]:
    """The `netpol:` keys of an engine config map (`{"netpol:namespaces": "<json>", ...}`), decoded and
    without the prefix: the raw input of `netpol.config.build_config`."""
    return {k.partition(":")[2]: _decode(v) if isinstance(v, str) else v
            for k, v in sorted(config.items()) if k.startswith("netpol:")}


def read_pulumi_config() -> dict[str, Any]:
    """The program's config, as the engine passed it (PULUMI_CONFIG) or a test set it."""
    from pulumi.runtime.config import CONFIG, get_config_env

    return netpol_values({**get_config_env(), **CONFIG.get()})
