"""Reachability invariants: the promises of the architecture, proven with the engine (issue 8).

Each invariant is a named check over (policies, inventory, expectations) and returns the flows that
break it, each with the rule that decided it. The expectations come from a stack's config or, for
policies this program did not write, from the inventory's namespace labels and the defaults.

Evaluate per identity, not per namespace: two app namespaces whose labels differ only by values
no policy mentions get the same verdicts (Cilium selects by labels only), so the checks run on one
representative per such class, plus every namespace that a policy names (by namespace, by a label
value, or by living in it). At 1,000 namespaces this is a few hundred evaluations, not a million.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from netpol import labels as L
from netpol.model import DEFAULT_SHARED_RESOURCES, SharedResource, StackConfig
from netpol.profiles import PROFILES
from netpol.reach import Endpoint, Inventory, PolicySet, Verdict
from netpol.reach.endpoints import entity_endpoint, pod_endpoint

INVARIANTS: dict[str, str] = {
    "dns-resolves": "every app namespace resolves DNS (53/UDP and 53/TCP to kube-dns)",
    "prometheus-scrapes": "Prometheus reaches every namespace on its metrics ports",
    "gateway-ingress": "each gateway reaches exactly the app namespaces whose profile admits it, on the backend ports",
    "shared-access": "each access label opens its shared resource for the namespaces that carry it, and for no other app namespace",
    "app-isolation": "no app namespace reaches another app namespace except through a declared talksTo",
    "world-egress": "no app namespace reaches world except on 443/TCP where its profile allows, or through its declared extras",
    "escape-hatch-own-side": "a namespace with enforcement=disabled is open on its own side only",
}
# Ports probed where the promise is "nothing else": app→world, and (fewer: it is quadratic in the
# number of identity classes) app↔app.
PROBE_PORTS = ((80, "TCP"), (443, "TCP"), (8080, "TCP"), (5432, "TCP"), (53, "UDP"), (22, "TCP"))
APP_PROBE_PORTS = ((80, "TCP"), (443, "TCP"), (8080, "TCP"), (53, "UDP"))
MAX_PER_INVARIANT = 25


@dataclass
class Expectations:
    default_metrics_ports: list[int]
    metrics_ports: dict[str, list[int]]  # namespace → ports (absent: the defaults)
    gateway_ports: list[int]
    shared: dict[str, SharedResource]
    talks_to: set[tuple[str, str, int, str]] = field(default_factory=set)  # (src ns, dst ns, port, proto)
    world_egress: dict[str, set[tuple[int, str]]] = field(default_factory=dict)  # app ns → declared world ports

    @classmethod
    def from_stack(cls, cfg: StackConfig) -> "Expectations":
        talks = {(src, t.namespace, p.port, p.protocol)
                 for src, rules in cfg.all_namespaces().items() for t in rules.talksTo for p in t.ports}
        world = {ns: {(p.port, p.protocol) for r in a.egress if r.entity == "world" for p in r.ports}
                 for ns, a in cfg.namespaces.items()}
        return cls(list(cfg.metricsPorts), {ns: cfg.metrics_ports_for(ns) for ns in cfg.all_namespaces()},
                   list(cfg.gatewayPorts), dict(cfg.sharedResources), talks, world)

    @classmethod
    def defaults(cls) -> "Expectations":
        return cls(list(L.DEFAULT_METRICS_PORTS), {}, list(L.DEFAULT_GATEWAY_PORTS),
                   {k: SharedResource.model_validate(v) for k, v in DEFAULT_SHARED_RESOURCES.items()})

    def metrics_for(self, ns: str) -> list[int]:
        return self.metrics_ports.get(ns, self.default_metrics_ports)


@dataclass(frozen=True)
class Violation:
    invariant: str
    flow: str
    expected: str
    verdict: Verdict | None
    message: str
    policy: str | None = None  # the policy whose rule decided the broken flow ("Kind/ns/name")

    def __str__(self) -> str:
        return f"[{self.invariant}] {self.message}"


def deciding_side(v: Verdict):
    """The side that decided: the denying side of a DENIED flow, the enforced side of an ALLOWED one."""
    if v.verdict == "DENIED":
        return v.egress if not v.egress.allowed else v.ingress
    return v.egress if v.egress.enforced else v.ingress


def _decider(v: Verdict) -> str:
    side = deciding_side(v)
    which = "egress" if side is v.egress else "ingress"
    if side.policy:
        where = f"{side.policy} {side.rule or ''}".strip()
        desc = f" ({side.description})" if side.description else ""
        return f"{which}: {side.reason} by {where}{desc}"
    sel = f"; selected by {', '.join(side.selected_by)}" if side.selected_by else ""
    return f"{which}: {side.reason}{sel}"


def _literals(docs: Iterable[Mapping]) -> tuple[set[str], set[str]]:
    """Every string value any selector of these policies names, and the namespaces holding CNPs."""
    values: set[str] = set()
    cnp_namespaces: set[str] = set()

    def walk(node):
        if isinstance(node, Mapping):
            for k, v in node.items():
                if k == "matchLabels" and isinstance(v, Mapping):
                    values.update(str(x) for x in v.values())
                elif k == "values" and isinstance(v, list):
                    values.update(str(x) for x in v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for x in node:
                walk(x)

    for d in docs:
        if not isinstance(d, Mapping) or d.get("kind") not in (L.CNP, L.CCNP):
            continue
        if d.get("kind") == L.CNP:
            cnp_namespaces.add(str((d.get("metadata") or {}).get("namespace") or ""))
        walk({k: v for k, v in d.items() if k in ("spec", "specs")})
    return values, cnp_namespaces


class Context:
    """The compiled world one run of the invariants looks at."""

    def __init__(self, policies: PolicySet, docs: list[Mapping], inventory: Inventory, exp: Expectations):
        self.ps, self.inv, self.exp = policies, inventory, exp
        self.apps = sorted(ns for ns, lab in inventory.namespaces.items() if lab.get(L.PROFILE_LABEL) in PROFILES)
        self.disabled = {ns for ns, lab in inventory.namespaces.items()
                         if lab.get(L.ENFORCEMENT_LABEL) == L.ENFORCEMENT_DISABLED}
        values, cnp_ns = _literals(docs)
        self.special = {ns for ns in inventory.namespaces if ns in values or ns in cnp_ns or ns in self.disabled}
        for p in inventory.pods:
            if any(v in values for v in p.labels.values()):
                self.special.add(p.namespace)
        self.special |= {s for s, *_ in exp.talks_to} | {d for _, d, *_ in exp.talks_to}
        self.special |= {n for n, ports in exp.world_egress.items() if ports}
        self.special |= {n for n, ports in exp.metrics_ports.items() if ports != exp.default_metrics_ports}
        classes: dict[tuple, str] = {}
        self.rep_of: dict[str, str] = {}
        for ns in sorted(inventory.namespaces):
            if ns in self.special:
                self.rep_of[ns] = ns
                continue
            key = (frozenset((k, v) for k, v in inventory.namespaces[ns].items() if k != "kubernetes.io/metadata.name"),
                   tuple(sorted(frozenset(p.labels) for p in inventory.pods_in(ns))))
            self.rep_of[ns] = classes.setdefault(key, ns)
        self.checked_apps = [ns for ns in self.apps if self.rep_of[ns] == ns]
        # one more member per class: a policy may open a class to itself across namespaces (say, every
        # namespace of one profile to every other), which only a pair inside one class shows
        seconds: dict[str, str] = {}
        for ns in self.apps:
            rep = self.rep_of[ns]
            if rep != ns and rep not in seconds:
                seconds[rep] = ns
        self.class_peers = seconds
        self._eps: dict[tuple[str, str], Endpoint] = {}

    def pods(self, ns: str) -> list[Endpoint]:
        out = []
        for p in self.inv.pods_in(ns):
            key = (ns, p.name)
            if key not in self._eps:
                self._eps[key] = pod_endpoint(p, self.inv)
            out.append(self._eps[key])
        return out

    def find(self, ns: str, selector: Mapping[str, str] | None = None) -> list[Endpoint]:
        return [e for e, p in zip(self.pods(ns), self.inv.pods_in(ns))
                if all(p.labels.get(k) == v for k, v in (selector or {}).items())]


Check = Callable[[Context], Iterable[Violation]]


def _flow(src: Endpoint, dst: Endpoint, port: int, proto: str) -> str:
    return f"{src} → {dst} {port}/{proto}"


def _expect(ctx: Context, name: str, src: Endpoint, dst: Endpoint, port: int, proto: str, allowed: bool,
            why: str = "", serving_side: bool = False) -> Violation | None:
    """None when the flow's verdict is as expected. With `serving_side`, a flow that must be denied
    must also be refused by the destination's own ingress (defence in depth): a database or a profile
    that admits everyone is a broken promise even while the client's egress happens to mask it."""
    v = ctx.ps.evaluate(src, dst, port, proto)
    flow = _flow(src, dst, port, proto)
    exp = "ALLOWED" if allowed else "DENIED"
    if v.allowed != allowed:
        return Violation(name, flow, exp, v, f"{flow}: {v.verdict}, expected {exp}{why} — {_decider(v)}",
                         deciding_side(v).policy)
    if not allowed and serving_side:
        for side_name, side in (("ingress", v.ingress),):
            if side.allowed and side.enforced:
                return Violation(name, flow, f"{side_name} side refuses", v,
                                 f"{flow}: DENIED only by the other side; its {side_name} side admits it{why} — "
                                 f"{side_name}: allowed by {side.policy} {side.rule or ''}".rstrip()
                                 + (f" ({side.description})" if side.description else ""), side.policy)
    return None


def _missing(name: str, what: str) -> Violation:
    return Violation(name, "-", "-", None, f"cannot prove it: the inventory has no {what}")


def dns_resolves(ctx: Context) -> Iterable[Violation]:
    dns = ctx.find(L.KUBE_DNS_NAMESPACE, L.KUBE_DNS_LABELS)
    if not dns:
        yield _missing("dns-resolves", f"kube-dns pod ({L.KUBE_DNS_NAMESPACE} {L.KUBE_DNS_LABELS})")
        return
    for ns in ctx.checked_apps:
        for src in ctx.pods(ns):
            for proto in ("UDP", "TCP"):
                if v := _expect(ctx, "dns-resolves", src, dns[0], L.DNS_PORT, proto, True):
                    yield v


def prometheus_scrapes(ctx: Context) -> Iterable[Violation]:
    prom = ctx.find(L.PROMETHEUS_NAMESPACE, L.PROMETHEUS_LABELS)
    if not prom:
        yield _missing("prometheus-scrapes", f"Prometheus pod ({L.PROMETHEUS_NAMESPACE} {L.PROMETHEUS_LABELS})")
        return
    for ns in sorted(ctx.inv.namespaces):
        if ctx.rep_of[ns] != ns:
            continue
        for dst in ctx.pods(ns):
            if dst == prom[0]:
                continue
            for port in ctx.exp.metrics_for(ns):
                if v := _expect(ctx, "prometheus-scrapes", prom[0], dst, port, "TCP", True):
                    yield v


def gateway_ingress(ctx: Context) -> Iterable[Violation]:
    for g in L.GATEWAYS:
        gws = ctx.find(L.GATEWAY_NAMESPACE, {L.GATEWAY_NAME_LABEL: g})
        if not gws:
            yield _missing("gateway-ingress", f"{g} gateway pod ({L.GATEWAY_NAMESPACE} {L.GATEWAY_NAME_LABEL}={g})")
            continue
        for ns in ctx.checked_apps:
            if ns in ctx.disabled:
                continue
            profile = ctx.inv.namespaces[ns][L.PROFILE_LABEL]
            admitted = g in PROFILES[profile].gateways
            why = f" (profile {profile} {'admits' if admitted else 'does not admit'} the {g} gateway)"
            for dst in ctx.pods(ns):
                for port in ctx.exp.gateway_ports:
                    if v := _expect(ctx, "gateway-ingress", gws[0], dst, port, "TCP", admitted, why, serving_side=True):
                        yield v


def shared_access(ctx: Context) -> Iterable[Violation]:
    for name, res in ctx.exp.shared.items():
        if res.namespace is not None:
            targets = ctx.find(res.namespace, res.pods)
            if not targets:
                yield _missing("shared-access", f"pod serving {name} in namespace {res.namespace}")
                continue
            dst = targets[0]
        else:
            dst = entity_endpoint(res.entity)
        label = L.access_label(name)
        for ns in ctx.checked_apps:
            has = ctx.inv.namespaces[ns].get(label) == L.ACCESS_LABEL_VALUE
            if ns in ctx.disabled and res.namespace is None:
                continue  # an open namespace reaches entities on its own side by design
            talks = any((ns, res.namespace, p.port, p.protocol) in ctx.exp.talks_to for p in res.ports)
            if talks:
                continue
            why = f" ({'has' if has else 'lacks'} {label}=\"true\")"
            for src in ctx.pods(ns):
                for p in res.ports:
                    if v := _expect(ctx, "shared-access", src, dst, p.port, p.protocol, has, why,
                                    serving_side=res.namespace is not None and ns not in ctx.disabled):
                        yield v


def app_isolation(ctx: Context) -> Iterable[Violation]:
    for a in ctx.checked_apps:
        if a in ctx.disabled:
            continue
        peer = ctx.class_peers.get(a)
        for b in [*ctx.checked_apps, *([peer] if peer else [])]:
            if a == b:
                continue
            open_b = b in ctx.disabled  # open on its own side by design: only a's side must refuse
            declared = {(port, proto) for s, d, port, proto in ctx.exp.talks_to if s == a and d == b}
            for src in ctx.pods(a):
                for dst in ctx.pods(b):
                    for port, proto in APP_PROBE_PORTS:
                        if (port, proto) in declared:
                            continue
                        if v := _expect(ctx, "app-isolation", src, dst, port, proto, False,
                                        " (no talksTo declares it)", serving_side=not open_b):
                            yield v


def world_egress(ctx: Context) -> Iterable[Violation]:
    world = entity_endpoint("world")
    for ns in ctx.checked_apps:
        if ns in ctx.disabled:
            continue
        profile = PROFILES[ctx.inv.namespaces[ns][L.PROFILE_LABEL]]
        allowed = {(p, "TCP") for p in profile.internet_egress_ports} | ctx.exp.world_egress.get(ns, set())
        for src in ctx.pods(ns):
            for port, proto in PROBE_PORTS:
                ok = (port, proto) in allowed
                if v := _expect(ctx, "world-egress", src, world, port, proto, ok,
                                f" (profile {profile.name}" + (" and declared extras)" if ok else ")")):
                    yield v


def escape_hatch_own_side(ctx: Context) -> Iterable[Violation]:
    world = entity_endpoint("world")
    name = "escape-hatch-own-side"
    for ns in sorted(ctx.disabled):
        for me in ctx.pods(ns):
            for peer, port in ((world, 31337), (entity_endpoint("kube-apiserver"), 6443)):
                v = ctx.ps.evaluate(me, peer, port, "TCP")
                if not v.egress.allowed:
                    yield Violation(name, _flow(me, peer, port, "TCP"), "egress open", v,
                                    f"{_flow(me, peer, port, 'TCP')}: its own egress is not open — {_decider(v)}",
                                    v.egress.policy)
            v = ctx.ps.evaluate(world, me, 31337, "TCP")
            if not v.ingress.allowed:
                yield Violation(name, _flow(world, me, 31337, "TCP"), "ingress open", v,
                                f"{_flow(world, me, 31337, 'TCP')}: its own ingress is not open — {_decider(v)}",
                                v.ingress.policy)
            # peers keep their policies: a shared resource it lacks the label for still refuses it
            for rname, res in ctx.exp.shared.items():
                if res.namespace is None or ctx.inv.namespaces[ns].get(L.access_label(rname)) == L.ACCESS_LABEL_VALUE:
                    continue
                for dst in ctx.find(res.namespace, res.pods)[:1]:
                    p = res.ports[0]
                    v = ctx.ps.evaluate(me, dst, p.port, p.protocol)
                    if v.ingress.allowed:
                        yield Violation(name, _flow(me, dst, p.port, p.protocol), "peer ingress enforced", v,
                                        f"{_flow(me, dst, p.port, p.protocol)}: the {res.namespace} side admits a namespace "
                                        f"without {L.access_label(rname)} — the escape hatch must not open peers — {_decider(v)}",
                                        v.ingress.policy)
            for other in ctx.checked_apps:
                if other == ns or other in ctx.disabled:
                    continue
                for src in ctx.pods(other)[:1]:
                    v = ctx.ps.evaluate(src, me, 8080, "TCP")
                    declared = any(s == other and d == ns for s, d, *_ in ctx.exp.talks_to)
                    if v.egress.allowed and not declared:
                        yield Violation(name, _flow(src, me, 8080, "TCP"), "peer egress enforced", v,
                                        f"{_flow(src, me, 8080, 'TCP')}: {other}'s own egress lets it reach the "
                                        f"open namespace — the escape hatch must not open peers — {_decider(v)}", v.egress.policy)
                break


CHECKS: dict[str, Check] = {
    "dns-resolves": dns_resolves,
    "prometheus-scrapes": prometheus_scrapes,
    "gateway-ingress": gateway_ingress,
    "shared-access": shared_access,
    "app-isolation": app_isolation,
    "world-egress": world_egress,
    "escape-hatch-own-side": escape_hatch_own_side,
}


def check_invariants(docs: list[Mapping], inventory: Inventory, exp: Expectations,
                     policies: PolicySet | None = None, only: Iterable[str] | None = None) -> list[Violation]:
    """Every broken promise (at most MAX_PER_INVARIANT flows each, then a count)."""
    ps = policies or PolicySet.from_manifests(docs)
    ctx = Context(ps, docs, inventory, exp)
    out: list[Violation] = []
    for name in only or CHECKS:
        found = 0
        for v in CHECKS[name](ctx):
            found += 1
            if found <= MAX_PER_INVARIANT:
                out.append(v)
        if found > MAX_PER_INVARIANT:
            out.append(Violation(name, "-", "-", None, f"... and {found - MAX_PER_INVARIANT} more flows break it"))
    return out


def grouped(violations: list[Violation]) -> dict[str, list[Violation]]:
    by: dict[str, list[Violation]] = defaultdict(list)
    for v in violations:
        by[v.invariant].append(v)
    return dict(by)
