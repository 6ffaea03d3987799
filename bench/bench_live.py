"""Benchmark: `netpol reach --kubeconfig` reading a 1,000-namespace cluster, beside kubectl, in one run.

    .venv/bin/python bench/bench_live.py [--namespaces 1000] [--runs 5] [--cluster-dir D]

Builds the cluster on the local control plane (tools/cluster: etcd + kube-apiserver on loopback, the
Cilium CRDs; started in a temporary folder and stopped at the end, or an existing one with
--cluster-dir): N namespaces (labels: team, profile), one pod per namespace (labels app, tier), and a
few dozen policies (24 CiliumNetworkPolicy, 8 CiliumClusterwideNetworkPolicy, 8 NetworkPolicy).

Timed, medians over `--runs` rounds (each round runs every contender once, interleaved):
* read: `netpol.live.load_live(kubeconfig)` in process: the five paged list calls, the PolicySet
  (every policy validated and compiled) and the Inventory: what `netpol reach` waits for (target < 2 s);
* CLI: `netpol reach --kubeconfig K --from ns-0001/app-0001 --to ns-0002/app-0002 --port 8080`, the whole
  process (interpreter start and imports included);
* kubectl: `kubectl get ns,pods,cnp,ccnp,netpol -A -o json > /dev/null`, the same objects (kubectl
  reads full objects; netpol asks for pods and namespaces as metadata only).
Exit 0 when the read meets the target, 1 otherwise.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netpol.live import connect, load_live  # noqa: E402

NETPOL = ROOT / ".venv" / "bin" / "netpol"
CLUSTER = ROOT / "tools" / "cluster"
TARGET_S = 2.0


def kubectl_bin() -> str:
    local = ROOT / ".tools" / "bin" / "kubectl"
    return str(local) if local.exists() else "kubectl"


def ns_name(i: int) -> str:
    return f"ns-{i:04d}"


def objects(n: int) -> tuple[list[tuple[str, dict]], list[tuple[str, dict]]]:
    """(path, body) to POST: namespaces first, then everything that lives in them."""
    first = [("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": ns_name(i), "labels": {"team": f"t{i % 10}", "network-policy.homelab/profile":
                                       ("internal", "standard", "isolated")[i % 3]}}}) for i in range(n)]
    second: list[tuple[str, dict]] = []
    for i in range(n):
        ns = ns_name(i)
        second.append((f"/api/v1/namespaces/{ns}/pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"app-{i:04d}", "namespace": ns, "labels": {"app": f"app-{i:04d}", "tier": ("web", "api")[i % 2]}},
            "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}}))
    for j in range(24):
        ns = ns_name((j * 37) % n)
        second.append((f"/apis/cilium.io/v2/namespaces/{ns}/ciliumnetworkpolicies", {
            "apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": f"cnp-{j}", "namespace": ns},
            "spec": {"endpointSelector": {"matchLabels": {"tier": "api"}},
                     "ingress": [{"fromEndpoints": [{"matchLabels": {
                         "k8s:io.cilium.k8s.namespace.labels.team": f"t{j % 10}"}}],
                         "toPorts": [{"ports": [{"port": str(8000 + j), "protocol": "TCP"}]}]}]}}))
    for j in range(8):
        second.append(("/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies", {
            "apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": f"ccnp-{j}"},
            "spec": {"endpointSelector": {"matchLabels": {
                "k8s:io.cilium.k8s.namespace.labels.network-policy.homelab/profile": ("internal", "standard")[j % 2]}},
                "egress": [{"toEntities": ["world"], "toPorts": [{"ports": [{"port": str(443 + j), "protocol": "TCP"}]}]}]}}))
    for j in range(8):
        ns = ns_name((j * 101) % n)
        second.append((f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies", {
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": f"np-{j}", "namespace": ns},
            "spec": {"podSelector": {"matchLabels": {"tier": "api"}}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": f"t{j}"}}}],
                                  "ports": [{"port": 8080, "protocol": "TCP"}]}]}}))
    return first, second


def populate(kubeconfig: Path, n: int) -> float:
    """POST every object (8 threads, the kubernetes client's ApiClient); existing ones are kept."""
    target = connect(kubeconfig)
    api = target.api

    def post(item: tuple[str, dict]) -> None:
        path, body = item
        params = api.param_serialize("POST", path, body=body, header_params={
            "Content-Type": "application/json", "Accept": "application/json"}, auth_settings=["BearerToken"])
        r = api.call_api(*params)
        r.read()
        if r.status not in (200, 201, 409):
            raise SystemExit(f"POST {path} {body['metadata']['name']}: {r.status} {r.data[:300]!r}")

    t0 = time.perf_counter()
    first, second = objects(n)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(post, first))
        list(pool.map(post, second))
    return time.perf_counter() - t0


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--namespaces", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cluster-dir", type=Path, help="an up control plane (tools/cluster up --dir D) to use")
    a = ap.parse_args()

    tmp = None
    if a.cluster_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-live-")
        cdir = Path(tmp.name)
        r = subprocess.run([str(CLUSTER), "up", "--dir", str(cdir)], capture_output=True, text=True)
        if r.returncode and "CRDs not established" in r.stderr:
            # tools/cluster's `kubectl wait` can run before the CRDs have any status condition; once more.
            subprocess.run([str(CLUSTER), "down", "--dir", str(cdir)], capture_output=True, text=True)
            r = subprocess.run([str(CLUSTER), "up", "--dir", str(cdir)], capture_output=True, text=True)
        if r.returncode:
            subprocess.run([str(CLUSTER), "down", "--dir", str(cdir)], capture_output=True, text=True)
            print(f"tools/cluster up failed:\n{r.stdout}{r.stderr}", file=sys.stderr)
            return 2
    else:
        cdir = a.cluster_dir
    kc = cdir / "kubeconfig"
    try:
        built = populate(kc, a.namespaces)
        ps, inv = load_live(kc)
        print(f"cluster: {len(inv.namespaces)} namespaces, {len(inv.pods)} pods, {len(ps.policies)} policies "
              f"(built in {built:.1f} s); kubectl {kubectl_bin()}")
        src, dst = f"{ns_name(1)}/app-0001", f"{ns_name(2)}/app-0002"
        cli = [str(NETPOL), "reach", "--kubeconfig", str(kc), "--from", src, "--to", dst, "--port", "8080"]
        kubectl = [kubectl_bin(), "--kubeconfig", str(kc), "get", "ns,pods,cnp,ccnp,netpol", "-A", "-o", "json"]
        r = subprocess.run(cli, capture_output=True, text=True)
        if r.returncode not in (0, 1):
            print(f"netpol reach failed ({r.returncode}): {r.stderr}", file=sys.stderr)
            return 2
        times: dict[str, list[float]] = {"read": [], "cli": [], "kubectl": []}
        for _ in range(a.runs):
            times["read"].append(timed(lambda: load_live(kc)))
            times["cli"].append(timed(lambda: subprocess.run(cli, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
            times["kubectl"].append(timed(lambda: subprocess.run(kubectl, stdout=subprocess.DEVNULL, check=True)))
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"median of {a.runs}:")
        print(f"  netpol read (load_live, in process)           {med['read']:.3f} s   target < {TARGET_S:.0f} s: "
              f"{'met' if med['read'] < TARGET_S else 'NOT met'}")
        print(f"  netpol reach --kubeconfig (whole CLI process)  {med['cli']:.3f} s   "
              f"{'met' if med['cli'] < TARGET_S else 'NOT met'} for the whole process")
        print(f"  kubectl get ns,pods,cnp,ccnp,netpol -A -o json {med['kubectl']:.3f} s")
        print(f"  runs: " + "; ".join(f"{k} " + " ".join(f"{x:.2f}" for x in v) for k, v in times.items()))
        return 0 if med["read"] < TARGET_S else 1
    finally:
        if tmp is not None:
            subprocess.run([str(CLUSTER), "down", "--dir", str(cdir)], capture_output=True, text=True)
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
