"""Baseline CiliumClusterwideNetworkPolicies: what every endpoint (or every opted-in one) gets."""

from __future__ import annotations

from netpol import apis
from netpol import labels as L
from netpol import names as N
from netpol import wellknown as W
from netpol.builders.common import (
    Manifest, ccnp, cilium, dns_egress_rule, health_probe_ingress_rules, labelled_ns_subject_selector,
    prometheus_selector, tcp, to_ports, ztunnel_selector,
)
from netpol.model import PortProtocol, StackConfig

COMPONENT = "baselines"


def dns_egress() -> dict:
    return ccnp(
        N.BASELINE_DNS,
        description="Every endpoint may resolve names through kube-dns (53/UDP, 53/TCP). The DNS L7 rule "
        "keeps DNS visible to Hubble and lets toFQDNs policies learn addresses.",
        endpointSelector={},
        egress=[dns_egress_rule(inspect=True)],
    )


def health_probes() -> dict:
    """Probes into every endpoint, and the health endpoint's own traffic.

    The baselines' `endpointSelector: {}` selects every endpoint Cilium manages, Cilium's own health
    endpoint (`reserved:health`) included, so their rule sections put it into default deny too. The
    second entry gives it back what cilium-health needs: its HTTP probes (`apis.HEALTH_PORT`/TCP) to
    and from the other nodes (the pattern of Cilium's "Example: Add health endpoint"). ICMP probes
    are not policy-managed here."""
    return cilium(
        apis.CCNP, N.BASELINE_HEALTH,
        specs=[
            {
                "description": "Every endpoint accepts Cilium health checks (entity health) and kubelet probes "
                f"from the node-local range {W.HEALTH_CIDR}.",
                "endpointSelector": {},
                "ingress": health_probe_ingress_rules(),
            },
            {
                "description": f"Cilium's health endpoint exchanges cilium-health probes ({apis.HEALTH_PORT}/TCP) "
                "with the other nodes and their health endpoints.",
                "endpointSelector": {"matchLabels": {apis.HEALTH_ENDPOINT_LABEL: ""}},
                "ingress": [{"fromEntities": ["remote-node", "host", "health"], "toPorts": to_ports(tcp(apis.HEALTH_PORT))}],
                "egress": [{"toEntities": ["remote-node", "host", "health"], "toPorts": to_ports(tcp(apis.HEALTH_PORT))}],
            },
        ],
    )


def prometheus_scrape(metrics_ports: list[int]) -> dict:
    return ccnp(
        N.BASELINE_PROMETHEUS,
        description="Every endpoint may be scraped by Prometheus on the stack's metrics ports.",
        endpointSelector={},
        ingress=[{"fromEndpoints": [prometheus_selector()], "toPorts": to_ports(tcp(*metrics_ports))}],
    )


def kube_api(ports: list[PortProtocol]) -> dict:
    label = L.access_label(W.KUBE_API)
    return ccnp(
        N.BASELINE_KUBE_API,
        description=f"Namespaces labelled {label}=\"true\" may call the Kubernetes API.",
        endpointSelector=labelled_ns_subject_selector(label, L.ACCESS_LABEL_VALUE),
        egress=[{"toEntities": [W.KUBE_API_ENTITY], "toPorts": to_ports(ports)}],
    )


def hbone_mesh() -> dict:
    return ccnp(
        N.BASELINE_HBONE,
        description=f"Namespaces in the Istio ambient mesh ({L.MESH_LABEL}={L.MESH_VALUE}) exchange HBONE "
        f"({W.HBONE_PORT}/TCP) with ztunnel.",
        endpointSelector=labelled_ns_subject_selector(L.MESH_LABEL, L.MESH_VALUE),
        ingress=[{"fromEndpoints": [ztunnel_selector()], "toPorts": to_ports(tcp(W.HBONE_PORT))}],
        egress=[{"toEndpoints": [ztunnel_selector()], "toPorts": to_ports(tcp(W.HBONE_PORT))}],
    )


def kube_api_ports(cfg: StackConfig) -> list[PortProtocol]:
    """The configured ports of the `kube-api` shared resource, then the ports its baseline always opens."""
    res = cfg.sharedResources.get(W.KUBE_API)
    ports = list(res.ports) if res is not None else tcp(W.KUBE_API_PORT)
    for extra in tcp(*W.KUBE_API_PORTS):
        if extra not in ports:
            ports.append(extra)
    return ports


def build(cfg: StackConfig) -> list[Manifest]:
    return [
        Manifest(COMPONENT, b)
        for b in (
            dns_egress(),
            health_probes(),
            prometheus_scrape(cfg.metricsPorts),
            kube_api(kube_api_ports(cfg)),
            hbone_mesh(),
        )
    ]
