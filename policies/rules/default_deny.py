"""`no-explicit-default-deny`: the baselines already make deny implicit.

Blocks any CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy / networking.k8s.io NetworkPolicy
whose effect or intent is a blanket default deny:
* a `default-deny` / `deny-all` name;
* an empty rule (`ingress: [{}]`, `egress: [{}]`): it turns default deny on for that direction and
  allows nothing; it is not a deny rule (another policy's allow still works). An empty section
  (`ingress: []`) is a no-op in Cilium and is not reported;
* a deny rule (`ingressDeny`/`egressDeny`) whose peer is everything (`{}`, entity `all`, entities
  `world`+`cluster`, an empty endpoint selector, 0.0.0.0/0 or ::/0) and that names no port;
* a NetworkPolicy with an empty podSelector and no rules for a direction it governs.
A deny rule limited to explicit ports, or to a narrower peer, is a targeted deny and passes.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .base import MANDATORY, POLICY_KINDS, Context, Guardrail, GuardrailViolation, name_of, violation
from .cilium import (
    ALLOW_SECTIONS, DENY_SECTIONS, as_list, is_cilium_policy, is_empty_rule, is_empty_selector,
    is_everything_net, is_k8s_netpol, is_map, iter_rules, peer_kinds, rule_specs,
)

NAME = "no-explicit-default-deny"
DEFAULT_DENY_NAME = re.compile(r"(^|[-_.])(default-?deny|deny-?all)([-_.]|$)")
FIX_REMOVE = ("delete it: every endpoint is already denied by default once the baselines select it, "
              "and an explicit deny overrides every allow (including DNS and health probes)")


def _peer_is_everything(rule: Mapping[str, Any], section: str) -> str | None:
    for k in peer_kinds(rule, section):
        vals = as_list(rule.get(k))
        if k.endswith("Entities"):
            ents = {str(e) for e in vals}
            if "all" in ents or {"world", "cluster"} <= ents:
                return f"{k}: {sorted(ents)}"
        elif k.endswith("Endpoints"):
            if any(is_empty_selector(s) for s in vals):
                return f"{k}: [{{}}]"
        elif k.endswith("CIDR"):
            if any(is_everything_net(c) for c in vals):
                return f"{k}: {vals}"
        elif k.endswith("CIDRSet"):
            if any(is_map(c) and is_everything_net(c.get("cidr")) and not c.get("except") for c in vals):
                return f"{k} 0.0.0.0/0"
    return None


def _names_ports(rule: Mapping[str, Any]) -> bool:
    for tp in as_list(rule.get("toPorts")):
        if is_map(tp):
            for p in as_list(tp.get("ports")):
                if is_map(p) and p.get("port") not in (None, "", "0", 0):
                    return True
    return bool(rule.get("icmps"))


def _cilium(m: Mapping[str, Any]) -> list[GuardrailViolation]:
    out: list[GuardrailViolation] = []
    for sp, spec in rule_specs(m):
        # `ingress: []` / `egress: []` are no-ops: Cilium's Rule.Sanitize turns default deny on only
        # when `len(r.Ingress) > 0 || len(r.IngressDeny) > 0` (pkg/policy/api/rule_validation.go), so
        # an empty list neither allows nor denies anything and is not reported here.
        for rp, sec, r in iter_rules(sp, spec, ALLOW_SECTIONS):
            if is_empty_rule(r):
                out.append(violation(
                    m, rp, f"empty {sec} rule `{{}}` puts the selected endpoints into {sec} default deny and allows "
                    f"nothing itself; it is not a deny rule, so an allow from another policy still works "
                    f"(the explicit default-deny idiom)",
                    "delete the rule: the baselines already select every endpoint, which puts it into default "
                    "deny in both directions"))
        for rp, sec, r in iter_rules(sp, spec, DENY_SECTIONS):
            if is_empty_rule(r):
                out.append(violation(m, rp, f"empty {sec} rule `{{}}`: a blanket deny", FIX_REMOVE.replace(
                    "delete it", "delete the rule")))
                continue
            every = _peer_is_everything(r, sec)
            if every and not _names_ports(r):
                out.append(violation(
                    m, rp, f"{sec} rule denies everything ({every}) on every port: a blanket default deny",
                    FIX_REMOVE.replace("delete it", "delete the rule") +
                    "; to block one flow, deny that peer and port explicitly"))
    return out


def is_list_empty(v: Any) -> bool:
    return v is not None and not isinstance(v, (str, bytes, Mapping)) and len(as_list(v)) == 0


def _netpol(m: Mapping[str, Any]) -> list[GuardrailViolation]:
    spec = m.get("spec") if is_map(m.get("spec")) else {}
    if not is_empty_selector(spec.get("podSelector") if "podSelector" in spec else {}):
        return []
    types = [str(t) for t in as_list(spec.get("policyTypes"))]
    if not types:
        types = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    out = []
    for t, key in (("Ingress", "ingress"), ("Egress", "egress")):
        if t in types and not as_list(spec.get(key)):
            out.append(violation(
                m, f"spec.{key}", f"NetworkPolicy selects every pod (empty podSelector) with no {key} rules: "
                f"a blanket {key} default deny (Cilium translates it into an allow-nothing entry with default "
                f"deny on; it is not a deny rule, so another policy's allow still works)",
                "delete it: the baselines already put every endpoint into default deny"))
    return out


def check(m: Mapping[str, Any], ctx: Context) -> list[GuardrailViolation]:
    cilium, netpol = is_cilium_policy(m), is_k8s_netpol(m)
    if not (cilium or netpol):
        return []
    out: list[GuardrailViolation] = []
    if DEFAULT_DENY_NAME.search(name_of(m).lower()):
        out.append(violation(m, "metadata.name", f"the name `{name_of(m)}` declares a default-deny policy",
                             FIX_REMOVE))
    out += _cilium(m) if cilium else _netpol(m)
    return out


RULE = Guardrail(
    name=NAME,
    description="No explicit default-deny policy: the baselines already make deny implicit, and an explicit "
                "deny overrides every allow.",
    enforcement=MANDATORY,
    resource=check,
    kinds=POLICY_KINDS,
)
