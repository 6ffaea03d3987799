"""`netpol triage`, `netpol verify`, `netpol profile`: plain functions the typer app wires up.

Exit codes: triage 0 (findings are output, not failure), 2 bad input (unknown stack: the config
error; an unreadable flows file). verify 0 clean, 1 bugs or leaks found, 2 bad input. profile 0,
2 bad input. Malformed flow lines are never fatal: they are counted and listed.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import IO, Iterator, Optional

import orjson

from netpol.config import ConfigError
from netpol.reach.errors import ReachInputError

EXIT_OK, EXIT_FOUND, EXIT_BAD_INPUT = 0, 1, 2


def _out():
    """A rich Console for the text output (rich is imported only when text is printed)."""
    from rich.console import Console

    return Console(highlight=False) if sys.stdout.isatty() else Console(width=200, highlight=False)


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def _json(obj) -> None:
    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode() + "\n")


def _config_error(e: ConfigError) -> int:
    _err("config error (nothing was registered or written):")
    for p in e.problems:
        _err(f"  {p}")
    return EXIT_BAD_INPUT


def _load(stack: str):
    from netpol.stack import load_stack

    return load_stack(stack)


@contextmanager
def _flows(spec: str | None) -> Iterator[IO[bytes]]:
    from netpol.triage.flows import open_input

    stream = open_input(spec)
    try:
        yield stream
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


# --- triage ---------------------------------------------------------------------------------------
def _live_verifier(cfg, live):
    """A Verifier whose base world is the live cluster (netpol.live): the flows' own pods and the
    policies in force now; each fix is still the stack's config change, verified on the stack's model,
    and a regression is a standard flow the cluster allows now that the stack with the fix would deny."""
    from netpol.triage.fixes import Verifier, World

    policies, inventory = live.load()
    for w in policies.warnings:
        _err(f"warning: {w}")
    return Verifier(cfg, base=World(cfg, policies, inventory))


def _nothing_read(stats) -> str | None:
    """Why no flow was read, or None when some were: triage never reports "No policy drops" then."""
    if stats.flows_read:
        return None
    if stats.lines == 0 and not stats.interrupted:
        return ("no flows read: the input is empty (nothing to triage; `hubble observe` printed nothing, "
                "or the wrong file was given)")
    parts = [f"{stats.lines} lines"]
    if stats.malformed_count:
        parts.append(f"{stats.malformed_count} malformed (first at lines "
                     f"{', '.join(map(str, stats.malformed_lines[:5]))})")
    if stats.non_flow_lines:
        parts.append(f"{stats.non_flow_lines} JSON values that are no Hubble flow")
    return ("no Hubble flows read (" + ", ".join(parts) + "); give `hubble observe -o json` output, one flow "
            "per line (pretty-printed or array input: pipe it through `jq -c .` or `jq -c '.[]'`)")


def triage_command(stack: str | None, flows, as_json: bool, markdown: bool, live=None,
                   policies=None, inventory=None, jobs: int = 1) -> int:
    """Group the policy drops of Hubble flow files (or stdin), classify them, propose and verify fixes.
    `live` (netpol.live.LiveSource): the drops are re-evaluated on the cluster's policies and pods.
    `policies` + `inventory`: a cluster this program does not manage (fixes are policy changes).
    `jobs`: cores to read a big file on (0: `default_jobs()`); the report does not depend on it.
    Runs with cyclic garbage collection paused (`paused_gc`): importing the engine and building a
    verification World per distinct fix allocate many objects and free few."""
    from netpol.config import paused_gc

    with paused_gc():
        return _triage(stack, flows, as_json, markdown, live, policies, inventory, jobs)


def _triage(stack: str | None, flows, as_json: bool, markdown: bool, live, policies, inventory, jobs: int) -> int:
    from netpol.triage.classify import triage_file
    from netpol.triage.flows import FlowInputError, default_jobs
    from netpol.triage.report import print_table, to_markdown

    paths = [flows] if isinstance(flows, str) else list(flows or []) or ["-"]
    jobs = jobs or default_jobs()
    try:
        if policies is not None or inventory is not None:
            if stack is not None or live is not None:
                _err("error: give either --stack STACK or --policies DIR --inventory FILE, not both")
                return EXIT_BAD_INPUT
            if policies is None or inventory is None:
                _err("error: --policies DIR and --inventory FILE go together")
                return EXIT_BAD_INPUT
            from netpol.triage.cluster import ClusterModel, triage_cluster

            report = triage_cluster(ClusterModel.from_paths(policies, inventory), paths, jobs)
        else:
            if stack is None:
                _err("error: give --stack STACK (a stack of this program) or --policies DIR --inventory FILE")
                return EXIT_BAD_INPUT
            cfg = _load(stack)
            report = triage_file(cfg, paths, _live_verifier(cfg, live) if live is not None else None, jobs)
    except ConfigError as e:
        return _config_error(e)
    except ReachInputError as e:  # netpol.live.LiveError: the cluster could not be read; bad policies/inventory
        _err(f"error: {e}")
        return EXIT_BAD_INPUT
    except FlowInputError as e:
        _err(f"error: {e}")
        return EXIT_BAD_INPUT
    why = _nothing_read(report.stats)
    if why is not None:
        _err(f"error: {why}")
        return EXIT_BAD_INPUT
    if as_json:
        _json(report.to_json())
    elif markdown:
        sys.stdout.write(to_markdown(report))
    else:
        print_table(report, _out())
    return EXIT_OK


# --- verify ---------------------------------------------------------------------------------------
def verify_command(stack: str, namespace: str, flows: Optional[str], as_json: bool) -> int:
    """Expected verdicts of the namespace's standard flows, hubble commands, and bugs/leaks in flows."""
    from netpol.triage.flows import FlowInputError
    from netpol.triage.verify import NotAnAppNamespace, verify_namespace

    try:
        cfg = _load(stack)
        if flows is None:
            report = verify_namespace(cfg, namespace)
        else:
            with _flows(flows) as stream:
                report = verify_namespace(cfg, namespace, stream)
    except ConfigError as e:
        return _config_error(e)
    except (FlowInputError, NotAnAppNamespace) as e:
        _err(f"error: {e}")
        return EXIT_BAD_INPUT
    if as_json:
        _json(report.to_json())
        return report.exit_code
    from rich.table import Table

    con = _out()
    decl = report.declaration
    con.print(f"netpol verify: {namespace} in stack {stack} (profile {decl.get('profile')}, access "
              f"{', '.join(decl.get('access', [])) or 'none'})", markup=False)
    t = Table(title="what the model allows and denies (reachability engine)")
    for col in ("check", "flow", "expected", "decided by", "check with"):
        t.add_column(col, overflow="fold")
    if report.stats is not None:
        t.add_column("observed", overflow="fold")
    for r in report.checks:
        row = [r.check.title, r.check.flow, r.expected, r.decided_by, r.check.hubble]
        if report.stats is not None:
            row.append(f"{r.status} (fwd {r.forwarded}, drop {r.dropped})")
        t.add_row(*row)
    con.print(t)
    if report.stats is not None:
        st = report.stats
        line = f"{st.flows_read} flows read, {st.skipped_lines} lines skipped, {st.replies_skipped} replies ignored"
        if st.malformed_count:
            line += f"; malformed lines: {', '.join(map(str, st.malformed_lines))}"
        con.print(line, markup=False)
        for title, items in (("BUGS: dropped but the model allows them", report.bugs),
                             ("LEAKS: forwarded but the model denies them", report.leaks)):
            if not items:
                continue
            con.print(f"[bold red]{title}[/]")
            for m in items:
                g = m.group
                con.print(f"  {g.source.label} -> {g.destination.label} {g.port_spec} x{m.count} (observed at "
                          f"{g.direction.lower()}; model: {m.model})", markup=False)
        if report.unresolved:
            con.print("not in the model's inventory (not compared): " + "; ".join(report.unresolved), markup=False)
        if not report.bugs and not report.leaks:
            con.print("no bugs, no leaks: the observed flows match the model")
    return report.exit_code


# --- profile --------------------------------------------------------------------------------------
def profile_command(internet: Optional[bool], internal: Optional[bool], external_apis: Optional[bool],
                    namespace: Optional[str], from_flows: Optional[str], stack: Optional[str], as_json: bool) -> int:
    """The decision tree (answers -> profile + YAML), or a suggestion from observed flows."""
    from netpol.triage.flows import FlowInputError
    from netpol.triage.suggest import QUESTIONS, decide_profile, namespace_yaml, suggest_from_flows

    cfg = None
    try:
        if stack is not None:
            cfg = _load(stack)
    except ConfigError as e:
        return _config_error(e)
    if from_flows is not None:
        if not namespace:
            _err("error: --from-flows needs --namespace NS (the namespace whose traffic to read)")
            return EXIT_BAD_INPUT
        try:
            with _flows(from_flows) as stream:
                sug = suggest_from_flows(stream, namespace, cfg)
        except FlowInputError as e:
            _err(f"error: {e}")
            return EXIT_BAD_INPUT
        if as_json:
            _json(sug.to_json())
            return EXIT_OK
        from rich.table import Table

        con = _out()
        st = sug.stats
        con.print(f"netpol profile --from-flows: {namespace}: {st.flows_read} flows read, {len(sug.evidence)} "
                  f"distinct flows involve it, {st.skipped_lines} lines skipped", markup=False)
        t = Table(title="observed traffic and what it needs")
        for col in ("source", "destination", "port", "flows", "needs"):
            t.add_column(col, overflow="fold")
        for e in sug.evidence:
            g = e.group
            t.add_row(g.source.label, g.destination.label, g.port_spec, str(g.count), e.need)
        con.print(t)
        con.print(f"suggested profile: [bold]{sug.profile}[/] (gateways: {', '.join(sug.gateways) or 'none'}; "
                  f"internet egress: {'yes' if sug.internet_egress else 'no'})")
        for n in sug.review:
            con.print(f"[yellow]review:[/] {n}")
        for n in sug.notes:
            con.print(f"note: {n}", markup=False)
        if sug.stack is not None:
            if sug.current:
                con.print(f"current declaration in stack {sug.stack}: {sug.current}", markup=False)
            if sug.verified:
                con.print("verified: with this declaration the engine allows every observed flow")
            elif sug.verified is False:
                con.print("NOT verified: still denied: " + "; ".join(sug.still_denied), markup=False)
        con.print("Commit to Pulumi.<stack>.yaml:", markup=False)
        con.print(sug.yaml.rstrip(), markup=False)
        return EXIT_OK

    answers = {"internet": internet, "internal": internal, "external_apis": external_apis}
    if all(v is None for v in answers.values()):
        tree = [
            "Answer three questions (flags), smallest profile first:",
            *[f"  --{k.replace('_', '-')}/--no-{k.replace('_', '-')}: {q}" for k, q in QUESTIONS],
            "",
            "  reached from the internet?                         -> standard",
            "  internal gateway + calls external APIs?            -> internal-egress",
            "  internal gateway only?                             -> internal",
            "  none                                               -> isolated",
            "",
            "Or: netpol profile --from-flows FILE --namespace NS [--stack S]",
        ]
        if as_json:
            _json({"questions": [{"flag": k, "question": q} for k, q in QUESTIONS], "tree": tree[4:8]})
        else:
            sys.stdout.write("\n".join(tree) + "\n")
        return EXIT_OK
    assumed = [k for k, v in answers.items() if v is None]
    profile, why = decide_profile(bool(internet), bool(internal), bool(external_apis))
    ns = namespace or "my-app"
    entry: dict = {"profile": profile}
    current = None
    if cfg is not None and ns in cfg.namespaces:
        from netpol.triage.fixes import declaration

        current = declaration(cfg, ns)
        entry = {**current, "profile": profile}  # keep access, talksTo, ...: only the profile changes
    out = {"namespace": ns, "profile": profile, "answers": {k: bool(v) for k, v in answers.items()},
           "assumed_no": assumed, "why": why, "declaration": entry, "yaml": namespace_yaml(ns, entry)}
    if current is not None:
        out["current"] = current
    if as_json:
        _json(out)
        return EXIT_OK
    lines = [f"profile: {profile}"] + [f"  - {w}" for w in why]
    if assumed:
        lines.append("  (not answered, taken as no: " + ", ".join("--" + a.replace("_", "-") for a in assumed) + ")")
    if current is not None:
        lines.append(f"current declaration of {ns} in stack {stack}: profile {current.get('profile')}")
    lines += ["", f"Commit to Pulumi.{stack or '<stack>'}.yaml:", out["yaml"].rstrip()]
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK
