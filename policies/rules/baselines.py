"""`baselines-present` (stack): the cluster-wide baselines exist.

A stack must declare the CiliumClusterwideNetworkPolicies `baseline-dns-egress`,
`baseline-health-probes`, `baseline-prometheus-scrape`, `baseline-kube-api` and
`escape-hatch-allow-all` (`netpol.names.REQUIRED_BASELINES`). Deleting the DNS baseline would
black-hole the cluster, so its content is checked too: it must select every endpoint and allow
egress to kube-dns on 53/UDP and 53/TCP.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from netpol import apis
from netpol import names as N
from netpol import wellknown as W

from .base import MANDATORY, Context, Guardrail, GuardrailViolation, name_of, violation
from .cilium import CCNP, is_cilium_policy, is_empty_selector, rule_specs
from .platform import dns_egress_missing

NAME = "baselines-present"

PURPOSE = {
    N.BASELINE_DNS: "every endpoint's DNS to kube-dns (without it the cluster is black-holed)",
    N.BASELINE_HEALTH: "kubelet and Cilium health probes",
    N.BASELINE_PROMETHEUS: "Prometheus scrapes on the metrics ports",
    N.BASELINE_KUBE_API: "kube-apiserver egress for namespaces with the kube-api access label",
    N.ESCAPE_HATCH: "the emergency allow-all for namespaces with enforcement disabled",
}


def check(manifests: Sequence[Mapping[str, Any]], ctx: Context) -> list[GuardrailViolation]:
    present: dict[str, int] = {}
    for i, m in enumerate(manifests):
        if is_cilium_policy(m) and m.get("kind") == CCNP:
            present.setdefault(name_of(m), i)
    out: list[GuardrailViolation] = []
    for name in N.REQUIRED_BASELINES:
        if name not in present:
            out.append(GuardrailViolation(
                message=f"stack `{ctx.stack or '?'}`: the baseline CiliumClusterwideNetworkPolicy `{name}` is missing "
                f"({PURPOSE.get(name, 'a required baseline')}). Fix: restore it (the program always declares it; "
                "do not delete or rename baselines)",
                resource=f"{apis.CCNP} {name}"))
    if N.BASELINE_DNS in present:
        i = present[N.BASELINE_DNS]
        m = manifests[i]
        specs = rule_specs(m)
        wide = [(sp, s) for sp, s in specs if is_empty_selector(s.get("endpointSelector"))]
        if not wide:
            out.append(violation(m, f"{specs[0][0] if specs else 'spec'}.endpointSelector",
                                 "the DNS baseline does not select every endpoint",
                                 "use `endpointSelector: {}`", index=i))
        else:
            missing = dns_egress_missing(m, wide)
            if missing:
                out.append(violation(
                    m, f"{wide[0][0]}.egress", f"the DNS baseline no longer allows kube-dns on {' and '.join(missing)}",
                    f"restore egress to {W.KUBE_DNS_NAMESPACE} pods k8s-app=kube-dns on 53/UDP and 53/TCP with "
                    "`rules: {dns: [{matchPattern: \"*\"}]}`", index=i))
    return out


RULE = Guardrail(
    name=NAME,
    description="The stack declares the DNS, health, Prometheus, kube-api and escape-hatch baselines.",
    enforcement=MANDATORY,
    stack=check,
)
