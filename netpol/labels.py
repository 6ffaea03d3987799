"""Every label key, port and well-known peer of the architecture, defined once.

Everything else (builders, the policy pack, reachability, triage) imports these names;
no other module spells a label key or a well-known port as a literal.
"""

from __future__ import annotations

# --- namespace labels that drive policy -------------------------------------------------
PROFILE_LABEL = "network-policy.homelab/profile"
ENFORCEMENT_LABEL = "network-policy.homelab/enforcement"
ENFORCEMENT_DISABLED = "disabled"
ACCESS_LABEL_PREFIX = "access.network-policy.homelab/"
ACCESS_LABEL_VALUE = "true"
ESCAPE_HATCH_REASON_ANNOTATION = "network-policy.homelab/escape-hatch-reason"
ESCAPE_HATCH_EXPIRES_ANNOTATION = "network-policy.homelab/escape-hatch-expires"
ESCAPE_HATCH_MAX_DAYS = 7
MESH_LABEL = "istio.io/dataplane-mode"
MESH_VALUE = "ambient"
# On a platform namespace's `<ns>-default` policy: whether the namespace is in the Istio ambient
# mesh, so that checks of a rendered tree know when HBONE rules are required.
MESH_ANNOTATION = "network-policy.homelab/mesh"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "netpol"

# --- how Cilium exposes Kubernetes metadata as endpoint labels --------------------------
# https://docs.cilium.io/en/stable/security/policy/kubernetes/#namespaces
NS_LABEL_PREFIX = "io.cilium.k8s.namespace.labels."
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"


def access_label(name: str) -> str:
    """`access.network-policy.homelab/<name>`: the namespace label that opens a shared resource."""
    return ACCESS_LABEL_PREFIX + name


def ns_label(key: str) -> str:
    """The endpoint label under which Cilium exposes the namespace label `key`."""
    return NS_LABEL_PREFIX + key


# --- well-known peers ---------------------------------------------------------------------
DNS_PORT = 53
KUBE_DNS_NAMESPACE = "kube-system"
KUBE_DNS_LABELS = {"k8s-app": "kube-dns"}

PROMETHEUS_NAMESPACE = "monitoring"
PROMETHEUS_LABELS = {"app.kubernetes.io/name": "prometheus"}
DEFAULT_METRICS_PORTS = (8080, 9090, 9100)

HBONE_PORT = 15008
ZTUNNEL_NAMESPACE = "istio-system"
ZTUNNEL_LABELS = {"app": "ztunnel"}

GATEWAY_NAMESPACE = "istio-gateway"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
GATEWAYS = ("internal", "external")
DEFAULT_GATEWAY_PORTS = (80, 443, 8080, 8443)

HEALTH_CIDR = "169.254.0.0/16"
HTTPS_PORT = 443
KUBE_API_PORTS = (6443, 443)

# Entities (https://docs.cilium.io/en/stable/security/policy/language/#entities-based)
ENTITIES = (
    "world", "cluster", "host", "remote-node", "health", "kube-apiserver",
    "init", "unmanaged", "ingress", "all",
)
# Entities an app or platform rule may name as its peer (issue 7).
RULE_ENTITIES = ("world", "cluster", "kube-apiserver", "host", "remote-node")

PROTOCOLS = ("TCP", "UDP", "SCTP")

# --- policy object names ----------------------------------------------------------------
BASELINE_DNS = "baseline-dns-egress"
BASELINE_HEALTH = "baseline-health-probes"
BASELINE_PROMETHEUS = "baseline-prometheus-scrape"
BASELINE_KUBE_API = "baseline-kube-api"
BASELINE_HBONE = "baseline-hbone-mesh"
ESCAPE_HATCH = "escape-hatch-allow-all"
ESCAPE_HATCH_RULE = "network-policy-escape-hatch"
ALERT_DISABLED = "NetworkPolicyEnforcementDisabled"
ALERT_DISABLED_LONG = "NetworkPolicyEnforcementDisabledLong"
RUNBOOK_PATH = "docs/runbooks/network-policy-escape-hatch.md"
REQUIRED_BASELINES = (BASELINE_DNS, BASELINE_HEALTH, BASELINE_PROMETHEUS, BASELINE_KUBE_API, ESCAPE_HATCH)


def profile_policy_name(profile: str) -> str:
    return f"profile-{profile}"


def access_policy_name(resource: str) -> str:
    return f"access-{resource}-egress"


def platform_policy_name(namespace: str) -> str:
    return f"{namespace}-default"


def extra_policy_name(namespace: str) -> str:
    return f"{namespace}-extra"


# The program's platform namespaces when a stack or the policy pack does not say otherwise.
DEFAULT_PLATFORM_NAMESPACES = (
    "kube-system", "monitoring", "database", "cache", "garage", "istio-system", "istio-gateway",
)

CILIUM_API_VERSION = "cilium.io/v2"
CNP = "CiliumNetworkPolicy"
CCNP = "CiliumClusterwideNetworkPolicy"
