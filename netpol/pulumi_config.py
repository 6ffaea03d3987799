"""Read the `netpol:` keys through the Pulumi SDK (structured values arrive as JSON strings).

Every `netpol:` key the engine passed is read, known or not, so that a misspelt key fails the
same way it fails offline (`build_config` names it and lists the valid ones).
"""

from __future__ import annotations

import json
from typing import Any


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value  # a plain string such as `gitops`


def read_pulumi_config() -> dict[str, Any]:
    from pulumi.runtime.config import CONFIG, get_config_env

    merged = {**get_config_env(), **CONFIG.get()}
    return {k.partition(":")[2]: _decode(v) if isinstance(v, str) else v
            for k, v in sorted(merged.items()) if k.startswith("netpol:")}
