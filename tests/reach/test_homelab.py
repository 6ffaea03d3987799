"""The real hand-written tree at ../shared/homelab-network-policy, read in place.

It has `${...}` GitOps variables (in CIDRs) and a known hole: its `baseline-intra-namespace` CCNP
says it allows traffic "within their own namespace", but `fromEndpoints: [{}]` / `toEndpoints: [{}]`
in a *cluster-wide* policy select every pod of the cluster (docs "Clusterwide Policies", example
"Allow all ingress to kube-dns": `fromEndpoints: [{}]` = "all Cilium managed endpoints in the
cluster"), so any pod reaches any other pod on any port.
"""

from __future__ import annotations

import functools

import pytest

from netpol.labels import ACCESS_LABEL_PREFIX, PROFILE_LABEL
from netpol.reach import PolicySet, parse_inventory, resolve_endpoint
from reach_helpers import HOMELAB

INV = parse_inventory({
    "namespaces": {
        "authelia": {"labels": {PROFILE_LABEL: "internal"}},
        "sure": {"labels": {PROFILE_LABEL: "internal", ACCESS_LABEL_PREFIX + "postgres": "true"}},
        "system-upgrade": {},
        "kube-system": {},
        "monitoring": {},
        "database": {},
        "istio-gateway": {},
    },
    "pods": [
        {"namespace": "authelia", "name": "authelia", "labels": {"app.kubernetes.io/name": "authelia"}},
        {"namespace": "sure", "name": "sure-web", "labels": {"app.kubernetes.io/name": "sure"}},
        {"namespace": "system-upgrade", "name": "tuppr", "labels": {"app.kubernetes.io/name": "tuppr"}},
        {"namespace": "kube-system", "name": "coredns", "labels": {"k8s-app": "kube-dns"}},
        {"namespace": "monitoring", "name": "prometheus", "labels": {"app.kubernetes.io/name": "prometheus"}},
        {"namespace": "database", "name": "postgres-1", "labels": {"cnpg.io/cluster": "postgres"}},
        {"namespace": "istio-gateway", "name": "internal",
         "labels": {"gateway.networking.k8s.io/gateway-name": "internal"}},
    ],
    "fqdns": {"factory.talos.dev": ["198.51.100.7"], "beta-bridge.simplefin.org": ["198.51.100.8"]},
})
INTRA = "CiliumClusterwideNetworkPolicy/baseline-intra-namespace"


@functools.lru_cache(maxsize=None)
def tree() -> PolicySet:
    return PolicySet.from_dir(HOMELAB)


def flow(src, dst, port, proto="TCP"):
    return tree().evaluate(resolve_endpoint(src, INV), resolve_endpoint(dst, INV), port, proto)


def test_tree_loads_with_substitution_variables():
    ps = tree()
    refs = set(ps.policy_refs)
    assert len(refs) >= 40
    assert {INTRA, "CiliumClusterwideNetworkPolicy/baseline-bgp-peering",
            "CiliumNetworkPolicy/authelia/authelia-default"} <= refs
    assert ps.warnings == []  # every file is YAML; ${...} only spoils the CIDRs that carry it


def test_substitution_variable_cidr_is_noted_not_fatal():
    v = flow("entity:host", "ip:192.0.2.1", 179)
    assert any("${bgp_router_ip}" in n and "does not parse" in n for n in v.egress.notes)
    assert v.egress.policy == "CiliumClusterwideNetworkPolicy/baseline-bgp-peering"


@pytest.mark.parametrize("port, proto", [(31337, "TCP"), (9091, "TCP"), (5353, "UDP")])
def test_intra_namespace_baseline_opens_every_pod_to_every_pod(port, proto):
    """The hole: a pod in one app namespace reaches a pod in another app namespace on any port,
    decided on both sides by baseline-intra-namespace."""
    v = flow("sure/sure-web", "authelia/authelia", port, proto)
    assert v.verdict == "ALLOWED"
    assert v.egress.enforced and v.ingress.enforced
    assert (v.egress.policy, v.egress.rule) == (INTRA, "spec.egress[0]")
    assert (v.ingress.policy, v.ingress.rule) == (INTRA, "spec.ingress[0]")
    assert "same-namespace endpoints only" in v.ingress.description
    back = flow("authelia/authelia", "sure/sure-web", port, proto)
    assert back.verdict == "ALLOWED" and back.egress.policy == INTRA


def test_the_hole_reaches_platform_namespaces_too():
    assert flow("authelia/authelia", "database/postgres-1", 5432).ingress.policy == INTRA


def test_world_egress_stays_closed_for_internal_profile():
    v = flow("authelia/authelia", "ip:203.0.113.50", 80)
    assert v.verdict == "DENIED" and v.egress.reason == "default-deny"


def test_fqdn_egress_with_baseline_dns_visibility():
    """baseline-dns-egress carries `rules.dns: [{matchPattern: '*'}]`, so toFQDNs rules work."""
    v = flow("system-upgrade/tuppr", "fqdn:factory.talos.dev", 443)
    assert v.verdict == "ALLOWED"
    assert v.egress.policy == "CiliumNetworkPolicy/system-upgrade/system-upgrade-default"
    assert flow("sure/sure-web", "fqdn:beta-bridge.simplefin.org", 443).verdict == "ALLOWED"
    assert flow("sure/sure-web", "fqdn:factory.talos.dev", 443).verdict == "DENIED"
    d = flow("sure/sure-web", "kube-system/coredns", 53, "UDP")
    assert d.egress.l7 == "dns"
