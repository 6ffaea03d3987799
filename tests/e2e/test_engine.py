"""The product under the real Pulumi engine (issue 11): `pulumi preview --policy-pack policies`,
`pulumi up` on the GitOps stacks, the pack against a program that breaks every rule, direct apply
outside dev, config the Pulumi way, and a 5,000-namespace stack."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from e2e import BIN, ROOT, Project, engine_resources

import crds  # tests/crds.py: the Cilium CRD schemas from ../shared/crds

GITOPS = ("integration", "live")


def netpol_objects(project: Project, stack: str) -> set[tuple]:
    doc = project.netpol("preview", "--stack", stack, "--json").json()
    return {(o["kind"], o["namespace"], o["name"], o["component"]) for o in doc["objects"]}


def tree_bytes(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("stack", GITOPS)
def test_preview_with_the_pack_passes_and_reports_exactly_what_netpol_preview_lists(project, stack):
    project.init(stack)
    r = project.pulumi("preview", "--stack", stack, "--policy-pack", "policies", "--json")
    engine = engine_resources(r.json())
    assert engine == netpol_objects(project, stack)
    assert len(engine) >= 25
    # Renames never replace: the example stacks' URNs are a snapshot (see components/aliases.py).
    urns = sorted(s["urn"] for s in r.json()["steps"] if "::pulumi:pulumi:Stack::" not in s["urn"])
    snap = ROOT / "tests" / "fixtures" / "urns" / f"{stack}.txt"
    if os.environ.get("NETPOL_UPDATE_URN_SNAPSHOTS") == "1":  # a deliberate change, with its alias recorded
        snap.write_text("\n".join(urns) + "\n")
    assert urns == snap.read_text().split(), "URNs changed: record the rename in components/aliases.py"


@pytest.mark.parametrize("stack", GITOPS)
def test_up_publishes_the_rendered_tree_byte_identical_and_valid(project, tmp_path, stack):
    project.init(stack)
    project.pulumi("up", "--stack", stack, "--yes", "--policy-pack", "policies")
    published = project.dir / "rendered" / stack
    first = tree_bytes(published)
    # The one published layout is netpol's kustomize tree: `netpol render` writes the same bytes.
    project.netpol("render", "--stack", stack, "--out", str(tmp_path / "render"))
    assert first == tree_bytes(tmp_path / "render")
    # Nothing else is published: the provider's own 0-crd/1-manifest output stays in scratch.
    assert not (published / "1-manifest").exists()
    # A second preview has nothing to do.
    project.pulumi("preview", "--stack", stack, "--expect-no-changes")
    # A second fresh run (new state, tree removed) writes the same bytes.
    project.pulumi("stack", "rm", stack, "--yes", "--force", "--preserve-config")
    subprocess.run(["rm", "-rf", str(published)], check=True)
    project.init(stack)
    project.pulumi("up", "--stack", stack, "--yes")
    assert tree_bytes(published) == first
    # kustomize builds it and every Cilium object validates against the CRDs.
    built = project.kubectl("kustomize", str(published)).stdout
    docs = [d for d in yaml.safe_load_all(built) if d]
    assert {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs} == \
        {(k, ns, n) for k, ns, n, _ in netpol_objects(project, stack)}
    for d in docs:
        if d["kind"].startswith("Cilium"):
            assert crds.errors(d) == [], d["metadata"]["name"]


def test_published_tree_is_complete_after_any_sequence_of_ups(project):
    """Add a namespace, up; drop two, up: the tree always equals the current config's render."""
    stack = "live"
    project.init(stack)
    project.pulumi("up", "--stack", stack, "--yes")
    ns_file = project.dir / "rendered" / stack / "app-namespaces" / "namespaces.yaml"
    assert "name: batch-jobs" in ns_file.read_text()
    project.pulumi("config", "set", "--stack", stack, "--path", "namespaces.extra-app.profile", "internal")
    project.pulumi("up", "--stack", stack, "--yes")
    assert "name: extra-app" in ns_file.read_text()
    project.pulumi("config", "rm", "--stack", stack, "--path", "namespaces.extra-app")
    project.pulumi("config", "rm", "--stack", stack, "--path", "namespaces.batch-jobs")
    project.pulumi("up", "--stack", stack, "--yes")
    text = ns_file.read_text()
    assert "name: extra-app" not in text and "name: batch-jobs" not in text
    assert "name: dashboard" in text


BAD = {  # rule -> the resource it must be reported against
    "no-explicit-default-deny": "default-deny",
    "no-port-any": "port-any",
    "no-hardcoded-ips": "hardcoded-ip",
    "no-profile-on-platform-namespace": "kube-system",
    "escape-hatch-requires-runbook": "legacy",
    "no-clusterwide-empty-peer-selector": "wide-open",
}


def bad_project(project: Project) -> Path:
    d = project.dir.parent / "bad"
    d.mkdir()
    (d / "__main__.py").write_text((ROOT / "tests" / "e2e" / "bad_program" / "__main__.py").read_text())
    (d / "Pulumi.yaml").write_text(
        "name: netpol-e2e-bad\nruntime:\n  name: python\n  options:\n"
        f"    toolchain: pip\n    virtualenv: {ROOT / '.venv'}\n")
    return d


def test_the_pack_names_every_rule_against_the_right_resource_under_the_engine(project):
    d = bad_project(project)
    bad = Project(d, {**project.env, "BAD_RENDER_DIR": str(d / "out")})
    bad.pulumi("stack", "init", "bad")
    r = bad.pulumi("preview", "--stack", "bad", "--policy-pack", str(project.dir / "policies"), check=False)
    assert r.returncode != 0, r.output
    out = r.output
    for rule, resource in BAD.items():
        lines = [ln for ln in out.splitlines() if rule in ln]
        assert any(f": {resource})" in ln for ln in lines), f"{rule} not reported against {resource}:\n{out[-5000:]}"


def test_the_product_stacks_pass_and_a_bad_pack_config_is_refused_by_the_engine(project, tmp_path):
    project.init("live")
    bad_config = tmp_path / "pack-config.json"
    bad_config.write_text(json.dumps({"direct-apply-only-on-dev": {"directApplyStacks": "dev"}}))
    r = project.pulumi("preview", "--stack", "live", "--policy-pack", "policies",
                       "--policy-pack-config", str(bad_config), check=False)
    assert r.returncode != 0
    assert "directApplyStacks" in r.output and re.search(r"array|Invalid type", r.output), r.output[-3000:]


def test_direct_apply_outside_dev_fails_preview_with_the_programs_error(project):
    project.init("integration")
    # Config the Pulumi way: the project's own namespace is `netpol`, so the natural command works.
    project.pulumi("config", "set", "--stack", "integration", "applyMode", "direct")
    project.pulumi("config", "set", "--stack", "integration", "kubeContext", "admin@homelab-integration")
    assert project.pulumi("config", "get", "--stack", "integration", "applyMode").stdout.strip() == "direct"
    r = project.pulumi("preview", "--stack", "integration", check=False)
    assert r.returncode != 0
    assert "may not apply directly to a cluster" in r.output and "netpol:applyMode" in r.output, r.output[-3000:]
    # The offline readers see exactly what the engine sees, and fail the same way.
    off = project.netpol("preview", "--stack", "integration", check=False)
    assert off.returncode == 2 and "may not apply directly to a cluster" in off.output


def test_offline_readers_see_project_config_and_refuse_secrets(project):
    # Project-level config (Pulumi.yaml `config:`) reaches the engine and the offline readers alike.
    pulumi_yaml = project.dir / "Pulumi.yaml"
    doc = yaml.safe_load(pulumi_yaml.read_text())
    doc["config"] = {"netpol:runbookUrl": {"value": "https://runbooks.example/netpol"}}
    pulumi_yaml.write_text(yaml.safe_dump(doc, sort_keys=False))
    project.init("live")
    r = project.pulumi("preview", "--stack", "live", "--json")
    rules = [s for s in r.json()["steps"] if s.get("newState", {}).get("inputs", {}).get("kind") == "PrometheusRule"]
    assert "https://runbooks.example/netpol" in json.dumps(rules)
    tree = project.dir.parent / "offline"
    project.netpol("render", "--stack", "live", "--out", str(tree))
    assert "https://runbooks.example/netpol" in (tree / "escape-hatch").joinpath(
        next(p.name for p in (tree / "escape-hatch").iterdir() if p.name.startswith("prometheusrule"))).read_text()
    # A secret the offline readers cannot decrypt is a clear error, not a silent default.
    project.pulumi("config", "set", "--stack", "live", "--secret", "runbookUrl", "https://secret.example")
    off = project.netpol("preview", "--stack", "live", check=False)
    assert off.returncode == 2
    assert "netpol:runbookUrl" in off.output and "cannot decrypt" in off.output, off.output


# Past the ~1,400 namespaces where inline config overflows the 128 KiB environment string. The
# preview runs with the environment the pull-request workflow gives its preview step
# (PULUMI_SKIP_CHECKPOINTS: the file backend otherwise re-serializes the whole snapshot after every
# step of a preview, which is quadratic: past 30 min at 5,000 namespaces, ~4 min with it).
SCALE = int(os.environ.get("NETPOL_E2E_SCALE", "5000"))


def pr_preview_env() -> dict[str, str]:
    """The env of the pull-request workflow's preview step, read from the workflow itself."""
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "pull-request.yml").read_text())
    steps = [s for job in wf["jobs"].values() for s in job["steps"]
             if s.get("name") == "pulumi preview --policy-pack policies"]
    assert len(steps) == 1, "the pull-request workflow has one preview step"
    env = {k: str(v) for k, v in steps[0].get("env", {}).items()}
    assert env.get("PULUMI_SKIP_CHECKPOINTS") == "true", env
    return env


def test_a_large_stack_previews_with_the_pack(project):
    """Namespaces declared in a file that stack config points to: PULUMI_CONFIG stays small."""
    stack = "scale"
    names = {f"app-{i:04d}": {"profile": ("internal", "standard", "isolated")[i % 3],
                              "access": [["postgres"], ["dragonfly", "garage-s3"], []][i % 3], "mesh": i % 7 == 0}
             for i in range(SCALE)}
    (project.dir / "namespaces").mkdir()
    (project.dir / "namespaces" / "scale.yaml").write_text(yaml.safe_dump(names))
    live = yaml.safe_load((project.dir / "Pulumi.live.yaml").read_text())
    live["config"]["netpol:namespaceFiles"] = ["namespaces/scale.yaml"]
    (project.dir / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(live))
    project.init(stack)
    r = project.pulumi("preview", "--stack", stack, "--policy-pack", "policies", "--json", timeout=1800,
                       env=pr_preview_env())
    engine = engine_resources(r.json())
    assert len([e for e in engine if e[0] == "Namespace"]) == SCALE + len(live["config"]["netpol:namespaces"])
    # The same declarations inline would not even start: the config would overflow one env string.
    assert len(json.dumps(json.dumps(names))) > 128 * 1024 or SCALE < 2000
    assert engine == netpol_objects(project, stack)
