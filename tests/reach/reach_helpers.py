"""Shared helpers of the reach tests: small policy sets from YAML text, a small inventory."""

from __future__ import annotations

from pathlib import Path

import yaml

from netpol.reach import PolicySet, Verdict, parse_inventory, resolve_endpoint

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = REPO / ".." / "shared"
CONNECTIVITY = SHARED / "connectivity"
HOMELAB = SHARED / "homelab-network-policy"
FIXTURES = HERE / "fixtures"

BASE_INVENTORY = {
    "namespaces": {
        "tenant-a": {"labels": {"team": "a", "profile": "web"}},
        "tenant-b": {"labels": {"team": "b"}},
        "kube-system": {},
        "monitoring": {},
    },
    "pods": [
        {"namespace": "tenant-a", "name": "frontend", "labels": {"app": "frontend"}},
        {"namespace": "tenant-a", "name": "backend", "labels": {"app": "backend", "tier": "db"}},
        {"namespace": "tenant-b", "name": "api", "labels": {"app": "api"}},
        {"namespace": "kube-system", "name": "coredns", "labels": {"k8s-app": "kube-dns"}},
        {"namespace": "monitoring", "name": "prometheus", "labels": {"app.kubernetes.io/name": "prometheus"}},
    ],
    "fqdns": {
        "api.example.com": ["203.0.113.10"],
        "sub.api.example.com": ["203.0.113.11"],
        "deep.sub.api.example.com": ["203.0.113.12"],
        "other.org": ["198.51.100.5"],
    },
}

INV = parse_inventory(BASE_INVENTORY)


def policies(*texts: str, **kwargs) -> PolicySet:
    docs = [d for t in texts for d in yaml.safe_load_all(t)]
    return PolicySet.from_manifests(docs, **kwargs)


def flow(ps: PolicySet, src: str, dst: str, port: int, proto: str = "TCP", inv=INV) -> Verdict:
    return ps.evaluate(resolve_endpoint(src, inv), resolve_endpoint(dst, inv), port, proto)


def cnp(name: str, ns: str, spec: str) -> str:
    return f"apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\n" + spec


def ccnp(name: str, spec: str) -> str:
    return f"apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {{name: {name}}}\n" + spec
