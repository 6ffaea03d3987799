"""Compile CNP/CCNP documents once into targets, peer matchers and port matchers.

The design follows cyclonus' matcher: a *target* is (whom a rule selects, which policy, which
direction) and holds the compiled allow and deny rules of that direction; each rule is a peer
matcher (endpoint selectors, entities, CIDRs, FQDNs) plus a port matcher. Evaluation walks only
the targets selecting an endpoint, and the rule that matched is the explanation.

Cilium semantics implemented here, each with the section it rests on:

* Subject and peer selectors of a namespaced policy (CNP) are confined to the policy's namespace;
  a cluster-wide policy (CCNP) is not. Implemented exactly as Cilium's `ParseToCiliumRule` /
  `getEndpointSelector` (pkg/k8s/apis/cilium.io/utils/utils.go), documented in "Namespaces /
  Known Pitfalls" (https://docs.cilium.io/en/stable/security/policy/kubernetes/#namespaces) and
  "Clusterwide Policies" (same page): see `subject_selector` and `peer_selector`.
* A rule with no L3 peer field but with `toPorts` selects every peer; an empty non-nil peer list
  selects nothing (CRD description of `toEndpoints`/`fromEndpoints`: "an empty non-nil ToEndpoints
  does not select anything, nil ToEndpoints is implicitly treated as a wildcard selector if ToPorts
  are also specified").
* No `toPorts` means all ports and protocols ("Layer 4 Policies", https://docs.cilium.io/en/stable/
  security/policy/language/#layer-4-examples: "If no layer 4 policy is specified for an endpoint,
  the endpoint is allowed to send and receive on all layer 4 ports and protocols"); protocol
  omitted or ANY = TCP, UDP and SCTP (CRD `protocol`: "If "ANY", omitted or empty, any protocols
  with transport ports (TCP, UDP, SCTP) match"); `endPort` makes a range ("Example Port Ranges");
  port "0" is every port (cilium/cilium PR #14720 and issue #21184: a NetworkPolicy port without a
  number becomes port "0", i.e. all ports of that protocol).
* `ingress: []` / `egress: []` / omitted: the rule does not apply in that direction (API comment
  and CRD: "If omitted or empty, this rule does not apply at ingress"); `ingress: [{}]` applies
  and allows nothing.
* `enableDefaultDeny` (CRD description and "Endpoint default policy",
  https://docs.cilium.io/en/stable/security/policy/intro/#endpoint-default-policy): defaults to
  true for each direction that has rules (allow or deny); "Rules with EnableDefaultDeny disabled
  are ignored when determining the default mode".
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, NamedTuple

from netpol.apis import CCNP, CILIUM_API_VERSION, CNP, ENTITIES, PORT_PROTOCOLS, PROTOCOLS
from netpol.labels import CLUSTER_LABEL, NS_LABEL_PREFIX, POD_NAMESPACE_LABEL
from netpol.reach.endpoints import Endpoint
from netpol.reach.fqdn import selector_matches
from netpol.reach.selectors import (
    RESERVED_KEY_PREFIX, SOURCE_ANY, SOURCE_K8S, Requirement, Selector, compile_selector, extended_key,
)

DIRECTIONS = ("egress", "ingress")
ANY_PROTOCOLS = frozenset(PROTOCOLS)  # what a PortProtocol's ANY (or no protocol) stands for

# Cilium's keys for the namespace checks of getEndpointSelector (pkg/k8s/apis/cilium.io/utils).
POD_NS_K8S = extended_key(SOURCE_K8S, POD_NAMESPACE_LABEL)
POD_NS_ANY = extended_key(SOURCE_ANY, POD_NAMESPACE_LABEL)
NS_LABELS_K8S = extended_key(SOURCE_K8S, NS_LABEL_PREFIX)
NS_LABELS_ANY = extended_key(SOURCE_ANY, NS_LABEL_PREFIX)
INIT_KEY = RESERVED_KEY_PREFIX + "init"
CLUSTER_K8S = extended_key(SOURCE_K8S, CLUSTER_LABEL)
CLUSTER_ANY = extended_key(SOURCE_ANY, CLUSTER_LABEL)

# Entities (docs "Entities Based", https://docs.cilium.io/en/stable/security/policy/language/
# #entities-based): `cluster` is "all network endpoints inside of the local cluster ... all
# Cilium-managed endpoints of the local cluster, unmanaged endpoints in the local cluster, as well
# as the host, remote-node, and init identities"; Cilium's InitEntities (pkg/policy/api/entity.go)
# also lists ingress, health and kube-apiserver. `all` is "the combination of all known clusters
# as well world". `world` is everything outside the cluster ("identical to allowing to CIDR
# 0.0.0.0/0").
CLUSTER_ENTITY_MEMBERS = frozenset(
    {"host", "remote-node", "init", "ingress", "health", "unmanaged", "kube-apiserver", "cluster"})
KNOWN_ENTITIES = frozenset(ENTITIES)

INGRESS_PEER_KEYS = ("fromEndpoints", "fromEntities", "fromCIDR", "fromCIDRSet", "fromRequires",
                     "fromGroups", "fromNodes")
EGRESS_PEER_KEYS = ("toEndpoints", "toEntities", "toCIDR", "toCIDRSet", "toRequires", "toServices",
                    "toFQDNs", "toGroups", "toNodes")


@dataclass(frozen=True)
class PolicyRef:
    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        if self.namespace is None:
            return f"{self.kind}/{self.name}"
        return f"{self.kind}/{self.namespace}/{self.name}"


@dataclass(frozen=True)
class PortMatcher:
    lo: int
    hi: int
    protocols: frozenset[str]

    def matches(self, port: int, proto: str) -> bool:
        return self.lo <= port <= self.hi and proto in self.protocols


@dataclass(frozen=True)
class PortRule:
    """One `toPorts` entry: its ports and the L7 restriction that rides on them."""

    matchers: tuple[PortMatcher, ...]
    l7: str | None
    dns: tuple[Any, ...] = ()  # rules.dns selectors ({matchName}/{matchPattern})

    def matches(self, port: int, proto: str) -> bool:
        for m in self.matchers:
            if m.lo <= port <= m.hi and proto in m.protocols:
                return True
        return False


@dataclass(eq=False)
class CIDRMatcher:
    text: str
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    excepts: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    def contains(self, addr: str) -> bool:
        ip = ipaddress.ip_address(addr)
        if ip.version != self.network.version or ip not in self.network:
            return False
        return not any(ip.version == e.version and ip in e for e in self.excepts)

    def covers_all_world(self) -> bool:
        """Does it stand for the whole world of one family (0.0.0.0/0, ::/0) without holes?"""
        return self.network.prefixlen == 0 and not self.excepts


class Match(NamedTuple):
    l7: str | None  # the flow is redirected to this L7 proxy ("dns", "http", ...)
    via_fqdn: bool  # the peer matched only through toFQDNs
    plain: bool  # some entry allows the port without L7 rules (with l7: requests pass unfiltered)


@dataclass(eq=False)
class CompiledRule:
    path: str  # e.g. "spec.egress[0]", "specs[2].ingressDeny[1]"
    deny: bool
    selectors: tuple[Selector, ...] = ()
    entities: frozenset[str] = frozenset()
    cidrs: tuple[CIDRMatcher, ...] = ()
    fqdns: tuple[Any, ...] = ()
    l3_wildcard: bool = False
    port_rules: tuple[PortRule, ...] | None = None  # None: every port and protocol
    never: bool = False  # fromRequires/toRequires or ICMP-only: matches no port flow
    notes: tuple[str, ...] = ()  # unsupported features, namespace caveats: shown when relevant
    decision_notes: tuple[str, ...] = ()  # shown when this rule decides

    @property
    def has_l7(self) -> bool:
        return bool(self.port_rules) and any(pr.l7 is not None for pr in self.port_rules)

    # --- matching -------------------------------------------------------------------------
    def port_match(self, port: int, proto: str) -> tuple[bool, str | None, bool]:
        """(matched, L7 kind of the first matching entry with L7 rules, a matching entry has none)."""
        if self.port_rules is None:
            return True, None, True
        l7_hit: str | None = None
        found = plain = False
        for pr in self.port_rules:
            if pr.matches(port, proto):
                found = True
                if pr.l7 is None:
                    plain = True
                elif l7_hit is None:
                    l7_hit = pr.l7
        return found, l7_hit, plain

    def peer_match(self, peer: Endpoint, cached: bool) -> tuple[bool, bool]:
        """(matched, matched only through toFQDNs)."""
        if self.l3_wildcard:
            return True, False
        ident = peer.identity
        for sel in self.selectors:
            if sel.matches_cached(ident) if cached else sel.matches(ident):
                return True, False
        if self.entities and entities_match(self.entities, peer):
            return True, False
        if self.cidrs and peer.is_world and cidrs_match(self.cidrs, peer, deny=self.deny):
            return True, False
        if self.fqdns and peer.kind in ("fqdn", "ip") and not self.deny:
            names = (peer.fqdn,) if peer.kind == "fqdn" else peer.dns_names
            if any(selector_matches(sel, n) for sel in self.fqdns for n in names):
                return True, True
        return False, False

    def match(self, peer: Endpoint, port: int, proto: str, cached: bool = True) -> Match | None:
        if self.never:
            return None
        ok, l7, plain = self.port_match(port, proto)
        if not ok:
            return None
        hit, via_fqdn = self.peer_match(peer, cached)
        if not hit:
            return None
        return Match(l7, via_fqdn, plain)

    @property
    def dns_rules(self) -> tuple[Any, ...]:
        """All DNS L7 selectors of this rule (its DNS visibility)."""
        if not self.port_rules:
            return ()
        return tuple(s for pr in self.port_rules for s in pr.dns)


def entities_match(entities: frozenset[str], peer: Endpoint) -> bool:
    if "all" in entities:
        return True
    if peer.kind == "pod":
        return "cluster" in entities  # every inventory pod is in the local cluster
    if peer.is_world:
        if "world" in entities:
            return True
        fam = _family(peer)
        return ("world-ipv4" in entities and fam in (4, None)) or ("world-ipv6" in entities and fam in (6, None))
    e = peer.entity
    if e in entities:
        return True
    # Cilium's kube-apiserver identity (7) carries reserved:remote-node too (cilium v1.20
    # pkg/identity/numericidentity.go reservedIdentityLabels), so the remote-node entity selects it.
    if e == "kube-apiserver" and "remote-node" in entities:
        return True
    return "cluster" in entities and e in CLUSTER_ENTITY_MEMBERS


def _family(peer: Endpoint) -> int | None:
    if not peer.ips:
        return None
    fams = {ipaddress.ip_address(a).version for a in peer.ips}
    return fams.pop() if len(fams) == 1 else None


def cidrs_match(cidrs: Iterable[CIDRMatcher], peer: Endpoint, deny: bool) -> bool:
    """CIDR rules apply to peers outside the cluster only (docs "IP/CIDR based": "CIDR rules do not
    apply to traffic where both sides of the connection are either managed by Cilium or use an IP
    belonging to a node in the cluster"). An fqdn peer is allowed when all its addresses are
    inside; a deny hits when any is. The bare `world` entity (no address) is covered only by a
    /0 without `except`."""
    cidrs = tuple(cidrs)
    if not peer.ips:
        return any(c.covers_all_world() or (deny and c.network.prefixlen == 0) for c in cidrs)
    inside = [any(c.contains(a) for c in cidrs) for a in peer.ips]
    return any(inside) if deny else all(inside)


@dataclass(eq=False)
class Target:
    policy: PolicyRef
    rule_prefix: str  # "spec" or "specs[N]"
    description: str | None
    direction: str
    subject: Selector | None  # None for a nodeSelector (host) rule
    node: bool
    namespace: str | None  # the CNP's namespace (the subject is confined to it), None for a CCNP
    enforces: bool
    allows: tuple[CompiledRule, ...]
    denies: tuple[CompiledRule, ...]
    empty_section: bool = False  # `egress: []`: selects, has no effect
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.policy_str = str(self.policy)

    @property
    def section_path(self) -> str:
        return f"{self.rule_prefix}.{self.direction}"

    def all_notes(self) -> list[str]:
        out = list(self.notes)
        for r in self.allows + self.denies:
            out.extend(r.notes)
        return out


@dataclass
class CompiledPolicy:
    ref: PolicyRef
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- selectors ---------------------------------------------------------------------------------

def subject_selector(raw: Any, namespace: str | None) -> Selector:
    """The endpointSelector. A CNP's always applies in the policy's own namespace: Cilium sets
    `k8s:io.kubernetes.pod.namespace=<ns>` on it (`AddMatch`, replacing a user-given namespace
    match). Docs "Namespaces / Known Pitfalls": "The endpointSelector always applies to pods in the
    namespace associated with the CiliumNetworkPolicy resource itself." A CCNP's selector is taken
    as written: "Such policies can match on any traffic from Pods or Nodes" (utils.go)."""
    sel = compile_selector(raw)
    if namespace is not None:
        sel = sel.with_match(SOURCE_K8S, POD_NAMESPACE_LABEL, namespace)
    return sel


def peer_selector(raw: Any, namespace: str | None, matches_init: bool) -> tuple[Selector, list[str]]:
    """A fromEndpoints/toEndpoints selector, with the namespace scoping of Cilium's
    `getEndpointSelector`:

    * a selector naming any `reserved:` key is left as written (reserved identities have no
      namespace);
    * a selector naming `io.kubernetes.pod.namespace` (any source) is left as written: selecting
      another namespace is allowed (docs "Example: Allow egress to kube-dns in kube-system");
    * otherwise, in a CCNP, `k8s:io.kubernetes.pod.namespace Exists` is added (only Kubernetes pods
      match, so `fromEndpoints: [{}]` is every pod of the cluster; docs "Example: Allow all ingress
      to kube-dns": "all Cilium managed endpoints in the cluster") unless the subject selects
      `reserved:init`;
    * otherwise, in a CNP, `k8s:io.kubernetes.pod.namespace=<policy namespace>` is added, unless the
      selector keys on namespace labels (`io.cilium.k8s.namespace.labels.*`), which current Cilium
      leaves cluster-wide."""
    notes: list[str] = []
    sel = compile_selector(raw)
    if sel.problems:
        notes.append("invalid peer selector (" + "; ".join(sel.problems) + "): it matches nothing")
    if sel.has_key_prefix(RESERVED_KEY_PREFIX):
        return sel, notes
    if sel.has_key(POD_NS_K8S) or sel.has_key(POD_NS_ANY):
        pass  # names its namespace(s): no namespace scoping, the cluster filter below still applies
    elif namespace is None:
        if not matches_init:
            sel = sel.with_expression(Requirement(SOURCE_K8S, POD_NAMESPACE_LABEL, "Exists"))
    elif sel.has_key_prefix(NS_LABELS_K8S) or sel.has_key_prefix(NS_LABELS_ANY):
        notes.append(
            "a CiliumNetworkPolicy peer selector keys on namespace labels (io.cilium.k8s.namespace.labels.*) "
            "without naming a namespace: current Cilium (getEndpointSelector in "
            "pkg/k8s/apis/cilium.io/utils/utils.go) does not confine it to the policy's namespace, so it "
            "matches pods of every namespace carrying those labels; older releases' docs ('Known Pitfalls') "
            "say such labels are ignored in CiliumNetworkPolicies")
    else:
        sel = sel.with_match(SOURCE_K8S, POD_NAMESPACE_LABEL, namespace)
    # addClusterFilterByDefault (same utils.go; policy-default-local-cluster is on by default,
    # pkg/clustermesh/types/option.go): a peer selector naming no cluster gets
    # `k8s:io.cilium.k8s.policy.cluster=<local cluster>`, so only pods match it, never an entity
    # or address (matters for NotIn / DoesNotExist selectors). Every inventory pod is in the
    # local cluster: `Exists` is that requirement here.
    if not (sel.has_key(CLUSTER_K8S) or sel.has_key(CLUSTER_ANY)):
        sel = sel.with_expression(Requirement(SOURCE_K8S, CLUSTER_LABEL, "Exists"))
    return sel, notes


# --- rules -------------------------------------------------------------------------------------

def _parse_port(entry: Any, where: str, notes: list[str]) -> PortMatcher | None:
    if not isinstance(entry, Mapping):
        notes.append(f"{where}: port entry is not a mapping ({entry!r}): ignored")
        return None
    proto = str(entry.get("protocol") or "ANY").upper()
    if proto not in PORT_PROTOCOLS:
        notes.append(f"{where}: unknown protocol {proto!r} (valid: {', '.join(PORT_PROTOCOLS)}): matches nothing")
        return None
    # CRD PortProtocol.protocol: "If "ANY", omitted or empty, any protocols with transport ports
    # (TCP, UDP, SCTP) match".
    protocols = ANY_PROTOCOLS if proto == "ANY" else frozenset({proto})
    raw_port = entry.get("port")
    port_s = "0" if raw_port is None or str(raw_port).strip() == "" else str(raw_port).strip()
    if not port_s.isdigit():
        notes.append(f"{where}: named port {port_s!r} cannot be resolved offline (it depends on the "
                     "destination's container ports): this entry matches nothing")
        return None
    port = int(port_s)
    if port == 0:  # port "0" = every port of the protocol (cilium/cilium PR #14720, issue #21184)
        return PortMatcher(0, 65535, protocols)
    end = entry.get("endPort")
    hi = port
    if end not in (None, "", 0):
        try:
            end_i = int(end)
        except (TypeError, ValueError):
            notes.append(f"{where}: endPort {end!r} is not a number: ignored")
            end_i = port
        if end_i < port:
            notes.append(f"{where}: endPort {end_i} is below port {port}: treated as the single port {port}")
        else:
            hi = end_i
    return PortMatcher(port, min(hi, 65535), protocols)


def _l7_kind(rules: Any, pr: Mapping) -> str | None:
    if isinstance(rules, Mapping):
        for k in ("dns", "http", "kafka"):
            if rules.get(k):
                return k
        if rules.get("l7proto"):
            return str(rules["l7proto"])
    if pr.get("serverNames"):
        return "tls-sni"
    if pr.get("listener"):
        return "envoy-listener"
    return None


def compile_port_rules(raw: Any, where: str, notes: list[str]) -> tuple[PortRule, ...] | None:
    if not raw:
        return None
    if not isinstance(raw, list):
        notes.append(f"{where}.toPorts is not a list: treated as matching nothing")
        return ()
    out: list[PortRule] = []
    for i, pr in enumerate(raw):
        w = f"{where}.toPorts[{i}]"
        if not isinstance(pr, Mapping):
            notes.append(f"{w} is not a mapping: ignored")
            continue
        ports = pr.get("ports")
        matchers: list[PortMatcher] = []
        if not ports:
            matchers.append(PortMatcher(0, 65535, ANY_PROTOCOLS))
        elif isinstance(ports, list):
            for j, p in enumerate(ports):
                m = _parse_port(p, f"{w}.ports[{j}]", notes)
                if m is not None:
                    matchers.append(m)
        else:
            notes.append(f"{w}.ports is not a list: ignored")
        rules = pr.get("rules")
        l7 = _l7_kind(rules, pr)
        dns: tuple[Any, ...] = ()
        if isinstance(rules, Mapping) and isinstance(rules.get("dns"), list):
            dns = tuple(rules["dns"])
        for k in ("terminatingTLS", "originatingTLS"):
            if pr.get(k):
                notes.append(f"{w}.{k}: TLS interception is not evaluated")
        out.append(PortRule(tuple(matchers), l7, dns))
    return tuple(out)


def _cidrs(rule: Mapping, plain_key: str, set_key: str, where: str, notes: list[str]) -> list[CIDRMatcher]:
    out: list[CIDRMatcher] = []
    for j, c in enumerate(rule.get(plain_key) or []):
        m = compile_cidr(str(c), (), f"{where}.{plain_key}[{j}]", notes)
        if m:
            out.append(m)
    for j, c in enumerate(rule.get(set_key) or []):
        w = f"{where}.{set_key}[{j}]"
        if not isinstance(c, Mapping):
            notes.append(f"{w} is not a mapping: matches nothing")
            continue
        if "cidr" not in c:
            kinds = [k for k in ("cidrGroupRef", "cidrGroupSelector") if k in c]
            notes.append(f"unsupported: {w}.{kinds[0] if kinds else 'cidr'} (CiliumCIDRGroup references are "
                         "not resolved offline): this entry matches nothing")
            continue
        out_m = compile_cidr(str(c["cidr"]), tuple(str(e) for e in (c.get("except") or [])), w, notes)
        if out_m:
            out.append(out_m)
    return out


def compile_cidr(text: str, excepts: tuple[str, ...], where: str, notes: list[str]) -> CIDRMatcher | None:
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
        exc = tuple(ipaddress.ip_network(e.strip(), strict=False) for e in excepts)
    except ValueError:
        hint = " (an unsubstituted ${...} variable?)" if "${" in text or any("${" in e for e in excepts) else ""
        bad = ", ".join((text,) + excepts)
        notes.append(f"{where}: CIDR {bad!r} does not parse{hint}: this entry matches nothing")
        return None
    return CIDRMatcher(text, net, exc)


def compile_rule(raw: Any, *, path: str, direction: str, deny: bool, namespace: str | None,
                 matches_init: bool) -> CompiledRule:
    notes: list[str] = []
    decision_notes: list[str] = []
    if not isinstance(raw, Mapping):
        return CompiledRule(path, deny, never=True, notes=(f"{path} is not a mapping: matches nothing",))
    peer_keys = INGRESS_PEER_KEYS if direction == "ingress" else EGRESS_PEER_KEYS
    present = [k for k in peer_keys if raw.get(k) is not None]
    ep_key = "fromEndpoints" if direction == "ingress" else "toEndpoints"
    ent_key = "fromEntities" if direction == "ingress" else "toEntities"
    cidr_key, cidrset_key = ("fromCIDR", "fromCIDRSet") if direction == "ingress" else ("toCIDR", "toCIDRSet")

    selectors: list[Selector] = []
    for sel_raw in raw.get(ep_key) or []:
        sel, n = peer_selector(sel_raw, namespace, matches_init)
        selectors.append(sel)
        decision_notes.extend(n)
    entities: set[str] = set()
    for e in raw.get(ent_key) or []:
        e = str(e)
        if e not in KNOWN_ENTITIES:
            notes.append(f"{path}.{ent_key}: unknown entity {e!r} matches nothing")
        entities.add(e)
    cidrs = _cidrs(raw, cidr_key, cidrset_key, path, notes)
    fqdns: tuple[Any, ...] = ()
    if direction == "egress" and raw.get("toFQDNs"):
        if deny:
            notes.append(f"unsupported: {path}.toFQDNs (deny policies do not support toFQDNs, docs 'Deny "
                         "Policies'): ignored")
        else:
            fqdns = tuple(raw["toFQDNs"])

    never = False
    for k in ("fromRequires", "toRequires"):
        if raw.get(k) is not None:
            never = True
            notes.append(f"unsupported: {path}.{k} (deprecated, removed in Cilium 1.19): this rule is treated "
                         "as matching nothing")
    for k in ("toServices", "toGroups", "fromGroups", "fromNodes", "toNodes"):
        if raw.get(k) is not None:
            notes.append(f"unsupported: {path}.{k} is not evaluated offline: that peer clause matches nothing")
    if raw.get("authentication"):
        notes.append(f"unsupported: {path}.authentication (mutual authentication) is not evaluated")

    port_rules = compile_port_rules(raw.get("toPorts"), path, notes)
    if raw.get("icmps") and not raw.get("toPorts"):
        never = True
        notes.append(f"unsupported: {path}.icmps: ICMP is not evaluated; this rule governs ICMP only and "
                     "matches no TCP/UDP/SCTP flow")
    elif raw.get("icmps"):
        notes.append(f"unsupported: {path}.icmps: the ICMP part is not evaluated")

    # CRD toEndpoints/fromEndpoints: "an empty non-nil ToEndpoints does not select anything, nil
    # ToEndpoints is implicitly treated as a wildcard selector if ToPorts are also specified".
    has_l4 = bool(raw.get("toPorts")) or bool(raw.get("icmps"))
    l3_wildcard = not present and has_l4
    return CompiledRule(path, deny, tuple(selectors), frozenset(entities), tuple(cidrs), fqdns, l3_wildcard,
                        port_rules, never, tuple(notes), tuple(decision_notes))


def compile_rule_spec(r: Any, *, ref: PolicyRef, prefix: str, namespace: str | None) -> tuple[list[Target], list[str]]:
    notes: list[str] = []
    if not isinstance(r, Mapping):
        return [], [f"{ref} {prefix}: not a mapping: ignored"]
    description = r.get("description")
    description = str(description).strip() if description is not None else None
    es, ns_sel = r.get("endpointSelector"), r.get("nodeSelector")
    node = False
    subject: Selector | None
    target_notes: list[str] = []
    if es is not None:
        subject = subject_selector(es, namespace)
        user_ns = compile_selector(es).match_labels.get(POD_NS_K8S)
        if namespace is not None and user_ns is not None and user_ns[2] != namespace:
            target_notes.append(f"{ref} {prefix}.endpointSelector names namespace {user_ns[2]!r}: a "
                                "CiliumNetworkPolicy always applies in its own namespace, Cilium replaces it")
        if subject.problems:
            target_notes.append(f"{prefix}.endpointSelector is invalid ({'; '.join(subject.problems)}): "
                                "it selects nothing")
    elif ns_sel is not None:
        if namespace is not None:
            return [], [f"{ref} {prefix}: nodeSelector is only valid in a CiliumClusterwideNetworkPolicy: ignored"]
        # Host policies (docs "Host Policies"): apply to the selected nodes' host namespace. The
        # inventory has no node labels, so the rule is taken to select this host.
        node, subject = True, None
        target_notes.append(f"{ref} {prefix} is a host policy (nodeSelector): node labels are not in the "
                            "inventory, so it is taken to select the host; host policies only take effect "
                            "with the host firewall enabled (hostFirewall.enabled=true)")
    else:
        return [], [f"{ref} {prefix}: neither endpointSelector nor nodeSelector (Cilium rejects such a "
                    "rule): ignored"]
    matches_init = subject is not None and subject.has_key(INIT_KEY)
    edd = r.get("enableDefaultDeny")
    if edd is not None and not isinstance(edd, Mapping):
        notes.append(f"{ref} {prefix}.enableDefaultDeny is not a mapping: ignored")
        edd = None
    targets: list[Target] = []
    for direction in DIRECTIONS:
        allow_raw, deny_raw = r.get(direction), r.get(direction + "Deny")
        lists: dict[str, list[CompiledRule]] = {"allow": [], "deny": []}
        for label, key, raw_list in (("allow", direction, allow_raw), ("deny", direction + "Deny", deny_raw)):
            if raw_list is None:
                continue
            if not isinstance(raw_list, list):
                notes.append(f"{ref} {prefix}.{key} is not a list: ignored")
                continue
            for i, item in enumerate(raw_list):
                lists[label].append(compile_rule(item, path=f"{prefix}.{key}[{i}]", direction=direction,
                                                 deny=label == "deny", namespace=namespace,
                                                 matches_init=matches_init))
        # Default deny per direction: on when the rule has allow or deny rules in that direction,
        # unless enableDefaultDeny says otherwise (CRD enableDefaultDeny; docs "Endpoint default
        # policy"); an empty list is "does not apply" (Rule Basics).
        has_rules = bool(lists["allow"] or lists["deny"])
        edd_val = edd.get(direction) if edd else None
        if edd_val is not None and not isinstance(edd_val, bool):
            notes.append(f"{ref} {prefix}.enableDefaultDeny.{direction} is not a boolean: ignored")
            edd_val = None
        # Without rules in a direction, enableDefaultDeny.<direction>: true does nothing: Cilium
        # makes one policy entry per ingress/egress(Deny) rule and takes DefaultDeny from the entries
        # (cilium v1.20 pkg/policy/utils/parserules.go RulesToPolicyEntries; pkg/policy/repository.go
        # computePolicyEnforcementAndRules), so no entry, no default deny.
        if has_rules:
            enforces = edd_val is True or edd_val is None
            t_notes = list(target_notes)
            if edd_val is False:
                t_notes.append(f"{ref} {prefix}: enableDefaultDeny.{direction}=false: it adds its rules "
                               "but does not put the endpoint into default deny")
            targets.append(Target(ref, prefix, description, direction, subject, node, namespace, enforces,
                                  tuple(lists["allow"]), tuple(lists["deny"]), notes=tuple(t_notes)))
        elif allow_raw is not None or deny_raw is not None or edd_val is True:
            targets.append(Target(ref, prefix, description, direction, subject, node, namespace, False, (), (),
                                  empty_section=True,
                                  notes=(f"{ref} {prefix}.{direction} is an empty list: it does not apply at "
                                         f"{direction} (no default deny from it)" if (allow_raw is not None or
                                                                                      deny_raw is not None) else
                                         f"{ref} {prefix}: enableDefaultDeny.{direction}=true without "
                                         f"{direction} rules has no effect (Cilium makes no policy entry)",)))
    return targets, notes


def is_policy_doc(doc: Any) -> bool:
    if isinstance(doc, Mapping) and doc.get("kind") == "NetworkPolicy":
        return doc.get("apiVersion") == "networking.k8s.io/v1"
    return (isinstance(doc, Mapping) and doc.get("apiVersion") == CILIUM_API_VERSION
            and doc.get("kind") in (CNP, CCNP))


def compile_policy(doc: Mapping, source: str = "") -> CompiledPolicy:
    kind = doc["kind"]
    if kind == "NetworkPolicy":  # Kubernetes NetworkPolicy: Cilium's translation, netpol/reach/k8s_netpol.py
        from netpol.reach.k8s_netpol import compile_network_policy
        return compile_network_policy(doc, source)
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
    name = str(meta.get("name") or "<unnamed>")
    notes: list[str] = []
    where = f" ({source})" if source else ""
    if not meta.get("name"):
        notes.append(f"{kind} without metadata.name{where}")
    namespace: str | None = None
    if kind == CNP:
        namespace = str(meta.get("namespace") or "default")
        if not meta.get("namespace"):
            notes.append(f"{kind}/{name}{where} has no metadata.namespace: taken to live in 'default'")
    ref = PolicyRef(kind, name, namespace)
    cp = CompiledPolicy(ref)
    specs: list[tuple[str, Any]] = []
    if doc.get("spec") is not None:
        specs.append(("spec", doc["spec"]))
    raw_specs = doc.get("specs")
    if raw_specs is not None:
        if isinstance(raw_specs, list):
            specs.extend((f"specs[{i}]", s) for i, s in enumerate(raw_specs))
        else:
            notes.append(f"{ref}{where}: specs is not a list: ignored")
    if not specs:
        notes.append(f"{ref}{where} has neither spec nor specs: it selects nothing")
    for prefix, r in specs:
        targets, n = compile_rule_spec(r, ref=ref, prefix=prefix, namespace=namespace)
        cp.targets.extend(targets)
        notes.extend(n)
    cp.notes = notes
    return cp
