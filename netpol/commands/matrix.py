"""`netpol matrix --stack S [--json|--markdown]`."""

from __future__ import annotations

import sys

import orjson
from rich.console import Console
from rich.table import Table

from netpol.config import ConfigError
from netpol.matrix import columns, compute_matrix, markdown
from netpol.reach import PolicySet
from netpol.stack import load_stack, manifests_for, inventory_for


def matrix_command(stack: str, as_json: bool, as_markdown: bool, live=None) -> int:
    """`live` (netpol.live.LiveSource): the stack's flows, evaluated on the cluster's policies and pods."""
    try:
        cfg = load_stack(stack)
    except ConfigError as e:
        print("config error (nothing was registered or written):", file=sys.stderr)
        for p in e.problems:
            print(f"  {p}", file=sys.stderr)
        return 2
    if live is not None:
        from netpol.reach import ReachInputError

        try:
            policies, inv = live.load()
        except ReachInputError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        for w in policies.warnings:
            print(f"warning: {w}", file=sys.stderr)
    else:
        policies, inv = PolicySet.from_manifests(m.body for m in manifests_for(cfg)), inventory_for(cfg)
    rows = compute_matrix(cfg, policies, inv)
    if as_json:
        sys.stdout.write(orjson.dumps({"rows": [r.to_json() for r in rows]}, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif as_markdown:
        print(markdown(cfg, rows))
    else:
        cols = columns(cfg)
        t = Table(title=f"netpol matrix: stack {stack}")
        t.add_column("namespace")
        t.add_column("profile")
        for c in cols:
            t.add_column(c, justify="center")
        for r in rows:
            t.add_row(r.namespace, r.profile, *[
                "[green]allow[/]" if r.checks.get(c) == "ALLOWED" else ("-" if c not in r.checks else "[red]deny[/]")
                for c in cols])
        Console(width=220 if not sys.stdout.isatty() else None).print(t)
    return 0
