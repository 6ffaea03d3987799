"""The flow set `netpol diff` compares: concrete (source, destination, port, protocol) flows.

Endpoints are named by a *spec* that survives across revisions (an Endpoint object belongs to one
revision's inventory):

    ("pod", NS, POD)   ("entity", NAME)   ("fqdn", NAME)   ("ip", ADDR)

Stack mode (`stack_flows`): the flows of the catalogue of expected flows (`netpol.catalogue`, the
one definition of them), each on every port it stands for: for every app namespace its standard
flows from its workload (DNS over UDP and TCP, world 443 and 80, each port of each shared resource,
each gateway on each backend port, Prometheus on each metrics port of the namespace, the
neighbouring app namespace), HBONE to/from ztunnel when in the mesh, and every extra it declares
(`talksTo`, `egress`, `ingress`, `intraNamespace`: each declared peer on each declared port); for
every platform namespace, from each of its pods: DNS, Prometheus scrape on its metrics ports, HBONE
when in the mesh, and its own `talksTo`/`egress`/`ingress`/`intraNamespace`.

Directory mode (`dir_flows`): see its docstring.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

from netpol.apis import ENTITIES_WITH_WORLD
from netpol.catalogue import DNS, WORLD_SAMPLES, Catalogue, ExpectedFlow, Ref, pattern_example, pods_of, representative
from netpol.model import StackConfig
from netpol.reach import Endpoint, Inventory, PolicySet
from netpol.reach.compile import ANY_PROTOCOLS
from netpol.reach.endpoints import pod_endpoint
from netpol.reach.fqdn import match_pattern, normalize

Spec = tuple  # ("pod", ns, name) | ("entity", name) | ("fqdn", name) | ("ip", addr)

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
    return spec[0] in ("fqdn", "ip") or (spec[0] == "entity" and spec[1] in ENTITIES_WITH_WORLD)


# --- stack mode ------------------------------------------------------------------------------------

def _fqdn_names(inv: Inventory, fqdn: str | None, pattern: str | None) -> list[str]:
    if fqdn:
        return [normalize(fqdn)]
    hits = sorted(n for n in inv.fqdns if match_pattern(pattern, n))
    return hits or [normalize(pattern_example(pattern))]


def _specs(ref: Ref, inv: Inventory, every: bool) -> list[Spec]:
    """The specs a catalogue endpoint stands for: every matching pod (sorted by name), or with
    `every` false (and always for a well-known workload) the one pod that stands for them."""
    if ref.kind == "entity":
        return [("entity", ref.name)]
    if ref.kind in ("fqdn", "fqdn-pattern"):
        names = _fqdn_names(inv, ref.name, None) if ref.kind == "fqdn" else _fqdn_names(inv, None, ref.name)
        return [("fqdn", n) for n in names]
    if every and ref.name is None:
        return sorted(("pod", ref.namespace, p.name) for p in pods_of(ref, inv))
    p = representative(ref, inv)
    return [("pod", ref.namespace, p.name)] if p is not None else []


def stack_flows(cfg: StackConfig, inv: Inventory, catalogue: Catalogue | None = None) -> FlowSet:
    """The flow set of one revision of a stack (see the module docstring)."""
    fs = FlowSet()
    cat = catalogue or Catalogue.for_stack(cfg)
    specs: dict[tuple[Ref, bool], list[Spec]] = {}

    def add(ns: str, flows: list[ExpectedFlow], every: bool) -> None:
        for f in flows:
            ends = []
            for ref in (f.src, f.dst):
                hit = specs.get((ref, every))
                if hit is None:
                    hit = specs[(ref, every)] = _specs(ref, inv, every)
                ends.append(hit)
            for s in ends[0]:
                for d in ends[1]:
                    for p in f.ports:
                        fs.add(s, d, p.port, p.protocol, ns, f.column)

    for ns, neighbour in cat.neighbours().items():
        add(ns, cat.standard(ns, neighbour), every=False)  # from the workload, which every app pod is
        add(ns, [*cat.hbone(ns), *cat.extras(ns)], every=True)
    for ns in sorted(cfg.platformNamespaces):
        add(ns, cat.platform(ns), every=True)
    return fs


# --- directory mode --------------------------------------------------------------------------------

# The catalogue's DNS ports and world samples, probed whatever the trees name.
DIR_PROBE_PORTS = tuple((p.port, p.protocol) for p in (*DNS, *WORLD_SAMPLES))


def policy_ports(policy_sets: Iterable[PolicySet]) -> list[tuple[int, str]]:
    """Every port named in a `toPorts` of the policies (both ends of a range), with its protocols;
    ANY / omitted stands for TCP and UDP (SCTP only where a rule names it); port 0 (every port) adds
    nothing: any named port exercises it. Plus DNS (53 UDP/TCP), 80 and 443/TCP as probes."""
    out: set[tuple[int, str]] = set(DIR_PROBE_PORTS)
    for ps in policy_sets:
        for m in ps.port_matchers():
            protos = ("TCP", "UDP") if m.protocols == ANY_PROTOCOLS else sorted(m.protocols)
            for port in {m.lo, m.hi}:
                if 1 <= port <= 65535 and not (m.lo == 0 and m.hi == 65535):
                    out.update((port, pr_) for pr_ in protos)
    return sorted(out)


def policy_cidr_addresses(policy_sets: Iterable[PolicySet]) -> list[str]:
    """One address inside every CIDR a rule names (not 0.0.0.0/0 or ::/0: the `world` entity is that)."""
    out: set[str] = set()
    for ps in policy_sets:
        for c in ps.cidr_matchers():
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
