"""PolicySet's public surface for its callers: `from_built` with a CompileCache (triage), and what the
rules name, `port_matchers` / `cidr_matchers` (diff's probe ports and addresses).

Oracles: `from_manifests` (the loader's path, which validates every document) for `from_built`; the
YAML written in each test for what the rules name."""

from __future__ import annotations

import ipaddress

import pytest
import yaml

from netpol.builders import build_manifests
from netpol.reach import PolicySet, resolve_endpoint
from netpol.reach.engine import CompileCache
from netpol.stack import inventory_for, load_stack

POLICIES = yaml.safe_load_all("""
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: tenant-a}
spec:
  endpointSelector: {matchLabels: {app: frontend}}
  egress:
    - toEndpoints: [{matchLabels: {app: api}}]
      toPorts: [{ports: [{port: "8080", protocol: TCP}, {port: "9000", endPort: 9010, protocol: ANY}]}]
    - toCIDRSet: [{cidr: 10.1.0.0/16, except: [10.1.2.0/24]}]
      toPorts: [{ports: [{port: "5432"}]}]
  egressDeny:
    - toCIDR: [192.0.2.7/32]
      toPorts: [{ports: [{port: "53", protocol: UDP}]}]
  ingress:
    - fromEntities: [cluster]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-a-policy, namespace: tenant-a}
data: {port: "1234"}
""")
DOCS = [d for d in POLICIES if d]


def test_port_matchers_are_the_ports_the_rules_name():
    ps = PolicySet.from_manifests(DOCS)
    got = sorted((m.lo, m.hi, tuple(sorted(m.protocols))) for m in ps.port_matchers())
    assert got == [
        (53, 53, ("UDP",)),
        (5432, 5432, ("SCTP", "TCP", "UDP")),  # no protocol: any
        (8080, 8080, ("TCP",)),
        (9000, 9010, ("SCTP", "TCP", "UDP")),
    ]


def test_cidr_matchers_are_the_cidrs_the_rules_name():
    ps = PolicySet.from_manifests(DOCS)
    assert sorted(str(c.network) for c in ps.cidr_matchers()) == ["10.1.0.0/16", "192.0.2.7/32"]
    assert all(isinstance(c.network, (ipaddress.IPv4Network, ipaddress.IPv6Network)) for c in ps.cidr_matchers())


def test_rules_are_every_allow_and_deny_rule():
    paths = sorted(r.path for r in PolicySet.from_manifests(DOCS).rules())
    assert paths == sorted(["spec.egress[0]", "spec.egress[1]", "spec.egressDeny[0]", "spec.ingress[0]"])
    assert [r.deny for r in PolicySet.from_manifests(DOCS).rules() if r.path == "spec.egressDeny[0]"] == [True]


@pytest.mark.parametrize("stack", ["dev", "live"])
def test_from_built_decides_like_the_loader(stack):
    """The builders' documents compiled through a CompileCache give the verdicts of the loader's path,
    and a second policy set from the same documents compiles nothing again."""
    cfg = load_stack(stack)
    docs = [m.body for m in build_manifests(cfg)]
    inv = inventory_for(cfg)
    cache = CompileCache()
    built = PolicySet.from_built(docs, cache=cache)
    loaded = PolicySet.from_manifests(docs)
    assert built.policy_refs == loaded.policy_refs
    compiled = len(cache)
    assert compiled == len(loaded.policies)
    again = PolicySet.from_built(docs, cache=cache)
    assert len(cache) == compiled and [id(p) for p in again.policies] == [id(p) for p in built.policies]
    pods = [f"{p.namespace}/{p.name}" for p in inv.pods][:25]
    ends = pods + ["entity:world", "entity:kube-apiserver"]
    for src in ends:
        for dst in ends:
            if src == dst:
                continue
            s, d = resolve_endpoint(src, inv), resolve_endpoint(dst, inv)
            for port, proto in ((53, "UDP"), (443, "TCP"), (5432, "TCP"), (8080, "TCP")):
                assert built.evaluate(s, d, port, proto).verdict == loaded.evaluate(s, d, port, proto).verdict, \
                    (src, dst, port, proto)


def test_a_compile_cache_starts_afresh_at_its_limit():
    cache = CompileCache(limit=1)
    a, b = DOCS[0], {**DOCS[0], "metadata": {"name": "other", "namespace": "tenant-a"}}
    first = cache.compile(a)
    assert cache.compile(a) is first and len(cache) == 1
    cache.compile(b)
    assert len(cache) == 1 and cache.compile(a) is not first
