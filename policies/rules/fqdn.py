"""`fqdn-needs-dns-visibility` (advisory): a toFQDNs rule only matches names Cilium's DNS proxy saw.

Cilium learns the IPs behind `toFQDNs` names from DNS answers its proxy inspects, and it inspects
only DNS traffic that some policy subjects to a DNS L7 rule (`toPorts[].rules.dns`, normally
`baseline-dns-egress` with `matchPattern: "*"`). So for every egress rule with toFQDNs, some DNS rule
must (a) apply to the same endpoints and (b) let the names through.

(a) A DNS rule covers the FQDN rule's endpoints when it is in the same rule spec, in a
    CiliumClusterwideNetworkPolicy selecting every endpoint (`{}`), in a CiliumNetworkPolicy of the
    same namespace selecting every pod, or in a policy of the same scope with the same selector.
(b) The DNS rule's patterns admit the name (`matchPattern: "*"`, a matching pattern with Cilium's
    semantics — `*` stays within one label — or the same `matchName`/`matchPattern`).
This rule needs to see the other policies, so it runs over the whole set of manifests (the pack runs
it at AnalyzeStack); it is still a resource rule for `netpol check --manifests`.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from netpol import names as N

from .base import ADVISORY, Context, Guardrail, GuardrailViolation, namespace_of, violation
from .cilium import CCNP, CNP, as_list, is_cilium_policy, is_empty_selector, is_map, iter_rules, rule_specs

NAME = "fqdn-needs-dns-visibility"


def _dns_patterns(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    out = []
    for _, _, r in iter_rules("", spec, ("egress",)):
        for tp in as_list(r.get("toPorts")):
            if is_map(tp) and is_map(tp.get("rules")):
                out += [d for d in as_list(tp["rules"].get("dns")) if is_map(d)]
    return out


def _glob(pattern: str) -> re.Pattern[str]:
    """Cilium's DNS pattern: `*` matches DNS characters within one label (not dots); a leading `**.`
    matches one or more labels."""
    p = pattern.rstrip(".").lower()
    prefix = ""
    if p.startswith("**."):
        prefix, p = r"([-a-z0-9_]+\.)+", p[3:]
    return re.compile("^" + prefix + re.escape(p).replace(r"\*", "[-a-z0-9_]*") + "$")


def _admits(dns: Mapping[str, Any], fq: Mapping[str, Any]) -> bool:
    """Whether a DNS rule lets the names of a toFQDNs selector through (pattern vs pattern: each `*`
    of the FQDN pattern stands for one label's worth of characters)."""
    pat = dns.get("matchPattern")
    name = fq.get("matchName")
    want = name if isinstance(name, str) else fq.get("matchPattern")
    if not isinstance(want, str):
        return False
    if pat == "*":
        return True
    if isinstance(pat, str):
        sample = want.rstrip(".").lower().replace("**.", "x.").replace("*", "x")
        if pat.rstrip(".").lower() == want.rstrip(".").lower() or _glob(pat).match(sample):
            return True
    dn = dns.get("matchName")
    return isinstance(dn, str) and isinstance(name, str) and dn.rstrip(".").lower() == name.rstrip(".").lower()


def _covers(dns_policy: Mapping[str, Any], dns_spec: Mapping[str, Any], policy: Mapping[str, Any],
            spec: Mapping[str, Any]) -> bool:
    if dns_spec is spec:
        return True
    sel, fsel = dns_spec.get("endpointSelector"), spec.get("endpointSelector")
    if dns_policy.get("kind") == CCNP:
        if is_empty_selector(sel):
            return True
        return policy.get("kind") == CCNP and sel == fsel
    if dns_policy.get("kind") == CNP and policy.get("kind") == CNP and namespace_of(dns_policy) == namespace_of(policy):
        return is_empty_selector(sel) or sel == fsel
    return False


def check(manifests: Sequence[Mapping[str, Any]], ctx: Context) -> list[GuardrailViolation]:
    dns_specs = [(m, spec, _dns_patterns(spec)) for m in manifests if is_cilium_policy(m) for _, spec in rule_specs(m)]
    dns_specs = [d for d in dns_specs if d[2]]
    out: list[GuardrailViolation] = []
    for i, m in enumerate(manifests):
        if not is_cilium_policy(m):
            continue
        for sp, spec in rule_specs(m):
            for rp, _, r in iter_rules(sp, spec, ("egress",)):
                for k, fq in enumerate(as_list(r.get("toFQDNs"))):
                    if not is_map(fq):
                        continue
                    covering = [pats for dm, ds, pats in dns_specs if _covers(dm, ds, m, spec)]
                    if any(_admits(d, fq) for pats in covering for d in pats):
                        continue
                    want = fq.get("matchName") or fq.get("matchPattern")
                    what = (f"toFQDNs `{want}` applies to endpoints whose DNS traffic no DNS L7 rule inspects"
                            if not covering else
                            f"toFQDNs `{want}`: the DNS rules that apply to these endpoints do not admit the name")
                    out.append(violation(
                        m, f"{rp}.toFQDNs[{k}]", what + ", so Cilium never learns its addresses and the rule never "
                        "matches", f"keep `{N.BASELINE_DNS}` (egress to kube-dns 53 with `rules: {{dns: [{{matchPattern: "
                        "\"*\"}]}`) selecting these endpoints, or add such a DNS rule to this policy", index=i))
    return out


RULE = Guardrail(
    name=NAME,
    description="toFQDNs rules need a DNS L7 rule that inspects the selected endpoints' DNS traffic, or they never match.",
    enforcement=ADVISORY,
    across=check,
)
