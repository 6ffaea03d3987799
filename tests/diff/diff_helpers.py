"""Real git histories of this project for `netpol diff` tests.

A scenario repository holds a copy of this working tree's project files (the netpol code as it is
now, committed or not, plus the example stacks), committed as `base`; a test then edits a stack
file (and/or code) and either commits it (`head` revision) or leaves it in the working tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("netpol", "components", "policies", "Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.integration.yaml",
                 "Pulumi.live.yaml", "__main__.py", "pyproject.toml")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
GIT_ENV = {"GIT_AUTHOR_NAME": "netpol tests", "GIT_AUTHOR_EMAIL": "tests@example.invalid",
           "GIT_COMMITTER_NAME": "netpol tests", "GIT_COMMITTER_EMAIL": "tests@example.invalid",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def git(repo: Path, *args: str) -> str:
    p = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                       env={**os.environ, **GIT_ENV}, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def copy_project(dest: Path, files: tuple[str, ...] = PROJECT_FILES) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in files:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=IGNORE)
        else:
            shutil.copy2(src, dest / name)
    return dest


def init_repo(repo: Path, message: str = "base") -> str:
    git(repo, "init", "-q", "-b", "main")
    return commit(repo, message)


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def load_stack(repo: Path, stack: str = "dev") -> dict[str, Any]:
    return yaml.safe_load((repo / f"Pulumi.{stack}.yaml").read_text())


def write_stack(repo: Path, doc: dict[str, Any], stack: str = "dev") -> None:
    (repo / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def edit_stack(repo: Path, fn: Callable[[dict[str, Any]], None], stack: str = "dev") -> None:
    """Apply `fn` to the stack's `config` mapping and write it back."""
    doc = load_stack(repo, stack)
    fn(doc["config"])
    write_stack(repo, doc, stack)


def apps(cfg: dict[str, Any]) -> dict[str, Any]:
    return cfg["netpol:namespaces"]


def platform(cfg: dict[str, Any]) -> dict[str, Any]:
    return cfg["netpol:platformNamespaces"]


def flows(changes) -> set[tuple[str, str, int, str]]:
    """(from, to, port, protocol) of Change objects or JSON entries."""
    out = set()
    for c in changes:
        if isinstance(c, dict):
            out.add((c["from"], c["to"], c["port"], c["protocol"]))
        else:
            out.add((c.src, c.dst, c.port, c.protocol))
    return out


def tcp(src: str, dst: str, *ports: int) -> set[tuple[str, str, int, str]]:
    return {(src, dst, p, "TCP") for p in ports}
