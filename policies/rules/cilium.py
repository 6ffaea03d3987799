"""Walking Cilium (and Kubernetes) network policies: rule sections, peers, ports, selectors.

Everything here is shared by the rules; nothing here decides what is a violation. Values may come
from YAML (ints, strings) or from the Pulumi engine (every number arrives as a float), and may hold
`${...}` GitOps substitution variables, which are treated as "unknown" (never as a match).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Iterator, Mapping, Sequence

from netpol import apis
from netpol import labels as L
from netpol import wellknown as W
from netpol.reach import query as _reach_query

from .base import name_of, namespace_of

CNP, CCNP = apis.CNP, apis.CCNP
CILIUM_KINDS = apis.CILIUM_KINDS
K8S_NETPOL = apis.NETWORK_POLICY

ALLOW_SECTIONS = ("ingress", "egress")
DENY_SECTIONS = ("ingressDeny", "egressDeny")
SECTIONS = ("ingress", "ingressDeny", "egress", "egressDeny")

# L3 members Cilium refuses to combine in one rule (pkg/policy/api rule validation).
INGRESS_PEERS = ("fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "fromGroups", "fromNodes")
EGRESS_PEERS = ("toEndpoints", "toCIDR", "toCIDRSet", "toEntities", "toServices", "toFQDNs", "toGroups", "toNodes")
CIDR_KEYS = ("fromCIDR", "fromCIDRSet", "toCIDR", "toCIDRSet")

SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
HEALTH_NET = ipaddress.ip_network(W.HEALTH_CIDR)
POD_NS = L.POD_NAMESPACE_LABEL


def is_cilium_policy(m: Mapping[str, Any]) -> bool:
    return m.get("kind") in CILIUM_KINDS and str(m.get("apiVersion", "")).startswith("cilium.io/")


def is_k8s_netpol(m: Mapping[str, Any]) -> bool:
    return m.get("kind") == K8S_NETPOL and str(m.get("apiVersion", "")).startswith("networking.k8s.io/")


def is_namespace(m: Mapping[str, Any]) -> bool:
    return m.get("kind") in (apis.NAMESPACE, apis.NAMESPACE_PATCH) and m.get("apiVersion") in (apis.CORE_API_VERSION, None)


def has_template(v: Any) -> bool:
    return isinstance(v, str) and "${" in v


def is_list(v: Any) -> bool:
    return isinstance(v, Sequence) and not isinstance(v, (str, bytes))


def as_list(v: Any) -> list:
    return list(v) if is_list(v) else []


def is_map(v: Any) -> bool:
    return isinstance(v, Mapping)


# --- rule specs and rules --------------------------------------------------------------------------

def rule_specs(m: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """[(path, rule spec)] for `spec` and every `specs[i]` that is an object."""
    out: list[tuple[str, Mapping[str, Any]]] = []
    if is_map(m.get("spec")):
        out.append(("spec", m["spec"]))
    for i, s in enumerate(as_list(m.get("specs"))):
        if is_map(s):
            out.append((f"specs[{i}]", s))
    return out


def iter_rules(spec_path: str, spec: Mapping[str, Any], sections: Sequence[str] = SECTIONS
               ) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(path, section, rule) for every rule object of the given sections of one rule spec."""
    for sec in sections:
        for i, r in enumerate(as_list(spec.get(sec))):
            if is_map(r):
                yield f"{spec_path}.{sec}[{i}]", sec, r


def iter_policy_rules(m: Mapping[str, Any], sections: Sequence[str] = SECTIONS
                      ) -> Iterator[tuple[str, Mapping[str, Any], str, str, Mapping[str, Any]]]:
    """(spec path, spec, rule path, section, rule) across `spec` and `specs`."""
    for sp, spec in rule_specs(m):
        for rp, sec, r in iter_rules(sp, spec, sections):
            yield sp, spec, rp, sec, r


def peer_keys(section: str) -> tuple[str, ...]:
    return INGRESS_PEERS if section.startswith("ingress") else EGRESS_PEERS


def peer_kinds(rule: Mapping[str, Any], section: str) -> list[str]:
    """The L3 peer fields a rule sets (non-empty)."""
    return [k for k in peer_keys(section) if rule.get(k)]


def is_empty_rule(rule: Mapping[str, Any]) -> bool:
    """`{}`: no peer, no ports, nothing at all."""
    return not any(bool(v) for v in rule.values())


# --- ports -------------------------------------------------------------------------------------------

def as_int(v: Any) -> int | None:
    """An integral value from YAML or the engine (floats), or a numeric string; None otherwise."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return None


def port_entries(rule: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any] | Any, Mapping[str, Any] | Any]]:
    """(suffix path, toPorts entry, port entry) for every ports[k] of every toPorts[j]."""
    for j, tp in enumerate(as_list(rule.get("toPorts"))):
        if not is_map(tp):
            continue
        for k, p in enumerate(as_list(tp.get("ports"))):
            yield f"toPorts[{j}].ports[{k}]", tp, p


# Whether a rule admits a port is the engine's answer (netpol/reach/query.py), not a second reading here.
rule_covers_port = _reach_query.rule_covers_port


def explicit_ports(rule: Mapping[str, Any]) -> list[int]:
    out = []
    for _, _, p in port_entries(rule):
        if is_map(p):
            n = as_int(p.get("port"))
            if n and 1 <= n <= 65535:
                out.append(n)
    return out


# --- CIDRs -------------------------------------------------------------------------------------------

def cidr_values(rule: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(suffix path, value) of every CIDR a Cilium rule names (fromCIDR, fromCIDRSet[].cidr and
    .except, toCIDR, toCIDRSet...). `cidrGroupRef`/`cidrGroupSelector` are references, not addresses."""
    for key in CIDR_KEYS:
        for i, v in enumerate(as_list(rule.get(key))):
            if key.endswith("Set"):
                if not is_map(v):
                    yield f"{key}[{i}]", v
                    continue
                if v.get("cidr") not in (None, ""):
                    yield f"{key}[{i}].cidr", v.get("cidr")
                for e, ex in enumerate(as_list(v.get("except"))):
                    yield f"{key}[{i}].except[{e}]", ex
            else:
                yield f"{key}[{i}]", v


def parse_net(v: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not isinstance(v, str):
        return None
    try:
        return ipaddress.ip_network(v.strip(), strict=False)
    except ValueError:
        return None


def is_health_cidr(v: Any) -> bool:
    return parse_net(v) == HEALTH_NET and "/" in str(v)


def is_everything_net(v: Any) -> bool:
    n = parse_net(v)
    return n is not None and n.prefixlen == 0


# --- selectors ---------------------------------------------------------------------------------------

def normalize_label_key(k: str) -> str:
    """Cilium selectors may prefix keys with a source (`k8s:`, `any:`); `k8s:` is what matters here."""
    for prefix in ("k8s:", "any:"):
        if k.startswith(prefix):
            return k[len(prefix):]
    return k


def is_empty_selector(sel: Any) -> bool:
    return is_map(sel) and not sel.get("matchLabels") and not sel.get("matchExpressions")


# Which pods a selector selects is the engine's answer (netpol/reach/query.py): the same label
# sources, operators and Cilium namespace scoping the reach engine evaluates.
selector_matches = _reach_query.selector_matches
peer_selects = _reach_query.peer_selects


def subject_is_namespace_wide(spec: Mapping[str, Any], policy: Mapping[str, Any]) -> bool:
    """Whether a rule spec's endpointSelector selects every pod of the policy's namespace."""
    sel = spec.get("endpointSelector")
    if is_empty_selector(sel):
        return True
    if not is_map(sel) or sel.get("matchExpressions"):
        return False
    ml = sel.get("matchLabels") or {}
    return {normalize_label_key(str(k)): v for k, v in ml.items()} == {POD_NS: namespace_of(policy)}


def escape_hatch_selector(sel: Any) -> bool:
    """The escape hatch's subject: namespaces labelled network-policy.homelab/enforcement=disabled."""
    if not is_map(sel):
        return False
    key = L.ns_label(L.ENFORCEMENT_LABEL)
    ml = sel.get("matchLabels") or {}
    exprs = as_list(sel.get("matchExpressions"))
    if is_map(ml) and ml and {normalize_label_key(str(k)): v for k, v in ml.items()} == {key: L.ENFORCEMENT_DISABLED} \
            and not exprs:
        return True
    if not ml and len(exprs) == 1 and is_map(exprs[0]):
        e = exprs[0]
        return (normalize_label_key(str(e.get("key", ""))) == key and e.get("operator") == "In"
                and [str(x) for x in as_list(e.get("values"))] == [L.ENFORCEMENT_DISABLED])
    return False


def is_escape_hatch_allow_all_rule(spec: Mapping[str, Any], section: str, rule: Mapping[str, Any]) -> bool:
    """`fromEntities: [all]` / `toEntities: [all]` in a spec that selects only enforcement=disabled."""
    if section not in ALLOW_SECTIONS or not escape_hatch_selector(spec.get("endpointSelector")):
        return False
    key = "fromEntities" if section == "ingress" else "toEntities"
    return peer_kinds(rule, section) == [key] and as_list(rule.get(key)) == ["all"]


def is_escape_hatch_policy(m: Mapping[str, Any]) -> bool:
    return is_cilium_policy(m) and any(
        is_escape_hatch_allow_all_rule(spec, sec, r) for _, spec, _, sec, r in iter_policy_rules(m, ALLOW_SECTIONS))


def is_health_rule(section: str, rule: Mapping[str, Any]) -> bool:
    """A health-probe ingress rule: its only peer is entity `health`, or only 169.254.0.0/16."""
    if section != "ingress":
        return False
    kinds = peer_kinds(rule, section)
    if kinds == ["fromEntities"]:
        return as_list(rule.get("fromEntities")) == ["health"]
    if kinds == ["fromCIDR"]:
        return all(is_health_cidr(c) for c in as_list(rule.get("fromCIDR")))
    if kinds == ["fromCIDRSet"]:
        return all(is_map(c) and is_health_cidr(c.get("cidr")) and not c.get("except")
                   for c in as_list(rule.get("fromCIDRSet")))
    return False


def policy_id(m: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(m.get("kind", "")), namespace_of(m), name_of(m))
