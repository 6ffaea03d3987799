"""Issue 8 offline: `netpol check` runs the invariants and the cluster-wide `{}` rule on any tree."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from netpol.cli import app
from paths import ROOT
from policies.rules import Context
from policies.rules.clusterwide_peers import check as empty_peer

HOMELAB = ROOT.parent / "shared" / "homelab-network-policy"
INVENTORY = ROOT / "tests" / "fixtures" / "homelab-inventory.yaml"


def ccnp(spec: dict, kind: str = "CiliumClusterwideNetworkPolicy") -> dict:
    meta = {"name": "p"} if kind.startswith("CiliumC") else {"name": "p", "namespace": "a"}
    return {"apiVersion": "cilium.io/v2", "kind": kind, "metadata": meta, "spec": spec}


def test_empty_peer_in_clusterwide_policy_is_flagged_with_its_path():
    vs = empty_peer(ccnp({"endpointSelector": {}, "egress": [{"toEndpoints": [{"matchLabels": {"a": "b"}}, {}]}]}), Context())
    assert [v.path for v in vs] == ["spec.egress[0].toEndpoints[1]"]
    vs = empty_peer(ccnp({"endpointSelector": {}, "ingress": [{"fromEndpoints": [{"matchLabels": {}, "matchExpressions": []}]}]}), Context())
    assert [v.path for v in vs] == ["spec.ingress[0].fromEndpoints[0]"]
    assert "per-namespace CiliumNetworkPolicy" in vs[0].message


def test_empty_peer_is_fine_in_a_namespaced_policy_and_with_labels():
    assert empty_peer(ccnp({"endpointSelector": {}, "ingress": [{"fromEndpoints": [{}]}]}, "CiliumNetworkPolicy"), Context()) == []
    assert empty_peer(ccnp({"endpointSelector": {}, "ingress": [{"fromEndpoints": [
        {"matchExpressions": [{"key": "io.kubernetes.pod.namespace", "operator": "Exists"}]}]}]}), Context()) == []


def test_check_manifests_with_inventory_proves_the_homelab_tree_wide_open():
    res = CliRunner().invoke(app, ["check", "--manifests", str(HOMELAB), "--stack-rules", "--inventory", str(INVENTORY), "--json"])
    assert res.exit_code == 1
    found = json.loads(res.output)["violations"]
    inv = [v for v in found if v["policy"] == "reachability-invariants"]
    assert any("invariant `app-isolation`" in v["message"] and "baseline-intra-namespace" in v["message"] for v in inv)
    assert any(v["policy"] == "no-clusterwide-empty-peer-selector" and "baseline-intra-namespace" in v["resource"] for v in found)


def test_check_manifests_without_the_hole_shows_dns_breaks(tmp_path):
    for f in HOMELAB.rglob("*.yaml"):
        rel = f.relative_to(HOMELAB)
        if rel.name == "intra-namespace.yaml":
            continue
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(f.read_text())
    res = CliRunner().invoke(app, ["check", "--manifests", str(tmp_path), "--stack-rules", "--inventory", str(INVENTORY), "--json"])
    assert res.exit_code == 1
    msgs = [v["message"] for v in json.loads(res.output)["violations"] if v["policy"] == "reachability-invariants"]
    assert any("invariant `dns-resolves`" in m for m in msgs)
    assert not any("invariant `app-isolation`" in m for m in msgs)


def test_check_stack_runs_invariants_with_an_inventory_override(tmp_path):
    from netpol.stack import inventory_for, load_stack

    cfg = load_stack("live")
    inv = inventory_for(cfg)
    doc = {"namespaces": {n: {"labels": dict(l)} for n, l in inv.namespaces.items()},
           "pods": [{"namespace": p.namespace, "name": p.name, "labels": dict(p.labels)} for p in inv.pods]}
    doc["namespaces"]["dashboard"]["labels"]["network-policy.homelab/enforcement"] = "disabled"
    f = tmp_path / "inv.yaml"
    f.write_text(yaml.safe_dump(doc))
    res = CliRunner().invoke(app, ["check", "--stack", "live", "--inventory", str(f), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["violations"] == []
    bad = CliRunner().invoke(app, ["check", "--stack", "live", "--inventory", str(tmp_path / "missing.yaml")])
    assert bad.exit_code == 2
