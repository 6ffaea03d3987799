"""Issue 7: typed extra rules for app (and platform) namespaces — both sides from one declaration,
rendered, schema-valid, and reachable exactly as declared (pods, ports, protocol, direction)."""

from __future__ import annotations

import pytest

from crds import errors as crd_errors
from netpol import labels as L
from netpol.reach import Inventory, PolicySet, Pod
from netpol.reach.endpoints import entity_endpoint, fqdn_endpoint, ip_endpoint, pod_endpoint
from netpol.stack import inventory_for, load_stack, manifests_for


@pytest.fixture(scope="module")
def world():
    cfg = load_stack("live")
    docs = [m.body for m in manifests_for(cfg)]
    inv = inventory_for(cfg)
    # a second storefront pod, to exercise intraNamespace between two pods
    inv = Inventory(namespaces=inv.namespaces, fqdns=inv.fqdns,
                    pods=[*inv.pods, Pod(namespace="storefront", name="worker", labels={"app": "worker"})])
    return cfg, docs, inv, PolicySet.from_manifests(docs)


def pod(inv, ns, name):
    return pod_endpoint(inv.pod(ns, name), inv)


def allowed(ps, src, dst, port, proto="TCP"):
    return ps.evaluate(src, dst, port, proto).allowed


def by_name(docs, name):
    return next(d for d in docs if d["metadata"]["name"] == name)


def test_only_namespaces_with_extras_get_an_extra_policy(world):
    cfg, docs, _, _ = world
    extras = {d["metadata"]["namespace"] for d in docs if d["metadata"]["name"].endswith("-extra")}
    targets = {t.namespace for a in cfg.all_namespaces().values() for t in a.talksTo}
    assert extras == {n for n, a in cfg.namespaces.items() if a.has_extras or n in targets}
    assert extras == {"storefront", "payments", "minecraft"}


def test_each_declaration_kind_renders_valid_cilium(world):
    _, docs, _, _ = world
    for name in ("storefront-extra", "payments-extra", "minecraft-extra", "monitoring-default", "database-default"):
        doc = by_name(docs, name)
        assert crd_errors(doc) == [], name
        for spec in doc["specs"]:
            assert spec["description"]


def test_both_sides_of_talks_to_match(world):
    _, docs, _, _ = world
    egress = [s for s in by_name(docs, "storefront-extra")["specs"] if s["description"].startswith("talksTo payments")]
    ingress = [s for s in by_name(docs, "payments-extra")["specs"] if s["description"].startswith("ingress from storefront")]
    assert len(egress) == len(ingress) == 1
    e, i = egress[0], ingress[0]
    assert e["egress"][0]["toEndpoints"] == [{"matchLabels": {L.POD_NAMESPACE_LABEL: "payments", "app": "api"}}]
    assert i["endpointSelector"] == {"matchLabels": {"app": "api"}}
    assert i["ingress"][0]["fromEndpoints"] == [{"matchLabels": {L.POD_NAMESPACE_LABEL: "storefront"}}]
    assert e["egress"][0]["toPorts"] == i["ingress"][0]["toPorts"] == [{"ports": [{"port": "8080", "protocol": "TCP"}]}]
    assert "declared in Pulumi.live.yaml netpol:namespaces.storefront.talksTo[0]" in e["description"]
    assert "declared in Pulumi.live.yaml netpol:namespaces.storefront.talksTo[0]" in i["description"]


def test_platform_talks_to_lands_in_the_targets_default_policy(world):
    _, docs, _, _ = world
    db = by_name(docs, "database-default")
    (inbound,) = [s for s in db["specs"] if s["description"].startswith("ingress from monitoring")]
    assert inbound["endpointSelector"] == {"matchLabels": {"app": "postgres"}}
    assert inbound["ingress"][0]["fromEndpoints"] == [
        {"matchLabels": {L.POD_NAMESPACE_LABEL: "monitoring", "app.kubernetes.io/name": "grafana"}}]


def test_talks_to_reaches_exactly_the_declared_pods_ports_protocol_and_direction(world):
    _, _, inv, ps = world
    sf, api, pay = pod(inv, "storefront", "app"), pod(inv, "payments", "api"), pod(inv, "payments", "app")
    assert allowed(ps, sf, api, 8080)
    assert not allowed(ps, sf, api, 8081)
    assert not allowed(ps, sf, api, 8080, "UDP")
    assert not allowed(ps, sf, pay, 8080)  # not the declared pods
    assert not allowed(ps, api, sf, 8080)  # not the declared direction
    assert not allowed(ps, pod(inv, "dashboard", "app"), api, 8080)  # not another namespace


def test_platform_talks_to_is_limited_to_its_endpoint_selector(world):
    _, _, inv, ps = world
    pg = pod(inv, "database", "postgres")
    assert allowed(ps, pod(inv, "monitoring", "grafana"), pg, 5432)
    assert not allowed(ps, pod(inv, "monitoring", "prometheus"), pg, 5432)


def test_fqdn_egress_exact_name_and_pattern(world):
    _, _, inv, ps = world
    sf = pod(inv, "storefront", "app")
    stripe = fqdn_endpoint("api.stripe.com", inv)
    s3 = fqdn_endpoint("x.s3.eu-west-1.amazonaws.com", inv)
    assert allowed(ps, sf, stripe, 443)
    assert not allowed(ps, sf, stripe, 80)
    assert allowed(ps, sf, s3, 443)
    assert not allowed(ps, sf, ip_endpoint("198.51.100.7"), 443)  # another address: profile internal has no world
    assert not allowed(ps, pod(inv, "dashboard", "app"), stripe, 443)
    v = ps.evaluate(sf, stripe, 443, "TCP")
    assert "FQDN rules take effect through the DNS baseline" in (v.egress.description or "")


def test_world_ingress_exactly_on_declared_ports_and_protocols(world):
    _, _, inv, ps = world
    mc, w = pod(inv, "minecraft", "app"), entity_endpoint("world")
    assert allowed(ps, w, mc, 25565, "TCP")
    assert allowed(ps, w, mc, 19132, "UDP")
    assert not allowed(ps, w, mc, 25565, "UDP")
    assert not allowed(ps, w, mc, 19132, "TCP")
    assert not allowed(ps, mc, w, 25565, "TCP")  # ingress only
    assert not allowed(ps, w, pod(inv, "dashboard", "app"), 25565, "TCP")


def test_intra_namespace_and_metrics_ports(world):
    _, _, inv, ps = world
    a, b = pod(inv, "storefront", "app"), pod(inv, "storefront", "worker")
    assert allowed(ps, a, b, 6379) and allowed(ps, b, a, 6379)
    assert not allowed(ps, a, b, 6380)
    assert not allowed(ps, pod(inv, "dashboard", "app"), b, 6379)
    prom = pod(inv, "monitoring", "prometheus")
    assert allowed(ps, prom, a, 9959)
    assert not allowed(ps, prom, pod(inv, "dashboard", "app"), 9959)
