"""Evaluate one flow set under two snapshots and keep the flows whose verdict changed.

A flow whose endpoint does not exist in a snapshot (its namespace or pod is absent there) is DENIED
in that snapshot: a new namespace shows its flows opened, a deleted one shows them closed.

Which rule is responsible, per side (egress at the source, ingress at the destination) that changed:

* opened: the rule that allows the flow in head;
* closed: a deny rule that now matches (head), else the rule that allowed the flow in base and no
  longer does; if base did not enforce that side at all, the head policy that now puts it into
  default deny.

Approval (exit 3): an opened flow to an endpoint outside the cluster (world, an fqdn, an outside
address, entity `all`), from one (ingress from the internet needs the same scrutiny), to
kube-apiserver, or from another namespace to a pod of a namespace serving a shared resource (the
config registry `netpol:sharedResources`, of either revision).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from netpol.diff.flows import FlowKey, FlowSet, Spec, is_outside
from netpol.diff.snapshot import Snapshot
from netpol.apis import CCNP, CNP
from netpol.reach import Endpoint, Inventory, SideResult, Verdict
from netpol.reach.endpoints import entity_endpoint, fqdn_endpoint, ip_endpoint, pod_endpoint

SIDES = ("egress", "ingress")
CATEGORIES = ("internet-egress", "internet-ingress", "cross-namespace", "other")


@dataclass(frozen=True)
class RuleRef:
    side: str  # egress | ingress
    at: str  # base | head: the revision whose rule this is
    policy: str | None
    rule: str | None
    description: str | None
    reason: str  # the side's result in head: allowed, not-enforced, default-deny, deny-rule, absent, ...

    @property
    def label(self) -> str:
        if self.policy is None:
            return f"{self.side}: ({self.reason})"
        return f"{self.side}: {self.policy} {self.rule or ''}".rstrip()

    def to_json(self) -> dict:
        return {"side": self.side, "at": self.at, "policy": self.policy, "rule": self.rule,
                "description": self.description, "reason": self.reason}


@dataclass
class Change:
    key: FlowKey
    namespace: str
    src: str  # display names: ns, ns/pod, world, entity:NAME, fqdn:NAME, ip:ADDR
    dst: str
    opened: bool
    rules: list[RuleRef]
    approval: str | None = None  # why this opened flow needs an extra approval
    check: str = ""

    @property
    def port(self) -> int:
        return self.key.port

    @property
    def protocol(self) -> str:
        return self.key.protocol

    @property
    def rule(self) -> str:
        return "; ".join(r.label for r in self.rules)

    @property
    def category(self) -> str:
        if is_outside(self.key.dst):
            return "internet-egress"
        if is_outside(self.key.src):
            return "internet-ingress"
        if self.key.src[0] == "pod" and self.key.dst[0] == "pod" and self.key.src[1] != self.key.dst[1]:
            return "cross-namespace"
        return "other"

    def sort_key(self) -> tuple:
        return (self.namespace, self.src, self.dst, self.port, self.protocol)

    def to_json(self) -> dict:
        return {"namespace": self.namespace, "from": self.src, "to": self.dst, "port": self.port,
                "protocol": self.protocol, "rule": self.rule, "rules": [r.to_json() for r in self.rules],
                "approval": self.approval}


@dataclass
class DiffResult:
    base: str
    head: str
    stack: str | None
    opened: list[Change] = field(default_factory=list)
    closed: list[Change] = field(default_factory=list)
    flows_evaluated: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def needs_approval(self) -> list[Change]:
        return [c for c in self.opened if c.approval]

    @property
    def exit_code(self) -> int:
        return 3 if self.needs_approval else 0

    def to_json(self) -> dict:
        return {"opened": [c.to_json() for c in self.opened], "closed": [c.to_json() for c in self.closed]}


def _strings(doc: Any, out: set[str]) -> None:
    if isinstance(doc, str):
        out.add(doc)
    elif isinstance(doc, dict):
        for k, v in doc.items():
            out.add(str(k))
            _strings(v, out)
    elif isinstance(doc, (list, tuple)):
        for v in doc:
            _strings(v, out)


def identity_classes(snap: Snapshot) -> dict[str, str]:
    """namespace → the representative namespace whose only pod has exactly the same verdicts.

    Cilium evaluates policy per identity (its label set). Two one-pod namespaces whose namespace
    labels and pod label keys are equal differ only in values no policy can tell apart when neither
    namespace's name nor its pod's label values appear anywhere in the policies (selectors match
    exact values; `Exists`/`DoesNotExist` see the same keys; `NotIn` lists name neither). Such
    namespaces (the many app namespaces without extras) are evaluated once per class: the first by
    name stands for the class. Only in stack mode (the raw manifests are needed to prove it)."""
    if snap.manifests is None:
        return {}
    strings: set[str] = set()
    for doc in snap.manifests:
        if isinstance(doc, dict) and doc.get("kind") in (CNP, CCNP):
            _strings(doc, strings)
    inv = snap.inventory
    reps: dict[tuple, str] = {}
    out: dict[str, str] = {}
    for ns in sorted(inv.namespaces):
        pods = inv.pods_in(ns)
        if ns in strings or len(pods) != 1 or any(v in strings for v in pods[0].labels.values()):
            continue
        cls = (frozenset(inv.namespaces[ns].items()), frozenset(pods[0].labels))
        out[ns] = reps.setdefault(cls, ns)
    return out


class Resolver:
    """Specs → this snapshot's endpoints (None: not there)."""

    def __init__(self, snap: Snapshot, fqdns: dict[str, list[str]], group: bool = True):
        self.snap = snap
        self.inv = snap.inventory
        self._outside = Inventory(namespaces={}, pods=[], fqdns=fqdns)
        self._cache: dict[Spec, Endpoint | None] = {}
        self._class = identity_classes(snap) if group else {}

    def endpoint(self, spec: Spec) -> Endpoint | None:
        try:
            return self._cache[spec]
        except KeyError:
            pass
        kind = spec[0]
        ep: Endpoint | None
        if kind == "pod":
            pod = self.inv.pod(spec[1], spec[2])
            rep = self._class.get(spec[1])
            if pod is not None and rep is not None and rep != spec[1]:
                pod = self.inv.pods_in(rep)[0]
            if pod is None:
                ep = None
            else:
                pk = ("pod", pod.namespace, pod.name)
                ep = self._cache.get(pk) if pk != spec else None
                if ep is None:
                    ep = self._cache[pk] = pod_endpoint(pod, self.inv)
        elif kind == "entity":
            ep = entity_endpoint(spec[1])
        elif kind == "fqdn":
            ep = fqdn_endpoint(spec[1], self._outside)
        else:
            ep = ip_endpoint(spec[1], self._outside)
        self._cache[spec] = ep
        return ep

    def verdict(self, key: FlowKey) -> Verdict | None:
        src, dst = self.endpoint(key.src), self.endpoint(key.dst)
        if src is None or dst is None:
            return None
        return self.snap.policies.evaluate(src, dst, key.port, key.protocol)


def _side(v: Verdict | None, name: str) -> SideResult | None:
    return getattr(v, name) if v is not None else None


def _ref(side: str, at: str, s: SideResult, reason: str) -> RuleRef:
    desc = " ".join(s.description.split()) if s.description else None
    return RuleRef(side, at, s.policy, s.rule, desc, reason)


def responsible(before: Verdict | None, after: Verdict | None, opened: bool) -> list[RuleRef]:
    refs: list[RuleRef] = []
    fallback: list[RuleRef] = []
    for name in SIDES:
        b, a = _side(before, name), _side(after, name)
        b_ok, a_ok = bool(b and b.allowed), bool(a and a.allowed)
        if b_ok == a_ok:
            continue
        if opened:
            assert a is not None
            (refs if a.policy else fallback).append(_ref(name, "head", a, a.reason))
        else:
            assert b is not None
            reason = a.reason if a is not None else "absent"
            if a is not None and a.reason == "deny-rule":
                refs.append(_ref(name, "head", a, reason))
            elif b.policy:
                refs.append(_ref(name, "base", b, reason))
            elif a is not None and a.policy:
                refs.append(_ref(name, "head", a, reason))
            else:
                fallback.append(_ref(name, "base", b, reason))
    if refs:
        return refs
    if fallback:
        return fallback
    # Both sides allowed in both, yet the verdict changed: only an absent endpoint does that.
    return [RuleRef("egress", "head" if opened else "base", None, None, None,
                    "endpoint added" if opened else "endpoint removed")]


def compare(base: Snapshot, head: Snapshot, flows: FlowSet, namer: Callable[[Spec], str],
            approval: Callable[[FlowKey], str | None], stack: str | None = None, group: bool = True) -> DiffResult:
    """`group=False` evaluates every pod as itself (no identity classes): the reference for tests."""
    fqdns: dict[str, list[str]] = {}
    for inv in (base.inventory, head.inventory):
        for n, ips in inv.fqdns.items():
            fqdns.setdefault(n, list(ips))
    for k in flows:
        for spec in (k.src, k.dst):
            if spec[0] == "fqdn" and spec[1] not in fqdns:
                fqdns[spec[1]] = [f"203.0.113.{len(fqdns) % 250 + 1}"]  # RFC 5737 documentation range
    rb, rh = Resolver(base, fqdns, group), Resolver(head, fqdns, group)
    result = DiffResult(base.label, head.label, stack, flows_evaluated=2 * len(flows))
    for key in sorted(flows):
        vb, vh = rb.verdict(key), rh.verdict(key)
        ab, ah = bool(vb and vb.allowed), bool(vh and vh.allowed)
        if ab == ah:
            continue
        change = Change(key, flows.owners[key], namer(key.src), namer(key.dst), ah,
                        responsible(vb, vh, ah), check=flows.checks[key])
        if ah:
            change.approval = approval(key)
            result.opened.append(change)
        else:
            result.closed.append(change)
    result.opened.sort(key=Change.sort_key)
    result.closed.sort(key=Change.sort_key)
    return result


# --- names and the approval rule ------------------------------------------------------------------

def make_namer(app_namespaces: set[str], workload: str | None, single_pod_namespaces: set[str] = frozenset()
               ) -> Callable[[Spec], str]:
    """`ns` for an app namespace's workload pod (stack mode) or a namespace's only pod (directory
    mode), `ns/pod` otherwise; `world`; `entity:NAME`; `fqdn:NAME`; `ip:ADDR`."""

    def name(spec: Spec) -> str:
        kind = spec[0]
        if kind == "pod":
            ns, pod = spec[1], spec[2]
            if (ns in app_namespaces and pod == workload) or ns in single_pod_namespaces:
                return ns
            return f"{ns}/{pod}"
        if kind == "entity":
            return "world" if spec[1] == "world" else f"entity:{spec[1]}"
        return f"{kind}:{spec[1]}"

    return name


def make_approval(shared: dict[str, list[str]]) -> Callable[[FlowKey], str | None]:
    """`shared`: namespace → the shared resources it serves (for stacks; empty for rendered trees)."""

    def approval(key: FlowKey) -> str | None:
        src, dst = key.src, key.dst
        if is_outside(dst):
            return "opens egress to the internet" if dst != ("entity", "all") else "opens egress to every peer"
        if is_outside(src):
            return "opens ingress from the internet"
        if dst == ("entity", "kube-apiserver"):
            return "opens access to the shared resource kube-apiserver"
        if dst[0] == "pod" and dst[1] in shared and not (src[0] == "pod" and src[1] == dst[1]):
            return f"opens access to the shared resource {', '.join(shared[dst[1]])} (namespace {dst[1]})"
        return None

    return approval
