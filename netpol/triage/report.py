"""Triage output: JSON (the contract), Markdown (for a PR or an incident note) and a rich table."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from netpol.triage.classify import Finding, TriageReport


def fix_summary(f: Finding) -> str:
    fx = f.fix
    parts: list[str] = []
    for k, v in fx.set_labels.items():
        parts.append(f'{k}: "{v}"')
    if "add_talks_to" in fx.extra:
        t = fx.extra["add_talks_to"]
        pods = f" pods {t['pods']}" if t.get("pods") else ""
        parts.append(f"talksTo {t['namespace']}{pods} {', '.join(t['ports'])}")
    if "add_egress" in fx.extra:
        parts.append("egress " + "; ".join(
            f"{'fqdn ' + r['fqdn'] if 'fqdn' in r else 'entity ' + r['entity']} {', '.join(r['ports'])}"
            for r in fx.extra["add_egress"]))
    if "add_metrics_ports" in fx.extra:
        parts.append("metricsPorts +" + ", ".join(map(str, fx.extra["add_metrics_ports"])))
    if "add_intra_namespace" in fx.extra:
        parts.append("intraNamespace +" + ", ".join(fx.extra["add_intra_namespace"]))
    if "add_gateway_ports" in fx.extra:
        parts.append("gatewayPorts +" + ", ".join(map(str, fx.extra["add_gateway_ports"])))
    if fx.check and not parts:
        parts.append(f"check {fx.check}")
    if not parts:
        return "-"
    where = f" ({fx.config_path})" if fx.config_path else ""
    review = " [review]" if fx.needs_review else ""
    return "; ".join(parts) + where + review


def _verified(f: Finding) -> str:
    if f.cause == "unknown":
        return "-"
    return "yes" if f.verified else "NO"


def _summary_line(r: TriageReport) -> str:
    st = r.stats
    line = (f"stack {r.stack}: {st.flows_read} flows read, {st.policy_drops} policy drops in {len(r.findings)} "
            f"groups, {st.skipped_lines} lines skipped")
    if st.malformed_count:
        shown = ", ".join(map(str, st.malformed_lines))
        more = f" (first {len(st.malformed_lines)})" if st.malformed_count > len(st.malformed_lines) else ""
        line += f"; {st.malformed_count} malformed, at lines {shown}{more}"
    if st.other_drops:
        line += "; other drops: " + ", ".join(f"{k} {v}" for k, v in sorted(st.other_drops.items()))
    return line


def _md(s: Any) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def to_markdown(r: TriageReport) -> str:
    out = [f"## netpol triage: stack `{r.stack}`", "", _summary_line(r), ""]
    if not r.findings:
        out.append("No policy drops.")
        return "\n".join(out) + "\n"
    out += ["| # | count | direction | source | destination | port | cause | fix | verified |",
            "|---|---|---|---|---|---|---|---|---|"]
    for i, f in enumerate(r.findings, 1):
        g = f.group
        out.append(f"| {i} | {g.count} | {g.direction} | {_md(g.source.label)} | {_md(g.destination.label)} | "
                   f"{g.port_spec} | `{f.cause}` | {_md(fix_summary(f))} | {_verified(f)} |")
    out.append("")
    for i, f in enumerate(r.findings, 1):
        g = f.group
        out += [f"### {i}. {g.source.label} → {g.destination.label} {g.port_spec} ({f.cause})", "",
                f.explanation, ""]
        if f.fix.yaml:
            out += [f"In `{f.fix.file}`:", "", "```yaml", f.fix.yaml.rstrip(), "```", ""]
        out += ["```bash", f.hubble, "```", ""]
    return "\n".join(out)


def print_table(r: TriageReport, console: Console) -> None:
    console.print(_summary_line(r), highlight=False, markup=False)
    if not r.findings:
        console.print("No policy drops.")
        return
    t = Table(title=f"netpol triage: stack {r.stack}", show_lines=False)
    for col in ("#", "count", "dir", "source", "destination", "port", "cause", "fix", "verified"):
        t.add_column(col, overflow="fold")
    for i, f in enumerate(r.findings, 1):
        g = f.group
        t.add_row(str(i), str(g.count), g.direction.lower(), g.source.label, g.destination.label, g.port_spec,
                  f.cause, fix_summary(f), _verified(f))
    console.print(t)
    for i, f in enumerate(r.findings, 1):
        console.print(f"[bold]{i}.[/] {f.explanation}", highlight=False)
        if f.fix.yaml:
            console.print(f"   in {f.fix.file}:", highlight=False, markup=False)
            console.print("\n".join("     " + ln for ln in f.fix.yaml.rstrip().splitlines()), highlight=False,
                          markup=False)
