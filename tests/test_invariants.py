"""Issue 8: each reachability invariant, broken on purpose, reports exactly itself with the deciding rule."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from paths import ROOT, STACKS
from netpol import labels as L
from netpol import apis
from netpol import names as N
from netpol import wellknown as W
from netpol.catalogue import Expectations
from netpol.invariants import INVARIANTS, check_invariants, grouped
from netpol.reach import Inventory, load_inventory
from netpol.stack import inventory_for, load_stack, manifests_for

HOMELAB = ROOT.parent / "shared" / "homelab-network-policy"
HOMELAB_INVENTORY = ROOT / "tests" / "fixtures" / "homelab-inventory.yaml"


def live():
    cfg = load_stack("live")
    return cfg, [copy.deepcopy(m.body) for m in manifests_for(cfg)], inventory_for(cfg)


def find(docs, name):
    return next(d for d in docs if d["metadata"]["name"] == name)


def broken(docs, inv, cfg) -> dict[str, list]:
    return grouped(check_invariants(docs, inv, Expectations.from_stack(cfg)))


@pytest.mark.parametrize("stack", STACKS)
def test_example_stacks_keep_every_promise(stack):
    cfg = load_stack(stack)
    assert check_invariants([m.body for m in manifests_for(cfg)], inventory_for(cfg), Expectations.from_stack(cfg)) == []


def test_dns_breaks_when_kube_system_does_not_admit_dns():
    cfg, docs, inv = live()
    ks = find(docs, "kube-system-default")
    ks["specs"] = [s for s in ks["specs"] if not s["description"].startswith("kube-dns answers")]
    got = broken(docs, inv, cfg)
    assert set(got) == {"dns-resolves"}
    v = got["dns-resolves"][0]
    assert "kube-system/coredns 53/" in v.flow and v.verdict.ingress.reason == "default-deny"
    assert "ingress: default-deny" in v.message


def test_prometheus_breaks_without_monitoring_scrape_egress():
    cfg, docs, inv = live()
    mon = find(docs, "monitoring-default")
    mon["specs"] = [s for s in mon["specs"] if not s["description"].startswith("Prometheus scrapes every pod")]
    got = broken(docs, inv, cfg)
    assert set(got) == {"prometheus-scrapes"}
    assert all(v.flow.startswith("monitoring/prometheus → ") for v in got["prometheus-scrapes"] if v.flow != "-")
    assert got["prometheus-scrapes"][0].verdict.egress.reason == "default-deny"


def test_profile_admitting_the_wrong_gateway_breaks_gateway_ingress():
    cfg, docs, inv = live()
    internal = find(docs, "profile-internal")
    internal["spec"]["ingress"][0]["fromEndpoints"].append(
        {"matchLabels": {L.POD_NAMESPACE_LABEL: W.GATEWAY_NAMESPACE, L.GATEWAY_NAME_LABEL: "external"}})
    got = broken(docs, inv, cfg)
    assert set(got) == {"gateway-ingress"}
    v = got["gateway-ingress"][0]
    assert v.flow.startswith("istio-gateway/external-gateway → ")
    assert "profile-internal spec.ingress[0]" in v.message


def test_shared_resource_admitting_everyone_breaks_shared_access():
    cfg, docs, inv = live()
    db = find(docs, "database-default")
    served = next(s for s in db["specs"] if s["description"].startswith("serves postgres"))
    served["ingress"][0]["fromEndpoints"] = [{"matchExpressions": [{"key": L.POD_NAMESPACE_LABEL, "operator": "Exists"}]}]
    got = broken(docs, inv, cfg)
    assert set(got) == {"shared-access"}
    flows = {v.flow.split(" → ")[0] for v in got["shared-access"]}
    no_label = {f"{ns}/app" for ns, a in cfg.namespaces.items() if "postgres" not in a.access}
    assert flows == no_label
    assert all("database-default" in v.message for v in got["shared-access"])


def test_clusterwide_empty_peer_selector_breaks_app_isolation():
    cfg, docs, inv = live()
    docs.append({"apiVersion": "cilium.io/v2", "kind": apis.CCNP, "metadata": {"name": "baseline-intra-namespace"},
                 "spec": {"endpointSelector": {}, "ingress": [{"fromEndpoints": [{}]}], "egress": [{"toEndpoints": [{}]}]}})
    got = broken(docs, inv, cfg)
    assert "app-isolation" in got
    assert "baseline-intra-namespace" in got["app-isolation"][0].message


def test_world_port_80_breaks_world_egress():
    cfg, docs, inv = live()
    docs.append({"apiVersion": "cilium.io/v2", "kind": apis.CNP, "metadata": {"name": "web", "namespace": "dashboard"},
                 "spec": {"endpointSelector": {}, "egress": [{"toEntities": ["world"], "toPorts": [
                     {"ports": [{"port": "80", "protocol": "TCP"}]}]}]}})
    got = broken(docs, inv, cfg)
    assert set(got) == {"world-egress"}
    (v,) = got["world-egress"]
    assert v.flow == "dashboard/app → entity:world 80/TCP" or v.flow.startswith("dashboard/app → ")
    assert "dashboard/web" in v.message


def with_disabled(inv: Inventory, ns: str) -> Inventory:
    namespaces = {n: dict(lab) for n, lab in inv.namespaces.items()}
    namespaces[ns][L.ENFORCEMENT_LABEL] = L.ENFORCEMENT_DISABLED
    return Inventory(namespaces=namespaces, pods=list(inv.pods), fqdns=dict(inv.fqdns))


def test_escape_hatch_namespace_is_open_on_its_own_side_only():
    cfg, docs, inv = live()
    assert broken(docs, with_disabled(inv, "dashboard"), cfg) == {}


def test_escape_hatch_without_egress_breaks_it():
    cfg, docs, inv = live()
    del find(docs, N.ESCAPE_HATCH)["spec"]["egress"]
    got = broken(docs, with_disabled(inv, "dashboard"), cfg)
    assert set(got) == {"escape-hatch-own-side"}
    assert "own egress is not open" in got["escape-hatch-own-side"][0].message


def test_escape_hatch_that_opens_everyone_breaks_it():
    cfg, docs, inv = live()
    find(docs, N.ESCAPE_HATCH)["spec"]["endpointSelector"] = {}
    got = broken(docs, with_disabled(inv, "dashboard"), cfg)
    assert "escape-hatch-own-side" in got
    assert any("must not open peers" in v.message for v in got["escape-hatch-own-side"])


def homelab_docs(drop: str | None = None) -> list[dict]:
    docs = []
    for f in sorted(HOMELAB.rglob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(f.read_text()) if d and d.get("metadata", {}).get("name") != drop]
    return docs


def test_homelab_tree_is_wide_open_and_without_its_hole_dns_breaks():
    inv = load_inventory(HOMELAB_INVENTORY)
    got = grouped(check_invariants(homelab_docs(), inv, Expectations.defaults()))
    assert "app-isolation" in got and "shared-access" in got
    assert "baseline-intra-namespace" in got["app-isolation"][0].message
    without = grouped(check_invariants(homelab_docs(drop="baseline-intra-namespace"), inv, Expectations.defaults()))
    assert "dns-resolves" in without
    assert "app-isolation" not in without
    assert without["dns-resolves"][0].verdict.ingress.reason == "default-deny"


def test_every_invariant_has_a_description():
    assert len(INVARIANTS) == 7 and all(INVARIANTS.values())


def test_a_policy_opening_a_class_to_itself_is_caught_inside_an_identity_class():
    """Two app namespaces with the same labels (one identity class, checked through one representative)
    must not reach each other either: a policy that opens that class to itself is caught."""
    from netpol.model import AppNamespace

    cfg = load_stack("live")
    twin = AppNamespace(profile="isolated", mesh=True)
    cfg = cfg.model_copy(update={"namespaces": {**cfg.namespaces, "blog": twin, "blog-2": twin}})
    sel = {"matchLabels": {L.ns_label(L.PROFILE_LABEL): "isolated", L.ns_label(L.MESH_LABEL): L.MESH_VALUE}}
    ports = [{"ports": [{"port": "8080", "protocol": "TCP"}]}]
    docs = [copy.deepcopy(m.body) for m in manifests_for(cfg)]
    docs.append({"apiVersion": "cilium.io/v2", "kind": apis.CCNP, "metadata": {"name": "isolated-mesh-peers"},
                 "spec": {"endpointSelector": sel, "ingress": [{"fromEndpoints": [sel], "toPorts": ports}],
                          "egress": [{"toEndpoints": [sel], "toPorts": ports}]}})
    got = broken(docs, inventory_for(cfg), cfg)
    assert set(got) == {"app-isolation"}
    assert {v.flow for v in got["app-isolation"]} == {"blog/app → blog-2/app 8080/TCP"}
    assert "isolated-mesh-peers" in got["app-isolation"][0].message


def _twins_stack(n: int = 4):
    """The live stack plus `n` app namespaces with the same labels but their names (one identity
    class: `blog` is its representative, `blog-2` its second member, the rest are checked through them)."""
    from netpol.model import AppNamespace

    cfg = load_stack("live")
    twin = AppNamespace(profile="standard", access=["postgres"])
    names = ["blog", *(f"blog-{i}" for i in range(2, n + 1))]
    cfg = cfg.model_copy(update={"namespaces": {**cfg.namespaces, **{ns: twin for ns in names}}})
    return cfg, [copy.deepcopy(m.body) for m in manifests_for(cfg)], inventory_for(cfg)


def _all_pairs_isolation(docs, inv, exp) -> list[str]:
    """app-isolation the plain way: every pair of checked namespaces, every port, one whole evaluation
    each (what the invariants computed before they looked side results up by `peer_key`)."""
    from netpol.invariants import Context
    from netpol.reach import PolicySet

    ctx = Context(PolicySet.from_manifests(docs), docs, inv, exp)
    out = []
    for a in ctx.checked_apps:
        peer = ctx.class_peers.get(a)
        for b in [*ctx.checked_apps, *([peer] if peer else [])]:
            for f in ctx.catalogue.isolation(a, b):
                for src in ctx.pods(a):
                    for dst in ctx.pods(b):
                        for p in f.ports:
                            v = ctx.ps.evaluate(src, dst, p.port, p.protocol)
                            if v.allowed != f.allowed or (f.serving_side and not f.allowed and v.ingress.allowed
                                                          and v.ingress.enforced):
                                out.append(f"{src} → {dst} {p.port}/{p.protocol}")
    return out


def test_a_policy_broken_in_a_namespace_that_is_not_the_representative_is_caught():
    """`blog-3` shares `blog`'s identity class; a policy of its own (its `-extra`, opening egress to
    every pod) or one naming it by its namespace label makes it a namespace of its own, checked."""
    cfg, docs, inv = _twins_stack()
    exp = Expectations.from_stack(cfg)
    assert check_invariants(docs, inv, exp) == []
    anywhere = [{"toEndpoints": [{"matchLabels": {L.ns_label(L.PROFILE_LABEL): "internal"}}]}]
    own = {"apiVersion": "cilium.io/v2", "kind": apis.CNP, "metadata": {"name": "blog-3-extra", "namespace": "blog-3"},
           "spec": {"endpointSelector": {}, "egress": anywhere}}
    named = {"apiVersion": "cilium.io/v2", "kind": apis.CCNP, "metadata": {"name": "blog-3-out"},
             "spec": {"endpointSelector": {"matchLabels": {L.ns_label(L.NAMESPACE_NAME_LABEL): "blog-3"}},
                      "egress": anywhere}}
    for extra in (own, named):
        # the internal profile admits its gateway only: blog-3's egress alone opens no flow; open the
        # serving side too, for sources of the standard profile (blog's whole class)
        serving = {"apiVersion": "cilium.io/v2", "kind": apis.CCNP, "metadata": {"name": "internal-from-standard"},
                   "spec": {"endpointSelector": {"matchLabels": {L.ns_label(L.PROFILE_LABEL): "internal"}},
                            "ingress": [{"fromEndpoints": [{"matchLabels": {L.ns_label(L.PROFILE_LABEL): "standard"}}]}]}}
        got = broken([*docs, extra, serving], inv, cfg)
        opened = [v for v in got.get("app-isolation", []) if "ALLOWED, expected DENIED" in v.message]
        assert opened and all(v.flow.startswith("blog-3/app → ") for v in opened), [v.flow for v in opened]
        assert all(extra["metadata"]["name"] in v.message or "internal-from-standard" in v.message for v in opened)


@pytest.mark.parametrize("case", ["as-built", "one-label-peers", "empty-peer", "class-to-itself"])
def test_app_isolation_finds_what_evaluating_every_pair_finds(case):
    """Side results looked up by what each side sees of the other end give the flows that evaluating
    every flow whole gives, in the same order: as built, and broken in ways that tell peers apart by
    one label, by none, or inside one identity class."""
    cfg, docs, inv = _twins_stack()
    exp = Expectations.from_stack(cfg)
    ports = [{"ports": [{"port": "8080", "protocol": "TCP"}, {"port": "53", "protocol": "UDP"}]}]
    if case == "one-label-peers":  # only sources with the dragonfly access label get in
        dragonfly = {"matchLabels": {L.ns_label(L.access_label("dragonfly")): L.ACCESS_LABEL_VALUE}}
        docs.append({"apiVersion": "cilium.io/v2", "kind": apis.CCNP, "metadata": {"name": "dragonfly-peers"},
                     "spec": {"endpointSelector": {}, "ingress": [{"fromEndpoints": [dragonfly], "toPorts": ports}],
                              "egress": [{"toEndpoints": [{}], "toPorts": ports}]}})
    elif case == "empty-peer":
        docs.append({"apiVersion": "cilium.io/v2", "kind": apis.CCNP, "metadata": {"name": "baseline-intra-namespace"},
                     "spec": {"endpointSelector": {}, "ingress": [{"fromEndpoints": [{}]}],
                              "egress": [{"toEndpoints": [{}]}]}})
    elif case == "class-to-itself":
        sel = {"matchLabels": {L.ns_label(L.PROFILE_LABEL): "standard"}}
        docs.append({"apiVersion": "cilium.io/v2", "kind": apis.CCNP, "metadata": {"name": "standard-peers"},
                     "spec": {"endpointSelector": sel, "ingress": [{"fromEndpoints": [sel], "toPorts": ports}],
                              "egress": [{"toEndpoints": [sel], "toPorts": ports}]}})
    expected = _all_pairs_isolation(docs, inv, exp)
    got = check_invariants(docs, inv, exp, only=["app-isolation"])
    flows = [v.flow for v in got if v.flow != "-"]
    assert flows == expected[:len(flows)]
    assert len(flows) == min(len(expected), 25)
    if len(expected) > 25:
        assert got[-1].message == f"... and {len(expected) - 25} more flows break it"
    if case != "as-built":
        assert expected, "the mutation must break app isolation"
