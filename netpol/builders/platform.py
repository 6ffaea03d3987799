"""One CiliumNetworkPolicy `<ns>-default` per platform namespace.

`specs[0]` holds the rules every platform namespace must have (DNS egress, Prometheus scrape
ingress, health-probe ingress, HBONE with ztunnel in the mesh). Then come the serving sides that
follow from other facts of the model (kube-dns answers every pod, Prometheus scrapes every metrics
port, each gateway reaches the namespaces whose profile admits it, ztunnel speaks HBONE with the
mesh, each served shared resource admits its access label), then the namespace's own typed rules
and the ingress side of other namespaces' `talksTo`.
"""

from __future__ import annotations

from netpol import apis
from netpol import labels as L
from netpol import names as N
from netpol import wellknown as W
from netpol.builders.common import (
    Manifest, all_pods_selector, cilium, dns_egress_rule, dns_ports, health_probe_ingress_rules, labelled_ns_selector,
    local_selector, ns_label_in_selector, prometheus_selector, tcp, to_ports, ztunnel_selector,
)
from netpol.builders.rules import fmt_ports, inbound_index, inbound_specs, own_specs
from netpol.model import PlatformNamespace, StackConfig
from netpol.profiles import PROFILES

COMPONENT = "platform"


def required_spec(cfg: StackConfig, ns: str, p: PlatformNamespace) -> dict:
    metrics = cfg.metrics_ports_for(ns)
    ingress = [
        *health_probe_ingress_rules(),
        {"fromEndpoints": [prometheus_selector()], "toPorts": to_ports(tcp(*metrics))},
    ]
    # The same DNS rule as the DNS baseline, without its L7 DNS rule: the baseline selects every
    # endpoint, these included, and Cilium merges the two (the port stays redirected to the DNS proxy,
    # so DNS stays visible and toFQDNs keep learning), so an L7 rule here would change the published
    # policy without changing what Cilium allows or sees. The rule is the guide's template.
    egress = [dns_egress_rule(inspect=False)]
    if p.mesh:
        ingress.append({"fromEndpoints": [ztunnel_selector()], "toPorts": to_ports(tcp(W.HBONE_PORT))})
        egress.append({"toEndpoints": [ztunnel_selector()], "toPorts": to_ports(tcp(W.HBONE_PORT))})
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
    if ns == W.KUBE_DNS_NAMESPACE:
        specs.append({
            "description": f"kube-dns answers every pod on 53/UDP, 53/TCP (the serving side of {N.BASELINE_DNS})",
            "endpointSelector": local_selector(W.KUBE_DNS_LABELS),
            "ingress": [{"fromEndpoints": [all_pods_selector()], "toPorts": to_ports(dns_ports())}],
        })
    if ns == W.PROMETHEUS_NAMESPACE:
        ports = all_metrics_ports(cfg)
        specs.append({
            "description": f"Prometheus scrapes every pod on the stack's metrics ports {', '.join(map(str, ports))} "
            f"(the client side of {N.BASELINE_PROMETHEUS} and of each namespace's metricsPorts)",
            "endpointSelector": local_selector(W.PROMETHEUS_LABELS),
            "egress": [{"toEndpoints": [all_pods_selector()], "toPorts": to_ports(tcp(*ports))}],
        })
    if ns == W.GATEWAY_NAMESPACE:
        for g in W.GATEWAYS:
            admitting = [p.name for p in PROFILES.values() if g in p.gateways]
            specs.append({
                "description": f"the {g} gateway reaches namespaces whose profile admits it "
                f"({', '.join(admitting)}) on the backend ports {', '.join(map(str, cfg.gatewayPorts))}",
                "endpointSelector": local_selector(W.gateway_labels(g)),
                "egress": [{"toEndpoints": [ns_label_in_selector(L.PROFILE_LABEL, admitting)],
                            "toPorts": to_ports(tcp(*cfg.gatewayPorts))}],
            })
    if ns == W.ZTUNNEL_NAMESPACE:
        mesh = labelled_ns_selector(L.MESH_LABEL, L.MESH_VALUE)
        hbone = to_ports(tcp(W.HBONE_PORT))
        specs.append({
            "description": f"ztunnel exchanges HBONE ({W.HBONE_PORT}/TCP) with mesh namespaces "
            f"(the other side of {N.BASELINE_HBONE})",
            "endpointSelector": local_selector(W.ZTUNNEL_LABELS),
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
            f"(the other side of {N.access_policy_name(name)})",
            "endpointSelector": local_selector(res.pods),
            "ingress": [{"fromEndpoints": [labelled_ns_selector(label, L.ACCESS_LABEL_VALUE)], "toPorts": to_ports(res.ports)}],
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
        apis.CNP, N.platform_policy_name(ns), namespace=ns,
        annotations={L.MESH_ANNOTATION: "true" if p.mesh else "false"},
        specs=specs,
    )


def build(cfg: StackConfig) -> list[Manifest]:
    index = inbound_index(cfg)
    return [
        Manifest(COMPONENT, platform_policy(cfg, ns, p, index.get(ns, [])))
        for ns, p in cfg.platformNamespaces.items()
    ]
