"""Small pure helpers shared by the manifest builders: Cilium EndpointSelectors, PortRules, the
rules more than one builder writes (DNS egress, health-probe ingress), and the Manifest record."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Iterable

from netpol import apis
from netpol import labels as L
from netpol import wellknown as W
from netpol.model import PortProtocol

# A Cilium EndpointSelector (a Kubernetes LabelSelector over endpoint labels), as a plain dict.
EndpointSelector = dict


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
    return {"apiVersion": apis.CILIUM_API_VERSION, "kind": kind, "metadata": meta, **body}


def ccnp(name: str, **spec) -> dict:
    return cilium(apis.CCNP, name, spec=spec)


# --- EndpointSelectors -------------------------------------------------------------------------

def pods_selector(namespace: str, pod_labels: dict | None = None) -> EndpointSelector:
    """The pods of one namespace (all of them unless labels are given)."""
    return {"matchLabels": {L.POD_NAMESPACE_LABEL: namespace, **(pod_labels or {})}}


def local_selector(pod_labels: dict | None) -> EndpointSelector:
    """A subject inside a namespaced policy: the pods with these labels ({} = the whole namespace)."""
    return {"matchLabels": dict(pod_labels)} if pod_labels else {}


def labelled_ns_selector(key: str, value: str) -> EndpointSelector:
    """Endpoints whose namespace carries label key=value, in any namespace (a peer).

    The explicit `io.kubernetes.pod.namespace Exists` keeps the selector cluster-wide even inside a
    namespaced CiliumNetworkPolicy, where Cilium otherwise confines selectors without a namespace
    to the policy's own namespace.
    """
    return {
        "matchLabels": {L.ns_label(key): value},
        "matchExpressions": [{"key": L.POD_NAMESPACE_LABEL, "operator": "Exists"}],
    }


def labelled_ns_subject_selector(key: str, value: str) -> EndpointSelector:
    """A clusterwide policy's subject: the endpoints of namespaces labelled key=value."""
    return {"matchLabels": {L.ns_label(key): value}}


def ns_label_in_selector(key: str, values: Iterable[str]) -> EndpointSelector:
    """Endpoints whose namespace's label `key` has one of `values`, in any namespace (a peer)."""
    return {
        "matchExpressions": [
            {"key": L.ns_label(key), "operator": "In", "values": sorted(values)},
            {"key": L.POD_NAMESPACE_LABEL, "operator": "Exists"},
        ]
    }


def all_pods_selector() -> EndpointSelector:
    """Every pod of every namespace (explicit, so it means the same in a CNP and a CCNP)."""
    return {"matchExpressions": [{"key": L.POD_NAMESPACE_LABEL, "operator": "Exists"}]}


def kube_dns_selector() -> EndpointSelector:
    return pods_selector(W.KUBE_DNS_NAMESPACE, W.KUBE_DNS_LABELS)


def prometheus_selector() -> EndpointSelector:
    return pods_selector(W.PROMETHEUS_NAMESPACE, W.PROMETHEUS_LABELS)


def ztunnel_selector() -> EndpointSelector:
    return pods_selector(W.ZTUNNEL_NAMESPACE, W.ZTUNNEL_LABELS)


def gateway_selector(name: str) -> EndpointSelector:
    return pods_selector(W.GATEWAY_NAMESPACE, W.gateway_labels(name))


# --- PortRules (`toPorts`) and PortProtocols -------------------------------------------------------

def to_ports(ports: Iterable[PortProtocol], *, dns: bool = False) -> list[dict]:
    """One PortRule over `ports`; `dns` adds the L7 DNS rule that lets every name through the proxy."""
    entry: dict = {"ports": [{"port": str(p.port), "protocol": p.protocol} for p in ports]}
    if dns:
        entry["rules"] = {"dns": [{"matchPattern": "*"}]}
    return [entry]


@functools.lru_cache(maxsize=None)
def _port(number: int, protocol: str) -> PortProtocol:
    """One PortProtocol per (number, protocol): the model is frozen, so builders share instances
    instead of validating the same constant again for every policy they build."""
    return PortProtocol(port=number, protocol=protocol)


def tcp(*numbers: int) -> list[PortProtocol]:
    return [_port(n, "TCP") for n in numbers]


def dns_ports() -> list[PortProtocol]:
    return [_port(W.DNS_PORT, "UDP"), _port(W.DNS_PORT, "TCP")]


# --- rules more than one builder writes ------------------------------------------------------------

def dns_egress_rule(*, inspect: bool) -> dict:
    """The EgressRule to kube-dns on 53/UDP and 53/TCP. `inspect` adds the L7 DNS rule (DNS visible
    to Hubble; toFQDNs learn addresses): the DNS baseline carries it for every endpoint."""
    return {"toEndpoints": [kube_dns_selector()], "toPorts": to_ports(dns_ports(), dns=inspect)}


def health_probe_ingress_rules() -> list[dict]:
    """The IngressRules for Cilium health checks (entity health) and kubelet probes from the
    node-local range."""
    return [{"fromEntities": ["health"]}, {"fromCIDR": [W.HEALTH_CIDR]}]
