"""Synthetic stacks of N app namespaces on the live stack's platform set (for the benchmarks)."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ("isolated", "internal", "internal-egress", "standard")
ACCESS = ((), ("postgres",), ("postgres", "dragonfly"), ("garage-s3",), ("kube-api",))


def live_config() -> dict:
    return yaml.safe_load((ROOT / "Pulumi.live.yaml").read_text())["config"]


def synthetic_config(n: int) -> dict:
    cfg = copy.deepcopy(live_config())
    apps = {}
    for i in range(n):
        apps[f"app-{i:05d}"] = {"profile": PROFILES[i % 4], "access": list(ACCESS[i % 5]), "mesh": i % 7 == 0}
    # keep the live stack's apps with extras, so extras are exercised at scale too
    apps.update(cfg["netpol:namespaces"])
    cfg["netpol:namespaces"] = apps
    return cfg


def write_stack(n: int, root: Path, stack: str = "bench") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (root / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": synthetic_config(n)}, sort_keys=False))
    return root
