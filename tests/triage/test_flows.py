"""The streaming Hubble reader: both shapes, malformed lines, non-flow events, constant memory."""

from __future__ import annotations

import io
import tracemalloc

import orjson
import pytest
from triage_helpers import by_key, fixture_bytes, run_triage

from netpol.triage import scan_all, scan_drops
import hubble_synth as S
from netpol.triage.flows import MAX_MALFORMED_LINES, FlowInputError, open_input


def test_mixed_file_counts(dev, verifier):
    from make_fixtures import MIXED_MALFORMED

    r = run_triage(dev, "mixed.jsonl", verifier)
    j = r.to_json()
    assert j["malformed_lines"] == list(MIXED_MALFORMED)
    assert j["malformed_count"] == 3
    assert j["non_flow_lines"] == 2  # node_status, lost_events
    assert j["skipped_lines"] == 5
    assert j["flows_read"] == 7  # the blank line is no line at all
    assert j["policy_drops"] == 5  # DROPPED x4 + AUDIT x1
    keys = by_key(r)
    # lines 1, 7 (envelope) + line 10 (AUDIT, envelope): one group
    assert keys[("EGRESS", "batch-jobs", "database/postgres", 5432, "TCP")]["count"] == 3
    # lines 2 and 12: the bare flow shape
    assert keys[("EGRESS", "dashboard", "world", 443, "TCP")]["count"] == 2
    assert len(keys) == 2


def test_both_shapes_give_the_same_groups(dev, verifier):
    lines = fixture_bytes("egress_drops.jsonl").splitlines(keepends=True)
    bare = b"".join(orjson.dumps(orjson.loads(ln)["flow"]) + b"\n" for ln in lines)
    a = run_triage(dev, "egress_drops.jsonl", verifier).to_json()
    from netpol.triage import triage

    b = triage(dev, io.BytesIO(bare), verifier).to_json()
    assert a == b


def test_camel_case_field_names(dev, verifier):
    """protojson's default (lowerCamelCase) spelling of the fields triage reads."""
    from netpol.triage import triage

    f = S.flow(S.app_pod(dev, "batch-jobs"), S.postgres(dev), 5432)
    f["trafficDirection"] = f.pop("traffic_direction")
    f["dropReasonDesc"] = f.pop("drop_reason_desc")
    f["l4"]["TCP"]["destinationPort"] = f["l4"]["TCP"].pop("destination_port")
    r = triage(dev, io.BytesIO(S.line(f)), verifier)
    assert [(x.cause, x.group.direction, x.group.port) for x in r.findings] == [("missing-access-label", "EGRESS", 5432)]


def test_malformed_line_numbers_are_capped_but_counted():
    good = S.line({"flow": {"verdict": "FORWARDED"}})
    data = b"".join((b"not json at all\n" if i % 2 else good) for i in range(1, 201))
    stats, groups = scan_drops(io.BytesIO(data))
    assert stats.malformed_count == 100
    assert stats.malformed_lines == list(range(1, 2 * MAX_MALFORMED_LINES, 2))
    assert stats.flows_read == 100
    assert groups == {}


def test_a_malformed_drop_line_is_counted_not_fatal():
    data = b'{"flow":{"verdict":"DROPPED",\n' + b'["DROPPED"]\n' + b'"DROPPED"\n'
    stats, groups = scan_drops(io.BytesIO(data))
    assert stats.malformed_lines == [1]
    assert stats.non_flow_lines == 2  # valid JSON that is no flow object
    assert groups == {}


def test_numeric_drop_reason_of_old_hubble():
    f = S.flow(S.entity("world"), S.entity("host"), 22)
    del f["drop_reason_desc"]
    stats, groups = scan_drops(io.BytesIO(S.line(f)))
    assert stats.policy_drops == 1
    f["drop_reason"] = 151
    stats, groups = scan_drops(io.BytesIO(S.line(f)))
    assert stats.policy_drops == 0 and stats.other_drops == {"151": 1}


def test_scan_all_filters_by_namespace_and_skips_replies(dev):
    stats, groups = scan_all(io.BytesIO(fixture_bytes("verify_dashboard.jsonl")), namespace="dashboard")
    assert stats.flows_read == 23
    assert stats.replies_skipped == 3
    assert sum(g.count for g in groups.values()) == 20
    stats, groups = scan_all(io.BytesIO(fixture_bytes("verify_dashboard.jsonl")), namespace="paperless")
    assert groups == {}
    assert stats.flows_read == 23  # every line is still read and counted


class _Lines:
    """A non-seekable stream of `n` flow lines made from a few templates (nothing held in memory)."""

    def __init__(self, templates: list[bytes], n: int):
        self.templates, self.n = templates, n

    def __iter__(self):
        t = self.templates
        for i in range(self.n):
            yield t[i % len(t)]


def _templates(dev) -> list[bytes]:
    out = []
    for i, ns in enumerate(dev.namespaces):
        src = S.app_pod(dev, ns)
        out.append(S.line(S.envelope(S.flow(src, S.postgres(dev), 5432, seq=i))))
        out.append(S.line(S.envelope(S.flow(src, S.entity("world"), 443, seq=i, names=[f"api{i}.example.com"]))))
        out.append(S.line(S.flow(src, S.kube_dns(dev), 53, "UDP", seq=i, verdict="FORWARDED")))
    return out


def test_constant_memory(dev):
    """Peak memory of the reader does not grow with the input: 10x the flows, same peak."""
    t = _templates(dev)

    def peak(n: int) -> tuple[int, int]:
        tracemalloc.start()
        stats, groups = scan_drops(_Lines(t, n))
        _, p = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert stats.flows_read == n
        return p, len(groups)

    small, g1 = peak(5_000)
    large, g2 = peak(50_000)
    assert g1 == g2 == 14  # 7 namespaces x (postgres, world)
    assert large < small * 1.5 + 64_000, (small, large)
    assert large < 8_000_000  # a few 1 MiB read buffers, whatever the input size


def test_open_input_errors(tmp_path):
    with pytest.raises(FlowInputError, match="no such file"):
        open_input(tmp_path / "missing.jsonl")
    with pytest.raises(FlowInputError, match="is a directory"):
        open_input(tmp_path)


def test_wrong_field_types_are_malformed_not_fatal(dev):
    good = S.flow(S.app_pod(dev, "batch-jobs"), S.postgres(dev), 5432)
    bad_l4 = {**good, "l4": "TCP"}
    bad_src = {**good, "source": ["batch-jobs"]}
    bad_ident = {**good, "source": {**good["source"], "identity": {"id": 1}}}
    bad_names = {**good, "destination_names": 7}  # a sample field: ignored, the flow still counts
    data = b"".join(S.line(x) for x in (good, bad_l4, bad_src, bad_ident, bad_names))
    stats, groups = scan_drops(io.BytesIO(data))
    assert stats.malformed_lines == [2, 3, 4]
    assert stats.flows_read == 2 and stats.policy_drops == 2
    assert sum(g.count for g in groups.values()) == 2
    stats, groups = scan_all(io.BytesIO(data), namespace="batch-jobs")
    assert stats.malformed_lines == [2, 3, 4]
    assert sum(g.count for g in groups.values()) == 2
