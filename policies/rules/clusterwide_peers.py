"""`no-clusterwide-empty-peer-selector`: `{}` as a peer in a cluster-wide policy means every pod.

In a CiliumNetworkPolicy, a peer selector that names no namespace is confined to the policy's own
namespace, so `fromEndpoints: [{}]` means "this namespace". In a CiliumClusterwideNetworkPolicy
there is no such namespace: Cilium only adds `io.kubernetes.pod.namespace Exists`, so the same `{}`
selects every pod in the cluster (https://docs.cilium.io/en/stable/security/policy/language/ ,
"Clusterwide Policies"; `getEndpointSelector` in pkg/k8s/apis/cilium.io/utils/utils.go). A
well-known homelab tree's "intra-namespace" baseline made exactly this mistake and opened every pod
to every pod on every port.
"""

from __future__ import annotations

from typing import Any, Mapping

from netpol import labels as L

from .base import MANDATORY, Context, Guardrail, GuardrailViolation, violation
from .cilium import CCNP, iter_policy_rules

NAME = "no-clusterwide-empty-peer-selector"
PEER_KEYS = ("fromEndpoints", "toEndpoints")


def _empty(sel: Any) -> bool:
    if sel is None:
        return True
    if not isinstance(sel, Mapping):
        return False
    return not sel.get("matchLabels") and not sel.get("matchExpressions")


def check(m: Mapping[str, Any], ctx: Context) -> list[GuardrailViolation]:
    if m.get("kind") != CCNP:
        return []
    out = []
    for _sp, _spec, path, _section, rule in iter_policy_rules(m):
        for key in PEER_KEYS:
            peers = rule.get(key) if isinstance(rule, Mapping) else None
            if not isinstance(peers, list):
                continue
            for i, sel in enumerate(peers):
                if _empty(sel):
                    direction = "from" if key == "fromEndpoints" else "to"
                    out.append(violation(
                        m, f"{path}.{key}[{i}]",
                        f"`{key}: [{{}}]` in a CiliumClusterwideNetworkPolicy selects every endpoint in the cluster, "
                        f"not the subject's own namespace: it opens traffic {direction} every pod on the rule's ports",
                        "use a per-namespace CiliumNetworkPolicy (where `{}` means that namespace), or name the peers "
                        f"explicitly, e.g. `matchLabels: {{{L.POD_NAMESPACE_LABEL}: <namespace>}}` or a namespace-label selector"))
    return out


RULE = Guardrail(
    name=NAME,
    description="A cluster-wide policy must not use an empty peer selector: `{}` there means every pod in the cluster.",
    enforcement=MANDATORY,
    resource=check,
    kinds=frozenset({CCNP}),
)
