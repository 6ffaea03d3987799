"""Generated Cilium rules with random peers and ports never slip a port-any or a literal IP past the
rules, and never make them cry wolf.

The generator knows, for every rule it builds, whether it opens every port and which CIDR values it
holds (the oracle); the rules must report exactly those rule paths. Checked on the pure functions
(many examples) and through the real pack over gRPC (fewer, each a full Analyze round trip).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer_harness import manifest_resource, provider
from netpol import labels as L
from netpol import apis
from netpol import wellknown as W
from pack_fixtures import get_pack
from policies.adapter import context_from_config
from policies.rules import RULES_BY_NAME

PORT_ANY = RULES_BY_NAME["no-port-any"]
IPS = RULES_BY_NAME["no-hardcoded-ips"]


@dataclass
class Oracle:
    port_any: set[str] = field(default_factory=set)  # rule paths that open every port
    ips: set[str] = field(default_factory=set)  # exact paths of CIDR values that must be reported


ipv4 = st.builds(lambda a, p: str(ipaddress.ip_network(f"{ipaddress.IPv4Address(a)}/{p}", strict=False)),
                 st.integers(0, 2**32 - 1), st.integers(0, 32))
ipv6 = st.builds(lambda a, p: str(ipaddress.ip_network(f"{ipaddress.IPv6Address(a)}/{p}", strict=False)),
                 st.integers(0, 2**128 - 1), st.integers(0, 128))
host = st.builds(lambda a: str(ipaddress.IPv4Address(a)) + "/32", st.integers(0, 2**32 - 1))
cidr = st.one_of(ipv4, ipv6, host, st.just(W.HEALTH_CIDR), st.just("0.0.0.0/0"), st.just("${node_cidr}"))
labels = st.dictionaries(st.sampled_from(["app", "tier", "k8s-app", L.POD_NAMESPACE_LABEL]),
                         st.sampled_from(["web", "db", "kube-dns", "shop"]), max_size=2)
selector = st.builds(lambda ml: {"matchLabels": ml} if ml else {}, labels)

# a port entry and whether it opens every port
explicit_port = st.builds(lambda n, proto: ({"port": str(n), "protocol": proto}, False),
                          st.integers(1, 65535), st.sampled_from(["TCP", "UDP", "SCTP", "ANY"]))
any_port = st.one_of(
    st.builds(lambda proto: ({"port": "0", "protocol": proto}, True), st.sampled_from(["TCP", "UDP", "ANY"])),
    st.just(({"protocol": "ANY"}, True)),
    st.just(({}, True)),
    st.builds(lambda proto: ({"protocol": proto}, True), st.sampled_from(["TCP", "UDP"])),
    st.builds(lambda end: ({"port": "1", "endPort": end, "protocol": "TCP"}, True), st.just(65535)),
)
ranged = st.builds(lambda a, w: ({"port": str(a), "endPort": min(a + w, 65535), "protocol": "TCP"}, False),
                   st.integers(2, 60000), st.integers(0, 5000))
port_entry = st.one_of(explicit_port, explicit_port, ranged, any_port)


@st.composite
def to_ports(draw):
    """(toPorts value or None, opens every port)."""
    shape = draw(st.sampled_from(["none", "empty-list", "empty-entry", "ports", "ports", "ports"]))
    if shape == "none":
        return None, True
    if shape == "empty-list":
        return [], True
    if shape == "empty-entry":
        return [{}], True
    entries, opens = [], False
    for _ in range(draw(st.integers(1, 2))):
        ports = draw(st.lists(port_entry, min_size=0, max_size=3))
        if not ports:
            entries.append({"ports": []})
            opens = True
        else:
            entries.append({"ports": [p for p, _ in ports]})
            opens = opens or any(o for _, o in ports)
    return entries, opens


@st.composite
def peer(draw, section: str):
    """(peer fields, CIDR values by suffix path, is a health-probe rule when portless)."""
    d = "from" if section == "ingress" else "to"
    kind = draw(st.sampled_from(["endpoints", "entities", "cidr", "cidrset", "fqdn", "none", "health"]))
    if kind == "endpoints":
        return {f"{d}Endpoints": draw(st.lists(selector, min_size=1, max_size=2))}, {}, False
    if kind == "entities":
        ents = draw(st.lists(st.sampled_from(["world", "cluster", "host", "remote-node", "kube-apiserver"]),
                             min_size=1, max_size=3, unique=True))
        return {f"{d}Entities": ents}, {}, False
    if kind == "health" and section == "ingress":
        if draw(st.booleans()):
            return {"fromEntities": ["health"]}, {}, True
        return {"fromCIDR": [W.HEALTH_CIDR]}, {}, True
    if kind == "cidr":
        vals = draw(st.lists(cidr, min_size=1, max_size=3))
        return {f"{d}CIDR": vals}, {f"{d}CIDR[{i}]": v for i, v in enumerate(vals)}, \
            section == "ingress" and all(v == W.HEALTH_CIDR for v in vals)
    if kind == "cidrset":
        c, exc = draw(cidr), draw(st.lists(ipv4, max_size=2))
        entry = {"cidr": c, **({"except": exc} if exc else {})}
        found = {f"{d}CIDRSet[0].cidr": c, **{f"{d}CIDRSet[0].except[{i}]": e for i, e in enumerate(exc)}}
        return {f"{d}CIDRSet": [entry]}, found, section == "ingress" and c == W.HEALTH_CIDR and not exc
    if kind == "fqdn" and section == "egress":
        return {"toFQDNs": [{"matchName": "api.example.com"}]}, {}, False
    return {}, {}, False


@st.composite
def policy(draw):
    oracle = Oracle()
    spec: dict = {"endpointSelector": draw(selector)}
    for section in ("ingress", "egress"):
        rules = []
        for i in range(draw(st.integers(0, 3))):
            fields, cidrs, health = draw(peer(section))
            tp, opens = draw(to_ports())
            rule = dict(fields)
            if tp is not None:
                rule["toPorts"] = tp
            path = f"spec.{section}[{i}]"
            if not any(rule.values()):  # `{}` / `{toPorts: []}` allow nothing (no-explicit-default-deny's business)
                opens = False
            if opens and not health:
                oracle.port_any.add(path)
            for suffix, v in cidrs.items():
                exempt = section == "ingress" and v == W.HEALTH_CIDR and ".except[" not in suffix
                if not exempt:
                    oracle.ips.add(f"{path}.{suffix}")
            rules.append(rule)
        if rules:
            spec[section] = rules
    if "ingress" not in spec and "egress" not in spec:
        spec["egress"] = [{"toEntities": ["world"], "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]}]
    kind = draw(st.sampled_from([apis.CNP, apis.CCNP]))
    md = {"name": "generated", **({"namespace": "shop"} if kind == apis.CNP else {})}
    return {"apiVersion": apis.CILIUM_API_VERSION, "kind": kind, "metadata": md, "spec": spec}, oracle


def _rule_of(path: str) -> str:
    import re

    return re.match(r"^spec\.(ingress|egress)\[\d+\]", path).group(0)


@settings(max_examples=600, deadline=None)
@given(policy())
def test_pure_rules_match_the_oracle(generated):
    m, oracle = generated
    ctx = context_from_config(None)
    port_paths = {_rule_of(v.path) for v in PORT_ANY.resource(m, ctx)}
    assert port_paths == oracle.port_any
    assert {v.path for v in IPS.resource(m, ctx)} == oracle.ips


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy())
def test_pack_over_grpc_matches_the_oracle(generated):
    m, oracle = generated
    pack = get_pack("live")
    r = manifest_resource("live", m, provider("live", render_dir="rendered/live"))
    diags = pack.analyze(r)
    got_port = {d for d in diags if d.policy == "no-port-any"}
    got_ips = [d for d in diags if d.policy == "no-hardcoded-ips"]
    assert all(d.urn == r.urn and d.enforcement == "mandatory" for d in got_port | set(got_ips))
    assert bool(got_port) == bool(oracle.port_any)
    for path in oracle.port_any:
        assert any(f" at {path}" in d.message for d in got_port), path
    assert len(got_ips) == len(oracle.ips)
    for path in oracle.ips:
        assert any(f" at {path}: " in d.message for d in got_ips), path
