"""The eight real Hubble lines of /work/shared/hubble-flows/real-flows.jsonl (see its SOURCE.md).

Every expectation here was written by reading the lines, not computed by triage code:

1. ICMPv6 router solicitation fe80::64d8:8aff:fe72:fc14 -> ff02::2, DROPPED INVALID_SOURCE_IP, no endpoints
   (wrapped, no traffic_direction): not a policy drop, counted under its reason with its hubble command.
2. default/xwing -> default/deathstar-7848d6c4d5-th9v2 80/TCP, DROPPED POLICY_DENIED, no labels, no identity,
   no traffic_direction (field-masked): a policy drop of direction UNKNOWN.
3. kube-apiserver (identity 16777217, reserved:kube-apiserver + reserved:world) -> kube-system csi 57706,
   FORWARDED reply.
4. host (identity 1, reserved:host + reserved:remote-node) -> world 9922, FORWARDED.
5. the same host -> world 9988, FORWARDED.
6. net-lab traffic-generator -> echo-server 80/TCP, DROPPED POLICY_DENY (drop_reason 181), EGRESS,
   egress_denied_by CiliumNetworkPolicy net-lab/deny-tg-to-echo.
7. agent-restricted/agent-probe -> corp-prod/corp-prod-target 8080/TCP, DROPPED POLICY_DENIED (133), EGRESS.
8. bare (exporter) flow-operator-system taskmanager -> remote-node 32001, FORWARDED.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import orjson
import pytest
from triage_helpers import FIXTURES
from typer.testing import CliRunner

from netpol.cli import app
from netpol.triage import scan_all, scan_drops, triage
from netpol.triage.peers import PeerResolver

REAL = Path(__file__).resolve().parents[3] / "shared" / "hubble-flows" / "real-flows.jsonl"  # ../shared
POLICIES = FIXTURES / "real" / "policies"
INVENTORY = FIXTURES / "real" / "inventory.yaml"
runner = CliRunner()
DENY = "CiliumNetworkPolicy/net-lab/deny-tg-to-echo"


def lines() -> list[bytes]:
    return REAL.read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize("n", range(1, 9))
def test_every_line_parses_alone(n):
    stats, _ = scan_all(io.BytesIO(lines()[n - 1]))
    assert (stats.flows_read, stats.malformed_count, stats.non_flow_lines) == (1, 0, 0)


# line number -> what the drop pass sees: (policy drops, other-drop reason or None)
PER_LINE = {1: (0, "INVALID_SOURCE_IP"), 2: (1, None), 3: (0, None), 4: (0, None), 5: (0, None),
            6: (1, None), 7: (1, None), 8: (0, None)}


@pytest.mark.parametrize("n", range(1, 9))
def test_each_line_in_the_drop_pass(n):
    stats, groups = scan_drops(io.BytesIO(lines()[n - 1]))
    drops, other = PER_LINE[n]
    assert stats.flows_read == 1 and stats.malformed_count == 0
    assert stats.policy_drops == drops == sum(g.count for g in groups.values())
    assert stats.other_drops == ({other: 1} if other else {})


def test_the_groups_as_read():
    stats, groups = scan_drops(io.BytesIO(REAL.read_bytes()))
    got = {(g.direction, g.src.get("namespace"), g.src.get("pod_name"), g.dst.get("pod_name"), g.port, g.protocol,
            g.deny, tuple(g.denied_by)) for g in groups.values()}
    assert got == {
        ("TRAFFIC_DIRECTION_UNKNOWN", "default", "xwing", "deathstar-7848d6c4d5-th9v2", 80, "TCP", False, ()),
        ("EGRESS", "net-lab", "traffic-generator-9b649846d-bxqfc", "echo-server-65887564dc-jjw7k", 80, "TCP", True,
         (DENY,)),
        ("EGRESS", "agent-restricted", "agent-probe", "corp-prod-target", 8080, "TCP", False, ()),
    }
    assert stats.other_samples["INVALID_SOURCE_IP"] == {
        "source_ip": "fe80::64d8:8aff:fe72:fc14", "destination_ip": "ff02::2", "ip_version": "IPv6",
        "node_name": "kind-kind/kind-worker"}


def test_reserved_identities_of_the_forwarded_lines(dev):
    from netpol.stack import inventory_for

    peers = PeerResolver(dev, inventory_for(dev))
    stats, groups = scan_all(io.BytesIO(REAL.read_bytes()))
    seen = {(peers.resolve(g.src).label, peers.resolve(g.dst).label, g.port) for g in groups.values() if g.forwarded}
    # line 3 is a reply (skipped); lines 4, 5: identity 1 is the host; line 8: to remote-node
    assert seen == {("host", "world", 9922), ("host", "world", 9988),
                    ("flink-operator-system", "remote-node", 32001)}
    assert stats.replies_skipped == 1


def test_stack_mode_on_the_real_lines(dev, verifier):
    r = triage(dev, io.BytesIO(REAL.read_bytes()), verifier).to_json()
    assert (r["flows_read"], r["policy_drops"], r["malformed_count"]) == (8, 3, 0)
    by = {(f["source"], f["destination"], f["port"]): f for f in r["findings"]}
    deny = by[("net-lab", "net-lab", 80)]
    assert deny["cause"] == "deny-policy-not-in-model" and deny["verified"] is False
    assert deny["denied_by"] == [DENY] and deny["drop_reason"] == "POLICY_DENY"
    assert deny["fix"]["deny_policies"] == [DENY] and deny["fix"]["set_labels"] == {}
    assert "config_path" not in deny["fix"]  # never a label/config fix for a deny the model lacks
    # namespaces the dev stack does not declare: unknown, shown with the hubble command
    assert by[("default", "default", 80)]["cause"] == "unknown"
    assert by[("default", "default", 80)]["direction"] == "UNKNOWN"
    assert by[("agent-restricted", "corp-prod", 8080)]["cause"] == "unknown"
    assert r["other_drops"] == {"INVALID_SOURCE_IP": 1}
    assert "--drop-reason-desc INVALID_SOURCE_IP" in r["other_drops_detail"][0]["hubble"]


@pytest.mark.parametrize("fmt", [[], ["--markdown"], ["--json"]])
def test_every_format_names_the_deny_policy_and_the_unexplained_drops(fmt):
    res = runner.invoke(app, ["triage", "--stack", "dev", str(REAL), *fmt])
    assert res.exit_code == 0, res.stderr
    flat = "".join(res.stdout.split())  # the text table wraps long cells
    assert DENY in flat
    assert "INVALID_SOURCE_IP" in flat and "--drop-reason-desc" in flat
    assert "hubbleobserve--from-namespaceagent-restricted--to-namespacecorp-prod" in flat


def _policies_report(policies=POLICIES):
    res = runner.invoke(app, ["triage", "--policies", str(policies), "--inventory", str(INVENTORY), str(REAL),
                              "--json"])
    assert res.exit_code == 0, res.stderr
    return {(f["source"], f["destination"], f["port"]): f for f in json.loads(res.stdout)["findings"]}


def test_any_cluster_policy_changes_verified_by_the_engine():
    by = _policies_report()
    deny = by[("net-lab/traffic-generator-9b649846d-bxqfc", "net-lab/echo-server-65887564dc-jjw7k", 80)]
    assert deny["cause"] == "explicit-deny" and deny["verified"] is True and deny["denied_by"] == [DENY]
    assert [(c["policy"], c["action"], c["path"]) for c in deny["fix"]["policy_changes"]] == [
        (DENY, "remove", "spec.egressDeny[0]")]
    xwing = by[("default/xwing", "default/deathstar-7848d6c4d5-th9v2", 80)]
    assert xwing["cause"] == "default-deny-ingress" and xwing["verified"] is True
    [c] = xwing["fix"]["policy_changes"]
    assert (c["policy"], c["action"], c["path"]) == ("CiliumNetworkPolicy/default/rule1", "add", "spec.ingress[1]")
    assert c["rule"]["fromEndpoints"] == [{"matchLabels": {"k8s:class": "xwing", "k8s:io.kubernetes.pod.namespace":
                                                           "default", "k8s:org": "alliance"}}]
    agent = by[("agent-restricted/agent-probe", "corp-prod/corp-prod-target", 8080)]
    assert agent["cause"] == "default-deny-egress" and agent["verified"] is True
    assert agent["fix"]["policy_changes"][0]["policy"] == "CiliumNetworkPolicy/agent-restricted/agent-egress"
    assert "yaml" in agent["fix"] and "toPorts" in agent["fix"]["yaml"]


def test_any_cluster_deny_missing_from_the_model_is_never_verified():
    by = _policies_report(POLICIES / "default-rule1.yaml")  # the net-lab policies left out
    deny = by[("net-lab/traffic-generator-9b649846d-bxqfc", "net-lab/echo-server-65887564dc-jjw7k", 80)]
    assert deny["cause"] == "deny-policy-not-in-model" and deny["verified"] is False
    assert "policy_changes" not in deny["fix"]


def test_gzip_zstd_pretty_and_stdin_give_the_same_report(dev, verifier, tmp_path):
    import zstandard

    want = triage(dev, io.BytesIO(REAL.read_bytes()), verifier).to_json()["findings"]
    gz = tmp_path / "flows.log"  # no telling extension: found by magic bytes
    gz.write_bytes(gzip.compress(REAL.read_bytes()))
    zst = tmp_path / "flows.bin"
    zst.write_bytes(zstandard.ZstdCompressor().compress(REAL.read_bytes()))
    pretty = b"".join(orjson.dumps(orjson.loads(ln), option=orjson.OPT_INDENT_2) + b"\n" for ln in lines())
    for args, data in (([str(gz)], None), ([str(zst)], None), (["-"], pretty), (["-"], gzip.compress(REAL.read_bytes()))):
        res = runner.invoke(app, ["triage", "--stack", "dev", *args, "--json"], input=data)
        assert res.exit_code == 0, res.stderr
        j = json.loads(res.stdout)
        assert j["findings"] == want and j["flows_read"] == 8


def test_several_files_are_one_report(dev):
    res = runner.invoke(app, ["triage", "--stack", "dev", str(REAL), str(REAL), "--json"])
    assert res.exit_code == 0
    j = json.loads(res.stdout)
    assert j["flows_read"] == 16 and j["policy_drops"] == 6 and j["other_drops"] == {"INVALID_SOURCE_IP": 2}
