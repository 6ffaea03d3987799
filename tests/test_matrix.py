"""Issue 4: the example stacks' matrices reproduce the profile table and the access labels exactly."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from paths import STACKS
from netpol import labels as L
from netpol import names as N
from netpol.cli import app
from netpol.matrix import compute_matrix
from netpol.reach import Inventory, PolicySet
from netpol.reach.endpoints import entity_endpoint, pod_endpoint
from netpol.stack import inventory_for, load_stack, manifests_for


A, D = "ALLOWED", "DENIED"

# The profile table of the architecture (README "Declaring namespaces", /work/shared/spec), written
# out by hand, never read from netpol.profiles.PROFILES (which the builders use):
#   isolated         ingress: none                            egress: DNS only
#   internal         ingress: internal gateway                egress: DNS only
#   internal-egress  ingress: internal gateway                egress: DNS + HTTPS (world 443/TCP)
#   standard         ingress: internal and external gateways  egress: DNS + HTTPS (world 443/TCP)
# and: no profile allows world port 80; every namespace resolves DNS and is scraped by Prometheus;
# app namespaces never reach each other except through talksTo.
PROFILE_TABLE = {
    "isolated":        {"world-443": D, "internal-gateway": D, "external-gateway": D},
    "internal":        {"world-443": D, "internal-gateway": A, "external-gateway": D},
    "internal-egress": {"world-443": A, "internal-gateway": A, "external-gateway": D},
    "standard":        {"world-443": A, "internal-gateway": A, "external-gateway": A},
}
EVERY_PROFILE = {"dns": A, "world-80": D, "prometheus": A, "other-app": D}

# README "netpol matrix --stack live --markdown", row by row (profile, then the columns in order
# dns, world-443, world-80, postgres, dragonfly, garage-s3, kube-api, internal-gateway,
# external-gateway, prometheus, other-app).
LIVE_README = {
    "batch-jobs": ("isolated",        "AD" "DDDAD" "DDAD"),
    "dashboard":  ("internal",        "AD" "DADDD" "ADAD"),
    "homepage":   ("standard",        "AA" "DDDDA" "AAAD"),
    "minecraft":  ("isolated",        "AD" "DDDDD" "DDAD"),
    "paperless":  ("internal-egress", "AA" "DAAAD" "ADAD"),
    "payments":   ("internal",        "AD" "DADDD" "ADAD"),
    "storefront": ("internal",        "AD" "DDDDD" "ADAD"),
}
LIVE_COLUMNS = ("dns", "world-443", "world-80", "postgres", "dragonfly", "garage-s3", "kube-api",
                "internal-gateway", "external-gateway", "prometheus", "other-app")


def expected_checks(cfg, ns: str) -> dict[str, str]:
    """What the hand-written profile table and the namespace's declared access labels promise."""
    app_ = cfg.namespaces[ns]
    out = {**EVERY_PROFILE, **PROFILE_TABLE[app_.profile]}
    for r in cfg.sharedResources:
        out[r] = A if r in app_.access else D
    return out


def test_live_matrix_is_the_readme_table():
    cfg = load_stack("live")
    rows = compute_matrix(cfg, PolicySet.from_manifests(m.body for m in manifests_for(cfg)), inventory_for(cfg))
    got = {r.namespace: (r.profile, "".join(r.checks[c][0] for c in LIVE_COLUMNS)) for r in rows}
    assert got == LIVE_README


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
    assert ps.evaluate(me, world, 22, "TCP").egress.policy.endswith(N.ESCAPE_HATCH)
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
