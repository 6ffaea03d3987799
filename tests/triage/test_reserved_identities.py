"""Cilium's reserved identity numbers (`netpol.apis.RESERVED_IDENTITIES`) against the identities real
Hubble flows carry: the oracle is what Cilium itself printed (../shared/hubble-flows/real-flows.jsonl),
not the table. Every endpoint there that carries `reserved:` labels and an identity below the local
(CIDR/FQDN) range has that identity's name among its labels; one at or above the range is not a
reserved identity."""

from __future__ import annotations

import json
from pathlib import Path

from netpol.apis import LOCAL_IDENTITY_MIN, RESERVED_IDENTITIES

REAL = Path(__file__).resolve().parents[3] / "shared" / "hubble-flows" / "real-flows.jsonl"  # ../shared


def _endpoints():
    for line in REAL.read_text().splitlines():
        if not line.strip():
            continue
        doc = json.loads(line)
        flow = doc.get("flow", doc)
        for side in ("source", "destination"):
            ep = flow.get(side) or {}
            reserved = {lab.removeprefix("reserved:") for lab in ep.get("labels", []) if lab.startswith("reserved:")}
            if reserved and "identity" in ep:
                yield ep["identity"], reserved


def test_real_flows_agree_with_the_reserved_identity_table():
    seen = set()
    for ident, reserved in _endpoints():
        if ident >= LOCAL_IDENTITY_MIN:
            assert ident not in RESERVED_IDENTITIES
            continue
        assert RESERVED_IDENTITIES[ident] in reserved, (ident, reserved)
        seen.add(ident)
    assert seen == {1, 2, 6}  # host, world, remote-node: what the eight lines hold (SOURCE.md)


def test_names_are_unique_so_the_table_inverts():
    assert len(set(RESERVED_IDENTITIES.values())) == len(RESERVED_IDENTITIES)
