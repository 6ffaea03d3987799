"""policies/conversions.py and pack.manifest_of: pulumi-policy's conversions, memoized per message.

The oracle is pulumi-policy itself without the memo: every Analyze, Remediate and AnalyzeStack
response of the pack's own servicer, in process, must be the same protobuf with the memo installed
as without it, on the example stacks (as the program registers them under the SDK mocks) and on
every violation case of the pack's tests. And the memo must actually be hit (else it is dead code).
"""

from __future__ import annotations

import gc

import pytest
from pulumi_policy import EnforcementLevel
from pulumi_policy import policy as pp
from pulumi_policy.version import VERSION

import policies.pack as pack
from analyzer_harness import analyze_request, from_mock_resources, stack_request
from policies import conversions
from policies.adapter import to_manifest
from pack_cases import CASES
from program_mocks import register_stack
from test_pack_grpc import case_resources


def servicer():
    return pp._PolicyAnalyzerServicer(pack.PACK_NAME, "0.0.1", pack.build_policies(), EnforcementLevel.MANDATORY,
                                      None, None, None, None, None, None, None)


def responses(resources) -> list[bytes]:
    """Every response the engine would get for these resources, serialized deterministically."""
    sv = servicer()
    out = []
    for r in resources:
        req = analyze_request(r)
        out.append(sv.Remediate(req, None).SerializeToString(deterministic=True))
        out.append(sv.Analyze(req, None).SerializeToString(deterministic=True))
    out.append(sv.AnalyzeStack(stack_request(resources), None).SerializeToString(deterministic=True))
    return out


def resource_sets():
    for stack in ("dev", "integration", "live"):
        yield f"stack-{stack}", from_mock_resources(stack, register_stack(stack))
    for case in CASES:
        yield f"case-{case.id}", case_resources(case)[0]


SETS = list(resource_sets())


def test_pinned_pulumi_policy_is_the_one_the_memo_was_read_against():
    # Fails when the pin moves: re-read pulumi_policy/policy.py's Analyze, Remediate, AnalyzeStack
    # and _get_provider_resource, then move PULUMI_POLICY_VERSION (or drop the memo).
    assert VERSION == conversions.PULUMI_POLICY_VERSION


@pytest.mark.parametrize("name,resources", SETS, ids=[s[0] for s in SETS])
def test_responses_are_the_same_with_and_without_the_memo(name, resources, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(pack, "manifest_of", lambda props, t: to_manifest(t, props))
        plain = responses(resources)
    with conversions.installed() as ok:
        assert ok
        before = pack.manifest_of.hits
        memoized = responses(resources)
        converted, adapted = pp.json_format.MessageToDict.hits, pack.manifest_of.hits - before
        assert all(not m.entries for m in conversions.MEMOS), "a request's memos outlive it"
    assert memoized == plain
    if any(r.type.startswith("kubernetes:") for r in resources):
        assert converted > 0 and adapted > 0, "the memo was never hit"
    assert not isinstance(pp.json_format, conversions._JsonFormat), "installed() puts the SDK back"
    assert not hasattr(pp._PolicyAnalyzerServicer.Analyze, "_netpol_scoped")


def test_a_handler_runs_with_gc_paused_and_leaves_it_on_and_the_memos_empty_even_when_it_raises():
    seen = []
    memo = conversions.IdentityMemo(lambda x: object())

    def handler(self, request, context):
        seen.append(gc.isenabled())
        memo(request)
        assert memo.entries
        raise RuntimeError("boom")

    scoped = conversions.request_scoped(handler)
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="boom"):
        scoped(None, object(), None)
    assert seen == [False] and gc.isenabled() and not memo.entries


def test_install_is_refused_on_another_pulumi_policy(monkeypatch):
    monkeypatch.setattr(conversions, "PULUMI_POLICY_VERSION", "0.0.0")
    with conversions.installed() as ok:
        assert ok is False
        assert not isinstance(pp.json_format, conversions._JsonFormat)
        assert not hasattr(pp._PolicyAnalyzerServicer.AnalyzeStack, "_netpol_scoped")


def test_identity_memo_keys_on_the_object_not_its_value():
    calls = []
    memo = conversions.IdentityMemo(lambda x, flag=False: calls.append((x, flag)) or len(calls), limit=3)
    a, b = {"k": 1}, {"k": 1}
    assert memo(a) == 1 and memo(a) == 1          # same object: remembered
    assert memo(b) == 2                           # equal but distinct object: converted again
    assert memo(a, True) == 3                     # another argument: another entry
    assert memo(b) == 2 and memo.hits == 2
    memo({"k": 2})                                # a fourth entry: the memo starts over ...
    assert len(memo.entries) == 1
    assert memo(a) == 5                           # ... and converts again (a cache, not a store)
