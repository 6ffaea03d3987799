"""Every label and annotation key (and value) the architecture reads or writes, defined once.

Our own keys on namespaces and policies, and the keys Kubernetes and Cilium put on endpoints, with
the two helpers that build keys from names. Nothing else lives here (tests/test_structure.py holds
it to that): ports and well-known peers are in `netpol.wellknown`, object names in `netpol.names`,
API versions, kinds, entities and protocols in `netpol.apis`, defaults in `netpol.defaults`, the
entities a rule may name in `netpol.model`.
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
ESCAPE_HATCH_MAX_DAYS = 7  # the expiry annotation may lie at most this far ahead
MESH_LABEL = "istio.io/dataplane-mode"
MESH_VALUE = "ambient"
# On a platform namespace's `<ns>-default` policy: whether the namespace is in the Istio ambient
# mesh, so that checks of a rendered tree know when HBONE rules are required.
MESH_ANNOTATION = "network-policy.homelab/mesh"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "netpol"

# --- labels of well-known pods --------------------------------------------------------------
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"  # Gateway API: the gateway a pod serves

# --- how Kubernetes and Cilium label endpoints ------------------------------------------
# https://docs.cilium.io/en/stable/security/policy/kubernetes/#namespaces
NS_LABEL_PREFIX = "io.cilium.k8s.namespace.labels."
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
# The cluster-name label Cilium puts on every pod identity ("Multi-Cluster").
CLUSTER_LABEL = "io.cilium.k8s.policy.cluster"
# The label Kubernetes sets on every namespace.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def access_label(name: str) -> str:
    """`access.network-policy.homelab/<name>`: the namespace label that opens a shared resource."""
    return ACCESS_LABEL_PREFIX + name


def ns_label(key: str) -> str:
    """The endpoint label under which Cilium exposes the namespace label `key`."""
    return NS_LABEL_PREFIX + key
