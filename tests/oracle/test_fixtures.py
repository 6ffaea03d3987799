"""Replay every disagreement the differential tests found, shrunk, as a fixture:
fixtures/<name>/{policies/, inventory.yaml, queries.txt, expected.txt, README}. expected.txt is
Cilium's verdict (cilium-verdict output); netpol must print exactly the same lines — or, where
netpol differs on purpose or the fix belongs to another module (README says which), exactly the
lines of netpol.txt — and the oracle must still print expected.txt (a Cilium upgrade that changes
one shows up here)."""

from __future__ import annotations

import pytest

from oracle_run import FIXTURES, run_netpol, run_oracle

CASES = sorted(p for p in FIXTURES.iterdir() if (p / "queries.txt").exists()) if FIXTURES.exists() else []


def test_fixtures_exist():
    assert CASES, "no regression fixtures under tests/oracle/fixtures"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture_replays(cilium_verdict, case):
    pol, inv, q = case / "policies", case / "inventory.yaml", case / "queries.txt"
    expected = (case / "expected.txt").read_text().splitlines()
    theirs, _ = run_oracle(pol, inv, q, cilium_verdict)
    assert theirs == expected, "Cilium's verdict changed (oracle upgrade?)"
    ours, _ = run_netpol(pol, inv, q)
    known = case / "netpol.txt"
    assert ours == (known.read_text().splitlines() if known.exists() else expected)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_oracle_fast_path_is_lookupflow(cilium_verdict, case):
    """cilium-verdict distills each identity's policy once; CILIUM_VERDICT_LOOKUPFLOW=1 calls
    Cilium's own policy.LookupFlow per query instead. Both print the same verdicts."""
    import os
    import subprocess

    args = [str(cilium_verdict), str(case / "policies"), str(case / "inventory.yaml"), str(case / "queries.txt")]
    slow = subprocess.run(args, capture_output=True, text=True, check=True,
                          env={**os.environ, "CILIUM_VERDICT_LOOKUPFLOW": "1"}).stdout
    assert slow.splitlines() == (case / "expected.txt").read_text().splitlines()
