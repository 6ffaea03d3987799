"""Offline Cilium policy evaluation: is a flow (src, dst, port, protocol) allowed, and by which rule?

A flow is allowed only if egress at the source and ingress at the destination both allow it
(docs "Layer 3 Policies": "policy must be configured on both sides (sender and receiver)";
https://docs.cilium.io/en/stable/security/policy/language/#ingress-allow-all-endpoints).
On each side:

1. The targets (policy rules) selecting the endpoint in that direction are found (cached per
   identity: Cilium computes policy per security identity, not per pod).
2. Any matching deny rule wins ("Deny Policies", https://docs.cilium.io/en/stable/security/policy/
   deny/: "Deny policies take precedence over allow policies").
3. If no selecting rule enforces default deny, the side allows ("Endpoint default policy",
   https://docs.cilium.io/en/stable/security/policy/intro/#endpoint-default-policy: "By default,
   all egress and ingress traffic is allowed ... When an endpoint is selected by a network policy,
   it transitions to a default-deny state ... per-direction"; rules with enableDefaultDeny false
   "are ignored when determining the default mode").
4. Otherwise the first matching allow rule decides; an L7 rule (dns, http, ...) allows the L4 flow
   and the verdict notes the L7 restriction. A `toFQDNs` allow only counts if the source's DNS
   lookups pass a DNS L7 rule ("DNS based": Cilium learns the IPs of a name from DNS responses
   intercepted by its DNS proxy, which "requires ... an L7 policy allowing DNS requests").
5. Else the side denies (default deny).

Endpoints outside the cluster (world, ip:, fqdn:) and entities without an endpoint of their own
have no policy: their side is not enforced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import orjson

from netpol.apis import PROTOCOLS
from netpol.reach.compile import (
    DIRECTIONS, CIDRMatcher, CompiledPolicy, CompiledRule, Match, PortMatcher, Target,
    compile_policy, is_policy_doc,
)
from netpol.reach.endpoints import ENTITIES_WITH_ENDPOINT_POLICY, Endpoint
from netpol.reach.errors import ReachInputError
from netpol.reach.fqdn import selector_matches

REASONS = ("allowed", "not-enforced", "default-deny", "deny-rule", "fqdn-without-dns-visibility")

ALLOW_LOCALHOST_NOTE = (
    "allow-localhost: in Kubernetes mode Cilium allows all traffic from the local host to its local "
    "endpoints (docs 'Access to/from local host'; agent option --allow-localhost=policy turns this off)")


@dataclass
class SideResult:
    enforced: bool
    allowed: bool
    reason: str
    policy: str | None = None
    rule: str | None = None
    description: str | None = None
    l7: str | None = None
    selected_by: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "enforced": self.enforced,
            "allowed": self.allowed,
            "reason": self.reason,
            "policy": self.policy,
            "rule": self.rule,
            "description": self.description,
            "l7": self.l7,
            "selected_by": list(self.selected_by),
            "notes": list(self.notes),
        }


@dataclass
class Verdict:
    verdict: str  # "ALLOWED" | "DENIED"
    egress: SideResult
    ingress: SideResult
    src: Endpoint | None = None
    dst: Endpoint | None = None
    port: int | None = None
    protocol: str | None = None

    @property
    def allowed(self) -> bool:
        return self.verdict == "ALLOWED"

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "egress": self.egress.to_json(), "ingress": self.ingress.to_json()}


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for i in items:
        seen.setdefault(i, None)
    return list(seen)


_PROTOCOLS = frozenset(PROTOCOLS)


def check_flow_args(port: Any, protocol: Any) -> tuple[int, str]:
    try:
        p = int(port)
    except (TypeError, ValueError):
        raise ReachInputError(f"bad port {port!r}; valid: a number 0-65535") from None
    if not 0 <= p <= 65535 or isinstance(port, bool):
        raise ReachInputError(f"bad port {port!r}; valid: a number 0-65535")
    proto = str(protocol or "").upper()
    if proto not in PROTOCOLS:
        raise ReachInputError(f"bad protocol {protocol!r}; valid: {', '.join(PROTOCOLS)}")
    return p, proto


class Selection:
    """The targets selecting one identity in one direction, with what every verdict on that side
    shares (computed once per identity)."""

    __slots__ = ("targets", "empty", "selected_by", "notes", "enforced", "enforcers", "first_enforcer",
                 "denies", "allows", "has_l7", "_by_port", "decisions", "_peer_selectors")

    def __init__(self, targets: list[Target], empty: list[Target]):
        self.targets, self.empty = targets, empty
        self.selected_by = _dedupe(t.policy_str for t in targets)
        self.notes = _dedupe([n for t in targets for n in t.all_notes()] + [n for t in empty for n in t.notes])
        enforcing = [t for t in targets if t.enforces]
        self.enforced = bool(enforcing)
        self.enforcers = _dedupe(t.policy_str for t in enforcing)
        self.first_enforcer = enforcing[0] if enforcing else None
        self.denies = tuple((t, r) for t in targets for r in t.denies)
        self.allows = tuple((t, r) for t in targets for r in t.allows)
        self.has_l7 = any(r.has_l7 for _, r in self.allows)
        self._by_port: dict[tuple[int, str], tuple[tuple, tuple]] = {}
        # SideResults decided on this side, by everything they are built from (see PolicySet._side)
        self.decisions: dict[tuple, SideResult] = {}
        self._peer_selectors: tuple | None = None

    def peer_selectors(self) -> tuple:
        """The distinct label selectors of every rule on this side (deny and allow, every port): all
        that can tell one pod peer from another here (`PolicySet.peer_key`)."""
        if self._peer_selectors is None:
            seen: dict[int, Any] = {}
            for _, r in self.denies + self.allows:
                for s in r.selectors:
                    seen.setdefault(id(s), s)
            self._peer_selectors = tuple(seen.values())
        return self._peer_selectors

    def on_port(self, port: int, proto: str) -> tuple[tuple, tuple]:
        """(denies, allows) whose ports admit port/proto, in order, each as (target, rule, L7 kind of
        the first matching entry with L7 rules, a matching entry has none): `CompiledRule.match`'s
        port half, done once per port and protocol; what is left per flow is the peer half."""
        key = (port, proto)
        hit = self._by_port.get(key)
        if hit is None:
            hit = self._by_port[key] = (self._port_filtered(self.denies, port, proto),
                                        self._port_filtered(self.allows, port, proto))
        return hit

    @staticmethod
    def _port_filtered(pairs: tuple, port: int, proto: str) -> tuple:
        out = []
        for t, r in pairs:
            if r.never:
                continue
            ok, l7, plain = r.port_match(port, proto)
            if ok:
                out.append((t, r, l7, plain))
        return tuple(out)


class CompileCache:
    """Compiled policies by document content, for policy sets built again and again from nearly the
    same documents (triage builds one per candidate fix: a fix changes a namespace's labels and its
    own `-extra` policy, every other document is shared). A compiled policy is never changed after
    compilation and its selector memos are keyed by identity, so policy sets may share it. Holds at
    most `limit` documents (then starts afresh)."""

    def __init__(self, limit: int = 4096):
        self.limit = limit
        self._compiled: dict[bytes, CompiledPolicy] = {}

    def __len__(self) -> int:
        return len(self._compiled)

    def compile(self, doc: Mapping, source: str = "") -> CompiledPolicy:
        key = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        cp = self._compiled.get(key)
        if cp is None:
            if len(self._compiled) >= self.limit:
                self._compiled.clear()
            cp = self._compiled[key] = compile_policy(doc, source)
        return cp


class PolicySet:
    """Compiled CNP/CCNP documents, ready to evaluate flows.

    `cache=False` evaluates every flow from scratch (no per-identity target cache, no selector
    memo, no verdict cache): the naive baseline of the benchmark. `allow_localhost` mirrors the
    agent default in Kubernetes mode (host -> local pod ingress is always allowed).
    `host_policies=False` ignores nodeSelector rules (a cluster without the host firewall)."""

    def __init__(self, policies: Iterable[CompiledPolicy] = (), warnings: Iterable[str] = (), *,
                 cache: bool = True, allow_localhost: bool = True, host_policies: bool = True):
        self.policies: list[CompiledPolicy] = list(policies)
        self.warnings: list[str] = list(warnings)
        self.cache = cache
        self.allow_localhost = allow_localhost
        self.host_policies = host_policies
        for cp in self.policies:
            self.warnings.extend(cp.notes)
        # Index targets: CNP subjects are confined to their namespace, so a pod only ever meets
        # the CCNP targets and the CNP targets of its own namespace.
        self._ccnp: dict[str, list[Target]] = {d: [] for d in DIRECTIONS}
        self._cnp: dict[tuple[str, str], list[Target]] = {}
        self._node: dict[str, list[Target]] = {d: [] for d in DIRECTIONS}
        for cp in self.policies:
            for t in cp.targets:
                if t.node:
                    if host_policies:
                        self._node[t.direction].append(t)
                elif t.namespace is None:
                    self._ccnp[t.direction].append(t)
                else:
                    self._cnp.setdefault((t.direction, t.namespace), []).append(t)
        self._targets_cache: dict[tuple, Selection] = {}
        self._verdict_cache: dict[tuple, tuple[SideResult, SideResult]] = {}
        self._dns_cache: dict[tuple, bool] = {}
        self.load_report: Any = None  # netpol.reach.loader.LoadReport when read by from_manifests/from_dir

    # --- loading ---------------------------------------------------------------------------
    @classmethod
    def from_manifests(cls, docs: Iterable[Any], *, source: str = "", **kwargs: Any) -> "PolicySet":
        """Compile every CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy / NetworkPolicy among
        `docs` (netpol/reach/loader.py: documents Kubernetes or Cilium would refuse are left out with
        a warning, other kinds are counted in `load_report`). `kind: List` documents are unpacked."""
        from netpol.reach.loader import LoadReport, compile_documents, manifests_items

        report = LoadReport()
        compiled = compile_documents(manifests_items(docs, source), report, source)
        ps = cls(compiled, report.unreadable + report.invalid, **kwargs)
        ps.load_report = report
        return ps

    @classmethod
    def from_dir(cls, path: str | Path, **kwargs: Any) -> "PolicySet":
        """Every *.yaml / *.yml below `path` (or the file itself), multi-document, through the same
        loader; a file that is not valid YAML is skipped with a warning; `${...}` variables are plain
        strings to YAML."""
        from netpol.reach.loader import LoadReport, compile_documents, dir_items

        report = LoadReport()
        compiled = compile_documents(dir_items(path, report), report)
        ps = cls(compiled, report.unreadable + report.invalid, **kwargs)
        ps.load_report = report
        return ps

    @classmethod
    def from_built(cls, docs: Iterable[Any], *, cache: CompileCache | None = None, source: str = "",
                   **kwargs: Any) -> "PolicySet":
        """The policy documents among `docs` that this program's builders produced (valid by
        construction: no loader, no validation, other kinds ignored), each distinct document compiled
        once per `cache`."""
        compile_one = cache.compile if cache is not None else compile_policy
        return cls([compile_one(doc, source) for doc in docs if is_policy_doc(doc)], **kwargs)

    @property
    def policy_refs(self) -> list[str]:
        return [str(cp.ref) for cp in self.policies]

    # --- what the rules name -----------------------------------------------------------------
    def rules(self) -> Iterator[CompiledRule]:
        """Every compiled allow and deny rule of every policy, in document order."""
        for cp in self.policies:
            for t in cp.targets:
                yield from t.allows
                yield from t.denies

    def port_matchers(self) -> Iterator[PortMatcher]:
        """Every port (range) a `toPorts` of some rule names, with its protocols (ANY or omitted: all
        of netpol.apis.PROTOCOLS); a rule without `toPorts` names none."""
        for r in self.rules():
            for pr in r.port_rules or ():
                yield from pr.matchers

    def cidr_matchers(self) -> Iterator[CIDRMatcher]:
        """Every CIDR (with its excepts) a rule names."""
        for r in self.rules():
            yield from r.cidrs

    # --- selection -------------------------------------------------------------------------
    def has_own_policy(self, ep: Endpoint) -> bool:
        return ep.kind == "pod" or (ep.kind == "entity" and (ep.entity == "host" or
                                                             ep.entity in ENTITIES_WITH_ENDPOINT_POLICY))

    def selection(self, ep: Endpoint, direction: str) -> "Selection":
        """The rules selecting `ep` in `direction`, flattened for evaluation. Cached per identity
        (Cilium resolves policy per security identity, not per pod)."""
        key = (ep.key, direction)
        if self.cache:
            hit = self._targets_cache.get(key)
            if hit is not None:
                return hit
        if ep.kind == "pod":
            cands = self._ccnp[direction] + self._cnp.get((direction, ep.namespace or ""), [])
        elif ep.kind == "entity" and ep.entity == "host":
            cands = self._node[direction]
        elif ep.kind == "entity" and ep.entity in ENTITIES_WITH_ENDPOINT_POLICY:
            cands = self._ccnp[direction]
        else:
            cands = []
        ident, cached = ep.identity, self.cache
        selecting: list[Target] = []
        empty: list[Target] = []
        for t in cands:
            if t.subject is not None:
                if not (t.subject.matches_cached(ident) if cached else t.subject.matches(ident)):
                    continue
            (empty if t.empty_section else selecting).append(t)
        result = Selection(selecting, empty)
        if self.cache:
            self._targets_cache[key] = result
        return result

    def peer_key(self, subject: Endpoint, direction: str, peer: Endpoint) -> tuple | None:
        """What `subject`'s side in `direction` can see of a pod `peer`: which of the label selectors
        of the rules selecting `subject` match the peer's identity. For one subject, direction, port
        and protocol, two pod peers with equal keys get the same side result (`_side`): a pod peer
        reaches a rule only through `CompiledRule.peer_match`, where a wildcard and the `cluster` /
        `all` entities match every pod alike, CIDR and FQDN peers match no pod, and the rest is
        these selectors. None when `peer` is not a pod (its kind decides more: host, world, names)."""
        if peer.kind != "pod":
            return None
        if not self.has_own_policy(subject):
            return ()
        ident = peer.identity
        if self.cache:
            return tuple(s.matches_cached(ident) for s in self.selection(subject, direction).peer_selectors())
        return tuple(s.matches(ident) for s in self.selection(subject, direction).peer_selectors())

    def targets_for(self, ep: Endpoint, direction: str) -> tuple[list[Target], list[Target]]:
        """(targets with rules selecting `ep` in `direction`, selecting targets whose section is an
        empty list)."""
        sel = self.selection(ep, direction)
        return sel.targets, sel.empty

    def dns_visible(self, src: Endpoint, name: str) -> bool:
        """Does some egress rule selecting `src` carry a DNS L7 rule admitting lookups of `name`?

        Docs "DNS based": "In order to associate domain names with IP addresses, Cilium intercepts
        DNS responses per-Endpoint using a DNS Proxy. This requires ... an L7 policy allowing DNS
        requests." Rules of policies with enableDefaultDeny false count too (the docs'
        `intercept-all-dns` example exists for exactly this)."""
        key = (src.key, name)
        if self.cache and key in self._dns_cache:
            return self._dns_cache[key]
        visible = False
        if self.has_own_policy(src):
            visible = any(selector_matches(sel, name) for _, r in self.selection(src, "egress").allows
                          if not r.never for sel in r.dns_rules)
        if self.cache:
            self._dns_cache[key] = visible
        return visible

    # --- evaluation ------------------------------------------------------------------------
    def evaluate(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> Verdict:
        if type(port) is int and 0 <= port <= 65535 and type(protocol) is str and protocol in _PROTOCOLS:
            proto = protocol  # what check_flow_args makes of well-formed arguments, without its conversions
        else:
            port, proto = check_flow_args(port, protocol)
        key = (src.key, dst.key, port, proto)
        pair = self._verdict_cache.get(key) if self.cache else None
        if pair is None:
            egress = self._side(src, dst, "egress", port, proto)
            ingress = self._side(dst, src, "ingress", port, proto)
            pair = (egress, ingress)
            if self.cache:
                self._verdict_cache[key] = pair
        egress, ingress = pair
        allowed = egress.allowed and ingress.allowed
        return Verdict("ALLOWED" if allowed else "DENIED", egress, ingress, src, dst, port, proto)

    def _side(self, subject: Endpoint, peer: Endpoint, direction: str, port: int, proto: str) -> SideResult:
        if not self.has_own_policy(subject):
            return SideResult(False, True, "not-enforced", notes=[_no_policy_note(subject, direction)])
        sel = self.selection(subject, direction)
        # An endpoint still without labels (reserved:init) is always in default deny, both
        # directions, policies or not (cilium v1.20 pkg/policy/repository.go
        # computePolicyEnforcementAndRules: "If the endpoint has the reserved:init label ...
        # always enforce policy (default deny)").
        enforced = sel.enforced or (subject.kind == "entity" and subject.entity == "init")
        cached = self.cache
        denies, allows = sel.on_port(port, proto)

        # Docs "Deny Policies": "Deny policies take precedence over allow policies, regardless of
        # whether they are a Cilium Network Policy, a Clusterwide Cilium Network Policy ...".
        for t, r, _, _ in denies:
            if r.peer_match(peer, cached)[0]:
                return _decided(sel, enforced, (port, proto, "deny", t, r), False, "deny-rule", t, r)
        # Docs "Endpoint default policy": traffic is allowed until a policy puts the endpoint into
        # default deny in this direction.
        if not enforced:
            # "EnableDefaultDeny does not apply to layer-7 policy": an L7 rule matching the flow
            # still sends it through the proxy (docs "Endpoint default policy", warning).
            for t, r, l7, _ in (allows if sel.has_l7 else ()):
                if l7 is None:
                    continue
                hit, via_fqdn = r.peer_match(peer, cached)
                if hit and not via_fqdn:
                    return _decided(sel, enforced, (port, proto, "not-enforced-l7", t, r, l7), True, "not-enforced", t, r, l7=l7, extra=[
                        f"no default deny at {direction}, but the L7 ({l7}) rule {r.path} still applies: "
                        "requests are filtered by the proxy (docs 'Endpoint default policy': "
                        "EnableDefaultDeny does not apply to layer-7 policy)"])
            return _decided(sel, enforced, (port, proto, "not-enforced"), True, "not-enforced")
        # An allow with L7 rules on the port redirects the flow to the proxy even when another rule
        # allows it at L3/L4 (the port-specific redirect entry is the more specific one); the
        # plain allow then lets every request through the proxy (L7 allow-all for that peer).
        l7_hit: tuple[Target, CompiledRule, str] | None = None
        plain_hit: tuple[Target, CompiledRule] | None = None
        fqdn_blocked: tuple[Target, CompiledRule] | None = None
        for t, r, l7, plain in allows:
            hit, via_fqdn = r.peer_match(peer, cached)
            if not hit:
                continue
            if via_fqdn and not any(self.dns_visible(subject, n) for n in _peer_names(peer)):
                fqdn_blocked = fqdn_blocked or (t, r)
                continue
            if l7 is not None and l7_hit is None:
                l7_hit = (t, r, l7)
            if plain and plain_hit is None:
                plain_hit = (t, r)
                if l7_hit is None and not sel.has_l7:
                    break  # nothing can redirect this flow to a proxy: the first plain allow decides
        if l7_hit is not None:
            t, r, l7 = l7_hit
            extra = [f"L7 ({l7}): the L4 flow is allowed and redirected to the {l7} proxy, which "
                     f"filters requests by the rules of {r.path}"]
            if plain_hit is not None:
                pt, pr = plain_hit
                extra.append(f"{pt.policy} {pr.path} also allows this flow without L7 rules, so every "
                             f"{l7} request passes the proxy")
            return _decided(sel, enforced, (port, proto, "l7", t, r, l7, plain_hit), True, "allowed", t, r, l7=l7, extra=extra)
        if plain_hit is not None:
            return _decided(sel, enforced, (port, proto, "allowed", *plain_hit), True, "allowed", *plain_hit)
        # Docs "Access to/from local host": "Kubernetes will automatically allow all communication
        # from the local host of all local endpoints" (agent option --allow-localhost).
        # Cilium adds this host allow to the ingress rules of every subject but the host itself,
        # when some ingress rule selects it (cilium v1.20 pkg/policy/repository.go
        # computePolicyEnforcementAndRules, `AlwaysAllowLocalhost`): health, ingress and init too.
        if (self.allow_localhost and direction == "ingress" and sel.targets
                and not (subject.kind == "entity" and subject.entity == "host")
                and peer.kind == "entity" and peer.entity == "host"):
            return _decided(sel, enforced, (port, proto, "localhost"), True, "allowed", extra=[ALLOW_LOCALHOST_NOTE])
        if fqdn_blocked is not None:
            t, r = fqdn_blocked
            name = ", ".join(_peer_names(peer))
            return _decided(sel, enforced, None, False, "fqdn-without-dns-visibility", t, r, extra=[
                f"{r.path} allows {name} by toFQDNs, but no egress rule selecting the source has a DNS L7 "
                f"rule (toPorts.rules.dns) admitting lookups of {name}: Cilium's DNS proxy never sees the "
                "answer, so the name's IPs are never allowed (docs 'DNS based')"])
        key = (port, proto, "default-deny")
        hit = sel.decisions.get(key)
        if hit is not None:  # the common case: spare formatting the note again
            return hit
        return _decided(sel, enforced, key, False, "default-deny", sel.first_enforcer, extra=[
            f"default deny at {direction}: enforced by {', '.join(sel.enforcers) or 'reserved:init (always in default deny)'}; no allow rule matches "
            f"this peer on {port}/{proto}"])


def _decided(sel: Selection, enforced: bool, key: tuple | None, allowed: bool, reason: str, t: Target | None = None,
             r: CompiledRule | None = None, l7: str | None = None, extra: Iterable[str] = ()) -> SideResult:
    """A side's result; the same for every flow with the same `key` (what it is built from besides the
    selection, which fixes `enforced`), so made once per key and shared (never changed after)."""
    if key is not None:
        hit = sel.decisions.get(key)
        if hit is not None:
            return hit
    notes = sel.notes
    more = (r.decision_notes if r is not None else ()) + tuple(extra)
    if more:
        notes = _dedupe(notes + list(more))
    res = SideResult(enforced, allowed, reason,
                     policy=t.policy_str if t else None,
                     rule=(r.path if r else (t.section_path if t else None)),
                     description=t.description if t else None,
                     l7=l7, selected_by=list(sel.selected_by), notes=list(notes))
    if key is not None:
        sel.decisions[key] = res
    return res


def _peer_names(peer: Endpoint) -> tuple[str, ...]:
    if peer.kind == "fqdn" and peer.fqdn:
        return (peer.fqdn,)
    return peer.dns_names


def _no_policy_note(ep: Endpoint, direction: str) -> str:
    if ep.is_world:
        return f"{ep} is outside the cluster: it has no Cilium policy, its {direction} is not enforced"
    if ep.kind == "entity" and ep.entity in ("cluster", "all"):
        return (f"{ep} stands for a set of peers, not one endpoint: it has no policy of its own; only rules "
                f"naming the {ep.entity} entity (or all) match it as a peer")
    return f"{ep} has no Cilium endpoint policy here: its {direction} is not enforced"


# --- explain --------------------------------------------------------------------------------

def _side_text(title: str, s: SideResult) -> list[str]:
    state = "ALLOW" if s.allowed else "DENY"
    lines = [f"{title}: {state} ({s.reason})",
             f"  enforced:    {'yes' if s.enforced else 'no'}"]
    if s.selected_by:
        lines.append("  selected by: " + s.selected_by[0])
        lines.extend("               " + p for p in s.selected_by[1:])
    else:
        lines.append("  selected by: (no policy)")
    if s.policy:
        lines.append(f"  decided by:  {s.policy} {s.rule or ''}".rstrip())
    if s.description:
        lines.append(f"  description: {' '.join(s.description.split())}")
    if s.l7:
        lines.append(f"  l7:          {s.l7}")
    for n in s.notes:
        lines.append(f"  note: {n}")
    return lines


def explain_text(verdict: Verdict, src: Endpoint | None = None, dst: Endpoint | None = None,
                 port: int | None = None, protocol: str | None = None) -> str:
    src = src or verdict.src
    dst = dst or verdict.dst
    port = verdict.port if port is None else port
    protocol = protocol or verdict.protocol or "TCP"
    lines = [f"{src} -> {dst} {port}/{str(protocol).upper()}: {verdict.verdict}", ""]
    lines += _side_text(f"egress at {src}", verdict.egress)
    lines.append("")
    lines += _side_text(f"ingress at {dst}", verdict.ingress)
    if src is not None and src.kind == "pod":
        lines += ["", f"{src} identity: " + ", ".join(src.identity.as_strings())]
    if dst is not None and dst.kind == "pod":
        lines += [f"{dst} identity: " + ", ".join(dst.identity.as_strings())]
    return "\n".join(lines) + "\n"
