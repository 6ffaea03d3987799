"""One CiliumNetworkPolicy `<ns>-default` per platform namespace.

`specs[0]` holds the rules every platform namespace must have (DNS egress, Prometheus scrape
ingress, health-probe ingress, HBONE with ztunnel in the mesh). Then come the serving sides that
follow from other facts of the model (kube-dns answers every pod, Prometheus scrapes every metrics
port, each gateway reaches the namespaces whose profile admits it, ztunnel speaks HBONE with the
mesh, each served shared resource admits its access label), then the namespace's own typed rules
and the ingress side of other namespaces' `talksTo`.
"""

from __future__ import annotations

from netpol import labels as L
from netpol.builders.common import (
    Manifest, all_pods, cilium, dns_ports, kube_dns, local, ns_label_in, ns_labelled, prometheus,
    tcp, to_ports, ztunnel,
)
from netpol.builders.rules import fmt_ports, inbound_index, inbound_specs, own_specs
from netpol.model import PlatformNamespace, StackConfig
from netpol.profiles import PROFILES

COMPONENT = "platform"


def required_spec(cfg: StackConfig, ns: str, p: PlatformNamespace) -> dict:
    metrics = cfg.metrics_ports_for(ns)
    ingress = [
        {"fromEntities": ["health"]},
        {"fromCIDR": [L.HEALTH_CIDR]},
        {"fromEndpoints": [prometheus()], "toPorts": to_ports(tcp(*metrics))},
    ]
    egress = [{"toEndpoints": [kube_dns()], "toPorts": to_ports(dns_ports())}]
    if p.mesh:
        ingress.append({"fromEndpoints": [ztunnel()], "toPorts": to_ports(tcp(L.HBONE_PORT))})
        egress.append({"toEndpoints": [ztunnel()], "toPorts": to_ports(tcp(L.HBONE_PORT))})
    return {
        "description": f"{p.description}: required rules (DNS egress, Prometheus scrape, health probes"
        + (", HBONE" if p.mesh else "") + ")",
        "endpointSelector": {},
        "ingress": ingress,
        "egress": egress,
    }


def all_metrics_ports(cfg: StackConfig) -> list[int]:
    ports = set(cfg.metricsPorts)
    for rules in cfg.all_namespaces().values():
        ports.update(rules.metricsPorts)
    return sorted(ports)


def role_specs(cfg: StackConfig, ns: str) -> list[dict]:
    """Serving sides derived from the rest of the model, for the well-known platform namespaces."""
    specs = []
    if ns == L.KUBE_DNS_NAMESPACE:
        specs.append({
            "description": f"kube-dns answers every pod on 53/UDP, 53/TCP (the serving side of {L.BASELINE_DNS})",
            "endpointSelector": local(L.KUBE_DNS_LABELS),
            "ingress": [{"fromEndpoints": [all_pods()], "toPorts": to_ports(dns_ports())}],
        })
    if ns == L.PROMETHEUS_NAMESPACE:
        ports = all_metrics_ports(cfg)
        specs.append({
            "description": f"Prometheus scrapes every pod on the stack's metrics ports {', '.join(map(str, ports))} "
            f"(the client side of {L.BASELINE_PROMETHEUS} and of each namespace's metricsPorts)",
            "endpointSelector": local(L.PROMETHEUS_LABELS),
            "egress": [{"toEndpoints": [all_pods()], "toPorts": to_ports(tcp(*ports))}],
        })
    if ns == L.GATEWAY_NAMESPACE:
        for g in L.GATEWAYS:
            admitting = [p.name for p in PROFILES.values() if g in p.gateways]
            specs.append({
                "description": f"the {g} gateway reaches namespaces whose profile admits it "
                f"({', '.join(admitting)}) on the backend ports {', '.join(map(str, cfg.gatewayPorts))}",
                "endpointSelector": local({L.GATEWAY_NAME_LABEL: g}),
                "egress": [{"toEndpoints": [ns_label_in(L.PROFILE_LABEL, admitting)],
                            "toPorts": to_ports(tcp(*cfg.gatewayPorts))}],
            })
    if ns == L.ZTUNNEL_NAMESPACE:
        mesh = ns_labelled(L.MESH_LABEL, L.MESH_VALUE)
        hbone = to_ports(tcp(L.HBONE_PORT))
        specs.append({
            "description": f"ztunnel exchanges HBONE ({L.HBONE_PORT}/TCP) with mesh namespaces "
            f"(the other side of {L.BASELINE_HBONE})",
            "endpointSelector": local(L.ZTUNNEL_LABELS),
            "ingress": [{"fromEndpoints": [mesh], "toPorts": hbone}],
            "egress": [{"toEndpoints": [mesh], "toPorts": hbone}],
        })
    return specs


def served_specs(cfg: StackConfig, ns: str) -> list[dict]:
    specs = []
    for name, res in cfg.sharedResources.items():
        if res.namespace != ns:
            continue
        label = L.access_label(name)
        specs.append({
            "description": f"serves {name} ({fmt_ports(res.ports)}) to namespaces labelled {label}=\"true\" "
            f"(the other side of {L.access_policy_name(name)})",
            "endpointSelector": local(res.pods),
            "ingress": [{"fromEndpoints": [ns_labelled(label, L.ACCESS_LABEL_VALUE)], "toPorts": to_ports(res.ports)}],
        })
    return specs


def platform_policy(cfg: StackConfig, ns: str, p: PlatformNamespace, inbound) -> dict:
    specs = [
        required_spec(cfg, ns, p),
        *role_specs(cfg, ns),
        *served_specs(cfg, ns),
        *own_specs(cfg, ns, p, metrics=False),
        *inbound_specs(cfg, inbound),
    ]
    return cilium(
        L.CNP, L.platform_policy_name(ns), namespace=ns,
        annotations={L.MESH_ANNOTATION: "true" if p.mesh else "false"},
        specs=specs,
    )


def build(cfg: StackConfig) -> list[Manifest]:
    index = inbound_index(cfg)
    return [
        Manifest(COMPONENT, platform_policy(cfg, ns, p, index.get(ns, [])))
        for ns, p in cfg.platformNamespaces.items()
    ]
