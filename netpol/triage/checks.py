"""The standard flows of an app namespace and the `hubble observe` command that shows each.

The same list as `netpol matrix` checks (issue 4): DNS, each shared resource on its port, world
443/TCP and 80/TCP, internal-gateway -> ns, external-gateway -> ns, Prometheus -> ns on a metrics
port, plus the namespace's own `talksTo` entries. `netpol verify` prints them with the engine's
verdict; triage re-evaluates them before and after a fix to prove the fix takes nothing away.

Hubble commands follow the operators' guide:

    hubble observe --namespace my-app --protocol UDP --port 53 --since 5m
    hubble observe --from-namespace my-app --to-namespace database --port 5432 --since 5m
    hubble observe --from-namespace my-app --to-identity world --port 443 --since 5m
    hubble observe --from-namespace istio-gateway --to-namespace my-app --since 5m
    hubble observe --from-namespace monitoring --to-namespace my-app --since 5m
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from netpol import labels as L
from netpol.model import StackConfig
from netpol.stack import WORKLOAD

SINCE = "5m"


@dataclass(frozen=True)
class Check:
    name: str  # stable id: dns, postgres, kube-api, world-443, world-80, internal-gateway, ...
    title: str
    src: str  # endpoint spec (netpol.reach.resolve_endpoint)
    dst: str
    port: int
    protocol: str
    direction: str  # "egress" (from the namespace) | "ingress" (to it)
    hubble: str
    ports: tuple[int, ...] = ()  # every port the check stands for (observed flows on any of them match)

    def covers(self, port: int) -> bool:
        return port == self.port or port in self.ports

    @property
    def flow(self) -> str:
        return f"{self.src} -> {self.dst} {self.port}/{self.protocol}"


def hubble_cmd(*args: str, verdict: str | None = None) -> str:
    parts = ["hubble", "observe", *args]
    if verdict:
        parts += ["--verdict", verdict]
    parts += ["--since", SINCE]
    return " ".join(shlex.quote(p) for p in parts)


def _pod_with(inventory, ns: str, labels: dict[str, str]) -> str | None:
    for p in inventory.pods:
        if p.namespace == ns and all(p.labels.get(k) == v for k, v in labels.items()):
            return f"{ns}/{p.name}"
    return None


def _first_pod(inventory, ns: str) -> str | None:
    for p in inventory.pods:
        if p.namespace == ns:
            return f"{ns}/{p.name}"
    return None


def workload(inventory, ns: str) -> str | None:
    """The spec of an app namespace's workload pod (`ns/app`)."""
    if any(p.namespace == ns and p.name == WORKLOAD for p in inventory.pods):
        return f"{ns}/{WORKLOAD}"
    return _first_pod(inventory, ns)


def standard_checks(cfg: StackConfig, inventory, ns: str) -> list[Check]:
    """Every standard flow of app namespace `ns` that this stack's inventory can express."""
    me = workload(inventory, ns)
    if me is None:
        return []
    out: list[Check] = []
    dns = _pod_with(inventory, L.KUBE_DNS_NAMESPACE, L.KUBE_DNS_LABELS)
    if dns:
        for proto in ("UDP", "TCP"):
            out.append(Check(
                "dns" if proto == "UDP" else "dns-tcp", f"DNS to kube-dns ({L.DNS_PORT}/{proto})", me, dns,
                L.DNS_PORT, proto, "egress",
                hubble_cmd("--namespace", ns, "--protocol", proto, "--port", str(L.DNS_PORT))))
    for name, res in cfg.sharedResources.items():
        if res.namespace is not None:
            dst = _pod_with(inventory, res.namespace, res.pods or {}) or _first_pod(inventory, res.namespace)
            if dst is None:
                continue
            to = ["--to-namespace", res.namespace]
        else:
            dst, to = f"entity:{res.entity}", ["--to-identity", res.entity]
        for p in res.ports:
            out.append(Check(
                name if p == res.ports[0] else f"{name}-{p.port}", f"shared resource {name} ({p})", me, dst,
                p.port, p.protocol, "egress",
                hubble_cmd("--from-namespace", ns, *to, "--port", str(p.port))))
    for port in (L.HTTPS_PORT, 80):
        out.append(Check(
            f"world-{port}", f"internet egress (world {port}/TCP)", me, "entity:world", port, "TCP", "egress",
            hubble_cmd("--from-namespace", ns, "--to-identity", "world", "--port", str(port))))
    gw_port = cfg.gatewayPorts[0]
    for g in L.GATEWAYS:
        src = _pod_with(inventory, L.GATEWAY_NAMESPACE, {L.GATEWAY_NAME_LABEL: g})
        if src is None:
            continue
        out.append(Check(
            f"{g}-gateway", f"{g} gateway ingress ({gw_port}/TCP)", src, me, gw_port, "TCP", "ingress",
            hubble_cmd("--from-namespace", L.GATEWAY_NAMESPACE, "--from-label", f"{L.GATEWAY_NAME_LABEL}={g}",
                       "--to-namespace", ns), tuple(cfg.gatewayPorts)))
    prom = _pod_with(inventory, L.PROMETHEUS_NAMESPACE, L.PROMETHEUS_LABELS)
    if prom:
        mports = cfg.metrics_ports_for(ns) if ns in cfg.all_namespaces() else list(cfg.metricsPorts)
        mport = mports[0]
        out.append(Check(
            "prometheus", f"Prometheus scrape ({mport}/TCP)", prom, me, mport, "TCP", "ingress",
            hubble_cmd("--from-namespace", L.PROMETHEUS_NAMESPACE, "--to-namespace", ns), tuple(mports)))
    app = cfg.namespaces.get(ns)
    for i, t in enumerate(app.talksTo if app else ()):
        dst = _pod_with(inventory, t.namespace, t.pods or {}) or _first_pod(inventory, t.namespace)
        if dst is None:
            continue
        for p in t.ports:
            out.append(Check(
                f"talksTo[{i}]-{p.port}-{p.protocol}", f"talksTo {t.namespace} ({p})", me, dst, p.port, p.protocol,
                "egress", hubble_cmd("--from-namespace", ns, "--to-namespace", t.namespace, "--port", str(p.port))))
    return out
