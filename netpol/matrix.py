"""The standard flows of every app namespace, evaluated with the reachability engine.

One definition of "the standard flows" serves `netpol matrix`, `netpol diff`, the reachability
invariants and triage: DNS, world 443 and 80, each shared resource on its port, kube-apiserver,
each gateway → the namespace, Prometheus → the namespace, and a neighbouring app namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netpol import labels as L
from netpol.model import StackConfig
from netpol.reach import Endpoint, Inventory, PolicySet, Verdict
from netpol.reach.endpoints import entity_endpoint, pod_endpoint
from netpol.stack import WORKLOAD


@dataclass(frozen=True)
class Flow:
    check: str  # column name, e.g. "dns", "world-443", "postgres", "internal-gateway"
    src: Endpoint
    dst: Endpoint
    port: int
    protocol: str


@dataclass
class Row:
    namespace: str
    profile: str
    access: list[str]
    checks: dict[str, str] = field(default_factory=dict)  # check -> ALLOWED | DENIED
    verdicts: dict[str, list[Verdict]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"namespace": self.namespace, "profile": self.profile, "access": self.access, "checks": self.checks}


class Endpoints:
    """Resolves the stack's well-known endpoints once."""

    def __init__(self, cfg: StackConfig, inventory: Inventory):
        self.cfg, self.inventory = cfg, inventory
        self._cache: dict[tuple, Endpoint | None] = {}

    def pod(self, namespace: str, selector: dict[str, str] | None = None, prefer: str | None = None) -> Endpoint | None:
        key = (namespace, tuple(sorted((selector or {}).items())), prefer)
        if key not in self._cache:
            pods = [p for p in self.inventory.pods_in(namespace)
                    if all(p.labels.get(k) == v for k, v in (selector or {}).items())]
            chosen = next((p for p in pods if p.name == prefer), pods[0] if pods else None)
            self._cache[key] = pod_endpoint(chosen, self.inventory) if chosen else None
        return self._cache[key]

    def workload(self, ns: str) -> Endpoint | None:
        return self.pod(ns, prefer=WORKLOAD)


def standard_flows(cfg: StackConfig, eps: Endpoints, ns: str, neighbour: str | None) -> list[Flow]:
    me = eps.workload(ns)
    if me is None:
        return []
    flows: list[Flow] = []
    dns = eps.pod(L.KUBE_DNS_NAMESPACE, L.KUBE_DNS_LABELS)
    if dns is not None:
        flows += [Flow("dns", me, dns, L.DNS_PORT, "UDP"), Flow("dns", me, dns, L.DNS_PORT, "TCP")]
    world = entity_endpoint("world")
    flows += [Flow("world-443", me, world, 443, "TCP"), Flow("world-80", me, world, 80, "TCP")]
    for name, res in cfg.sharedResources.items():
        dst = eps.pod(res.namespace, res.pods) if res.namespace else entity_endpoint(res.entity)
        if dst is not None:
            p = res.ports[0]
            flows.append(Flow(name, me, dst, p.port, p.protocol))
    if "kube-api" not in cfg.sharedResources:
        flows.append(Flow("kube-api", me, entity_endpoint("kube-apiserver"), 6443, "TCP"))
    for g in L.GATEWAYS:
        gw = eps.pod(L.GATEWAY_NAMESPACE, {L.GATEWAY_NAME_LABEL: g})
        if gw is not None:
            flows.append(Flow(f"{g}-gateway", gw, me, cfg.gatewayPorts[0], "TCP"))
    prom = eps.pod(L.PROMETHEUS_NAMESPACE, L.PROMETHEUS_LABELS)
    if prom is not None:
        flows.append(Flow("prometheus", prom, me, cfg.metricsPorts[0], "TCP"))
    if neighbour is not None:
        other = eps.workload(neighbour)
        if other is not None:
            flows.append(Flow("other-app", me, other, 8080, "TCP"))
    return flows


CHECK_ORDER = ("dns", "world-443", "world-80")


def columns(cfg: StackConfig) -> list[str]:
    cols = list(CHECK_ORDER) + list(cfg.sharedResources)
    if "kube-api" not in cols:
        cols.append("kube-api")
    return cols + [f"{g}-gateway" for g in L.GATEWAYS] + ["prometheus", "other-app"]


def compute_matrix(cfg: StackConfig, policies: PolicySet, inventory: Inventory) -> list[Row]:
    eps = Endpoints(cfg, inventory)
    names = sorted(cfg.namespaces)
    rows = []
    for i, ns in enumerate(names):
        app = cfg.namespaces[ns]
        row = Row(ns, app.profile, list(app.access))
        neighbour = names[(i + 1) % len(names)] if len(names) > 1 else None
        for f in standard_flows(cfg, eps, ns, neighbour):
            v = policies.evaluate(f.src, f.dst, f.port, f.protocol)
            row.verdicts.setdefault(f.check, []).append(v)
            prev = row.checks.get(f.check, "ALLOWED")
            row.checks[f.check] = "ALLOWED" if prev == "ALLOWED" and v.verdict == "ALLOWED" else "DENIED"
        rows.append(row)
    return rows


def markdown(cfg: StackConfig, rows: list[Row]) -> str:
    cols = columns(cfg)
    head = "| namespace | profile | " + " | ".join(cols) + " |"
    sep = "|---|---|" + "---|" * len(cols)
    lines = [head, sep]
    for r in rows:
        cells = ["✅" if r.checks.get(c) == "ALLOWED" else ("—" if c not in r.checks else "❌") for c in cols]
        lines.append(f"| {r.namespace} | {r.profile} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
