"""Manifest builders: pure functions from the typed model to Kubernetes objects (dicts).

No Pulumi imports here: the Pulumi components and the offline commands call the same builders,
so the two paths cannot drift.
"""

from __future__ import annotations

from netpol.builders import access, apps, baselines, escape_hatch, platform, profiles
from netpol.builders.common import Manifest
from netpol.model import StackConfig

# Component order = render order = registration order.
COMPONENTS = ("baselines", "profiles", "shared-access", "platform", "app-namespaces", "app-extras", "escape-hatch")


def build_manifests(cfg: StackConfig) -> list[Manifest]:
    out = [
        *baselines.build(cfg),
        *profiles.build(cfg),
        *access.build(cfg),
        *platform.build(cfg),
        *apps.build(cfg),
        *escape_hatch.build(cfg.runbook_url),
    ]
    order = {c: i for i, c in enumerate(COMPONENTS)}
    return sorted(out, key=lambda m: order[m.component])


__all__ = ["COMPONENTS", "Manifest", "build_manifests"]
