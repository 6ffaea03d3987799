"""Baseline CiliumClusterwideNetworkPolicies: what every endpoint (or every opted-in one) gets."""

from __future__ import annotations

from netpol import labels as L
from netpol.builders.common import Manifest, ccnp, cilium, dns_ports, kube_dns, ns_subject, prometheus, tcp, to_ports, ztunnel
from netpol.model import PortSpec, StackConfig

COMPONENT = "baselines"


def dns_egress() -> dict:
    return ccnp(
        L.BASELINE_DNS,
        description="Every endpoint may resolve names through kube-dns (53/UDP, 53/TCP). The DNS L7 rule "
        "keeps DNS visible to Hubble and lets toFQDNs policies learn addresses.",
        endpointSelector={},
        egress=[{"toEndpoints": [kube_dns()], "toPorts": to_ports(dns_ports(), dns=True)}],
    )


HEALTH_PORT = 4240  # cilium-health's HTTP responder (cluster-health-port)


def health_probes() -> dict:
    """Probes into every endpoint, and the health endpoint's own traffic.

    The baselines' `endpointSelector: {}` selects every endpoint Cilium manages, Cilium's own health
    endpoint (`reserved:health`) included, so their rule sections put it into default deny too. The
    second entry gives it back what cilium-health needs: its HTTP probes (4240/TCP) to and from the
    other nodes (the pattern of Cilium's "Example: Add health endpoint"). ICMP probes are not
    policy-managed here."""
    return cilium(
        L.CCNP, L.BASELINE_HEALTH,
        specs=[
            {
                "description": "Every endpoint accepts Cilium health checks (entity health) and kubelet probes "
                f"from the node-local range {L.HEALTH_CIDR}.",
                "endpointSelector": {},
                "ingress": [{"fromEntities": ["health"]}, {"fromCIDR": [L.HEALTH_CIDR]}],
            },
            {
                "description": f"Cilium's health endpoint exchanges cilium-health probes ({HEALTH_PORT}/TCP) with the "
                "other nodes and their health endpoints.",
                "endpointSelector": {"matchLabels": {"reserved:health": ""}},
                "ingress": [{"fromEntities": ["remote-node", "host", "health"], "toPorts": to_ports(tcp(HEALTH_PORT))}],
                "egress": [{"toEntities": ["remote-node", "host", "health"], "toPorts": to_ports(tcp(HEALTH_PORT))}],
            },
        ],
    )


def prometheus_scrape(metrics_ports: list[int]) -> dict:
    return ccnp(
        L.BASELINE_PROMETHEUS,
        description="Every endpoint may be scraped by Prometheus on the stack's metrics ports.",
        endpointSelector={},
        ingress=[{"fromEndpoints": [prometheus()], "toPorts": to_ports(tcp(*metrics_ports))}],
    )


def kube_api(ports: list[PortSpec]) -> dict:
    return ccnp(
        L.BASELINE_KUBE_API,
        description=f"Namespaces labelled {L.access_label('kube-api')}=\"true\" may call the Kubernetes API.",
        endpointSelector=ns_subject(L.access_label("kube-api"), L.ACCESS_LABEL_VALUE),
        egress=[{"toEntities": ["kube-apiserver"], "toPorts": to_ports(ports)}],
    )


def hbone_mesh() -> dict:
    return ccnp(
        L.BASELINE_HBONE,
        description=f"Namespaces in the Istio ambient mesh ({L.MESH_LABEL}={L.MESH_VALUE}) exchange HBONE "
        f"({L.HBONE_PORT}/TCP) with ztunnel.",
        endpointSelector=ns_subject(L.MESH_LABEL, L.MESH_VALUE),
        ingress=[{"fromEndpoints": [ztunnel()], "toPorts": to_ports(tcp(L.HBONE_PORT))}],
        egress=[{"toEndpoints": [ztunnel()], "toPorts": to_ports(tcp(L.HBONE_PORT))}],
    )


def build(cfg: StackConfig) -> list[Manifest]:
    kube_api_ports = list(cfg.sharedResources["kube-api"].ports) if "kube-api" in cfg.sharedResources else tcp(6443)
    for extra in tcp(*L.KUBE_API_PORTS):
        if extra not in kube_api_ports:
            kube_api_ports.append(extra)
    return [
        Manifest(COMPONENT, b)
        for b in (
            dns_egress(),
            health_probes(),
            prometheus_scrape(cfg.metricsPorts),
            kube_api(kube_api_ports),
            hbone_mesh(),
        )
    ]
