"""`netpol verify`: what a namespace should allow and deny, how to see it, and what the flows show.

Expected verdicts come from the reachability engine over the stack's model (never from a table
of our own) for the namespace's standard flows and talksTo: the catalogue of expected flows
(`netpol.catalogue`), as `checks.standard_checks` lists them with their hubble commands (the same
flows `netpol matrix`, `netpol diff` and the invariants read). Given flows, every request
flow (replies skipped) whose source or destination is in the namespace is compared with the
engine, on the side Hubble observed it:

* a flow DROPPED by policy at EGRESS (INGRESS) while the engine's egress (ingress) side allows it is
  a **bug**: the cluster denies what the model allows (out of sync, or a policy the model lacks);
* a flow FORWARDED at EGRESS (INGRESS) while the engine's egress (ingress) side denies it is a
  **leak**: the cluster allows what the model denies (enforcement disabled, a stray policy).

A flow without a traffic direction is compared with the whole verdict. Side-aware comparison
matters: a connection refused by the destination is FORWARDED at the source's egress.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any

from netpol.model import StackConfig
from netpol.reach.engine import Verdict
from netpol.triage.checks import Check
from netpol.triage.classify import Group, group_hubble, merge_groups
from netpol.triage.fixes import Verifier, World
from netpol.triage.flows import ReadStats, scan_all


class NotAnAppNamespace(ValueError):
    pass


@dataclass
class CheckResult:
    check: Check
    expected: str  # ALLOWED | DENIED
    decided_by: str
    forwarded: int = 0
    dropped: int = 0

    @property
    def status(self) -> str:
        if self.expected == "ALLOWED":
            if self.dropped:
                return "BUG: dropped"
            return "seen" if self.forwarded else "not seen"
        if self.forwarded:
            return "LEAK: forwarded"
        return "denied as expected" if self.dropped else "not seen"

    def to_json(self) -> dict[str, Any]:
        c = self.check
        return {"name": c.name, "title": c.title, "flow": c.flow, "direction": c.direction,
                "expected": self.expected, "decided_by": self.decided_by, "hubble": c.hubble,
                "observed": {"forwarded": self.forwarded, "dropped": self.dropped}, "status": self.status}


@dataclass
class Mismatch:
    kind: str  # bug | leak
    group: Group
    side: str  # egress | ingress | both
    model: str  # the engine's side verdict, e.g. "deny (default-deny by ...)"
    count: int

    def to_json(self) -> dict[str, Any]:
        g = self.group
        return {"kind": self.kind, "source": g.source.label, "destination": g.destination.label,
                "port": g.port, "protocol": g.protocol, "observed_at": g.direction, "side": self.side,
                "count": self.count, "model": self.model, "hubble": group_hubble(g, verdict=None)}


@dataclass
class VerifyReport:
    stack: str
    namespace: str
    declaration: dict[str, Any]
    checks: list[CheckResult]
    stats: ReadStats | None = None
    bugs: list[Mismatch] = field(default_factory=list)
    leaks: list[Mismatch] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if (self.bugs or self.leaks) else 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "stack": self.stack, "namespace": self.namespace, "declaration": self.declaration,
            "checks": [c.to_json() for c in self.checks],
            "bugs": [m.to_json() for m in self.bugs], "leaks": [m.to_json() for m in self.leaks],
        }
        if self.stats is not None:
            out.update({"flows_read": self.stats.flows_read, "skipped_lines": self.stats.skipped_lines,
                        "malformed_lines": list(self.stats.malformed_lines),
                        "malformed_count": self.stats.malformed_count,
                        "replies_skipped": self.stats.replies_skipped,
                        "unresolved": list(self.unresolved)})
        return out


def _decided(v: Verdict | None) -> str:
    if v is None:
        return "cannot evaluate"
    sides = []
    for name, s in (("egress", v.egress), ("ingress", v.ingress)):
        if not s.allowed or s.policy:
            sides.append(f"{name}: {s.reason}" + (f" by {s.policy} {s.rule or ''}".rstrip() if s.policy else ""))
    return "; ".join(sides) or "not enforced"


def _side_text(name: str, s) -> str:
    return f"{name} {'allow' if s.allowed else 'deny'} ({s.reason}" + (f" by {s.policy}" if s.policy else "") + ")"


def verify_namespace(cfg: StackConfig, namespace: str, stream: IO[bytes] | None = None,
                     verifier: Verifier | None = None) -> VerifyReport:
    if namespace not in cfg.namespaces:
        raise NotAnAppNamespace(
            f"{namespace!r} is not an app namespace of stack {cfg.stack} ({cfg.source}); valid: "
            + (", ".join(cfg.namespaces) or "(none declared)"))
    verifier = verifier or Verifier(cfg)
    world: World = verifier.base
    from netpol.triage.fixes import declaration

    results = []
    by_pair: dict[tuple, list[CheckResult]] = {}
    for c in world.checks(namespace):
        v = world.evaluate(c.src, c.dst, c.port, c.protocol)
        r = CheckResult(c, v.verdict if v else "DENIED", _decided(v))
        results.append(r)
        by_pair.setdefault((c.src, c.dst, c.protocol), []).append(r)

    def check_for(src: str | None, dst: str | None, port: int, proto: str) -> CheckResult | None:
        for r in by_pair.get((src, dst, proto), ()):
            if r.check.port == port:
                return r
        for r in by_pair.get((src, dst, proto), ()):
            if r.check.covers(port):
                return r
        return None

    report = VerifyReport(cfg.stack, namespace, declaration(cfg, namespace), results)
    if stream is None:
        return report
    stats, raw = scan_all(stream, namespace=namespace)
    report.stats = stats
    for g in merge_groups(raw, world.peers):
        src = world.spec_for(g.src_ep, g.source)
        dst = world.spec_for(g.dst_ep, g.destination, g.names)
        v = world.evaluate(src, dst, g.port, g.protocol)
        hit = check_for(src, dst, g.port, g.protocol)
        if hit is None and g.destination.is_world:
            hit = check_for(src, "entity:world", g.port, g.protocol)
        if hit is not None:
            hit.forwarded += g.forwarded
            hit.dropped += g.dropped
        if v is None:
            if len(report.unresolved) < 20:
                report.unresolved.append(f"{g.source.label} -> {g.destination.label} {g.port_spec}")
            continue
        side_name = {"EGRESS": "egress", "INGRESS": "ingress"}.get(g.direction)
        if side_name:
            side = getattr(v, side_name)
            allows, model = side.allowed, _side_text(side_name, side)
        else:
            side_name, allows = "both", v.allowed
            model = f"{v.verdict}: " + ", ".join(_side_text(n, getattr(v, n)) for n in ("egress", "ingress"))
        if g.dropped and allows:
            report.bugs.append(Mismatch("bug", g, side_name, model, g.dropped))
        if g.forwarded and not allows:
            report.leaks.append(Mismatch("leak", g, side_name, model, g.forwarded))
    return report
