"""`netpol triage`, `netpol verify`, `netpol profile` through typer's CliRunner on `netpol.cli.app`."""

from __future__ import annotations

import json

import pytest
import yaml
from triage_helpers import FIXTURES, fixture_bytes, run_triage
from typer.testing import CliRunner

from netpol.cli import app

runner = CliRunner()


def invoke(*args: str, input: bytes | None = None):
    return runner.invoke(app, list(args), input=input)


# --- triage ---------------------------------------------------------------------------------------
def test_triage_json_is_the_contract(dev):
    r = invoke("triage", "--stack", "dev", str(FIXTURES / "egress_drops.jsonl"), "--json")
    assert r.exit_code == 0, r.stderr
    j = json.loads(r.stdout)
    assert set(j) >= {"findings", "skipped_lines", "flows_read"}
    assert j == run_triage(dev, "egress_drops.jsonl").to_json()
    for f in j["findings"]:
        assert set(f) >= {"direction", "source", "destination", "port", "protocol", "count", "cause", "fix", "verified"}
        assert set(f["fix"]) >= {"namespace", "set_labels"}
        assert isinstance(f["verified"], bool)


def test_triage_reads_stdin():
    r = invoke("triage", "--stack", "dev", "-", "--json", input=fixture_bytes("mixed.jsonl"))
    assert r.exit_code == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["malformed_lines"] == [4, 9, 13]
    assert j["flows_read"] == 7
    assert j["skipped_lines"] == 5


def test_triage_default_argument_is_stdin():
    r = invoke("triage", "--stack", "dev", "--json", input=fixture_bytes("mixed.jsonl"))
    assert r.exit_code == 0
    assert json.loads(r.stdout)["flows_read"] == 7


def test_triage_markdown():
    r = invoke("triage", "--stack", "dev", str(FIXTURES / "ingress_drops.json"), "--markdown")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert out.startswith("## netpol triage: stack `dev`")
    assert "| # | count | direction | source | destination | port | cause | fix | verified |" in out
    assert "`profile-denies-gateway-ingress`" in out
    assert "```yaml" in out and "netpol:namespaces:" in out
    assert "hubble observe --from-identity world --to-namespace paperless" in out


def test_triage_table():
    r = invoke("triage", "--stack", "dev", str(FIXTURES / "egress_drops.jsonl"))
    assert r.exit_code == 0, r.stderr
    assert "netpol triage: stack dev" in r.stdout
    assert "missing-access-label" in r.stdout
    assert "45 flows read, 38 policy drops" in r.stdout
    assert "STALE_OR_UNROUTABLE_IP 2" in r.stdout


def test_triage_refuses_input_without_a_single_flow():
    """Never "No policy drops" with exit 0 when nothing was read."""
    r = invoke("triage", "--stack", "dev", "-", "--json", input=b"garbage\n{\n")
    assert r.exit_code == 2 and r.stdout == ""
    assert "no Hubble flows read (2 lines, 2 malformed (first at lines 1, 2))" in r.stderr
    r = invoke("triage", "--stack", "dev", "-", input=b"")
    assert r.exit_code == 2 and "the input is empty" in r.stderr
    r = invoke("triage", "--stack", "dev", "-", input=b'[{"flow": {"verdict": "DROPPED"}}]\n')
    assert r.exit_code == 2 and "jq -c '.[]'" in r.stderr


def test_triage_unknown_stack_is_the_config_error():
    r = invoke("triage", "--stack", "nope", str(FIXTURES / "mixed.jsonl"))
    assert r.exit_code == 2
    assert "config error" in r.stderr
    assert "Pulumi.nope.yaml: --stack: 'nope': no such stack file (valid: dev, integration, live)" in r.stderr


def test_triage_unreadable_file(tmp_path):
    r = invoke("triage", "--stack", "dev", str(tmp_path / "missing.jsonl"))
    assert r.exit_code == 2
    assert "no such file" in r.stderr
    r = invoke("triage", "--stack", "dev", str(tmp_path))
    assert r.exit_code == 2
    assert "is a directory" in r.stderr


# --- verify ---------------------------------------------------------------------------------------
def test_verify_without_flows_lists_expectations_and_commands():
    r = invoke("verify", "--stack", "dev", "dashboard", "--json")
    assert r.exit_code == 0, r.stderr
    j = json.loads(r.stdout)
    checks = {c["name"]: c for c in j["checks"]}
    assert {n: c["expected"] for n, c in checks.items()} == {
        "dns": "ALLOWED", "dns-tcp": "ALLOWED", "postgres": "ALLOWED", "dragonfly": "DENIED", "garage-s3": "DENIED",
        "kube-api": "DENIED", "world-443": "DENIED", "world-80": "DENIED", "internal-gateway": "ALLOWED",
        "external-gateway": "DENIED", "prometheus": "ALLOWED"}
    assert checks["dns"]["hubble"] == "hubble observe --namespace dashboard --protocol UDP --port 53 --since 5m"
    assert checks["postgres"]["hubble"] == ("hubble observe --from-namespace dashboard --to-namespace database "
                                            "--port 5432 --since 5m")
    assert checks["world-443"]["hubble"] == ("hubble observe --from-namespace dashboard --to-identity world "
                                             "--port 443 --since 5m")
    assert checks["internal-gateway"]["hubble"] == (
        "hubble observe --from-namespace istio-gateway --from-label gateway.networking.k8s.io/gateway-name=internal "
        "--to-namespace dashboard --since 5m")
    assert checks["prometheus"]["hubble"] == "hubble observe --from-namespace monitoring --to-namespace dashboard --since 5m"
    assert "profile-internal" in checks["internal-gateway"]["decided_by"]
    assert j["bugs"] == [] and j["leaks"] == []


@pytest.mark.parametrize("ns,profile", [("batch-jobs", "isolated"), ("paperless", "internal-egress"),
                                        ("homepage", "standard"), ("storefront", "internal")])
def test_verify_expectations_follow_the_profile(dev, ns, profile):
    from netpol.profiles import PROFILES

    j = json.loads(invoke("verify", "--stack", "dev", ns, "--json").stdout)
    exp = {c["name"]: c["expected"] for c in j["checks"]}
    p = PROFILES[profile]
    assert exp["world-443"] == ("ALLOWED" if p.world_egress_ports else "DENIED")
    assert exp["world-80"] == "DENIED"
    for g in ("internal", "external"):
        assert exp[f"{g}-gateway"] == ("ALLOWED" if g in p.gateways else "DENIED")
    for res in dev.sharedResources:
        assert exp[res] == ("ALLOWED" if res in dev.namespaces[ns].access else "DENIED")
    if ns == "storefront":
        assert exp["talksTo[0]-8080-TCP"] == "ALLOWED"


def test_verify_finds_the_bug_and_the_leak():
    r = invoke("verify", "--stack", "dev", "dashboard", str(FIXTURES / "verify_dashboard.jsonl"), "--json")
    assert r.exit_code == 1
    j = json.loads(r.stdout)
    status = {c["name"]: c["status"] for c in j["checks"]}
    assert status["dns"] == "seen"
    assert status["postgres"] == "BUG: dropped"
    assert status["world-443"] == "denied as expected"
    assert status["world-80"] == "LEAK: forwarded"
    assert status["internal-gateway"] == "seen"  # observed on 8080, a gateway port
    assert status["external-gateway"] == "denied as expected"
    assert status["prometheus"] == "seen"  # observed on 9090, a metrics port
    assert [(b["source"], b["destination"], b["port"], b["side"], b["count"]) for b in j["bugs"]] == [
        ("dashboard", "database/postgres", 5432, "ingress", 2)]
    assert [(b["source"], b["destination"], b["port"], b["side"], b["count"]) for b in j["leaks"]] == [
        ("dashboard", "world", 80, "egress", 1)]
    assert j["replies_skipped"] == 3


def test_verify_clean_flows_exit_0_and_text_output():
    r = invoke("verify", "--stack", "dev", "dashboard", str(FIXTURES / "verify_dashboard_clean.jsonl"))
    assert r.exit_code == 0, r.stderr
    assert "no bugs, no leaks" in r.stdout
    r = invoke("verify", "--stack", "dev", "dashboard", str(FIXTURES / "verify_dashboard.jsonl"))
    assert r.exit_code == 1
    assert "BUGS" in r.stdout and "LEAKS" in r.stdout


def test_verify_bad_input():
    r = invoke("verify", "--stack", "dev", "kube-system")
    assert r.exit_code == 2 and "not an app namespace" in r.stderr
    r = invoke("verify", "--stack", "nope", "dashboard")
    assert r.exit_code == 2 and "no such stack file" in r.stderr
    r = invoke("verify", "--stack", "dev", "dashboard", "/nonexistent/flows.jsonl")
    assert r.exit_code == 2 and "no such file" in r.stderr


# --- profile --------------------------------------------------------------------------------------
@pytest.mark.parametrize("internet,internal,apis,expected", [
    (True, True, True, "standard"), (True, False, False, "standard"), (True, True, False, "standard"),
    (False, True, True, "internal-egress"), (False, True, False, "internal"), (False, False, False, "isolated"),
    (False, False, True, "internal-egress"),
])
def test_profile_decision_tree(internet, internal, apis, expected):
    flag = lambda name, v: f"--{name}" if v else f"--no-{name}"  # noqa: E731
    r = invoke("profile", flag("internet", internet), flag("internal", internal), flag("external-apis", apis),
               "--namespace", "my-app", "--json")
    assert r.exit_code == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["profile"] == expected
    assert yaml.safe_load(j["yaml"]) == {"config": {"netpol:namespaces": {"my-app": {"profile": expected}}}}


def test_profile_keeps_the_rest_of_a_declared_namespace():
    r = invoke("profile", "--internal", "--external-apis", "--stack", "dev", "-n", "paperless")
    assert r.exit_code == 0, r.stderr
    assert "profile: internal-egress" in r.stdout
    snippet = yaml.safe_load(r.stdout.split("Commit to Pulumi.dev.yaml:\n", 1)[1])
    assert snippet == {"config": {"netpol:namespaces": {"paperless": {
        "profile": "internal-egress", "access": ["postgres", "dragonfly", "garage-s3"]}}}}


def test_profile_without_answers_prints_the_tree():
    r = invoke("profile")
    assert r.exit_code == 0
    assert "reached from the internet?" in r.stdout and "-> standard" in r.stdout


def test_profile_from_flows_new_namespace(dev):
    r = invoke("profile", "--from-flows", str(FIXTURES / "profile_flows.jsonl"), "--namespace", "wiki", "--stack",
               "dev", "--json")
    assert r.exit_code == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["profile"] == "standard"  # external gateway ingress was observed (dropped today)
    assert j["access"] == ["postgres"]
    assert j["gateways"] == ["external", "internal"]
    assert j["internet_egress"] is True
    assert j["verified"] is True and j["still_denied"] == []
    assert j["current"] is None
    assert yaml.safe_load(j["yaml"]) == {"config": {"netpol:namespaces": {"wiki": {"profile": "standard",
                                                                                    "access": ["postgres"]}}}}


def test_profile_from_flows_existing_namespace():
    r = invoke("profile", "--from-flows", str(FIXTURES / "profile_flows.jsonl"), "-n", "paperless", "-s", "dev",
               "--json")
    j = json.loads(r.stdout)
    assert j["profile"] == "internal-egress"
    assert j["access"] == ["dragonfly", "garage-s3", "postgres"]
    assert j["verified"] is True
    assert j["current"]["profile"] == "internal-egress"


def test_profile_from_flows_without_stack_and_from_stdin():
    r = invoke("profile", "--from-flows", "-", "--namespace", "wiki", input=fixture_bytes("profile_flows.jsonl"))
    assert r.exit_code == 0, r.stderr
    assert "suggested profile: standard" in r.stdout
    assert "access: [postgres]" in r.stdout


def test_profile_bad_input():
    r = invoke("profile", "--from-flows", str(FIXTURES / "profile_flows.jsonl"))
    assert r.exit_code == 2 and "--namespace" in r.stderr
    r = invoke("profile", "--from-flows", "/nonexistent", "--namespace", "x")
    assert r.exit_code == 2
    r = invoke("profile", "--internet", "--stack", "nope")
    assert r.exit_code == 2 and "config error" in r.stderr
