"""`netpol profile`: the profile decision tree, and a declaration suggested from observed flows.

Decision tree (the README's, as code):

    reached from the internet (external gateway)?       -> standard
    reached from the internal gateway + calls external APIs? -> internal-egress
    reached from the internal gateway only?            -> internal
    none of these                                      -> isolated
    (calls external APIs but is reached by no gateway  -> internal-egress: the smallest with HTTPS egress)

The answer is always `profiles.smallest_profile(gateways, world_egress)`, so the tree cannot drift
from the profile table.

From flows: every request flow (forwarded or policy-dropped; replies skipped) whose source or
destination is the namespace is taken as legitimate traffic the namespace needs, and mapped to what
the model offers: gateway ingress -> the profile's gateways; world 443/TCP -> internet egress; a
shared resource -> its access label; another namespace -> a `talksTo` entry; pods of the namespace
-> `intraNamespace`; Prometheus on a port outside the metrics list -> `metricsPorts`; world on
another port -> an egress rule to review (FQDN when Hubble saw the name); world ingress -> an
ingress rule to review. DNS, health and in-list Prometheus scrapes need nothing (baselines). With a
stack, the suggestion replaces the namespace's entry in a copy of the model and every observed flow
is re-evaluated with the engine: `verified` is true when all of them are allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any

import yaml

from netpol import wellknown as W
from netpol.apis import PROTOCOLS
from netpol.model import FQDN, AppNamespace, StackConfig
from netpol.profiles import PROFILES, smallest_profile
from netpol.triage.classify import Group, merge_groups
from netpol.triage.fixes import World, declaration
from netpol.triage.flows import ReadStats, scan_all
from netpol.triage.peers import PeerResolver

QUESTIONS = (
    ("internet", "Is it reached from the internet (through the external gateway)?"),
    ("internal", "Is it reached from the internal gateway (LAN / VPN users)?"),
    ("external_apis", "Does it call external APIs (HTTPS to the internet)?"),
)


def decide_profile(internet: bool, internal: bool, external_apis: bool) -> tuple[str, list[str]]:
    """(profile, the reasoning lines)."""
    gateways = set()
    why = []
    if internet:
        gateways.add("external")
        why.append("reached from the internet -> the external gateway")
    if internal:
        gateways.add("internal")
        why.append("reached from the internal gateway")
    if external_apis:
        why.append("calls external APIs -> HTTPS (world 443/TCP) egress")
    profile = smallest_profile(gateways=gateways, world_egress=external_apis)
    p = PROFILES[profile]
    why.append(f"smallest profile admitting {', '.join(sorted(gateways)) or 'no gateway'}"
               + (" with internet egress" if external_apis else "") + f": {profile} ({p.summary})")
    return profile, why


def namespace_yaml(ns: str, entry: dict[str, Any]) -> str:
    return yaml.safe_dump({"config": {"netpol:namespaces": {ns: entry}}}, sort_keys=False,
                          default_flow_style=None, width=120)


@dataclass
class Evidence:
    group: Group
    need: str

    def to_json(self) -> dict[str, Any]:
        g = self.group
        return {"source": g.source.label, "destination": g.destination.label, "port": g.port,
                "protocol": g.protocol, "count": g.count, "forwarded": g.forwarded, "dropped": g.dropped,
                "need": self.need}


@dataclass
class Suggestion:
    namespace: str
    profile: str
    gateways: list[str]
    internet_egress: bool
    entry: dict[str, Any]
    evidence: list[Evidence]
    stats: ReadStats
    review: list[str] = field(default_factory=list)  # rules that need a human review
    notes: list[str] = field(default_factory=list)
    stack: str | None = None
    current: dict[str, Any] | None = None
    verified: bool | None = None
    still_denied: list[str] = field(default_factory=list)

    @property
    def yaml(self) -> str:
        return namespace_yaml(self.namespace, self.entry)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "namespace": self.namespace, "profile": self.profile, "access": list(self.entry.get("access", [])),
            "gateways": self.gateways, "internet_egress": self.internet_egress, "declaration": self.entry,
            "yaml": self.yaml, "evidence": [e.to_json() for e in self.evidence], "review": self.review,
            "notes": self.notes, "flows_read": self.stats.flows_read, "skipped_lines": self.stats.skipped_lines,
            "malformed_lines": list(self.stats.malformed_lines), "malformed_count": self.stats.malformed_count,
        }
        if self.stack is not None:
            out.update({"stack": self.stack, "current": self.current, "verified": self.verified,
                        "still_denied": self.still_denied})
        return out


def _bare_config() -> StackConfig:
    """A model with the default shared-resource registry and nothing else: enough to recognise the
    well-known peers (kube-dns, gateways, Prometheus, shared resources) when no stack is given."""
    return StackConfig(stack="(none)", source="(no stack)")


def suggest_from_flows(stream: IO[bytes], namespace: str, cfg: StackConfig | None = None) -> Suggestion:
    base_cfg = cfg or _bare_config()
    world = World(base_cfg) if cfg is not None else None
    resolver = world.peers if world else PeerResolver(base_cfg, _empty_inventory())
    stats, raw = scan_all(stream, namespace=namespace)
    groups = merge_groups(raw, resolver, by_direction=False)
    gateways: set[str] = set()
    internet = False
    access: set[str] = set()
    talks: dict[tuple, set[str]] = {}
    intra: set[str] = set()
    metrics: set[int] = set()
    egress: dict[tuple[str, str], set[str]] = {}
    ingress: dict[str, set[str]] = {}
    evidence: list[Evidence] = []
    review: list[str] = []
    notes: list[str] = []
    metrics_default = set(base_cfg.metricsPorts)
    for g in groups:
        s, d, port, proto = g.source, g.destination, g.port, g.protocol
        spec = g.port_spec
        need = "nothing (baseline)"
        if proto not in PROTOCOLS:
            need = f"nothing ({proto or 'no L4'}: not a port flow)"
        elif s.namespace == namespace and d.namespace == namespace:
            intra.add(spec)
            need = f"intraNamespace {spec}"
        elif s.namespace == namespace:
            res = resolver.shared_resource(d, port, proto)
            if resolver.is_kube_dns(d) or (d.namespace == W.KUBE_DNS_NAMESPACE and port == W.DNS_PORT):
                pass
            elif res:
                access.add(res)
                need = f"access {res}"
            elif d.is_world:
                if proto == "TCP" and port == W.HTTPS_PORT:
                    internet = True
                    need = "internet egress (world 443/TCP)"
                else:
                    names = [n for n in g.names if FQDN.match(n)][:3]
                    for n in names or ["world"]:
                        egress.setdefault(("fqdn", n) if names else ("entity", "world"), set()).add(spec)
                    need = f"egress rule {'fqdn ' + ', '.join(names) if names else 'entity world'} {spec} (review)"
                    review.append(need)
            elif d.kind == "pod" and d.namespace:
                pods = d.selector
                talks.setdefault((d.namespace, tuple(pods)), set()).add(spec)
                need = f"talksTo {d.namespace} {spec}"
            elif d.kind == "entity":
                need = f"egress to entity {d.entity} {spec}: not expressible by a profile (review)"
                if d.entity in ("kube-apiserver", "cluster", "host", "remote-node"):
                    egress.setdefault(("entity", d.entity), set()).add(spec)
                review.append(need)
        elif d.namespace == namespace:
            gw = resolver.gateway_of(s)
            if gw:
                gateways.add(gw)
                need = f"{gw} gateway ingress"
                if proto != "TCP" or port not in base_cfg.gatewayPorts:
                    notes.append(f"{gw} gateway reaches {namespace} on {spec}, outside netpol:gatewayPorts "
                                 f"({', '.join(map(str, base_cfg.gatewayPorts))})")
            elif resolver.is_prometheus(s):
                if proto == "TCP" and port not in metrics_default:
                    metrics.add(port)
                    need = f"metricsPorts {port}"
            elif s.entity in ("health", "host"):
                pass
            elif s.entity in ("world", "cluster", "remote-node", "kube-apiserver"):
                ingress.setdefault(s.entity, set()).add(spec)
                need = f"ingress rule entity {s.entity} {spec} (review)"
                review.append(need)
            elif s.kind == "pod" and s.namespace:
                need = f"{s.namespace} needs talksTo {namespace} {spec} (declared on {s.namespace}'s side)"
                notes.append(need)
            else:
                need = f"unrecognised source {s.label}"
                notes.append(need)
        evidence.append(Evidence(g, need))
    profile = smallest_profile(gateways=gateways, world_egress=internet)
    entry: dict[str, Any] = {"profile": profile}
    if access:
        entry["access"] = sorted(access)
    cur = cfg.namespaces.get(namespace) if cfg else None
    if cur is not None and cur.mesh:
        entry["mesh"] = True
    if talks:
        entry["talksTo"] = []
        for (target, pods), ports in sorted(talks.items()):
            e: dict[str, Any] = {"namespace": target}
            if pods:
                e["pods"] = dict(pods)
            e["ports"] = sorted(ports)
            entry["talksTo"].append(e)
    if egress:
        entry["egress"] = [{k: v, "ports": sorted(p)} for (k, v), p in sorted(egress.items())]
    if ingress:
        entry["ingress"] = [{"entity": k, "ports": sorted(p)} for k, p in sorted(ingress.items())]
    if intra:
        entry["intraNamespace"] = sorted(intra)
    if metrics:
        entry["metricsPorts"] = sorted(metrics)
    sug = Suggestion(namespace, profile, sorted(gateways), internet, entry, evidence, stats, review, notes)
    if cfg is not None:
        _verify(sug, cfg, groups)
    return sug


def _empty_inventory():
    from netpol.reach.inventory import Inventory

    return Inventory(namespaces={}, pods=[])


def _verify(sug: Suggestion, cfg: StackConfig, groups: list[Group]) -> None:
    ns = sug.namespace
    sug.stack = cfg.stack
    sug.current = declaration(cfg, ns) or None
    if ns in cfg.platformNamespaces:
        sug.notes.append(f"{ns} is a platform namespace of stack {cfg.stack}: platform namespaces get no profile")
        return
    try:
        entry = {k: v for k, v in sug.entry.items()}
        new_cfg = cfg.model_copy(update={"namespaces": {**cfg.namespaces, ns: AppNamespace.model_validate(entry)}})
        for t in entry.get("talksTo", []):
            if t["namespace"] not in new_cfg.all_namespaces():
                sug.notes.append(f"talksTo target {t['namespace']} is not declared in {cfg.source}")
        world = World(new_cfg)
    except Exception as e:  # a suggested rule the model rejects (e.g. an odd FQDN): say so, don't verify
        sug.verified = False
        sug.notes.append(f"the suggested declaration does not validate: {e}")
        return
    denied = []
    for g in groups:
        if g.source.namespace != ns and g.destination.namespace != ns:
            continue
        v = world.evaluate(world.spec_for(g.src_ep, g.source), world.spec_for(g.dst_ep, g.destination, g.names),
                           g.port, g.protocol)
        if v is not None and not v.allowed:
            denied.append(f"{g.source.label} -> {g.destination.label} {g.port_spec}")
    sug.still_denied = denied[:50]
    sug.verified = not denied
