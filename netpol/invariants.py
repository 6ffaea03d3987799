"""Reachability invariants: the promises of the architecture, proven with the engine (issue 8).

Each invariant is a named check over (policies, inventory, expectations) and returns the flows that
break it, each with the rule that decided it. The promises are the catalogue's (`netpol.catalogue`:
each expected flow names the invariant that proves it, `proven_by`), read for the inventory's
namespaces by their labels, with `Expectations` from a stack's config or, for policies this program
did not write, the defaults.

Evaluate per identity, not per namespace: two app namespaces whose labels differ only by values
no policy mentions get the same verdicts (Cilium selects by labels only), so the checks run on one
representative per such class, plus every namespace that a policy names (by namespace, by a label
value, or by living in it). At 1,000 namespaces this is a few hundred evaluations, not a million.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from netpol import catalogue as C
from netpol.apis import CCNP, CNP
from netpol.catalogue import Catalogue, ExpectedFlow, Expectations, NamespaceView, Ref, WellKnown
from netpol.config import paused_gc
from netpol.labels import NAMESPACE_NAME_LABEL, access_label
from netpol.reach import Endpoint, Inventory, PolicySet, SideResult, Verdict
from netpol.reach.endpoints import entity_endpoint, pod_endpoint

__all__ = ["CHECKS", "INVARIANTS", "MAX_PER_INVARIANT", "Context", "Violation", "check_invariants",
           "deciding_side", "grouped"]

INVARIANTS: dict[str, str] = {
    "dns-resolves": f"every app namespace resolves DNS ({' and '.join(map(str, C.DNS))} to kube-dns)",
    "prometheus-scrapes": "Prometheus reaches every namespace on its metrics ports",
    "gateway-ingress": "each gateway reaches exactly the app namespaces whose profile admits it, on the backend ports",
    "shared-access": "each access label opens its shared resource for the namespaces that carry it, and for no other app namespace",
    "app-isolation": "no app namespace reaches another app namespace except through a declared talksTo",
    "world-egress": "no app namespace reaches world except on 443/TCP where its profile allows, or through its declared extras",
    "escape-hatch-own-side": "a namespace with enforcement=disabled is open on its own side only",
}
MAX_PER_INVARIANT = 25


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
        if not isinstance(d, Mapping) or d.get("kind") not in (CNP, CCNP):
            continue
        if d.get("kind") == CNP:
            cnp_namespaces.add(str((d.get("metadata") or {}).get("namespace") or ""))
        walk({k: v for k, v in d.items() if k in ("spec", "specs")})
    return values, cnp_namespaces


class Context:
    """The compiled world one run of the invariants looks at."""

    def __init__(self, policies: PolicySet, docs: list[Mapping], inventory: Inventory, exp: Expectations):
        self.ps, self.inv, self.exp = policies, inventory, exp
        # Each namespace's view, read once per distinct label set: `NamespaceView.from_labels` reads the
        # profile, access, mesh and enforcement labels, never the name label, so namespaces whose labels
        # differ only by their name get the same view but for the name (at 5,000 namespaces, a few
        # dozen label sets).
        label_keys: dict[str, frozenset] = {}
        templates: dict[frozenset, NamespaceView] = {}
        views: dict[str, NamespaceView] = {}
        for ns, labels in inventory.namespaces.items():
            key = frozenset(labels.items())
            name = labels.get(NAMESPACE_NAME_LABEL)
            if name is not None:
                key = key - {(NAMESPACE_NAME_LABEL, name)}
            label_keys[ns] = key
            t = templates.get(key)
            if t is None:
                t = templates[key] = views[ns] = NamespaceView.from_labels(ns, labels)
            else:
                views[ns] = NamespaceView(ns, t.profile, t.access, t.mesh, t.disabled)
        self.catalogue = Catalogue(exp, views)
        self.apps = self.catalogue.apps
        self.disabled = {ns for ns, v in views.items() if v.disabled}
        values, cnp_ns = _literals(docs)
        self.special = {ns for ns in inventory.namespaces if ns in values or ns in cnp_ns or ns in self.disabled}
        pods_by_ns: dict[str, dict[str, object]] = {}  # what `Inventory.pods_in` gives, in one pass
        pod_keys: dict[frozenset, tuple[str, ...]] = {}  # a pod's label keys, sorted, by label-key set
        for p in inventory.pods:
            pods_by_ns.setdefault(p.namespace, {})[p.name] = p
            if not values.isdisjoint(p.labels.values()):
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
            sigs = []
            for p in pods_by_ns.get(ns, {}).values():
                keys = frozenset(p.labels)
                sig = pod_keys.get(keys)
                if sig is None:
                    sig = pod_keys[keys] = tuple(sorted(keys))
                sigs.append(sig)
            key = (label_keys[ns], tuple(sorted(sigs)) if len(sigs) > 1 else tuple(sigs))
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
        # side results by (subject key, what it sees of the peer), then (port, protocol): see `_sides`
        self.egress_sides: dict[tuple, dict[tuple[int, str], SideResult]] = {}
        self.ingress_sides: dict[tuple, dict[tuple[int, str], SideResult]] = {}
        self._pods: dict[str, tuple[Endpoint, ...]] = {}  # the inventory is not changed while the checks run

    def pods(self, ns: str) -> list[Endpoint]:
        hit = self._pods.get(ns)
        if hit is not None:
            return list(hit)
        out = []
        for p in self.inv.pods_in(ns):
            key = (ns, p.name)
            if key not in self._eps:
                self._eps[key] = pod_endpoint(p, self.inv)
            out.append(self._eps[key])
        self._pods[ns] = tuple(out)
        return out

    def find(self, ns: str, selector: Mapping[str, str] | None = None) -> list[Endpoint]:
        return [e for e, p in zip(self.pods(ns), self.inv.pods_in(ns))
                if all(p.labels.get(k) == v for k, v in (selector or {}).items())]

    def endpoint(self, ref: Ref) -> Endpoint | None:
        """The one endpoint a catalogue ref stands for (`catalogue.representative`), or the entity."""
        if ref.kind == "entity":
            return entity_endpoint(ref.name)
        pod = C.representative(ref, self.inv) if ref.kind == "pods" else None
        if pod is None:
            return None
        key = (pod.namespace, pod.name)
        if key not in self._eps:
            self._eps[key] = pod_endpoint(pod, self.inv)
        return self._eps[key]

    def promises(self, ns: str, invariant: str) -> list[ExpectedFlow]:
        """The catalogue's promises of namespace `ns` that `invariant` proves."""
        return [f for f in self.catalogue.flows(ns) if f.proven_by == invariant]


Check = Callable[[Context], Iterable[Violation]]


def _flow(src: Endpoint, dst: Endpoint, port: int, proto: str) -> str:
    return f"{src} → {dst} {port}/{proto}"


def _expect(ctx: Context, name: str, src: Endpoint, dst: Endpoint, port: int, proto: str, allowed: bool,
            why: str = "", serving_side: bool = False) -> Violation | None:
    """None when the flow's verdict is as expected. With `serving_side`, a flow that must be denied
    must also be refused by the destination's own ingress (defence in depth): a database or a profile
    that admits everyone is a broken promise even while the client's egress happens to mask it."""
    v = ctx.ps.evaluate(src, dst, port, proto)
    if v.allowed == allowed and (allowed or not serving_side or not (v.ingress.allowed and v.ingress.enforced)):
        return None  # as promised (the common case: nothing to describe)
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


def _missing_well_known(ctx: Context, name: str, w: WellKnown, what: str) -> Violation | None:
    if ctx.find(w.namespace, w.labels):
        return None
    return _missing(name, what)


def _prove(ctx: Context, name: str, f: ExpectedFlow, src: Endpoint | None, dst: Endpoint | None) -> Iterable[Violation]:
    """The broken ports of promise `f` between these endpoints."""
    if src is None or dst is None:
        return
    why = f" ({f.why.detail})" if f.why.detail else ""
    for p in f.ports:
        if v := _expect(ctx, name, src, dst, p.port, p.protocol, f.allowed, why, serving_side=f.serving_side):
            yield v


def dns_resolves(ctx: Context) -> Iterable[Violation]:
    name, w = "dns-resolves", C.KUBE_DNS
    if m := _missing_well_known(ctx, name, w, f"kube-dns pod ({w.namespace} {w.labels})"):
        yield m
        return
    for ns in ctx.checked_apps:
        promises = ctx.promises(ns, name)
        for src in ctx.pods(ns):
            for f in promises:
                yield from _prove(ctx, name, f, src, ctx.endpoint(f.dst))


def prometheus_scrapes(ctx: Context) -> Iterable[Violation]:
    name, w = "prometheus-scrapes", C.PROMETHEUS
    if m := _missing_well_known(ctx, name, w, f"Prometheus pod ({w.namespace} {w.labels})"):
        yield m
        return
    for ns in sorted(ctx.inv.namespaces):
        if ctx.rep_of[ns] != ns:
            continue
        promises = ctx.promises(ns, name)
        for dst in ctx.pods(ns):
            for f in promises:
                src = ctx.endpoint(f.src)
                if dst != src:
                    yield from _prove(ctx, name, f, src, dst)


def gateway_ingress(ctx: Context) -> Iterable[Violation]:
    name = "gateway-ingress"
    for g, w in C.GATEWAYS.items():
        labels = " ".join(f"{k}={v}" for k, v in w.selector)
        if m := _missing_well_known(ctx, name, w, f"{g} gateway pod ({w.namespace} {labels})"):
            yield m
            continue
        for ns in ctx.checked_apps:
            promises = [f for f in ctx.promises(ns, name) if f.src == w.ref]
            for dst in ctx.pods(ns):
                for f in promises:
                    yield from _prove(ctx, name, f, ctx.endpoint(f.src), dst)


def shared_access(ctx: Context) -> Iterable[Violation]:
    name = "shared-access"
    for rname, res in ctx.exp.shared.items():
        if res.namespace is not None and not ctx.find(res.namespace, res.pods):
            yield _missing(name, f"pod serving {rname} in namespace {res.namespace}")
            continue
        for ns in ctx.checked_apps:
            promises = [f for f in ctx.promises(ns, name) if f.column == rname]
            for src in ctx.pods(ns):
                for f in promises:
                    yield from _prove(ctx, name, f, src, ctx.endpoint(f.dst))


def _sides(ctx: Context, src: Endpoint, dst: Endpoint, ke: tuple, ki: tuple):
    """(egress, ingress) side results of src → dst by (port, protocol), each remembered by its subject
    and what it sees of the other end (`PolicySet.peer_key`: equal keys, equal side results), filled
    in with the engine for the first flow of each and looked up for the others."""
    return (ctx.egress_sides.setdefault((src.key, ke), {}), ctx.ingress_sides.setdefault((dst.key, ki), {}))


def _side_pair(ctx: Context, src: Endpoint, dst: Endpoint, egress: dict, ingress: dict, port: int, proto: str):
    key = (port, proto)
    e, i = egress.get(key), ingress.get(key)
    if e is None or i is None:
        v = ctx.ps.evaluate(src, dst, port, proto)
        e = egress.setdefault(key, v.egress)
        i = ingress.setdefault(key, v.ingress)
    return e, i


def app_isolation(ctx: Context) -> Iterable[Violation]:
    """Every pair of checked app namespaces (and each class with its second member), on every probed
    port. Most of these flows differ only in namespaces that neither side's rules can tell apart, so
    each side's result is evaluated once per what it can see of the other end and looked up for the
    rest; a flow whose sides break the promise is evaluated again, whole, to report it."""
    name = "app-isolation"
    ps = ctx.ps
    for a in ctx.checked_apps:
        peer = ctx.class_peers.get(a)
        for b in [*ctx.checked_apps, *([peer] if peer else [])]:
            promises = [f for f in ctx.catalogue.isolation(a, b) if f.proven_by == name]
            if not promises:
                continue
            for src in ctx.pods(a):
                for dst in ctx.pods(b):
                    ke, ki = ps.peer_key(src, "egress", dst), ps.peer_key(dst, "ingress", src)
                    if ke is None or ki is None:
                        for f in promises:
                            yield from _prove(ctx, name, f, src, dst)
                        continue
                    egress, ingress = _sides(ctx, src, dst, ke, ki)
                    for f in promises:
                        for p in f.ports:
                            e, i = _side_pair(ctx, src, dst, egress, ingress, p.port, p.protocol)
                            allowed = e.allowed and i.allowed
                            if allowed == f.allowed and (allowed or not f.serving_side or not (i.allowed and i.enforced)):
                                continue  # as promised
                            why = f" ({f.why.detail})" if f.why.detail else ""
                            if v := _expect(ctx, name, src, dst, p.port, p.protocol, f.allowed, why,
                                            serving_side=f.serving_side):
                                yield v


def world_egress(ctx: Context) -> Iterable[Violation]:
    name = "world-egress"
    order = {(p.port, p.protocol): i for i, p in enumerate(C.WORLD_PROBES)}
    for ns in ctx.checked_apps:
        promises = sorted(ctx.promises(ns, name), key=lambda f: order.get((f.port.port, f.port.protocol), len(order)))
        for src in ctx.pods(ns):
            for f in promises:
                yield from _prove(ctx, name, f, src, ctx.endpoint(f.dst))


def escape_hatch_own_side(ctx: Context) -> Iterable[Violation]:
    """Promises about one side of a verdict: the open namespace's own egress and ingress are open;
    the side of a peer it lacks a label or a talksTo for still refuses it."""
    name = "escape-hatch-own-side"
    for ns in sorted(ctx.disabled):
        for f in ctx.catalogue.escape_hatch(ns, ctx.checked_apps):
            src, dst = ctx.endpoint(f.src), ctx.endpoint(f.dst)
            if src is None or dst is None or f.proven_by != name:
                continue
            p = f.port
            v = ctx.ps.evaluate(src, dst, p.port, p.protocol)
            side = getattr(v, f.side)
            if side.allowed == f.allowed:
                continue
            flow = _flow(src, dst, p.port, p.protocol)
            if f.allowed:
                expected, msg = f"{f.side} open", f"its own {f.side} is not open"
            elif f.side == "ingress":
                expected, msg = "peer ingress enforced", (
                    f"the {f.dst.namespace} side admits a namespace without {access_label(f.why.name)} — "
                    "the escape hatch must not open peers")
            else:
                expected, msg = "peer egress enforced", (
                    f"{f.src.namespace}'s own egress lets it reach the open namespace — the escape hatch must not open peers")
            yield Violation(name, flow, expected, v, f"{flow}: {msg} — {_decider(v)}", side.policy)


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
    with paused_gc():
        return _check_invariants(docs, inventory, exp, policies, only)


def _check_invariants(docs: list[Mapping], inventory: Inventory, exp: Expectations,
                      policies: PolicySet | None, only: Iterable[str] | None) -> list[Violation]:
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
