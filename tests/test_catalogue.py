"""Issue 15: one catalogue of expected flows (`netpol.catalogue`) drives matrix, verify, invariants, diff and triage.

The oracle is written here by hand for a small stack (two app namespaces and the platform workloads
the promises name): which flows each namespace has, on which ports, allowed or closed, and what each
tool then reports. Then one expectation is changed in the catalogue (DNS on 5353 instead of 53) and
all five tools must report the changed flow.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace

import pytest

from paths import ROOT
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
    for copy in (r"def standard_flows", r"^(APP_)?PROBE_PORTS =", r'WORKLOAD = "app"', r'"kube-dns", \w+\.KUBE_DNS_LABELS',
                 r'\(53, "UDP"\)', r"class Expectations", r'"prometheus", \w+\.PROMETHEUS_LABELS'):
        assert not re.search(copy, src, re.M), (module, copy)


# --- netpol/labels.py holds label and annotation keys (and their values) only -----------------------
# The split gave ports and well-known peers to netpol.wellknown, object names to netpol.names, API
# versions, kinds, entities and protocols to netpol.apis and defaults to netpol.defaults; this guard
# keeps them out of labels.py. The oracle is the file's text read with `ast`, not the module imported.
LABEL_NAME_SUFFIXES = ("_LABEL", "_PREFIX", "_ANNOTATION", "_VALUE")
LABELS_OTHER_NAMES = {
    "ENFORCEMENT_DISABLED": str,  # the value of the enforcement label that switches it off
    "ESCAPE_HATCH_MAX_DAYS": int,  # how far ahead the escape-hatch expiry annotation may lie
}


def labels_module_problems(src: str) -> list[str]:
    """What in the source of a labels module is not a label/annotation key, value or key helper."""
    out = []
    for node in ast.parse(src).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.FunctionDef):
            if not node.name.endswith("_label") or node.name == "__getattr__":
                out.append(f"function {node.name}: only `<x>_label` helpers that build a key")
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                name = t.id if isinstance(t, ast.Name) else ast.unparse(t)
                value = node.value
                want = LABELS_OTHER_NAMES.get(name, str if name.endswith(LABEL_NAME_SUFFIXES) else None)
                if want is None:
                    out.append(f"{name}: not a label or annotation key or value (a port, name or API fact?)")
                elif not (isinstance(value, ast.Constant) and type(value.value) is want):
                    out.append(f"{name}: a {want.__name__} literal expected, not {ast.unparse(value)!r}")
                elif want is str and re.search(r"^[a-z0-9.-]+/v\d+(alpha|beta)?\d*$|^[A-Z][A-Za-z]+$", value.value):
                    out.append(f"{name}: {value.value!r} is an API version or a kind (netpol.apis)")
            continue
        out.append(f"line {node.lineno}: {type(node).__name__} (labels.py defines constants and helpers only; "
                   "imports, tables and a module __getattr__ belong elsewhere)")
    return out


def test_labels_holds_only_label_and_annotation_keys():
    assert labels_module_problems((ROOT / "netpol" / "labels.py").read_text()) == []


@pytest.mark.parametrize("src", [
    "DNS_PORT = 53\n",
    "KUBE_DNS_LABELS = {'k8s-app': 'kube-dns'}\n",
    "CILIUM_API_VERSION_LABEL = 'cilium.io/v2'\n",
    "CNP_VALUE = 'CiliumNetworkPolicy'\n",
    "BASELINE_DNS = 'baseline-dns-egress'\n",
    "from netpol.wellknown import DNS_PORT\n",
    "_MOVED = {}\n\ndef __getattr__(name):\n    return _MOVED[name]\n",
    "def platform_policy_name(ns):\n    return ns + '-default'\n",
])
def test_the_labels_guard_sees_what_it_forbids(src):
    assert labels_module_problems(src)
