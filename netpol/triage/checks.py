"""The standard flows of an app namespace and the `hubble observe` command that shows each.

The flows are the catalogue's (`netpol.catalogue`, the same one `netpol matrix` checks): DNS (over
UDP and TCP), each port of each shared resource, world 443/TCP and 80/TCP, internal-gateway -> ns,
external-gateway -> ns, Prometheus -> ns on a metrics port, plus the namespace's own `talksTo`
entries. `netpol verify` prints them with the engine's verdict; triage re-evaluates them before and
after a fix to prove the fix takes nothing away.

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

from netpol.catalogue import Catalogue, ExpectedFlow, Ref, representative, workload_pod
from netpol.labels import GATEWAY_NAME_LABEL
from netpol.model import StackConfig

SINCE = "5m"
# The catalogue's kinds a namespace's checks show, in the order they are listed.
KINDS = ("dns", "shared", "world", "gateway", "prometheus", "talksTo")


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


def _spec(ref: Ref, inventory) -> str | None:
    """The engine spec of a catalogue endpoint: its representative pod (for pods by a selector no pod of
    the inventory carries: the namespace's workload; a missing well-known workload stays missing), or
    the entity."""
    if ref.kind == "entity":
        return f"entity:{ref.name}"
    if ref.kind != "pods":
        return None
    p = representative(ref, inventory)
    if p is None and ref.name is None:
        p = workload_pod(inventory, ref.namespace)
    return f"{ref.namespace}/{p.name}" if p is not None else None


def _hubble(f: ExpectedFlow, ns: str) -> str:
    p = f.port
    if f.kind == "dns":
        return hubble_cmd("--namespace", ns, "--protocol", p.protocol, "--port", str(p.port))
    if f.kind == "gateway":
        return hubble_cmd("--from-namespace", f.src.namespace, "--from-label",
                          f"{GATEWAY_NAME_LABEL}={f.src.labels[GATEWAY_NAME_LABEL]}", "--to-namespace", ns)
    if f.direction == "ingress":
        return hubble_cmd("--from-namespace", f.src.namespace, "--to-namespace", ns)
    to = ["--to-identity", f.dst.name] if f.dst.kind == "entity" else ["--to-namespace", f.dst.namespace]
    return hubble_cmd("--from-namespace", ns, *to, "--port", str(p.port))


def standard_checks(cfg: StackConfig, inventory, ns: str, catalogue: Catalogue | None = None) -> list[Check]:
    """Every standard flow and talksTo of app namespace `ns` that this stack's inventory can express
    (of a platform namespace: DNS, Prometheus and its talksTo), from its workload
    (`netpol.catalogue.workload_pod`)."""
    if workload_pod(inventory, ns) is None:
        return []
    cat = catalogue or Catalogue.for_stack(cfg)
    flows = [*cat.standard(ns), *cat.extras(ns)] if ns in cfg.namespaces else cat.platform(ns)
    out: list[Check] = []
    for kind in KINDS:
        for f in flows:
            if f.kind != kind or not (f.standard or kind == "talksTo"):
                continue
            src, dst = _spec(f.src, inventory), _spec(f.dst, inventory)
            if src is None or dst is None:
                continue
            several = kind in ("gateway", "prometheus")
            out.append(Check(f.check, f.title, src, dst, f.port.port, f.port.protocol, f.direction, _hubble(f, ns),
                             tuple(p.port for p in f.ports) if several else ()))
    return out
