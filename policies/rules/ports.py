"""`no-port-any`: every allow rule names its ports.

An allow rule (Cilium `ingress`/`egress`, NetworkPolicy `ingress`/`egress`) opens every port when it
has no `toPorts` (`ports`), an empty ports list, port "0", a port entry without a port (protocol ANY,
or a protocol alone), or a range spanning 1-65535.

Exempt:
* health-probe rules: an ingress rule whose only peer is entity `health`, or only 169.254.0.0/16;
* the escape hatch's allow-all: `fromEntities: [all]` / `toEntities: [all]` in a spec whose
  endpointSelector selects exactly the namespaces labelled network-policy.homelab/enforcement=disabled.
Rules that allow nothing (`{}`, which `no-explicit-default-deny` reports) and ICMP-only rules
(`icmps` without toPorts) open no port. Deny rules are not allow rules and are not checked here.
"""

from __future__ import annotations

from typing import Any, Mapping

from .base import MANDATORY, POLICY_KINDS, Context, Guardrail, GuardrailViolation, violation
from .cilium import (
    ALLOW_SECTIONS, as_int, as_list, has_template, is_cilium_policy, is_empty_rule, is_escape_hatch_allow_all_rule,
    is_health_rule, is_k8s_netpol, is_map, iter_policy_rules, peer_kinds,
)

NAME = "no-port-any"
FIX = 'list the ports explicitly, e.g. `toPorts: [{ports: [{port: "8080", protocol: TCP}]}]`'


def _peer_text(rule: Mapping[str, Any], section: str) -> str:
    kinds = peer_kinds(rule, section)
    if not kinds:
        return "from every peer" if section == "ingress" else "to every peer"
    return ", ".join(f"{k} {list(as_list(rule.get(k)))}" if not k.endswith("Endpoints") else k for k in kinds)


def _cilium_rule(m: Mapping[str, Any], rp: str, section: str, r: Mapping[str, Any]) -> list[GuardrailViolation]:
    tps = as_list(r.get("toPorts"))
    if not tps:
        if r.get("icmps"):
            return []
        return [violation(m, rp, f"{section} rule ({_peer_text(r, section)}) has no toPorts: it opens every port", FIX)]
    out = []
    for j, tp in enumerate(tps):
        if not is_map(tp):
            continue
        ports = as_list(tp.get("ports"))
        if not ports:
            out.append(violation(m, f"{rp}.toPorts[{j}]", f"{section} rule has a toPorts entry with no ports: "
                                 "it opens every port", FIX))
            continue
        for k, p in enumerate(ports):
            if not is_map(p):
                continue
            path = f"{rp}.toPorts[{j}].ports[{k}]"
            raw, proto = p.get("port"), p.get("protocol") or "ANY"
            if raw in (None, ""):
                out.append(violation(m, path, f"port entry with protocol {proto} and no port: it opens every "
                                     f"{'' if proto == 'ANY' else proto + ' '}port", FIX))
                continue
            if has_template(raw):
                continue
            n, end = as_int(raw), as_int(p.get("endPort"))
            if n == 0:
                out.append(violation(m, f"{path}.port", 'port "0" means every port', FIX))
            elif n is not None and n <= 1 and end is not None and end >= 65535:
                out.append(violation(m, f"{path}.endPort", f"port range {n}-{end} spans every port", FIX))
    return out


def _netpol(m: Mapping[str, Any]) -> list[GuardrailViolation]:
    spec = m.get("spec") if is_map(m.get("spec")) else {}
    out = []
    for sec in ("ingress", "egress"):
        for i, r in enumerate(as_list(spec.get(sec))):
            if not is_map(r):
                continue
            rp = f"spec.{sec}[{i}]"
            ports = as_list(r.get("ports"))
            if not ports:
                out.append(violation(m, rp, f"{sec} rule has no ports: it opens every port", FIX.replace(
                    "`toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]`", "`ports: [{port: 8080, protocol: TCP}]`")))
                continue
            for k, p in enumerate(ports):
                if is_map(p) and p.get("port") in (None, "", 0, "0"):
                    out.append(violation(m, f"{rp}.ports[{k}]", "port entry without a port opens every port", FIX))
    return out


def check(m: Mapping[str, Any], ctx: Context) -> list[GuardrailViolation]:
    if is_k8s_netpol(m):
        return _netpol(m)
    if not is_cilium_policy(m):
        return []
    out: list[GuardrailViolation] = []
    for _, spec, rp, sec, r in iter_policy_rules(m, ALLOW_SECTIONS):
        if is_empty_rule(r) or is_health_rule(sec, r) or is_escape_hatch_allow_all_rule(spec, sec, r):
            continue
        out += _cilium_rule(m, rp, sec, r)
    return out


RULE = Guardrail(
    name=NAME,
    description="No allow rule opens every port (exempt: health-probe rules and the escape-hatch allow-all): "
                "port lists must be explicit.",
    enforcement=MANDATORY,
    resource=check,
    kinds=POLICY_KINDS,
)
