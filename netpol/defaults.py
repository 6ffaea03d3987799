"""The program's defaults, defined once: what a stack's config (`netpol.model.StackConfig`) and the
policy pack's config (`policies.adapter.CONFIG_SCHEMA`, `policies.rules.base.Context`) fall back to
when they say nothing.

A stack declares its platform namespaces itself (`netpol:platformNamespaces`, with their rules);
`PLATFORM_NAMESPACES` is the set the pack checks when its config names none, and the names no app
namespace may take. A stack's platform namespace outside it is reported (the pack would not know it).
"""

from __future__ import annotations

PLATFORM_NAMESPACES = (
    "kube-system", "monitoring", "database", "cache", "garage", "istio-system", "istio-gateway",
)
# Platform namespaces the pack treats as in the Istio ambient mesh besides those whose `<ns>-default`
# policy carries the `labels.MESH_ANNOTATION` "true" (the program writes it from `mesh: true`).
MESH_NAMESPACES: tuple[str, ...] = ()
# Stacks that may apply directly to a cluster; every other stack renders YAML for GitOps. A stack's
# own `netpol:directApplyStacks` never widens the pack's list.
DIRECT_APPLY_STACKS = ("dev",)
METRICS_PORTS = (8080, 9090, 9100)
GATEWAY_PORTS = (80, 443, 8080, 8443)
