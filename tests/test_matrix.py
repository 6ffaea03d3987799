"""Issue 4: the example stacks' matrices reproduce the profile table and the access labels exactly."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from paths import STACKS
from netpol import labels as L
from netpol.cli import app
from netpol.matrix import compute_matrix
from netpol.profiles import PROFILES
from netpol.reach import Inventory, PolicySet
from netpol.reach.endpoints import entity_endpoint, pod_endpoint
from netpol.stack import inventory_for, load_stack, manifests_for


def expected_checks(cfg, ns: str) -> dict[str, str]:
    """The matrix that the profile table (issue 2) and the access labels promise."""
    app_ = cfg.namespaces[ns]
    p = PROFILES[app_.profile]
    yes = lambda b: "ALLOWED" if b else "DENIED"  # noqa: E731
    out = {
        "dns": "ALLOWED",
        "world-443": yes(443 in p.internet_egress_ports),
        "world-80": "DENIED",  # no profile allows world port 80
        "internal-gateway": yes("internal" in p.gateways),
        "external-gateway": yes("external" in p.gateways),
        "prometheus": "ALLOWED",
        "other-app": "DENIED",
    }
    for r in cfg.sharedResources:
        out[r] = yes(r in app_.access)
    return out


@pytest.mark.parametrize("stack", STACKS)
def test_matrix_reproduces_profiles_and_access_labels(stack):
    cfg = load_stack(stack)
    rows = compute_matrix(cfg, PolicySet.from_manifests(m.body for m in manifests_for(cfg)), inventory_for(cfg))
    assert {r.namespace for r in rows} == set(cfg.namespaces)
    for r in rows:
        assert r.checks == expected_checks(cfg, r.namespace), r.namespace


def test_every_pair_of_app_namespaces_is_isolated_except_talks_to():
    cfg = load_stack("live")
    inv = inventory_for(cfg)
    ps = PolicySet.from_manifests(m.body for m in manifests_for(cfg))
    talks = {(src, t.namespace) for src, a in cfg.namespaces.items() for t in a.talksTo}
    for a in cfg.namespaces:
        for b in cfg.namespaces:
            if a == b:
                continue
            src = pod_endpoint(inv.pod(a, "app"), inv)
            for dst_pod in inv.pods_in(b):
                v = ps.evaluate(src, pod_endpoint(dst_pod, inv), 8080, "TCP")
                allowed = (a, b) in talks and dst_pod.labels.get("app") == "api"
                assert v.allowed == allowed, (a, b, dst_pod.name, v.to_json())


def with_enforcement_disabled(inv: Inventory, ns: str) -> Inventory:
    namespaces = {n: dict(labels) for n, labels in inv.namespaces.items()}
    namespaces[ns][L.ENFORCEMENT_LABEL] = L.ENFORCEMENT_DISABLED
    return Inventory(namespaces=namespaces, pods=list(inv.pods), fqdns=dict(inv.fqdns))


def test_escape_hatch_opens_only_the_namespaces_own_side():
    cfg = load_stack("live")
    inv = with_enforcement_disabled(inventory_for(cfg), "batch-jobs")
    ps = PolicySet.from_manifests(m.body for m in manifests_for(cfg))
    me = pod_endpoint(inv.pod("batch-jobs", "app"), inv)
    dashboard = pod_endpoint(inv.pod("dashboard", "app"), inv)
    postgres = pod_endpoint(inv.pod("database", "postgres"), inv)
    world = entity_endpoint("world")
    # its own side allows everything
    assert ps.evaluate(me, world, 80, "TCP").allowed
    assert ps.evaluate(me, world, 22, "TCP").egress.policy.endswith(L.ESCAPE_HATCH)
    assert ps.evaluate(world, me, 31337, "TCP").allowed
    # ... while its peers' policies still apply
    v = ps.evaluate(me, postgres, 5432, "TCP")  # no postgres access label: database refuses
    assert not v.allowed and v.egress.allowed and not v.ingress.allowed
    v = ps.evaluate(dashboard, me, 8080, "TCP")  # dashboard's own egress is enforced
    assert not v.allowed and not v.egress.allowed and v.ingress.allowed
    # and nothing changed for the namespace next door
    plain = inventory_for(cfg)
    d2 = pod_endpoint(plain.pod("dashboard", "app"), plain)
    assert not ps.evaluate(d2, world, 80, "TCP").allowed


def test_matrix_cli_json_and_markdown():
    runner = CliRunner()
    res = runner.invoke(app, ["matrix", "--stack", "dev", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)["rows"]
    by_ns = {r["namespace"]: r for r in rows}
    assert by_ns["homepage"]["profile"] == "standard"
    assert by_ns["homepage"]["checks"]["external-gateway"] == "ALLOWED"
    assert by_ns["dashboard"]["checks"]["world-443"] == "DENIED"
    md = runner.invoke(app, ["matrix", "--stack", "dev", "--markdown"])
    assert md.exit_code == 0 and md.output.startswith("| namespace | profile | dns |")


def test_cilium_health_endpoint_keeps_its_probes_despite_the_baselines():
    """`endpointSelector: {}` selects Cilium's health endpoint too; its probes (4240/TCP) stay open."""
    cfg = load_stack("live")
    ps = PolicySet.from_manifests(m.body for m in manifests_for(cfg))
    health, remote = entity_endpoint("health"), entity_endpoint("remote-node")
    assert ps.evaluate(remote, health, 4240, "TCP").allowed
    assert ps.evaluate(health, remote, 4240, "TCP").allowed
    assert not ps.evaluate(remote, health, 4241, "TCP").allowed
