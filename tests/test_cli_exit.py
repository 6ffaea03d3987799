"""The `netpol` console script (`netpol.cli:main`) in a process of its own: exit codes and output pass
through, and the heap is frozen before the interpreter's teardown (its final collection skips it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "tests" / "triage" / "fixtures" / "egress_drops.jsonl"

# an exit handler registered before main() runs after its `finally`: it reports what teardown will see
PROBE = ("import atexit, gc, sys; from netpol.cli import main; "
         "atexit.register(lambda: sys.stderr.write(f'frozen={gc.get_freeze_count()}\\n')); "
         "sys.argv = ['netpol', *sys.argv[1:]]; main()")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=ROOT)


def test_output_and_exit_code_pass_through_and_the_heap_is_frozen():
    r = run("triage", "--stack", "dev", str(FLOWS), "-o", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["findings"]
    frozen = int(r.stderr.rsplit("frozen=", 1)[1])
    assert frozen > 10_000  # every object alive: modules, pydantic's schemas, the model


def test_an_error_exit_code_survives():
    r = run("triage", "--stack", "no-such-stack", str(FLOWS))
    assert r.returncode == 2
    assert "no such stack file" in r.stderr and "frozen=" in r.stderr


def test_the_console_script_is_main():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'netpol = "netpol.cli:main"' in text
