"""`reach_command` / `explain_command`: exit codes 0 ALLOWED, 1 DENIED, 2 bad input."""

from __future__ import annotations

import json
import sys
import types

import pytest
import yaml

from netpol.commands.reach import explain_command, parse_port, reach_command
from netpol.reach import ReachInputError
from reach_helpers import BASE_INVENTORY, INV, ccnp, cnp

POLICY = cnp("backend", "tenant-a", """
spec:
  description: backend takes frontend on 5432
  endpointSelector: {matchLabels: {app: backend}}
  ingress: [{fromEndpoints: [{matchLabels: {app: frontend}}], toPorts: [{ports: [{port: "5432"}]}]}]
""")


@pytest.fixture
def files(tmp_path):
    pol = tmp_path / "policies"
    pol.mkdir()
    (pol / "p.yaml").write_text(POLICY)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(yaml.safe_dump(BASE_INVENTORY))
    return pol, inv


def test_reach_allowed_denied_and_json(files, capsys):
    pol, inv = files
    assert reach_command(pol, inv, None, "tenant-a/frontend", "tenant-a/backend", "5432", False) == 0
    out = capsys.readouterr().out
    assert out.startswith("ALLOWED: tenant-a/frontend -> tenant-a/backend 5432/TCP")
    assert "CiliumNetworkPolicy/tenant-a/backend spec.ingress[0]" in out
    assert reach_command(pol, inv, None, "tenant-b/api", "tenant-a/backend", "5432/TCP", True) == 1
    j = json.loads(capsys.readouterr().out)
    assert j["verdict"] == "DENIED" and j["ingress"]["reason"] == "default-deny"


def test_explain_prints_selecting_policies_and_rule(files, capsys):
    pol, inv = files
    assert explain_command(pol, inv, None, "tenant-a/frontend", "tenant-a/backend", "5432/tcp", False) == 0
    out = capsys.readouterr().out
    assert "selected by: CiliumNetworkPolicy/tenant-a/backend" in out
    assert "decided by:  CiliumNetworkPolicy/tenant-a/backend spec.ingress[0]" in out
    assert "backend takes frontend on 5432" in out


@pytest.mark.parametrize("args, needle", [
    (("tenant-a/frontend", "tenant-a/backend", "http"), "bad port"),
    (("tenant-a/frontend", "tenant-a/backend", "80/ICMP"), "bad protocol"),
    (("tenant-a/frontend", "tenant-a/nobody", "80"), "no pod 'nobody'"),
    (("entity:space", "tenant-a/backend", "80"), "unknown entity"),
])
def test_bad_input_exits_2_with_message(files, capsys, args, needle):
    pol, inv = files
    assert reach_command(pol, inv, None, *args, False) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err


def test_missing_inputs_and_bad_paths(tmp_path, files, capsys):
    pol, inv = files
    assert reach_command(None, inv, None, "tenant-a", "tenant-b", "80", False) == 2
    assert "--policies DIR" in capsys.readouterr().err
    assert reach_command(tmp_path / "nope", inv, None, "tenant-b", "tenant-b", "80", False) == 2
    assert "does not exist" in capsys.readouterr().err
    assert reach_command(pol, tmp_path / "nope.yaml", None, "tenant-b", "tenant-b", "80", False) == 2
    assert "inventory file not found" in capsys.readouterr().err
    assert reach_command(pol, inv, "dev", "tenant-b", "tenant-b", "80", False) == 2
    assert "not both" in capsys.readouterr().err


def test_stack_inputs(monkeypatch, capsys):
    """--stack S takes the rendered manifests and the Inventory from netpol.stack.stack_inputs."""
    calls = []

    def stack_inputs(name):
        calls.append(name)
        return list(yaml.safe_load_all(POLICY + "---\n" + ccnp("x", "spec:\n  endpointSelector: {}\n"))), INV

    monkeypatch.setitem(sys.modules, "netpol.stack", types.SimpleNamespace(stack_inputs=stack_inputs))
    assert reach_command(None, None, "dev", "tenant-a/frontend", "tenant-a/backend", "5432", True) == 0
    assert calls == ["dev"]
    assert json.loads(capsys.readouterr().out)["ingress"]["policy"] == "CiliumNetworkPolicy/tenant-a/backend"


def test_stack_config_error_exits_2(capsys):
    """A stack that does not exist: the real config error (the stack files of this project are the oracle)."""
    assert explain_command(None, None, "nope", "a", "b", "80") == 2
    err = capsys.readouterr().err
    assert "Pulumi.nope.yaml" in err and "no such stack file" in err and "dev, integration, live" in err


def test_parse_port():
    assert parse_port("53/udp") == (53, "UDP")
    assert parse_port("8080") == (8080, "TCP")
    for bad in ("", "-1", "65536", "80/XYZ", "a/TCP"):
        with pytest.raises(ReachInputError):
            parse_port(bad)


def test_reach_prints_the_notes_that_change_the_verdicts_meaning(tmp_path, capsys):
    """Without --json, reach names the policy left out as invalid and the unmodelled named port."""
    pol = tmp_path / "policies"
    pol.mkdir()
    (pol / "np.yaml").write_text("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: named-port, namespace: tenant-a}
spec:
  podSelector: {matchLabels: {app: backend}}
  ingress: [{ports: [{port: postgres}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: typo, namespace: tenant-a}
spec:
  podSelector: {matchExpressions: [{key: app, operator: in, values: [frontend]}]}
  policyTypes: [Egress]
""")
    inv = tmp_path / "inventory.yaml"
    inv.write_text(yaml.safe_dump(BASE_INVENTORY))
    assert reach_command(pol, inv, None, "tenant-a/frontend", "tenant-a/backend", "5432", False) == 1
    out = capsys.readouterr().out
    assert "NetworkPolicy/tenant-a/named-port spec.ingress" in out
    assert "note: unmodelled: spec.ingress[0].ports[0].port is the named port 'postgres'" in out
    assert "note: left out of the verdict (invalid): np.yaml#1: NetworkPolicy/tenant-a/typo" in out
    assert "operators are case-sensitive: In" in out
