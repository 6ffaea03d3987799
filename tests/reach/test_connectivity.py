"""Cilium's own connectivity-test policy scenarios, read in place from ../shared/connectivity.

The pods are those `cilium connectivity test` deploys (fixtures/connectivity-inventory.yaml: client,
client2 (other=client), client3, echo-same-node (other=echo), echo-other-node (first=echo) in
cilium-test, labels per cilium-cli connectivity/check/deployment.go) plus kube-dns. External
addresses are the suite's defaults, 1.1.1.1 (ExternalIP) and 1.0.0.1 (ExternalOtherIP). Expected
verdicts follow the suite's expectations (cilium-cli connectivity/builder/*.go: e.g. all-ingress-deny
"Pod to Pod fails ... egress to world works"; client-egress-to-cidr-deny-default "if there is no
other allowed rule, the policy will be automatically denied" for ExternalIP as well).
"""

from __future__ import annotations

import functools

import pytest

from netpol.reach import PolicySet, load_inventory, resolve_endpoint
from reach_helpers import CONNECTIVITY, FIXTURES

INV = load_inventory(FIXTURES / "connectivity-inventory.yaml")

C, C2, C3 = "cilium-test/client", "cilium-test/client2", "cilium-test/client3"
E1, E2, DNS = "cilium-test/echo-same-node", "cilium-test/echo-other-node", "kube-system/coredns"
EXT, EXT_OTHER = "ip:1.1.1.1", "ip:1.0.0.1"

# scenario -> [(src, dst, "port/proto", verdict, side that decides a denial or an allow, reason, policy)]
# side/reason/policy may be None when not asserted.
CASES = {
    "all-ingress-deny": [
        (C, E1, "8080/TCP", "DENIED", "ingress", "default-deny", "all-ingress-deny"),
        (C2, E2, "8080/TCP", "DENIED", "ingress", "default-deny", "all-ingress-deny"),
        (C, EXT, "443/TCP", "ALLOWED", "egress", "not-enforced", None),
    ],
    "all-egress-deny": [
        (C, E1, "8080/TCP", "DENIED", "egress", "default-deny", "all-egress-deny"),
        (C, EXT, "443/TCP", "DENIED", "egress", "default-deny", "all-egress-deny"),
        (C, DNS, "53/UDP", "DENIED", "egress", "default-deny", "all-egress-deny"),
    ],
    "all-entities-deny": [
        (C, E1, "8080/TCP", "DENIED", "egress", "deny-rule", "all-entities-deny"),
        (C, EXT, "443/TCP", "DENIED", "egress", "deny-rule", "all-entities-deny"),
        (C, "entity:host", "10250/TCP", "DENIED", "egress", "deny-rule", "all-entities-deny"),
    ],
    "allow-all-except-world": [
        (C, E1, "8080/TCP", "ALLOWED", "ingress", "allowed", "allow-all-except-world"),
        (C, EXT, "443/TCP", "DENIED", "egress", "default-deny", "allow-all-except-world"),
        (C, EXT, "53/UDP", "ALLOWED", "egress", "allowed", "allow-all-except-world"),
        (C, "entity:host", "10250/TCP", "ALLOWED", "egress", "allowed", "allow-all-except-world"),
        (EXT, E1, "8080/TCP", "DENIED", "ingress", "default-deny", "allow-all-except-world"),
    ],
    "client-egress": [
        (C, E1, "8080/TCP", "ALLOWED", "egress", "allowed", "client-egress-to-echo"),
        (C2, E2, "8080/TCP", "ALLOWED", "egress", "allowed", "client-egress-to-echo"),
        (C, E1, "8081/TCP", "DENIED", "egress", "default-deny", "client-egress-to-echo"),
        (C, DNS, "53/UDP", "ALLOWED", "egress", "allowed", "client-egress-to-echo"),
        (C, EXT, "443/TCP", "DENIED", "egress", "default-deny", "client-egress-to-echo"),
        (E1, C, "8080/TCP", "ALLOWED", "egress", "not-enforced", None),
    ],
    "client-egress-expression": [
        (C2, E1, "8080/TCP", "ALLOWED", "egress", "allowed", "client-egress-to-echo-expression"),
        (C2, E1, "9090/TCP", "DENIED", "egress", "default-deny", "client-egress-to-echo-expression"),
        (C, E1, "9090/TCP", "ALLOWED", "egress", "not-enforced", None),  # client has no `other` label
    ],
    "client-egress-expression-port-range": [
        (C2, E1, "4196/TCP", "ALLOWED", "egress", "allowed", "client-egress-to-echo-expression-port-range"),
        (C2, E2, "8191/TCP", "ALLOWED", "egress", "allowed", "client-egress-to-echo-expression-port-range"),
        (C2, E1, "4195/TCP", "DENIED", "egress", "default-deny", "client-egress-to-echo-expression-port-range"),
        (C2, E1, "8192/TCP", "DENIED", "egress", "default-deny", "client-egress-to-echo-expression-port-range"),
    ],
    "client-egress-to-cidr-deny": [
        (C, EXT_OTHER, "443/TCP", "DENIED", "egress", "deny-rule", "client-egress-to-cidr-deny"),
        (C, EXT, "443/TCP", "ALLOWED", "egress", "allowed", "allow-all-egress"),
        (C, E1, "8080/TCP", "ALLOWED", "egress", "allowed", "allow-all-egress"),
        (E1, EXT_OTHER, "443/TCP", "ALLOWED", "egress", "allowed", "allow-all-egress"),
    ],
    "client-egress-to-cidr-deny-default": [
        (C, EXT_OTHER, "443/TCP", "DENIED", "egress", "deny-rule", "client-egress-to-cidr-deny"),
        (C, EXT, "443/TCP", "DENIED", "egress", "default-deny", "client-egress-to-cidr-deny"),
        (E1, EXT_OTHER, "443/TCP", "ALLOWED", "egress", "not-enforced", None),
    ],
    "client-egress-to-echo-deny": [
        (C, E1, "8080/TCP", "DENIED", "egress", "deny-rule", "client-egress-to-echo-deny"),
        (C2, E2, "8080/TCP", "DENIED", "egress", "deny-rule", "client-egress-to-echo-deny"),
        (C, E1, "8081/TCP", "ALLOWED", "ingress", "allowed", "allow-all-ingress"),
        (C, EXT, "443/TCP", "ALLOWED", "egress", "allowed", "allow-all-egress"),
    ],
    "client-egress-to-echo-deny-port-range": [
        (C, E1, "4096/TCP", "DENIED", "egress", "deny-rule", "client-egress-to-echo-deny-port-range"),
        (C, E1, "8080/TCP", "DENIED", "egress", "deny-rule", "client-egress-to-echo-deny-port-range"),
        (C, E1, "8192/TCP", "ALLOWED", "egress", "allowed", "allow-all-egress"),
        (C, E1, "8080/UDP", "ALLOWED", "egress", "allowed", "allow-all-egress"),
    ],
    "client-egress-to-echo-expression-deny": [
        (C, E1, "8080/TCP", "DENIED", "egress", "deny-rule", "client-egress-to-echo-expression-deny"),
        (C2, E1, "8080/TCP", "ALLOWED", "egress", "allowed", "allow-all-egress"),  # name=client2
    ],
    "client-egress-to-echo-expression-deny-port-range": [
        (C, E2, "5000/TCP", "DENIED", "egress", "deny-rule", "client-egress-to-echo-expression-deny-port-range"),
        (C, E2, "9000/TCP", "ALLOWED", "egress", "allowed", "allow-all-egress"),
    ],
    "client-ingress-from-other-client-icmp-deny": [
        # The deny governs ICMP only: TCP between the clients stays allowed (ICMP is not evaluated).
        (C2, C, "8080/TCP", "ALLOWED", "ingress", "allowed", "allow-all-ingress"),
    ],
    "cluster-entity": [
        (C, E1, "8080/TCP", "ALLOWED", "egress", "allowed", "entity-cluster"),
        (C, "entity:host", "10250/TCP", "ALLOWED", "egress", "allowed", "entity-cluster"),
        (C, "entity:remote-node", "10250/TCP", "ALLOWED", "egress", "allowed", "entity-cluster"),
        (C, EXT, "443/TCP", "DENIED", "egress", "default-deny", "entity-cluster"),
    ],
    "dns-only": [
        (C, DNS, "53/UDP", "ALLOWED", "egress", "allowed", "client-egress-only-dns"),
        (C, EXT, "53/UDP", "ALLOWED", "egress", "allowed", "client-egress-only-dns"),
        (C, E1, "8080/TCP", "DENIED", "egress", "default-deny", "client-egress-only-dns"),
        (C, EXT, "443/TCP", "DENIED", "egress", "default-deny", "client-egress-only-dns"),
        (C, "fqdn:one.one.one.one", "443/TCP", "DENIED", "egress", "default-deny", "client-egress-only-dns"),
    ],
    "echo-ingress": [
        (C2, E1, "8080/TCP", "ALLOWED", "ingress", "allowed", "echo-ingress-from-other-client"),
        (C, E1, "8080/TCP", "DENIED", "ingress", "default-deny", "echo-ingress-from-other-client"),
        (C3, E2, "8080/TCP", "DENIED", "ingress", "default-deny", "echo-ingress-from-other-client"),
    ],
    "echo-ingress-from-other-client-deny": [
        (C2, E1, "8080/TCP", "DENIED", "ingress", "deny-rule", "echo-ingress-from-other-client-deny"),
        (C, E1, "8080/TCP", "ALLOWED", "ingress", "allowed", "allow-all-ingress"),
    ],
    "host-entity-ingress": [
        ("entity:host", E1, "8080/TCP", "ALLOWED", "ingress", "allowed", "host-cluster-ingress"),
        ("entity:remote-node", E2, "8080/TCP", "ALLOWED", "ingress", "allowed", "host-cluster-ingress"),
        (C, E1, "8080/TCP", "DENIED", "ingress", "default-deny", "host-cluster-ingress"),
    ],
    "policy-local-cluster-egress": [
        (C, E1, "8080/TCP", "ALLOWED", "egress", "allowed", "client-egress-to-echo-no-cluster-policy"),
        (C, DNS, "53/UDP", "ALLOWED", "egress", "allowed", "client-egress-only-port-53"),
        (C, EXT, "53/UDP", "ALLOWED", "egress", "allowed", "client-egress-only-port-53"),
        (C, EXT, "443/TCP", "DENIED", "egress", "default-deny", None),
    ],
    "to-cidr-external": [
        (C, EXT, "443/TCP", "ALLOWED", "egress", "allowed", "client-egress-to-cidr"),
        (C, EXT_OTHER, "443/TCP", "DENIED", "egress", "default-deny", "client-egress-to-cidr"),
        (C, E1, "8080/TCP", "DENIED", "egress", "default-deny", "client-egress-to-cidr"),
    ],
    "to-entities-world": [
        (C, EXT, "80/TCP", "ALLOWED", "egress", "allowed", "client-egress-to-entities-world"),
        (C, EXT, "443/TCP", "DENIED", "egress", "default-deny", "client-egress-to-entities-world"),
        (C, E1, "8080/TCP", "DENIED", "egress", "default-deny", "client-egress-to-entities-world"),
        (C, DNS, "53/UDP", "ALLOWED", "egress", "allowed", "client-egress-to-entities-world"),
    ],
    "to-entities-world-port-range": [
        (C, EXT, "64/TCP", "ALLOWED", "egress", "allowed", "client-egress-to-entities-world-port-range"),
        (C, EXT, "127/TCP", "ALLOWED", "egress", "allowed", "client-egress-to-entities-world-port-range"),
        (C, EXT, "128/TCP", "DENIED", "egress", "default-deny", "client-egress-to-entities-world-port-range"),
        (C, EXT, "80/UDP", "DENIED", "egress", "default-deny", "client-egress-to-entities-world-port-range"),
    ],
}


@functools.lru_cache(maxsize=None)
def scenario(name: str) -> PolicySet:
    return PolicySet.from_dir(CONNECTIVITY / name)


def test_every_shared_scenario_is_covered():
    on_disk = {p.name for p in CONNECTIVITY.iterdir() if p.is_dir()}
    assert on_disk == set(CASES), on_disk ^ set(CASES)
    assert len(CASES) >= 10


@pytest.mark.parametrize("name, case", [(n, c) for n, cs in CASES.items() for c in cs],
                         ids=lambda x: x if isinstance(x, str) else f"{x[0]}->{x[1]}:{x[2]}")
def test_scenario(name, case):
    src, dst, port, expected, side, reason, policy = case
    ps = scenario(name)
    assert ps.policies, f"no policy loaded for {name}"
    port_n, _, proto = port.partition("/")
    v = ps.evaluate(resolve_endpoint(src, INV), resolve_endpoint(dst, INV), int(port_n), proto)
    assert v.verdict == expected, v.to_json()
    s = getattr(v, side)
    assert s.reason == reason, s.to_json()
    if policy is not None:
        assert s.policy is not None and s.policy.endswith("/" + policy), s.to_json()


def test_dns_only_dns_rule_is_l7_and_gives_fqdn_visibility():
    """dns-only: the DNS allow carries an L7 dns rule (matchPattern "*"), noted on the verdict."""
    v = scenario("dns-only").evaluate(resolve_endpoint(C, INV), resolve_endpoint(DNS, INV), 53, "UDP")
    assert v.egress.l7 == "dns" and v.egress.rule == "spec.egress[0]"


def test_icmp_scenario_notes_unsupported_icmp():
    v = scenario("client-ingress-from-other-client-icmp-deny").evaluate(
        resolve_endpoint(C2, INV), resolve_endpoint(C, INV), 8080, "TCP")
    assert any("icmps" in n for n in v.ingress.notes)
    assert v.ingress.description is None  # the deciding allow-all-ingress has no description
    d = scenario("echo-ingress-from-other-client-deny").evaluate(
        resolve_endpoint(C2, INV), resolve_endpoint(E1, INV), 8080, "TCP")
    assert d.ingress.description == "Deny other client to contact echo"
