"""`--base-dir/--head-dir --inventory`: two rendered trees (anyone's policies) over one inventory."""

from __future__ import annotations

import json
import textwrap

import yaml

from diff_helpers import edit_stack, flows, platform
from netpol.commands.diff import diff_command
from netpol.config import load_config
from netpol.diff import FlowSetTooLarge, diff_dirs, dir_flows
from netpol.diff.flows import MAX_DIR_FLOWS, policy_cidr_addresses, policy_ports
from netpol.reach import PolicySet, parse_inventory
from netpol.render import write_tree
from netpol.stack import inventory_for, manifests_for

INVENTORY = {
    "namespaces": {"tenant-a": {"labels": {"team": "a"}}, "tenant-b": {"labels": {"team": "b"}}},
    "pods": [
        {"namespace": "tenant-a", "name": "frontend", "labels": {"app": "frontend"}},
        {"namespace": "tenant-a", "name": "backend", "labels": {"app": "backend"}},
        {"namespace": "tenant-b", "name": "api", "labels": {"app": "api"}},
    ],
}

BASE = """
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: backend, namespace: tenant-a}
spec:
  description: backend takes the frontend on 5432
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
    - fromEndpoints: [{matchLabels: {app: frontend}}]
      toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api-egress, namespace: tenant-b}
spec:
  description: the api calls the backend
  endpointSelector: {}
  egress:
    - toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: tenant-a, app: backend}}]
      toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-a-policy, namespace: tenant-a}
"""

# The backend now takes the api instead of the frontend; the api may call HTTPS on the internet.
HEAD = """
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: backend, namespace: tenant-a}
spec:
  description: backend takes the api on 5432
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
    - fromEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: tenant-b, app: api}}]
      toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api-egress, namespace: tenant-b}
spec:
  description: the api calls the backend and the internet
  endpointSelector: {}
  egress:
    - toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: tenant-a, app: backend}}]
      toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
    - toEntities: [world]
      toPorts: [{ports: [{port: "443", protocol: TCP}, {port: "8443", protocol: TCP}]}]
"""


def _trees(tmp_path, base: str = BASE, head: str = HEAD, inventory: dict = INVENTORY):
    a, b = tmp_path / "base", tmp_path / "head"
    (a / "sub").mkdir(parents=True)
    b.mkdir()
    (a / "sub" / "policies.yaml").write_text(base)
    (b / "policies.yml").write_text(head)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(yaml.safe_dump(inventory))
    return a, b, inv


def test_hand_written_trees(tmp_path, capsys):
    a, b, inv = _trees(tmp_path)
    code = diff_command("any", None, None, a, b, inv, True, False)
    doc = json.loads(capsys.readouterr().out)
    assert code == 3  # egress to the internet
    assert flows(doc["opened"]) == {("tenant-b", "tenant-a/backend", 5432, "TCP"),
                                    ("tenant-b", "world", 443, "TCP"), ("tenant-b", "world", 8443, "TCP")}
    assert flows(doc["closed"]) == {("tenant-a/frontend", "tenant-a/backend", 5432, "TCP")}
    by_to = {(f["to"], f["port"]): f for f in doc["opened"]}
    assert by_to[("world", 443)]["rule"] == "egress: CiliumNetworkPolicy/tenant-b/api-egress spec.egress[1]"
    assert by_to[("world", 443)]["approval"] == "opens egress to the internet"
    assert by_to[("tenant-a/backend", 5432)]["rule"] == "ingress: CiliumNetworkPolicy/tenant-a/backend spec.ingress[0]"
    assert by_to[("tenant-a/backend", 5432)]["approval"] is None  # no shared-resource registry for plain trees
    closed = doc["closed"][0]
    assert closed["rules"][0]["at"] == "base" and closed["rules"][0]["description"] == "backend takes the frontend on 5432"
    # the reverse direction: everything swaps, nothing needs approval
    assert diff_command("any", None, None, b, a, inv, True, False) == 0
    back = json.loads(capsys.readouterr().out)
    assert flows(back["closed"]) == flows(doc["opened"]) and flows(back["opened"]) == flows(doc["closed"])


def test_same_tree_twice_changes_nothing(tmp_path, capsys):
    a, _, inv = _trees(tmp_path)
    assert diff_command("any", None, None, a, a, inv, True, False) == 0
    assert json.loads(capsys.readouterr().out) == {"opened": [], "closed": []}


def test_pods_sharing_an_identity_are_evaluated_once(tmp_path):
    inv = {**INVENTORY, "pods": INVENTORY["pods"] + [{"namespace": "tenant-b", "name": "api-2", "labels": {"app": "api"}}]}
    a, b, inv_path = _trees(tmp_path, inventory=inv)
    r = diff_dirs(a, b, inv_path)
    assert flows(r.opened) == {("tenant-b/api", "tenant-a/backend", 5432, "TCP"),
                               ("tenant-b/api", "world", 443, "TCP"), ("tenant-b/api", "world", 8443, "TCP")}


def test_the_flow_set_is_bounded(tmp_path, capsys):
    pods = [{"namespace": "n", "name": f"p{i}", "labels": {"app": f"p{i}"}} for i in range(260)]
    a, b, inv = _trees(tmp_path, inventory={"namespaces": {"n": {}}, "pods": pods})
    code = diff_command("any", None, None, a, b, inv, False, False)
    err = capsys.readouterr().err
    assert code == 2 and f"the limit is {MAX_DIR_FLOWS}" in err and "260 pod identities" in err


def test_ports_and_cidrs_named_by_the_trees(tmp_path):
    ps = PolicySet.from_manifests(yaml.safe_load_all(textwrap.dedent("""
        apiVersion: cilium.io/v2
        kind: CiliumClusterwideNetworkPolicy
        metadata: {name: p}
        spec:
          endpointSelector: {}
          egress:
            - toPorts: [{ports: [{port: "9000", endPort: 9005}, {port: "7000", protocol: SCTP}]}]
            - toCIDR: [10.1.0.0/16, 0.0.0.0/0]
              toPorts: [{ports: [{port: "0", protocol: UDP}]}]
            - toCIDRSet: [{cidr: 192.0.2.7/32}]
        """)))
    assert policy_ports([ps]) == sorted({(53, "UDP"), (53, "TCP"), (80, "TCP"), (443, "TCP"), (9000, "TCP"),
                                         (9000, "UDP"), (9005, "TCP"), (9005, "UDP"), (7000, "SCTP")})
    assert policy_cidr_addresses([ps]) == ["10.1.0.1", "192.0.2.7"]
    inv = parse_inventory(INVENTORY)
    fs = dir_flows([ps], inv)
    keys = set(fs)
    assert (("pod", "tenant-a", "backend"), ("ip", "10.1.0.1"), 9005, "UDP") in keys
    assert (("ip", "192.0.2.7"), ("pod", "tenant-b", "api"), 7000, "SCTP") in keys
    assert len(fs) == 9 * (3 * 2 + 3 * 4 + 3 * 4)  # ports x (pod pairs + pods to 4 outside + from 4 outside)
    assert isinstance(FlowSetTooLarge("x"), ValueError)


def test_two_rendered_stack_trees(repo, tmp_path):
    """The dev stack rendered before and after a platform rule, with the dev inventory as a file."""
    cfg = load_config("dev", repo).config
    write_tree(manifests_for(cfg), tmp_path / "a")
    edit_stack(repo, lambda c: platform(c)["monitoring"]["egress"].append(
        {"entity": "world", "endpointSelector": {"app.kubernetes.io/name": "grafana"}, "ports": ["443/TCP"]}))
    write_tree(manifests_for(load_config("dev", repo).config), tmp_path / "b")
    inv = inventory_for(cfg)
    (tmp_path / "inv.yaml").write_text(yaml.safe_dump({
        "namespaces": {k: {"labels": v} for k, v in inv.namespaces.items()},
        "pods": [{"namespace": p.namespace, "name": p.name, "labels": dict(p.labels)} for p in inv.pods],
        "fqdns": inv.fqdns}))
    r = diff_dirs(tmp_path / "a", tmp_path / "b", tmp_path / "inv.yaml")
    # world, and everything outside the cluster the tree and inventory name: the inventory's DNS
    # names and an address inside the tree's one CIDR (the health range 169.254.0.0/16)
    g = "monitoring/grafana"
    assert flows(r.opened) == {(g, "world", 443, "TCP"), (g, "fqdn:api.stripe.com", 443, "TCP"),
                               (g, "fqdn:x.s3.eu-west-1.amazonaws.com", 443, "TCP"), (g, "ip:169.254.0.1", 443, "TCP")}
    assert r.closed == [] and r.exit_code == 3
    assert {x.policy for c in r.opened for x in c.rules} == {"CiliumNetworkPolicy/monitoring/monitoring-default"}
