"""What the Kubernetes and Cilium APIs define, as the program reads and writes them, defined once.

Facts the project does not choose: API versions and kinds, Cilium's entities, the protocols a port
rule names, Cilium's reserved security identities, cilium-health's port. Each cites its source.
(The label keys are in `netpol.labels`; the homelab's own well-known peers in `netpol.wellknown`.)
"""

from __future__ import annotations

# --- API versions and kinds ---------------------------------------------------------------------
CILIUM_API_VERSION = "cilium.io/v2"
CNP = "CiliumNetworkPolicy"
CCNP = "CiliumClusterwideNetworkPolicy"
CILIUM_KINDS = (CNP, CCNP)
NETWORK_POLICY_API_VERSION = "networking.k8s.io/v1"
NETWORK_POLICY = "NetworkPolicy"
CORE_API_VERSION = "v1"
NAMESPACE = "Namespace"
NAMESPACE_PATCH = "NamespacePatch"  # pulumi-kubernetes' patch resource of a Namespace (server-side apply)
MONITORING_API_VERSION = "monitoring.coreos.com/v1"
PROMETHEUS_RULE = "PrometheusRule"

# --- entities (pkg/policy/api/entity.go EntitySelectorMapping; docs "Entities Based",
# https://docs.cilium.io/en/stable/security/policy/language/#entities-based). In the docs' order,
# then the two address-family halves of `world` and `none`.
WORLD = "world"
ENTITIES = (
    "world", "cluster", "host", "remote-node", "health", "kube-apiserver", "init", "unmanaged", "ingress", "all",
    "world-ipv4", "world-ipv6", "none",
)
WORLD_ENTITIES = ("world", "world-ipv4", "world-ipv6")  # outside the cluster ("0.0.0.0/0", "::/0")
# The entities whose selection takes in addresses outside the cluster: world, its halves, and `all`
# ("all known clusters as well as world").
ENTITIES_WITH_WORLD = (*WORLD_ENTITIES, "all")
# The entities a flow endpoint is named by (`entity:NAME` in `netpol reach`): `none` selects nothing,
# and an endpoint outside the cluster is `entity:world` (or `ip:` / `fqdn:`), not a family half.
ENDPOINT_ENTITIES = tuple(e for e in ENTITIES if e not in ("world-ipv4", "world-ipv6", "none"))

# --- protocols ------------------------------------------------------------------------------------
# The protocols with transport ports: what a flow carries, what a port of the model names, what
# `ANY` (or an omitted protocol) of a Cilium PortProtocol stands for (CRD `protocol`: "If "ANY",
# omitted or empty, any protocols with transport ports (TCP, UDP, SCTP) match"), and what a
# Kubernetes NetworkPolicyPort accepts (validation.go validateNetworkPolicyPort).
PROTOCOLS = ("TCP", "UDP", "SCTP")
# The CRD's PortProtocol.protocol enum ("Accepted values", in the CRD's order).
PORT_PROTOCOLS = ("TCP", "UDP", "SCTP", "VRRP", "IGMP", "ANY")

# --- reserved security identities (pkg/identity/numericidentity.go) -------------------------------
RESERVED_IDENTITIES: dict[int, str] = {
    1: "host", 2: "world", 3: "unmanaged", 4: "health", 5: "init", 6: "remote-node", 7: "kube-apiserver",
    8: "ingress", 9: "world-ipv4", 10: "world-ipv6",
}
# Identities from here up are cluster-local, allocated for CIDRs and FQDN selectors (world addresses).
LOCAL_IDENTITY_MIN = 1 << 24

# --- cilium-health ----------------------------------------------------------------------------------
HEALTH_PORT = 4240  # cilium-health's HTTP responder (agent option cluster-health-port)
HEALTH_ENDPOINT_LABEL = "reserved:health"  # the label of Cilium's health endpoint, as a selector key
