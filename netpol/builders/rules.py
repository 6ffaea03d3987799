"""Typed namespace rules (talksTo, egress, ingress, intraNamespace, metricsPorts) as Cilium rules.

One rule type for platform and app namespaces. Each declaration becomes one entry of a policy's
`specs` list, with its own endpointSelector and a description saying where it was declared, so
`netpol explain` and `kubectl describe` lead straight back to the line of config.
"""

from __future__ import annotations

from collections import defaultdict

from netpol.builders.common import local_selector, pods_selector, prometheus_selector, tcp, to_ports
from netpol.model import NamespaceRules, PeerRule, StackConfig, TalksTo

FQDN_NOTE = "FQDN rules take effect through the DNS baseline's L7 DNS rule (DNS visibility)."


def fmt_ports(ports) -> str:
    return ", ".join(str(p) for p in ports)


def where(cfg: StackConfig, ns: str, path: str) -> str:
    section = "platformNamespaces" if ns in cfg.platformNamespaces else "namespaces"
    return f"declared in {cfg.source} netpol:{section}.{ns}.{path}"


def peer_rule(r: PeerRule, direction: str) -> dict:
    if r.entity is not None:
        return {("toEntities" if direction == "egress" else "fromEntities"): [r.entity]}
    if r.fqdn is not None:
        return {"toFQDNs": [{"matchName": r.fqdn}]}
    return {"toFQDNs": [{"matchPattern": r.fqdnPattern}]}


def own_specs(cfg: StackConfig, ns: str, rules: NamespaceRules, *, metrics: bool) -> list[dict]:
    """The namespace's own declarations, one `specs` entry each."""
    specs: list[dict] = []
    for i, t in enumerate(rules.talksTo):
        target = f"{t.namespace}" + (f" pods {t.pods}" if t.pods else "")
        specs.append({
            "description": f"talksTo {target} on {fmt_ports(t.ports)}: {where(cfg, ns, f'talksTo[{i}]')}",
            "endpointSelector": local_selector(t.endpointSelector),
            "egress": [{"toEndpoints": [pods_selector(t.namespace, t.pods)], "toPorts": to_ports(t.ports)}],
        })
    for direction in ("egress", "ingress"):
        for i, r in enumerate(getattr(rules, direction)):
            note = f" {FQDN_NOTE}" if r.peer_kind != "entity" else ""
            specs.append({
                "description": f"{direction} {r.peer_kind} {r.peer_value} on {fmt_ports(r.ports)}: "
                f"{where(cfg, ns, f'{direction}[{i}]')}.{note}",
                "endpointSelector": local_selector(r.endpointSelector),
                direction: [{**peer_rule(r, direction), "toPorts": to_ports(r.ports)}],
            })
    if rules.intraNamespace:
        ports = to_ports(rules.intraNamespace)
        specs.append({
            "description": f"pods of {ns} reach each other on {fmt_ports(rules.intraNamespace)}: "
            f"{where(cfg, ns, 'intraNamespace')}",
            "endpointSelector": {},
            "ingress": [{"fromEndpoints": [{}], "toPorts": ports}],
            "egress": [{"toEndpoints": [{}], "toPorts": ports}],
        })
    if metrics and rules.metricsPorts:
        specs.append({
            "description": f"Prometheus scrapes {ns} on {', '.join(map(str, rules.metricsPorts))}: "
            f"{where(cfg, ns, 'metricsPorts')}",
            "endpointSelector": {},
            "ingress": [{"fromEndpoints": [prometheus_selector()], "toPorts": to_ports(tcp(*rules.metricsPorts))}],
        })
    return specs


def inbound_index(cfg: StackConfig) -> dict[str, list[tuple[str, int, TalksTo]]]:
    """target namespace -> every (source namespace, index, talksTo) that points at it."""
    index: dict[str, list[tuple[str, int, TalksTo]]] = defaultdict(list)
    for src, rules in cfg.all_namespaces().items():
        for i, t in enumerate(rules.talksTo):
            index[t.namespace].append((src, i, t))
    return index


def inbound_specs(cfg: StackConfig, inbound: list[tuple[str, int, TalksTo]]) -> list[dict]:
    """The ingress side of other namespaces' talksTo entries."""
    return [
        {
            "description": f"ingress from {src} on {fmt_ports(t.ports)} (the other side of its talksTo): "
            f"{where(cfg, src, f'talksTo[{i}]')}",
            "endpointSelector": local_selector(t.pods),
            "ingress": [{"fromEndpoints": [pods_selector(src, t.endpointSelector)], "toPorts": to_ports(t.ports)}],
        }
        for src, i, t in inbound
    ]
