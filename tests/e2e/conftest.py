import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # e2e.py

from e2e import ROOT, Project, build_tools, copy_project, e2e_env  # noqa: E402


@pytest.fixture(scope="session")
def engine_tools():
    """The Pulumi CLI, its Python language host and the kubernetes provider, built if missing."""
    build_tools("pulumi", "python-host", "k8s-provider")


@pytest.fixture(scope="session")
def cluster_tools():
    build_tools("etcd", "kubernetes")


@pytest.fixture
def project(engine_tools, tmp_path) -> Project:
    """A fresh copy of the project with an empty file backend of its own."""
    state = tmp_path / "state"
    state.mkdir()
    return Project(copy_project(tmp_path / "project"), e2e_env(state))


@pytest.fixture(scope="module")
def control_plane(engine_tools, cluster_tools, tmp_path_factory):
    """etcd + kube-apiserver on loopback with the Cilium and PrometheusRule CRDs, one per test module
    (a module's objects never meet another's: about 20 s to start); stopped after the module."""
    import subprocess

    d = tmp_path_factory.mktemp("cluster")
    r = subprocess.run([str(ROOT / "tools" / "cluster"), "up", "--dir", str(d)], capture_output=True, text=True)
    if r.returncode:
        subprocess.run([str(ROOT / "tools" / "cluster"), "down", "--dir", str(d)], capture_output=True)
        raise RuntimeError(f"tools/cluster up failed:\n{r.stdout}\n{r.stderr}")
    try:
        yield d
    finally:
        subprocess.run([str(ROOT / "tools" / "cluster"), "down", "--dir", str(d)], capture_output=True, text=True)
