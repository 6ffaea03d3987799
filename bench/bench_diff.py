"""Benchmark `netpol diff` between two git revisions of a 1,000-namespace stack (target ≤ 5 s).

    .venv/bin/python bench/bench_diff.py [--namespaces 1000] [--runs 3]

Builds a temporary git repository holding this checkout's netpol code and a synthetic stack
(`bench/_synthetic.py`: N app namespaces on the live stack's platform set), commits it, changes a
few namespaces (two profiles, an access label added, one removed, a namespace added, one deleted),
commits again, and times `diff_stack(stack, base=HEAD~1, head=HEAD)` end to end: materialising both
revisions with `git archive`, building each with its own code in a subprocess (in parallel),
taking the union of the flow sets and evaluating both. Prints the median of the runs, the flows
evaluated (both revisions) and the changes found.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import yaml  # noqa: E402

from _synthetic import write_stack  # noqa: E402
from netpol.diff import diff_stack  # noqa: E402

STACK = "bench"
TARGET_S = 5.0


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=bench", "-c", "user.email=bench@example.invalid",
                    *args], check=True, capture_output=True)


def make_repo(n: int, where: Path) -> Path:
    repo = where / "repo"
    write_stack(n, repo, STACK)
    shutil.copytree(ROOT / "netpol", repo / "netpol", ignore=shutil.ignore_patterns("__pycache__"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    path = repo / f"Pulumi.{STACK}.yaml"
    doc = yaml.safe_load(path.read_text())
    apps = doc["config"]["netpol:namespaces"]
    apps["app-00001"]["profile"] = "standard"  # internal -> standard
    apps["app-00003"]["profile"] = "isolated"  # standard -> isolated
    apps["app-00002"]["access"] = sorted(set(apps["app-00002"]["access"]) | {"garage-s3"})
    apps["app-00006"]["access"] = []  # drops postgres
    apps["app-new"] = {"profile": "internal", "access": ["dragonfly"]}
    del apps["app-00010"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    _git(repo, "commit", "-q", "-am", "head")
    return repo


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--namespaces", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="netpol-bench-diff-") as tmp:
        repo = make_repo(args.namespaces, Path(tmp))
        times, result = [], None
        for _ in range(args.runs):
            t0 = time.perf_counter()
            result = diff_stack(STACK, base="HEAD~1", head="HEAD", root=repo)
            times.append(time.perf_counter() - t0)
        assert result is not None
        med = statistics.median(times)
        print(f"netpol diff, {args.namespaces} app namespaces, two git revisions (HEAD~1 -> HEAD)")
        print(f"  runs:             {', '.join(f'{t:.2f}s' for t in times)}")
        print(f"  median:           {med:.2f}s (target <= {TARGET_S:.0f}s)")
        print(f"  flows evaluated:  {result.flows_evaluated} ({result.flows_evaluated // 2} flows x 2 revisions)")
        print(f"  changes:          +{len(result.opened)} opened, -{len(result.closed)} closed; exit {result.exit_code}")
        return 0 if med <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
