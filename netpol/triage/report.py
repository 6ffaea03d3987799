"""Triage output: JSON (the contract), Markdown (for a PR or an incident note) and a rich table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netpol.triage.classify import Finding, TriageReport

if TYPE_CHECKING:
    from rich.console import Console


def fix_summary(f: Finding) -> str:
    fx = f.fix
    parts: list[str] = []
    for k, v in fx.set_labels.items():
        parts.append(f'{k}: "{v}"')
    if "deny_policies" in fx.extra:
        names = ", ".join(fx.extra["deny_policies"]) or "an unnamed deny policy"
        where = "in the model" if fx.extra.get("deny_in_model") else "NOT in the model"
        parts.append(f"remove or narrow the deny rule of {names} ({where})")
    if "policy_changes" in fx.extra:
        for c in fx.extra["policy_changes"]:
            parts.append(c["summary"])
    if "add_talks_to" in fx.extra:
        t = fx.extra["add_talks_to"]
        pods = f" pods {t['pods']}" if t.get("pods") else ""
        merged = f" (merged into talksTo[{t['merged_into']}])" if "merged_into" in t else ""
        parts.append(f"talksTo {t['namespace']}{pods} {', '.join(t['ports'])}{merged}")
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
    line = (f"{_title(r, '')}: {st.flows_read} flows read, {st.policy_drops} policy drops in {len(r.findings)} "
            f"groups, {st.skipped_lines} lines skipped")
    if st.malformed_count:
        shown = ", ".join(map(str, st.malformed_lines))
        more = f" (first {len(st.malformed_lines)})" if st.malformed_count > len(st.malformed_lines) else ""
        line += f"; {st.malformed_count} malformed, at lines {shown}{more}"
    if st.other_drops:
        line += "; other drops: " + ", ".join(f"{k} {v}" for k, v in sorted(st.other_drops.items()))
    if st.input_format == "pretty":
        line += "; read as pretty-printed JSON values"
    if st.compression:
        line += f"; {st.compression}-compressed"
    if st.interrupted:
        line += "; INTERRUPTED: the report covers the flows read until then"
    return line


def _unexplained(r: TriageReport) -> list[tuple[str, int, str, str]]:
    """(what, count, how to see them, sample) of the drops the model does not explain: non-policy drop
    reasons and findings of cause `unknown`."""
    from netpol.triage.classify import other_drops_detail

    out = []
    for d in other_drops_detail(r.stats):
        smp = d["sample"]

        def side(e: dict, ip: str | None) -> str:
            name = "/".join(x for x in (e.get("namespace"), e.get("pod_name")) if x)
            return " ".join(x for x in (name, ip) if x) or "?"

        where = (f"first seen: {side(smp.get('source') or {}, smp.get('source_ip'))} -> "
                 f"{side(smp.get('destination') or {}, smp.get('destination_ip'))}"
                 + (f" on {smp['node_name']}" if smp.get("node_name") else "")) if smp else ""
        ips = ""
        out.append((f"{d['reason']} (not a policy drop)", d["count"], d["hubble"], (where + (" " + ips if ips else ""))))
    for f in r.findings:
        if f.cause == "unknown":
            g = f.group
            out.append((f"unknown cause: {g.source.label} -> {g.destination.label} {g.port_spec}", g.count, f.hubble, ""))
    return out


def _title(r: TriageReport, q: str) -> str:
    return f"stack {q}{r.stack}{q}" if r.kind == "stack" else f"{q}{r.stack}{q}"


def _md(s: Any) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def to_markdown(r: TriageReport) -> str:
    out = [f"## netpol triage: {_title(r, '`')}", "", _summary_line(r), ""]
    unexplained = _unexplained(r)
    if unexplained:
        out += ["### Drops the model does not explain", "", "| drops | count | see them with | |", "|---|---|---|---|"]
        out += [f"| {_md(w)} | {n} | `{_md(cmd)}` | {_md(smp)} |" for w, n, cmd, smp in unexplained]
        out.append("")
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
            out += [f"In `{f.fix.file}`:" if f.fix.file else "Policy change:", "", "```yaml", f.fix.yaml.rstrip(),
                    "```", ""]
        out += ["```bash", f.hubble, "```", ""]
    return "\n".join(out)


def print_table(r: TriageReport, console: Console) -> None:
    from rich.table import Table

    console.print(_summary_line(r), highlight=False, markup=False)
    unexplained = _unexplained(r)
    if unexplained:
        u = Table(title="drops the model does not explain", show_lines=False)
        for col in ("drops", "count", "see them with", "sample"):
            u.add_column(col, overflow="fold")
        for w, n, cmd, smp in unexplained:
            u.add_row(w, str(n), cmd, smp)
        console.print(u)
    if not r.findings:
        console.print("No policy drops.")
        return
    t = Table(title=f"netpol triage: {_title(r, '')}", show_lines=False)
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
            console.print(f"   in {f.fix.file}:" if f.fix.file else "   policy change:", highlight=False, markup=False)
            console.print("\n".join("     " + ln for ln in f.fix.yaml.rstrip().splitlines()), highlight=False,
                          markup=False)
