"""Benchmark the reach engine on a synthetic 1,000-namespace cluster.

    .venv/bin/python bench/bench_reach.py [--namespaces 1000] [--runs 5]

Builds, in memory, an inventory of N app namespaces (each labelled with one of the four profiles,
a third of them with the postgres access label; two pods each) plus the platform namespaces, and a
policy set shaped like the architecture's: DNS / health / Prometheus / kube-api baselines, one CCNP
per profile selecting by namespace label, the postgres access CCNP, a database CNP, and one CNP per
app namespace. It evaluates 12 flows per namespace (per web replica with --replicas) and prints the flow count, the median wall time
over the runs (compile + evaluate, cold caches each run), flows/s, and the same matrix evaluated
naively (PolicySet(cache=False): every flow from scratch, no per-identity target cache, no selector
memo, no verdict cache) with the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netpol.apis import CCNP, CILIUM_API_VERSION, CNP  # noqa: E402
from netpol.labels import (  # noqa: E402
    ACCESS_LABEL_VALUE, GATEWAY_NAME_LABEL, POD_NAMESPACE_LABEL, PROFILE_LABEL, access_label, ns_label,
)
from netpol.profiles import PROFILE_NAMES  # noqa: E402
from netpol.reach.endpoints import entity_endpoint, ip_endpoint, pod_endpoint  # noqa: E402
from netpol.reach.engine import PolicySet  # noqa: E402
from netpol.reach.inventory import Inventory, Pod  # noqa: E402
from netpol.wellknown import (  # noqa: E402
    DNS_PORT, GATEWAY_NAMESPACE, KUBE_DNS_LABELS, KUBE_DNS_NAMESPACE, PROMETHEUS_LABELS, PROMETHEUS_NAMESPACE,
)

APP = "app.kubernetes.io/name"
POSTGRES = access_label("postgres")


def _ccnp(name, spec):
    return {"apiVersion": CILIUM_API_VERSION, "kind": CCNP, "metadata": {"name": name}, "spec": spec}


def _cnp(name, ns, spec):
    return {"apiVersion": CILIUM_API_VERSION, "kind": CNP, "metadata": {"name": name, "namespace": ns}, "spec": spec}


def _ports(*ports, proto="TCP"):
    return [{"ports": [{"port": str(p), "protocol": proto} for p in ports]}]


def build(n: int, replicas: int = 1) -> tuple[list[dict], Inventory, list[tuple]]:
    namespaces: dict[str, dict[str, str]] = {
        KUBE_DNS_NAMESPACE: {}, PROMETHEUS_NAMESPACE: {}, GATEWAY_NAMESPACE: {}, "database": {}}
    pods = [Pod(KUBE_DNS_NAMESPACE, "coredns", dict(KUBE_DNS_LABELS)),
            Pod(PROMETHEUS_NAMESPACE, "prometheus", dict(PROMETHEUS_LABELS)),
            Pod(GATEWAY_NAMESPACE, "internal", {GATEWAY_NAME_LABEL: "internal"}),
            Pod(GATEWAY_NAMESPACE, "external", {GATEWAY_NAME_LABEL: "external"}),
            Pod("database", "postgres", {APP: "postgres"})]
    apps = [f"app-{i:04d}" for i in range(n)]
    for i, ns in enumerate(apps):
        labels = {PROFILE_LABEL: PROFILE_NAMES[i % len(PROFILE_NAMES)]}
        if i % 3 == 0:
            labels[POSTGRES] = ACCESS_LABEL_VALUE
        namespaces[ns] = labels
        pods += [Pod(ns, f"web-{r}", {APP: "web"}) for r in range(replicas)] + [Pod(ns, "worker", {APP: "worker"})]
    inv = Inventory(namespaces=namespaces, pods=pods, fqdns={"api.example.com": ["203.0.113.10"]})

    dns_peer = {"matchLabels": {POD_NAMESPACE_LABEL: KUBE_DNS_NAMESPACE, **KUBE_DNS_LABELS}}
    prom_peer = {"matchLabels": {POD_NAMESPACE_LABEL: PROMETHEUS_NAMESPACE, **PROMETHEUS_LABELS}}

    def gw(name):
        return {"matchLabels": {POD_NAMESPACE_LABEL: GATEWAY_NAMESPACE, GATEWAY_NAME_LABEL: name}}

    docs = [
        _ccnp("baseline-dns-egress", {"endpointSelector": {}, "egress": [{
            "toEndpoints": [dns_peer],
            "toPorts": [{"ports": [{"port": str(DNS_PORT), "protocol": "UDP"},
                                   {"port": str(DNS_PORT), "protocol": "TCP"}],
                         "rules": {"dns": [{"matchPattern": "*"}]}}]}]}),
        _ccnp("baseline-health-probes", {
            "endpointSelector": {"matchExpressions": [{"key": "reserved.none", "operator": "DoesNotExist"}]},
            "ingress": [{"fromEntities": ["health", "host", "remote-node"]}, {"fromCIDR": ["169.254.0.0/16"]}]}),
        _ccnp("baseline-prometheus-scrape", {"endpointSelector": {}, "ingress": [
            {"fromEndpoints": [prom_peer], "toPorts": _ports(8080, 9090, 9100)}]}),
        _ccnp("baseline-kube-api", {
            "endpointSelector": {"matchExpressions": [
                {"key": ns_label(access_label("kube-api")), "operator": "In", "values": ["true"]}]},
            "egress": [{"toEntities": ["kube-apiserver"], "toPorts": _ports(6443, 443)}]}),
        _ccnp("access-postgres-egress", {
            "endpointSelector": {"matchLabels": {ns_label(POSTGRES): ACCESS_LABEL_VALUE}},
            "egress": [{"toEndpoints": [{"matchLabels": {POD_NAMESPACE_LABEL: "database"}}],
                        "toPorts": _ports(5432)}]}),
        _cnp("database-default", "database", {"endpointSelector": {}, "ingress": [
            {"fromEndpoints": [{"matchLabels": {ns_label(POSTGRES): ACCESS_LABEL_VALUE}}], "toPorts": _ports(5432)}]}),
    ]
    for profile in PROFILE_NAMES:
        spec: dict = {"endpointSelector": {"matchLabels": {ns_label(PROFILE_LABEL): profile}}}
        gateways = {"isolated": [], "internal": ["internal"], "internal-egress": ["internal"],
                    "standard": ["internal", "external"]}[profile]
        spec["ingress"] = [{"fromEndpoints": [gw(g)], "toPorts": _ports(8080)} for g in gateways] or [
            {"fromEndpoints": [prom_peer]}]
        if profile in ("internal-egress", "standard"):
            spec["egress"] = [{"toEntities": ["world"], "toPorts": _ports(443)}]
        docs.append(_ccnp(f"profile-{profile}", spec))
    for ns in apps:
        docs.append(_cnp(f"{ns}-default", ns, {
            "endpointSelector": {},
            "ingress": [{"fromEndpoints": [{"matchLabels": {APP: "web"}}], "toPorts": _ports(8080)}],
            "egress": [{"toEndpoints": [{"matchLabels": {APP: "worker"}}], "toPorts": _ports(8080)}]}))

    ep = {(p.namespace, p.name): pod_endpoint(p, inv) for p in inv.pods}
    world, host, apiserver = ip_endpoint("203.0.113.10", inv), entity_endpoint("host"), entity_endpoint("kube-apiserver")
    dns, prom, pg = ep[(KUBE_DNS_NAMESPACE, "coredns")], ep[(PROMETHEUS_NAMESPACE, "prometheus")], ep[("database", "postgres")]
    gi, ge = ep[(GATEWAY_NAMESPACE, "internal")], ep[(GATEWAY_NAMESPACE, "external")]
    flows = []
    for i, ns in enumerate(apps):
        worker = ep[(ns, "worker")]
        other = ep[(apps[(i + 1) % n], "web-0")]
        for r in range(replicas):  # every replica is evaluated: the naive way, pod by pod
            web = ep[(ns, f"web-{r}")]
            flows += [(web, dns, 53, "UDP"), (web, dns, 53, "TCP"), (prom, web, 9090, "TCP"),
                      (gi, web, 8080, "TCP"), (ge, web, 8080, "TCP"), (web, world, 443, "TCP"),
                      (web, world, 80, "TCP"), (web, pg, 5432, "TCP"), (web, worker, 8080, "TCP"),
                      (web, other, 8080, "TCP"), (host, web, 8080, "TCP"), (worker, apiserver, 6443, "TCP")]
    return docs, inv, flows


def run(docs, flows, cache: bool) -> tuple[float, int]:
    t0 = time.perf_counter()
    ps = PolicySet.from_manifests(docs, cache=cache)
    allowed = sum(ps.evaluate(s, d, port, proto).allowed for s, d, port, proto in flows)
    return time.perf_counter() - t0, allowed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--namespaces", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--replicas", type=int, default=1,
                    help="web replicas per namespace (same identity); the 12 flows are evaluated for each")
    args = ap.parse_args(argv)
    docs, inv, flows = build(args.namespaces, args.replicas)
    fast, slow = [], []
    allowed_fast = allowed_slow = 0
    for _ in range(args.runs):
        t, allowed_fast = run(docs, flows, cache=True)
        fast.append(t)
        t, allowed_slow = run(docs, flows, cache=False)
        slow.append(t)
    assert allowed_fast == allowed_slow, "cached and naive evaluation disagree"
    med, med_naive = statistics.median(fast), statistics.median(slow)
    print(f"namespaces:        {args.namespaces} (+4 platform), pods: {len(inv.pods)}, identities: "
          f"{len({p.namespace + repr(sorted(p.labels.items())) for p in inv.pods})}, policies: {len(docs)}")
    print(f"flows:             {len(flows)} ({allowed_fast} allowed)")
    print(f"cached (identity): median {med:.3f} s over {args.runs} runs, {len(flows) / med:,.0f} flows/s")
    print(f"naive (no cache):  median {med_naive:.3f} s over {args.runs} runs, {len(flows) / med_naive:,.0f} flows/s")
    print(f"ratio naive/cached: {med_naive / med:.2f}x")
    print(f"target <= 2 s:     {'met' if med <= 2.0 else 'MISSED'}")
    return 0 if med <= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
