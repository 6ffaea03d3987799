"""One side of a diff: the policies, the endpoint inventory and (for a stack) the config.

How a git revision is materialised (`revision_snapshots`):

1. `git rev-parse --verify REV^{commit}` in the repository holding the project root; the project
   may live in a sub-folder of that repository.
2. `git archive <sha>:<project path>` unpacked into a temporary folder (read-only for the repository:
   no worktree registered, no index or HEAD touched, nothing left behind if we are killed; it only
   needs the commit object, so it works in CI's `fetch-depth: 0` checkouts).
3. The manifests and inventory are built by THAT revision's netpol code: a subprocess of this
   interpreter (the project's .venv, so the same dependencies) runs the revision's own
   `python -m netpol.diff.revision` with `PYTHONPATH=<tmp>` and `NETPOL_ROOT=<tmp>`, which prints the
   config, manifests and inventory as JSON. A change to the builders (not just to
   `Pulumi.<stack>.yaml`) therefore shows up in the diff. Base and head revisions run in parallel. A
   revision without netpol code, from before that entry point, or without the stack file, or whose
   config does not validate, is an error (exit 2) that says so.

The working tree (the default head) is built in-process: it IS the code running now (the editable
install), so a subprocess would only add start-up time; and it includes uncommitted edits, which is
what a developer runs `netpol diff` for before pushing.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import orjson
from pydantic import ValidationError

from netpol.model import StackConfig
from netpol.reach import Inventory, PolicySet, load_inventory, parse_inventory

SUBPROCESS_TIMEOUT = 600


class DiffError(Exception):
    """Bad input for `netpol diff` (unknown revision, missing stack file, ...): exit 2."""

    exit_code = 2


@dataclass
class Snapshot:
    label: str  # "origin/main (1a2b3c4)", "working tree", a folder
    policies: PolicySet
    inventory: Inventory
    config: StackConfig | None = None
    manifests: list | None = None  # the raw documents (stack mode), for `identity_classes`


# --- the working tree ------------------------------------------------------------------------------

def worktree_snapshot(stack: str, root: Path) -> Snapshot:
    """The stack as the working tree declares it, built by the code running now."""
    from netpol.config import load_config
    from netpol.stack import inventory_for, manifests_for

    cfg = load_config(stack, Path(root)).config  # ConfigError: the caller reports it (exit 2); not cached
    manifests = [m.body for m in manifests_for(cfg)]
    return Snapshot("working tree", PolicySet.from_manifests(manifests, source="working tree"),
                    inventory_for(cfg), cfg, manifests)


# --- rendered trees --------------------------------------------------------------------------------

def dir_snapshot(path: Path, inventory: Inventory) -> Snapshot:
    if not Path(path).is_dir():
        raise DiffError(f"{path}: not a folder; valid: a rendered manifest tree (e.g. `netpol render --out DIR`)")
    return Snapshot(str(path), PolicySet.from_dir(path), inventory, None)


def read_inventory(path: Path) -> Inventory:
    return load_inventory(path)  # InventoryError (a ReachInputError): exit 2


# --- git revisions ---------------------------------------------------------------------------------

def _git(cwd: Path, *args: str, binary: bool = False) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=not binary,
                              timeout=SUBPROCESS_TIMEOUT)
    except FileNotFoundError:
        raise DiffError("git is not installed; --base/--head need git (or compare rendered trees with "
                        "--base-dir/--head-dir)") from None


def _toplevel(root: Path) -> Path:
    p = _git(root, "rev-parse", "--show-toplevel")
    if p.returncode != 0:
        raise DiffError(f"{root} is not in a git repository: --base/--head compare git revisions "
                        "(use --base-dir/--head-dir for rendered trees)")
    return Path(p.stdout.strip()).resolve()


def resolve_revision(root: Path, rev: str) -> str:
    if not rev or rev.startswith("-"):
        raise DiffError(f"bad revision {rev!r}; valid: a git revision (branch, tag, sha, origin/main, HEAD~1)")
    p = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if p.returncode != 0 or not p.stdout.strip():
        hint = " (in CI: check out with fetch-depth: 0 so the target branch is there)" if "/" in rev else ""
        raise DiffError(f"unknown git revision {rev!r} in {root}{hint}")
    return p.stdout.strip()


def _materialise(root: Path, sha: str, rev: str, dest: Path) -> None:
    top = _toplevel(root)
    rel = Path(root).resolve().relative_to(top).as_posix()
    treeish = sha if rel in ("", ".") else f"{sha}:{rel}"
    p = _git(top, "archive", "--format=tar", treeish, binary=True)
    if p.returncode != 0:
        msg = p.stderr.decode(errors="replace").strip()
        raise DiffError(f"revision {rev} has no folder {rel!r} (the project root): {msg}")
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as tar:
        if hasattr(tarfile, "tar_filter"):  # Python >= 3.11.4: refuse members outside `dest`
            tar.extractall(dest, filter="tar")
        else:  # pragma: no cover
            tar.extractall(dest)


def _start(stack: str, tree: Path, out: Path, err: Path) -> subprocess.Popen:
    """`python -S -m netpol.diff.revision` with the revision's tree first on the import path, then the
    folders this interpreter imports its libraries from. `-S` (no `site`): an editable install of
    netpol (`pip install -e`, what `make` does) is an import hook that a .pth file installs, and that
    hook would fill in, from this checkout, any module the revision lacks; without `site` only the
    revision's netpol exists (a regular package: nothing merges into it)."""
    path = [str(tree), *(p for p in sys.path if p and os.path.isdir(p))]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONPATH=os.pathsep.join(path), NETPOL_ROOT=str(tree), PYTHONDONTWRITEBYTECODE="1")
    # stdout/stderr to files: neither process blocks on a full pipe while we wait for the other
    with out.open("wb") as o, err.open("wb") as e:
        return subprocess.Popen([sys.executable, "-S", "-m", "netpol.diff.revision", stack, str(tree)], cwd=tree,
                                env=env, stdout=o, stderr=e)


def _config(label: str, stack: str, raw: dict, tree: Path) -> StackConfig:
    """The revision's config in this netpol version's model (for the flow set): its own dump, else
    its stack file read by this version."""
    from netpol.config import ConfigError, load_config

    try:
        return StackConfig.model_validate(raw)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        try:
            return load_config(stack, tree).config
        except ConfigError as ce:
            raise DiffError(f"stack {stack} at {label}: this netpol version cannot read that revision's config "
                            f"({'.'.join(map(str, first['loc']))}: {first['msg']}; {ce.problems[0]})") from None


def _snapshot_from_json(label: str, stack: str, raw: dict, tree: Path) -> Snapshot:
    cfg = _config(label, stack, raw["config"], tree)
    inv = parse_inventory(raw["inventory"], f"the inventory of stack {stack} at {label}")
    return Snapshot(label, PolicySet.from_manifests(raw["manifests"], source=label), inv, cfg, raw["manifests"])


def short_label(rev: str, sha: str) -> str:
    return f"{rev} ({sha[:7]})" if not sha.startswith(rev) else sha[:7]


def _check_tree(tree: Path, stack: str, label: str) -> None:
    if not (tree / "netpol" / "config.py").exists() or not (tree / "netpol" / "builders").is_dir():
        raise DiffError(f"revision {label} has no netpol code (no netpol/ package under the project root): "
                        "it cannot build the stack's manifests")
    if not (tree / "netpol" / "diff" / "revision.py").exists() or not (tree / "netpol" / "__init__.py").exists():
        raise DiffError(f"revision {label} predates netpol/diff/revision.py (the entry point that builds a "
                        "revision with its own code): compare rendered trees instead, `netpol render --stack S "
                        "--out DIR` at each revision, then `netpol diff --base-dir A --head-dir B --inventory FILE`")
    if not (tree / f"Pulumi.{stack}.yaml").exists():
        there = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in tree.glob("Pulumi.*.yaml"))
        raise DiffError(f"revision {label} has no stack file Pulumi.{stack}.yaml (stacks there: "
                        f"{', '.join(there) or 'none'})")


def revision_snapshots(stack: str, root: Path, revs: list[str]) -> list[Snapshot]:
    """Build the stack at each git revision with that revision's code (in parallel subprocesses)."""
    root = Path(root).resolve()
    _toplevel(root)  # not a repository: say so before "unknown revision"
    shas = [resolve_revision(root, r) for r in revs]
    labels = [short_label(r, s) for r, s in zip(revs, shas)]
    tmp = Path(tempfile.mkdtemp(prefix="netpol-diff-"))
    procs: dict[str, subprocess.Popen] = {}
    try:
        for rev, sha, label in zip(revs, shas, labels):
            if sha in procs:
                continue
            tree = tmp / sha / "tree"
            tree.mkdir(parents=True)
            _materialise(root, sha, rev, tree)
            _check_tree(tree, stack, label)
            procs[sha] = _start(stack, tree, tmp / sha / "out.json", tmp / sha / "err.txt")
        built: dict[str, Snapshot] = {}
        for sha, label in zip(shas, labels):
            if sha in built:
                continue
            proc = procs[sha]
            try:
                proc.wait(timeout=SUBPROCESS_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise DiffError(f"building stack {stack} at {label} took longer than {SUBPROCESS_TIMEOUT}s") from None
            if proc.returncode != 0:
                detail = (tmp / sha / "err.txt").read_text(errors="replace").strip()
                if proc.returncode == 2:
                    raise DiffError(f"stack {stack} at {label}: config error:\n  " + detail.replace("\n", "\n  "))
                tail = "\n  ".join(detail.splitlines()[-8:])
                raise DiffError(f"building stack {stack} at {label} with that revision's code failed "
                                f"(exit {proc.returncode}):\n  {tail}")
            raw = orjson.loads((tmp / sha / "out.json").read_bytes())
            built[sha] = _snapshot_from_json(label, stack, raw, tmp / sha / "tree")
        out = []
        for sha, label in zip(shas, labels):
            snap = built[sha]
            out.append(snap if snap.label == label else
                       Snapshot(label, snap.policies, snap.inventory, snap.config, snap.manifests))
        return out
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
