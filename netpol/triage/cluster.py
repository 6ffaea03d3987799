"""Triage for any cluster: its policies and an inventory of its endpoints, not a stack of this program.

    model = ClusterModel.from_paths("policies/", "inventory.yaml")   # or built by a --kubeconfig reader
    report = PolicyTriage(model).run(open("drops.json", "rb"))

Causes come from the reachability engine's verdict for each drop group (never from a table of
names): `explicit-deny` (a deny rule of a named policy decides a side), `default-deny-egress`,
`default-deny-ingress`, `default-deny-both` (a policy selects the endpoint and no allow rule matches),
`deny-policy-not-in-model` (Hubble says POLICY_DENY by a policy the model does not hold),
`allowed-by-model` (the model allows it: the cluster runs other policies), `unknown` (an endpoint
the inventory does not hold, a protocol the engine does not model). Fixes are policy changes: a
rule to add to the named policy that enforces the side (its YAML), or the deny rule to remove. A
fix is `verified` only when the engine, on the model with the change applied (the deny policy
still in it unless the change removes its rule), allows the flow.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterable

import yaml

from netpol.apis import PROTOCOLS
from netpol.reach import Inventory, PolicySet, ReachInputError, Verdict, load_inventory, resolve_endpoint
from netpol.triage.classify import Finding, Group, TriageReport, group_hubble, merge_groups
from netpol.triage.fixes import Fix
from netpol.triage.flows import RESERVED_IDENTITIES, RawGroup, ReadStats, merge_raw, scan_drops, scan_drops_path
from netpol.triage.peers import ENTITY_PRIORITY, LOCAL_IDENTITY_MIN, Peer, parse_labels

NS_LABEL = "k8s:io.kubernetes.pod.namespace"
ENTITIES = frozenset(RESERVED_IDENTITIES.values())  # the entities a Hubble peer is named by


@dataclass
class ClusterModel:
    """A cluster's policies (CNP / CCNP / NetworkPolicy documents) and its endpoints, as one object."""

    docs: list[dict]
    inventory: Inventory
    source: str

    @classmethod
    def from_paths(cls, policies: str | Path, inventory: str | Path) -> "ClusterModel":
        p = Path(policies)
        files = sorted(x for x in (p.rglob("*") if p.is_dir() else [p]) if x.suffix in (".yaml", ".yml"))
        if not p.exists():
            raise ReachInputError(f"{p}: no such file or folder (--policies)")
        docs: list[dict] = []
        for f in files:
            try:
                for d in yaml.safe_load_all(f.read_text()):
                    docs.extend(_flatten(d))
            except (yaml.YAMLError, OSError, UnicodeDecodeError) as e:
                raise ReachInputError(f"{f}: not readable YAML: {e}") from None
        return cls(docs, load_inventory(inventory), f"policies {p} + inventory {inventory}")

    def policy_set(self, docs: list[dict] | None = None) -> PolicySet:
        return PolicySet.from_manifests(self.docs if docs is None else docs, source=self.source)


def _flatten(d: Any) -> list[dict]:
    if isinstance(d, list):
        return [x for i in d for x in _flatten(i)]
    if isinstance(d, dict):
        if str(d.get("kind", "")).endswith("List") and isinstance(d.get("items"), list):
            return _flatten(d["items"])
        return [d]
    return []


def _ref(doc: dict) -> str:
    meta = doc.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{doc.get('kind')}/{ns + '/' if ns and doc.get('kind') != 'CiliumClusterwideNetworkPolicy' else ''}{meta.get('name')}"


class ClusterPeers:
    """Hubble endpoint -> Peer whose `spec` the engine resolves against the cluster's inventory."""

    def __init__(self, inventory: Inventory):
        self.inventory = inventory
        self._cache: dict = {}

    def resolve(self, ep: dict) -> Peer:
        key = (ep.get("namespace"), ep.get("identity"), tuple(ep.get("labels") or ()), ep.get("pod_name"))
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._resolve(ep)
        return hit

    def _resolve(self, ep: dict) -> Peer:
        k8s, reserved, cidr = parse_labels(ep.get("labels"))
        ns = ep.get("namespace") or k8s.get("io.kubernetes.pod.namespace", "")
        ident = ep.get("identity") or 0
        if ns:
            pods = self.inventory.pods_in(ns) if ns in self.inventory.namespaces else []
            pod = next((p for p in pods if p.name == ep.get("pod_name")), None)
            if pod is None and k8s:
                fits = [p for p in pods if p.labels and all(k8s.get(k) == v for k, v in p.labels.items())]
                pod = max(fits, key=lambda p: len(p.labels), default=None)
            if pod is None and len(pods) == 1 and not k8s and not ep.get("pod_name"):
                pod = pods[0]
            if pod is None:
                return Peer("pod", f"{ns}/{ep.get('pod_name') or '?'}", namespace=ns, pod_labels=k8s)
            return Peer("pod", f"{ns}/{pod.name}", namespace=ns, pod=pod.name, spec=f"{ns}/{pod.name}",
                        declared=True, pod_labels=dict(pod.labels))
        reserved = {"world" if r.startswith("world") else r for r in reserved}
        name = next((e for e in ENTITY_PRIORITY if e in reserved), None)
        if name is None and ident in RESERVED_IDENTITIES:
            name = RESERVED_IDENTITIES[ident]
        if name is None and (cidr or ident >= LOCAL_IDENTITY_MIN):
            name = "world"
        if name in ENTITIES:
            return Peer("entity", name, entity=name, spec=f"entity:{name}")
        return Peer("unknown", "unknown")


def _port_rule(port: int, proto: str) -> list[dict]:
    return [{"ports": [{"port": str(port), "protocol": proto}]}]


def _peer_rule(direction: str, peer: Peer, endpoint_spec: str, inv: Inventory) -> dict:
    """The peer part of a rule selecting exactly this peer."""
    to = "to" if direction == "egress" else "from"
    if endpoint_spec.startswith("fqdn:") and direction == "egress":
        return {"toFQDNs": [{"matchName": endpoint_spec[5:]}]}
    if endpoint_spec.startswith("ip:"):
        addr = endpoint_spec[3:]
        return {f"{to}CIDR": [addr + ("/128" if ":" in addr else "/32")]}
    if peer.kind == "entity":
        return {f"{to}Entities": [peer.entity]}
    labels = {f"k8s:{k}" if ":" not in k else k: v for k, v in (peer.pod_labels or {}).items()}
    labels[NS_LABEL] = peer.namespace
    return {f"{to}Endpoints": [{"matchLabels": dict(sorted(labels.items()))}]}


_PATH = re.compile(r"(\w+)(?:\[(\d+)\])?")


def _walk(doc: dict, path: str) -> tuple[Any, str | int]:
    """(container, key) of `path` (e.g. `specs[1].egressDeny[0]`) inside doc."""
    node: Any = doc
    parts = path.split(".")
    for i, part in enumerate(parts):
        m = _PATH.fullmatch(part)
        if m is None:
            raise KeyError(path)
        name, idx = m.group(1), m.group(2)
        last = i == len(parts) - 1
        if idx is None:
            if last:
                return node, name
            node = node[name]
        else:
            if last:
                return node[name], int(idx)
            node = node[name][int(idx)]
    raise KeyError(path)


class PolicyTriage:
    """Classify drop groups against a ClusterModel; fixes are policy changes, verified by the engine."""

    def __init__(self, model: ClusterModel):
        self.model = model
        self.policies = model.policy_set()
        self.peers = ClusterPeers(model.inventory)
        self.refs = {_ref(d): i for i, d in enumerate(model.docs) if isinstance(d, dict)}

    def run(self, stream: IO[bytes] | Iterable[bytes]) -> TriageReport:
        stats, raw = scan_drops(stream)
        return self.report(stats, raw)

    def run_paths(self, paths, jobs: int = 1) -> TriageReport:
        """Like `run` over several inputs in turn (`-` is stdin); a big file on up to `jobs` cores."""
        stats, raw = ReadStats(), {}
        for path in paths:
            stats, part = scan_drops_path(path, stats, jobs=jobs)
            merge_raw(raw, part)
        return self.report(stats, raw)

    def report(self, stats: ReadStats, raw: dict[tuple, RawGroup]) -> TriageReport:
        findings = [self.classify(g) for g in merge_groups(raw, self.peers)]
        r = TriageReport(self.model.source, "", stats, findings)
        r.kind = "policies"
        return r

    # --- one group --------------------------------------------------------------------------------
    def _spec(self, peer: Peer, g: Group, dst: bool) -> str | None:
        if dst and peer.is_world:
            for n in g.names:
                if n.lower().rstrip(".") in self.model.inventory.fqdns:
                    return f"fqdn:{n.lower().rstrip('.')}"
            if g.ips:
                return f"ip:{g.ips[0]}"
        return peer.spec

    def _evaluate(self, ps: PolicySet, src: str, dst: str, g: Group) -> Verdict | None:
        try:
            inv = self.model.inventory
            return ps.evaluate(resolve_endpoint(src, inv), resolve_endpoint(dst, inv), g.port, g.protocol)
        except ReachInputError:
            return None

    def classify(self, g: Group) -> Finding:
        hubble = group_hubble(g)
        src, dst = self._spec(g.source, g, False), self._spec(g.destination, g, True)
        ns = g.source.namespace or g.destination.namespace

        def unknown(why: str) -> Finding:
            return Finding(g, "unknown", Fix(namespace=ns), False, f"{why} Narrow it down: {hubble}", hubble)

        if g.protocol not in PROTOCOLS:
            return unknown(f"{g.protocol or 'no L4'} traffic: the engine models TCP/UDP/SCTP ports only.")
        missing = [p.label for p, s in ((g.source, src), (g.destination, dst)) if s is None]
        if missing:
            return unknown(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in the inventory "
                           f"({self.model.source}): add the pod (namespace, name, labels) to evaluate this flow.")
        before = self._evaluate(self.policies, src, dst, g)
        if before is None:
            return unknown("The engine cannot evaluate this flow.")
        if g.deny:
            named = [n for n in g.denied_by if n in self.refs]
            if not named:
                names = ", ".join(g.denied_by) or "a deny policy Hubble did not name"
                fix = Fix(namespace=ns, needs_review=True, extra={"deny_policies": list(g.denied_by),
                                                                 "deny_in_model": False})
                return Finding(g, "deny-policy-not-in-model", fix, False,
                               f"Dropped by an explicit deny rule of {names} (Hubble: POLICY_DENY), which is not among "
                               f"the policies of {self.model.source}: add it to the policy folder to have triage "
                               f"propose and verify a change; no fix is verified against a model that lacks it "
                               f"(with the model as it is the engine says {before.verdict}). {hubble}",
                               hubble, before.verdict)
        if before.allowed:
            fix = Fix(namespace=ns)
            return Finding(g, "allowed-by-model", fix, False,
                           f"The policies of {self.model.source} allow this flow; the cluster dropped it, so it runs "
                           f"policies other than these (or other labels): compare with the live objects. {hubble}",
                           hubble, before.verdict, before)
        docs = copy.deepcopy(self.model.docs)
        changes: list[dict] = []
        verdict = before
        for _ in range(3):  # remove a deny rule, then the allow rules that default deny still needs
            step = self._next_change(verdict, g, src, dst, docs)
            if step is None:
                break
            changes.append(step)
            verdict = self._evaluate(PolicySet.from_manifests(docs, source=self.model.source), src, dst, g)
            if verdict is None or verdict.allowed:
                break
        sides = [n for n, s in (("egress", before.egress), ("ingress", before.ingress)) if not s.allowed]
        reasons = {getattr(before, n).reason for n in sides}
        cause = ("explicit-deny" if "deny-rule" in reasons else
                 "default-deny-both" if len(sides) == 2 else f"default-deny-{sides[0]}")
        verified = bool(changes) and verdict is not None and verdict.allowed
        why = "; ".join(f"{n}: {getattr(before, n).reason} ({getattr(before, n).policy or 'no policy'}"
                        f" {getattr(before, n).rule or ''})".replace(" )", ")") for n in sides)
        text = f"The engine denies this flow on the cluster's policies ({why})."
        if g.deny and g.denied_by:
            text += f" Hubble names the deny policy: {', '.join(g.denied_by)}."
        if verified:
            text += (" Verified: with the change" + ("s" if len(changes) > 1 else "")
                     + " applied (every other rule of every policy unchanged) the engine allows it.")
        elif not changes:
            text += " No policy to change was found (the deciding side names no policy)."
        else:
            text += " Not verified: with the changes the engine still denies it" + (
                f" ({verdict.egress.reason} / {verdict.ingress.reason})." if verdict is not None else ".")
        fix = Fix(namespace=ns, needs_review=True, yaml="\n".join(c["yaml"] for c in changes) or None,
                  extra={"policy_changes": [{k: v for k, v in c.items() if k != "yaml"} for c in changes],
                         **({"deny_policies": list(g.denied_by), "deny_in_model": True} if g.deny else {})})
        return Finding(g, cause, fix, verified, text + f" {hubble}", hubble, before.verdict, verdict)

    def _next_change(self, v: Verdict, g: Group, src: str, dst: str, docs: list[dict]) -> dict | None:
        for name, side, subject, peer, peer_spec in (("egress", v.egress, g.source, g.destination, dst),
                                                     ("ingress", v.ingress, g.destination, g.source, src)):
            if side.allowed or not side.policy or not side.rule:
                continue
            idx = self.refs.get(side.policy)
            if idx is None:
                continue
            doc = docs[idx]
            try:
                if side.reason == "deny-rule":
                    container, key = _walk(doc, side.rule)
                    rule = container[key]
                    del container[key]
                    if not container:
                        parent, pkey = _walk(doc, side.rule.rsplit("[", 1)[0])
                        del parent[pkey]
                    body = yaml.safe_dump([rule], sort_keys=False, default_flow_style=None, width=120)
                    return {"policy": side.policy, "action": "remove", "path": side.rule, "rule": rule,
                            "summary": f"remove {side.rule} (deny) from {side.policy}",
                            "yaml": f"# {side.policy}: remove {side.rule}\n{body}"}
                section_path = side.rule if side.rule.endswith(("egress", "ingress")) else \
                    side.rule.rsplit(".", 1)[0] + "." + name
                container, key = _walk(doc, section_path)
                rule = {**_peer_rule(name, peer, peer_spec, self.model.inventory),
                        f"{'to' if name == 'egress' else 'to'}Ports": _port_rule(g.port, g.protocol)}
                rules = container.get(key) if isinstance(container, dict) else None
                if not isinstance(rules, list):
                    rules = container[key] = []
                rules.append(rule)
                body = yaml.safe_dump([rule], sort_keys=False, default_flow_style=None, width=120)
                return {"policy": side.policy, "action": "add", "path": f"{section_path}[{len(rules) - 1}]",
                        "rule": rule, "summary": f"add {name} rule to {side.policy} ({section_path})",
                        "yaml": f"# {side.policy}: append to {section_path}\n{body}"}
            except (KeyError, IndexError, TypeError):
                continue
        return None


def triage_cluster(model: ClusterModel, paths, jobs: int = 1) -> TriageReport:
    return PolicyTriage(model).run_paths(paths, jobs)
