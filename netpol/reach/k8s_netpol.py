"""Kubernetes NetworkPolicy (networking.k8s.io/v1), compiled the way Cilium translates it.

Cilium does not enforce a NetworkPolicy by its own rules: the agent turns each one into Cilium
policy entries (`ParseNetworkPolicy` in cilium/cilium pkg/k8s/network_policy.go, called by the
policy watcher in pkg/policy/k8s/network_policy.go) and evaluates those with everything else. This
module reproduces that translation into the engine's targets and rules (netpol/reach/compile.py),
so a NetworkPolicy meets CNPs and CCNPs exactly as it does in the agent: a flow is allowed when
any selecting policy allows it, and a Cilium deny rule still wins.

The translation, each point as pkg/k8s/network_policy.go does it:

* Subject: `spec.podSelector` (keys in the `k8s:` source, `NewESFromK8sLabelSelector(
  LabelSourceK8sKeyPrefix, ...)`) plus `io.kubernetes.pod.namespace=<policy namespace>`
  (`parsePodSelector`); a policy without a namespace lives in `default` (`ExtractNamespaceOrDefault`).
* Every entry is an allow with `DefaultDeny = true` ("all k8s Network Policies are allow rules"):
  a pod a NetworkPolicy selects is in default deny for each direction the policy governs.
* `ingress[i].from` / `egress[i].to` empty or missing: one entry with the wildcard selector, i.e.
  every peer, inside the cluster or not ("If this field is empty or missing, this rule matches all
  sources"). Otherwise one entry per peer (`from[j]`): peers are OR-ed.
* A peer's `namespaceSelector` becomes `io.cilium.k8s.namespace.labels.<key>` requirements (an
  empty one: `io.kubernetes.pod.namespace Exists`, every namespace), AND-ed with the peer's
  `podSelector` in one selector (`NewESFromK8sLabelSelector(..., namespaceSelector, podSelector)`),
  not confined to the policy's namespace. A `podSelector` alone is confined to the policy's
  namespace.
* `ipBlock` becomes a CIDR rule (`ipBlockToCIDRRule`: `cidr` with `except`): it matches CIDR/world
  identities only, never a pod of the cluster whose IP falls inside it (docs "IP/CIDR based":
  CIDR rules "do not apply to traffic where both sides of the connection are either managed by
  Cilium or use an IP belonging to a node in the cluster").
* `ports[k]` (`parsePorts`): protocol TCP when omitted; no `port` is port "0", every port of that
  protocol; `endPort` makes a range. Named ports depend on the pods' container specs: not
  modelled, such an entry matches nothing and the verdict says so. The ports apply to every peer
  entry of the rule.
* `policyTypes`: with no ingress rules, ingress is put in default deny when the types list
  `Ingress` or do not list `Egress` (so by default); with no egress rules, egress only when the
  types list `Egress`. Rules present in `spec.ingress` / `spec.egress` are translated whatever
  `policyTypes` says (the translation never reads policyTypes for them); Kubernetes' own API docs
  say a direction not listed is not isolated, so such a policy gets a note.
* Peer selectors are additionally confined to the local cluster (`io.cilium.k8s.policy.cluster`,
  parseNetworkPolicyPeer; policy-default-local-cluster is on by default) unless they name a
  cluster: every inventory pod is in the local cluster, so `Exists` is that requirement here, and a
  NotIn / DoesNotExist selector matches pods only, never an entity or an address (found by the
  differential tests against Cilium's engine, tests/oracle).
"""

from __future__ import annotations

from typing import Any, Mapping

from netpol.apis import NETWORK_POLICY, NETWORK_POLICY_API_VERSION, PROTOCOLS
from netpol.labels import CLUSTER_LABEL, NS_LABEL_PREFIX, POD_NAMESPACE_LABEL
from netpol.reach.compile import (
    CLUSTER_ANY, CLUSTER_K8S, CIDRMatcher, CompiledPolicy, CompiledRule, PolicyRef, PortMatcher,
    PortRule, Target, compile_cidr,
)
from netpol.reach.selectors import SOURCE_K8S, Requirement, Selector, compile_selector

DIRECTION_KEYS = {"ingress": ("from", "Ingress"), "egress": ("to", "Egress")}


def is_network_policy(doc: Any) -> bool:
    return (isinstance(doc, Mapping) and doc.get("kind") == NETWORK_POLICY
            and doc.get("apiVersion") == NETWORK_POLICY_API_VERSION)


def _k8s_selector(raw: Any, prefix: str = "") -> dict[str, Any]:
    """A LabelSelector with every key in the `k8s:` source (and `prefix` before the key), as
    `NewESFromK8sLabelSelector(LabelSourceK8sKeyPrefix, ...)` builds it."""
    if not isinstance(raw, Mapping):
        return {"matchLabels": raw} if raw is not None else {}
    out: dict[str, Any] = {}
    ml = raw.get("matchLabels")
    if isinstance(ml, Mapping):
        out["matchLabels"] = {f"{SOURCE_K8S}:{prefix}{k}": v for k, v in ml.items()}
    elif ml is not None:
        out["matchLabels"] = ml  # compile_selector reports it
    ex = raw.get("matchExpressions")
    if isinstance(ex, list):
        out["matchExpressions"] = [
            {**e, "key": f"{SOURCE_K8S}:{prefix}{e['key']}"} if isinstance(e, Mapping) and "key" in e else e
            for e in ex]
    elif ex is not None:
        out["matchExpressions"] = ex
    return out


def _merge(a: Selector, b: Selector) -> Selector:
    """One selector requiring both (Cilium's `NewESFromK8sLabelSelector(prefix, s1, s2)`)."""
    ml = dict(a.match_labels)
    ml.update(b.match_labels)
    return Selector(ml, a.expressions + b.expressions, a.valid and b.valid, a.problems + b.problems)


def subject(raw: Any, namespace: str) -> Selector:
    return compile_selector(_k8s_selector(raw or {})).with_match(SOURCE_K8S, POD_NAMESPACE_LABEL, namespace)


def peer_selector(peer: Mapping[str, Any], namespace: str) -> Selector | None:
    """`parseNetworkPolicyPeer`: None when the peer has neither namespaceSelector nor podSelector."""
    ns_raw, pod_raw = peer.get("namespaceSelector"), peer.get("podSelector")
    if ns_raw is not None:
        ns_sel = compile_selector(_k8s_selector(ns_raw, NS_LABEL_PREFIX))
        if ns_sel.valid and not ns_sel.match_labels and not ns_sel.expressions:
            # "Empty namespace selector selects all namespaces (i.e., a namespace label exists)."
            ns_sel = ns_sel.with_expression(Requirement(SOURCE_K8S, POD_NAMESPACE_LABEL, "Exists"))
        pod_sel = compile_selector(_k8s_selector(pod_raw or {}))
        return _local_cluster(_merge(ns_sel, pod_sel))
    if pod_raw is not None:
        return _local_cluster(
            compile_selector(_k8s_selector(pod_raw)).with_match(SOURCE_K8S, POD_NAMESPACE_LABEL, namespace))
    return None


def _local_cluster(sel: Selector) -> Selector:
    if sel.has_key(CLUSTER_K8S) or sel.has_key(CLUSTER_ANY):
        return sel
    return sel.with_expression(Requirement(SOURCE_K8S, CLUSTER_LABEL, "Exists"))


def _ports(raw: Any, where: str, notes: list[str]) -> tuple[PortRule, ...] | None:
    if not raw:
        return None  # no ports: every port and protocol
    if not isinstance(raw, list):
        notes.append(f"{where}.ports is not a list: this rule matches nothing")
        return ()
    out: list[PortRule] = []
    for k, p in enumerate(raw):
        w = f"{where}.ports[{k}]"
        if not isinstance(p, Mapping):
            notes.append(f"{w} is not a mapping: ignored")
            continue
        proto = str(p.get("protocol") or "TCP")
        if proto not in PROTOCOLS:  # validation.go validateNetworkPolicyPort
            notes.append(f"{w}: protocol {proto!r} is not one of {', '.join(PROTOCOLS)}: matches nothing")
            continue
        port = p.get("port")
        if port is None:
            out.append(PortRule((PortMatcher(0, 65535, frozenset({proto})),), None))
            continue
        if isinstance(port, str) and not port.strip().isdigit():
            notes.append(f"unmodelled: {w}.port is the named port {port!r}: it resolves per destination pod "
                         "from its container ports, which the inventory does not hold; this entry matches nothing")
            continue
        try:
            lo = int(port)
        except (TypeError, ValueError):
            notes.append(f"{w}.port {port!r} is not a port: ignored")
            continue
        hi = lo
        end = p.get("endPort")
        if end is not None:
            try:
                hi = max(lo, int(end))
            except (TypeError, ValueError):
                notes.append(f"{w}.endPort {end!r} is not a number: treated as the single port {lo}")
        out.append(PortRule((PortMatcher(lo, min(hi, 65535), frozenset({proto})),), None))
    return tuple(out)


def _peer_rule(peer: Any, path: str, namespace: str, port_rules: tuple[PortRule, ...] | None) -> CompiledRule:
    if not isinstance(peer, Mapping):
        return CompiledRule(path, False, never=True, notes=(f"{path} is not a mapping: matches nothing",))
    notes: list[str] = []
    decision: list[str] = []
    sel = peer_selector(peer, namespace)
    selectors = (sel,) if sel is not None else ()
    if sel is not None and sel.problems:
        notes.append(f"{path}: invalid selector ({'; '.join(sel.problems)}): it matches nothing")
    cidrs: list[CIDRMatcher] = []
    block = peer.get("ipBlock")
    if block is not None:
        if isinstance(block, Mapping) and block.get("cidr") is not None:
            m = compile_cidr(str(block["cidr"]), tuple(str(e) for e in (block.get("except") or [])), f"{path}.ipBlock", notes)
            if m is not None:
                cidrs.append(m)
        else:
            notes.append(f"{path}.ipBlock has no cidr: matches nothing")
        decision.append(f"{path}.ipBlock is a CIDR rule in Cilium: it matches addresses outside the cluster only, "
                        "never a pod of the cluster whose IP falls inside it (pkg/k8s/network_policy.go "
                        "ipBlockToCIDRRule; docs 'IP/CIDR based')")
    if sel is None and block is None:
        return CompiledRule(path, False, never=True, notes=(
            f"{path} has no podSelector, namespaceSelector or ipBlock: the API server rejects such a peer; "
            "it matches nothing",))
    return CompiledRule(path, False, selectors=selectors, cidrs=tuple(cidrs), port_rules=port_rules,
                        notes=tuple(notes), decision_notes=tuple(decision))


def compile_network_policy(doc: Mapping, source: str = "") -> CompiledPolicy:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
    name = str(meta.get("name") or "<unnamed>")
    namespace = str(meta.get("namespace") or "default")
    where = f" ({source})" if source else ""
    ref = PolicyRef(NETWORK_POLICY, name, namespace)
    cp = CompiledPolicy(ref)
    notes: list[str] = []
    if not meta.get("namespace"):
        notes.append(f"{ref}{where} has no metadata.namespace: taken to live in 'default'")
    spec = doc.get("spec")
    if not isinstance(spec, Mapping):
        notes.append(f"{ref}{where} has no spec: it selects nothing")
        cp.notes = notes
        return cp
    subj = subject(spec.get("podSelector"), namespace)
    target_notes: list[str] = []
    if subj.problems:
        target_notes.append(f"{ref} spec.podSelector is invalid ({'; '.join(subj.problems)}): it selects nothing")
    types_raw = spec.get("policyTypes")
    types = [str(t) for t in types_raw] if isinstance(types_raw, list) else []
    for direction in ("ingress", "egress"):
        peer_key, type_name = DIRECTION_KEYS[direction]
        raw_rules = spec.get(direction)
        rules: list[CompiledRule] = []
        if raw_rules is not None and not isinstance(raw_rules, list):
            notes.append(f"{ref} spec.{direction} is not a list: ignored")
            raw_rules = None
        for i, r in enumerate(raw_rules or []):
            path = f"spec.{direction}[{i}]"
            if not isinstance(r, Mapping):
                rules.append(CompiledRule(path, False, never=True, notes=(f"{path} is not a mapping: matches nothing",)))
                continue
            rule_notes: list[str] = []
            port_rules = _ports(r.get("ports"), path, rule_notes)
            peers = r.get(peer_key)
            if not peers:
                # "If this field is empty or missing, this rule matches all sources": the wildcard selector.
                rules.append(CompiledRule(path, False, l3_wildcard=True, port_rules=port_rules,
                                          notes=tuple(rule_notes)))
                continue
            if not isinstance(peers, list):
                rules.append(CompiledRule(path, False, never=True,
                                          notes=(f"{path}.{peer_key} is not a list: matches nothing",)))
                continue
            for j, peer in enumerate(peers):
                cr = _peer_rule(peer, f"{path}.{peer_key}[{j}]", namespace, port_rules)
                if rule_notes:
                    cr.notes = cr.notes + tuple(rule_notes)
                rules.append(cr)
        governs = bool(rules) or (type_name in types) or (direction == "ingress" and "Egress" not in types)
        if not governs:
            continue
        t_notes = list(target_notes)
        if rules and types and type_name not in types:
            t_notes.append(f"{ref} has spec.{direction} rules but policyTypes {types} does not list {type_name}: "
                           f"Cilium (ParseNetworkPolicy) still enforces them and puts {direction} in default deny; "
                           f"the Kubernetes API says {direction} is then not isolated")
        if not rules:
            t_notes.append(f"{ref} governs {direction} (policyTypes {types or ['Ingress (default)']}) with no "
                           f"{direction} rules: every {direction} flow of the pods it selects is denied unless "
                           "another policy allows it")
        cp.targets.append(Target(ref, "spec", None, direction, subj, False, namespace, True, tuple(rules), (),
                                 notes=tuple(t_notes)))
    cp.notes = notes
    return cp
