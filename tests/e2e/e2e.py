"""The e2e tier's harness: the real `pulumi` CLI (built by `make e2e-tools` into .tools/bin) on a copy
of the project with a local file backend, and a local control plane (tools/cluster).

Nothing here skips: a missing tool is built first (tools/build-tools), and a tool that cannot be
built fails the tier with the build's own error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".tools" / "bin"
VENV = ROOT / ".venv"


def build_tools(*names: str) -> None:
    r = subprocess.run([str(ROOT / "tools" / "build-tools"), *names], cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"tools/build-tools {' '.join(names)} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")


def e2e_env(state_dir: Path) -> dict[str, str]:
    """tools/e2e-env, sourced, with the file backend in `state_dir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env["PULUMI_BACKEND_URL"] = f"file://{state_dir}"
    out = subprocess.run(["bash", "-c", f"source {ROOT / 'tools' / 'e2e-env'} && env -0"], env=env,
                         capture_output=True, check=True).stdout
    return dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)


def copy_project(dest: Path) -> Path:
    """The project's tracked files (and the working tree's edits) in `dest`, sharing the virtualenv."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for rel in files:
        if not rel or rel.startswith(("tests/", "bench/", "tools/", ".github/", "docs/")):
            continue
        src = ROOT / rel
        if not src.is_file():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)
    (dest / ".venv").symlink_to(VENV)
    return dest


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self):
        return json.loads(self.stdout)


@dataclass
class Project:
    """A copy of the project, a state backend of its own, and the real `pulumi` CLI."""

    dir: Path
    env: dict[str, str]
    log: list[Result] = field(default_factory=list)

    def pulumi(self, *args: str, check: bool = True, timeout: float = 900, stdin: str | None = None,
               env: dict[str, str] | None = None) -> Result:
        cmd = [str(BIN / "pulumi"), *args, "--non-interactive", "--color", "never"]
        p = subprocess.run(cmd, cwd=self.dir, env={**self.env, **(env or {})}, capture_output=True, text=True,
                           timeout=timeout, input=stdin)
        r = Result(cmd, p.returncode, p.stdout, p.stderr)
        self.log.append(r)
        if check and p.returncode:
            raise AssertionError(f"{' '.join(args)} exited {p.returncode}:\n{r.output[-6000:]}")
        return r

    def netpol(self, *args: str, check: bool = True) -> Result:
        p = subprocess.run([str(VENV / "bin" / "netpol"), *args], cwd=self.dir, env=self.env,
                           capture_output=True, text=True, timeout=600)
        r = Result(list(args), p.returncode, p.stdout, p.stderr)
        if check and p.returncode:
            raise AssertionError(f"netpol {' '.join(args)} exited {p.returncode}:\n{r.output[-4000:]}")
        return r

    def init(self, stack: str) -> None:
        self.pulumi("stack", "init", stack)

    def kubectl(self, *args: str, check: bool = True) -> Result:
        p = subprocess.run([str(BIN / "kubectl"), *args], cwd=self.dir, env=self.env,
                           capture_output=True, text=True, timeout=120)
        r = Result(list(args), p.returncode, p.stdout, p.stderr)
        if check and p.returncode:
            raise AssertionError(f"kubectl {' '.join(args)} exited {p.returncode}:\n{r.output[-4000:]}")
        return r


def engine_resources(preview_json: dict) -> set[tuple[str, str | None, str, str]]:
    """(kind, namespace, name, component) for every Kubernetes object in a `pulumi preview --json`."""
    out = set()
    for step in preview_json.get("steps", []):
        state = step.get("newState") or step.get("oldState") or {}
        typ = state.get("type", "")
        if not typ.startswith("kubernetes:") or typ.startswith("pulumi:providers"):
            continue
        inputs = state.get("inputs", {})
        meta = inputs.get("metadata", {})
        parent = state.get("parent", "")
        component = parent.rsplit("::", 1)[-1] if parent else ""
        out.add((inputs.get("kind") or typ.rsplit(":", 1)[-1].removesuffix("Patch"), meta.get("namespace"),
                 meta.get("name"), component))
    return out
