"""Inventory loading (a stable file contract) and endpoint resolution."""

from __future__ import annotations

import pytest
import yaml

from netpol.apis import ENDPOINT_ENTITIES
from netpol.reach import InventoryError, ReachInputError, load_inventory, resolve_endpoint
from reach_helpers import INV

GOOD = """
namespaces:
  tenant-a: {labels: {team: a}}
  tenant-b: {}
pods:
  - {namespace: tenant-a, name: frontend, labels: {app: frontend}}
  - {namespace: tenant-b, name: api}
fqdns:
  api.example.com: [203.0.113.10, "2001:db8::1"]
"""


def write(tmp_path, text, name="inv.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_load_inventory_and_identity_labels(tmp_path):
    """Kubernetes / Namespaces: a pod's identity = its labels + io.kubernetes.pod.namespace + its
    namespace's labels under io.cilium.k8s.namespace.labels. (+ kubernetes.io/metadata.name) + the
    cluster-name label io.cilium.k8s.policy.cluster ("Multi-Cluster")."""
    inv = load_inventory(write(tmp_path, GOOD))
    assert inv.namespaces == {"tenant-a": {"team": "a"}, "tenant-b": {}}
    assert [p.name for p in inv.pods] == ["frontend", "api"]
    assert inv.fqdns == {"api.example.com": ["203.0.113.10", "2001:db8::1"]}
    ep = resolve_endpoint("tenant-a/frontend", inv)
    assert ep.kind == "pod" and (ep.namespace, ep.name) == ("tenant-a", "frontend")
    assert ep.labels == {
        "k8s:app": "frontend",
        "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name": "tenant-a",
        "k8s:io.cilium.k8s.namespace.labels.team": "a",
        "k8s:io.cilium.k8s.policy.cluster": "default",
        "k8s:io.kubernetes.pod.namespace": "tenant-a",
    }


@pytest.mark.parametrize("text, needles", [
    ("- a\n", ["<top level>", "namespaces, pods, fqdns"]),
    ("nodes: []\n", ["nodes", "unknown key", "namespaces, pods, fqdns"]),
    ("namespaces: {a: {labels: {x: 1}}}\n", ["namespaces.a.labels.x", "1", "quote"]),
    ("namespaces: {a: {annotations: {}}}\n", ["namespaces.a.annotations", "valid keys: labels"]),
    ("namespaces: {a: {}}\npods: [{namespace: b, name: p}]\n",
     ["pods[0].namespace", "'b'", "not listed under namespaces", "valid: a"]),
    ("namespaces: {a: {}}\npods: [{namespace: a}]\n", ["pods[0].name", "None"]),
    ("namespaces: {a: {}}\npods: [{namespace: a, name: p}, {namespace: a, name: p}]\n", ["duplicate pod a/p"]),
    ("namespaces: {a: {}}\npods: [{namespace: a, name: p, image: x}]\n", ["pods[0].image", "namespace, name, labels"]),
    ("fqdns: {x.com: [not-an-ip]}\n", ["fqdns.x.com", "not-an-ip", "IPv4 or IPv6"]),
    ("fqdns: {x.com: []}\n", ["fqdns.x.com", "non-empty list"]),
    ("pods: {a: b}\n", ["pods", "a list"]),
])
def test_bad_inventory_names_file_key_value_and_valid_values(tmp_path, text, needles):
    p = write(tmp_path, text)
    with pytest.raises(InventoryError) as e:
        load_inventory(p)
    msg = str(e.value)
    assert str(p) in msg
    for n in needles:
        assert n in msg, (n, msg)


def test_missing_and_unparseable_inventory_files(tmp_path):
    with pytest.raises(InventoryError, match="not found"):
        load_inventory(tmp_path / "nope.yaml")
    with pytest.raises(InventoryError, match="not valid YAML"):
        load_inventory(write(tmp_path, "a: [b\n"))


def test_inventory_error_is_a_reach_input_error():
    assert issubclass(InventoryError, ReachInputError)


def test_resolve_entities_ips_and_fqdns():
    for name in ENDPOINT_ENTITIES:
        ep = resolve_endpoint(f"entity:{name}", INV)
        assert ep.kind == "entity" and ep.entity == name
        assert ep.labels == {f"reserved:{name}": ""}
    ip = resolve_endpoint("ip:203.0.113.10", INV)
    assert ip.kind == "ip" and ip.ip == "203.0.113.10" and ip.dns_names == ("api.example.com",)
    assert ip.is_world and ip.labels == {"reserved:world": ""}
    f = resolve_endpoint("fqdn:API.example.com.", INV)
    assert f.kind == "fqdn" and f.fqdn == "api.example.com" and f.ips == ("203.0.113.10",)
    assert str(f) == "fqdn:api.example.com"


def test_resolve_namespace_with_single_pod():
    assert resolve_endpoint("tenant-b", INV).name == "api"


@pytest.mark.parametrize("spec, needles", [
    ("", ["empty endpoint", "NS/POD"]),
    ("tenant-a", ["2 pods", "tenant-a/frontend", "tenant-a/backend"]),
    ("nowhere/x", ["unknown namespace 'nowhere'", "tenant-a"]),
    ("tenant-a/ghost", ["no pod 'ghost'", "frontend, backend"]),
    ("entity:internet", ["unknown entity 'internet'", "world, cluster, host"]),
    ("fqdn:unknown.example", ["unknown DNS name", "api.example.com"]),
    ("ip:999.1.1.1", ["bad IP address", "IPv4 or IPv6"]),
    ("svc:foo", ["unknown endpoint kind 'svc'", "entity:NAME"]),
])
def test_bad_endpoint_specs(spec, needles):
    with pytest.raises(ReachInputError) as e:
        resolve_endpoint(spec, INV)
    for n in needles:
        assert n in str(e.value), (n, str(e.value))


def test_namespace_without_pods(tmp_path):
    inv = load_inventory(write(tmp_path, yaml.safe_dump({"namespaces": {"empty": {}}})))
    with pytest.raises(ReachInputError, match="has no pods"):
        resolve_endpoint("empty", inv)


def test_same_identity_pods_share_a_cache_key():
    """Cilium evaluates policy per security identity: two pods with the same labels in the same
    namespace are one identity."""
    from netpol.reach import parse_inventory
    inv = parse_inventory({"namespaces": {"a": {}}, "pods": [
        {"namespace": "a", "name": "web-1", "labels": {"app": "web"}},
        {"namespace": "a", "name": "web-2", "labels": {"app": "web"}}]})
    one, two = resolve_endpoint("a/web-1", inv), resolve_endpoint("a/web-2", inv)
    assert one.identity is two.identity and one.key == two.key


@pytest.mark.parametrize("stack", ["dev", "integration", "live"])
def test_an_inventory_reads_back_from_its_document(stack):
    """`Inventory.to_document` writes the file format: `parse_inventory` (the file reader) returns the
    same inventory, and the document survives YAML (what `netpol diff` and a user's file go through)."""
    from netpol.reach.inventory import parse_inventory
    from netpol.stack import inventory_for, load_stack

    inv = inventory_for(load_stack(stack))
    doc = inv.to_document()
    assert parse_inventory(doc) == inv
    assert parse_inventory(yaml.safe_load(yaml.safe_dump(doc))) == inv
    assert set(doc) <= {"namespaces", "pods", "fqdns", "cluster"}
