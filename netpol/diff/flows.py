"""The flow set `netpol diff` compares: concrete (source, destination, port, protocol) flows.

Endpoints are named by a *spec* that survives across revisions (an Endpoint object belongs to one
revision's inventory):

    ("pod", NS, POD)   ("entity", NAME)   ("fqdn", NAME)   ("ip", ADDR)

Stack mode (`stack_flows`): for every app namespace the standard flows of `netpol.matrix`
(`standard_flows`, the one definition of them), expanded to every concrete flow they stand for
(DNS over UDP and TCP, each gateway backend port, each metrics port of the namespace, each port of
each shared resource), HBONE to/from ztunnel for namespaces in the mesh, and every extra the
namespace declares (`talksTo`, `egress`, `ingress`, `intraNamespace`: each declared peer on each
declared port); for every platform namespace its declared peers (DNS, Prometheus scrape on its
metrics ports, HBONE when in the mesh, and its own `talksTo`/`egress`/`ingress`/`intraNamespace`).

Directory mode (`dir_flows`): see its docstring.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

from netpol import labels as L
from netpol.matrix import Endpoints, standard_flows
from netpol.model import NamespaceRules, StackConfig
from netpol.reach import Endpoint, Inventory, PolicySet
from netpol.reach.compile import ANY_PROTOCOLS
from netpol.reach.endpoints import pod_endpoint
from netpol.reach.fqdn import match_pattern, normalize

Spec = tuple  # ("pod", ns, name) | ("entity", name) | ("fqdn", name) | ("ip", addr)

# Endpoints outside the cluster: a flow opened towards (or from) one of these is internet traffic.
OUTSIDE_ENTITIES = frozenset({"world", "world-ipv4", "world-ipv6", "all"})

# Directory mode bounds: beyond these the flow set is refused (exit 2) rather than evaluated for minutes.
MAX_DIR_FLOWS = 250_000
MAX_DIR_CIDRS = 64


class FlowSetTooLarge(ValueError):
    pass


class FlowKey(NamedTuple):
    src: Spec
    dst: Spec
    port: int
    protocol: str


@dataclass
class FlowSet:
    """Flows with the namespace each is grouped under (the namespace whose declaration or standard
    flows produced it) and what it checks (`dns`, `world-443`, `talksTo`, ...)."""

    owners: dict[FlowKey, str] = field(default_factory=dict)
    checks: dict[FlowKey, str] = field(default_factory=dict)

    def add(self, src: Spec, dst: Spec, port: int, protocol: str, owner: str, check: str) -> None:
        key = FlowKey(src, dst, int(port), protocol)
        prev = self.owners.get(key)
        if prev is None or owner < prev:  # deterministic whatever the generation order
            self.owners[key] = owner
            self.checks[key] = check

    def union(self, other: "FlowSet") -> "FlowSet":
        out = FlowSet(dict(self.owners), dict(self.checks))
        for k, owner in other.owners.items():
            out.add(k.src, k.dst, k.port, k.protocol, owner, other.checks[k])
        return out

    def __len__(self) -> int:
        return len(self.owners)

    def __iter__(self):
        return iter(self.owners)


def spec_of(ep: Endpoint) -> Spec:
    if ep.kind == "pod":
        return ("pod", ep.namespace, ep.name)
    if ep.kind == "entity":
        return ("entity", ep.entity)
    if ep.kind == "fqdn":
        return ("fqdn", ep.fqdn)
    return ("ip", ep.ip)


def is_outside(spec: Spec) -> bool:
    """Outside the cluster: world (and `all`, which includes it), a DNS name, an outside address."""
    return spec[0] in ("fqdn", "ip") or (spec[0] == "entity" and spec[1] in OUTSIDE_ENTITIES)


def pattern_example(pattern: str) -> str:
    """A name an `fqdnPattern` matches (the same stand-in `netpol.stack.inventory_for` resolves)."""
    return pattern.replace("**.", "a.b.").replace("*", "x")


# --- stack mode ------------------------------------------------------------------------------------

def _pods(inv: Inventory, ns: str, selector: dict[str, str] | None) -> list[Spec]:
    return sorted(("pod", ns, p.name) for p in inv.pods_in(ns)
                  if all(p.labels.get(k) == v for k, v in (selector or {}).items()))


def _fqdn_names(inv: Inventory, fqdn: str | None, pattern: str | None) -> list[str]:
    if fqdn:
        return [normalize(fqdn)]
    hits = sorted(n for n in inv.fqdns if match_pattern(pattern, n))
    return hits or [normalize(pattern_example(pattern))]


GATEWAY_CHECKS = frozenset(f"{g}-gateway" for g in L.GATEWAYS)


def _metrics_ports(cfg: StackConfig, rules: NamespaceRules) -> list[int]:
    """`StackConfig.metrics_ports_for` without rebuilding the namespace map on every call."""
    return sorted(set(cfg.metricsPorts) | set(rules.metricsPorts))


def _expanded_ports(cfg: StackConfig, rules: NamespaceRules, check: str, port: int, proto: str
                    ) -> list[tuple[int, str]]:
    """The concrete ports a standard flow stands for (the matrix samples one port of each)."""
    if check in GATEWAY_CHECKS:
        return [(p, "TCP") for p in cfg.gatewayPorts]
    if check == "prometheus":
        return [(p, "TCP") for p in _metrics_ports(cfg, rules)]
    res = cfg.sharedResources.get(check)
    if res is not None:
        return [(p.port, p.protocol) for p in res.ports]
    return [(port, proto)]


def _declared(fs: FlowSet, cfg: StackConfig, inv: Inventory, ns: str, rules: NamespaceRules) -> None:
    """Each declared peer of `ns` on each declared port."""
    for t in rules.talksTo:
        for s in _pods(inv, ns, t.endpointSelector):
            for d in _pods(inv, t.namespace, t.pods):
                for p in t.ports:
                    fs.add(s, d, p.port, p.protocol, ns, "talksTo")
    for r in rules.egress:
        dsts = [("entity", r.entity)] if r.entity else [("fqdn", n) for n in _fqdn_names(inv, r.fqdn, r.fqdnPattern)]
        for s in _pods(inv, ns, r.endpointSelector):
            for d in dsts:
                for p in r.ports:
                    fs.add(s, d, p.port, p.protocol, ns, "egress")
    for r in rules.ingress:
        for d in _pods(inv, ns, r.endpointSelector):
            for p in r.ports:
                fs.add(("entity", r.entity), d, p.port, p.protocol, ns, "ingress")
    if rules.intraNamespace:
        pods = _pods(inv, ns, None)
        for s in pods:
            for d in pods:
                for p in rules.intraNamespace:
                    fs.add(s, d, p.port, p.protocol, ns, "intraNamespace")


def _hbone(fs: FlowSet, eps: Endpoints, inv: Inventory, ns: str) -> None:
    zt = eps.pod(L.ZTUNNEL_NAMESPACE, L.ZTUNNEL_LABELS)
    if zt is None:
        return
    for pod in _pods(inv, ns, None):
        fs.add(spec_of(zt), pod, L.HBONE_PORT, "TCP", ns, "hbone")
        fs.add(pod, spec_of(zt), L.HBONE_PORT, "TCP", ns, "hbone")


def stack_flows(cfg: StackConfig, inv: Inventory) -> FlowSet:
    """The flow set of one revision of a stack (see the module docstring)."""
    fs = FlowSet()
    eps = Endpoints(cfg, inv)
    names = sorted(cfg.namespaces)
    for i, ns in enumerate(names):
        neighbour = names[(i + 1) % len(names)] if len(names) > 1 else None
        app = cfg.namespaces[ns]
        for f in standard_flows(cfg, eps, ns, neighbour):
            src, dst = spec_of(f.src), spec_of(f.dst)
            for port, proto in _expanded_ports(cfg, app, f.check, f.port, f.protocol):
                fs.add(src, dst, port, proto, ns, f.check)
        if app.mesh:
            _hbone(fs, eps, inv, ns)
        _declared(fs, cfg, inv, ns, app)

    dns = eps.pod(L.KUBE_DNS_NAMESPACE, L.KUBE_DNS_LABELS)
    prom = eps.pod(L.PROMETHEUS_NAMESPACE, L.PROMETHEUS_LABELS)
    for ns in sorted(cfg.platformNamespaces):
        p = cfg.platformNamespaces[ns]
        for pod in _pods(inv, ns, None):
            if dns is not None:
                for proto in ("UDP", "TCP"):
                    fs.add(pod, spec_of(dns), L.DNS_PORT, proto, ns, "dns")
            if prom is not None:
                for port in _metrics_ports(cfg, p):
                    fs.add(spec_of(prom), pod, port, "TCP", ns, "prometheus")
        if p.mesh:
            _hbone(fs, eps, inv, ns)
        _declared(fs, cfg, inv, ns, p)
    return fs


# --- directory mode --------------------------------------------------------------------------------

DIR_PROBE_PORTS = ((53, "UDP"), (53, "TCP"), (80, "TCP"), (443, "TCP"))


def policy_ports(policy_sets: Iterable[PolicySet]) -> list[tuple[int, str]]:
    """Every port named in a `toPorts` of the policies (both ends of a range), with its protocols;
    ANY / omitted stands for TCP and UDP (SCTP only where a rule names it); port 0 (every port) adds
    nothing: any named port exercises it. Plus DNS (53 UDP/TCP), 80 and 443/TCP as probes."""
    out: set[tuple[int, str]] = set(DIR_PROBE_PORTS)
    for ps in policy_sets:
        for cp in ps.policies:
            for t in cp.targets:
                for r in (*t.allows, *t.denies):
                    for pr in r.port_rules or ():
                        for m in pr.matchers:
                            protos = ("TCP", "UDP") if m.protocols == ANY_PROTOCOLS else sorted(m.protocols)
                            for port in {m.lo, m.hi}:
                                if 1 <= port <= 65535 and not (m.lo == 0 and m.hi == 65535):
                                    out.update((port, pr_) for pr_ in protos)
    return sorted(out)


def policy_cidr_addresses(policy_sets: Iterable[PolicySet]) -> list[str]:
    """One address inside every CIDR a rule names (not 0.0.0.0/0 or ::/0: the `world` entity is that)."""
    out: set[str] = set()
    for ps in policy_sets:
        for cp in ps.policies:
            for t in cp.targets:
                for r in (*t.allows, *t.denies):
                    for c in r.cidrs:
                        net = c.network
                        if net.prefixlen == 0:
                            continue
                        addr = net.network_address + 1 if net.num_addresses > 2 else net.network_address
                        out.add(str(ipaddress.ip_address(addr)))
    return sorted(out, key=lambda a: (ipaddress.ip_address(a).version, ipaddress.ip_address(a)))[:MAX_DIR_CIDRS]


def dir_flows(policy_sets: list[PolicySet], inv: Inventory) -> FlowSet:
    """The flow set for two rendered trees and one inventory (bounded):

    * every ordered pair of distinct pod identities of the inventory (pods of one namespace with
      the same labels share a Cilium identity and so every verdict: the first by name stands for
      them), on every port of `policy_ports` (the ports either tree names, plus 53 UDP/TCP, 80, 443);
    * every pod to `world`, `entity:kube-apiserver`, each inventory `fqdn:NAME` and one `ip:` inside
      each CIDR either tree names, and from `world`, `entity:kube-apiserver` and those `ip:`s to
      every pod, on the same ports.

    More than MAX_DIR_FLOWS flows is refused (FlowSetTooLarge) rather than evaluated for minutes.
    A flow is grouped under the namespace of its source pod, else of its destination pod."""
    reps: dict = {}
    for p in sorted(inv.pods, key=lambda p: (p.namespace, p.name)):
        reps.setdefault(pod_endpoint(p, inv).key, ("pod", p.namespace, p.name))
    pods = sorted(reps.values())
    ports = policy_ports(policy_sets)
    ips = policy_cidr_addresses(policy_sets)
    outside_dst = [("entity", "world"), ("entity", "kube-apiserver"),
                   *[("fqdn", n) for n in sorted(inv.fqdns)], *[("ip", a) for a in ips]]
    outside_src = [("entity", "world"), ("entity", "kube-apiserver"), *[("ip", a) for a in ips]]
    total = len(ports) * (len(pods) * (len(pods) - 1) + len(pods) * (len(outside_dst) + len(outside_src)))
    if total > MAX_DIR_FLOWS:
        raise FlowSetTooLarge(
            f"the flow set would be {total} flows ({len(pods)} pod identities, {len(ports)} ports); the limit is "
            f"{MAX_DIR_FLOWS}: give an inventory with fewer pods (one per workload is enough)")
    fs = FlowSet()
    for s in pods:
        for d in pods:
            if s != d:
                for port, proto in ports:
                    fs.add(s, d, port, proto, s[1], "pod-pair")
        for d in outside_dst:
            for port, proto in ports:
                fs.add(s, d, port, proto, s[1], "egress")
        for o in outside_src:
            for port, proto in ports:
                fs.add(o, s, port, proto, s[1], "ingress")
    return fs
