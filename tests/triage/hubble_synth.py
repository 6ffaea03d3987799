"""Realistic Hubble flow records, for the triage tests, their fixtures and bench/bench_triage.py (not product code).

Shapes follow cilium/cilium api/v1/flow/flow.proto as `hubble observe -o json` / `-o jsonpb` print
them (proto field names, enum names): `time`, `uuid`, `verdict` (FORWARDED | DROPPED),
`drop_reason` (number, deprecated) and `drop_reason_desc` (POLICY_DENIED = 133), `ethernet`, `IP`
(`source`, `destination`, `ipVersion`), `l4.TCP|UDP` (`source_port`, `destination_port`, `flags`),
`source` / `destination` endpoints (`ID`, `identity`, `namespace`, `labels` as `k8s:key=value`,
`pod_name`, `workloads`), `Type` (L3_L4), `node_name`, `event_type` (1 = drop, 4 = trace,
5 = policy verdict), `traffic_direction` (EGRESS | INGRESS), `is_reply`, `destination_names`,
`Summary`. Reserved identities: host 1, world 2, health 4, remote-node 6, kube-apiserver 7, each
with its `reserved:<name>` label. Pods carry their namespace's labels as
`k8s:io.cilium.k8s.namespace.labels.<key>=<value>` and `k8s:io.kubernetes.pod.namespace=<ns>`.
"""

from __future__ import annotations

import hashlib
import uuid as _uuid
from typing import Any, Iterable, Mapping

import orjson

from netpol import labels as L
from netpol import wellknown as W
from netpol.apis import RESERVED_IDENTITIES

# name -> number (Cilium's table, netpol.apis; tests/triage/test_reserved_identities.py holds it
# against identities real Hubble flows carry).
RESERVED = {name: n for n, name in RESERVED_IDENTITIES.items()}
CLUSTER = "homelab"
NODES = ("homelab/worker-1", "homelab/worker-2", "homelab/worker-3")


def _h(*parts: Any) -> int:
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=4).digest(), "big")


def identity_of(labels: Iterable[str]) -> int:
    return 256 + _h(tuple(sorted(labels))) % 65000


def pod_ip(ns: str, name: str) -> str:
    h = _h(ns, name)
    return f"10.244.{h % 3}.{2 + (h >> 8) % 250}"


def pod(ns: str, name: str, labels: Mapping[str, str], ns_labels: Mapping[str, str] | None = None,
        workload: tuple[str, str] | None = None) -> dict:
    """A pod endpoint as Hubble prints it."""
    lab = [f"k8s:{k}={v}" for k, v in labels.items()]
    nsl = {L.NAMESPACE_NAME_LABEL: ns, **(ns_labels or {})}
    lab += [f"k8s:{L.NS_LABEL_PREFIX}{k}={v}" for k, v in nsl.items()]
    lab += [f"k8s:{L.CLUSTER_LABEL}={CLUSTER}",
            f"k8s:io.cilium.k8s.policy.serviceaccount={labels.get('app.kubernetes.io/name') or labels.get('app') or 'default'}",
            f"k8s:{L.POD_NAMESPACE_LABEL}={ns}"]
    lab.sort()
    ep = {"ID": 100 + _h(ns, name) % 3900, "identity": identity_of(lab), "namespace": ns, "labels": lab,
          "pod_name": name}
    if workload:
        ep["workloads"] = [{"name": workload[0], "kind": workload[1]}]
    return ep


def entity(name: str) -> dict:
    """A reserved-identity endpoint (world, host, health, remote-node, kube-apiserver, ...)."""
    return {"identity": RESERVED[name], "labels": [f"reserved:{name}"]}


def flow(src: dict, dst: dict, port: int, proto: str = "TCP", *, verdict: str = "DROPPED",
         direction: str = "EGRESS", reason: str = "POLICY_DENIED", names: Iterable[str] = (),
         src_ip: str | None = None, dst_ip: str | None = None, seq: int = 0, reply: bool = False,
         node: str | None = None) -> dict:
    """One flow record (the bare Flow object)."""
    sport = 32768 + _h(seq, port) % 28000
    if reply:
        sport, port = port, sport
    s_ip = src_ip or (pod_ip(src["namespace"], src["pod_name"]) if src.get("namespace") else "192.0.2.10")
    d_ip = dst_ip or (pod_ip(dst["namespace"], dst["pod_name"]) if dst.get("namespace") else "140.82.112.4")
    t = f"2025-11-24T21:{(seq // 60) % 60:02d}:{seq % 60:02d}.{(seq * 7919) % 1000000000:09d}Z"
    f: dict[str, Any] = {
        "time": t,
        "uuid": str(_uuid.UUID(int=_h(seq, "u") << 96 | _h(seq, port, "v") << 64 | _h(seq, sport) << 32 | seq)),
        "verdict": verdict,
    }
    if verdict == "DROPPED":
        f["drop_reason"] = 133 if reason == "POLICY_DENIED" else 181 if reason == "POLICY_DENY" else 151
    f["ethernet"] = {"source": "6e:2f:91:0a:1c:3d", "destination": "b2:5e:7c:41:9d:02"}
    f["IP"] = {"source": s_ip, "destination": d_ip, "ipVersion": "IPv4"}
    if proto == "TCP":
        flags = {"ACK": True} if reply else {"SYN": True}
        f["l4"] = {"TCP": {"source_port": sport, "destination_port": port, "flags": flags}}
    elif proto == "UDP":
        f["l4"] = {"UDP": {"source_port": sport, "destination_port": port}}
    elif proto == "ICMPv4":
        f["l4"] = {"ICMPv4": {"type": 8}}
    f["source"] = src
    f["destination"] = dst
    f["Type"] = "L3_L4"
    f["node_name"] = node or NODES[_h(seq) % len(NODES)]
    names = list(names)
    if names:
        f["destination_names"] = names
    f["event_type"] = {"type": 1, "sub_type": 133} if verdict == "DROPPED" else {"type": 4}
    f["traffic_direction"] = direction
    if verdict == "DROPPED":
        f["drop_reason_desc"] = reason
    else:
        f["trace_observation_point"] = "TO_ENDPOINT" if direction == "INGRESS" else "TO_STACK"
        f["is_reply"] = reply
    f["Summary"] = ("TCP Flags: ACK" if reply else "TCP Flags: SYN") if proto == "TCP" else proto
    return f


def envelope(f: dict) -> dict:
    """The GetFlowsResponse shape of `hubble observe -o jsonpb`."""
    return {"flow": f, "node_name": f["node_name"], "time": f["time"]}


def line(obj: Any) -> bytes:
    return orjson.dumps(obj) + b"\n"


# --- endpoints of a stack, labelled as the program labels them -----------------------------------
def app_pod(cfg, ns: str, name: str | None = None, labels: Mapping[str, str] | None = None) -> dict:
    """A pod of app namespace `ns` (a Deployment replica) with the namespace labels the program sets."""
    from netpol.builders.apps import namespace_labels

    app = cfg.namespaces.get(ns)
    nsl = namespace_labels(app) if app is not None else {}
    labels = dict(labels or {"app.kubernetes.io/name": ns, "pod-template-hash": "7c9d8b6f5"})
    base = labels.get("app.kubernetes.io/name") or labels.get("app") or ns
    name = name or f"{base}-7c9d8b6f5-{_suffix(ns, base)}"
    return pod(ns, name, labels, nsl, workload=(base, "Deployment"))


def _suffix(*parts: Any) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    h = _h(*parts)
    return "".join(alphabet[(h >> (5 * i)) % len(alphabet)] for i in range(5))


def platform_pod(cfg, ns: str, labels: Mapping[str, str], name: str) -> dict:
    p = cfg.platformNamespaces.get(ns)
    nsl = {L.MESH_LABEL: L.MESH_VALUE} if p is not None and p.mesh else {}
    return pod(ns, name, dict(labels), nsl)


def kube_dns(cfg) -> dict:
    return platform_pod(cfg, W.KUBE_DNS_NAMESPACE, {**W.KUBE_DNS_LABELS, "pod-template-hash": "5d78c9869d"},
                        "coredns-5d78c9869d-4vq8x")


def gateway(cfg, name: str) -> dict:
    return platform_pod(cfg, W.GATEWAY_NAMESPACE, {L.GATEWAY_NAME_LABEL: name, "istio.io/gateway-name": name},
                        f"{name}-istio-6b7d9c8f4-{_suffix(name)}")


def prometheus(cfg) -> dict:
    return platform_pod(cfg, W.PROMETHEUS_NAMESPACE, {**W.PROMETHEUS_LABELS, "operator.prometheus.io/name": "k8s"},
                        "prometheus-k8s-0")


def postgres(cfg) -> dict:
    return platform_pod(cfg, "database", {"app": "postgres", "cnpg.io/cluster": "main", "role": "primary"}, "main-1")


def dragonfly(cfg) -> dict:
    return platform_pod(cfg, "cache", {"app": "dragonfly"}, "dragonfly-0")


def garage(cfg) -> dict:
    return platform_pod(cfg, "garage", {"app": "garage"}, "garage-0")
