"""`PolicySet.peer_key`: two pod peers with equal keys get the same side result, for every subject,
direction, port and protocol (the invariants look side results up by it instead of evaluating every
flow). Checked exhaustively on the example stacks, on the stack with a cluster-wide `{}` peer, and on
a policy that tells peers apart by one label only."""

from __future__ import annotations

import copy
import itertools

import pytest

from paths import STACKS
from netpol import apis
from netpol import labels as L
from netpol.catalogue import APP_PROBES
from netpol.reach import PolicySet
from netpol.reach.endpoints import entity_endpoint, pod_endpoint
from netpol.stack import inventory_for, load_stack, manifests_for

PORTS = [(p.port, p.protocol) for p in APP_PROBES] + [(5432, "TCP"), (6379, "TCP"), (9090, "TCP"), (15008, "TCP")]


def _docs(stack: str) -> tuple[list[dict], object]:
    cfg = load_stack(stack)
    return [copy.deepcopy(m.body) for m in manifests_for(cfg)], inventory_for(cfg)


def _by_dragonfly_label() -> dict:
    dragonfly = {"matchLabels": {L.ns_label(L.access_label("dragonfly")): L.ACCESS_LABEL_VALUE}}
    ports = [{"ports": [{"port": "8080", "protocol": "TCP"}]}]
    return {"apiVersion": "cilium.io/v2", "kind": apis.CCNP, "metadata": {"name": "dragonfly-peers"},
            "spec": {"endpointSelector": {}, "ingress": [{"fromEndpoints": [dragonfly], "toPorts": ports}],
                     "egress": [{"toEndpoints": [dragonfly], "toPorts": ports}]}}


def _empty_peer() -> dict:
    return {"apiVersion": "cilium.io/v2", "kind": apis.CCNP, "metadata": {"name": "baseline-intra-namespace"},
            "spec": {"endpointSelector": {}, "ingress": [{"fromEndpoints": [{}]}], "egress": [{"toEndpoints": [{}]}]}}


CASES = [(s, None) for s in STACKS] + [("live", _empty_peer), ("live", _by_dragonfly_label)]


@pytest.mark.parametrize(("stack", "extra"), CASES, ids=[f"{s}-{e.__name__ if e else 'as-built'}" for s, e in CASES])
def test_equal_peer_keys_give_equal_side_results(stack, extra):
    docs, inv = _docs(stack)
    if extra is not None:
        docs.append(extra())
    ps = PolicySet.from_manifests(docs)
    pods = [pod_endpoint(p, inv) for p in inv.pods]
    groups_seen = 0
    for subject, direction in itertools.product(pods, ("egress", "ingress")):
        by_key: dict[tuple, list] = {}
        for peer in pods:
            by_key.setdefault(ps.peer_key(subject, direction, peer), []).append(peer)
        for peers in by_key.values():
            groups_seen += len(peers) > 1
            for port, proto in PORTS:
                sides = set()
                for peer in peers:
                    v = ps.evaluate(subject, peer, port, proto) if direction == "egress" else \
                        ps.evaluate(peer, subject, port, proto)
                    side = v.egress if direction == "egress" else v.ingress
                    sides.add(repr(side.to_json()))
                assert len(sides) == 1, (subject, direction, [str(p) for p in peers], port, proto, sides)
    assert groups_seen > 0  # peers were grouped: the property was exercised


def test_peer_key_tells_apart_what_a_rule_tells_apart():
    docs, inv = _docs("live")
    docs.append(_by_dragonfly_label())
    ps = PolicySet.from_manifests(docs)
    ep = {p.namespace: pod_endpoint(p, inv) for p in inv.pods if p.name == "app"}
    # paperless carries the dragonfly access label, payments and dashboard do not
    assert ps.peer_key(ep["homepage"], "ingress", ep["paperless"]) != ps.peer_key(ep["homepage"], "ingress", ep["payments"])
    assert ps.peer_key(ep["homepage"], "ingress", ep["dashboard"]) == ps.peer_key(ep["homepage"], "ingress", ep["payments"])
    assert ps.evaluate(ep["paperless"], ep["homepage"], 8080, "TCP").ingress.allowed
    assert not ps.evaluate(ep["payments"], ep["homepage"], 8080, "TCP").ingress.allowed


def test_peer_key_is_none_for_peers_that_are_not_pods():
    docs, inv = _docs("live")
    ps = PolicySet.from_manifests(docs)
    pod = pod_endpoint(inv.pods[0], inv)
    assert ps.peer_key(pod, "egress", entity_endpoint("world")) is None
    assert ps.peer_key(pod, "ingress", entity_endpoint("host")) is None
    assert ps.peer_key(entity_endpoint("world"), "ingress", pod) == ()  # no policy of its own: nothing to tell apart
