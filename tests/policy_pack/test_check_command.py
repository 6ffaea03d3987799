"""`netpol check`: the pack's rules offline, on YAML trees and on stacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from netpol.commands.check import check_command, load_manifests
from pack_cases import app_ns, ccnp, cnp, egress_443, namespace

ROOT = Path(__file__).resolve().parents[2]
HOMELAB = ROOT.parent / "shared" / "homelab-network-policy"


def write(tmp: Path, name: str, *docs: dict | str) -> Path:
    p = tmp / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("\n---\n".join(d if isinstance(d, str) else yaml.safe_dump(d, sort_keys=False) for d in docs))
    return p


def run_json(capsys, **kw) -> tuple[int, list[dict], str]:
    args = {"stack": None, "manifests": None, "stack_rules": False, "inventory": None, "as_json": True, **kw}
    rc = check_command(**args)
    out, err = capsys.readouterr()
    return rc, (json.loads(out)["violations"] if out.strip() else []), err


def test_manifests_tree_with_violations(tmp_path, capsys):
    write(tmp_path, "a/policies.yaml",
          "# a comment-only document\n",
          cnp("shop-x", "shop", egress_443(toCIDR=["10.0.0.0/8"])),
          {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": ["x.yaml"]})
    write(tmp_path, "b/ns.yml", namespace("monitoring", {"network-policy.homelab/profile": "standard"}))
    write(tmp_path, "notes.txt", "not yaml at all: [")
    rc, vs, _ = run_json(capsys, manifests=tmp_path)
    assert rc == 1
    assert {(v["policy"], v["enforcement"], v["resource"]) for v in vs} == {
        ("no-hardcoded-ips", "mandatory", "CiliumNetworkPolicy shop/shop-x"),
        ("no-profile-on-platform-namespace", "mandatory", "Namespace monitoring"),
    }
    assert all(set(v) == {"policy", "enforcement", "resource", "message", "file", "document"} for v in vs)
    assert {(v["resource"], v["file"], v["document"]) for v in vs} == {
        # the comment before the first `---` is not a document of its own: the policy is document 0
        ("CiliumNetworkPolicy shop/shop-x", "a/policies.yaml", 0), ("Namespace monitoring", "b/ns.yml", 0)}
    assert "spec.egress[0].toCIDR[0]" in next(v["message"] for v in vs if v["policy"] == "no-hardcoded-ips")


def test_advisory_only_exits_zero(tmp_path, capsys):
    write(tmp_path, "fqdn.yaml", cnp("shop-x", "shop", egress_443(toFQDNs=[{"matchName": "api.example.com"}])))
    rc, vs, _ = run_json(capsys, manifests=tmp_path)
    assert rc == 0 and [(v["policy"], v["enforcement"]) for v in vs] == [("fqdn-needs-dns-visibility", "advisory")]


def test_clean_tree_and_substitution_variables(tmp_path, capsys):
    write(tmp_path, "ok.yaml", cnp("shop-x", "shop", {"endpointSelector": {}, "egress": [
        {"toEntities": ["world"], "toPorts": [{"ports": [{"port": "${HTTPS_PORT}", "protocol": "TCP"}]}]}]}),
        app_ns("${APP_NAMESPACE}", "standard"))
    write(tmp_path, "raw.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n  labels:\n    team: ${team}\n")
    write(tmp_path, "flow.yaml", "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n"
          "metadata: {name: ${APP}-egress, namespace: ${APP}}\nspec:\n  endpointSelector: {matchLabels: {app: ${APP}}}\n"
          "  egress:\n    - toCIDR: [${EGRESS_CIDR}]\n      toPorts: [{ports: [{port: \"443\", protocol: TCP}]}]\n")
    rc, vs, _ = run_json(capsys, manifests=tmp_path)
    assert rc == 1 and [(v["policy"], v["resource"]) for v in vs] == [
        ("no-hardcoded-ips", "CiliumNetworkPolicy ${APP}/${APP}-egress")]
    assert "`${EGRESS_CIDR}` (a substitution variable" in vs[0]["message"]
    assert len(load_manifests(tmp_path)) == 4
    (tmp_path / "flow.yaml").unlink()
    rc, vs, _ = run_json(capsys, manifests=tmp_path)
    assert (rc, vs) == (0, [])


def test_stack_rules_flag(tmp_path, capsys):
    write(tmp_path, "one.yaml", cnp("shop-x", "shop", egress_443(toEntities=["world"])))
    rc, vs, _ = run_json(capsys, manifests=tmp_path)
    assert (rc, vs) == (0, [])
    rc, vs, _ = run_json(capsys, manifests=tmp_path, stack_rules=True)
    assert rc == 1 and {v["policy"] for v in vs} == {"baselines-present"}
    assert len(vs) == 5


def test_kind_list_is_expanded(tmp_path, capsys):
    write(tmp_path, "list.yaml", {"apiVersion": "v1", "kind": "List", "items": [
        ccnp("deny-all", {"endpointSelector": {}, "ingress": [{}]})]})
    rc, vs, _ = run_json(capsys, manifests=tmp_path)
    assert rc == 1 and {v["policy"] for v in vs} == {"no-explicit-default-deny"}


@pytest.mark.parametrize("stack", ["dev", "integration", "live"])
def test_example_stacks_are_clean(capsys, stack):
    rc, vs, _ = run_json(capsys, stack=stack)
    assert (rc, vs) == (0, [])


@pytest.mark.parametrize("setup,needle", [
    (lambda t: write(t, "bad.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: [unclosed\n"), "bad.yaml"),
    (lambda t: t / "missing", "no such file or directory"),
    (lambda t: write(t, "empty.yaml", "# nothing\n") and t, "no Kubernetes objects"),
    (lambda t: (t / "d").mkdir() or (t / "d"), "no YAML files"),
])
def test_bad_input_exits_two(tmp_path, capsys, setup, needle):
    path = setup(tmp_path)
    rc, vs, err = run_json(capsys, manifests=path)
    assert rc == 2 and vs == [] and needle in err and err.startswith("error: ")


def test_bad_flags_and_stack(tmp_path, capsys):
    assert run_json(capsys)[0] == 2
    assert run_json(capsys, stack="live", manifests=tmp_path)[0] == 2
    rc, _, err = run_json(capsys, stack="no-such-stack")
    assert rc == 2 and "no-such-stack" in err
    rc, _, err = run_json(capsys, stack="live", inventory=tmp_path / "nope.yaml")
    assert rc == 2 and "inventory" in err


def test_human_table(tmp_path, capsys):
    write(tmp_path, "x.yaml", cnp("default-deny", "shop", {"endpointSelector": {}, "ingress": [{}]}))
    rc = check_command(None, tmp_path, False, None, False)
    out = capsys.readouterr().out
    assert rc == 1 and "no-explicit-default-deny" in out and "FAIL" in out and "CiliumNetworkPolicy shop/default-deny" in out
    rc = check_command("live", None, False, None, False)
    out = capsys.readouterr().out
    assert rc == 0 and "PASS" in out and "0 mandatory" in out


def test_homelab_tree(capsys):
    """Someone else's hand-written tree: what the rules find there (see the docstring of the report)."""
    rc, vs, _ = run_json(capsys, manifests=HOMELAB)
    assert rc == 1
    got = {(v["policy"], v["resource"]) for v in vs}
    assert {v["policy"] for v in vs} == {"platform-policy-required-rules", "no-port-any", "no-hardcoded-ips",
                                         "no-clusterwide-empty-peer-selector"}
    assert ("no-clusterwide-empty-peer-selector", "CiliumClusterwideNetworkPolicy baseline-intra-namespace") in got
    # profile-internal's `egress: []` is a no-op in Cilium (Sanitize: default deny only when len(Egress) > 0),
    # not an explicit default deny: nothing to report.
    assert ("no-explicit-default-deny", "CiliumClusterwideNetworkPolicy profile-internal") not in got
    assert ("no-port-any", "CiliumClusterwideNetworkPolicy baseline-intra-namespace") in got
    assert ("no-port-any", "CiliumClusterwideNetworkPolicy baseline-prometheus-scrape") in got
    assert ("no-hardcoded-ips", "CiliumClusterwideNetworkPolicy baseline-bgp-peering") in got  # ${bgp_router_ip}/32
    assert ("platform-policy-required-rules", "CiliumNetworkPolicy database/database-default") in got
    assert not any(v["resource"] == "CiliumClusterwideNetworkPolicy escape-hatch-allow-all" for v in vs)
    assert not any(v["policy"] == "cilium-policy-valid" for v in vs)
    rc, vs, _ = run_json(capsys, manifests=HOMELAB, stack_rules=True)
    extra = {(v["policy"], v["resource"]) for v in vs} - got
    assert ("baselines-present", f"CiliumClusterwideNetworkPolicy baseline-kube-api") in extra  # named -access there
    assert ("escape-hatch-requires-runbook", "CiliumClusterwideNetworkPolicy escape-hatch-allow-all") in extra


def test_cli_wiring(tmp_path):
    write(tmp_path, "x.yaml", cnp("shop-x", "shop", egress_443(toCIDR=["10.0.0.0/8"])))
    cmd = [sys.executable, "-c", "from netpol.cli import app; app()", "check", "--manifests", str(tmp_path), "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 1, p.stderr
    assert [v["policy"] for v in json.loads(p.stdout)["violations"]] == ["no-hardcoded-ips"]


def run_full(capsys, path) -> tuple[int, dict, str]:
    rc = check_command(None, path, False, None, True)
    out, err = capsys.readouterr()
    return rc, json.loads(out), err


def test_template_file_is_reported_and_skipped_the_rest_is_checked(tmp_path, capsys):
    """A Helm template does not parse as YAML: it is named on stderr and skipped; the other files are
    still checked and reported; exit 2 says some input was unreadable."""
    write(tmp_path, "chart/templates/np.yaml", "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n"
          "  name: {{ .Release.Name }}\n{{- if .Values.x }}\nspec: {}\n{{- end }}\n")
    write(tmp_path, "plain.yaml", cnp("shop-x", "shop", egress_443(toCIDR=["10.0.0.0/8"])))
    rc, body, err = run_full(capsys, tmp_path)
    assert rc == 2
    assert "chart/templates/np.yaml" in err and "skipped" in err and err.startswith("error: ")
    assert [(v["policy"], v["file"], v["document"]) for v in body["violations"]] == [
        ("no-hardcoded-ips", "plain.yaml", 0)]
    assert len(body["unreadable"]) == 1


def test_same_object_in_two_files_is_a_warning_naming_both(tmp_path, capsys):
    write(tmp_path, "a.yaml", cnp("shop-x", "shop", egress_443(toEntities=["world"])))
    write(tmp_path, "b.yaml", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
          cnp("shop-x", "shop", egress_443(toEntities=["world"])))
    rc, body, _ = run_full(capsys, tmp_path)
    assert rc == 0 and body["violations"] == []
    (w,) = body["warnings"]
    assert "CiliumNetworkPolicy shop/shop-x" in w and "a.yaml#0" in w and "b.yaml#1" in w
    check_command(None, tmp_path, False, None, False)
    assert "warning: CiliumNetworkPolicy shop/shop-x is declared 2 times" in capsys.readouterr().out


@pytest.mark.parametrize("text, path", [
    ("apiversion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: x, namespace: shop}\n"
     "spec:\n  endpointSelector: {}\n  egress: [{toEntities: [world], toPorts: [{ports: [{port: '443', protocol: TCP}]}]}]\n",
     "apiVersion"),
    ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: shop}\n"
     "spec:\n  podSelector: {matchExpressions: [{key: app, operator: in, values: [a]}]}\n  policyTypes: [Ingress]\n",
     "spec.podSelector.matchExpressions[0].operator"),
])
def test_documents_the_api_server_rejects_are_invalid(tmp_path, capsys, text, path):
    write(tmp_path, "x.yaml", text)
    rc, body, _ = run_full(capsys, tmp_path)
    assert rc == 1
    hits = [v for v in body["violations"] if v["policy"] == "cilium-policy-valid"]
    assert hits and any(f" at {path}: " in v["message"] and "API server rejects" in v["message"] for v in hits)


def test_unknown_kinds_are_counted_and_listed(tmp_path, capsys):
    write(tmp_path, "x.yaml", cnp("shop-x", "shop", egress_443(toEntities=["world"])),
          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
          {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}})
    rc, body, _ = run_full(capsys, tmp_path)
    assert rc == 0 and body["unchecked"] == {"ConfigMap": ["x.yaml#1"], "Deployment": ["x.yaml#2"]}
