"""A group's samples read into typed structs (`_note_line`) are what the dict reading (`_note` of
the whole line as a dict, the reader before it) collects, line for line.

Lines: every real Hubble line in ../shared/hubble-flows/ and every fixture line, then hypothesis
variations of a flow whose sample fields (pod names, destination names, the IP block, the deny
policies, the `flow` envelope) take other JSON types and values, including ones Hubble never prints
(numbers, nulls, nested lists, empty strings): the typed reading must fall back to the dict one
there, so both agree on every line. The oracle is the dict reading; each line is noted twice into a
group that already holds samples, so duplicates and the MAX_SAMPLES caps are exercised too.
"""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import ROOT

from netpol.triage import flows as F

FIXTURES = ROOT / "tests" / "triage" / "fixtures"
SHARED = ROOT.parent / "shared"  # ../shared beside the checkout


def _group(seed: int) -> F.RawGroup:
    g = F.RawGroup(src={}, dst={}, direction="EGRESS", port=443, protocol="TCP")
    for i in range(seed):  # some samples already there: caps and duplicates in play
        g.src_pods.append(f"pod-{i}")
        g.names.append(f"n{i}.example.com")
        g.denied_by.append(f"CiliumNetworkPolicy/ns/p{i}")
    return g


def _state(g: F.RawGroup) -> tuple:
    return g.src_pods, g.dst_pods, g.names, g.ips, g.denied_by


def _same(line: bytes, seed: int = 0) -> None:
    typed, by_dict = _group(seed), _group(seed)
    for _ in range(2):
        F._note_line(typed, line)
        F._note(by_dict, F._flow_dict(line))
    assert _state(typed) == _state(by_dict), line[:300]


def _lines():
    paths = sorted((SHARED / "hubble-flows").glob("*.jsonl")) + sorted(FIXTURES.rglob("*.json*"))
    assert paths
    for p in paths:
        for line in p.read_bytes().splitlines(keepends=True):
            if line.strip():
                yield line


def test_real_and_fixture_lines():
    n = 0
    for line in _lines():
        for seed in (0, 3, 5):
            _same(line, seed)
        n += 1
    assert n > 50


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 70000) | st.text(max_size=12),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                     max_leaves=6)
_NAME = st.sampled_from(["api.github.com.", "", ".", "x.example.com", "api.github.com"]) | st.text(max_size=10)
_POLICY = st.fixed_dictionaries({}, optional={"name": st.text(max_size=6) | _JSON, "namespace": st.text(max_size=6) | _JSON,
                                              "kind": st.sampled_from(["CiliumNetworkPolicy", ""]) | _JSON})
_ENDPOINT = st.fixed_dictionaries({}, optional={"pod_name": st.text(max_size=8) | _JSON, "podName": st.text(max_size=8) | _JSON,
                                                "namespace": st.sampled_from(["", "app"]) | _JSON})
_FLOW = st.fixed_dictionaries({}, optional={
    "source": _ENDPOINT | _JSON, "destination": _ENDPOINT | _JSON,
    "destination_names": st.lists(_NAME, max_size=7) | _JSON, "destinationNames": st.lists(_NAME, max_size=7) | _JSON,
    "IP": st.fixed_dictionaries({}, optional={"destination": st.text(max_size=8) | _JSON}) | _JSON,
    "egress_denied_by": st.lists(_POLICY, max_size=7) | _JSON, "ingress_denied_by": st.lists(_POLICY, max_size=3) | _JSON,
    "egressDeniedBy": st.lists(_POLICY, max_size=3), "ingressDeniedBy": st.lists(_POLICY, max_size=3),
    "verdict": st.just("DROPPED"),
})


@settings(max_examples=400, deadline=None)
@given(flow=_FLOW, wrap=st.sampled_from(["bare", "flow", "flow-null", "array"]), seed=st.integers(0, 5))
def test_any_sample_field_types(flow, wrap, seed):
    obj = {"bare": flow, "flow": {"flow": flow, "node_name": "n"}, "flow-null": {**flow, "flow": None},
           "array": [flow]}[wrap]
    _same(orjson.dumps(obj) + b"\n", seed)
