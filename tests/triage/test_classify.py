"""Each cause, its fix and its verification, on realistic Hubble fixtures against the `dev` stack."""

from __future__ import annotations

import pytest
import yaml
from triage_helpers import by_key, engine_verdict, run_triage

from netpol import labels as L
from netpol import names as N
from netpol.triage import CAUSES, apply_change

PROFILE = L.PROFILE_LABEL


@pytest.fixture(scope="module")
def egress(dev, verifier):
    return run_triage(dev, "egress_drops.jsonl", verifier)


@pytest.fixture(scope="module")
def ingress(dev, verifier):
    return run_triage(dev, "ingress_drops.json", verifier)


@pytest.fixture(scope="module")
def eg(egress):
    return by_key(egress)


@pytest.fixture(scope="module")
def ing(ingress):
    return by_key(ingress)


def test_every_cause_is_known(egress, ingress):
    for r in (egress, ingress):
        for f in r.findings:
            assert f.cause in CAUSES


def test_egress_counts_and_stats(egress):
    j = egress.to_json()
    assert j["flows_read"] == 45
    assert j["skipped_lines"] == 0
    assert j["policy_drops"] == 38
    assert j["other_drops"] == {"STALE_OR_UNROUTABLE_IP": 2}
    assert sum(f["count"] for f in j["findings"]) == 38
    assert [f["count"] for f in j["findings"]] == sorted((f["count"] for f in j["findings"]), reverse=True)


# --- missing-dns-baseline ------------------------------------------------------------------------
@pytest.mark.parametrize("proto,count", [("UDP", 3), ("TCP", 1)])
def test_dns_drop(eg, proto, count):
    f = eg[("EGRESS", "batch-jobs", "kube-system/coredns", 53, proto)]
    assert f["count"] == count
    assert f["cause"] == "missing-dns-baseline"
    assert f["fix"]["namespace"] == "batch-jobs"
    assert f["fix"]["set_labels"] == {}
    assert f["fix"]["check"] == N.BASELINE_DNS
    # the model allows DNS: the fix is "the baseline must exist", verified by the engine
    assert f["model_verdict"] == "ALLOWED"
    assert f["verified"] is True
    assert "already allows" in f["explanation"]


# --- missing-access-label ------------------------------------------------------------------------
@pytest.mark.parametrize("src,dst,port,resource,access_after", [
    ("batch-jobs", "database/postgres", 5432, "postgres", ["garage-s3", "postgres"]),
    ("dashboard", "cache/dragonfly", 6379, "dragonfly", ["postgres", "dragonfly"]),
    ("homepage", "garage/garage", 3900, "garage-s3", ["kube-api", "garage-s3"]),
    ("dashboard", "kube-apiserver", 6443, "kube-api", ["postgres", "kube-api"]),
    ("dashboard", "kube-apiserver", 443, "kube-api", ["postgres", "kube-api"]),
])
def test_shared_resource_drop(dev, eg, src, dst, port, resource, access_after):
    f = eg[("EGRESS", src, dst, port, "TCP")]
    assert f["cause"] == "missing-access-label"
    fix = f["fix"]
    assert fix["namespace"] == src
    assert fix["set_labels"] == {f"access.network-policy.homelab/{resource}": "true"}
    assert fix["config_path"] == f"netpol:namespaces.{src}.access"
    assert fix["config_value"] == access_after  # what the namespace already had is kept
    assert fix["file"] == "Pulumi.dev.yaml"
    assert f["model_verdict"] == "DENIED"
    assert f["verified"] is True
    assert f["verification"]["verdict"] == "ALLOWED"
    snippet = yaml.safe_load(fix["yaml"])["config"]["netpol:namespaces"][src]
    assert snippet["access"] == access_after
    assert snippet["profile"] == dev.namespaces[src].profile  # the profile is untouched


# --- profile-denies-internet-egress --------------------------------------------------------------
@pytest.mark.parametrize("src,count,new_profile", [("dashboard", 5, "internal-egress"), ("batch-jobs", 2, "internal-egress")])
def test_world_443(dev, eg, src, count, new_profile):
    f = eg[("EGRESS", src, "world", 443, "TCP")]
    assert f["count"] == count
    assert f["cause"] == "profile-denies-internet-egress"
    assert f["fix"]["set_labels"] == {PROFILE: new_profile}
    assert f["fix"]["config_path"] == f"netpol:namespaces.{src}.profile"
    assert f["fix"]["config_value"] == new_profile
    assert f["verified"] is True
    snippet = yaml.safe_load(f["fix"]["yaml"])["config"]["netpol:namespaces"][src]
    assert snippet["access"] == dev.namespaces[src].access  # a profile switch never drops access


def test_world_443_keeps_the_names_hubble_saw(eg):
    f = eg[("EGRESS", "dashboard", "world", 443, "TCP")]
    assert f["destination_names"] == ["api.github.com"]
    assert f["destination_ips"] == ["140.82.112.5"]


# --- port-not-allowed ----------------------------------------------------------------------------
def test_world_80_with_a_name_proposes_a_reviewed_fqdn_rule(eg):
    f = eg[("EGRESS", "paperless", "world", 80, "TCP")]
    assert f["cause"] == "port-not-allowed"
    fix = f["fix"]
    assert fix["set_labels"] == {}
    assert fix["add_egress"] == [{"fqdn": "deb.debian.org", "ports": ["80/TCP"]}]
    assert fix["config_path"] == "netpol:namespaces.paperless.egress"
    assert fix["needs_review"] is True
    assert f["verified"] is True
    assert "no profile opens it" in f["explanation"]


def test_world_80_without_a_name(eg):
    f = eg[("EGRESS", "homepage", "world", 80, "TCP")]
    assert f["cause"] == "port-not-allowed"
    assert f["fix"]["add_egress"] == [{"entity": "world", "ports": ["80/TCP"]}]
    assert f["fix"]["needs_review"] is True
    assert f["verified"] is True


# --- missing-talks-to (issue 7) -------------------------------------------------------------------
def test_app_to_app_proposes_talks_to(dev, eg):
    f = eg[("EGRESS", "storefront", "payments", 8080, "TCP")]
    assert f["count"] == 6
    assert f["cause"] == "missing-talks-to"
    fix = f["fix"]
    assert fix["namespace"] == "storefront"
    assert fix["add_talks_to"] == {"namespace": "payments", "ports": ["8080/TCP"]}
    assert fix["set_labels"] == {}
    assert fix["config_path"] == "netpol:namespaces.storefront.talksTo"
    assert f["model_verdict"] == "DENIED"  # storefront may only reach payments' api pods today
    assert f["verified"] is True
    # the existing talksTo entry is kept
    assert fix["config_value"][0] == {"namespace": "payments", "pods": {"app": "api"}, "ports": ["8080/TCP"]}


def test_app_to_app_other_pair(eg):
    f = eg[("EGRESS", "dashboard", "paperless", 8000, "TCP")]
    assert f["cause"] == "missing-talks-to"
    assert f["fix"]["add_talks_to"] == {"namespace": "paperless", "ports": ["8000/TCP"]}
    assert f["verified"] is True


def test_app_to_platform_port_that_no_access_label_opens(eg):
    f = eg[("EGRESS", "dashboard", "garage/garage", 3903, "TCP")]
    assert f["cause"] == "missing-talks-to"
    assert f["fix"]["add_talks_to"] == {"namespace": "garage", "pods": {"app": "garage"}, "ports": ["3903/TCP"]}
    assert f["verified"] is True


def test_ingress_side_of_an_app_to_app_call(ing):
    f = ing[("INGRESS", "storefront", "payments", 8080, "TCP")]
    assert f["cause"] == "missing-talks-to"
    assert f["fix"]["namespace"] == "storefront"  # the declaration lives on the caller's side
    assert f["verified"] is True


def test_intra_namespace(eg):
    f = eg[("EGRESS", "paperless", "paperless", 6379, "TCP")]
    assert f["cause"] == "missing-intra-namespace"
    assert f["fix"]["add_intra_namespace"] == ["6379/TCP"]
    assert f["fix"]["config_path"] == "netpol:namespaces.paperless.intraNamespace"
    assert f["verified"] is True


# --- profile-denies-gateway-ingress, on every profile ---------------------------------------------
@pytest.mark.parametrize("gw,dst,port,old,new", [
    ("internal", "batch-jobs", 8080, "isolated", "internal"),
    ("internal", "minecraft", 80, "isolated", "internal"),
    ("external", "dashboard", 8080, "internal", "standard"),
    ("external", "paperless", 443, "internal-egress", "standard"),
])
def test_gateway_ingress(dev, ing, gw, dst, port, old, new):
    assert dev.namespaces[dst].profile == old
    f = ing[("INGRESS", f"istio-gateway/{gw}-gateway", dst, port, "TCP")]
    assert f["cause"] == "profile-denies-gateway-ingress"
    assert f["fix"]["namespace"] == dst
    assert f["fix"]["set_labels"] == {PROFILE: new}
    assert f["fix"]["config_path"] == f"netpol:namespaces.{dst}.profile"
    assert f["model_verdict"] == "DENIED"
    assert f["verified"] is True
    snippet = yaml.safe_load(f["fix"]["yaml"])["config"]["netpol:namespaces"][dst]
    assert snippet.get("access", []) == dev.namespaces[dst].access


def test_gateway_ingress_on_standard_is_already_allowed(ing):
    f = ing[("INGRESS", "istio-gateway/external-gateway", "homepage", 8080, "TCP")]
    assert f["cause"] == "profile-denies-gateway-ingress"
    assert f["fix"]["set_labels"] == {PROFILE: "standard"}  # what the stack declares
    assert f["model_verdict"] == "ALLOWED"
    assert f["verified"] is True
    assert "already allows" in f["explanation"]


def test_gateway_ingress_on_a_port_outside_the_gateway_ports(dev, ing):
    f = ing[("INGRESS", "istio-gateway/internal-gateway", "dashboard", 9000, "TCP")]
    assert f["cause"] == "port-not-allowed"
    assert f["fix"]["config_path"] == "netpol:gatewayPorts"
    assert f["fix"]["config_value"] == sorted([*dev.gatewayPorts, 9000])
    assert f["fix"]["needs_review"] is True
    assert f["verified"] is True


# --- missing-baseline ----------------------------------------------------------------------------
def test_prometheus_on_a_metrics_port(ing):
    f = ing[("INGRESS", "monitoring/prometheus", "dashboard", 9090, "TCP")]
    assert f["cause"] == "missing-baseline"
    assert f["fix"]["check"] == N.BASELINE_PROMETHEUS
    assert f["fix"]["set_labels"] == {}
    assert f["model_verdict"] == "ALLOWED"
    assert f["verified"] is True


def test_prometheus_outside_the_metrics_ports(ing):
    f = ing[("INGRESS", "monitoring/prometheus", "paperless", 9091, "TCP")]
    assert f["cause"] == "missing-baseline"
    assert f["fix"]["add_metrics_ports"] == [9091]
    assert f["fix"]["config_path"] == "netpol:namespaces.paperless.metricsPorts"
    assert f["fix"]["config_value"] == [9091]
    assert f["model_verdict"] == "DENIED"
    assert f["verified"] is True


def test_health_probe(dev, ing):
    f = ing[("INGRESS", "health", "homepage", 8080, "TCP")]
    assert f["cause"] == "missing-baseline"
    assert f["fix"]["check"] == N.BASELINE_HEALTH
    assert f["fix"]["namespace"] == "homepage"
    # verified exactly when the engine allows health -> homepage on the model (the fix changes nothing)
    expected = engine_verdict(dev, "entity:health", "homepage/app", 8080) == "ALLOWED"
    assert f["verified"] is expected
    if not expected:
        assert "Not verified" in f["explanation"]


# --- unknown -------------------------------------------------------------------------------------
def test_unknown_gives_the_narrowing_hubble_command(ing):
    f = ing[("INGRESS", "world", "paperless", 22, "TCP")]
    assert f["cause"] == "unknown"
    assert f["verified"] is False
    assert f["fix"]["namespace"] == "paperless"
    assert f["hubble"] == ("hubble observe --from-identity world --to-namespace paperless --protocol TCP --port 22 "
                           "--verdict DROPPED --since 5m")
    assert f["hubble"] in f["explanation"]


# --- the fix is exactly what was verified ---------------------------------------------------------
def test_snippets_are_the_verified_model(dev, egress, ingress):
    """The YAML to commit, merged into Pulumi.dev.yaml, validates and gives the namespace the verified
    world had (what the engine evaluated is what the operator commits)."""
    from pathlib import Path

    from netpol.config import build_config, read_stack_file
    from netpol.stack import find_root

    raw = read_stack_file(Path(find_root()) / "Pulumi.dev.yaml")
    seen = 0
    for r in (egress, ingress):
        for f in r.findings:
            if not f.fix.yaml:
                continue
            seen += 1
            snippet = yaml.safe_load(f.fix.yaml)["config"]
            merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
            for key, entries in snippet.items():
                section = key.split(":", 1)[1]
                merged[section] = {**merged.get(section, {}), **entries}
            if f.fix.config_path == "netpol:gatewayPorts":
                merged["gatewayPorts"] = f.fix.config_value
            cfg = build_config("dev", "Pulumi.dev.yaml", merged).config
            expected = apply_change(dev, f.fix.change)
            ns = f.fix.namespace
            assert cfg.all_namespaces()[ns] == expected.all_namespaces()[ns], f.group.key
            assert cfg.gatewayPorts == expected.gatewayPorts
    assert seen >= 15


def test_undeclared_namespace_gets_declared(dev, verifier):
    import io

    import hubble_synth as S
    from netpol.triage import triage

    data = S.line(S.envelope(S.flow(S.app_pod(dev, "wiki"), S.postgres(dev), 5432)))
    f = triage(dev, io.BytesIO(data), verifier).findings[0]
    assert f.cause == "missing-access-label"
    assert f.model_verdict is None  # wiki is not in the model: the engine cannot evaluate it today
    assert f.verified is True
    assert "not declared" in f.explanation
    assert yaml.safe_load(f.fix.yaml)["config"]["netpol:namespaces"]["wiki"] == {"profile": "isolated",
                                                                                 "access": ["postgres"]}


def test_platform_source_gets_talks_to_or_egress_rule_not_labels(dev, verifier):
    import io

    import hubble_synth as S
    from netpol.triage import triage

    graf = S.platform_pod(dev, "monitoring", {"app.kubernetes.io/name": "grafana"}, "grafana-0")
    data = (S.line(S.flow(graf, S.dragonfly(dev), 6379, seq=1))
            + S.line(S.flow(S.garage(dev), S.entity("kube-apiserver"), 6443, seq=2)))
    fs = {f.group.source.label: f for f in triage(dev, io.BytesIO(data), verifier).findings}
    f = fs["monitoring/grafana"]
    assert f.cause == "missing-talks-to"
    assert f.fix.set_labels == {}
    assert f.fix.extra["add_talks_to"] == {"namespace": "cache", "ports": ["6379/TCP"]}
    assert f.fix.config_path == "netpol:platformNamespaces.monitoring.talksTo"
    assert f.verified
    f = fs["garage/garage"]
    assert f.cause == "missing-access-label"
    assert f.fix.set_labels == {}
    assert f.fix.extra["add_egress"] == [{"entity": "kube-apiserver", "ports": ["6443/TCP"]}]
    assert f.verified


def test_a_world_group_with_flows_by_address_is_verified_only_if_those_are_allowed_too(dev, verifier):
    """Drops to the world on one port, some with a DNS name and some without (connections by address),
    are one group: an FQDN rule allows the named ones only, so the fix is not verified for the group.
    Found by tests/triage/test_property.py."""
    import io

    import hubble_synth as S

    from netpol.reach import resolve_endpoint
    from netpol.triage import triage
    from netpol.triage.fixes import World

    me = S.app_pod(dev, "batch-jobs")
    named = S.flow(me, S.entity("world"), 80, seq=1, names=["api.github.com"])
    bare = S.flow(me, S.entity("world"), 80, seq=2)
    for flows, verified in (([named, named], True), ([bare, named], False), ([named, bare], False)):
        report = triage(dev, io.BytesIO(b"".join(S.line(f) for f in flows)), verifier)
        (f,) = report.findings
        assert f.cause == "port-not-allowed" and f.fix.extra["add_egress"][0]["fqdn"] == "api.github.com"
        assert f.verified is verified, f.explanation
        # the engine, on the stack as the fix edits it: the named flow allowed, the bare one not
        w = World(apply_change(dev, f.fix.change))
        ep = resolve_endpoint("batch-jobs/app", w.inventory)
        assert w.policies.evaluate(ep, resolve_endpoint("fqdn:api.github.com", w.inventory), 80, "TCP").allowed
        assert not w.policies.evaluate(ep, resolve_endpoint("entity:world", w.inventory), 80, "TCP").allowed
        if not verified:
            assert "carry none (connections by address" in f.explanation
            assert "destination_names == null" in f.explanation
