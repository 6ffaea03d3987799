"""Endpoints of a flow: a pod, a Cilium entity, an outside IP address or an outside DNS name.

A pod's identity labels are what Cilium derives for it (docs "Using Kubernetes Constructs in Policy",
https://docs.cilium.io/en/stable/security/policy/kubernetes/):

* its own labels (source `k8s`);
* `io.kubernetes.pod.namespace: <ns>`;
* `io.cilium.k8s.namespace.labels.<k>: <v>` for each label of its namespace, including
  `kubernetes.io/metadata.name: <ns>`, which Kubernetes sets on every namespace;
* `io.cilium.k8s.policy.cluster: <cluster name>` ("Multi-Cluster": the cluster name is exposed via
  this label; the connectivity-test policies select on it).

Entities are Cilium's reserved identities (docs "Entities Based",
https://docs.cilium.io/en/stable/security/policy/language/#entities-based); each carries the label
`reserved:<name>`, which is what a `reserved:` selector key matches. `ip:` and `fqdn:` endpoints are
outside the cluster: identity `reserved:world`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Mapping

from netpol.apis import ENDPOINT_ENTITIES as ENTITIES
from netpol.apis import WORLD_ENTITIES
from netpol.labels import CLUSTER_LABEL, NAMESPACE_NAME_LABEL, NS_LABEL_PREFIX, POD_NAMESPACE_LABEL
from netpol.reach.errors import ReachInputError
from netpol.reach.inventory import Inventory, Pod
from netpol.reach.selectors import SOURCE_K8S, SOURCE_RESERVED, Identity, intern_identity

__all__ = ["Endpoint", "ReachInputError", "resolve_endpoint", "pod_endpoint", "entity_endpoint",
           "pod_identity", "CLUSTER_LABEL", "NAMESPACE_NAME_LABEL"]

# Entities that are local endpoints with a policy of their own: the host (host policies, i.e. rules
# with a nodeSelector, docs "Host Policies"), and the health / init / ingress endpoints, which a
# cluster-wide policy can select by their reserved label (docs "Example: Add health endpoint";
# the health example selects `reserved:health`).
ENTITIES_WITH_ENDPOINT_POLICY = ("health", "init", "ingress")
ENTITY_KINDS = ("pod", "entity", "ip", "fqdn")


@dataclass(frozen=True, eq=False)
class Endpoint:
    kind: str  # "pod" | "entity" | "ip" | "fqdn"
    identity: Identity
    namespace: str | None = None
    name: str | None = None
    entity: str | None = None
    ip: str | None = None
    fqdn: str | None = None
    ips: tuple[str, ...] = ()  # fqdn: its resolved addresses; ip: (ip,)
    dns_names: tuple[str, ...] = ()  # ip: inventory names resolving to this address
    key: tuple = field(default=(), compare=False)

    @property
    def labels(self) -> dict[str, str]:
        """Identity labels as `source:key -> value`."""
        return {f"{s}:{k}": v for s, k, v in sorted(self.identity.labels)}

    @property
    def is_world(self) -> bool:
        return self.kind in ("ip", "fqdn") or self.entity in WORLD_ENTITIES

    @property
    def is_pod(self) -> bool:
        return self.kind == "pod"

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Endpoint) and self.key == other.key

    def __str__(self) -> str:
        if self.kind == "pod":
            return f"{self.namespace}/{self.name}"
        if self.kind == "entity":
            return f"entity:{self.entity}"
        if self.kind == "ip":
            return f"ip:{self.ip}"
        return f"fqdn:{self.fqdn}"


def pod_identity(namespace: str, pod_labels: Mapping[str, str], ns_labels: Mapping[str, str],
                 cluster: str = "default") -> Identity:
    labels = {(SOURCE_K8S, k, v) for k, v in pod_labels.items()}
    labels.add((SOURCE_K8S, POD_NAMESPACE_LABEL, namespace))
    nsl = {NAMESPACE_NAME_LABEL: namespace, **ns_labels}
    labels.update((SOURCE_K8S, NS_LABEL_PREFIX + k, v) for k, v in nsl.items())
    labels.add((SOURCE_K8S, CLUSTER_LABEL, cluster))
    return intern_identity(labels)


def pod_endpoint(pod: Pod, inventory: Inventory) -> Endpoint:
    ident = pod_identity(pod.namespace, pod.labels, inventory.namespaces.get(pod.namespace, {}),
                         inventory.cluster)
    return Endpoint("pod", ident, namespace=pod.namespace, name=pod.name, key=("pod", ident))


def entity_endpoint(name: str) -> Endpoint:
    if name not in ENTITIES:
        raise ReachInputError(f"unknown entity {name!r}; valid entities: {', '.join(ENTITIES)}")
    ident = intern_identity({(SOURCE_RESERVED, name, "")})
    return Endpoint("entity", ident, entity=name, key=("entity", name))


_WORLD = None


def _world_identity() -> Identity:
    global _WORLD
    if _WORLD is None:
        _WORLD = intern_identity({(SOURCE_RESERVED, "world", "")})
    return _WORLD


def ip_endpoint(addr: str, inventory: Inventory | None = None) -> Endpoint:
    try:
        ip = str(ipaddress.ip_address(addr.strip()))
    except ValueError:
        raise ReachInputError(f"bad IP address {addr!r} in 'ip:{addr}'; valid: an IPv4 or IPv6 address, "
                              "e.g. ip:203.0.113.10") from None
    names = tuple(sorted(n for n, ips in (inventory.fqdns.items() if inventory else ()) if ip in ips))
    return Endpoint("ip", _world_identity(), ip=ip, ips=(ip,), dns_names=names, key=("ip", ip, names))


def fqdn_endpoint(name: str, inventory: Inventory) -> Endpoint:
    n = name.strip().lower().rstrip(".")
    if n not in inventory.fqdns:
        known = ", ".join(sorted(inventory.fqdns)) or "(the inventory lists no fqdns)"
        raise ReachInputError(f"unknown DNS name {name!r} in 'fqdn:{name}'; names known to the inventory: {known}")
    ips = tuple(inventory.fqdns[n])
    return Endpoint("fqdn", _world_identity(), fqdn=n, ips=ips, key=("fqdn", n, ips))


SPEC_HELP = ("valid: NS/POD, NS (the namespace's only pod), entity:NAME (" + ", ".join(ENTITIES)
             + "), fqdn:NAME (a name under the inventory's fqdns), ip:ADDR (an address outside the cluster)")


def resolve_endpoint(spec: str, inventory: Inventory) -> Endpoint:
    """Resolve `NS/POD`, `NS`, `entity:NAME`, `fqdn:NAME` or `ip:ADDR` against the inventory."""
    if not isinstance(spec, str) or not spec.strip():
        raise ReachInputError(f"empty endpoint {spec!r}; {SPEC_HELP}")
    s = spec.strip()
    if ":" in s:
        kind, _, rest = s.partition(":")
        if kind == "entity":
            if rest not in ENTITIES:
                raise ReachInputError(f"unknown entity {rest!r} in {s!r}; valid entities: {', '.join(ENTITIES)}")
            return entity_endpoint(rest)
        if kind == "fqdn":
            return fqdn_endpoint(rest, inventory)
        if kind == "ip":
            return ip_endpoint(rest, inventory)
        raise ReachInputError(f"unknown endpoint kind {kind!r} in {s!r}; {SPEC_HELP}")
    if "/" in s:
        ns, _, pod_name = s.partition("/")
        _require_namespace(ns, s, inventory)
        pod = inventory.pod(ns, pod_name)
        if pod is None:
            pods = ", ".join(p.name for p in inventory.pods_in(ns)) or "(none)"
            raise ReachInputError(f"no pod {pod_name!r} in namespace {ns!r} (from {s!r}); pods there: {pods}")
        return pod_endpoint(pod, inventory)
    _require_namespace(s, s, inventory)
    pods = inventory.pods_in(s)
    if not pods:
        raise ReachInputError(f"namespace {s!r} has no pods in the inventory; give NS/POD for a listed pod")
    if len(pods) > 1:
        names = ", ".join(f"{s}/{p.name}" for p in pods)
        raise ReachInputError(f"namespace {s!r} has {len(pods)} pods; name one: {names}")
    return pod_endpoint(pods[0], inventory)


def _require_namespace(ns: str, spec: str, inventory: Inventory) -> None:
    if ns not in inventory.namespaces:
        known = ", ".join(sorted(inventory.namespaces)) or "(none)"
        raise ReachInputError(f"unknown namespace {ns!r} in {spec!r}; namespaces in the inventory: {known}. {SPEC_HELP}")
