"""`netpol reach` and `netpol explain`: plain functions the typer app wires up.

    netpol reach   --policies DIR --inventory FILE SRC DST PORT[/PROTO] [--json]
    netpol explain --policies DIR --inventory FILE SRC DST PORT[/PROTO] [--json]
    netpol reach   --stack STACK SRC DST PORT[/PROTO]
    netpol reach   (--policies DIR --inventory FILE | --stack STACK) --queries FILE
    netpol reach   --kubeconfig PATH [--context NAME] [--namespace NS]... SRC DST PORT  (a live cluster)

Exit codes: 0 ALLOWED, 1 DENIED, 2 bad input (a one-line error on stderr). With --queries: 0 when
every line was evaluated (whatever the verdicts), 2 on bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable

from netpol.apis import PROTOCOLS
from netpol.reach.endpoints import resolve_endpoint
from netpol.reach.engine import PolicySet, Verdict, explain_text
from netpol.reach.errors import ReachInputError
from netpol.reach.inventory import Inventory, load_inventory

EXIT_ALLOWED, EXIT_DENIED, EXIT_BAD_INPUT = 0, 1, 2
PROTOCOLS_HELP = ", ".join(PROTOCOLS)


def parse_port(spec: str) -> tuple[int, str]:
    """`N` or `N/PROTO` -> (port, PROTO); TCP when no protocol is given."""
    s = str(spec).strip()
    port_s, _, proto = s.partition("/")
    proto = (proto or "TCP").upper()
    if not port_s.isdigit() or not 0 <= int(port_s) <= 65535:
        raise ReachInputError(f"bad port {spec!r}; valid: N or N/PROTO with N in 0-65535 and PROTO one of "
                              f"{PROTOCOLS_HELP}, e.g. 8080 or 53/UDP")
    if proto not in PROTOCOLS:
        raise ReachInputError(f"bad protocol {proto!r} in port {spec!r}; valid: {PROTOCOLS_HELP}")
    return int(port_s), proto


def load_inputs(policies: Path | None, inventory: Path | None, stack: str | None,
                live=None) -> tuple[PolicySet, Inventory]:
    if live is not None:  # --kubeconfig/--context: netpol.live.LiveSource
        if stack is not None or policies is not None or inventory is not None:
            raise ReachInputError("give one of --kubeconfig/--context (a live cluster), --stack STACK, or "
                                  "--policies DIR --inventory FILE")
        return live.load()
    if stack is not None:
        if policies is not None or inventory is not None:
            raise ReachInputError("give either --stack STACK or --policies DIR --inventory FILE, not both")
        from netpol.config import ConfigError
        from netpol.stack import stack_inputs

        try:
            manifests, inv = stack_inputs(stack)
        except ReachInputError:
            raise
        except (ConfigError, OSError, ValueError) as e:  # the stack's own config errors: exit 2
            raise ReachInputError(f"stack {stack!r}: {e}") from None
        return PolicySet.from_manifests(manifests, source=f"stack {stack}"), inv
    missing = [flag for flag, v in (("--policies DIR", policies), ("--inventory FILE", inventory)) if v is None]
    if missing:
        raise ReachInputError(f"missing {' and '.join(missing)}; give --policies DIR --inventory FILE, "
                              "or --stack STACK")
    assert policies is not None and inventory is not None
    inv = load_inventory(inventory)
    return PolicySet.from_dir(policies), inv


def _run(policies: Path | None, inventory: Path | None, stack: str | None, src: str, dst: str, port: str,
         as_json: bool, render: Callable[[Verdict], str], live=None) -> int:
    try:
        port_n, proto = parse_port(port)
        ps, inv = load_inputs(policies, inventory, stack, live)
        s, d = resolve_endpoint(src, inv), resolve_endpoint(dst, inv)
        verdict = ps.evaluate(s, d, port_n, proto)
    except ReachInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for w in ps.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if as_json:
        print(json.dumps(verdict.to_json(), indent=2))
    else:
        print(render(verdict), end="")
        if render is _summary:
            for n in meaning_notes(verdict, ps):
                print(f"  note: {n}")
    return EXIT_ALLOWED if verdict.allowed else EXIT_DENIED


# Notes that change what a verdict means: something the engine could not model (the verdict may be
# wrong), a policy left out because Kubernetes or Cilium refuses it (it never applies), a field whose
# meaning depends on the Cilium version, a NetworkPolicy whose policyTypes Cilium reads differently.
MEANING_MARKERS = ("unsupported:", "unmodelled", "not evaluated", "cannot be resolved", "does not parse",
                   "Requires", "invalid", "policyTypes", "ipBlock", "matches nothing", "L7 (")


def meaning_notes(verdict: Verdict, ps: PolicySet) -> list[str]:
    """The notes `netpol reach` prints under its verdict (explain prints every note)."""
    out: list[str] = []
    for side in (verdict.egress, verdict.ingress):
        out += [n for n in side.notes if any(m in n for m in MEANING_MARKERS)]
    report = ps.load_report
    if report is not None:
        out += [f"left out of the verdict (invalid): {i}" for i in report.invalid]
        out += [f"not read: {u}" for u in report.unreadable]
    seen: dict[str, None] = {}
    for n in out:
        seen.setdefault(n, None)
    return list(seen)


def _summary(v: Verdict) -> str:
    lines = [f"{v.verdict}: {v.src} -> {v.dst} {v.port}/{v.protocol}"]
    for name, side in (("egress", v.egress), ("ingress", v.ingress)):
        where = f" by {side.policy} {side.rule}" if side.policy else ""
        l7 = f" (L7: {side.l7})" if side.l7 else ""
        lines.append(f"  {name:<7} {'allow' if side.allowed else 'deny'}: {side.reason}{where}{l7}")
    return "\n".join(lines) + "\n"


def reach_command(policies: Path | None, inventory: Path | None, stack: str | None, src: str, dst: str,
                  port: str, as_json: bool = False, live=None) -> int:
    """Print the verdict for one flow; return 0 ALLOWED, 1 DENIED, 2 bad input."""
    return _run(policies, inventory, stack, src, dst, port, as_json, _summary, live)


def explain_command(policies: Path | None, inventory: Path | None, stack: str | None, src: str, dst: str,
                    port: str, as_json: bool = False, live=None) -> int:
    """Like reach_command, printing every policy selecting each end and the deciding rule."""
    return _run(policies, inventory, stack, src, dst, port, as_json, explain_text, live)


# --- batch queries (--queries FILE): the format tools/cilium-verdict speaks too ----------------

def parse_query_lines(text: str, where: str = "<queries>") -> list[tuple[str, str, int, str]]:
    """`FROM TO PORT/PROTO` per line (blank lines and `#` comments skipped) -> (from, to, port,
    PROTO). A bare port means TCP. Bad lines raise ReachInputError naming the line."""
    out: list[tuple[str, str, int, str]] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 3:
            raise ReachInputError(f"{where}:{n}: want 'FROM TO PORT/PROTO', got {line!r}")
        try:
            port, proto = parse_port(fields[2])
        except ReachInputError as e:
            raise ReachInputError(f"{where}:{n}: {e}") from None
        out.append((fields[0], fields[1], port, proto))
    return out


def evaluate_queries(ps: PolicySet, inv: Inventory, queries: list[tuple[str, str, int, str]]) -> list[str]:
    """One `FROM TO PORT/PROTO ALLOWED|DENIED` line per query, in order (endpoints as written)."""
    lines = []
    for src, dst, port, proto in queries:
        v = ps.evaluate(resolve_endpoint(src, inv), resolve_endpoint(dst, inv), port, proto)
        lines.append(f"{src} {dst} {port}/{proto} {v.verdict}")
    return lines


def queries_command(policies: Path | None, inventory: Path | None, stack: str | None, queries: Path,
                    live=None) -> int:
    """Evaluate every line of QUERIES in one process; print one verdict line each. Exit 0 when every
    line was evaluated, 2 on bad input (nothing is printed then)."""
    try:
        try:
            text = Path(queries).read_text(encoding="utf-8")
        except OSError as e:
            raise ReachInputError(f"{queries}: cannot read queries file: {e.strerror or e}") from None
        parsed = parse_query_lines(text, str(queries))
        ps, inv = load_inputs(policies, inventory, stack, live)
        lines = evaluate_queries(ps, inv, parsed)
    except ReachInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for w in ps.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if lines:
        print("\n".join(lines))
    return EXIT_ALLOWED
