"""Differential tests: `netpol reach --queries` agrees with Cilium's own engine (cilium-verdict,
github.com/cilium/cilium v1.20.2 pkg/policy) on every verdict.

Hypothesis generates inventories and policy sets (CNP/CCNP: endpointSelectors with matchLabels and
matchExpressions In/NotIn/Exists/DoesNotExist and namespace labels, from/toEndpoints, entities,
toCIDR / toCIDRSet with except, toPorts with endPort ranges and protocols ANY/TCP/UDP/SCTP,
ingressDeny/egressDeny, `{}` rules, empty lists, enableDefaultDeny; Kubernetes NetworkPolicy:
podSelector/namespaceSelector, ipBlock with except, ports with endPort, policyTypes), and every
case is evaluated in one cilium-verdict process (all queries as one batch).

Budget (CI, deterministic: derandomize=True): EXAMPLES sets per test, 3 tests = 210 policy sets,
about 190 queries each (~40k verdicts compared); `pytest -n 2 tests/oracle` takes ~50 s on the
shared 2-core machine (one cilium-verdict process per set, ~0.1 s of which is its start-up).
A disagreement is saved (shrunk) under tests/oracle/.failures/last-*/; keep it as a fixture under
fixtures/<name>/ (test_fixtures.py replays it).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from oracle_gen import all_queries, scenarios
from oracle_run import Case, compare, describe

EXAMPLES = 70  # per test below: 3 x 70 = 210 policy sets (+8 for the LookupFlow cross-check)

SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


def _check(case: Case, tmp_path_factory, binary) -> None:
    diffs = compare(case, tmp_path_factory.mktemp("case"), binary)
    assert not diffs, describe(case, diffs)


@SETTINGS
@given(scenarios(k8s=False))
def test_cilium_policies_agree(cilium_verdict, tmp_path_factory, scenario):
    inv, docs = scenario
    _check(Case(inv, docs, all_queries(inv)), tmp_path_factory, cilium_verdict)


@SETTINGS
@given(scenarios(k8s=True))
def test_mixed_with_networkpolicy_agree(cilium_verdict, tmp_path_factory, scenario):
    inv, docs = scenario
    _check(Case(inv, docs, all_queries(inv)), tmp_path_factory, cilium_verdict)


@settings(SETTINGS, max_examples=EXAMPLES)
@given(scenarios(k8s=False))
def test_cilium_policies_agree_more(cilium_verdict, tmp_path_factory, scenario):
    """A second deterministic sample of the CNP/CCNP space (another test name seeds it apart)."""
    inv, docs = scenario
    _check(Case(inv, docs, all_queries(inv)), tmp_path_factory, cilium_verdict)


@settings(SETTINGS, max_examples=8)
@given(scenarios(k8s=True))
def test_oracle_fast_path_is_lookupflow_on_generated_sets(cilium_verdict, tmp_path_factory, scenario):
    """The oracle's cached lookups equal Cilium's policy.LookupFlow, query by query."""
    import os
    import subprocess

    inv, docs = scenario
    pol, invp, q = Case(inv, docs, all_queries(inv)).write(tmp_path_factory.mktemp("case"))
    args = [str(cilium_verdict), str(pol), str(invp), str(q)]
    fast = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    slow = subprocess.run(args, capture_output=True, text=True, check=True,
                          env={**os.environ, "CILIUM_VERDICT_LOOKUPFLOW": "1"}).stdout
    assert fast == slow
