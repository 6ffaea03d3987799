"""Small pure helpers shared by the manifest builders: selectors, ports, the Manifest record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from netpol import labels as L
from netpol.model import PortSpec


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object the stack declares, and the component that owns it."""

    component: str
    body: dict = field(hash=False, compare=True)

    @property
    def kind(self) -> str:
        return self.body["kind"]

    @property
    def api_version(self) -> str:
        return self.body["apiVersion"]

    @property
    def name(self) -> str:
        return self.body["metadata"]["name"]

    @property
    def namespace(self) -> str | None:
        return self.body["metadata"].get("namespace")

    @property
    def resource_name(self) -> str:
        """The Pulumi resource name: `ns/name` for namespaced objects, else `name`."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


def cilium(kind: str, name: str, *, namespace: str | None = None, annotations: dict | None = None, **body) -> dict:
    meta: dict = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": L.CILIUM_API_VERSION, "kind": kind, "metadata": meta, **body}


def ccnp(name: str, **spec) -> dict:
    return cilium(L.CCNP, name, spec=spec)


def pods(namespace: str, pod_labels: dict | None = None) -> dict:
    """An EndpointSelector for pods of one namespace (all of them unless labels are given)."""
    return {"matchLabels": {L.POD_NAMESPACE_LABEL: namespace, **(pod_labels or {})}}


def local(pod_labels: dict | None) -> dict:
    """A subject EndpointSelector inside a namespaced policy ({} = the whole namespace)."""
    return {"matchLabels": dict(pod_labels)} if pod_labels else {}


def ns_labelled(key: str, value: str) -> dict:
    """Endpoints whose namespace carries label key=value, in any namespace.

    The explicit `io.kubernetes.pod.namespace Exists` keeps the selector cluster-wide even inside a
    namespaced CiliumNetworkPolicy, where Cilium otherwise confines selectors without a namespace
    to the policy's own namespace.
    """
    return {
        "matchLabels": {L.ns_label(key): value},
        "matchExpressions": [{"key": L.POD_NAMESPACE_LABEL, "operator": "Exists"}],
    }


def ns_subject(key: str, value: str) -> dict:
    """A policy subject: the endpoints of namespaces labelled key=value."""
    return {"matchLabels": {L.ns_label(key): value}}


def ns_label_in(key: str, values: Iterable[str]) -> dict:
    return {
        "matchExpressions": [
            {"key": L.ns_label(key), "operator": "In", "values": sorted(values)},
            {"key": L.POD_NAMESPACE_LABEL, "operator": "Exists"},
        ]
    }


def all_pods() -> dict:
    """Every pod of every namespace (explicit, so it means the same in a CNP and a CCNP)."""
    return {"matchExpressions": [{"key": L.POD_NAMESPACE_LABEL, "operator": "Exists"}]}


def to_ports(ports: Iterable[PortSpec], *, dns: bool = False) -> list[dict]:
    entry: dict = {"ports": [{"port": str(p.port), "protocol": p.protocol} for p in ports]}
    if dns:
        entry["rules"] = {"dns": [{"matchPattern": "*"}]}
    return [entry]


def tcp(*numbers: int) -> list[PortSpec]:
    return [PortSpec(port=n, protocol="TCP") for n in numbers]


def dns_ports() -> list[PortSpec]:
    return [PortSpec(port=L.DNS_PORT, protocol="UDP"), PortSpec(port=L.DNS_PORT, protocol="TCP")]


def kube_dns() -> dict:
    return pods(L.KUBE_DNS_NAMESPACE, L.KUBE_DNS_LABELS)


def prometheus() -> dict:
    return pods(L.PROMETHEUS_NAMESPACE, L.PROMETHEUS_LABELS)


def ztunnel() -> dict:
    return pods(L.ZTUNNEL_NAMESPACE, L.ZTUNNEL_LABELS)


def gateway(name: str) -> dict:
    return pods(L.GATEWAY_NAMESPACE, {L.GATEWAY_NAME_LABEL: name})
