"""`cilium-policy-valid`: what Cilium (or its CRD schema) would reject or misread.

Per rule spec (`spec` and each `specs[i]`) of a CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy:
* neither `spec` nor `specs`, or a spec without any rule section (ingress, ingressDeny, egress,
  egressDeny);
* not exactly one of endpointSelector / nodeSelector (and nodeSelector only in the cluster-wide kind);
* a port that is not a numeric string in 1-65535 (named ports, integers, "0" and out-of-range
  numbers), an endPort outside 1-65535 or below its port, more than 40 ports in one toPorts entry;
* a protocol outside the CRD's enum (TCP, UDP, SCTP, VRRP, IGMP, ANY; case-sensitive);
* a label selector with an unknown operator, In/NotIn without values, Exists/DoesNotExist with values,
  non-string matchLabels values (an unquoted `true` in YAML);
* more than one peer kind in one rule (Cilium: "Combining X and Y is not supported yet"), `icmps`
  together with `toPorts`, DNS L7 rules on ingress.
Values holding `${...}` substitution variables are not judged.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from .base import CILIUM_KINDS, MANDATORY, Context, Rule, Violation, violation
from .cilium import (
    CCNP, CILIUM_PROTOCOLS, SECTIONS, SELECTOR_OPERATORS, as_int, as_list, has_template, is_cilium_policy, is_list,
    is_map, iter_rules, peer_kinds, rule_specs,
)

NAME = "cilium-policy-valid"
SELECTOR_PEERS = ("fromEndpoints", "toEndpoints", "fromNodes", "toNodes", "fromRequires", "toRequires")
MAX_PORTS = 40


def _selector(m: Mapping[str, Any], path: str, sel: Any) -> list[Violation]:
    if not is_map(sel):
        return [violation(m, path, "label selector is not an object", "use `{matchLabels: {...}}` or `{}`")]
    out: list[Violation] = []
    ml = sel.get("matchLabels")
    if ml is not None:
        if not is_map(ml):
            out.append(violation(m, f"{path}.matchLabels", "matchLabels is not a map", "use `key: \"value\"` pairs"))
        else:
            for k, v in ml.items():
                if not isinstance(v, str):
                    out.append(violation(m, f"{path}.matchLabels[\"{k}\"]", f"label value {v!r} is not a string",
                                         f'quote it: "{str(v).lower() if isinstance(v, bool) else v}"'))
    exprs = sel.get("matchExpressions")
    if exprs is not None and not is_list(exprs):
        out.append(violation(m, f"{path}.matchExpressions", "matchExpressions is not a list", "use a list"))
    for i, e in enumerate(as_list(exprs)):
        ep = f"{path}.matchExpressions[{i}]"
        if not is_map(e):
            out.append(violation(m, ep, "expression is not an object", "use `{key, operator, values}`"))
            continue
        op, values = e.get("operator"), e.get("values")
        if not e.get("key"):
            out.append(violation(m, f"{ep}.key", "expression has no key", "name the label key"))
        if op not in SELECTOR_OPERATORS:
            out.append(violation(m, f"{ep}.operator", f"unknown selector operator {op!r}",
                                 f"use one of {', '.join(SELECTOR_OPERATORS)}"))
        elif op in ("In", "NotIn") and not as_list(values):
            out.append(violation(m, f"{ep}.values", f"operator {op} without values selects nothing",
                                 "list the values"))
        elif op in ("Exists", "DoesNotExist") and as_list(values):
            out.append(violation(m, f"{ep}.values", f"operator {op} takes no values", "remove `values`"))
    return out


def _port(m: Mapping[str, Any], path: str, p: Any) -> Iterator[Violation]:
    if not is_map(p):
        yield violation(m, path, "port entry is not an object", 'use `{port: "443", protocol: TCP}`')
        return
    raw = p.get("port")
    if raw is not None and not has_template(raw):
        if not isinstance(raw, str):
            yield violation(m, f"{path}.port", f"port {raw!r} is a number; the CRD types ports as strings",
                            f'quote it: "{as_int(raw) if as_int(raw) is not None else raw}"')
        elif not raw.isdigit():
            yield violation(m, f"{path}.port", f"port {raw!r} is not a numeric string (named ports depend on the "
                            "pods' container specs and cannot be checked)", "use the port number")
        elif not 1 <= int(raw) <= 65535:
            yield violation(m, f"{path}.port", f"port {raw} is outside 1-65535", "use a port in 1-65535")
    end = p.get("endPort")
    if end is not None and not has_template(end):
        n, start = as_int(end), as_int(raw)
        if n is None or isinstance(end, str) or not 1 <= n <= 65535:
            yield violation(m, f"{path}.endPort", f"endPort {end!r} is not an integer in 1-65535",
                            "use an integer port number")
        elif start is not None and n < start:
            yield violation(m, f"{path}.endPort", f"endPort {n} is below port {start}", "make endPort >= port")
    proto = p.get("protocol")
    if proto is not None and not has_template(proto) and proto not in CILIUM_PROTOCOLS:
        yield violation(m, f"{path}.protocol", f"unknown protocol {proto!r}",
                        f"use one of {', '.join(CILIUM_PROTOCOLS)} (upper case; ICMP goes in `icmps`)")


def _rule(m: Mapping[str, Any], rp: str, sec: str, r: Mapping[str, Any]) -> list[Violation]:
    out: list[Violation] = []
    kinds = peer_kinds(r, sec)
    if len(kinds) > 1:
        out.append(violation(m, rp, f"rule combines peer kinds {' and '.join(kinds)}, which Cilium rejects "
                             "(\"Combining ... is not supported yet\")", "split it into one rule per peer kind"))
    if r.get("icmps") and r.get("toPorts"):
        out.append(violation(m, rp, "rule combines `icmps` and `toPorts`, which Cilium rejects",
                             "put the ICMP types in a rule of their own"))
    for key in SELECTOR_PEERS:
        for i, s in enumerate(as_list(r.get(key))):
            out += _selector(m, f"{rp}.{key}[{i}]", s)
    tps = r.get("toPorts")
    if tps is not None and not is_list(tps):
        out.append(violation(m, f"{rp}.toPorts", "toPorts is not a list", "use a list of `{ports: [...]}`"))
    for j, tp in enumerate(as_list(tps)):
        tpp = f"{rp}.toPorts[{j}]"
        if not is_map(tp):
            out.append(violation(m, tpp, "toPorts entry is not an object", "use `{ports: [...]}`"))
            continue
        ports = as_list(tp.get("ports"))
        if len(ports) > MAX_PORTS:
            out.append(violation(m, f"{tpp}.ports", f"{len(ports)} ports in one entry (the CRD allows {MAX_PORTS})",
                                 "split them over several toPorts entries"))
        for k, p in enumerate(ports):
            out += list(_port(m, f"{tpp}.ports[{k}]", p))
        rules = tp.get("rules")
        if sec.startswith("ingress") and is_map(rules) and rules.get("dns"):
            out.append(violation(m, f"{tpp}.rules.dns", "DNS L7 rules are not supported on ingress",
                                 "move the DNS rule to an egress rule towards kube-dns"))
    return out


def check(m: Mapping[str, Any], ctx: Context) -> list[Violation]:
    if not is_cilium_policy(m):
        return []
    specs = rule_specs(m)
    out: list[Violation] = []
    if m.get("spec") is None and m.get("specs") is None:
        return [violation(m, "spec", "no `spec` or `specs`: the policy has no rules",
                          "add a rule spec (`spec:` with an endpointSelector and ingress/egress rules)")]
    if m.get("spec") is not None and not is_map(m.get("spec")):
        out.append(violation(m, "spec", "`spec` is not an object", "make it a rule spec"))
    if m.get("specs") is not None and not is_list(m.get("specs")):
        out.append(violation(m, "specs", "`specs` is not a list", "make it a list of rule specs"))
    for i, s in enumerate(as_list(m.get("specs"))):
        if not is_map(s):
            out.append(violation(m, f"specs[{i}]", "rule spec is not an object", "make it a rule spec"))
    for sp, spec in specs:
        selectors = [k for k in ("endpointSelector", "nodeSelector") if spec.get(k) is not None]
        if len(selectors) != 1:
            out.append(violation(
                m, sp, f"rule spec has {'both' if selectors else 'neither'} endpointSelector {'and' if selectors else 'nor'} "
                "nodeSelector; Cilium needs exactly one", "select endpoints with `endpointSelector` (or nodes with "
                "`nodeSelector` in a CiliumClusterwideNetworkPolicy)"))
        if spec.get("nodeSelector") is not None and m.get("kind") != CCNP:
            out.append(violation(m, f"{sp}.nodeSelector", "nodeSelector is only valid in a "
                                 "CiliumClusterwideNetworkPolicy", "use endpointSelector, or make it cluster-wide"))
        for k in selectors:
            out += _selector(m, f"{sp}.{k}", spec.get(k))
        if all(spec.get(s) is None for s in SECTIONS):
            out.append(violation(m, sp, "rule spec has no rule section (ingress, ingressDeny, egress or egressDeny); "
                                 "recent Cilium rejects it", "add the rules, or delete the rule spec"))
        for s in SECTIONS:
            v = spec.get(s)
            if v is not None and not is_list(v):
                out.append(violation(m, f"{sp}.{s}", f"`{s}` is not a list", "make it a list of rules"))
            for i, r in enumerate(as_list(v)):
                if not is_map(r):
                    out.append(violation(m, f"{sp}.{s}[{i}]", "rule is not an object", "make it a rule object"))
        for rp, sec, r in iter_rules(sp, spec):
            out += _rule(m, rp, sec, r)
    return out


RULE = Rule(
    name=NAME,
    description="Cilium policies are valid: one subject selector, at least one rule section, numeric ports in "
                "1-65535, known protocols and operators, one peer kind per rule.",
    enforcement=MANDATORY,
    resource=check,
    kinds=CILIUM_KINDS,
)
