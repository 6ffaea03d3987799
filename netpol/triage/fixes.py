"""Fixes as model changes, applied to a copy of the stack's model and verified with the engine.

A `Change` is a tuple of steps on the typed model (hashable, so each distinct change is built and
compiled once, whatever the number of findings that propose it):

    ("declare", ns)                         declare an app namespace the stack does not know (isolated)
    ("access", ns, resource)                add a shared resource to namespaces.<ns>.access
    ("profile", ns, profile)                set namespaces.<ns>.profile
    ("talksTo", ns, target, pods, ports)    add a talksTo entry (pods: tuple of label items or ())
    ("egress", ns, kind, value, ports)      add an egress rule (kind: entity | fqdn)
    ("metricsPorts", ns, port)              add a metrics port to the namespace
    ("intraNamespace", ns, ports)           add intraNamespace ports
    ("gatewayPorts", port)                  add a stack-wide gateway backend port

`apply_change` returns `cfg.model_copy(update=...)` with the changed namespace re-validated through
its pydantic model, so a change is exactly what the edited `Pulumi.<stack>.yaml` would give.
`World` is one variant of the stack (model, manifests, compiled PolicySet, inventory, peer
resolver); `Verifier` keeps one World per distinct change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml

from netpol import labels as L
from netpol.apis import PROTOCOLS
from netpol.builders import build_manifests
from netpol.model import AppNamespace, PlatformNamespace, StackConfig
from netpol.profiles import PROFILES
from netpol.reach.endpoints import resolve_endpoint
from netpol.reach.engine import CompileCache, PolicySet, Verdict
from netpol.reach.errors import ReachInputError
from netpol.reach.inventory import Inventory
from netpol.stack import inventory_for
from netpol.triage.checks import Check, standard_checks
from netpol.triage.peers import Peer, PeerResolver

Step = tuple
DEFAULT_PROFILE = "isolated"  # what an undeclared namespace is declared with: the smallest profile


@dataclass(frozen=True)
class Change:
    steps: tuple[Step, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.steps)

    def __add__(self, other: "Change") -> "Change":
        return Change(self.steps + tuple(s for s in other.steps if s not in self.steps))


NO_CHANGE = Change()


def _ports(ports) -> list[str]:
    return [str(p) for p in ports]


def _update_ns(cfg: StackConfig, ns: str, edit: Callable[[dict], None]) -> StackConfig:
    if ns in cfg.platformNamespaces:
        d = cfg.platformNamespaces[ns].model_dump()
        edit(d)
        new = PlatformNamespace.model_validate(d)
        return cfg.model_copy(update={"platformNamespaces": {**cfg.platformNamespaces, ns: new}})
    d = cfg.namespaces[ns].model_dump() if ns in cfg.namespaces else {"profile": DEFAULT_PROFILE}
    edit(d)
    new = AppNamespace.model_validate(d)
    return cfg.model_copy(update={"namespaces": {**cfg.namespaces, ns: new}})


def _append_unique(d: dict, key: str, values: list) -> None:
    """Append values not there yet; ports compare as `N/PROTO` (model_dump gives {port, protocol})."""
    cur = list(d.get(key) or [])
    if key == "intraNamespace":
        cur = [_port_text(p) for p in cur]
        values = [_port_text(p) for p in values]
    for v in values:
        if v not in cur:
            cur.append(v)
    d[key] = cur


def _port_text(p: Any) -> str:
    if isinstance(p, dict):
        return f"{p.get('port')}/{p.get('protocol') or 'TCP'}"
    return str(p) if "/" in str(p) else f"{p}/TCP"


def talks_to_entry(cfg: StackConfig, ns: str, target: str, pods: dict) -> int | None:
    """Index of the namespace's talksTo entry to the same peer (namespace and pods, every pod of the
    namespace talking), which a new port joins rather than a second entry."""
    m = cfg.all_namespaces().get(ns)
    for i, t in enumerate(m.talksTo if m is not None else ()):
        if t.namespace == target and dict(t.pods or {}) == pods and not t.endpointSelector:
            return i
    return None


def _merge_talks_to(d: dict, target: str, pods: dict, ports: list[str]) -> None:
    cur = list(d.get("talksTo") or [])
    for e in cur:
        if e.get("namespace") == target and dict(e.get("pods") or {}) == pods and not e.get("endpointSelector"):
            have = [_port_text(p) for p in e.get("ports") or []]
            e["ports"] = have + [p for p in ports if p not in have]
            break
    else:
        entry: dict[str, Any] = {"namespace": target, "ports": ports}
        if pods:
            entry["pods"] = pods
        cur.append(entry)
    d["talksTo"] = cur


def _apply_step(cfg: StackConfig, step: Step) -> StackConfig:
    kind = step[0]
    if kind == "declare":
        return _update_ns(cfg, step[1], lambda d: None)
    if kind == "access":
        return _update_ns(cfg, step[1], lambda d: _append_unique(d, "access", [step[2]]))
    if kind == "profile":
        return _update_ns(cfg, step[1], lambda d: d.__setitem__("profile", step[2]))
    if kind == "talksTo":
        _, ns, target, pods, ports = step
        return _update_ns(cfg, ns, lambda d: _merge_talks_to(d, target, dict(pods), list(ports)))
    if kind == "egress":
        _, ns, peer_kind, value, ports = step
        return _update_ns(cfg, ns, lambda d: _append_unique(d, "egress", [{peer_kind: value, "ports": list(ports)}]))
    if kind == "metricsPorts":
        return _update_ns(cfg, step[1], lambda d: _append_unique(d, "metricsPorts", [step[2]]))
    if kind == "intraNamespace":
        return _update_ns(cfg, step[1], lambda d: _append_unique(d, "intraNamespace", list(step[2])))
    if kind == "gatewayPorts":
        return cfg.model_copy(update={"gatewayPorts": sorted(set(cfg.gatewayPorts) | {step[1]})})
    raise ValueError(f"unknown change step {step!r}")


# Steps that change only an existing app namespace's labels: its profile and access labels are read by the
# builders for its Namespace object alone (`netpol.builders.apps.namespace_labels`), never for a policy,
# so the stack's policy documents stay the same (tests/triage/test_label_worlds.py holds every builder
# to that, on every stack, for every profile and access value).
LABEL_STEPS = frozenset({"access", "profile"})


def labels_only(cfg: StackConfig, change: Change) -> bool:
    """Whether every step of `change` sets the profile or an access label of an app namespace the stack
    already declares (a new namespace, a platform namespace, any other step: False)."""
    return all(step[0] in LABEL_STEPS and step[1] in cfg.namespaces for step in change.steps)


def apply_change(cfg: StackConfig, change: Change) -> StackConfig:
    for step in change.steps:
        cfg = _apply_step(cfg, step)
    return cfg


# --- the namespace declaration a fix leads to (the snippet to commit) -----------------------------
def declaration(cfg: StackConfig, ns: str) -> dict[str, Any]:
    """A namespace's entry as it is written in `Pulumi.<stack>.yaml` (defaults left out)."""
    m = cfg.all_namespaces().get(ns)
    if m is None:
        return {}
    out: dict[str, Any] = {}
    if isinstance(m, AppNamespace):
        out["profile"] = m.profile
        if m.access:
            out["access"] = list(m.access)
    if isinstance(m, PlatformNamespace):
        out["description"] = m.description
    if m.mesh:
        out["mesh"] = True
    if isinstance(m, PlatformNamespace):
        if m.serves:
            out["serves"] = list(m.serves)
        if m.pods:
            out["pods"] = [{"name": p.name, "labels": dict(p.labels)} for p in m.pods]
    if m.talksTo:
        out["talksTo"] = []
        for t in m.talksTo:
            e: dict[str, Any] = {"namespace": t.namespace}
            if t.pods:
                e["pods"] = dict(t.pods)
            e["ports"] = _ports(t.ports)
            if t.endpointSelector:
                e["endpointSelector"] = dict(t.endpointSelector)
            out["talksTo"].append(e)
    for direction in ("egress", "ingress"):
        rules = getattr(m, direction)
        if rules:
            out[direction] = []
            for r in rules:
                e = {r.peer_kind: r.peer_value, "ports": _ports(r.ports)}
                if r.endpointSelector:
                    e["endpointSelector"] = dict(r.endpointSelector)
                out[direction].append(e)
    if m.intraNamespace:
        out["intraNamespace"] = _ports(m.intraNamespace)
    if m.metricsPorts:
        out["metricsPorts"] = list(m.metricsPorts)
    return out


def section_of(cfg: StackConfig, ns: str) -> str:
    return "platformNamespaces" if ns in cfg.platformNamespaces else "namespaces"


# Strings both YAML emitters write alike (tests/triage/test_fixes_yaml.py draws bodies from them):
# the pure-Python emitter and libyaml's differ on keys needing the explicit `? ` form (empty, control
# characters) and on where they fold long double-quoted strings.
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/:()*,=+@-]{0,99}")
_CDumper = getattr(yaml, "CSafeDumper", None)


def _plain(obj: Any) -> bool:
    if isinstance(obj, str):
        return _PLAIN_TEXT.fullmatch(obj) is not None
    if isinstance(obj, dict):
        return all(_plain(k) and _plain(v) for k, v in obj.items())
    if isinstance(obj, list):
        return all(_plain(v) for v in obj)
    return obj is None or isinstance(obj, (bool, int))


def dump_yaml(body: dict) -> str:
    """`yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=120)`, written by
    libyaml (~5x faster) when every key and string is plain text of the kind both emitters write
    alike (names, labels, ports, FQDNs, short descriptions); by PyYAML's own emitter otherwise."""
    if _CDumper is not None and _plain(body):
        return yaml.dump(body, Dumper=_CDumper, sort_keys=False, default_flow_style=None, width=120)
    return yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=120)


def snippet(cfg: StackConfig, ns: str) -> str:
    """The YAML to commit: the namespace's whole entry after the fix, under its config key."""
    body = {"config": {f"netpol:{section_of(cfg, ns)}": {ns: declaration(cfg, ns)}}}
    return dump_yaml(body)


@dataclass
class Fix:
    """A concrete fix: the namespace, the labels to set, the config key and its new value."""

    namespace: str | None
    set_labels: dict[str, str] = field(default_factory=dict)
    config_path: str | None = None
    config_value: Any = None
    file: str | None = None
    change: Change = NO_CHANGE
    check: str | None = None  # a policy to check exists (baselines)
    extra: dict[str, Any] = field(default_factory=dict)  # add_talks_to, add_egress, ...
    yaml: str | None = None
    needs_review: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"namespace": self.namespace, "set_labels": dict(self.set_labels)}
        out.update(self.extra)
        if self.config_path:
            out["config_path"] = self.config_path
            out["config_value"] = self.config_value
        if self.file:
            out["file"] = self.file
        if self.check:
            out["check"] = self.check
        if self.needs_review:
            out["needs_review"] = True
        if self.yaml:
            out["yaml"] = self.yaml
        return out


# Worlds of different fixes share nearly every document: each distinct one is compiled once per process.
COMPILED = CompileCache()


class World:
    """One variant of the stack: model, compiled policies, inventory and a peer resolver."""

    def __init__(self, cfg: StackConfig, policies: PolicySet | None = None, inventory: Inventory | None = None):
        """The stack `cfg` as its builders declare it; or, given `policies` and `inventory` (a live
        cluster's, netpol.live), those in force, with `cfg` still naming the stack's namespaces."""
        self.cfg = cfg
        self.inventory = inventory_for(cfg) if inventory is None else inventory
        self.policies = (PolicySet.from_built([m.body for m in build_manifests(cfg)], cache=COMPILED,
                                               source=f"stack {cfg.stack}")
                         if policies is None else policies)
        self.peers = PeerResolver(cfg, self.inventory)
        self._endpoints: dict[str, Any] = {}

    def endpoint(self, spec: str):
        ep = self._endpoints.get(spec)
        if ep is None:
            ep = self._endpoints[spec] = resolve_endpoint(spec, self.inventory)
        return ep

    def spec_for(self, ep: dict | None, peer: Peer, names: list[str] = ()) -> str | None:
        """The engine spec of a flow endpoint in this world (re-resolved: a fix may add pods)."""
        if peer.is_world:
            for n in names:
                if n.lower().rstrip(".") in self.inventory.fqdns:
                    return f"fqdn:{n.lower().rstrip('.')}"
            return "entity:world"
        if ep is not None:
            p = self.peers.resolve(ep)
        elif peer.kind == "pod" and peer.namespace:
            p = self.peers.pod_peer(peer.namespace, peer.pod_labels)
        else:
            p = peer
        return p.spec

    def evaluate(self, src: str | None, dst: str | None, port: int, proto: str) -> Verdict | None:
        if src is None or dst is None or proto not in PROTOCOLS:
            return None
        try:
            return self.policies.evaluate(self.endpoint(src), self.endpoint(dst), port, proto)
        except ReachInputError:
            return None

    def checks(self, ns: str) -> list[Check]:
        return standard_checks(self.cfg, self.inventory, ns)


class Verifier:
    """Worlds per distinct change (the base stack is `NO_CHANGE`), built lazily and cached."""

    def __init__(self, cfg: StackConfig, base: World | None = None):
        """`base`: the world fixes are compared against (default: the stack `cfg` as declared; a live
        cluster's World for `netpol triage --kubeconfig`). Every change is still applied to `cfg`."""
        self.cfg = cfg
        self._worlds: dict[Change, World] = {} if base is None else {NO_CHANGE: base}
        self._built_base = base is None  # the base's policies are the ones the stack's builders make
        self._check_results: dict[tuple[Change, str], dict[str, bool]] = {}

    @property
    def base(self) -> World:
        return self.world(NO_CHANGE)

    def world(self, change: Change) -> World:
        w = self._worlds.get(change)
        if w is None:
            changed = apply_change(self.cfg, change)
            if change and self._built_base and labels_only(self.cfg, change):
                # the builders make the same policy documents: the base's compiled policies (and their
                # caches) serve, the namespaces' new labels come in through the world's inventory
                w = World(changed, policies=self.base.policies)
            else:
                w = World(changed)
            self._worlds[change] = w
        return w

    def check_results(self, change: Change, ns: str) -> dict[str, bool]:
        """check name -> allowed, for the standard flows of `ns` in the world of `change`."""
        key = (change, ns)
        hit = self._check_results.get(key)
        if hit is None:
            w = self.world(change)
            hit = {}
            for c in w.checks(ns):
                v = w.evaluate(c.src, c.dst, c.port, c.protocol)
                hit[c.name] = bool(v and v.allowed)
            self._check_results[key] = hit
        return hit

    def regressions(self, change: Change, ns: str) -> list[str]:
        """Standard flows of `ns` allowed before the change and denied after it."""
        if not change or ns not in self.cfg.namespaces:
            return []
        before = self.check_results(NO_CHANGE, ns)
        after = self.check_results(change, ns)
        return [name for name, ok in before.items() if ok and not after.get(name, False)]


def profile_for(cfg: StackConfig, ns: str, *, gateway: str | None = None, internet: bool = False) -> str:
    """The smallest profile that allows everything the namespace's current profile allows, plus the
    gateway and/or internet egress asked for (a profile switch never takes anything away)."""
    from netpol.profiles import smallest_profile

    app = cfg.namespaces.get(ns)
    cur = PROFILES[app.profile] if app else PROFILES[DEFAULT_PROFILE]
    gateways = set(cur.gateways) | ({gateway} if gateway else set())
    return smallest_profile(gateways=gateways, world_egress=internet or bool(cur.world_egress_ports))


def profile_label(profile: str) -> dict[str, str]:
    return {L.PROFILE_LABEL: profile}
