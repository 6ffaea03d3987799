"""`netpol diff`: review a change by what it does to reachability.

    from netpol.diff import diff_stack, diff_dirs
    result = diff_stack("dev", base="origin/main")            # head: the working tree
    result = diff_stack("dev", base="HEAD~1", head="HEAD")
    result = diff_dirs(Path("rendered-a"), Path("rendered-b"), Path("inventory.yaml"))
    result.opened, result.closed   # [Change(namespace, src, dst, port, protocol, rules, approval)]
    result.exit_code               # 3 when an opened flow needs an extra approval, else 0

Stack mode takes the UNION of both revisions' flow sets (`netpol.diff.flows.stack_flows`) and
evaluates each revision's policies on it; how revisions are built: `netpol.diff.snapshot`; which
rule is reported and the approval (exit 3) rule: `netpol.diff.compare`.
"""

from __future__ import annotations

from pathlib import Path

from netpol.diff.compare import Change, DiffResult, RuleRef, compare, make_approval, make_namer
from netpol.diff.flows import FlowKey, FlowSet, FlowSetTooLarge, dir_flows, stack_flows
from netpol.diff.snapshot import (
    DiffError, Snapshot, dir_snapshot, read_inventory, revision_snapshots, worktree_snapshot,
)


def _shared_namespaces(*snaps: Snapshot) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for s in snaps:
        if s.config is None:
            continue
        for name, res in s.config.sharedResources.items():
            if res.namespace:
                out.setdefault(res.namespace, set()).add(name)
    return {ns: sorted(v) for ns, v in out.items()}


def diff_snapshots(stack: str, base: Snapshot, head: Snapshot, group: bool = True) -> DiffResult:
    """Stack mode on two built snapshots (each with its config)."""
    from netpol.catalogue import WORKLOAD

    assert base.config is not None and head.config is not None
    flows = stack_flows(base.config, base.inventory).union(stack_flows(head.config, head.inventory))
    apps = set(base.config.namespaces) | set(head.config.namespaces)
    namer = make_namer(apps, WORKLOAD)
    return compare(base, head, flows, namer, make_approval(_shared_namespaces(base, head)), stack, group)


def diff_stack(stack: str, base: str, head: str | None = None, root: Path | None = None) -> DiffResult:
    """Compare the stack at git revision `base` with `head` (default: the working tree)."""
    from netpol.stack import find_root

    root = Path(root or find_root()).resolve()
    if head is None:
        base_snap = revision_snapshots(stack, root, [base])[0]
        head_snap = worktree_snapshot(stack, root)
    else:
        base_snap, head_snap = revision_snapshots(stack, root, [base, head])
    return diff_snapshots(stack, base_snap, head_snap)


def diff_dirs(base_dir: Path, head_dir: Path, inventory: Path, stack: str | None = None) -> DiffResult:
    """Compare two rendered manifest trees over one inventory (flow set: `dir_flows`)."""
    inv = read_inventory(inventory)
    base, head = dir_snapshot(base_dir, inv), dir_snapshot(head_dir, inv)
    try:
        flows = dir_flows([base.policies, head.policies], inv)
    except FlowSetTooLarge as e:
        raise DiffError(str(e)) from None
    counts: dict[str, int] = {}
    for p in inv.pods:
        counts[p.namespace] = counts.get(p.namespace, 0) + 1
    namer = make_namer(set(), None, {ns for ns, n in counts.items() if n == 1})
    result = compare(base, head, flows, namer, make_approval({}), stack)
    result.warnings = sorted(set(base.policies.warnings) | set(head.policies.warnings))
    return result


__all__ = [
    "Change", "DiffError", "DiffResult", "FlowKey", "FlowSet", "RuleRef", "Snapshot", "diff_dirs",
    "diff_snapshots", "diff_stack", "dir_flows", "stack_flows",
]
