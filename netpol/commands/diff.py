"""`netpol diff`: the flows a change opens and closes.

    netpol diff --stack S --base REV [--head REV] [-o text|json|markdown]
    netpol diff --stack S --base-dir DIR --head-dir DIR --inventory FILE [-o text|json|markdown]

Exit codes: 0 (no opened flow needs approval; also when nothing changed), 3 (an opened flow reaches
the internet, kube-apiserver or a shared resource: CI requires an extra approval), 2 bad input.
"""

from __future__ import annotations

import sys
from pathlib import Path

from netpol.config import ConfigError
from netpol.reach.errors import ReachInputError

EXIT_BAD_INPUT = 2


def _error(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return EXIT_BAD_INPUT


def diff_command(stack: str | None, base: str | None, head: str | None, base_dir: Path | None,
                 head_dir: Path | None, inventory: Path | None, as_json: bool = False,
                 markdown: bool = False) -> int:
    """Print the diff (text, JSON or Markdown); return 0, 3 (needs approval) or 2 (bad input)."""
    from netpol.diff import DiffError, diff_dirs, diff_stack
    from netpol.diff import report

    if as_json and markdown:
        return _error("give at most one of --json and --markdown")
    dir_mode = base_dir is not None or head_dir is not None
    if dir_mode:
        if base is not None or head is not None:
            return _error("give either --base REV [--head REV] (git revisions of this repository) or "
                          "--base-dir DIR --head-dir DIR --inventory FILE (rendered trees), not both")
        missing = [f for f, v in (("--base-dir DIR", base_dir), ("--head-dir DIR", head_dir),
                                  ("--inventory FILE", inventory)) if v is None]
        if missing:
            return _error(f"comparing rendered trees needs {' and '.join(missing)} (the inventory says which "
                          "endpoints exist; see `netpol reach --help`)")
    else:
        if inventory is not None:
            return _error("--inventory goes with --base-dir/--head-dir; a stack's endpoints come from its config")
        if base is None:
            return _error("missing --base REV (the revision to compare from, e.g. origin/main), or "
                          "--base-dir/--head-dir/--inventory for rendered trees")
        if not stack:
            return _error("missing --stack STACK")
    try:
        if dir_mode:
            assert base_dir is not None and head_dir is not None and inventory is not None
            result = diff_dirs(base_dir, head_dir, inventory, stack)
        else:
            assert base is not None and stack
            result = diff_stack(stack, base, head)
    except ConfigError as e:
        print("config error (nothing was evaluated):", file=sys.stderr)
        for p in e.problems:
            print(f"  {p}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (DiffError, ReachInputError) as e:
        return _error(str(e))
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if as_json:
        sys.stdout.write(report.to_json(result))
    elif markdown:
        sys.stdout.write(report.markdown(result))
    else:
        sys.stdout.write(report.text(result))
    if result.exit_code == 3 and markdown:  # the Markdown goes to a file in CI: say it in the log too
        print("exit 3: " + (report.approval_line(result) or ""), file=sys.stderr)
    return result.exit_code
