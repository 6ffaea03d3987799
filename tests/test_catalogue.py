"""Issue 15: one catalogue of expected flows (`netpol.catalogue`) drives matrix, verify, invariants, diff and triage.

The oracle is written here by hand for a small stack (two app namespaces and the platform workloads
the promises name): which flows each namespace has, on which ports, allowed or closed, and what each
tool then reports. Then one expectation is changed in the catalogue (DNS on 5353 instead of 53) and
all five tools must report the changed flow.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from netpol import catalogue
from netpol.catalogue import Catalogue, Expectations, Ref
from netpol.config import build_config
from netpol.diff.flows import stack_flows
from netpol.invariants import check_invariants, grouped
from netpol.matrix import compute_matrix
from netpol.model import PortProtocol
from netpol.reach import PolicySet
from netpol.stack import inventory_for, manifests_for
from netpol.triage import standard_checks, verify_namespace

SMALL = {
    "metricsPorts": [9090],
    "gatewayPorts": [8080, 8443],
    "sharedResources": {
        "postgres": {"namespace": "database", "ports": ["5432/TCP"]},
        "kube-api": {"entity": "kube-apiserver", "ports": ["6443/TCP"]},
    },
    "platformNamespaces": {
        "kube-system": {"description": "DNS", "pods": [{"name": "coredns", "labels": {"k8s-app": "kube-dns"}}]},
        "monitoring": {"description": "Prometheus",
                       "pods": [{"name": "prometheus", "labels": {"app.kubernetes.io/name": "prometheus"}}]},
        "database": {"description": "PostgreSQL", "serves": ["postgres"],
                     "pods": [{"name": "postgres", "labels": {"app": "postgres"}}]},
        "istio-system": {"description": "ztunnel", "pods": [{"name": "ztunnel", "labels": {"app": "ztunnel"}}]},
        "istio-gateway": {"description": "gateways", "pods": [
            {"name": "internal-gateway", "labels": {"gateway.networking.k8s.io/gateway-name": "internal"}},
            {"name": "external-gateway", "labels": {"gateway.networking.k8s.io/gateway-name": "external"}}]},
    },
    "namespaces": {
        "web": {"profile": "standard", "access": ["postgres"],
                "talksTo": [{"namespace": "jobs", "ports": ["9000/TCP"]}]},
        "jobs": {"profile": "isolated"},
    },
}

A, C = "must allow", "must stay closed"
DNS_POD, PROM, DB = "kube-system k8s-app=kube-dns", "monitoring app.kubernetes.io/name=prometheus", "database"
IGW, EGW = "istio-gateway gateway.networking.k8s.io/gateway-name=internal", \
    "istio-gateway gateway.networking.k8s.io/gateway-name=external"

# Every promise of `web` (standard, postgres label, talksTo jobs 9000/TCP), neighbour `jobs`, by hand:
# (check, source, destination, ports, expectation, why). "web" alone: every pod of web. First the
# standard flows, then the world probes, then the declared extras.
WEB = [
    ("dns", "web", DNS_POD, ("53/UDP",), A, "baseline baseline-dns-egress"),
    ("dns-tcp", "web", DNS_POD, ("53/TCP",), A, "baseline baseline-dns-egress"),
    ("world-443", "web", "entity:world", ("443/TCP",), A, "profile standard"),
    ("world-80", "web", "entity:world", ("80/TCP",), C, "profile standard"),
    ("postgres", "web", DB, ("5432/TCP",), A, "access label postgres"),
    ("kube-api", "web", "entity:kube-apiserver", ("6443/TCP",), C, "access label kube-api"),
    ("internal-gateway", IGW, "web", ("8080/TCP", "8443/TCP"), A, "gateway internal"),
    ("external-gateway", EGW, "web", ("8080/TCP", "8443/TCP"), A, "gateway external"),
    ("prometheus", PROM, "web", ("9090/TCP",), A, "baseline baseline-prometheus-scrape"),
    ("other-app", "web", "jobs", ("8080/TCP",), C, "isolation jobs"),
    ("world-8080", "web", "entity:world", ("8080/TCP",), C, "profile standard"),
    ("world-5432", "web", "entity:world", ("5432/TCP",), C, "profile standard"),
    ("world-53-udp", "web", "entity:world", ("53/UDP",), C, "profile standard"),
    ("world-22", "web", "entity:world", ("22/TCP",), C, "profile standard"),
    ("talksTo[0]-9000-TCP", "web", "jobs", ("9000/TCP",), A, "extra talksTo[0]"),
]
# `jobs` (isolated, no access label, no extras, no neighbour asked for).
JOBS = [
    ("dns", "jobs", DNS_POD, ("53/UDP",), A, "baseline baseline-dns-egress"),
    ("dns-tcp", "jobs", DNS_POD, ("53/TCP",), A, "baseline baseline-dns-egress"),
    ("world-443", "jobs", "entity:world", ("443/TCP",), C, "profile isolated"),
    ("world-80", "jobs", "entity:world", ("80/TCP",), C, "profile isolated"),
    ("postgres", "jobs", DB, ("5432/TCP",), C, "access label postgres"),
    ("kube-api", "jobs", "entity:kube-apiserver", ("6443/TCP",), C, "access label kube-api"),
    ("internal-gateway", IGW, "jobs", ("8080/TCP", "8443/TCP"), C, "gateway internal"),
    ("external-gateway", EGW, "jobs", ("8080/TCP", "8443/TCP"), C, "gateway external"),
    ("prometheus", PROM, "jobs", ("9090/TCP",), A, "baseline baseline-prometheus-scrape"),
    ("world-8080", "jobs", "entity:world", ("8080/TCP",), C, "profile isolated"),
    ("world-5432", "jobs", "entity:world", ("5432/TCP",), C, "profile isolated"),
    ("world-53-udp", "jobs", "entity:world", ("53/UDP",), C, "profile isolated"),
    ("world-22", "jobs", "entity:world", ("22/TCP",), C, "profile isolated"),
]
STANDARD = ["dns", "world-443", "world-80", "postgres", "kube-api", "internal-gateway", "external-gateway",
            "prometheus", "other-app"]


def small():
    return build_config("small", "test", SMALL).config


def ref_text(r: Ref) -> str:
    if r.kind == "entity":
        return f"entity:{r.name}"
    return " ".join([r.namespace, *(f"{k}={v}" for k, v in r.selector or ())])


def rows(flows) -> list[tuple]:
    return [(f.check, ref_text(f.src), ref_text(f.dst), tuple(str(p) for p in f.ports), f.expect.value,
             f"{f.why.source} {f.why.name}") for f in flows]


def test_the_catalogue_of_a_small_stack_is_the_hand_written_one():
    cat = Catalogue.for_stack(small())
    assert cat.neighbours() == {"jobs": "web", "web": "jobs"}
    assert rows(cat.app("web", "jobs")) == WEB
    assert rows(cat.app("jobs")) == JOBS
    assert cat.columns() == STANDARD
    assert [f.check for f in cat.app("web", "jobs") if f.standard] == [
        "dns", "dns-tcp", "world-443", "world-80", "postgres", "kube-api", "internal-gateway", "external-gateway",
        "prometheus", "other-app"]
    assert rows(cat.platform("database")) == [
        ("dns", "database", DNS_POD, ("53/UDP",), A, "baseline baseline-dns-egress"),
        ("dns-tcp", "database", DNS_POD, ("53/TCP",), A, "baseline baseline-dns-egress"),
        ("prometheus", PROM, "database", ("9090/TCP",), A, "baseline baseline-prometheus-scrape"),
    ]
    # app isolation: web → jobs on the probe ports, closed; jobs → web likewise
    assert rows(cat.isolation("jobs", "web")) == [
        ("isolation-web", "jobs", "web", ("80/TCP", "443/TCP", "8080/TCP", "53/UDP"), C, "isolation web")]
    assert rows(cat.isolation("web", "jobs")) == [  # its talksTo declares 9000/TCP only
        ("isolation-jobs", "web", "jobs", ("80/TCP", "443/TCP", "8080/TCP", "53/UDP"), C, "isolation jobs")]


def test_the_catalogue_from_labels_is_the_one_from_the_stack():
    """The invariants read namespaces by their labels: the same promises as from the stack's config."""
    cfg = small()
    by_labels = Catalogue.for_inventory(inventory_for(cfg).namespaces, Expectations.from_stack(cfg))
    assert by_labels.apps == ["jobs", "web"]
    assert rows(by_labels.app("web", "jobs")) == WEB


def outputs(cfg):
    """What each of the five tools reports for the small stack (and the pack's rule, the invariants' other door)."""
    from policies.rules import Context
    from policies.rules.invariants import check as pack_rule

    docs = [m.body for m in manifests_for(cfg)]
    inv = inventory_for(cfg)
    ps = PolicySet.from_manifests(docs)
    web = next(r for r in compute_matrix(cfg, ps, inv) if r.namespace == "web")
    exp = Expectations.from_stack(cfg)
    return {
        "matrix": (web.checks["dns"], [(v.port, v.protocol) for v in web.verdicts["dns"]]),
        "verify": {c["name"]: (c["flow"], c["expected"]) for c in verify_namespace(cfg, "web").to_json()["checks"]
                   if c["name"].startswith("dns")},
        "triage": {c.name: (c.port, c.protocol, c.hubble) for c in standard_checks(cfg, inv, "web")
                   if c.name.startswith("dns")},
        "invariants": sorted(v.flow for v in grouped(check_invariants(docs, inv, exp)).get("dns-resolves", [])),
        "pack": [v.message[v.message.index("invariant `"):].split(" (")[0]
                 for v in pack_rule(docs, replace(Context(), reach=(inv, exp)))],
        "diff": sorted((k.port, k.protocol) for k in stack_flows(cfg, inv)
                       if k.src == ("pod", "web", "app") and k.dst == ("pod", "kube-system", "coredns")),
    }


BEFORE = {
    "matrix": ("ALLOWED", [(53, "UDP"), (53, "TCP")]),
    "verify": {"dns": ("web/app -> kube-system/coredns 53/UDP", "ALLOWED"),
               "dns-tcp": ("web/app -> kube-system/coredns 53/TCP", "ALLOWED")},
    "triage": {"dns": (53, "UDP", "hubble observe --namespace web --protocol UDP --port 53 --since 5m"),
               "dns-tcp": (53, "TCP", "hubble observe --namespace web --protocol TCP --port 53 --since 5m")},
    "invariants": [],
    "pack": [],
    "diff": [(53, "TCP"), (53, "UDP")],
}
# The policies still open 53 only: on 5353 the engine denies DNS (kube-system's side refuses it).
AFTER = {
    "matrix": ("DENIED", [(5353, "UDP"), (5353, "TCP")]),
    "verify": {"dns": ("web/app -> kube-system/coredns 5353/UDP", "DENIED"),
               "dns-tcp": ("web/app -> kube-system/coredns 5353/TCP", "DENIED")},
    "triage": {"dns": (5353, "UDP", "hubble observe --namespace web --protocol UDP --port 5353 --since 5m"),
               "dns-tcp": (5353, "TCP", "hubble observe --namespace web --protocol TCP --port 5353 --since 5m")},
    "invariants": sorted(f"{ns}/app → kube-system/coredns 5353/{p}" for ns in ("jobs", "web") for p in ("UDP", "TCP")),
    "pack": ["invariant `dns-resolves`"] * 4,
    "diff": [(5353, "TCP"), (5353, "UDP")],
}


def test_one_expectation_in_the_catalogue_drives_all_five_tools(monkeypatch):
    cfg = small()
    assert outputs(cfg) == BEFORE
    monkeypatch.setattr(catalogue, "DNS", (PortProtocol(port=5353, protocol="UDP"), PortProtocol(port=5353, protocol="TCP")))
    got = outputs(cfg)
    for tool in BEFORE:
        assert got[tool] != BEFORE[tool], tool
    assert got == AFTER


@pytest.mark.parametrize("module", ["netpol.matrix", "netpol.triage.checks", "netpol.triage.verify", "netpol.invariants",
                                    "netpol.diff.flows", "netpol.stack", "netpol.triage.peers",
                                    "policies.rules.invariants"])
def test_no_tool_keeps_its_own_copy(module):
    """The facts the catalogue defines are spelled nowhere else: no standard-flow list, probe ports,
    well-known workload table or workload pod name of their own."""
    import importlib
    import inspect
    import re

    src = inspect.getsource(importlib.import_module(module))
    for copy in (r"def standard_flows", r"^(APP_)?PROBE_PORTS =", r'WORKLOAD = "app"', r'"kube-dns", L\.KUBE_DNS_LABELS',
                 r'\(53, "UDP"\)', r"class Expectations", r'"prometheus", L\.PROMETHEUS_LABELS'):
        assert not re.search(copy, src, re.M), (module, copy)
