"""`platform-policy-required-rules`: every platform namespace's default policy keeps the cluster working.

Which policy is a namespace's default policy: the CiliumNetworkPolicy named `<ns>-default` in a
platform namespace. For foreign trees that do not use that name, a CiliumNetworkPolicy in a platform
namespace that netpol did not render (no `network-policy.homelab/mesh` annotation), is not a
`<ns>-extra` policy, and whose (first) endpointSelector is `{}` is taken as the default policy.

Rules may sit in `spec` or in `specs`; only rule specs that select every pod of the namespace
(`endpointSelector: {}`, or only the namespace label) count. Required:
* DNS egress to kube-system pods `k8s-app=kube-dns` on 53/UDP and 53/TCP;
* Prometheus scrape ingress from monitoring pods `app.kubernetes.io/name=prometheus` on at least one
  explicit port;
* health ingress from entity `health` and from 169.254.0.0/16;
* for a mesh namespace (annotation `network-policy.homelab/mesh: "true"`, or listed in the pack config
  `meshNamespaces`): HBONE 15008/TCP from and to istio-system pods `app=ztunnel`.
Peers are matched by what they select (a selector that selects the kube-dns pods counts), ports by
what they admit; a rule that selects more than needed still satisfies the requirement (other rules
judge breadth).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from netpol import apis, defaults
from netpol import labels as L
from netpol import names as N
from netpol import wellknown as W

from .base import CILIUM_KINDS, MANDATORY, Context, Guardrail, GuardrailViolation, annotations_of, name_of, namespace_of, violation
from .cilium import (
    CNP, as_list, explicit_ports, is_cilium_policy, is_empty_selector, is_health_cidr, is_map, iter_rules, peer_selects, rule_covers_port,
    rule_specs, subject_is_namespace_wide,
)

NAME = "platform-policy-required-rules"


def _sel_yaml(ns: str, labels: Mapping[str, str]) -> str:
    inner = ", ".join(f"{k}: {v}" for k, v in {L.POD_NAMESPACE_LABEL: ns, **labels}.items())
    return f"{{matchLabels: {{{inner}}}}}"


def _ports_yaml(*pp: tuple[int, str]) -> str:
    return "[{ports: [" + ", ".join(f'{{port: "{p}", protocol: {proto}}}' for p, proto in pp) + "]}]"


def _peer_rules(policy: Mapping[str, Any], specs: Sequence[tuple[str, Mapping[str, Any]]], section: str,
                ns: str, labels: Mapping[str, str]) -> list[Mapping[str, Any]]:
    key = "fromEndpoints" if section == "ingress" else "toEndpoints"
    return [r for sp, spec in specs for _, _, r in iter_rules(sp, spec, (section,))
            if any(peer_selects(s, policy, ns, labels) for s in as_list(r.get(key)))]


def dns_egress_missing(policy: Mapping[str, Any], specs: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """The DNS protocols (of 53/UDP, 53/TCP) no egress rule of `specs` allows to kube-dns."""
    rules = _peer_rules(policy, specs, "egress", W.KUBE_DNS_NAMESPACE, W.KUBE_DNS_LABELS)
    return [f"{W.DNS_PORT}/{proto}" for proto in ("UDP", "TCP")
            if not any(rule_covers_port(r, W.DNS_PORT, proto) for r in rules)]


def _has_prometheus(policy, specs) -> bool:
    rules = _peer_rules(policy, specs, "ingress", W.PROMETHEUS_NAMESPACE, W.PROMETHEUS_LABELS)
    return any(rule_covers_port(r, p, proto, explicit=True) for r in rules
               for p in explicit_ports(r) for proto in apis.PROTOCOLS)


def _has_health_entity(policy, specs) -> bool:
    return any("health" in as_list(r.get("fromEntities"))
               for sp, spec in specs for _, _, r in iter_rules(sp, spec, ("ingress",)))


def _has_health_cidr(policy, specs) -> bool:
    for sp, spec in specs:
        for _, _, r in iter_rules(sp, spec, ("ingress",)):
            if any(is_health_cidr(c) for c in as_list(r.get("fromCIDR"))):
                return True
            if any(is_map(c) and is_health_cidr(c.get("cidr")) for c in as_list(r.get("fromCIDRSet"))):
                return True
    return False


def _hbone(section: str) -> Callable[[Mapping[str, Any], Sequence], bool]:
    def has(policy, specs) -> bool:
        rules = _peer_rules(policy, specs, section, W.ZTUNNEL_NAMESPACE, W.ZTUNNEL_LABELS)
        return any(rule_covers_port(r, W.HBONE_PORT, "TCP", explicit=True) for r in rules)
    return has


def is_default_policy(m: Mapping[str, Any], ctx: Context) -> bool:
    if not is_cilium_policy(m) or m.get("kind") != CNP:
        return False
    ns, name = namespace_of(m), name_of(m)
    if ns not in ctx.platform_namespaces:
        return False
    if name == N.platform_policy_name(ns):
        return True
    if L.MESH_ANNOTATION in annotations_of(m) or name == N.extra_policy_name(ns):
        return False
    specs = rule_specs(m)
    return bool(specs) and is_empty_selector(specs[0][1].get("endpointSelector"))


def is_mesh(m: Mapping[str, Any], ctx: Context) -> bool:
    return str(annotations_of(m).get(L.MESH_ANNOTATION, "")).lower() == "true" or namespace_of(m) in ctx.mesh_namespaces


def check(m: Mapping[str, Any], ctx: Context) -> list[GuardrailViolation]:
    if not is_default_policy(m, ctx):
        return []
    ns = namespace_of(m)
    all_specs = rule_specs(m)
    specs = [(sp, s) for sp, s in all_specs if subject_is_namespace_wide(s, m)]
    first = all_specs[0][0] if all_specs else "spec"
    out: list[GuardrailViolation] = []
    if all_specs and not specs:
        out.append(violation(
            m, f"{first}.endpointSelector", "no rule spec selects every pod of the namespace, so the required "
            "rules below cannot cover it", "put the required rules in a rule spec with `endpointSelector: {}`"))
    metrics = ", ".join(str(p) for p in defaults.METRICS_PORTS)
    missing_dns = dns_egress_missing(m, specs)
    if missing_dns:
        out.append(violation(
            m, f"{first}.egress", f"missing DNS egress to {W.KUBE_DNS_NAMESPACE}/kube-dns on {' and '.join(missing_dns)} "
            "(without it every pod of the namespace loses name resolution)",
            f"add to {first}.egress: {{toEndpoints: [{_sel_yaml(W.KUBE_DNS_NAMESPACE, W.KUBE_DNS_LABELS)}], "
            f"toPorts: {_ports_yaml((W.DNS_PORT, 'UDP'), (W.DNS_PORT, 'TCP'))}}}"))
    if not _has_prometheus(m, specs):
        out.append(violation(
            m, f"{first}.ingress", "missing Prometheus scrape ingress on an explicit metrics port",
            f"add to {first}.ingress: {{fromEndpoints: [{_sel_yaml(W.PROMETHEUS_NAMESPACE, W.PROMETHEUS_LABELS)}], "
            f"toPorts: [{{ports: [{{port: \"<metrics port>\", protocol: TCP}}]}}]}} (metricsPorts in netpol:"
            f"platformNamespaces; defaults {metrics})"))
    if not _has_health_entity(m, specs):
        out.append(violation(m, f"{first}.ingress", "missing health-probe ingress from entity `health`",
                             f"add to {first}.ingress: {{fromEntities: [health]}}"))
    if not _has_health_cidr(m, specs):
        out.append(violation(m, f"{first}.ingress", f"missing kubelet health-probe ingress from {W.HEALTH_CIDR}",
                             f'add to {first}.ingress: {{fromCIDR: ["{W.HEALTH_CIDR}"]}}'))
    if is_mesh(m, ctx):
        zt = _sel_yaml(W.ZTUNNEL_NAMESPACE, W.ZTUNNEL_LABELS)
        hb = _ports_yaml((W.HBONE_PORT, "TCP"))
        for section, verb, key in (("ingress", "from", "fromEndpoints"), ("egress", "to", "toEndpoints")):
            if not _hbone(section)(m, specs):
                out.append(violation(
                    m, f"{first}.{section}", f"mesh namespace `{ns}` is missing HBONE {W.HBONE_PORT}/TCP {verb} "
                    f"{W.ZTUNNEL_NAMESPACE}/ztunnel (ambient traffic would be dropped)",
                    f"add to {first}.{section}: {{{key}: [{zt}], toPorts: {hb}}}"))
    return out


RULE = Guardrail(
    name=NAME,
    description="Every platform namespace's default CiliumNetworkPolicy allows DNS to kube-dns, Prometheus scrapes, "
                "health probes and, in the mesh, HBONE to/from ztunnel.",
    enforcement=MANDATORY,
    resource=check,
    kinds=CILIUM_KINDS,
    config_keys=("platformNamespaces", "meshNamespaces"),
)
