"""Run one case through both engines: netpol's (in process, the `netpol reach --queries` code path)
and Cilium's (`.tools/bin/cilium-verdict`, one process per case, every query in one batch)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from netpol.commands.reach import evaluate_queries, load_inputs, parse_query_lines

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BINARY = REPO / ".tools" / "bin" / "cilium-verdict"
BUILD = REPO / "tools" / "cilium-verdict" / "build.sh"
FIXTURES = HERE / "fixtures"
# The last disagreeing case a test saw: after Hypothesis shrinks, the minimal one. Copy it to
# fixtures/<name>/ to keep it as a regression test.
FAILURES = Path(os.environ.get("ORACLE_FAILURES_DIR", HERE / ".failures"))


@dataclass
class Case:
    inventory: dict
    docs: list[dict]
    queries: list[str]

    def write(self, d: Path) -> tuple[Path, Path, Path]:
        d.mkdir(parents=True, exist_ok=True)
        pol = d / "policies"
        pol.mkdir(exist_ok=True)
        (pol / "policies.yaml").write_text(yaml.safe_dump_all(self.docs, sort_keys=False))
        inv = d / "inventory.yaml"
        inv.write_text(yaml.safe_dump(self.inventory, sort_keys=False))
        q = d / "queries.txt"
        q.write_text("\n".join(self.queries) + "\n")
        return pol, inv, q

    @classmethod
    def read(cls, d: Path) -> "Case":
        docs = [x for x in yaml.safe_load_all((d / "policies" / "policies.yaml").read_text()) if x]
        inv = yaml.safe_load((d / "inventory.yaml").read_text())
        qs = [ln.strip() for ln in (d / "queries.txt").read_text().splitlines()
              if ln.strip() and not ln.startswith("#")]
        return cls(inv, docs, qs)


def build_oracle() -> Path:
    """Build the binary when missing or of another version (build.sh is idempotent)."""
    subprocess.run(["bash", str(BUILD)], check=True, timeout=3600)
    return BINARY


def run_oracle(pol: Path, inv: Path, q: Path, binary: Path = BINARY) -> tuple[list[str], str]:
    r = subprocess.run([str(binary), str(pol), str(inv), str(q)], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"cilium-verdict exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout.splitlines(), r.stderr


def run_netpol(pol: Path, inv: Path, q: Path) -> tuple[list[str], list[str]]:
    parsed = parse_query_lines(q.read_text(), str(q))
    ps, inventory = load_inputs(pol, inv, None)
    return evaluate_queries(ps, inventory, parsed), list(ps.warnings)


def compare(case: Case, workdir: Path, binary: Path = BINARY) -> list[tuple[str, str, str]]:
    """[(query, netpol verdict, cilium verdict)] for every query where they differ."""
    pol, inv, q = case.write(workdir)
    ours, our_warnings = run_netpol(pol, inv, q)
    theirs, stderr = run_oracle(pol, inv, q, binary)
    assert "warning" not in stderr, f"Cilium's parser refused a generated document: {stderr}"
    assert our_warnings == [], f"netpol refused a generated document: {our_warnings}"
    assert len(ours) == len(theirs) == len(case.queries)
    diffs = []
    for query, a, b in zip(case.queries, ours, theirs):
        assert a.rsplit(" ", 1)[0] == b.rsplit(" ", 1)[0], (a, b)
        if a != b:
            diffs.append((query, a.rsplit(" ", 1)[1], b.rsplit(" ", 1)[1]))
    if diffs:
        save_failure(case, diffs)
    return diffs


def save_failure(case: Case, diffs: list[tuple[str, str, str]]) -> None:
    last = FAILURES / ("last-" + os.environ.get("PYTEST_XDIST_WORKER", "main"))
    shutil.rmtree(last, ignore_errors=True)
    Case(case.inventory, case.docs, [d[0] for d in diffs]).write(last)
    (last / "verdicts.txt").write_text("".join(f"{q}  netpol={a} cilium={b}\n" for q, a, b in diffs))


def describe(case: Case, diffs: list[tuple[str, str, str]]) -> str:
    lines = [f"{len(diffs)} disagreement(s) (netpol vs cilium-verdict):"]
    lines += [f"  {q}: netpol {a}, cilium {b}" for q, a, b in diffs[:10]]
    lines += ["policies:", yaml.safe_dump_all(case.docs, sort_keys=False),
              "inventory:", yaml.safe_dump(case.inventory, sort_keys=False),
              f"(saved under {FAILURES}/last-*)"]
    return "\n".join(lines)


def save_fixture(name: str, src: Path, why: str) -> Path:
    """Keep a (shrunk) disagreement as fixtures/<name>/: the case, Cilium's verdicts as
    expected.txt, netpol's current verdicts as netpol.txt when they still differ by design, and
    README (why). Run: python -c 'from oracle_run import save_fixture; ...' from tests/oracle."""
    case = Case.read(src)
    dest = FIXTURES / name
    shutil.rmtree(dest, ignore_errors=True)
    pol, inv, q = case.write(dest)
    theirs, _ = run_oracle(pol, inv, q)
    (dest / "expected.txt").write_text("\n".join(theirs) + "\n")
    ours, _ = run_netpol(pol, inv, q)
    if ours != theirs:
        (dest / "netpol.txt").write_text("\n".join(ours) + "\n")
    (dest / "README").write_text(why.strip() + "\n")
    return dest
