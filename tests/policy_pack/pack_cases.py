"""The per-rule catalogue: for every rule, violating and compliant objects (exemptions included).

Each `Case` is a set of manifests plus the stack it runs on and the provider the resources sit on;
`target` says which manifest the rule must report (an index), "stack" for a stack-level violation,
"provider" for the provider itself, or None for a compliant case (the rule must stay silent).
`paths` are rule paths the violations must name. The same catalogue drives the pure-function tests
and the gRPC tests through the real pack process.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from netpol import labels as L
from netpol import apis
from netpol import names as N
from netpol import wellknown as W

CILIUM = apis.CILIUM_API_VERSION
TCP443 = [{"ports": [{"port": "443", "protocol": "TCP"}]}]
DNS_PORTS = [{"ports": [{"port": "53", "protocol": "UDP"}, {"port": "53", "protocol": "TCP"}]}]
KUBE_DNS = {"matchLabels": {L.POD_NAMESPACE_LABEL: W.KUBE_DNS_NAMESPACE, **W.KUBE_DNS_LABELS}}
PROMETHEUS = {"matchLabels": {L.POD_NAMESPACE_LABEL: W.PROMETHEUS_NAMESPACE, **W.PROMETHEUS_LABELS}}
ZTUNNEL = {"matchLabels": {L.POD_NAMESPACE_LABEL: W.ZTUNNEL_NAMESPACE, **W.ZTUNNEL_LABELS}}
HBONE = [{"ports": [{"port": str(W.HBONE_PORT), "protocol": "TCP"}]}]
ESCAPE_SELECTOR = {"matchLabels": {L.ns_label(L.ENFORCEMENT_LABEL): L.ENFORCEMENT_DISABLED}}


def cnp(name: str, ns: str, spec: dict | None = None, *, specs: list | None = None,
        annotations: dict | None = None) -> dict:
    m: dict[str, Any] = {"apiVersion": CILIUM, "kind": apis.CNP, "metadata": {"name": name, "namespace": ns}}
    if annotations:
        m["metadata"]["annotations"] = annotations
    if spec is not None:
        m["spec"] = spec
    if specs is not None:
        m["specs"] = specs
    return m


def ccnp(name: str, spec: dict | None = None, *, specs: list | None = None) -> dict:
    m: dict[str, Any] = {"apiVersion": CILIUM, "kind": apis.CCNP, "metadata": {"name": name}}
    if spec is not None:
        m["spec"] = spec
    if specs is not None:
        m["specs"] = specs
    return m


def namespace(name: str, labels: dict | None = None, annotations: dict | None = None, kind: str = "Namespace") -> dict:
    md: dict[str, Any] = {"name": name}
    if labels:
        md["labels"] = labels
    if annotations:
        md["annotations"] = annotations
    return {"apiVersion": "v1", "kind": kind, "metadata": md}


def app_ns(name: str, profile: str | None = "standard", **extra_labels: str) -> dict:
    labels = {L.MANAGED_BY_LABEL: L.MANAGED_BY_VALUE, **extra_labels}
    if profile is not None:
        labels[L.PROFILE_LABEL] = profile
    return namespace(name, labels)


def netpol(name: str, ns: str, spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def egress_443(**peer: Any) -> dict:
    return {"endpointSelector": {}, "egress": [{**peer, "toPorts": deepcopy(TCP443)}]}


def platform_policy(ns: str, *, mesh: bool = False, drop: tuple[str, ...] = (), name: str | None = None,
                    annotate: bool = True) -> dict:
    """A complete `<ns>-default` as the operators' guide's template writes it, minus `drop`ped parts."""
    ingress = [
        {"fromEntities": ["health"]},
        {"fromCIDR": [W.HEALTH_CIDR]},
        {"fromEndpoints": [PROMETHEUS], "toPorts": [{"ports": [{"port": "9100", "protocol": "TCP"}]}]},
    ]
    egress = [{"toEndpoints": [KUBE_DNS], "toPorts": deepcopy(DNS_PORTS)}]
    if mesh:
        ingress.append({"fromEndpoints": [ZTUNNEL], "toPorts": deepcopy(HBONE)})
        egress.append({"toEndpoints": [ZTUNNEL], "toPorts": deepcopy(HBONE)})
    if "health-entity" in drop:
        ingress = [r for r in ingress if r.get("fromEntities") != ["health"]]
    if "health-cidr" in drop:
        ingress = [r for r in ingress if "fromCIDR" not in r]
    if "prometheus" in drop:
        ingress = [r for r in ingress if r.get("fromEndpoints") != [PROMETHEUS]]
    if "prometheus-ports" in drop:
        for r in ingress:
            if r.get("fromEndpoints") == [PROMETHEUS]:
                r.pop("toPorts")
    if "dns" in drop:
        egress = [r for r in egress if r.get("toEndpoints") != [KUBE_DNS]]
    if "dns-tcp" in drop:
        egress[0]["toPorts"][0]["ports"] = [{"port": "53", "protocol": "UDP"}]
    if "hbone-in" in drop:
        ingress = [r for r in ingress if r.get("fromEndpoints") != [ZTUNNEL]]
    if "hbone-out" in drop:
        egress = [r for r in egress if r.get("toEndpoints") != [ZTUNNEL]]
    ann = {L.MESH_ANNOTATION: "true" if mesh else "false"} if annotate else None
    return cnp(name or N.platform_policy_name(ns), ns, annotations=ann,
               specs=[{"description": f"{ns}: required rules", "endpointSelector": {}, "ingress": ingress,
                       "egress": egress}])


def dns_baseline(pattern: str = "*") -> dict:
    return ccnp(N.BASELINE_DNS, {"endpointSelector": {}, "egress": [{"toEndpoints": [KUBE_DNS], "toPorts": [
        {**deepcopy(DNS_PORTS[0]), "rules": {"dns": [{"matchPattern": pattern}]}}]}]})


def escape_hatch() -> dict:
    return ccnp(N.ESCAPE_HATCH, {"endpointSelector": deepcopy(ESCAPE_SELECTOR), "ingress": [{"fromEntities": ["all"]}],
                                 "egress": [{"toEntities": ["all"]}]})


def prometheus_rule(alerts: tuple[str, ...] = (N.ALERT_DISABLED, N.ALERT_DISABLED_LONG), runbook: bool = True) -> dict:
    rules = []
    for a in alerts:
        r: dict[str, Any] = {"alert": a, "expr": 'kube_namespace_labels{label_network_policy_homelab_enforcement="disabled"}'}
        if runbook:
            r["annotations"] = {"runbook_url": N.RUNBOOK_PATH}
        rules.append(r)
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": N.ESCAPE_HATCH_RULE, "namespace": "monitoring"},
            "spec": {"groups": [{"name": "network-policy", "rules": rules}]}}


def rfc3339(delta: timedelta) -> str:
    return (datetime.now(timezone.utc) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def disabled_ns(name: str = "broken-app", *, reason: str | None = "INC-42: payments drop after upgrade",
                expires: str | None = "+2d") -> dict:
    ann = {}
    if reason is not None:
        ann[L.ESCAPE_HATCH_REASON_ANNOTATION] = reason
    if expires == "+2d":
        expires = rfc3339(timedelta(days=2))
    if expires is not None:
        ann[L.ESCAPE_HATCH_EXPIRES_ANNOTATION] = expires
    m = app_ns(name, "standard", **{L.ENFORCEMENT_LABEL: L.ENFORCEMENT_DISABLED})
    if ann:
        m["metadata"]["annotations"] = ann
    return m


def baseline_set(drop: str | tuple[str, ...] = (), dns: dict | None = None) -> list[dict]:
    """The five required baselines (DNS first), minus `drop`, with `dns` replacing the DNS baseline."""
    drop = (drop,) if isinstance(drop, str) else drop
    every = {
        N.BASELINE_DNS: dns or dns_baseline(),
        N.BASELINE_HEALTH: ccnp(N.BASELINE_HEALTH, {"endpointSelector": {}, "ingress": [
            {"fromEntities": ["health"]}, {"fromCIDR": [W.HEALTH_CIDR]}]}),
        N.BASELINE_PROMETHEUS: ccnp(N.BASELINE_PROMETHEUS, {"endpointSelector": {}, "ingress": [
            {"fromEndpoints": [PROMETHEUS], "toPorts": [{"ports": [{"port": "9100", "protocol": "TCP"}]}]}]}),
        N.BASELINE_KUBE_API: ccnp(N.BASELINE_KUBE_API, {"endpointSelector": {"matchLabels": {
            L.ns_label(L.access_label("kube-api")): "true"}}, "egress": [{"toEntities": ["kube-apiserver"], "toPorts": [
                {"ports": [{"port": "6443", "protocol": "TCP"}, {"port": "443", "protocol": "TCP"}]}]}]}),
        N.ESCAPE_HATCH: escape_hatch(),
    }
    return [m for n, m in every.items() if n not in drop] + [prometheus_rule()]


@dataclass
class Case:
    id: str
    rule: str
    manifests: list[dict]
    target: int | str | None  # index, "stack", "provider", or None (compliant)
    paths: tuple[str, ...] = ()
    stack: str = "live"
    provider: str = "render"  # render | direct | default
    count: int | None = None  # exact number of violations of `rule`, when it matters
    pack_config: dict = field(default_factory=dict)


def _c(id: str, rule: str, manifests: list[dict] | dict, target: Any = 0, *paths: str, **kw: Any) -> Case:
    return Case(id, rule, manifests if isinstance(manifests, list) else [manifests], target, tuple(paths), **kw)


DENY = "no-explicit-default-deny"
PLAT = "no-profile-on-platform-namespace"
APP = "app-namespace-requires-profile"
IPS = "no-hardcoded-ips"
PORT = "no-port-any"
ESC = "escape-hatch-requires-runbook"
DIRECT = "direct-apply-only-on-dev"
REQ = "platform-policy-required-rules"
BASE = "baselines-present"
VALID = "cilium-policy-valid"
FQDN = "fqdn-needs-dns-visibility"


def cases() -> list[Case]:
    world443 = egress_443(toEntities=["world"])
    out = [
        # --- no-explicit-default-deny
        _c("deny-name", DENY, cnp("default-deny", "shop", world443), 0, "metadata.name"),
        _c("deny-name-suffix", DENY, ccnp("cluster-deny-all", world443), 0, "metadata.name"),
        _c("deny-empty-ingress-rule", DENY, ccnp("lockdown", {"endpointSelector": {}, "ingress": [{}]}), 0,
           "spec.ingress[0]"),
        _c("deny-empty-egress-rule-in-specs", DENY, cnp("shop-x", "shop", specs=[world443, {"endpointSelector": {},
                                                                                           "egress": [{}]}]),
           0, "specs[1].egress[0]"),
        # `egress: []` is a no-op in Cilium (Sanitize: default deny only when len(Egress) > 0): no deny.
        _c("ok-empty-section-is-a-no-op", DENY, ccnp("no-egress", {"endpointSelector": {"matchLabels": {"a": "b"}},
                                                                   "ingress": [{"fromEntities": ["cluster"],
                                                                                "toPorts": TCP443}],
                                                                   "egress": []}), None),
        _c("deny-rule-all", DENY, ccnp("block", {"endpointSelector": {}, "egressDeny": [{"toEntities": ["all"]}]}), 0,
           "spec.egressDeny[0]"),
        _c("deny-rule-world-cluster", DENY, cnp("block", "shop", {"endpointSelector": {}, "ingressDeny": [
            {"fromEntities": ["world", "cluster"]}]}), 0, "spec.ingressDeny[0]"),
        _c("deny-rule-empty-selector", DENY, cnp("block", "shop", {"endpointSelector": {}, "ingressDeny": [
            {"fromEndpoints": [{}]}]}), 0, "spec.ingressDeny[0]"),
        _c("deny-rule-0/0", DENY, cnp("block", "shop", {"endpointSelector": {}, "egressDeny": [
            {"toCIDR": ["0.0.0.0/0"]}]}), 0, "spec.egressDeny[0]"),
        _c("deny-netpol-empty", DENY, netpol("deny", "shop", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
           0, "spec.ingress", "spec.egress", count=2),
        _c("deny-netpol-implicit-types", DENY, netpol("lock", "shop", {"podSelector": {}}), 0, "spec.ingress"),
        _c("ok-targeted-deny", DENY, cnp("no-smtp", "shop", {"endpointSelector": {}, "egressDeny": [
            {"toEntities": ["world"], "toPorts": [{"ports": [{"port": "25", "protocol": "TCP"}]}]}]}), None),
        _c("ok-netpol-some-pods", DENY, netpol("isolate-db", "shop", {"podSelector": {"matchLabels": {"app": "db"}},
                                                                     "policyTypes": ["Ingress"]}), None),
        _c("ok-allow-policy", DENY, cnp("shop-egress", "shop", world443), None),
        # --- no-profile-on-platform-namespace
        _c("platform-profile", PLAT, namespace("monitoring", {L.PROFILE_LABEL: "standard"}), 0,
           f'metadata.labels["{L.PROFILE_LABEL}"]'),
        _c("platform-profile-patch", PLAT, namespace("database", {L.PROFILE_LABEL: "internal"}, kind="NamespacePatch"), 0,
           f'metadata.labels["{L.PROFILE_LABEL}"]'),
        _c("ok-platform-no-profile", PLAT, namespace("monitoring", {"team": "obs"}), None),
        _c("ok-app-profile", PLAT, app_ns("shop"), None),
        _c("platform-profile-custom-list", PLAT, namespace("tools", {L.PROFILE_LABEL: "standard"}), 0,
           pack_config={PLAT: {"platformNamespaces": ["tools"]}}),
        _c("ok-custom-list-monitoring", PLAT, namespace("monitoring", {L.PROFILE_LABEL: "standard"}), None,
           pack_config={PLAT: {"platformNamespaces": ["tools"]}}),
        # --- app-namespace-requires-profile
        _c("app-no-profile", APP, app_ns("shop", None), 0, f'metadata.labels["{L.PROFILE_LABEL}"]'),
        _c("app-bad-profile", APP, app_ns("shop", "premium"), 0, f'metadata.labels["{L.PROFILE_LABEL}"]'),
        _c("ok-app-isolated", APP, app_ns("batch", "isolated"), None),
        _c("ok-unmanaged-ns", APP, namespace("legacy"), None),
        _c("ok-managed-platform-ns", APP, app_ns("kube-system", None), None),
        # --- no-hardcoded-ips
        _c("ip-tocidr", IPS, cnp("shop-x", "shop", egress_443(toCIDR=["10.0.0.0/8"])), 0, "spec.egress[0].toCIDR[0]"),
        _c("ip-tocidrset", IPS, cnp("shop-x", "shop", egress_443(toCIDRSet=[{"cidr": "0.0.0.0/0",
                                                                             "except": ["10.0.0.0/8"]}])),
           0, "spec.egress[0].toCIDRSet[0].cidr", "spec.egress[0].toCIDRSet[0].except[0]", count=2),
        _c("ip-fromcidr-host", IPS, cnp("shop-x", "shop", {"endpointSelector": {}, "ingress": [
            {"fromCIDR": ["192.168.1.10/32"], "toPorts": TCP443}]}), 0, "spec.ingress[0].fromCIDR[0]"),
        _c("ip-ipv6", IPS, cnp("shop-x", "shop", egress_443(toCIDR=["2001:db8::/32"])), 0, "spec.egress[0].toCIDR[0]"),
        _c("ip-metadata-service", IPS, cnp("shop-x", "shop", egress_443(toCIDR=["169.254.169.254/32"])), 0,
           "spec.egress[0].toCIDR[0]"),
        _c("ip-health-cidr-egress", IPS, cnp("shop-x", "shop", egress_443(toCIDR=[W.HEALTH_CIDR])), 0,
           "spec.egress[0].toCIDR[0]"),
        _c("ip-template", IPS, ccnp("bgp", {"nodeSelector": {}, "ingress": [{"fromCIDR": ["${router_ip}/32"], "toPorts": [
            {"ports": [{"port": "179", "protocol": "TCP"}]}]}]}), 0, "spec.ingress[0].fromCIDR[0]"),
        _c("ip-in-specs", IPS, cnp("shop-x", "shop", specs=[world443, egress_443(toCIDR=["8.8.8.8/32"])]), 0,
           "specs[1].egress[0].toCIDR[0]"),
        _c("ip-netpol-ipblock", IPS, netpol("np", "shop", {"podSelector": {}, "egress": [
            {"to": [{"ipBlock": {"cidr": "10.1.0.0/16"}}], "ports": [{"port": 443}]}]}), 0,
           "spec.egress[0].to[0].ipBlock.cidr"),
        _c("ok-health-cidr-ingress", IPS, ccnp(N.BASELINE_HEALTH, {"endpointSelector": {}, "ingress": [
            {"fromEntities": ["health"]}, {"fromCIDR": [W.HEALTH_CIDR]}]}), None),
        _c("ok-health-cidrset-ingress", IPS, cnp("x", "shop", {"endpointSelector": {}, "ingress": [
            {"fromCIDRSet": [{"cidr": W.HEALTH_CIDR}]}]}), None),
        _c("ok-cidr-group-ref", IPS, cnp("shop-x", "shop", egress_443(toCIDRSet=[{"cidrGroupRef": "partners"}])), None),
        _c("ok-selectors-only", IPS, cnp("shop-x", "shop", egress_443(toEndpoints=[{"matchLabels": {"app": "db"}}])),
           None),
        # --- no-port-any
        _c("port-no-toports", PORT, cnp("shop-x", "shop", {"endpointSelector": {}, "egress": [
            {"toEntities": ["world"]}]}), 0, "spec.egress[0]"),
        _c("port-empty-ports", PORT, cnp("shop-x", "shop", {"endpointSelector": {}, "egress": [
            {"toEntities": ["world"], "toPorts": [{}]}]}), 0, "spec.egress[0].toPorts[0]"),
        _c("port-zero", PORT, cnp("shop-x", "shop", {"endpointSelector": {}, "ingress": [
            {"fromEndpoints": [{}], "toPorts": [{"ports": [{"port": "0", "protocol": "TCP"}]}]}]}), 0,
           "spec.ingress[0].toPorts[0].ports[0].port"),
        _c("port-any-protocol", PORT, cnp("shop-x", "shop", {"endpointSelector": {}, "egress": [
            {"toEndpoints": [{}], "toPorts": [{"ports": [{"protocol": "ANY"}]}]}]}), 0,
           "spec.egress[0].toPorts[0].ports[0]"),
        _c("port-full-range", PORT, cnp("shop-x", "shop", {"endpointSelector": {}, "egress": [
            {"toEntities": ["world"], "toPorts": [{"ports": [{"port": "1", "endPort": 65535, "protocol": "TCP"}]}]}]}),
           0, "spec.egress[0].toPorts[0].ports[0].endPort"),
        _c("port-all-entity-not-escape-hatch", PORT, ccnp("allow-everything", {"endpointSelector": {}, "ingress": [
            {"fromEntities": ["all"]}]}), 0, "spec.ingress[0]"),
        _c("port-health-plus-host", PORT, ccnp("probes", {"endpointSelector": {}, "ingress": [
            {"fromEntities": ["health", "host"]}]}), 0, "spec.ingress[0]"),
        _c("port-netpol", PORT, netpol("np", "shop", {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}),
           0, "spec.ingress[0]"),
        _c("ok-escape-hatch", PORT, escape_hatch(), None),
        _c("ok-escape-hatch-expressions", PORT, ccnp("hatch", {"endpointSelector": {"matchExpressions": [
            {"key": L.ns_label(L.ENFORCEMENT_LABEL), "operator": "In", "values": ["disabled"]}]},
            "ingress": [{"fromEntities": ["all"]}], "egress": [{"toEntities": ["all"]}]}), None),
        _c("ok-health-entity", PORT, ccnp(N.BASELINE_HEALTH, {"endpointSelector": {}, "ingress": [
            {"fromEntities": ["health"]}, {"fromCIDR": [W.HEALTH_CIDR]}]}), None),
        _c("ok-explicit-ports", PORT, cnp("shop-x", "shop", world443), None),
        _c("ok-icmp-only", PORT, cnp("shop-x", "shop", {"endpointSelector": {}, "egress": [
            {"toEntities": ["world"], "icmps": [{"fields": [{"type": 8, "family": "IPv4"}]}]}]}), None),
        # --- escape-hatch-requires-runbook (Namespace half)
        _c("hatch-no-annotations", ESC, disabled_ns(reason=None, expires=None), 0,
           f'metadata.annotations["{L.ESCAPE_HATCH_REASON_ANNOTATION}"]',
           f'metadata.annotations["{L.ESCAPE_HATCH_EXPIRES_ANNOTATION}"]', count=2),
        _c("hatch-empty-reason", ESC, disabled_ns(reason="  "), 0,
           f'metadata.annotations["{L.ESCAPE_HATCH_REASON_ANNOTATION}"]', count=1),
        _c("hatch-expired", ESC, disabled_ns(expires=rfc3339(-timedelta(hours=1))), 0,
           f'metadata.annotations["{L.ESCAPE_HATCH_EXPIRES_ANNOTATION}"]', count=1),
        _c("hatch-too-far", ESC, disabled_ns(expires=rfc3339(timedelta(days=30))), 0, count=1),
        _c("hatch-not-rfc3339", ESC, disabled_ns(expires="next tuesday"), 0, count=1),
        _c("hatch-date-only", ESC, disabled_ns(expires="2030-01-01"), 0, count=1),
        _c("ok-hatch-documented", ESC, disabled_ns(), None),
        _c("ok-hatch-offset", ESC, disabled_ns(expires=(datetime.now(timezone.utc) + timedelta(days=3)).astimezone(
            timezone(timedelta(hours=2))).isoformat(timespec="seconds")), None),
        _c("ok-enforced-ns", ESC, app_ns("shop"), None),
        # --- escape-hatch-requires-runbook (stack half)
        _c("hatch-no-alerts", ESC, [escape_hatch()], 0),
        _c("hatch-one-alert", ESC, [escape_hatch(), prometheus_rule((N.ALERT_DISABLED,))], 0),
        _c("hatch-no-runbook", ESC, [escape_hatch(), prometheus_rule(runbook=False)], 0),
        _c("ok-hatch-alerts", ESC, [escape_hatch(), prometheus_rule()], None),
        # --- direct-apply-only-on-dev
        _c("direct-provider-live", DIRECT, [app_ns("shop")], "provider", provider="direct"),
        _c("default-provider-live", DIRECT, [app_ns("shop"), cnp("shop-x", "shop", world443)], 0, provider="default"),
        _c("direct-provider-integration", DIRECT, [app_ns("shop")], "provider", provider="direct", stack="integration"),
        _c("ok-direct-on-dev", DIRECT, [app_ns("shop")], None, provider="direct", stack="dev"),
        _c("ok-gitops-live", DIRECT, [app_ns("shop")], None, provider="render"),
        _c("ok-direct-allowed-by-config", DIRECT, [app_ns("shop")], None, provider="direct", stack="staging",
           pack_config={DIRECT: {"directApplyStacks": ["dev", "staging"]}}),
        _c("direct-dev-not-allowed-by-config", DIRECT, [app_ns("shop")], "provider", provider="direct", stack="dev",
           pack_config={DIRECT: {"directApplyStacks": []}}),
        # --- platform-policy-required-rules
        _c("ok-platform-complete", REQ, platform_policy("database"), None),
        _c("ok-platform-mesh-complete", REQ, platform_policy("istio-gateway", mesh=True), None),
        _c("platform-no-dns", REQ, platform_policy("database", drop=("dns",)), 0, "specs[0].egress"),
        _c("platform-dns-udp-only", REQ, platform_policy("database", drop=("dns-tcp",)), 0, "specs[0].egress"),
        _c("platform-no-health-entity", REQ, platform_policy("cache", drop=("health-entity",)), 0, "specs[0].ingress"),
        _c("platform-no-health-cidr", REQ, platform_policy("cache", drop=("health-cidr",)), 0, "specs[0].ingress"),
        _c("platform-no-prometheus", REQ, platform_policy("garage", drop=("prometheus",)), 0, "specs[0].ingress"),
        _c("platform-prometheus-any-port", REQ, platform_policy("garage", drop=("prometheus-ports",)), 0,
           "specs[0].ingress"),
        _c("platform-mesh-no-hbone", REQ, platform_policy("istio-gateway", mesh=True, drop=("hbone-in", "hbone-out")),
           0, "specs[0].ingress", "specs[0].egress", count=2),
        _c("platform-mesh-by-config", REQ, platform_policy("cache", annotate=False), 0, count=2,
           pack_config={REQ: {"meshNamespaces": ["cache"]}}),
        _c("platform-foreign-name", REQ, cnp("cache-policy", "cache", {"endpointSelector": {}, "ingress": [
            {"fromEntities": ["cluster"], "toPorts": [{"ports": [{"port": "6379", "protocol": "TCP"}]}]}]}), 0),
        _c("ok-platform-extra", REQ, cnp("cache-extra", "cache", egress_443(toEntities=["world"])), None),
        _c("ok-app-ns-policy", REQ, cnp("shop-default", "shop", egress_443(toEntities=["world"])), None),
        _c("ok-platform-subset-selector", REQ, cnp("cache-workers", "cache", {
            "endpointSelector": {"matchLabels": {"app": "worker"}}, "egress": [
                {"toEntities": ["world"], "toPorts": TCP443}]}), None),
        # --- baselines-present
        _c("ok-baselines", BASE, baseline_set(), None),
        _c("baselines-no-dns", BASE, baseline_set(drop=N.BASELINE_DNS), "stack", count=1),
        _c("baselines-no-hatch-no-kube-api", BASE, baseline_set(drop=(N.ESCAPE_HATCH, N.BASELINE_KUBE_API)), "stack",
           count=2),
        _c("baselines-dns-udp-only", BASE, baseline_set(dns=ccnp(N.BASELINE_DNS, {"endpointSelector": {}, "egress": [
            {"toEndpoints": [KUBE_DNS], "toPorts": [{"ports": [{"port": "53", "protocol": "UDP"}]}]}]})), 0,
           "spec.egress", count=1),
        _c("baselines-dns-not-everyone", BASE, baseline_set(dns=ccnp(N.BASELINE_DNS, {
            "endpointSelector": {"matchLabels": {"app": "x"}}, "egress": deepcopy(dns_baseline()["spec"]["egress"])})),
           0, "spec.endpointSelector", count=1),
        _c("baselines-renamed-to-cnp", BASE, baseline_set(dns=cnp(N.BASELINE_DNS, "kube-system",
                                                                  deepcopy(dns_baseline()["spec"]))), "stack"),
        # --- cilium-policy-valid
        _c("valid-both-selectors", VALID, ccnp("x", {"endpointSelector": {}, "nodeSelector": {}, "egress": [
            {"toEntities": ["world"], "toPorts": TCP443}]}), 0, "spec"),
        _c("valid-no-selector", VALID, cnp("x", "shop", {"egress": [{"toEntities": ["world"], "toPorts": TCP443}]}), 0,
           "spec"),
        _c("valid-node-selector-in-cnp", VALID, cnp("x", "shop", {"nodeSelector": {}, "egress": [
            {"toEntities": ["world"], "toPorts": TCP443}]}), 0, "spec.nodeSelector"),
        _c("valid-no-rule-section", VALID, cnp("x", "shop", {"endpointSelector": {}, "description": "nothing"}), 0,
           "spec"),
        _c("valid-no-spec", VALID, cnp("x", "shop"), 0, "spec"),
        # Named ports are valid (CRD pattern, Sanitize's IANA service names); port "0" is every port.
        _c("ok-valid-named-port", VALID, cnp("x", "shop", {"endpointSelector": {}, "egress": [
            {"toEntities": ["world"], "toPorts": [{"ports": [{"port": "https", "protocol": "TCP"}]}]}]}), None),
        _c("ok-valid-port-zero", VALID, cnp("x", "shop", {"endpointSelector": {}, "egress": [
            {"toEntities": ["world"], "toPorts": [{"ports": [{"port": "0", "protocol": "TCP"}]}]}]}), None),
        _c("valid-operator-lowercase", VALID, cnp("x", "shop", {"endpointSelector": {"matchExpressions": [
            {"key": "app", "operator": "in", "values": ["a"]}]}, "egress": [
            {"toEntities": ["world"], "toPorts": TCP443}]}), 0, "spec.endpointSelector.matchExpressions[0].operator"),
        _c("valid-l7-on-any-protocol", VALID, cnp("x", "shop", {"endpointSelector": {}, "egress": [
            {"toEntities": ["world"], "toPorts": [{"ports": [{"port": "80"}], "rules": {"http": [{"path": "/"}]}}]}]}),
           0, "spec.egress[0].toPorts[0].ports[0].protocol"),
        _c("valid-requires-removed", VALID, cnp("x", "shop", {"endpointSelector": {}, "ingress": [
            {"fromEndpoints": [{}], "fromRequires": [{"matchLabels": {"env": "prod"}}]}]}), 0,
           "spec.ingress[0].fromRequires"),
        _c("valid-netpol-bad-peer", VALID, netpol("np", "shop", {"podSelector": {}, "ingress": [
            {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]}), 0, "spec.ingress[0].from[0]"),
        _c("valid-netpol-endport-named", VALID, netpol("np", "shop", {"podSelector": {}, "egress": [
            {"ports": [{"port": "https", "endPort": 500}]}]}), 0, "spec.egress[0].ports[0].endPort"),
        _c("ok-valid-netpol", VALID, netpol("np", "shop", {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [
            {"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"a": "b"}}}],
             "ports": [{"port": 5432, "endPort": 5440}]}]}), None),
        _c("valid-port-range", VALID, cnp("x", "shop", {"endpointSelector": {}, "egress": [
            {"toEntities": ["world"], "toPorts": [{"ports": [{"port": "70000", "protocol": "TCP"}]}]}]}), 0,
           "spec.egress[0].toPorts[0].ports[0].port"),
        _c("valid-int-port", VALID, cnp("x", "shop", {"endpointSelector": {}, "egress": [
            {"toEntities": ["world"], "toPorts": [{"ports": [{"port": 443, "protocol": "TCP"}]}]}]}), 0,
           "spec.egress[0].toPorts[0].ports[0].port"),
        _c("valid-protocol-case", VALID, cnp("x", "shop", {"endpointSelector": {}, "egress": [
            {"toEntities": ["world"], "toPorts": [{"ports": [{"port": "443", "protocol": "tcp"}]}]}]}), 0,
           "spec.egress[0].toPorts[0].ports[0].protocol"),
        _c("valid-protocol-icmp", VALID, cnp("x", "shop", {"endpointSelector": {}, "egress": [
            {"toEntities": ["world"], "toPorts": [{"ports": [{"port": "8", "protocol": "ICMP"}]}]}]}), 0,
           "spec.egress[0].toPorts[0].ports[0].protocol"),
        _c("valid-endport-below", VALID, cnp("x", "shop", {"endpointSelector": {}, "egress": [
            {"toEntities": ["world"], "toPorts": [{"ports": [{"port": "9000", "endPort": 8000, "protocol": "TCP"}]}]}]}),
           0, "spec.egress[0].toPorts[0].ports[0].endPort"),
        _c("valid-bad-operator", VALID, cnp("x", "shop", {"endpointSelector": {"matchExpressions": [
            {"key": "app", "operator": "Equals", "values": ["a"]}]}, "egress": [
            {"toEntities": ["world"], "toPorts": TCP443}]}), 0, "spec.endpointSelector.matchExpressions[0].operator"),
        _c("valid-in-without-values", VALID, cnp("x", "shop", {"endpointSelector": {}, "egress": [
            {"toEndpoints": [{"matchExpressions": [{"key": "app", "operator": "In", "values": []}]}],
             "toPorts": TCP443}]}), 0, "spec.egress[0].toEndpoints[0].matchExpressions[0].values"),
        _c("valid-unquoted-label", VALID, cnp("x", "shop", {"endpointSelector": {"matchLabels": {"enabled": True}},
                                                            "egress": [{"toEntities": ["world"], "toPorts": TCP443}]}),
           0, 'spec.endpointSelector.matchLabels["enabled"]'),
        _c("valid-two-peer-kinds", VALID, cnp("x", "shop", {"endpointSelector": {}, "egress": [
            {"toEntities": ["world"], "toEndpoints": [{"matchLabels": {"app": "a"}}], "toPorts": TCP443}]}), 0,
           "spec.egress[0]"),
        _c("valid-dns-on-ingress", VALID, cnp("x", "shop", {"endpointSelector": {}, "ingress": [
            {"fromEndpoints": [{}], "toPorts": [{"ports": [{"port": "53", "protocol": "UDP"}],
                                                 "rules": {"dns": [{"matchPattern": "*"}]}}]}]}), 0,
           "spec.ingress[0].toPorts[0].rules.dns"),
        _c("valid-icmp-with-ports", VALID, cnp("x", "shop", {"endpointSelector": {}, "egress": [
            {"toEntities": ["world"], "icmps": [{"fields": [{"type": 8}]}], "toPorts": TCP443}]}), 0, "spec.egress[0]"),
        _c("ok-valid-specs", VALID, cnp("shop-x", "shop", specs=[world443, egress_443(toFQDNs=[
            {"matchName": "api.stripe.com"}])]), None),
        _c("ok-valid-ccnp-node", VALID, ccnp("bgp", {"nodeSelector": {"matchLabels": {"kubernetes.io/os": "linux"}},
                                                     "egress": [{"toEntities": ["world"], "toPorts": [
                                                         {"ports": [{"port": "179", "protocol": "TCP"}]}]}]}), None),
        _c("ok-valid-template-port", VALID, cnp("x", "shop", {"endpointSelector": {}, "egress": [
            {"toEntities": ["world"], "toPorts": [{"ports": [{"port": "${PORT}", "protocol": "TCP"}]}]}]}), None),
        # --- fqdn-needs-dns-visibility
        _c("fqdn-no-dns-rule", FQDN, [cnp("shop-x", "shop", egress_443(toFQDNs=[{"matchName": "api.stripe.com"}]))], 0,
           "spec.egress[0].toFQDNs[0]"),
        _c("fqdn-narrow-dns-rule", FQDN, [cnp("shop-x", "shop", egress_443(toFQDNs=[{"matchName": "api.stripe.com"}])),
                                          dns_baseline("*.cluster.local")], 0, "spec.egress[0].toFQDNs[0]"),
        _c("fqdn-other-namespace-dns", FQDN, [
            cnp("shop-x", "shop", egress_443(toFQDNs=[{"matchPattern": "*.example.com"}])),
            cnp("dns", "other", {"endpointSelector": {}, "egress": [{"toEndpoints": [KUBE_DNS], "toPorts": [
                {**deepcopy(DNS_PORTS[0]), "rules": {"dns": [{"matchPattern": "*"}]}}]}]})], 0),
        _c("ok-fqdn-baseline", FQDN, [cnp("shop-x", "shop", egress_443(toFQDNs=[{"matchName": "api.stripe.com"}])),
                                      dns_baseline()], None),
        _c("ok-fqdn-own-dns-rule", FQDN, [cnp("shop-x", "shop", {"endpointSelector": {}, "egress": [
            {"toFQDNs": [{"matchPattern": "*.s3.amazonaws.com"}], "toPorts": TCP443},
            {"toEndpoints": [KUBE_DNS], "toPorts": [{**deepcopy(DNS_PORTS[0]),
                                                     "rules": {"dns": [{"matchPattern": "*.s3.amazonaws.com"}]}}]}]})],
           None),
        _c("fqdn-dns-wildcard-one-label", FQDN, [
            cnp("shop-x", "shop", egress_443(toFQDNs=[{"matchPattern": "*.s3.amazonaws.com"}])),
            dns_baseline("*.amazonaws.com")], 0, "spec.egress[0].toFQDNs[0]"),
        _c("ok-fqdn-pattern-dns", FQDN, [cnp("shop-x", "shop", egress_443(toFQDNs=[{"matchName": "api.stripe.com"}])),
                                         dns_baseline("*.stripe.com")], None),
    ]
    return out


def issue8_cases() -> list[Case]:
    """The two rules issue 8 added: the cluster-wide `{}` peer, and the invariants (inventory derived
    from the manifests: the live stack's Namespaces and the default platform namespaces)."""
    from netpol.stack import stack_manifests

    live = stack_manifests("live")
    hole = ccnp("baseline-intra-namespace", {"endpointSelector": {}, "ingress": [{"fromEndpoints": [{}]}],
                                             "egress": [{"toEndpoints": [{}]}]})
    empty = "no-clusterwide-empty-peer-selector"
    return [
        _c("empty-peer-ccnp", empty, hole, 0, "spec.ingress[0].fromEndpoints[0]", "spec.egress[0].toEndpoints[0]",
           count=2),
        _c("empty-peer-ok-in-cnp", empty, cnp("intra", "shop", {"endpointSelector": {}, "ingress": [
            {"fromEndpoints": [{}], "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]}), None),
        _c("invariants-ok-live", "reachability-invariants", live, None),
        _c("invariants-hole", "reachability-invariants", [*live, hole], len(live)),
    ]


CASES = cases() + issue8_cases()
# issue 8 added the last two (their own tests: tests/test_check_invariants.py, test_pack_invariants.py)
RULE_NAMES = (DENY, PLAT, APP, IPS, PORT, ESC, DIRECT, REQ, BASE, VALID, FQDN,
              "no-clusterwide-empty-peer-selector", "reachability-invariants")
