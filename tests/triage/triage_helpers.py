"""Helpers of the triage tests (importable as `triage_helpers`; tests/triage is on sys.path)."""

from __future__ import annotations

import io
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def run_triage(cfg, name: str, verifier=None):
    from netpol.triage import triage

    return triage(cfg, io.BytesIO(fixture_bytes(name)), verifier)


def by_key(report) -> dict[tuple, dict]:
    """Findings JSON keyed by (direction, source, destination, port, protocol)."""
    out = {}
    for f in report.to_json()["findings"]:
        key = (f["direction"], f["source"], f["destination"], f["port"], f["protocol"])
        assert key not in out, f"duplicate group {key}"
        out[key] = f
    return out


def engine_verdict(cfg, src: str, dst: str, port: int, proto: str = "TCP") -> str:
    """The verdict computed from scratch (no triage code): builders -> PolicySet -> inventory."""
    from netpol.builders import build_manifests
    from netpol.reach import PolicySet, resolve_endpoint
    from netpol.stack import inventory_for

    inv = inventory_for(cfg)
    ps = PolicySet.from_manifests([m.body for m in build_manifests(cfg)])
    return ps.evaluate(resolve_endpoint(src, inv), resolve_endpoint(dst, inv), port, proto).verdict
