"""`netpol diff` output: JSON, plain text grouped by namespace, and Markdown for a PR comment."""

from __future__ import annotations

from itertools import groupby

import orjson

from netpol.diff.compare import Change, DiffResult

# A PR comment holds at most 65,536 characters: tables are cut beyond this many rows.
MARKDOWN_MAX_ROWS = 150
DESCRIPTION_MAX = 140


def to_json(result: DiffResult) -> str:
    return orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2).decode() + "\n"


def summary_counts(result: DiffResult, minus: str = "-") -> str:
    return f"+{len(result.opened)} opened, {minus}{len(result.closed)} closed"


def approval_line(result: DiffResult) -> str | None:
    flagged = result.needs_approval
    if not flagged:
        return None
    reasons = sorted({c.approval for c in flagged if c.approval})
    return (f"needs an extra approval: {len(flagged)} opened flow(s) reach the internet or a shared resource "
            f"({'; '.join(reasons)})")


def _title(result: DiffResult) -> str:
    what = f"stack {result.stack}: " if result.stack else ""
    return f"netpol diff {what}{result.base} → {result.head}"


def _port(c: Change) -> str:
    return f"{c.port}/{c.protocol}"


def _rows(changes: list[Change]) -> list[tuple[Change, str]]:
    """Changes that differ only in port (same ends, rules and approval) as one row: (first, ports)."""
    rows: list[tuple[Change, list[str]]] = []
    for c in changes:
        if rows:
            p, ports = rows[-1]
            if (p.namespace, p.src, p.dst, p.opened, p.rules, p.approval) == (
                    c.namespace, c.src, c.dst, c.opened, c.rules, c.approval):
                ports.append(_port(c))
                continue
        rows.append((c, [_port(c)]))
    return [(c, ", ".join(ports)) for c, ports in rows]


def text(result: DiffResult) -> str:
    lines = [_title(result), f"{summary_counts(result)} ({result.flows_evaluated} flow evaluations)"]
    line = approval_line(result)
    if line:
        lines.append(f"WARNING: {line} (exit 3)")
    if not result.opened and not result.closed:
        lines.append("no flow changes its verdict")
        return "\n".join(lines) + "\n"
    changes = sorted(result.opened + result.closed, key=lambda c: (c.namespace, not c.opened, c.sort_key()))
    for ns, group in groupby(changes, key=lambda c: c.namespace):
        lines += ["", ns]
        for c, ports in _rows(list(group)):
            mark = "+" if c.opened else "-"
            state = "ALLOWED" if c.opened else "DENIED"
            flag = "  [approval: " + c.approval + "]" if c.approval else ""
            lines.append(f"  {mark} {c.src} -> {c.dst} {ports} now {state}{flag}")
            for r in c.rules:
                where = f"{r.policy} {r.rule or ''}".rstrip() if r.policy else "(no rule)"
                at = " (base)" if r.at == "base" and r.policy else ""
                reason = "" if c.opened and r.reason == "allowed" else f" [{r.reason}]"
                lines.append(f"      {r.side}: {where}{at}{reason}")
                if r.description:
                    lines.append(f"        {r.description}")
    return "\n".join(lines) + "\n"


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _rule_cell(c: Change) -> str:
    parts = []
    for r in c.rules:
        if r.policy is None:
            parts.append(f"{r.side}: _{r.reason}_")
            continue
        at = " (base)" if r.at == "base" else ""
        s = f"{r.side}: `{r.policy}` `{r.rule}`{at}"
        if r.description:
            d = r.description if len(r.description) <= DESCRIPTION_MAX else r.description[:DESCRIPTION_MAX - 1] + "…"
            s += f" — {_cell(d)}"
        if not c.opened and r.reason not in ("allowed",):
            s += f" _[{r.reason}]_"
        parts.append(s)
    return "<br>".join(parts)


def _table(title: str, changes: list[Change], flag: bool) -> list[str]:
    if not changes:
        return []
    rows = _rows(changes)
    out = ["", f"#### {title} ({len(changes)})", "",
           "| namespace | from | to | ports | rule |" + (" approval |" if flag else ""),
           "|---|---|---|---|---|" + ("---|" if flag else "")]
    for c, ports in rows[:MARKDOWN_MAX_ROWS]:
        row = f"| {_cell(c.namespace)} | `{_cell(c.src)}` | `{_cell(c.dst)}` | {ports} | {_rule_cell(c)} |"
        if flag:
            row += f" {'⚠️ ' + _cell(c.approval) if c.approval else ''} |"
        out.append(row)
    if len(rows) > MARKDOWN_MAX_ROWS:
        out += ["", f"_… and {len(rows) - MARKDOWN_MAX_ROWS} more rows; run `netpol diff` locally for the full list._"]
    return out


OPENED_SECTIONS = (
    ("internet-egress", "Newly allowed internet egress"),
    ("cross-namespace", "Newly allowed cross-namespace paths"),
    ("internet-ingress", "Newly allowed ingress from outside the cluster"),
    ("other", "Other newly allowed flows"),
)


def markdown(result: DiffResult) -> str:
    what = f" `{result.stack}`" if result.stack else ""
    lines = [f"### netpol diff{what}: `{result.base}` → `{result.head}`", "",
             f"**{summary_counts(result, minus='−')}** ({result.flows_evaluated} flow evaluations)"]
    flagged = result.needs_approval
    if flagged:
        reasons = "; ".join(sorted({c.approval for c in flagged if c.approval}))
        lines += ["", f"⚠️ **Needs an extra approval** (`netpol diff` exit 3): {len(flagged)} newly allowed "
                      f"flow(s) reach the internet or a shared resource: {reasons}."]
    if not result.opened and not result.closed:
        lines += ["", "No flow changes its verdict."]
        return "\n".join(lines) + "\n"
    for cat, title in OPENED_SECTIONS:
        lines += _table(title, [c for c in result.opened if c.category == cat], flag=True)
    lines += _table("Newly denied flows", result.closed, flag=False)
    return "\n".join(lines) + "\n"
