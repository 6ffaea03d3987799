"""Drop groups -> cause -> a concrete fix for the stack -> verified with the reachability engine.

Causes (issue 5's table, plus issue 7's `talksTo` proposal):

| drop | cause | fix |
|---|---|---|
| egress to kube-dns 53 | missing-dns-baseline | check baseline-dns-egress exists (the model allows it) |
| egress to a shared resource (database 5432, cache 6379, garage 3900, kube-apiserver 6443/443) | missing-access-label | add the resource to `netpol:namespaces.<ns>.access` (sets `access.network-policy.homelab/<r>: "true"`) |
| egress to world 443/TCP | profile-denies-internet-egress | the smallest profile keeping the current gateways and adding internet egress |
| egress to world on another port; gateway ingress on a port outside `netpol:gatewayPorts` | port-not-allowed | no profile opens it: a reviewed egress rule (FQDN when Hubble saw the name), or the stack's gateway port list; `needs_review` |
| ingress from the internal or external gateway | profile-denies-gateway-ingress | the smallest profile admitting that gateway and keeping internet egress if it had it |
| ingress from prometheus or health | missing-baseline | check baseline-prometheus-scrape / baseline-health-probes; a port outside the metrics list is added to the namespace's `metricsPorts` |
| egress to another namespace of the stack (app or platform) on a port | missing-talks-to | the `talksTo` entry to add (both sides come from it) |
| between pods of one namespace | missing-intra-namespace | the `intraNamespace` port to add |
| anything else | unknown | the flow and the `hubble observe` command that narrows it down |

Decisions:
* A platform namespace never gets a profile or access label (the program does not label platform
  namespaces): its drops to a shared resource become a `talksTo`, to kube-apiserver an egress rule.
* A drop from a namespace the stack does not declare gets a fix that declares it (profile
  `isolated`, the smallest, plus what the flow needs).
* `verified` is true only when the changed model's engine verdict for the same flow is ALLOWED and
  none of the namespace's standard flows (`checks.standard_checks`) that were allowed before is
  denied after. When the current model already allows the flow, the fix is what the stack
  declares and the explanation says the cluster is out of sync with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any

from netpol import labels as L
from netpol import names as N
from netpol import wellknown as W
from netpol.apis import PROTOCOLS, WORLD
from netpol.config import paused_gc
from netpol.model import FQDN, StackConfig
from netpol.profiles import PROFILES
from netpol.reach.engine import Verdict
from netpol.triage.checks import hubble_cmd
from netpol.triage.fixes import (
    NO_CHANGE, Change, Fix, Verifier, declaration, profile_for, profile_label, section_of, snippet, talks_to_entry,
)
from netpol.triage.flows import RawGroup, ReadStats, merge_raw, scan_drops, scan_drops_path
from netpol.triage.peers import Peer, PeerResolver

CAUSES = (
    "missing-dns-baseline",
    "missing-access-label",
    "profile-denies-internet-egress",
    "port-not-allowed",
    "profile-denies-gateway-ingress",
    "missing-baseline",
    "missing-talks-to",
    "missing-intra-namespace",
    "explicit-deny",
    "deny-policy-not-in-model",
    "unknown",
)
MAX_FQDN_RULES = 3


@dataclass
class Group:
    direction: str  # EGRESS | INGRESS | UNKNOWN (Hubble's traffic_direction)
    source: Peer
    destination: Peer
    port: int
    protocol: str
    count: int = 0
    forwarded: int = 0
    dropped: int = 0
    src_ep: dict | None = None
    dst_ep: dict | None = None
    src_pods: list[str] = field(default_factory=list)
    dst_pods: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    ips: list[str] = field(default_factory=list)
    denied_by: list[str] = field(default_factory=list)
    deny: bool = False  # dropped by an explicit deny rule (POLICY_DENY), not by default deny
    unnamed: bool = False  # some sampled flows carried no DNS name (to an outside peer: by address)

    @property
    def key(self) -> tuple:
        return (self.direction, self.source.label, self.destination.label, self.port, self.protocol, self.deny)

    @property
    def drop_reason(self) -> str:
        return "POLICY_DENY" if self.deny else "POLICY_DENIED"

    @property
    def port_spec(self) -> str:
        return f"{self.port}/{self.protocol}"


def direction_name(raw: str) -> str:
    return raw if raw in ("EGRESS", "INGRESS") else "UNKNOWN"


def merge_groups(raw: dict[tuple, RawGroup], resolver: PeerResolver, *, by_direction: bool = True) -> list[Group]:
    """Raw groups (per identity) -> groups per (direction, source, destination, port, protocol)."""
    out: dict[tuple, Group] = {}
    for rg in raw.values():
        s, d = resolver.resolve(rg.src), resolver.resolve(rg.dst)
        direction = direction_name(rg.direction) if by_direction else "ANY"
        key = (direction, s.label, d.label, rg.port, rg.protocol, rg.deny)
        g = out.get(key)
        if g is None:
            g = out[key] = Group(direction, s, d, rg.port, rg.protocol, src_ep=rg.src, dst_ep=rg.dst, deny=rg.deny)
        g.count += rg.count
        g.forwarded += rg.forwarded
        g.dropped += rg.dropped
        g.unnamed = g.unnamed or rg.unnamed
        for mine, theirs in ((g.src_pods, rg.src_pods), (g.dst_pods, rg.dst_pods), (g.names, rg.names),
                             (g.ips, rg.ips), (g.denied_by, rg.denied_by)):
            for v in theirs:
                if v not in mine and len(mine) < 5:
                    mine.append(v)
    return sorted(out.values(), key=lambda g: (-g.count, g.key))


def group_hubble(g: Group, verdict: str | None = "DROPPED") -> str:
    """The `hubble observe` command that shows exactly this group's flows."""
    args: list[str] = []
    for side, p in (("from", g.source), ("to", g.destination)):
        if p.kind == "pod" and p.namespace:
            args += [f"--{side}-namespace", p.namespace]
            if p.selector:
                args += [f"--{side}-label", ",".join(f"{k}={v}" for k, v in p.selector)]
        elif p.kind == "entity":
            args += [f"--{side}-identity", p.entity]
    if g.protocol in PROTOCOLS:
        args += ["--protocol", g.protocol]
    if g.port:
        args += ["--port", str(g.port)]
    return hubble_cmd(*args, verdict=verdict)


@dataclass
class Finding:
    group: Group
    cause: str
    fix: Fix
    verified: bool
    explanation: str
    hubble: str
    model_verdict: str | None = None  # the current model's verdict for the flow (None: cannot evaluate)
    after: Verdict | None = None  # the verdict with the fix applied
    regressions: list[str] = field(default_factory=list)
    unverified_by_address: bool = False  # the fix allows the named flows, not the group's flows by address

    def to_json(self) -> dict[str, Any]:
        g = self.group
        out: dict[str, Any] = {
            "direction": g.direction,
            "source": g.source.label,
            "destination": g.destination.label,
            "port": g.port,
            "protocol": g.protocol,
            "count": g.count,
            "drop_reason": g.drop_reason,
            "cause": self.cause,
            "fix": self.fix.to_json(),
            "verified": self.verified,
            "explanation": self.explanation,
            "hubble": self.hubble,
            "model_verdict": self.model_verdict,
        }
        if self.after is not None:
            out["verification"] = {
                "verdict": self.after.verdict,
                "egress": _side(self.after.egress),
                "ingress": _side(self.after.ingress),
            }
        if self.regressions:
            out["regressions"] = list(self.regressions)
        for k, v in (("source_pods", g.src_pods), ("destination_pods", g.dst_pods),
                     ("destination_names", g.names), ("destination_ips", g.ips)):
            if v:
                out[k] = list(v)
        if g.deny or g.denied_by:
            out["denied_by"] = list(g.denied_by)
        return out


def _side(s) -> dict[str, Any]:
    return {"allowed": s.allowed, "reason": s.reason, "policy": s.policy, "rule": s.rule}


def _why(v: Verdict | None) -> str:
    if v is None:
        return "the engine cannot evaluate this flow"
    parts = []
    for name, s in (("egress", v.egress), ("ingress", v.ingress)):
        if not s.allowed:
            parts.append(f"{name} {s.reason}" + (f" ({s.policy})" if s.policy else ""))
    return "; ".join(parts) or "allowed"


def _kubectl_get(ref: str) -> str:
    """`kubectl get` of a policy named `Kind/ns/name` or `Kind/name`."""
    parts = ref.split("/")
    kind = {"CiliumNetworkPolicy": "ciliumnetworkpolicy", "CiliumClusterwideNetworkPolicy":
            "ciliumclusterwidenetworkpolicy", "NetworkPolicy": "networkpolicy"}.get(parts[0], parts[0].lower())
    if len(parts) == 3:
        return f"kubectl get {kind} -n {parts[1]} {parts[2]} -o yaml"
    return f"kubectl get {kind} {parts[-1]} -o yaml"


def _by(v: Verdict) -> str:
    return ", ".join(f"{n} by {s.policy}" for n, s in (("egress", v.egress), ("ingress", v.ingress)) if s.policy) \
        or "no policy enforces either side"


class Triage:
    """Classify drop groups for one stack and verify each proposed fix."""

    def __init__(self, cfg: StackConfig, verifier: Verifier | None = None):
        self.cfg = cfg
        self.file = cfg.source
        self.verifier = verifier or Verifier(cfg)

    @property
    def peers(self) -> PeerResolver:
        return self.verifier.base.peers

    # --- entry points ------------------------------------------------------------------------------
    # Both entry points run with cyclic garbage collection paused (`paused_gc`), as `netpol triage` does:
    # reading allocates an object or more per drop line and frees nearly all by reference counting, and
    # building a World per fix allocates many objects and frees few; meanwhile every collection of the
    # oldest generation walks the caller's whole heap (in the benchmark's process, a 100,000-flow capture
    # took about 0.75 s in process with collection on, 0.55 s without).
    def run(self, stream: IO[bytes]) -> "TriageReport":
        with paused_gc():
            stats, raw = scan_drops(stream)
            return self.report(stats, raw)

    def run_paths(self, paths, jobs: int = 1) -> "TriageReport":
        """Like `run` over several inputs in turn (`-` is stdin; compressed files decompressed); a big
        file is read on up to `jobs` cores (`scan_drops_path`: the same report as on one)."""
        with paused_gc():
            stats = ReadStats()
            raw: dict[tuple, RawGroup] = {}
            for path in paths:
                stats, part = scan_drops_path(path, stats, jobs=jobs)
                merge_raw(raw, part)
            return self.report(stats, raw)

    def report(self, stats: ReadStats, raw: dict[tuple, RawGroup]) -> "TriageReport":
        findings = [self.classify(g) for g in merge_groups(raw, self.peers)]
        return TriageReport(self.cfg.stack, self.file, stats, findings)

    # --- one group ---------------------------------------------------------------------------------
    def classify(self, g: Group) -> Finding:
        base = self.verifier.base
        before = base.evaluate(base.spec_for(g.src_ep, g.source), base.spec_for(g.dst_ep, g.destination, g.names),
                               g.port, g.protocol)
        hubble = group_hubble(g)
        if g.deny:
            return self._deny(g, before, hubble)
        cause, fix, text = self._cause(g)
        finding = Finding(g, cause, fix, False, text, hubble, before.verdict if before else None)
        if cause == "unknown":
            finding.explanation += f" Narrow it down: {hubble}"
            return finding
        w = self.verifier.world(fix.change)
        after = w.evaluate(w.spec_for(g.src_ep, g.source), w.spec_for(g.dst_ep, g.destination, g.names),
                           g.port, g.protocol)
        finding.after = after
        finding.regressions = self.verifier.regressions(fix.change, fix.namespace) if fix.namespace else []
        # Flows of the group that carried no DNS name (connections by address) are another destination to
        # the engine than the named ones (entity:world, not fqdn:NAME): the fix must allow them too.
        by_address = None
        if g.unnamed and g.names and after is not None and after.allowed:
            bare = w.spec_for(g.dst_ep, g.destination)
            if bare != w.spec_for(g.dst_ep, g.destination, g.names):
                by_address = w.evaluate(w.spec_for(g.src_ep, g.source), bare, g.port, g.protocol)
                finding.unverified_by_address = not (by_address and by_address.allowed)
        finding.verified = bool(after and after.allowed and not finding.regressions
                                and not finding.unverified_by_address)
        if before is not None and before.allowed:
            finding.explanation += (
                f" The stack's model already allows this flow ({_by(before)}): the cluster does not run what "
                f"{self.file} declares. Apply the stack (`pulumi up` on a direct stack, the GitOps sync "
                "otherwise) and compare the live objects"
                + (f" (`kubectl get namespace {fix.namespace} --show-labels`)" if fix.namespace else "") + ".")
        if finding.verified:
            finding.explanation += f" Verified: with the fix the engine allows the flow ({_by(after)})."
        elif after is None:
            finding.explanation += " Not verified: the engine cannot evaluate this flow."
        elif not after.allowed:
            finding.explanation += f" Not verified: with the fix the engine still denies the flow ({_why(after)})."
        elif finding.regressions:
            finding.explanation += (" Not verified: the fix would deny flows the namespace has today: "
                                    + ", ".join(finding.regressions) + ".")
        else:
            finding.explanation += (
                f" Not verified: with the fix the engine allows the flows that carry a DNS name ({_by(after)}), "
                "but some flows of this group carry none (connections by address, or lookups Hubble's DNS "
                "visibility did not see), and those it still denies"
                + (f" ({_why(by_address)})" if by_address is not None else "")
                + f". Find what connects by address: {group_hubble(g)} -o json | jq -c 'select((.flow // .).destination_names == null)'.")
        return finding

    def _deny(self, g: Group, before: Verdict | None, hubble: str) -> Finding:
        """A drop by an explicit deny rule (POLICY_DENY). Deny rules win over every allow, so no
        label, profile or talksTo change of the stack lifts it; a fix is verified only against a
        model that holds the deny policy, and the stack's config has no deny rules to change."""
        names = list(g.denied_by)
        refs = set(self.verifier.base.policies.policy_refs)
        in_model = [n for n in names if n in refs]
        shown = ", ".join(names) if names else "a deny policy Hubble did not name (no egress/ingress_denied_by)"
        ns = g.source.namespace if g.direction != "INGRESS" else (g.destination.namespace or g.source.namespace)
        model = (f"the stack's model {'allows' if before.allowed else 'denies'} this flow ({_why(before) if not before.allowed else _by(before)})"
                 if before is not None else "the stack's model cannot evaluate this flow")
        look = "; ".join(_kubectl_get(n) for n in names) or (
            "kubectl get ciliumnetworkpolicies,ciliumclusterwidenetworkpolicies -A -o yaml | grep -n -B3 -A12 'egressDeny\\|ingressDeny'")
        if in_model:
            cause = "explicit-deny"
            text = (f"Dropped by an explicit deny rule of {', '.join(in_model)} (Hubble: POLICY_DENY), which the stack "
                    f"renders: deny rules take precedence over every allow, and {self.file} has no setting that "
                    f"removes a deny rule. Change the policy's source, then re-run triage. Now {model}.")
        else:
            cause = "deny-policy-not-in-model"
            text = (f"Dropped by an explicit deny rule of {shown} (Hubble: POLICY_DENY). {self.file} declares no such "
                    f"policy: it is not in the stack's model, so triage cannot verify any fix against it, and no label, "
                    f"profile or talksTo change of this stack lifts a deny rule (deny takes precedence over every "
                    f"allow). Find who manages it and remove or narrow its rule: `{look}`. Without it, {model}.")
        fix = Fix(namespace=ns, file=self.file, needs_review=True,
                  extra={"deny_policies": names, "deny_in_model": bool(in_model),
                         "action": "remove or narrow the deny rule of " + shown})
        return Finding(g, cause, fix, False, text + f" Narrow it down: {hubble}", hubble,
                       before.verdict if before else None)

    def _cause(self, g: Group) -> tuple[str, Fix, str]:
        s, d, port, proto = g.source, g.destination, g.port, g.protocol
        peers = self.peers
        if proto not in PROTOCOLS:
            return self._unknown(g, f"{proto or 'no L4'} traffic ({g.direction.lower()}): network policy here "
                                    "is written for TCP/UDP/SCTP ports; look at the flow itself.")
        if peers.is_kube_dns(d) or (d.namespace == W.KUBE_DNS_NAMESPACE and port == W.DNS_PORT):
            return "missing-dns-baseline", self._check_fix(s, N.BASELINE_DNS), (
                f"DNS from {s.label} to kube-dns ({port}/{proto}) is allowed for every endpoint by {N.BASELINE_DNS} "
                f"(53/UDP, 53/TCP) and the serving side in {N.platform_policy_name(W.KUBE_DNS_NAMESPACE)}: check "
                f"the baseline exists: `kubectl get ciliumclusterwidenetworkpolicy {N.BASELINE_DNS}`.")
        gw = peers.gateway_of(s)
        if gw and d.kind == "pod" and not d.platform:
            return self._gateway(g, gw)
        if peers.is_prometheus(s) and d.kind == "pod":
            return self._prometheus(g)
        if s.entity == "health" and d.kind == "pod":
            return "missing-baseline", self._check_fix(d, N.BASELINE_HEALTH), (
                f"Cilium health checks to {d.label} are allowed for every endpoint by {N.BASELINE_HEALTH} "
                f"(entity health and {W.HEALTH_CIDR}): check the baseline exists: "
                f"`kubectl get ciliumclusterwidenetworkpolicy {N.BASELINE_HEALTH}`.")
        resource = peers.shared_resource(d, port, proto)
        if resource and s.kind == "pod" and s.namespace and s.namespace != d.namespace:
            return self._access(g, resource)
        if d.is_world and s.kind == "pod" and s.namespace:
            return self._world(g)
        if s.kind == "pod" and d.kind == "pod" and s.namespace and d.namespace:
            if s.namespace == d.namespace:
                return self._intra(g)
            return self._talks_to(g)
        return self._unknown(g, f"No rule of the model explains an {g.direction.lower()} drop from {s.label} to "
                                f"{d.label} on {g.port_spec}.")

    # --- fixes per cause ---------------------------------------------------------------------------
    def _declare(self, ns: str | None) -> Change:
        if ns and ns not in self.cfg.all_namespaces():
            return Change((("declare", ns),))
        return NO_CHANGE

    def _undeclared_note(self, ns: str) -> str:
        if ns in self.cfg.all_namespaces():
            return ""
        return (f" {ns} is not declared in {self.file}: the fix declares it under netpol:namespaces "
                "(profile isolated, the smallest, plus what this flow needs).")

    def _fix(self, ns: str, change: Change, *, labels: dict | None = None, path: str | None = None,
             value: Any = None, check: str | None = None, extra: dict | None = None,
             needs_review: bool = False) -> Fix:
        new_cfg = self.verifier.world(change).cfg if change else self.cfg
        return Fix(namespace=ns, set_labels=labels or {}, config_path=path, config_value=value, file=self.file,
                   change=change, check=check, extra=extra or {}, needs_review=needs_review,
                   yaml=snippet(new_cfg, ns) if change and ns in new_cfg.all_namespaces() else None)

    def _check_fix(self, p: Peer, policy: str) -> Fix:
        ns = p.namespace if p.kind == "pod" else None
        change = self._declare(ns)
        return self._fix(ns, change, check=policy) if ns else Fix(namespace=None, check=policy, file=self.file)

    def _unknown(self, g: Group, why: str) -> tuple[str, Fix, str]:
        ns = g.source.namespace or g.destination.namespace
        return "unknown", Fix(namespace=ns, file=self.file), why

    def _access(self, g: Group, resource: str) -> tuple[str, Fix, str]:
        s, ns = g.source, g.source.namespace
        res = self.cfg.sharedResources[resource]
        what = f"{resource} ({res.description or resource}, {', '.join(str(p) for p in res.ports)})"
        if s.platform:
            if res.namespace is not None:
                return self._talks_to(g, pods=tuple(sorted((res.pods or {}).items())), why=(
                    f"{ns} is a platform namespace: platform namespaces carry no access labels, so it reaches "
                    f"{what} through a talksTo entry."))
            change = Change((("egress", ns, "entity", res.entity, (g.port_spec,)),))
            rule = {"entity": res.entity, "ports": [g.port_spec]}
            return "missing-access-label", self._fix(
                ns, change, path=f"netpol:platformNamespaces.{ns}.egress",
                value=declaration(self.verifier.world(change).cfg, ns).get("egress"),
                extra={"add_egress": [rule]}), (
                f"{ns} is a platform namespace (no access labels): it reaches {what} by its own egress rule.")
        app = self.cfg.namespaces.get(ns)
        access = list(app.access) if app else []
        new = access + ([resource] if resource not in access else [])
        change = Change((("access", ns, resource),))
        label = L.access_label(resource)
        text = (f"{ns} reaches {what} only with the namespace label {label}: \"{L.ACCESS_LABEL_VALUE}\": add "
                f"{resource} to netpol:namespaces.{ns}.access in {self.file} (keeping {', '.join(access) or 'no other access'})."
                + self._undeclared_note(ns))
        return "missing-access-label", self._fix(
            ns, change, labels={label: L.ACCESS_LABEL_VALUE}, path=f"netpol:namespaces.{ns}.access", value=new), text

    def _world(self, g: Group) -> tuple[str, Fix, str]:
        s, ns, port, proto = g.source, g.source.namespace, g.port, g.protocol
        opened = sorted({p for prof in PROFILES.values() for p in prof.world_egress_ports})
        if not s.platform and proto == "TCP" and port in opened:
            app = self.cfg.namespaces.get(ns)
            cur = app.profile if app else None
            new = profile_for(self.cfg, ns, internet=True)
            change = Change((("profile", ns, new),))
            had = PROFILES[cur] if cur else PROFILES["isolated"]
            keeps = f"{', '.join(had.gateways)} gateway ingress" if had.gateways else "no gateway ingress"
            text = (f"profile {cur or '(none: undeclared)'} of {ns} opens no internet egress; {new} is the smallest "
                    f"profile that adds world {port}/TCP and keeps what {cur or 'it'} allows ({keeps}; access "
                    f"{', '.join(app.access) if app and app.access else 'none'} unchanged): set "
                    f"netpol:namespaces.{ns}.profile: {new} in {self.file}." + self._undeclared_note(ns))
            return "profile-denies-internet-egress", self._fix(
                ns, change, labels=profile_label(new), path=f"netpol:namespaces.{ns}.profile", value=new), text
        names = [n.rstrip(".").lower() for n in g.names if FQDN.match(n.rstrip(".")) and "*" not in n][:MAX_FQDN_RULES]
        if names:
            rules = [{"fqdn": n, "ports": [g.port_spec]} for n in names]
            steps = tuple(("egress", ns, "fqdn", n, (g.port_spec,)) for n in names)
        else:
            rules = [{"entity": WORLD, "ports": [g.port_spec]}]
            steps = (("egress", ns, "entity", WORLD, (g.port_spec,)),)
        change = Change(steps)
        section = section_of(self.cfg, ns) if ns in self.cfg.all_namespaces() else "namespaces"
        peer = f"the names Hubble saw ({', '.join(names)})" if names else "world (Hubble saw no DNS name: prefer an fqdn rule)"
        why = ("no profile opens it (profiles open only world "
               f"{'/'.join(map(str, opened))}/TCP)") if not s.platform else "platform namespaces have no profile"
        text = (f"Egress from {ns} to world on {g.port_spec}: {why}. A reviewed egress rule to {peer} is needed "
                f"(netpol:{section}.{ns}.egress, guarded by the policy pack); review before committing."
                + self._undeclared_note(ns))
        return "port-not-allowed", self._fix(
            ns, change, path=f"netpol:{section}.{ns}.egress",
            value=declaration(self.verifier.world(change).cfg, ns).get("egress"),
            extra={"add_egress": rules}, needs_review=True), text

    def _gateway(self, g: Group, gw: str) -> tuple[str, Fix, str]:
        d, ns = g.destination, g.destination.namespace
        app = self.cfg.namespaces.get(ns)
        cur = app.profile if app else None
        new = profile_for(self.cfg, ns, gateway=gw)
        steps: list[tuple] = [("profile", ns, new)] if new != cur else []
        if g.protocol != "TCP" or g.port not in self.cfg.gatewayPorts:
            steps.append(("gatewayPorts", g.port))
            change = Change(tuple(steps))
            new_ports = sorted(set(self.cfg.gatewayPorts) | {g.port})
            text = (f"The {gw} gateway reaches backends only on netpol:gatewayPorts "
                    f"({', '.join(map(str, self.cfg.gatewayPorts))}/TCP); no profile opens {g.port_spec}. Either move "
                    f"{ns}'s service to a gateway port or add {g.port} to netpol:gatewayPorts (stack-wide, every "
                    f"namespace whose profile admits a gateway; review)"
                    + (f", and switch {ns} to profile {new}" if new != cur else "") + "."
                    + self._undeclared_note(ns))
            return "port-not-allowed", self._fix(
                ns, change, labels=profile_label(new) if new != cur else {}, path="netpol:gatewayPorts",
                value=new_ports, extra={"add_gateway_ports": [g.port]}, needs_review=True), text
        change = Change(tuple(steps))
        admits = [p.name for p in PROFILES.values() if gw in p.gateways]
        had = PROFILES[cur] if cur else PROFILES["isolated"]
        kept = [f"{', '.join(had.gateways)} gateway ingress" if had.gateways else "",
                "internet egress" if had.world_egress_ports else ""]
        kept_text = " and ".join(k for k in kept if k) or "nothing beyond the baselines"
        extra_egress = bool(PROFILES[new].world_egress_ports) and not had.world_egress_ports
        text = (f"Profile {cur or '(none: undeclared)'} of {ns} does not admit the {gw} gateway (admitted by "
                f"{', '.join(admits)}). {new} is the smallest profile that admits it and keeps what "
                f"{cur or 'it'} allows ({kept_text}; access labels unchanged)"
                + (f"; it also opens internet egress (world {W.HTTPS_PORT}/TCP): no profile admits the {gw} gateway "
                   "without it" if extra_egress else "")
                + f". Set netpol:namespaces.{ns}.profile: {new} in {self.file}." + self._undeclared_note(ns))
        return "profile-denies-gateway-ingress", self._fix(
            ns, change, labels=profile_label(new), path=f"netpol:namespaces.{ns}.profile", value=new), text

    def _prometheus(self, g: Group) -> tuple[str, Fix, str]:
        d, ns = g.destination, g.destination.namespace
        declared = ns in self.cfg.all_namespaces()
        ports = self.cfg.metrics_ports_for(ns) if declared else list(self.cfg.metricsPorts)
        if g.protocol == "TCP" and g.port in ports:
            return "missing-baseline", self._check_fix(d, N.BASELINE_PROMETHEUS), (
                f"Prometheus scrapes every endpoint on the metrics ports ({', '.join(map(str, ports))}) by "
                f"{N.BASELINE_PROMETHEUS}: check the baseline exists: "
                f"`kubectl get ciliumclusterwidenetworkpolicy {N.BASELINE_PROMETHEUS}`." + self._undeclared_note(ns))
        section = section_of(self.cfg, ns) if declared else "namespaces"
        change = Change((("metricsPorts", ns, g.port),))
        return "missing-baseline", self._fix(
            ns, change, path=f"netpol:{section}.{ns}.metricsPorts",
            value=declaration(self.verifier.world(change).cfg, ns).get("metricsPorts"),
            extra={"add_metrics_ports": [g.port]}, check=N.BASELINE_PROMETHEUS), (
            f"Prometheus scrapes {ns} on {g.port_spec}, which is not in its metrics port list "
            f"({', '.join(map(str, ports))}): {N.BASELINE_PROMETHEUS} does not cover it. Add {g.port} to "
            f"netpol:{section}.{ns}.metricsPorts in {self.file}." + self._undeclared_note(ns))

    def _talks_to(self, g: Group, pods: tuple | None = None, why: str = "") -> tuple[str, Fix, str]:
        s, d = g.source, g.destination
        ns, target = s.namespace, d.namespace
        everything = self.cfg.all_namespaces()
        if ns not in everything or target not in everything:
            missing = [x for x in (ns, target) if x not in everything]
            return self._unknown(g, f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not declared in "
                                    f"{self.file}: a talksTo rule only joins namespaces of the stack.")
        if pods is None:
            pods = d.selector
        change = Change((("talksTo", ns, target, tuple(pods), (g.port_spec,)),))
        section = section_of(self.cfg, ns)
        existing = talks_to_entry(self.cfg, ns, target, dict(pods))
        new_decl = declaration(self.verifier.world(change).cfg, ns).get("talksTo") or []
        if existing is not None:
            entry = dict(new_decl[existing], merged_into=existing)
            what = (f"add {g.port_spec} to the ports of its existing talksTo entry for {target} "
                    f"(netpol:{section}.{ns}.talksTo[{existing}])")
        else:
            entry = {"namespace": target, **({"pods": dict(pods)} if pods else {}), "ports": [g.port_spec]}
            what = f"add a talksTo entry to netpol:{section}.{ns}.talksTo"
        text = ((why + " " if why else "")
                + f"No profile or access label opens {target} {g.port_spec} to {ns}: {what} in {self.file}; it "
                f"renders the egress in {ns} and the matching ingress in {target}.")
        return "missing-talks-to", self._fix(
            ns, change, path=f"netpol:{section}.{ns}.talksTo",
            value=declaration(self.verifier.world(change).cfg, ns).get("talksTo"),
            extra={"add_talks_to": entry}), text

    def _intra(self, g: Group) -> tuple[str, Fix, str]:
        ns = g.source.namespace
        if ns not in self.cfg.all_namespaces():
            return self._unknown(g, f"{ns} is not declared in {self.file}.")
        change = Change((("intraNamespace", ns, (g.port_spec,)),))
        section = section_of(self.cfg, ns)
        return "missing-intra-namespace", self._fix(
            ns, change, path=f"netpol:{section}.{ns}.intraNamespace",
            value=declaration(self.verifier.world(change).cfg, ns).get("intraNamespace"),
            extra={"add_intra_namespace": [g.port_spec]}), (
            f"Pods of {ns} talk to each other on {g.port_spec}, which nothing allows: add it to "
            f"netpol:{section}.{ns}.intraNamespace in {self.file}.")


@dataclass
class TriageReport:
    stack: str  # the stack name, or (kind "policies") what the cluster model was read from
    file: str
    stats: ReadStats
    findings: list[Finding]
    kind: str = "stack"  # stack | policies

    def to_json(self) -> dict[str, Any]:
        st = self.stats
        return {
            ("stack" if self.kind == "stack" else "model"): self.stack,
            "findings": [f.to_json() for f in self.findings],
            "skipped_lines": st.skipped_lines,
            "flows_read": st.flows_read,
            "malformed_lines": list(st.malformed_lines),
            "malformed_count": st.malformed_count,
            "non_flow_lines": st.non_flow_lines,
            "policy_drops": st.policy_drops,
            "other_drops": dict(sorted(st.other_drops.items())),
            "other_drops_detail": other_drops_detail(st),
            "input": {"format": st.input_format, "compression": st.compression, "interrupted": st.interrupted,
                      "lines": st.lines},
        }


def other_drops_hubble(reason: str, sample: dict | None = None) -> str:
    """The `hubble observe` command that shows the drops of one non-policy reason."""
    args = ["--drop-reason-desc", reason] if not reason.isdigit() and reason != "UNKNOWN" else []
    node = (sample or {}).get("node_name")
    if node:
        args += ["--node-name", node]
    return hubble_cmd(*args, verdict="DROPPED")


def other_drops_detail(st: ReadStats) -> list[dict[str, Any]]:
    """Drops the policy model cannot explain (not POLICY_DENIED / POLICY_DENY): per reason, the count,
    the first flow seen and the command that shows them."""
    out = []
    for reason, n in sorted(st.other_drops.items(), key=lambda kv: (-kv[1], kv[0])):
        sample = st.other_samples.get(reason) or {}
        out.append({"reason": reason, "count": n, "hubble": other_drops_hubble(reason, sample), "sample": sample})
    return out


def triage(cfg: StackConfig, stream: IO[bytes], verifier: Verifier | None = None) -> TriageReport:
    """Read Hubble flows from a binary stream and return the classified, verified drop groups."""
    return Triage(cfg, verifier).run(stream)


def triage_file(cfg: StackConfig, path, verifier: Verifier | None = None, jobs: int = 1) -> TriageReport:
    """`triage` over a file path (`-` is stdin), or a list of them (read in turn, one report); a big
    file on up to `jobs` cores."""
    paths = [path] if isinstance(path, (str, bytes)) or not hasattr(path, "__iter__") else list(path)
    return Triage(cfg, verifier).run_paths(paths, jobs)
