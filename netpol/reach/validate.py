"""Which policy documents Kubernetes or Cilium would refuse, and why (each check cites its source).

Two gates stand between a policy file and enforcement:

1. The API server. A CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy is checked against its CRD's
   OpenAPI schema (the CRDs in cilium/cilium pkg/k8s/apis/cilium.io/client/crds/v2/; the project's
   copies are in ../shared/crds, see `crd_problems`); a NetworkPolicy against Kubernetes'
   `ValidateNetworkPolicy` (kubernetes/kubernetes pkg/apis/networking/validation/validation.go) and
   apimachinery's `ValidateLabelSelector`. A rejected document never reaches the cluster.
2. The Cilium agent. Every rule goes through `Rule.Sanitize` (cilium/cilium
   pkg/policy/api/rule_validation.go); a rule that fails is not imported (the watcher logs the error
   and counts `policy_change_total{outcome="fail"}`), so the policy has no effect.

`api_problems` holds the structural checks that run everywhere (cheap, no schema needed: the reach
engine uses them to leave rejected documents out of its verdicts); `sanitize_problems` the agent's;
`crd_problems` the full schema when jsonschema and the CRD files are available (the policy pack's
`cilium-policy-valid` uses it). Values holding `${...}` substitution variables are not judged.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from netpol.apis import (
    CCNP, CILIUM_API_VERSION, CNP, ENTITIES, NETWORK_POLICY, NETWORK_POLICY_API_VERSION, PORT_PROTOCOLS, PROTOCOLS,
)
from netpol.reach.selectors import OPERATORS

POLICY_API_VERSIONS = {CNP: CILIUM_API_VERSION, CCNP: CILIUM_API_VERSION, NETWORK_POLICY: NETWORK_POLICY_API_VERSION}
# rule_validation.go: the L3 members IngressRule/EgressRule.sanitize refuse to combine.
INGRESS_L3 = ("fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "fromNodes", "fromGroups")
EGRESS_L3 = ("toCIDR", "toCIDRSet", "toEndpoints", "toEntities", "toServices", "toFQDNs", "toGroups", "toNodes")
MAX_PORTS = 40  # rule_validation.go maxPorts (and the CRD's maxItems)
SECTIONS = ("ingress", "ingressDeny", "egress", "egressDeny")
# IANA service name, as Kubernetes validates named ports (validation.IsValidPortName).
_SVC_NAME = re.compile(r"^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
SRC_SANITIZE = "cilium pkg/policy/api/rule_validation.go"
SRC_K8S_NP = "kubernetes pkg/apis/networking/validation/validation.go"
SRC_SELECTOR = "apimachinery pkg/apis/meta/v1/validation ValidateLabelSelector"
SRC_CRD = "the Cilium CRD schema"
# The CRD netpol targets (Cilium 1.20, ../shared/crds) types fromRequires/toRequires as "Deprecated.",
# `maxItems: 0`: removed in Cilium 1.19 (docs "Additional Label Requirements" up to 1.18).
REQUIRES_REMOVED = (
    "{key} is removed in Cilium 1.19 and later (the CRD allows no entries, `maxItems: 0`), so the API server "
    "rejects this policy and none of its rules applies; up to Cilium 1.18 it added its selectors as a "
    "requirement on every {side} peer of every rule selecting these endpoints (a constraint that grants "
    "nothing by itself); write the requirement into each {peer} selector instead")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    source: str  # where the rule comes from
    gate: str  # "api" (the API server rejects the document) | "agent" (Cilium refuses the rule)

    def __str__(self) -> str:
        who = "the API server rejects it" if self.gate == "api" else "Cilium does not import it"
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.message} ({who}; {self.source})"


def is_template(v: Any) -> bool:
    """A `${...}` variable (filled in before the manifest is applied): no value to validate yet."""
    return isinstance(v, str) and "${" in v


def _has_tmpl(v: Any) -> bool:
    if isinstance(v, str):
        return "${" in v
    if isinstance(v, Mapping):
        return any(_has_tmpl(k) or _has_tmpl(x) for k, x in v.items())
    if isinstance(v, list):
        return any(_has_tmpl(x) for x in v)
    return False


def _list(v: Any) -> list:
    return list(v) if isinstance(v, list) else []


def is_policy_kind(doc: Any) -> bool:
    return isinstance(doc, Mapping) and doc.get("kind") in POLICY_API_VERSIONS


# --- the API server --------------------------------------------------------------------------------

def selector_problems(sel: Any, path: str, source: str, strict_values: bool) -> Iterator[Problem]:
    """A LabelSelector: the operator enum (case-sensitive: `in` is not `In`), keys, string values.
    `strict_values`: In/NotIn need values and Exists/DoesNotExist take none (ValidateLabelSelector;
    the Cilium CRDs do not check it)."""
    if sel is None:
        return
    if not isinstance(sel, Mapping):
        yield Problem(path, "label selector is not an object", source, "api")
        return
    ml = sel.get("matchLabels")
    if ml is not None:
        if not isinstance(ml, Mapping):
            yield Problem(f"{path}.matchLabels", "matchLabels is not a map", source, "api")
        else:
            for k, v in ml.items():
                if not isinstance(v, str):
                    yield Problem(f'{path}.matchLabels["{k}"]', f"label value {v!r} is not a string", source, "api")
    exprs = sel.get("matchExpressions")
    if exprs is not None and not isinstance(exprs, list):
        yield Problem(f"{path}.matchExpressions", "matchExpressions is not a list", source, "api")
    for i, e in enumerate(_list(exprs)):
        ep = f"{path}.matchExpressions[{i}]"
        if not isinstance(e, Mapping):
            yield Problem(ep, "expression is not an object", source, "api")
            continue
        if not e.get("key"):
            yield Problem(f"{ep}.key", "expression has no key", source, "api")
        op = e.get("operator")
        if op not in OPERATORS:
            hint = next((o for o in OPERATORS if isinstance(op, str) and o.lower() == op.lower()), None)
            yield Problem(f"{ep}.operator", f"unknown operator {op!r}" + (f" (operators are case-sensitive: {hint})"
                          if hint else f" (valid: {', '.join(OPERATORS)})"), source, "api")
        elif strict_values and op in ("In", "NotIn") and not _list(e.get("values")):
            yield Problem(f"{ep}.values", f"operator {op} needs values", SRC_SELECTOR, "api")
        elif strict_values and op in ("Exists", "DoesNotExist") and _list(e.get("values")):
            yield Problem(f"{ep}.values", f"operator {op} takes no values", SRC_SELECTOR, "api")


def header_problems(doc: Mapping) -> Iterator[Problem]:
    kind = doc.get("kind")
    want = POLICY_API_VERSIONS[kind]
    av = doc.get("apiVersion")
    if av is None:
        wrong = [k for k in doc if isinstance(k, str) and k.lower() == "apiversion" and k != "apiVersion"]
        msg = (f"no apiVersion (found {wrong[0]!r}: keys are case-sensitive)" if wrong
               else "no apiVersion")
        yield Problem("apiVersion", f"{msg}; a {kind} needs apiVersion: {want}", "the Kubernetes API", "api")
    elif av != want:
        yield Problem("apiVersion", f"apiVersion {av!r} does not serve {kind} (valid: {want})", "the Kubernetes API",
                      "api")
    for k in doc:
        if isinstance(k, str) and k not in ("apiVersion", "kind", "metadata", "spec", "specs", "status") \
                and k.lower() in ("spec", "specs", "metadata"):
            yield Problem(k, f"unknown top-level key {k!r} (keys are case-sensitive: {k.lower()!r}); its content "
                          "is dropped", "the Kubernetes API", "api")
    meta = doc.get("metadata")
    if not isinstance(meta, Mapping) or not meta.get("name"):
        yield Problem("metadata.name", "no metadata.name", "the Kubernetes API", "api")


def cilium_api_problems(doc: Mapping) -> Iterator[Problem]:
    """What the CRD schema rejects, for the fields the engine reads (the full schema: `crd_problems`)."""
    src = SRC_CRD
    specs: list[tuple[str, Any]] = []
    if doc.get("spec") is not None:
        specs.append(("spec", doc["spec"]))
    if doc.get("specs") is not None:
        if not isinstance(doc["specs"], list):
            yield Problem("specs", "specs is not a list", src, "api")
        else:
            specs += [(f"specs[{i}]", s) for i, s in enumerate(doc["specs"])]
    for sp, spec in specs:
        if not isinstance(spec, Mapping):
            yield Problem(sp, "rule spec is not an object", src, "api")
            continue
        for k in ("endpointSelector", "nodeSelector"):
            yield from selector_problems(spec.get(k), f"{sp}.{k}", src, False)
        for sec in SECTIONS:
            rules = spec.get(sec)
            if rules is not None and not isinstance(rules, list):
                yield Problem(f"{sp}.{sec}", f"{sec} is not a list", src, "api")
                continue
            for i, r in enumerate(_list(rules)):
                rp = f"{sp}.{sec}[{i}]"
                if not isinstance(r, Mapping):
                    yield Problem(rp, "rule is not an object", src, "api")
                    continue
                for key in ("fromEndpoints", "toEndpoints", "fromNodes", "toNodes"):
                    for j, s in enumerate(_list(r.get(key))):
                        yield from selector_problems(s, f"{rp}.{key}[{j}]", src, False)
                for key in ("fromRequires", "toRequires"):
                    if _list(r.get(key)):
                        yield Problem(f"{rp}.{key}", REQUIRES_REMOVED.format(key=key, side="ingress" if key[0] == "f"
                                      else "egress", peer="fromEndpoints" if key[0] == "f" else "toEndpoints"),
                                      src, "api")
                for j, tp in enumerate(_list(r.get("toPorts"))):
                    for k, p in enumerate(_list(tp.get("ports")) if isinstance(tp, Mapping) else []):
                        pp = f"{rp}.toPorts[{j}].ports[{k}]"
                        if not isinstance(p, Mapping):
                            yield Problem(pp, "port entry is not an object", src, "api")
                            continue
                        port = p.get("port")
                        if port is not None and not isinstance(port, str):
                            yield Problem(f"{pp}.port", f"port {port!r} is a {type(port).__name__}; the CRD types "
                                          "ports as strings (quote it)", src, "api")
                        proto = p.get("protocol")
                        if proto is not None and not is_template(proto) and proto not in PORT_PROTOCOLS:
                            yield Problem(f"{pp}.protocol", f"unknown protocol {proto!r} (valid: "
                                          f"{', '.join(PORT_PROTOCOLS)}; case-sensitive)", src, "api")
                        end = p.get("endPort")
                        if end is not None and not is_template(end) and (isinstance(end, bool) or not isinstance(end, int)
                                                                    or not 0 <= end <= 65535):
                            yield Problem(f"{pp}.endPort", f"endPort {end!r} is not an integer in 0-65535", src, "api")


def _port_number(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():  # the Pulumi engine hands numbers as floats
        return int(v)
    return None


def np_api_problems(doc: Mapping) -> Iterator[Problem]:
    """Kubernetes' ValidateNetworkPolicySpec (validation.go) and the NetworkPolicy OpenAPI types."""
    src = SRC_K8S_NP
    spec = doc.get("spec")
    if not isinstance(spec, Mapping):
        yield Problem("spec", "a NetworkPolicy needs a spec (with a podSelector)", src, "api")
        return
    if "podSelector" not in spec:
        yield Problem("spec.podSelector", "podSelector is required (`{}` selects every pod of the namespace)",
                      "the NetworkPolicy OpenAPI schema", "api")
    yield from selector_problems(spec.get("podSelector"), "spec.podSelector", src, True)
    types = spec.get("policyTypes")
    if types is not None:
        if not isinstance(types, list):
            yield Problem("spec.policyTypes", "policyTypes is not a list", src, "api")
        else:
            for i, t in enumerate(types):
                if t not in ("Ingress", "Egress"):
                    yield Problem(f"spec.policyTypes[{i}]", f"unknown policy type {t!r} (valid: Ingress, Egress)",
                                  src, "api")
            if len(types) > 2:
                yield Problem("spec.policyTypes", "more than two policy types", src, "api")
    for sec, peer_key in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(sec)
        if rules is not None and not isinstance(rules, list):
            yield Problem(f"spec.{sec}", f"{sec} is not a list", src, "api")
            continue
        for i, r in enumerate(_list(rules)):
            rp = f"spec.{sec}[{i}]"
            if not isinstance(r, Mapping):
                yield Problem(rp, "rule is not an object", src, "api")
                continue
            for k, p in enumerate(_list(r.get("ports"))):
                yield from _np_port(p, f"{rp}.ports[{k}]")
            for j, peer in enumerate(_list(r.get(peer_key))):
                yield from _np_peer(peer, f"{rp}.{peer_key}[{j}]")


def _np_port(p: Any, pp: str) -> Iterator[Problem]:
    src = SRC_K8S_NP
    if not isinstance(p, Mapping):
        yield Problem(pp, "port entry is not an object", src, "api")
        return
    proto = p.get("protocol")
    if proto is not None and proto not in PROTOCOLS:  # validation.go validateNetworkPolicyPort
        yield Problem(f"{pp}.protocol", f"unsupported protocol {proto!r} (valid: {', '.join(PROTOCOLS)})", src, "api")
    port, end = p.get("port"), p.get("endPort")
    n = _port_number(port)
    if port is not None and not is_template(port):
        if isinstance(port, str):
            if port.isdigit():
                n = None  # a quoted number is an IntOrString string: a (bad) port name
                yield Problem(f"{pp}.port", f"port {port!r} is a quoted number: as a string it must be a port "
                              "name; write the number unquoted", src, "api")
            elif not _SVC_NAME.match(port):
                yield Problem(f"{pp}.port", f"port {port!r} is not a valid port name (IANA_SVC_NAME)", src, "api")
        elif n is None or not 1 <= n <= 65535:
            yield Problem(f"{pp}.port", f"port {port!r} is not in 1-65535", src, "api")
    if end is not None and not is_template(end):
        e = _port_number(end)
        if n is None:
            yield Problem(f"{pp}.endPort", "endPort may only be given with a numeric port", src, "api")
        elif e is None or not 1 <= e <= 65535:
            yield Problem(f"{pp}.endPort", f"endPort {end!r} is not in 1-65535", src, "api")
        elif e < n:
            yield Problem(f"{pp}.endPort", f"endPort {e} is below port {n}", src, "api")


def _np_peer(peer: Any, path: str) -> Iterator[Problem]:
    src = SRC_K8S_NP
    if not isinstance(peer, Mapping):
        yield Problem(path, "peer is not an object", src, "api")
        return
    has_sel = peer.get("podSelector") is not None or peer.get("namespaceSelector") is not None
    block = peer.get("ipBlock")
    if has_sel and block is not None:
        yield Problem(path, "a peer may not set ipBlock together with podSelector/namespaceSelector", src, "api")
    elif not has_sel and block is None:
        yield Problem(path, "a peer must set podSelector, namespaceSelector or ipBlock", src, "api")
    for k in ("podSelector", "namespaceSelector"):
        yield from selector_problems(peer.get(k), f"{path}.{k}", src, True)
    if block is not None:
        if not isinstance(block, Mapping) or not isinstance(block.get("cidr"), str):
            yield Problem(f"{path}.ipBlock.cidr", "ipBlock needs a cidr", src, "api")
            return
        if is_template(block["cidr"]):
            return
        try:
            net = ipaddress.ip_network(block["cidr"].strip(), strict=False)
        except ValueError:
            yield Problem(f"{path}.ipBlock.cidr", f"{block['cidr']!r} is not a CIDR", src, "api")
            return
        for e, ex in enumerate(_list(block.get("except"))):
            if is_template(ex):
                continue
            try:
                exn = ipaddress.ip_network(str(ex).strip(), strict=False)
            except ValueError:
                yield Problem(f"{path}.ipBlock.except[{e}]", f"{ex!r} is not a CIDR", src, "api")
                continue
            if exn.version != net.version or not exn.subnet_of(net) or exn == net:  # type: ignore[arg-type]
                yield Problem(f"{path}.ipBlock.except[{e}]", f"{ex} must be a strict subset of {block['cidr']}",
                              src, "api")


def api_problems(doc: Mapping) -> list[Problem]:
    """What the API server rejects, for a document of a policy kind (cheap; no schema file needed)."""
    if not is_policy_kind(doc):
        return []
    out = list(header_problems(doc))
    out += list(np_api_problems(doc) if doc.get("kind") == NETWORK_POLICY else cilium_api_problems(doc))
    return out


# --- the Cilium agent (rule_validation.go) ---------------------------------------------------------

def _cidr_ok(v: Any, rule: bool) -> str | None:
    """CIDR.sanitize (an address or a prefix) / CIDRRule.sanitize (a prefix only)."""
    s = str(v).strip()
    try:
        if "/" in s:
            ipaddress.ip_network(s, strict=False)
        elif rule:
            return f"{s!r} is not a prefix (a CIDRRule takes <address>/<length>)"
        else:
            ipaddress.ip_address(s)
    except ValueError:
        return f"unable to parse CIDR {s!r}"
    return None


def _port_rule(tp: Mapping, tpp: str, ingress: bool, host: bool) -> Iterator[Problem]:
    src = SRC_SANITIZE
    rules = tp.get("rules") if isinstance(tp.get("rules"), Mapping) else None
    has_dns = bool(rules and rules.get("dns"))
    l7_types = [k for k in ("http", "kafka", "dns") if rules and rules.get(k) is not None]
    if rules and rules.get("l7proto"):
        l7_types.append("l7proto")
    has_l7 = bool(rules) and any(bool(rules.get(k)) for k in ("http", "kafka", "dns", "l7"))
    if ingress and has_dns:
        yield Problem(f"{tpp}.rules.dns", "DNS rules are not allowed on ingress", src, "agent")
    if host and has_l7:
        yield Problem(f"{tpp}.rules", "host policies do not support L7 rules yet", src, "agent")
    if tp.get("serverNames") and has_l7 and tp.get("terminatingTLS") is None:
        yield Problem(f"{tpp}.serverNames", "serverNames are not allowed with L7 rules without TLS termination", src,
                      "agent")
    ports = _list(tp.get("ports"))
    if len(ports) > MAX_PORTS:
        yield Problem(f"{tpp}.ports", f"too many ports ({len(ports)}), the max is {MAX_PORTS}", src, "agent")
    zero = False
    for k, p in enumerate(ports):
        if not isinstance(p, Mapping):
            continue
        pp = f"{tpp}.ports[{k}]"
        port = p.get("port")
        if port is None or is_template(port):
            if port is None:
                yield Problem(f"{pp}.port", "port must be specified (use \"0\" for every port)", src, "agent")
            continue
        s = str(port)
        if not s.isdigit():
            if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", s.lower()) or not re.search("[a-z]", s.lower()):
                yield Problem(f"{pp}.port", f"unable to parse port {s!r}", src, "agent")
            continue
        n = int(s)
        if n > 65535:
            yield Problem(f"{pp}.port", f"unable to parse port {s!r}: out of range 0-65535", src, "agent")
            continue
        zero = zero or n == 0
        end = _port_number(p.get("endPort"))
        if has_dns and end is not None and end > n:
            yield Problem(f"{pp}.endPort", "DNS rules do not support port ranges", src, "agent")
        proto = p.get("protocol")
        if has_l7 and not has_dns and proto != "TCP":
            yield Problem(f"{pp}.protocol", f"L7 rules can only apply to TCP (not {proto or 'ANY'}) except for DNS "
                          "rules", src, "agent")
    if tp.get("listener") is not None:
        if ingress:
            yield Problem(f"{tpp}.listener", "listener is not allowed on ingress", src, "agent")
        if has_l7:
            yield Problem(f"{tpp}.listener", "listener is not allowed with L7 rules", src, "agent")
    if has_l7:
        if zero:
            yield Problem(f"{tpp}.rules", "L7 rules can not be used when a port is 0", src, "agent")
        if has_dns and not ports:
            yield Problem(f"{tpp}.rules.dns", "port 53 must be specified for DNS rules", src, "agent")
        if rules and rules.get("l7") is not None and not rules.get("l7proto"):
            yield Problem(f"{tpp}.rules.l7", "'l7' may only be specified when a 'l7proto' is also specified", src,
                          "agent")
        if len(l7_types) > 1:
            yield Problem(f"{tpp}.rules", "multiple L7 protocol rule types specified in single rule", src, "agent")


def _rule_sanitize(r: Mapping, rp: str, ingress: bool, host: bool) -> Iterator[Problem]:
    src = SRC_SANITIZE
    l3 = [k for k in (INGRESS_L3 if ingress else EGRESS_L3) if _list(r.get(k))]
    if len(l3) > 1:
        yield Problem(rp, f"combining {l3[0]} and {l3[1]} is not supported yet", src, "agent")
    if not ingress and _list(r.get("toServices")) and _list(r.get("toPorts")):
        yield Problem(rp, "combining toServices and toPorts is not supported yet", src, "agent")
    if _list(r.get("icmps")) and _list(r.get("toPorts")):
        yield Problem(rp, "the icmps block may only be present without toPorts (define a separate rule for "
                      "toPorts)", src, "agent")
    ent_key = "fromEntities" if ingress else "toEntities"
    for j, e in enumerate(_list(r.get(ent_key))):
        if e not in ENTITIES and not is_template(e):
            yield Problem(f"{rp}.{ent_key}[{j}]", f"unsupported entity {e!r} (valid: {', '.join(ENTITIES)})", src,
                          "agent")
    cidr_key, set_key = ("fromCIDR", "fromCIDRSet") if ingress else ("toCIDR", "toCIDRSet")
    for j, c in enumerate(_list(r.get(cidr_key))):
        if not is_template(c) and (err := _cidr_ok(c, rule=False)):
            yield Problem(f"{rp}.{cidr_key}[{j}]", err, src, "agent")
    for j, c in enumerate(_list(r.get(set_key))):
        if not isinstance(c, Mapping) or c.get("cidrGroupRef") or c.get("cidrGroupSelector") or c.get("cidr") is None:
            continue
        if is_template(c["cidr"]):
            continue
        if err := _cidr_ok(c["cidr"], rule=True):
            yield Problem(f"{rp}.{set_key}[{j}].cidr", err, src, "agent")
            continue
        net = ipaddress.ip_network(str(c["cidr"]).strip(), strict=False)
        for e, ex in enumerate(_list(c.get("except"))):
            if is_template(ex):
                continue
            try:
                exn = ipaddress.ip_network(str(ex).strip(), strict=False)
            except ValueError:
                yield Problem(f"{rp}.{set_key}[{j}].except[{e}]", f"unable to parse CIDR {ex!r}", src, "agent")
                continue
            if exn.version != net.version or exn.network_address not in net:
                yield Problem(f"{rp}.{set_key}[{j}].except[{e}]", f"allow CIDR prefix {c['cidr']} does not contain "
                              f"exclude CIDR prefix {ex}", src, "agent")
    for j, tp in enumerate(_list(r.get("toPorts"))):
        if isinstance(tp, Mapping):
            yield from _port_rule(tp, f"{rp}.toPorts[{j}]", ingress, host)


SRC_PARSE = "cilium pkg/k8s/apis/cilium.io/v2/cnp_types.go Parse"


def sanitize_problems(doc: Mapping) -> list[Problem]:
    """What the agent's reader refuses: `Parse` (cnp_types.go: an empty policy, a nodeSelector in a
    namespaced one) and `Rule.Sanitize` for every rule spec (rule_validation.go)."""
    if not isinstance(doc, Mapping) or doc.get("kind") not in (CNP, CCNP):
        return []
    out: list[Problem] = []
    if doc.get("spec") is None and doc.get("specs") is None:
        out.append(Problem("spec", f"neither spec nor specs: an empty {doc.get('kind')} (ErrEmptyCNP)", SRC_PARSE,
                           "agent"))
    if doc.get("kind") == CNP:
        for sp, spec in [("spec", doc.get("spec"))] + [(f"specs[{i}]", s) for i, s in enumerate(_list(doc.get("specs")))]:
            if isinstance(spec, Mapping) and spec.get("nodeSelector") is not None:
                out.append(Problem(f"{sp}.nodeSelector", "a CiliumNetworkPolicy rule cannot have a nodeSelector "
                                   "(host policies are cluster-wide)", SRC_PARSE, "agent"))
    specs: list[tuple[str, Any]] = []
    if isinstance(doc.get("spec"), Mapping):
        specs.append(("spec", doc["spec"]))
    specs += [(f"specs[{i}]", s) for i, s in enumerate(_list(doc.get("specs"))) if isinstance(s, Mapping)]
    for sp, spec in specs:
        es, ns = spec.get("endpointSelector"), spec.get("nodeSelector")
        if es is None and ns is None:
            out.append(Problem(sp, "rule must have one of endpointSelector or nodeSelector", SRC_SANITIZE, "agent"))
        elif es is not None and ns is not None:
            out.append(Problem(sp, "rule cannot have both endpointSelector and nodeSelector", SRC_SANITIZE, "agent"))
        host = ns is not None
        for sec in SECTIONS:
            for i, r in enumerate(_list(spec.get(sec))):
                if isinstance(r, Mapping):
                    out += _rule_sanitize(r, f"{sp}.{sec}[{i}]", sec.startswith("ingress"), host)
    return out


def rejection(doc: Mapping) -> list[Problem]:
    """Why Kubernetes or Cilium would refuse this policy document (empty: it takes effect)."""
    return api_problems(doc) + sanitize_problems(doc)


# --- the CRD schemas ---------------------------------------------------------------------------------

CRD_FILES = {
    CNP: "cilium.io_v2_ciliumnetworkpolicies.yaml",
    CCNP: "cilium.io_v2_ciliumclusterwidenetworkpolicies.yaml",
}


def crds_dir() -> Path:
    """$NETPOL_CRDS_DIR, else ../shared/crds beside the repository (where the tests find them)."""
    env = os.environ.get("NETPOL_CRDS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "crds"


def _translate(node: Any) -> Any:
    # Go RE2's `\PC` (not a control character) has no Python `re` spelling (the CRD's spec.log.value).
    if isinstance(node, dict):
        return {k: (v.replace("\\PC", "[^\\x00-\\x1f\\x7f-\\x9f]") if k == "pattern" and isinstance(v, str)
                    else _translate(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_translate(v) for v in node]
    return node


@functools.lru_cache(maxsize=4)
def crd_validator(kind: str, root: str) -> Any:
    """The jsonschema validator of a Cilium CRD's v2 schema, or None (no jsonschema, no CRD file)."""
    try:
        import jsonschema
        import yaml
    except ImportError:
        return None
    path = Path(root) / CRD_FILES[kind]
    if not path.is_file():
        return None
    from netpol import fastyaml
    from netpol.config import PlainDataLoader  # yaml.CSafeLoader's results, faster (two 380 KB CRDs per CLI run)

    text = path.read_text(encoding="utf-8")
    try:
        doc = fastyaml.load(text)  # yaml-rs when provably PyYAML's reading: ~21 vs 38-45 ms a CRD
    except fastyaml.Declined:
        doc = yaml.load(text, Loader=PlainDataLoader)
    version = next(v for v in doc["spec"]["versions"] if v["name"] == "v2")
    schema = _translate(version["schema"]["openAPIV3Schema"])
    return jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)(schema)


def crd_problems(doc: Mapping) -> list[Problem] | None:
    """Schema violations of a CNP/CCNP against its real CRD; None when the schema is unavailable."""
    kind = doc.get("kind")
    if kind not in CRD_FILES:
        return []
    v = crd_validator(kind, str(crds_dir()))
    if v is None:
        return None
    out = []
    for e in sorted(v.iter_errors(plain(doc)), key=lambda e: list(map(str, e.absolute_path))):
        if _has_tmpl(e.instance):
            continue  # a ${...} GitOps substitution is not judged
        path = _json_path(e.absolute_path)
        msg = e.message
        if path.endswith(("fromRequires", "toRequires")):
            key = path.rsplit(".", 1)[-1]
            msg = REQUIRES_REMOVED.format(key=key, side="ingress" if key[0] == "f" else "egress",
                                          peer="fromEndpoints" if key[0] == "f" else "toEndpoints")
        if e.validator in ("oneOf", "anyOf") and re.fullmatch(r"spec|specs\[\d+\]", path):
            msg = _schema_hint(e.validator, e.instance)
        elif len(msg) > 200:
            msg = msg[:200] + "..."
        out.append(Problem(path, msg, f"{SRC_CRD} ({CRD_FILES[kind]})", "api"))
    return out


def _schema_hint(validator: str, inst: Any) -> str:
    if validator == "anyOf":
        return "a rule spec needs at least one of ingress, ingressDeny, egress, egressDeny"
    keys = [k for k in ("endpointSelector", "nodeSelector") if isinstance(inst, Mapping) and k in inst]
    return f"a rule spec needs exactly one of endpointSelector, nodeSelector (has: {', '.join(keys) or 'neither'})"


def plain(v: Any) -> Any:
    """Pulumi hands numbers as floats: integral floats become ints (before schema validation, and
    before the guardrails ask the engine about a manifest the engine handed them)."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, Mapping):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def _json_path(parts: Any) -> str:
    out, prev = "", ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif prev == "matchLabels" or not str(p).replace("_", "").replace("-", "").isalnum():
            out += f'["{p}"]'
        else:
            out += ("." if out else "") + str(p)
        prev = str(p)
    return out
