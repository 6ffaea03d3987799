"""`no-hardcoded-ips`: peers are endpoint selectors and entities, never addresses.

Blocks every address a policy spells out: Cilium `fromCIDR`, `toCIDR`, `fromCIDRSet`/`toCIDRSet`
(`cidr` and `except`), and NetworkPolicy `ipBlock` (`cidr` and `except`), in allow and deny rules.
A `${...}` GitOps substitution in those fields is an address too (it is filled in with one).
`cidrGroupRef`/`cidrGroupSelector` name a CiliumCIDRGroup and are not literal addresses.

The one exemption: exactly 169.254.0.0/16 in an allow *ingress* rule (the kubelet's link-local
health probes). The same range in an egress rule (e.g. the cloud metadata service) is not exempt.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from netpol import wellknown as W

from .base import MANDATORY, POLICY_KINDS, Context, Guardrail, GuardrailViolation, violation
from .cilium import (
    as_list, cidr_values, has_template, is_cilium_policy, is_health_cidr, is_k8s_netpol, is_map, iter_policy_rules,
    parse_net,
)

NAME = "no-hardcoded-ips"
FIX = ("select the peer by labels (`toEndpoints`/`fromEndpoints`), by entity (`world`, `cluster`, "
       "`kube-apiserver`, ...) or by name (`toFQDNs`) instead of an address")


def _what(v: Any) -> str:
    if has_template(v):
        return f"address `{v}` (a substitution variable that resolves to a literal address)"
    if parse_net(v) is not None:
        return f"literal address `{v}`"
    return f"address field holds `{v}`"


def _netpol_blocks(m: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    spec = m.get("spec") if is_map(m.get("spec")) else {}
    for sec, peers in (("ingress", "from"), ("egress", "to")):
        for i, r in enumerate(as_list(spec.get(sec))):
            if not is_map(r):
                continue
            for j, p in enumerate(as_list(r.get(peers))):
                if is_map(p) and is_map(p.get("ipBlock")):
                    b, base = p["ipBlock"], f"spec.{sec}[{i}].{peers}[{j}].ipBlock"
                    yield sec, f"{base}.cidr", b.get("cidr")
                    for e, ex in enumerate(as_list(b.get("except"))):
                        yield sec, f"{base}.except[{e}]", ex


def check(m: Mapping[str, Any], ctx: Context) -> list[GuardrailViolation]:
    out: list[GuardrailViolation] = []
    if is_cilium_policy(m):
        for _, _, rp, sec, r in iter_policy_rules(m):
            for suffix, v in cidr_values(r):
                if sec == "ingress" and is_health_cidr(v) and ".except[" not in suffix:
                    continue  # the health-probe exemption
                out.append(violation(m, f"{rp}.{suffix}", f"{sec} rule names {_what(v)}", FIX))
    elif is_k8s_netpol(m):
        for sec, path, v in _netpol_blocks(m):
            if v in (None, ""):
                continue
            if sec == "ingress" and is_health_cidr(v) and ".except[" not in path:
                continue
            out.append(violation(m, path, f"{sec} ipBlock names {_what(v)}", FIX))
    return out


RULE = Guardrail(
    name=NAME,
    description=f"No hard-coded IP addresses in policies (only {W.HEALTH_CIDR} in a health-probe ingress rule): "
                "use endpoint selectors and entities.",
    enforcement=MANDATORY,
    resource=check,
    kinds=POLICY_KINDS,
)
