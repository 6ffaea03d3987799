"""A stack, end to end on the pure core: config file → model → manifests → reachability inventory.

The offline commands (render, preview, check, reach, matrix, triage, diff) start here; the Pulumi
program starts from `pulumi.Config` but goes through the same `build_config` and builders.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from netpol import labels as L
from netpol.builders import Manifest, build_manifests
from netpol.builders.apps import namespace_labels
from netpol.catalogue import WELL_KNOWN, WORKLOAD, pattern_example, workload_labels
from netpol.config import Loaded, load_config
from netpol.model import StackConfig


def find_root(start: Path | None = None) -> Path:
    """The project root: $NETPOL_ROOT, else the nearest folder upward holding Pulumi.yaml, else this checkout."""
    if os.environ.get("NETPOL_ROOT"):
        return Path(os.environ["NETPOL_ROOT"]).resolve()
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "Pulumi.yaml").exists():
            return d
    return Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=32)
def _loaded(stack: str, root: Path) -> Loaded:
    return load_config(stack, root)


def load(stack: str, root: Path | None = None) -> Loaded:
    return _loaded(stack, (root or find_root()).resolve())


def load_uncached(stack: str, root: Path | None = None) -> Loaded:
    """`load`, read afresh and not kept: for a command that reads its stack once and lets it go."""
    return load_config(stack, (root or find_root()).resolve())


def load_stack(stack: str, root: Path | None = None) -> StackConfig:
    return load(stack, root).config


def manifests_for(cfg: StackConfig) -> list[Manifest]:
    return build_manifests(cfg)


def stack_manifests(stack: str, root: Path | None = None) -> list[dict]:
    return [m.body for m in build_manifests(load_stack(stack, root))]


def inventory_for(cfg: StackConfig):
    """What endpoints a stack has: one workload pod per app namespace (labels `app: <ns>`), plus a pod
    for every pod selector a talksTo or rule names; for platform namespaces the pods they declare
    (the well-known ones — kube-dns, prometheus, the gateways, ztunnel — added when not declared)."""
    from netpol.reach.inventory import Inventory, Pod

    namespaces: dict[str, dict[str, str]] = {}
    pods: dict[tuple[str, str], Pod] = {}
    seen: set[tuple[str, frozenset]] = set()

    def add(ns: str, name: str, labels: dict[str, str]) -> None:
        key = (ns, frozenset(labels.items()))
        if key in seen:
            return
        seen.add(key)
        base, i = name, 2
        while (ns, name) in pods:
            name, i = f"{base}-{i}", i + 1
        pods[(ns, name)] = Pod(namespace=ns, name=name, labels=dict(labels))

    for ns, p in cfg.platformNamespaces.items():
        namespaces[ns] = {L.MESH_LABEL: L.MESH_VALUE} if p.mesh else {}
        for d in p.pods:
            add(ns, d.name, dict(d.labels))
        if not p.pods:
            add(ns, WORKLOAD, {})
    for w in WELL_KNOWN:
        if w.namespace in namespaces and not any(w.matches(p.namespace, p.labels) for p in pods.values()):
            add(w.namespace, w.name, w.labels)
    labels_of: dict[int, dict[str, str]] = {}  # by declaration: equal bodies share one AppNamespace
    for ns, a in cfg.namespaces.items():
        labels = labels_of.get(id(a))
        if labels is None:
            labels = labels_of[id(a)] = namespace_labels(a)
        namespaces[ns] = dict(labels)
        add(ns, WORKLOAD, workload_labels(ns))
    everything = cfg.all_namespaces()
    for ns, rules in everything.items():
        if not (rules.talksTo or rules.egress or rules.ingress):
            continue
        for t in rules.talksTo:
            if t.pods and t.namespace in namespaces:
                add(t.namespace, t.pods.get("app") or "-".join(t.pods.values()), dict(t.pods))
            if t.endpointSelector:
                add(ns, t.endpointSelector.get("app") or "-".join(t.endpointSelector.values()), dict(t.endpointSelector))
        for r in (*rules.egress, *rules.ingress):
            if r.endpointSelector:
                add(ns, r.endpointSelector.get("app") or "-".join(r.endpointSelector.values()), dict(r.endpointSelector))
    fqdns: dict[str, list[str]] = {}
    n = 0
    for rules in everything.values():
        for r in rules.egress:
            name = r.fqdn or (pattern_example(r.fqdnPattern) if r.fqdnPattern else None)
            if name and name not in fqdns:
                n += 1
                fqdns[name] = [f"203.0.113.{n % 250 + 1}"]  # RFC 5737 documentation range
    return Inventory(namespaces=namespaces, pods=list(pods.values()), fqdns=fqdns)


def stack_inputs(stack: str, root: Path | None = None):
    """(manifest dicts, Inventory) of a stack: what reachability evaluates."""
    cfg = load_stack(stack, root)
    return [m.body for m in build_manifests(cfg)], inventory_for(cfg)
