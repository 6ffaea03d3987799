"""The one catalogue of expected flows: what every namespace of a stack must allow, what must stay closed, and why.

Every expected flow (`ExpectedFlow`) names its source and destination (`Ref`: the pods of a
namespace, a well-known workload, an entity, a DNS name), the ports it stands for (`PortProtocol`),
the promise (`Expectation`: must allow / must stay closed) and why (`Why`): the profile, access
label, gateway, baseline or declared extra that requires it, app isolation, or the escape hatch.
`Catalogue.for_stack(cfg)` gives the catalogue of a stack's model; `Catalogue.for_inventory` the
catalogue of namespaces known only by their labels (a rendered tree, a live cluster), with the
defaults or a stack's `Expectations`.

Per app namespace (`Catalogue.app`), in this order:

* its standard flows (`Catalogue.standard`, one column each in `netpol matrix`): DNS to kube-dns
  (53/UDP, 53/TCP; baseline `baseline-dns-egress`); world 443/TCP and 80/TCP (allowed when the
  profile or a declared world extra opens the port); each port of each shared resource (its access
  label) and kube-apiserver when `kube-api` is not a shared resource (`baseline-kube-api`); each
  gateway → the namespace on the gateway ports (allowed when the profile admits the gateway);
  Prometheus → the namespace on its metrics ports (`baseline-prometheus-scrape`); the namespace →
  its neighbouring app namespace on 8080/TCP (closed: app isolation);
* probes (`Catalogue.probes`): world on the other `WORLD_PROBES` ports, closed unless declared;
* its declared extras (`Catalogue.extras`): each `talksTo`, `egress`, `ingress`, `intraNamespace` port;
* HBONE to and from ztunnel when it is in the mesh (`Catalogue.hbone`, `baseline-hbone-mesh`).

Per platform namespace (`Catalogue.platform`): DNS, Prometheus, HBONE when in the mesh, its declared
extras. Between two app namespaces (`Catalogue.isolation`): every `APP_PROBES` port not declared by
a talksTo stays closed. For a namespace with enforcement disabled (`Catalogue.escape_hatch`): its own
side is open, its peers' sides are not.

The tools that read it: `netpol matrix` (`netpol.matrix`: the standard flows, one column each),
`netpol verify` and triage (`netpol.triage.checks`: the standard flows and talksTo of a namespace,
with their hubble commands), the reachability invariants (`netpol.invariants`, and the policy pack's
`reachability-invariants` rule: every promise with `proven_by`), and `netpol diff`
(`netpol.diff.flows`: every concrete flow the standard flows, HBONE and the extras stand for).

Also defined here, once: the well-known workloads (`KUBE_DNS`, `PROMETHEUS`, `ZTUNNEL`, `GATEWAYS`:
their namespace, pod labels and the name the inventory gives them) and which pod is the workload of
a namespace (`workload_pod`). Their namespaces, labels and ports come from `netpol.wellknown`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Mapping

from netpol import names as N
from netpol import wellknown as W
from netpol.apis import WORLD
from netpol.defaults import GATEWAY_PORTS, METRICS_PORTS
from netpol.labels import (
    ACCESS_LABEL_PREFIX, ACCESS_LABEL_VALUE, ENFORCEMENT_DISABLED, ENFORCEMENT_LABEL, GATEWAY_NAME_LABEL, MESH_LABEL,
    MESH_VALUE, PROFILE_LABEL, access_label,
)
from netpol.model import DEFAULT_SHARED_RESOURCES, NamespaceRules, PortProtocol, SharedResource, StackConfig
from netpol.profiles import PROFILES


@functools.lru_cache(maxsize=None)
def port(number: int, protocol: str = "TCP") -> PortProtocol:
    """`PortProtocol` (cached: the catalogue builds the same few thousand times)."""
    return PortProtocol(port=number, protocol=protocol)


# --- the ports of the promises ------------------------------------------------------------------
# DNS to kube-dns: the baseline `baseline-dns-egress` opens both.
DNS = (port(W.DNS_PORT, "UDP"), port(W.DNS_PORT, "TCP"))
# World ports among every app namespace's standard flows (the matrix's world-443 and world-80).
WORLD_SAMPLES = (port(W.HTTPS_PORT), port(80))
# World ports probed where the promise is "the profile's world ports and the declared extras, nothing
# else" (invariant `world-egress`), in the order they are reported.
WORLD_PROBES = (port(80), port(W.HTTPS_PORT), port(8080), port(5432), port(W.DNS_PORT, "UDP"), port(22))
# Ports probed between two app namespaces (invariant `app-isolation`; fewer: it is quadratic in the
# number of identity classes).
APP_PROBES = (port(80), port(W.HTTPS_PORT), port(8080), port(W.DNS_PORT, "UDP"))
# The port of the standard flow to the neighbouring app namespace (`other-app`), and of a peer's
# egress to a namespace with enforcement disabled.
NEIGHBOUR_PORT = port(8080)
# A port no policy names: a namespace with enforcement disabled is open on it, both ways.
ESCAPE_HATCH_PROBE = port(31337)


# --- the well-known workloads ---------------------------------------------------------------------
WORKLOAD = "app"  # the pod name of a namespace's workload (`netpol.stack.inventory_for`)


def workload_labels(namespace: str) -> dict[str, str]:
    """The labels of an app namespace's workload pod."""
    return {"app": namespace}


@dataclass(frozen=True)
class WellKnown:
    """A platform workload every stack relies on: where it runs, its pod labels, and the name the
    inventory gives its pod when the stack declares none."""

    name: str
    namespace: str
    selector: tuple[tuple[str, str], ...]

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.selector)

    @functools.cached_property
    def ref(self) -> "Ref":
        return Ref("pods", self.namespace, self.selector, self.name)

    def matches(self, namespace: str | None, labels: Mapping[str, str]) -> bool:
        return namespace == self.namespace and all(labels.get(k) == v for k, v in self.selector)


def _well_known(name: str, namespace: str, labels: Mapping[str, str]) -> WellKnown:
    return WellKnown(name, namespace, tuple(labels.items()))


KUBE_DNS = _well_known("kube-dns", W.KUBE_DNS_NAMESPACE, W.KUBE_DNS_LABELS)
PROMETHEUS = _well_known("prometheus", W.PROMETHEUS_NAMESPACE, W.PROMETHEUS_LABELS)
ZTUNNEL = _well_known("ztunnel", W.ZTUNNEL_NAMESPACE, W.ZTUNNEL_LABELS)
GATEWAYS: dict[str, WellKnown] = {
    g: _well_known(f"{g}-gateway", W.GATEWAY_NAMESPACE, W.gateway_labels(g)) for g in W.GATEWAYS
}
WELL_KNOWN: tuple[WellKnown, ...] = (KUBE_DNS, PROMETHEUS, ZTUNNEL, *GATEWAYS.values())


def well_known_in(namespace: str) -> list[WellKnown]:
    return [w for w in WELL_KNOWN if w.namespace == namespace]


def well_known_role(namespace: str | None, labels: Mapping[str, str]) -> WellKnown | None:
    """The well-known workload a pod with these labels in this namespace is, if any."""
    return next((w for w in WELL_KNOWN if w.matches(namespace, labels)), None)


def gateway_of(namespace: str | None, labels: Mapping[str, str]) -> str | None:
    """Which gateway (`wellknown.GATEWAYS`) a pod serves, if it is one."""
    if namespace != W.GATEWAY_NAMESPACE:
        return None
    g = labels.get(GATEWAY_NAME_LABEL)
    return g if g in GATEWAYS else None


# --- endpoints of expected flows -----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Ref:
    """An endpoint of an expected flow before it meets an inventory.

    kind "pods": the pods of `namespace` matching `selector` (None: every pod of the namespace, for
    which its workload stands); `name` is the well-known workload's, if it is one. "entity": the
    Cilium entity `name`. "fqdn" / "fqdn-pattern": a DNS name or pattern outside the cluster."""

    kind: str
    namespace: str | None = None
    selector: tuple[tuple[str, str], ...] | None = None
    name: str | None = None

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.selector or ())

    def __str__(self) -> str:
        if self.kind == "pods":
            if self.name:
                return f"{self.namespace}/{self.name}"
            sel = ",".join(f"{k}={v}" for k, v in self.selector) if self.selector else ""
            return f"{self.namespace}" + (f" [{sel}]" if sel else "")
        return f"{'entity' if self.kind == 'entity' else 'fqdn'}:{self.name}"


@functools.lru_cache(maxsize=65536)
def namespace_ref(namespace: str) -> Ref:
    """Every pod of a namespace (its workload stands for them)."""
    return Ref("pods", namespace)


def pods_ref(namespace: str, labels: Mapping[str, str] | None) -> Ref:
    """The pods of a namespace that carry `labels` (none or empty: every pod)."""
    return Ref("pods", namespace, tuple(labels.items())) if labels else namespace_ref(namespace)


@functools.lru_cache(maxsize=None)
def entity_ref(name: str) -> Ref:
    return Ref("entity", name=name)


def pattern_example(pattern: str) -> str:
    """The DNS name that stands for an `fqdnPattern` (a name it matches) where no inventory name does."""
    return pattern.replace("**.", "a.b.").replace("*", "x")


def workload_pod(inventory: Any, namespace: str):
    """The workload of a namespace: its pod named `WORKLOAD`, else its first pod (None: no pods)."""
    return inventory.pod(namespace, WORKLOAD) or next(iter(inventory.pods_in(namespace)), None)


def pods_of(ref: Ref, inventory: Any) -> list:
    """Every inventory pod a `pods` ref stands for, in inventory order."""
    sel = ref.selector or ()
    return [p for p in inventory.pods_in(ref.namespace) if all(p.labels.get(k) == v for k, v in sel)]


def representative(ref: Ref, inventory: Any):
    """The one pod that stands for a `pods` ref: the first matching pod, or for a whole namespace its
    workload (None: no such pod in the inventory)."""
    if ref.selector is None:
        return workload_pod(inventory, ref.namespace)
    return next(iter(pods_of(ref, inventory)), None)


# --- expected flows ---------------------------------------------------------------------------------
class Expectation(str, Enum):
    ALLOW = "must allow"
    CLOSED = "must stay closed"

    @property
    def allowed(self) -> bool:
        return self is Expectation.ALLOW


ALLOW, CLOSED = Expectation.ALLOW, Expectation.CLOSED


@dataclass(frozen=True, slots=True)
class Why:
    """What requires an expected flow: `source` is one of profile, access label, gateway, baseline,
    extra, isolation, escape hatch; `name` the profile, resource, gateway, baseline policy, declared
    extra or peer; `detail` how it applies to this namespace, as reports say it (may be empty)."""

    source: str
    name: str
    detail: str = ""

    def __str__(self) -> str:
        return self.detail or f"{self.source} {self.name}"


@functools.lru_cache(maxsize=4096)
def because(source: str, name: str, detail: str = "") -> Why:
    """`Why` (cached: most namespaces share their reasons)."""
    return Why(source, name, detail)


@dataclass(frozen=True, slots=True)
class ExpectedFlow:
    """One promise: `src` → `dst` on `ports` must be allowed or must stay closed (`expect`), because
    of `why`. `side` "egress"/"ingress": the promise is about that side of the verdict only (the
    escape hatch's); `serving_side`: a closed flow must be refused by the destination's ingress too."""

    namespace: str  # the namespace whose promise it is (the flow is listed under it)
    check: str  # stable id within the namespace: dns, dns-tcp, postgres, world-443, internal-gateway, talksTo[0]-8080-TCP, ...
    kind: str  # dns | world | shared | kube-api | gateway | prometheus | isolation | hbone | talksTo | egress | ingress | intraNamespace | escape-hatch
    src: Ref
    dst: Ref
    ports: tuple[PortProtocol, ...]  # every port it stands for (the first stands for all in one-cell summaries)
    expect: Expectation
    why: Why
    title: str
    column: str = ""  # the group it is shown under (the matrix's column, diff's check); default: check
    standard: bool = False  # one of the namespace's standard flows
    proven_by: str | None = None  # the reachability invariant that asserts it (None: shown, not asserted)
    serving_side: bool = False  # a closed flow must also be refused by the destination's own ingress
    side: str = "both"  # which side of the verdict the promise is about: both | egress | ingress

    def __post_init__(self) -> None:
        if not self.column:
            object.__setattr__(self, "column", self.check)

    @property
    def port(self) -> PortProtocol:
        return self.ports[0]

    @property
    def allowed(self) -> bool:
        return self.expect.allowed

    @property
    def direction(self) -> str:
        """egress: from the namespace's own pods; ingress: to them (from anything else, its own
        well-known workloads included: Prometheus scraping monitoring is ingress to monitoring)."""
        src = self.src
        return "egress" if src.kind == "pods" and src.namespace == self.namespace and src.name is None else "ingress"

    def __str__(self) -> str:
        ports = ", ".join(str(p) for p in self.ports)
        return f"{self.src} -> {self.dst} {ports}: {self.expect.value} ({self.why})"


# --- what a stack declares ---------------------------------------------------------------------------
@dataclass
class Expectations:
    """What the catalogue's promises depend on beyond namespace labels: metrics ports, gateway ports,
    shared resources, and the declared extras. From a stack's config, or the defaults for policies
    this program did not write."""

    default_metrics_ports: list[int]
    metrics_ports: dict[str, list[int]]  # namespace → ports (absent: the defaults)
    gateway_ports: list[int]
    shared: dict[str, SharedResource]
    talks_to: set[tuple[str, str, int, str]] = field(default_factory=set)  # (src ns, dst ns, port, proto)
    world_egress: dict[str, set[tuple[int, str]]] = field(default_factory=dict)  # app ns → declared world ports
    rules: dict[str, NamespaceRules] = field(default_factory=dict)  # namespace → its declared extras
    _declared: dict | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_stack(cls, cfg: StackConfig) -> "Expectations":
        every = cfg.all_namespaces()
        talks = {(src, t.namespace, p.port, p.protocol)
                 for src, rules in every.items() for t in rules.talksTo for p in t.ports}
        world = {ns: {(p.port, p.protocol) for r in a.egress if r.entity == WORLD for p in r.ports}
                 for ns, a in cfg.namespaces.items()}
        return cls(list(cfg.metricsPorts), {ns: cfg.metrics_ports_for(ns) for ns in every},
                   list(cfg.gatewayPorts), dict(cfg.sharedResources), talks, world, every)

    @classmethod
    def defaults(cls) -> "Expectations":
        return cls(list(METRICS_PORTS), {}, list(GATEWAY_PORTS),
                   {k: SharedResource.model_validate(v) for k, v in DEFAULT_SHARED_RESOURCES.items()})

    def metrics_for(self, ns: str) -> list[int]:
        return self.metrics_ports.get(ns, self.default_metrics_ports)

    def declared(self, src: str, dst: str) -> set[tuple[int, str]]:
        """The (port, protocol)s a talksTo of `src` declares towards `dst`."""
        if self._declared is None:
            idx: dict[tuple[str, str], set[tuple[int, str]]] = {}
            for s, d, p, proto in self.talks_to:
                idx.setdefault((s, d), set()).add((p, proto))
            self._declared = idx
        return self._declared.get((src, dst), set())


@dataclass(frozen=True, slots=True)
class NamespaceView:
    """What the catalogue reads of one namespace: its profile (None: not an app namespace), the
    shared resources its access labels open, whether it is in the mesh, whether enforcement is
    disabled on it (the escape hatch)."""

    name: str
    profile: str | None = None
    access: frozenset[str] = frozenset()
    mesh: bool = False
    disabled: bool = False

    @classmethod
    def from_labels(cls, name: str, labels: Mapping[str, str]) -> "NamespaceView":
        profile = labels.get(PROFILE_LABEL)
        return cls(name, profile if profile in PROFILES else None,
                   frozenset(k[len(ACCESS_LABEL_PREFIX):] for k, v in labels.items()
                             if k.startswith(ACCESS_LABEL_PREFIX) and v == ACCESS_LABEL_VALUE),
                   labels.get(MESH_LABEL) == MESH_VALUE, labels.get(ENFORCEMENT_LABEL) == ENFORCEMENT_DISABLED)


# --- the catalogue ----------------------------------------------------------------------------------
class Catalogue:
    """The expected flows of one stack (see the module docstring)."""

    def __init__(self, exp: Expectations, views: Mapping[str, NamespaceView] = (), cfg: StackConfig | None = None):
        """`views` of the namespaces it knows; with `cfg`, each namespace's view is read from the
        stack's config when first asked for (a stack of thousands of namespaces asked about one)."""
        self.exp = exp
        self.views = dict(views)
        self._cfg = cfg
        self.apps = (sorted(cfg.namespaces) if cfg is not None
                     else sorted(ns for ns, v in self.views.items() if v.profile is not None))
        self._memo: dict[tuple, list[ExpectedFlow]] = {}

    @classmethod
    def for_stack(cls, cfg: StackConfig) -> "Catalogue":
        return cls(Expectations.from_stack(cfg), cfg=cfg)

    @classmethod
    def for_inventory(cls, namespaces: Mapping[str, Mapping[str, str]], exp: Expectations) -> "Catalogue":
        """Namespaces known by their labels (app namespaces: a profile label), with `exp`."""
        return cls(exp, {ns: NamespaceView.from_labels(ns, labels) for ns, labels in namespaces.items()})

    def view(self, ns: str) -> NamespaceView:
        v = self.views.get(ns)
        if v is None:
            v = NamespaceView(ns)
            if self._cfg is not None and ns in self._cfg.namespaces:
                a = self._cfg.namespaces[ns]
                v = NamespaceView(ns, a.profile, frozenset(a.access), a.mesh)
            elif self._cfg is not None and ns in self._cfg.platformNamespaces:
                v = NamespaceView(ns, mesh=self._cfg.platformNamespaces[ns].mesh)
            self.views[ns] = v
        return v

    def neighbours(self) -> dict[str, str | None]:
        """Each app namespace's neighbour (the next one by name, wrapping around; None when alone)."""
        n = len(self.apps)
        return {ns: (self.apps[(i + 1) % n] if n > 1 else None) for i, ns in enumerate(self.apps)}

    def columns(self) -> list[str]:
        """The columns of the standard flows, in order (every app namespace has each, peers permitting)."""
        cols: list[str] = []
        for f in self._standard(NamespaceView("", next(iter(PROFILES))), neighbour=""):
            if f.column not in cols:
                cols.append(f.column)
        return cols

    def _memoized(self, key: tuple, build) -> list[ExpectedFlow]:
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = build()
        return hit

    # --- per namespace -------------------------------------------------------------------------------
    def app(self, ns: str, neighbour: str | None = None) -> list[ExpectedFlow]:
        """Every promise of app namespace `ns`: `standard`, `probes`, `extras`, `hbone`."""
        return [*self.standard(ns, neighbour), *self.probes(ns), *self.extras(ns), *self.hbone(ns)]

    def standard(self, ns: str, neighbour: str | None = None) -> list[ExpectedFlow]:
        """The standard flows of app namespace `ns` (with `neighbour`: the flow to it), in column order."""
        return self._memoized(("standard", ns, neighbour), lambda: self._standard(self.view(ns), neighbour))

    def probes(self, ns: str) -> list[ExpectedFlow]:
        """World on the `WORLD_PROBES` ports that are not standard flows (app namespaces)."""
        return self._memoized(("probes", ns), lambda: self._world(self.view(ns), standard=False))

    def extras(self, ns: str) -> list[ExpectedFlow]:
        """What namespace `ns` declares: each `talksTo`, `egress`, `ingress`, `intraNamespace` port."""
        return self._memoized(("extras", ns), lambda: self._extras(ns, namespace_ref(ns)))

    def hbone(self, ns: str) -> list[ExpectedFlow]:
        """HBONE to and from ztunnel, when `ns` is in the mesh."""
        def build():
            v = self.view(ns)
            if not v.mesh:
                return []
            if v.profile is not None:
                return self._hbone(ns, because("baseline", N.BASELINE_HBONE, f"{MESH_LABEL}={MESH_VALUE}"))
            return self._hbone(ns, because("baseline", N.platform_policy_name(ns), "in the mesh"))
        return self._memoized(("hbone", ns), build)

    def platform(self, ns: str) -> list[ExpectedFlow]:
        """Every promise of a namespace that is not an app namespace (platform, or unknown): DNS,
        Prometheus, `hbone`, `extras`."""
        return [*self._memoized(("platform", ns), lambda: [*self._dns(ns, proven_by=None), self._scrape(ns)]),
                *self.hbone(ns), *self.extras(ns)]

    def flows(self, ns: str) -> list[ExpectedFlow]:
        """`app(ns)` for an app namespace, else `platform(ns)`."""
        return self.app(ns) if self.view(ns).profile is not None else self.platform(ns)

    def isolation(self, a: str, b: str) -> list[ExpectedFlow]:
        """App namespace `a` → app namespace `b`: the `APP_PROBES` ports no talksTo of `a` declares
        stay closed (nothing when `a` has enforcement disabled: its own side is open by design; when
        `b` has, only `a`'s side can refuse)."""
        va, vb = self.view(a), self.view(b)
        if va.disabled or a == b:
            return []
        declared = self.exp.declared(a, b)
        ports = tuple(p for p in APP_PROBES if (p.port, p.protocol) not in declared)
        if not ports:
            return []
        return [ExpectedFlow(a, f"isolation-{b}", "isolation", namespace_ref(a), namespace_ref(b), ports, CLOSED,
                             because("isolation", b, "no talksTo declares it"), f"app namespace {b}", "isolation",
                             proven_by="app-isolation", serving_side=not vb.disabled)]

    def escape_hatch(self, ns: str, peers: Iterable[str]) -> list[ExpectedFlow]:
        """A namespace with enforcement disabled: its own egress and ingress are open; the shared
        resources it lacks the label for still refuse it; its app peers' own egress still refuses it
        (unless a talksTo declares it)."""
        v, me, world = self.view(ns), namespace_ref(ns), entity_ref(WORLD)
        why = because("escape hatch", N.ESCAPE_HATCH, f"{ENFORCEMENT_LABEL}={ENFORCEMENT_DISABLED}")
        p, api = ESCAPE_HATCH_PROBE, port(W.KUBE_API_PORT)

        def flow(check, src, dst, p_, expect, side, title, why_=why):
            return ExpectedFlow(ns, check, "escape-hatch", src, dst, (p_,), expect, why_, title,
                                column="escape-hatch", proven_by="escape-hatch-own-side", side=side)

        out = [flow("escape-hatch-egress-world", me, world, p, ALLOW, "egress", f"own egress to world ({p})"),
               flow("escape-hatch-egress-kube-api", me, entity_ref(W.KUBE_API_ENTITY), api, ALLOW, "egress",
                    f"own egress to kube-apiserver ({api})"),
               flow("escape-hatch-ingress-world", world, me, p, ALLOW, "ingress", f"own ingress from world ({p})")]
        for name, res in self.exp.shared.items():
            if res.namespace is None or name in v.access:
                continue
            out.append(flow(f"escape-hatch-{name}", me, pods_ref(res.namespace, res.pods), res.ports[0], CLOSED, "ingress",
                            f"shared resource {name} still refuses it ({res.ports[0]})",
                            because("access label", name, f"lacks {access_label(name)}=\"true\"")))
        for other in peers:
            if other == ns or self.view(other).disabled or self.exp.declared(other, ns):
                continue
            out.append(flow(f"escape-hatch-from-{other}", namespace_ref(other), me, NEIGHBOUR_PORT, CLOSED, "egress",
                            f"app namespace {other} still refuses it ({NEIGHBOUR_PORT})",
                            because("isolation", other, "no talksTo declares it")))
        return out

    # --- the parts ---------------------------------------------------------------------------------------
    def _standard(self, v: NamespaceView, neighbour: str | None) -> list[ExpectedFlow]:
        ns, me, exp = v.name, namespace_ref(v.name), self.exp
        profile = PROFILES[v.profile]
        out = list(self._dns(ns, proven_by="dns-resolves"))

        out += self._world(v, standard=True)

        # shared resources: each port, opened by the access label (or reached through a talksTo)
        for name, res in exp.shared.items():
            has = name in v.access
            talks = any((ns, res.namespace, p.port, p.protocol) in exp.talks_to for p in res.ports)
            dst = pods_ref(res.namespace, res.pods) if res.namespace is not None else entity_ref(res.entity)
            why = because("access label", name, f"{'has' if has else 'lacks'} {access_label(name)}=\"true\"")
            if talks and not has:
                why = because("extra", "talksTo", f"a talksTo to {res.namespace} declares it")
            proven = None if talks or (v.disabled and res.namespace is None) else "shared-access"
            first = (res.ports[0].port, res.ports[0].protocol)
            for p in res.ports:
                out.append(ExpectedFlow(
                    ns, name if (p.port, p.protocol) == first else f"{name}-{p.port}", "shared", me, dst, (p,),
                    ALLOW if has or talks else CLOSED, why, f"shared resource {name} ({p})", column=name,
                    standard=True, proven_by=proven, serving_side=res.namespace is not None and not v.disabled))
        if W.KUBE_API not in exp.shared:
            has, p = W.KUBE_API in v.access, port(W.KUBE_API_PORT)
            out.append(ExpectedFlow(
                ns, W.KUBE_API, W.KUBE_API, me, entity_ref(W.KUBE_API_ENTITY), (p,), ALLOW if has else CLOSED,
                because("baseline", N.BASELINE_KUBE_API, f"{'has' if has else 'lacks'} {access_label(W.KUBE_API)}=\"true\""),
                f"Kubernetes API ({p})", standard=True))

        # gateways: on the gateway (backend) ports, each admitted by the profile or not
        gw_ports = tuple(port(p) for p in exp.gateway_ports)
        for g, gw in GATEWAYS.items():
            admitted = g in profile.gateways
            out.append(ExpectedFlow(
                ns, f"{g}-gateway", "gateway", gw.ref, me, gw_ports, ALLOW if admitted else CLOSED,
                because("gateway", g, f"profile {profile.name} {'admits' if admitted else 'does not admit'} the {g} gateway"),
                f"{g} gateway ingress ({gw_ports[0]})", standard=True,
                proven_by=None if v.disabled else "gateway-ingress", serving_side=True))

        out.append(self._scrape(ns))

        if neighbour is not None:
            ok = (NEIGHBOUR_PORT.port, NEIGHBOUR_PORT.protocol) in exp.declared(ns, neighbour)
            out.append(ExpectedFlow(
                ns, "other-app", "isolation", me, namespace_ref(neighbour), (NEIGHBOUR_PORT,), ALLOW if ok else CLOSED,
                because("extra", "talksTo", f"a talksTo to {neighbour} declares it") if ok
                else because("isolation", neighbour, "no talksTo declares it"),
                f"neighbouring app namespace {neighbour} ({NEIGHBOUR_PORT})", standard=True,
                proven_by=None if ok else "app-isolation", serving_side=not self.view(neighbour).disabled))

        return out

    def _world(self, v: NamespaceView, standard: bool) -> list[ExpectedFlow]:
        """World from app namespace `v`: the samples (`standard`) or the other probes, each allowed when
        the profile or a declared world extra opens it."""
        ns, me, profile = v.name, namespace_ref(v.name), PROFILES[v.profile]
        from_profile = {(p, "TCP") for p in profile.world_egress_ports}
        opened = from_profile | self.exp.world_egress.get(ns, set())
        world = entity_ref(WORLD)
        samples = {(p.port, p.protocol) for p in WORLD_SAMPLES}
        ports = WORLD_SAMPLES if standard else [p for p in WORLD_PROBES if (p.port, p.protocol) not in samples]
        out = []
        for p in ports:
            key = (p.port, p.protocol)
            ok = key in opened
            source = "extra" if ok and key not in from_profile else "profile"
            check = f"world-{p.port}" if p.protocol == "TCP" else f"world-{p.port}-{p.protocol.lower()}"
            out.append(ExpectedFlow(
                ns, check, "world", me, world, (p,), ALLOW if ok else CLOSED,
                because(source, profile.name if source == "profile" else "egress",
                    f"profile {profile.name}" + (" and declared extras" if ok else "")),
                f"internet egress (world {p})", check, standard=standard,
                proven_by=None if v.disabled else "world-egress"))
        return out

    def _dns(self, ns: str, proven_by: str | None) -> list[ExpectedFlow]:
        why = because("baseline", N.BASELINE_DNS)
        return [ExpectedFlow(ns, "dns" if i == 0 else f"dns-{p.protocol.lower()}", "dns", namespace_ref(ns), KUBE_DNS.ref,
                             (p,), ALLOW, why, f"DNS to kube-dns ({p})", column="dns", standard=True, proven_by=proven_by)
                for i, p in enumerate(DNS)]

    def _scrape(self, ns: str) -> ExpectedFlow:
        ports = tuple(port(p) for p in self.exp.metrics_for(ns))
        return ExpectedFlow(ns, "prometheus", "prometheus", PROMETHEUS.ref, namespace_ref(ns), ports, ALLOW,
                            because("baseline", N.BASELINE_PROMETHEUS), f"Prometheus scrape ({ports[0]})",
                            standard=True, proven_by="prometheus-scrapes")

    def _hbone(self, ns: str, why: Why) -> list[ExpectedFlow]:
        p, me = port(W.HBONE_PORT), namespace_ref(ns)
        return [ExpectedFlow(ns, "hbone-in", "hbone", ZTUNNEL.ref, me, (p,), ALLOW, why, f"HBONE from ztunnel ({p})",
                             column="hbone"),
                ExpectedFlow(ns, "hbone-out", "hbone", me, ZTUNNEL.ref, (p,), ALLOW, why, f"HBONE to ztunnel ({p})",
                             column="hbone")]

    def _extras(self, ns: str, me: Ref) -> list[ExpectedFlow]:
        rules = self.exp.rules.get(ns)
        if rules is None:
            return []
        out: list[ExpectedFlow] = []
        for i, t in enumerate(rules.talksTo):
            src, dst, why = pods_ref(ns, t.endpointSelector), pods_ref(t.namespace, t.pods), because("extra", f"talksTo[{i}]")
            out += [ExpectedFlow(ns, f"talksTo[{i}]-{p.port}-{p.protocol}", "talksTo", src, dst, (p,), ALLOW, why,
                                 f"talksTo {t.namespace} ({p})", column="talksTo") for p in t.ports]
        for i, r in enumerate(rules.egress):
            src, why = pods_ref(ns, r.endpointSelector), because("extra", f"egress[{i}]")
            dst = (entity_ref(r.entity) if r.entity else Ref("fqdn", name=r.fqdn) if r.fqdn
                   else Ref("fqdn-pattern", name=r.fqdnPattern))
            out += [ExpectedFlow(ns, f"egress[{i}]-{p.port}-{p.protocol}", "egress", src, dst, (p,), ALLOW, why,
                                 f"egress to {r.peer_value} ({p})", column="egress") for p in r.ports]
        for i, r in enumerate(rules.ingress):
            dst, why = pods_ref(ns, r.endpointSelector), because("extra", f"ingress[{i}]")
            out += [ExpectedFlow(ns, f"ingress[{i}]-{p.port}-{p.protocol}", "ingress", entity_ref(r.entity), dst, (p,),
                                 ALLOW, why, f"ingress from {r.entity} ({p})", column="ingress") for p in r.ports]
        why = because("extra", "intraNamespace")
        out += [ExpectedFlow(ns, f"intraNamespace-{p.port}-{p.protocol}", "intraNamespace", me, me, (p,), ALLOW, why,
                             f"within {ns} ({p})", column="intraNamespace") for p in rules.intraNamespace]
        return out
