"""The endpoint inventory: namespaces (with labels), pods (with labels), external names.

File format (a stable contract):

    namespaces:
      tenant-a: {labels: {team: a}}
    pods:
      - {namespace: tenant-a, name: frontend, labels: {app: frontend}}
    fqdns:
      api.example.com: [203.0.113.10]
    cluster: default        # optional: the Cilium cluster name (label io.cilium.k8s.policy.cluster)
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from netpol.reach.errors import InventoryError

DEFAULT_CLUSTER_NAME = "default"
TOP_KEYS = ("namespaces", "pods", "fqdns", "cluster")
NAMESPACE_KEYS = ("labels",)
POD_KEYS = ("namespace", "name", "labels")


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    labels: Mapping[str, str]

    def __hash__(self) -> int:  # labels is a dict: hash by identity of the pod in its namespace
        return hash((self.namespace, self.name))


@dataclass
class Inventory:
    namespaces: dict[str, dict[str, str]]  # namespace -> its labels
    pods: list[Pod]
    fqdns: dict[str, list[str]] = field(default_factory=dict)  # name -> addresses (outside the cluster)
    cluster: str = DEFAULT_CLUSTER_NAME

    _index: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def _by_namespace(self) -> dict[str, dict[str, Pod]]:
        key = (id(self.pods), len(self.pods))
        if self._index.get("key") != key:
            idx: dict[str, dict[str, Pod]] = {}
            for p in self.pods:
                idx.setdefault(p.namespace, {})[p.name] = p
            self._index.clear()
            self._index.update(key=key, pods=idx)
        return self._index["pods"]

    def to_document(self) -> dict[str, Any]:
        """This inventory in the file format above (`parse_inventory` reads it back)."""
        return {"namespaces": {ns: {"labels": dict(labels)} for ns, labels in self.namespaces.items()},
                "pods": [{"namespace": p.namespace, "name": p.name, "labels": dict(p.labels)} for p in self.pods],
                "fqdns": {name: list(addrs) for name, addrs in self.fqdns.items()},
                "cluster": self.cluster}

    def pods_in(self, namespace: str) -> list[Pod]:
        return list(self._by_namespace().get(namespace, {}).values())

    def pod(self, namespace: str, name: str) -> Pod | None:
        return self._by_namespace().get(namespace, {}).get(name)


def _fail(path: Path | str, key: str, value: Any, valid: str) -> InventoryError:
    return InventoryError(f"{path}: {key}: bad value {value!r}; {valid}")


def _labels(path: Path | str, where: str, raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _fail(path, where, raw, "valid: a mapping of label key to string value, e.g. {app: web}")
    out: dict[str, str] = {}
    for k, v in raw.items():
        if not isinstance(k, str) or not k:
            raise _fail(path, f"{where} key", k, "valid: a non-empty string label key")
        if not isinstance(v, str):
            raise _fail(path, f"{where}.{k}", v,
                        "valid: a string (quote numbers and booleans, e.g. \"true\", \"1\")")
        out[k] = v
    return out


def parse_inventory(data: Any, path: Path | str = "<inventory>") -> Inventory:
    """Validate and build an Inventory from parsed YAML; every problem is an InventoryError."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise _fail(path, "<top level>", data, f"valid: a mapping with keys {', '.join(TOP_KEYS)}")
    for k in data:
        if k not in TOP_KEYS:
            raise _fail(path, str(k), data[k], f"unknown key; valid keys: {', '.join(TOP_KEYS)}")

    cluster = data.get("cluster", DEFAULT_CLUSTER_NAME)
    if not isinstance(cluster, str) or not cluster:
        raise _fail(path, "cluster", cluster, "valid: a non-empty cluster name string")

    raw_ns = data.get("namespaces") or {}
    if not isinstance(raw_ns, Mapping):
        raise _fail(path, "namespaces", raw_ns, "valid: a mapping of namespace name to {labels: {...}}")
    namespaces: dict[str, dict[str, str]] = {}
    for name, body in raw_ns.items():
        if not isinstance(name, str) or not name:
            raise _fail(path, "namespaces key", name, "valid: a non-empty namespace name")
        if body is None:
            body = {}
        if not isinstance(body, Mapping):
            raise _fail(path, f"namespaces.{name}", body, "valid: a mapping like {labels: {team: a}}")
        for k in body:
            if k not in NAMESPACE_KEYS:
                raise _fail(path, f"namespaces.{name}.{k}", body[k],
                            f"unknown key; valid keys: {', '.join(NAMESPACE_KEYS)}")
        namespaces[name] = _labels(path, f"namespaces.{name}.labels", body.get("labels"))

    raw_pods = data.get("pods") or []
    if not isinstance(raw_pods, list):
        raise _fail(path, "pods", raw_pods, "valid: a list of {namespace, name, labels}")
    pods: list[Pod] = []
    seen: set[tuple[str, str]] = set()
    for i, p in enumerate(raw_pods):
        where = f"pods[{i}]"
        if not isinstance(p, Mapping):
            raise _fail(path, where, p, "valid: a mapping {namespace: NS, name: POD, labels: {...}}")
        for k in p:
            if k not in POD_KEYS:
                raise _fail(path, f"{where}.{k}", p[k], f"unknown key; valid keys: {', '.join(POD_KEYS)}")
        ns, name = p.get("namespace"), p.get("name")
        if not isinstance(ns, str) or not ns:
            raise _fail(path, f"{where}.namespace", ns, "valid: the name of a namespace listed under namespaces")
        if not isinstance(name, str) or not name:
            raise _fail(path, f"{where}.name", name, "valid: a non-empty pod name")
        if ns not in namespaces:
            listed = ", ".join(sorted(namespaces)) or "(none)"
            raise _fail(path, f"{where}.namespace", ns,
                        f"namespace is not listed under namespaces; valid: {listed}")
        if (ns, name) in seen:
            raise _fail(path, f"{where}.name", name, f"duplicate pod {ns}/{name}; pod names are unique per namespace")
        seen.add((ns, name))
        pods.append(Pod(ns, name, _labels(path, f"{where}.labels", p.get("labels"))))

    raw_fqdns = data.get("fqdns") or {}
    if not isinstance(raw_fqdns, Mapping):
        raise _fail(path, "fqdns", raw_fqdns, "valid: a mapping of DNS name to a list of IP addresses")
    fqdns: dict[str, list[str]] = {}
    for name, addrs in raw_fqdns.items():
        if not isinstance(name, str) or not name:
            raise _fail(path, "fqdns key", name, "valid: a DNS name such as api.example.com")
        if isinstance(addrs, str):
            addrs = [addrs]
        if not isinstance(addrs, list) or not addrs:
            raise _fail(path, f"fqdns.{name}", addrs, "valid: a non-empty list of IPv4/IPv6 addresses")
        clean: list[str] = []
        for a in addrs:
            try:
                clean.append(str(ipaddress.ip_address(str(a))))
            except ValueError:
                raise _fail(path, f"fqdns.{name}", a, "valid: an IPv4 or IPv6 address such as 203.0.113.10") from None
        fqdns[name.lower().rstrip(".")] = clean
    return Inventory(namespaces=namespaces, pods=pods, fqdns=fqdns, cluster=cluster)


def load_inventory(path: str | Path) -> Inventory:
    """Read an inventory YAML file. Bad input raises InventoryError naming file, key, value, valid values."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InventoryError(f"{p}: inventory file not found") from None
    except OSError as e:
        raise InventoryError(f"{p}: cannot read inventory file: {e.strerror or e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InventoryError(f"{p}: not valid YAML: {e}") from None
    return parse_inventory(data, p)
