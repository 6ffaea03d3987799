"""The homelab's well-known peers and ports, defined once: kube-dns, Prometheus, ztunnel, the
gateways, the Kubernetes API as a shared resource, the node-local health-probe range.

Builders, the policy pack, reachability, triage and the invariants import these names; no other
module spells one of these namespaces, pod labels or ports as a literal.
"""

from __future__ import annotations

from netpol.labels import GATEWAY_NAME_LABEL

DNS_PORT = 53
KUBE_DNS_NAMESPACE = "kube-system"
KUBE_DNS_LABELS = {"k8s-app": "kube-dns"}

PROMETHEUS_NAMESPACE = "monitoring"
PROMETHEUS_LABELS = {"app.kubernetes.io/name": "prometheus"}

HBONE_PORT = 15008
ZTUNNEL_NAMESPACE = "istio-system"
ZTUNNEL_LABELS = {"app": "ztunnel"}

GATEWAY_NAMESPACE = "istio-gateway"
GATEWAYS = ("internal", "external")


def gateway_labels(name: str) -> dict[str, str]:
    """The pod labels of gateway `name` (Gateway API's gateway-name label)."""
    return {GATEWAY_NAME_LABEL: name}


# Kubelet probes and Cilium health checks arrive from the node-local link-local range.
HEALTH_CIDR = "169.254.0.0/16"
HTTPS_PORT = 443

# The Kubernetes API: the shared resource `kube-api` (entity kube-apiserver), its default port, and
# the ports its baseline (`names.BASELINE_KUBE_API`) always opens beside the configured ones.
KUBE_API = "kube-api"
KUBE_API_ENTITY = "kube-apiserver"
KUBE_API_PORT = 6443
KUBE_API_PORTS = (KUBE_API_PORT, HTTPS_PORT)
