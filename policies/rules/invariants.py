"""`reachability-invariants` (stack): prove, with the reachability engine, that the cluster still works.

Rules that look at one manifest at a time cannot see that removing a policy black-holes DNS, or that
a cluster-wide `{}` peer opens every pod to every pod. This rule evaluates the stack's own policies
against its inventory and reports each broken promise of `netpol.invariants.INVARIANTS` with the
flow and the rule that decided it (against that policy's URN where one decided, else the stack's).

Where the inventory comes from:
* `netpol check --stack S`: the stack's config (`netpol.stack.inventory_for`), with its metrics
  ports, gateway ports, shared resources and declared `talksTo` / world extras as expectations;
* the policy pack: the same, built from the `netpol:` keys of the stack config the engine passes;
* `netpol check --manifests DIR --stack-rules --inventory FILE`: the file, with default expectations;
* otherwise: derived from the manifests — the Namespaces they declare (app namespaces are those
  with a profile label), the platform namespaces of the pack config, and their well-known pods.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from netpol import catalogue
from netpol import labels as L
from netpol import names as N
from netpol.catalogue import WORKLOAD, well_known_in, workload_labels
from netpol.catalogue import Expectations
from netpol.invariants import INVARIANTS, check_invariants

from .base import MANDATORY, Context, Guardrail, GuardrailViolation, describe, name_of
from .cilium import is_cilium_policy

NAME = "reachability-invariants"

_DNS, _PROM = catalogue.KUBE_DNS, catalogue.PROMETHEUS
FIX = {
    "dns-resolves": f"keep {N.BASELINE_DNS}, and admit DNS on the serving side: {_DNS.namespace}'s policy must let "
                    f"every pod reach {_DNS.name} on {' and '.join(map(str, catalogue.DNS))}",
    "prometheus-scrapes": f"let Prometheus ({_PROM.namespace}, {','.join(f'{k}={v}' for k, v in _PROM.selector)}) "
                          f"egress to every namespace on the metrics ports, and keep {N.BASELINE_PROMETHEUS}",
    "gateway-ingress": "profiles admit exactly their gateways: internal → internal gateway; standard → both",
    "shared-access": "a shared resource admits only namespaces carrying its access label "
                     f"({L.ns_label(L.access_label('<name>'))}={L.ACCESS_LABEL_VALUE})",
    "app-isolation": "app namespaces reach each other only through a declared talksTo; never use `{}` peers in a "
                     "cluster-wide policy",
    "world-egress": "internet egress is 443/TCP for internal-egress and standard only; declare anything else as an "
                    "app extra (egress: entity world / fqdn)",
    "escape-hatch-own-side": f"{N.ESCAPE_HATCH} must select exactly the namespaces labelled "
                             f"{L.ENFORCEMENT_LABEL}={L.ENFORCEMENT_DISABLED}, with fromEntities/toEntities [all]",
}


def derive(manifests: Sequence[Mapping[str, Any]], ctx: Context):
    """An inventory from the manifests alone (no stack config, no inventory file)."""
    from netpol.reach import Inventory, Pod

    namespaces: dict[str, dict[str, str]] = {}
    pods: list[Pod] = []
    for m in manifests:
        if m.get("kind") == "Namespace":
            md = m.get("metadata") or {}
            if md.get("name"):
                namespaces[str(md["name"])] = {str(k): str(v) for k, v in (md.get("labels") or {}).items()}
    for ns in ctx.platform_namespaces:
        namespaces.setdefault(ns, {L.MESH_LABEL: L.MESH_VALUE} if ns in ctx.mesh_namespaces else {})
    for ns in sorted(namespaces):
        # a namespace of well-known workloads holds those (netpol.catalogue), any other one workload
        for name, labels in [(w.name, w.labels) for w in well_known_in(ns)] or [(WORKLOAD, workload_labels(ns))]:
            pods.append(Pod(namespace=ns, name=name, labels=dict(labels)))
    return Inventory(namespaces=namespaces, pods=pods, fqdns={}), Expectations.defaults()


def _ref(m: Mapping[str, Any]) -> str:
    ns = (m.get("metadata") or {}).get("namespace")
    return f"{m.get('kind')}/{ns}/{name_of(m)}" if ns else f"{m.get('kind')}/{name_of(m)}"


def check(manifests: Sequence[Mapping[str, Any]], ctx: Context) -> list[GuardrailViolation]:
    inventory, expectations = ctx.reach if ctx.reach is not None else derive(manifests, ctx)
    at = [i for i, m in enumerate(manifests) if is_cilium_policy(m)]
    index = {_ref(manifests[i]): i for i in at}
    policies = [manifests[i] for i in at]
    out = []
    for v in check_invariants(policies, inventory, expectations):
        deciding = index.get(v.policy) if v.policy else None
        where = f"{describe(manifests[deciding])}: " if deciding is not None else ""
        out.append(GuardrailViolation(
            message=f"{where}invariant `{v.invariant}` ({INVARIANTS[v.invariant]}) is broken: {v.message}. Fix: {FIX[v.invariant]}",
            index=deciding, resource=None if deciding is not None else f"invariant {v.invariant}"))
    return out


RULE = Guardrail(
    name=NAME,
    description="The stack's policies keep the architecture's promises, proven with the reachability engine: DNS, "
                "Prometheus, gateways per profile, shared access per label, app isolation, internet egress, escape hatch.",
    enforcement=MANDATORY,
    stack=check,
)
