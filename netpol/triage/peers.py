"""From a Hubble flow endpoint to a peer of the stack's model, and to a reachability endpoint spec.

A Hubble endpoint carries `namespace`, `pod_name`, `identity` and `labels` (`source:key=value`
strings, e.g. `k8s:app=postgres`, `reserved:world`). The model knows the workloads of its inventory
(`netpol.stack.inventory_for`): one pod per app namespace, and the pods each platform namespace
declares. A flow endpoint maps to:

* a pod of the inventory: in a platform namespace, the declared pod whose labels the flow's pod
  carries (the most specific one: kube-dns, prometheus, the internal/external gateway, ...); in an
  app namespace, the pod whose labels match, else the namespace's workload pod;
* an entity, from its `reserved:` labels or its reserved identity number (world=2, host=1,
  health=4, remote-node=6, kube-apiserver=7, ...); CIDR/FQDN identities (no namespace, a `cidr:` or
  `fqdn:` label or a local identity >= 2^24) are world;
* nothing known (a namespace the stack does not declare): the peer keeps its namespace and has no
  spec, so the engine cannot evaluate it.

`Peer.label` is what reports show and what findings are grouped by: the namespace for app
namespaces (the namespace is what a fix changes), `namespace/pod` for platform workloads (which
workload it is decides the cause: the internal vs the external gateway), the entity name otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from netpol import catalogue
from netpol import labels as L
from netpol import wellknown as W
from netpol.apis import LOCAL_IDENTITY_MIN
from netpol.catalogue import KUBE_DNS, PROMETHEUS, WORKLOAD
from netpol.model import StackConfig
from netpol.triage.flows import RESERVED_IDENTITIES

# Entities in the order a multi-label reserved identity is named by (host before remote-node: identity 1
# carries both on some clusters, real-flows.jsonl line 4; kube-apiserver on a control-plane
# node carries reserved:kube-apiserver and reserved:host).
ENTITY_PRIORITY = ("kube-apiserver", "health", "ingress", "host", "remote-node", "world", "init", "unmanaged")


@dataclass(frozen=True)
class Peer:
    kind: str  # "pod" | "entity" | "unknown"
    label: str
    namespace: str | None = None
    pod: str | None = None  # the inventory pod standing for the flow's pod
    entity: str | None = None
    spec: str | None = None  # for netpol.reach.resolve_endpoint
    app: bool = False  # in an app namespace of the stack
    platform: bool = False  # in a platform namespace of the stack
    declared: bool = False  # the namespace is declared in the stack
    # labels of the inventory pod the flow's pod matched (empty when it fell back to the workload)
    selector: tuple[tuple[str, str], ...] = ()
    pod_labels: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_world(self) -> bool:
        return self.entity == "world"

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(self.pod_labels.get(k) == v for k, v in labels.items())


def parse_labels(raw: list | tuple | None) -> tuple[dict[str, str], set[str], bool]:
    """(k8s labels, reserved names, has cidr/fqdn labels) from Hubble's `source:key=value` strings."""
    k8s: dict[str, str] = {}
    reserved: set[str] = set()
    cidr = False
    for item in raw or ():
        s = str(item)
        src, sep, rest = s.partition(":")
        if not sep:
            src, rest = "k8s", s
        key, _, value = rest.partition("=")
        if src == "reserved":
            reserved.add(key)
        elif src in ("cidr", "fqdn"):
            cidr = True
        elif src in ("k8s", "any", "container"):
            k8s[key] = value
    return k8s, reserved, cidr


def well_known_role(ns: str, k8s: Mapping[str, str]) -> tuple[str, dict[str, str]] | None:
    """(name, labels) of a well-known platform workload (`netpol.catalogue.WELL_KNOWN`: kube-dns,
    prometheus, ztunnel, a gateway), named as the inventory names it, when the pod carries its labels."""
    w = catalogue.well_known_role(ns, k8s)
    return (w.name, w.labels) if w is not None else None


class PeerResolver:
    """Resolve Hubble endpoints against one stack's model and inventory (cached per endpoint key)."""

    def __init__(self, cfg: StackConfig, inventory):
        self.cfg = cfg
        self.inventory = inventory
        self._cache: dict = {}
        self._pods: dict[str, list] = {}
        for p in inventory.pods:
            self._pods.setdefault(p.namespace, []).append(p)

    def resolve(self, ep: Mapping) -> Peer:
        ns = ep.get("namespace") or ""
        ident = ep.get("identity") or 0
        labels = ep.get("labels") or ()
        key = (ns, ident, tuple(labels))
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._resolve(ns, ident, labels)
        return hit

    def pod_peer(self, ns: str, pod_labels: Mapping[str, str] | None = None) -> Peer:
        return self._pod(ns, dict(pod_labels or {}))

    def entity_peer(self, name: str) -> Peer:
        name = "world" if name.startswith("world") else name
        return Peer("entity", name, entity=name, spec=f"entity:{name}")

    def _resolve(self, ns: str, ident: int, labels) -> Peer:
        k8s, reserved, cidr = parse_labels(labels)
        if not ns:
            ns = k8s.get(L.POD_NAMESPACE_LABEL, "")
        if ns:
            return self._pod(ns, k8s)
        reserved = {"world" if r.startswith("world") else r for r in reserved}  # world-ipv4/-ipv6
        for e in ENTITY_PRIORITY:
            if e in reserved:
                return self.entity_peer(e)
        if ident in RESERVED_IDENTITIES:
            return self.entity_peer(RESERVED_IDENTITIES[ident])
        if cidr or ident >= LOCAL_IDENTITY_MIN:
            return self.entity_peer("world")
        return Peer("unknown", "unknown")

    def _pod(self, ns: str, k8s: dict[str, str]) -> Peer:
        app = ns in self.cfg.namespaces
        platform = ns in self.cfg.platformNamespaces
        pods = self._pods.get(ns, [])
        if not pods:
            role = well_known_role(ns, k8s)
            return Peer("pod", f"{ns}/{role[0]}" if role else ns, namespace=ns, app=app, platform=platform,
                        declared=app or platform, selector=tuple(sorted(role[1].items())) if role else (),
                        pod_labels=k8s)
        best = None
        for p in pods:
            if p.labels and all(k8s.get(k) == v for k, v in p.labels.items()):
                if best is None or len(p.labels) > len(best.labels):
                    best = p
        matched = best is not None
        if best is None:
            best = next((p for p in pods if p.name == WORKLOAD), None) or next(
                (p for p in pods if not p.labels), None) or pods[0]
        if app:
            label = ns if (not matched or best.name == WORKLOAD) else f"{ns}/{best.name}"
        else:
            label = f"{ns}/{best.name}" if matched else ns
        selector = tuple(sorted(best.labels.items())) if matched and best.name != WORKLOAD else ()
        return Peer("pod", label, namespace=ns, pod=best.name, spec=f"{ns}/{best.name}", app=app,
                    platform=platform, declared=app or platform, selector=selector,
                    pod_labels={**best.labels, **k8s})

    # --- roles of well-known peers -----------------------------------------------------------
    def is_kube_dns(self, p: Peer) -> bool:
        return KUBE_DNS.matches(p.namespace, p.pod_labels)

    def gateway_of(self, p: Peer) -> str | None:
        return catalogue.gateway_of(p.namespace, p.pod_labels)

    def is_prometheus(self, p: Peer) -> bool:
        return PROMETHEUS.matches(p.namespace, p.pod_labels)

    def shared_resource(self, p: Peer, port: int, proto: str) -> str | None:
        """The shared resource this destination and port are, if any."""
        for name, res in self.cfg.sharedResources.items():
            if res.namespace is not None:
                if p.namespace != res.namespace or (res.pods and not p.matches(res.pods)):
                    continue
            elif p.entity != res.entity:
                continue
            if any(s.port == port and s.protocol == proto for s in res.ports):
                return name
            if res.entity == "kube-apiserver" and proto == "TCP" and port in W.KUBE_API_PORTS:
                return name  # baseline-kube-api opens 443 beside the configured 6443
        return None
