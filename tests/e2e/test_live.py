"""netpol reads a live cluster (issue 12): `--kubeconfig PATH` / `--context NAME` / `--namespace NS` on
a real kube-apiserver (tools/cluster), read with the kubernetes Python client (netpol/live.py).

* the verdicts read from the cluster equal those of `--policies DIR --inventory FILE` on the same
  objects (CNP, CCNP, NetworkPolicy; pods with and without labels);
* a policy added with kubectl changes a verdict;
* `--namespace` limits what is read;
* an unreachable cluster, a bad kubeconfig or context, a forbidden read (a user without RBAC rights)
  exit 2 with one clear line and no traceback;
* a cluster without Cilium's CRDs: a warning, and its Kubernetes NetworkPolicies still decide.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from e2e import BIN, ROOT, VENV

NETPOL = VENV / "bin" / "netpol"
NAMESPACES = {"live-a": {"team": "a"}, "live-b": {"team": "b", "tier": "backend"}, "live-c": {}}
PODS = [("live-a", "web", {"app": "web"}), ("live-a", "bare", {}), ("live-b", "api", {"app": "api"}),
        ("live-b", "db", {"app": "db"}), ("live-c", "job", {})]

POLICIES = [
    {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
     "metadata": {"name": "api-from-team-a", "namespace": "live-b"},
     "spec": {"endpointSelector": {"matchLabels": {"app": "api"}},
              "ingress": [{"fromEndpoints": [{"matchLabels": {"k8s:io.cilium.k8s.namespace.labels.team": "a"}}],
                           "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
     "metadata": {"name": "db-from-api", "namespace": "live-b"},
     "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
              "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "api"}}}],
                           "ports": [{"port": 5432, "protocol": "TCP"}]}]}},
    {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
     "metadata": {"name": "live-c-world-https-only"},
     "spec": {"endpointSelector": {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "live-c"}},
              "egress": [{"toEntities": ["world"], "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]}]}},
]
OUR_CCNPS = {p["metadata"]["name"] for p in POLICIES if p["kind"] == "CiliumClusterwideNetworkPolicy"}


def objects() -> list[dict]:
    out: list[dict] = []
    for ns, labels in NAMESPACES.items():
        out.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
    for ns, name, labels in PODS:
        out.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
                    "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}})
    return out


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([str(BIN / "kubectl"), "--kubeconfig", str(kubeconfig), *args], input=stdin,
                       capture_output=True, text=True, timeout=120)
    if check and p.returncode:
        raise AssertionError(f"kubectl {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def apply(kubeconfig: Path, docs: list[dict]) -> None:
    kubectl(kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump_all(docs, sort_keys=False))


def netpol(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(NETPOL), *args], capture_output=True, text=True, timeout=300, cwd=ROOT)


def assert_one_line_error(r: subprocess.CompletedProcess, *needles: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


def queries_file(tmp_path: Path) -> Path:
    pods = [f"{ns}/{name}" for ns, name, _ in PODS]
    lines = [f"{s} {d} {port}" for s in pods for d in pods if s != d for port in ("8080/TCP", "5432/TCP", "80/TCP")]
    lines += [f"{s} entity:world {port}" for s in pods for port in ("443/TCP", "80/TCP")]
    f = tmp_path / "queries.txt"
    f.write_text("\n".join(lines) + "\n")
    return f


@pytest.fixture(scope="module")
def cluster(control_plane) -> Path:
    """The session's control plane with this module's namespaces, pods and policies."""
    kc = Path(control_plane) / "kubeconfig"
    apply(kc, objects())
    apply(kc, POLICIES)
    return kc


def test_verdicts_from_the_cluster_equal_those_from_files(cluster, tmp_path):
    # The same objects as files: ours, plus any cluster-wide policy another test left in the cluster.
    pdir = tmp_path / "policies"
    pdir.mkdir()
    (pdir / "ours.yaml").write_text(yaml.safe_dump_all(POLICIES, sort_keys=False))
    foreign = json.loads(kubectl(cluster, "get", "ciliumclusterwidenetworkpolicies", "-o", "json").stdout)["items"]
    (pdir / "foreign.yaml").write_text(yaml.safe_dump_all(
        [d for d in foreign if d["metadata"]["name"] not in OUR_CCNPS] or [None]))
    inv = tmp_path / "inventory.yaml"
    inv.write_text(yaml.safe_dump({
        "namespaces": {ns: {"labels": labels} for ns, labels in NAMESPACES.items()},
        "pods": [{"namespace": ns, "name": name, "labels": labels} for ns, name, labels in PODS]}))
    q = queries_file(tmp_path)

    from_files = netpol("reach", "--policies", str(pdir), "--inventory", str(inv), "--queries", str(q))
    live_args = ["--kubeconfig", str(cluster)] + [a for ns in NAMESPACES for a in ("--namespace", ns)]
    from_cluster = netpol("reach", *live_args, "--queries", str(q))
    assert from_files.returncode == 0, from_files.stderr
    assert from_cluster.returncode == 0, from_cluster.stderr
    assert from_cluster.stdout == from_files.stdout
    verdicts = dict(ln.rsplit(" ", 1) for ln in from_cluster.stdout.splitlines())
    # The three kinds were all read and all decide something:
    assert verdicts["live-a/web live-b/api 8080/TCP"] == "ALLOWED"      # CNP (namespace label team=a)
    assert verdicts["live-c/job live-b/api 8080/TCP"] == "DENIED"       # CCNP: live-c egress is world 443 only
    assert verdicts["live-c/job entity:world 443/TCP"] == "ALLOWED"
    assert verdicts["live-b/api live-b/db 5432/TCP"] == "ALLOWED"       # NetworkPolicy
    assert verdicts["live-a/web live-b/db 5432/TCP"] == "DENIED"
    assert verdicts["live-a/bare live-b/api 8080/TCP"] == "ALLOWED"     # a pod without labels counts

    # The whole cluster (no --namespace filter) gives the same verdicts for these flows, and explain
    # names the policy it read from the cluster.
    whole = netpol("reach", "--kubeconfig", str(cluster), "--queries", str(q))
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout == from_files.stdout
    r = netpol("explain", "--kubeconfig", str(cluster), "--context", "netpol-test",
               "--from", "live-b/api", "--to", "live-b/db", "--port", "5432/TCP")
    assert r.returncode == 0, r.stderr
    assert "NetworkPolicy" in r.stdout and "db-from-api" in r.stdout


def test_a_policy_added_with_kubectl_changes_the_verdict(cluster):
    flow = ["--from", "live-a/web", "--to", "live-b/api", "--port", "9090/TCP"]
    live = ["--kubeconfig", str(cluster), "--namespace", "live-a", "--namespace", "live-b"]
    before = netpol("reach", *live, *flow)
    assert before.returncode == 1, before.stdout + before.stderr
    assert before.stdout.startswith("DENIED")
    extra = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
             "metadata": {"name": "api-metrics-from-team-a", "namespace": "live-b"},
             "spec": {"endpointSelector": {"matchLabels": {"app": "api"}},
                      "ingress": [{"fromEndpoints": [{"matchLabels": {"k8s:io.cilium.k8s.namespace.labels.team": "a"}}],
                                   "toPorts": [{"ports": [{"port": "9090", "protocol": "TCP"}]}]}]}}
    apply(cluster, [extra])
    try:
        after = netpol("reach", *live, *flow)
        assert after.returncode == 0, after.stdout + after.stderr
        assert after.stdout.startswith("ALLOWED")
        assert "api-metrics-from-team-a" in after.stdout
    finally:
        kubectl(cluster, "delete", "ciliumnetworkpolicy", "-n", "live-b", "api-metrics-from-team-a", "--wait=true")
    assert netpol("reach", *live, *flow).returncode == 1


def test_the_namespace_filter_limits_what_is_read(cluster):
    only_a = ["--kubeconfig", str(cluster), "--namespace", "live-a"]
    r = netpol("reach", *only_a, "--from", "live-a/web", "--to", "live-b/api", "--port", "8080")
    assert r.returncode == 2 and "live-b" in r.stderr and "Traceback" not in r.stderr
    # Cluster-wide policies are read whatever the filter: live-a's verdicts do not change with it.
    q = ["--from", "live-a/web", "--to", "entity:world", "--port", "80"]
    filtered, whole = netpol("reach", *only_a, *q), netpol("reach", "--kubeconfig", str(cluster), *q)
    assert (filtered.returncode, filtered.stdout) == (whole.returncode, whole.stdout)
    r = netpol("reach", "--kubeconfig", str(cluster), "--namespace", "no-such-namespace",
               "--from", "a/b", "--to", "c/d", "--port", "80")
    assert_one_line_error(r, "no-such-namespace", "does not exist")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_cluster_bad_kubeconfig_and_bad_context_exit_2_with_one_line(cluster, tmp_path):
    cfg = json.loads(cluster.read_text())  # tools/cluster writes JSON (which is YAML)
    cfg["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{_free_port()}"
    down = tmp_path / "kubeconfig-down"
    down.write_text(json.dumps(cfg))
    flow = ["--from", "live-a/web", "--to", "live-b/api", "--port", "8080"]
    for cmd in ("reach", "explain"):
        assert_one_line_error(netpol(cmd, "--kubeconfig", str(down), *flow), "cannot reach", "connection refused",
                              "context netpol-test")
    assert_one_line_error(netpol("reach", "--kubeconfig", str(tmp_path / "nope"), *flow), "file not found")
    garbage = tmp_path / "garbage"
    garbage.write_text("clusters: [\n")
    assert_one_line_error(netpol("reach", "--kubeconfig", str(garbage), *flow), "kubeconfig", "garbage")
    assert_one_line_error(netpol("reach", "--kubeconfig", str(cluster), "--context", "prod", *flow),
                          "context 'prod' not found", "netpol-test")
    assert_one_line_error(netpol("reach", "--kubeconfig", str(cluster), "--stack", "dev", *flow), "--kubeconfig")


def test_forbidden_reads_name_the_resource_and_the_user(cluster):
    nobody = cluster.parent / "kubeconfig-nobody"
    r = netpol("reach", "--kubeconfig", str(nobody), "--from", "live-a/web", "--to", "live-b/api", "--port", "8080")
    assert_one_line_error(r, "forbidden", "'nobody'", "namespaces")
    r = netpol("reach", "--kubeconfig", str(nobody), "--namespace", "live-b",
               "--from", "live-b/api", "--to", "live-b/db", "--port", "5432")
    assert_one_line_error(r, "forbidden", "'nobody'")


def test_a_cluster_without_the_cilium_crds_warns_and_evaluates_network_policy(control_plane, tmp_path):
    d = tmp_path / "no-crds"
    up = subprocess.run([str(ROOT / "tools" / "cluster"), "up", "--dir", str(d)], capture_output=True, text=True)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        kc = d / "kubeconfig"
        kubectl(kc, "delete", "crd", "ciliumnetworkpolicies.cilium.io", "ciliumclusterwidenetworkpolicies.cilium.io",
                "--wait=true")
        apply(kc, objects())
        apply(kc, [p for p in POLICIES if p["kind"] == "NetworkPolicy"])
        ok = netpol("reach", "--kubeconfig", str(kc), "--from", "live-b/api", "--to", "live-b/db", "--port", "5432")
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "Traceback" not in ok.stderr
        assert "CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy CRDs are not installed in this cluster" in ok.stderr
        assert "only Kubernetes NetworkPolicy is evaluated" in ok.stderr
        denied = netpol("reach", "--kubeconfig", str(kc), "--from", "live-a/web", "--to", "live-b/db", "--port", "5432")
        assert denied.returncode == 1, denied.stdout + denied.stderr
        assert "db-from-api" in netpol("explain", "--kubeconfig", str(kc), "--from", "live-b/api", "--to",
                                       "live-b/db", "--port", "5432").stdout
    finally:
        subprocess.run([str(ROOT / "tools" / "cluster"), "down", "--dir", str(d)], capture_output=True, text=True)
