"""Property: the reader's counts do not depend on where its read blocks end.

`scan_drops` reads a file in blocks and cuts them into lines itself (netpol/triage/flows.py:
`_Input.chunks`). Hypothesis draws a sequence of line kinds (policy drops bare and wrapped, drops
with `"verdict": "DROPPED"` spaced as another JSON printer writes it, forwarded flows, an AUDIT
flow, non-policy drops, node_status events, truncated lines, blank lines, a line longer than a
block), with or without a final newline, and a block size down to a few bytes (lines cut anywhere,
several blocks per line). The oracle is the list of kinds drawn: how many flows, policy drops,
malformed lines (and their numbers) and non-flow lines the input holds. The same bytes are also read
as an iterable of lines and through a pipe-like stream without `peek`: the same counts.
"""

from __future__ import annotations

import io

import hubble_synth as S
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol.triage import flows as F
from netpol.triage import scan_drops


def _kinds_lines(dev) -> dict[str, bytes]:
    src = S.app_pod(dev, "batch-jobs")
    drop = S.flow(src, S.postgres(dev), 5432, seq=1)
    spaced = orjson.loads(S.line(S.flow(src, S.entity("world"), 443, seq=2)))
    fwd = S.flow(src, S.kube_dns(dev), 53, "UDP", seq=3, verdict="FORWARDED")
    audit = dict(S.flow(src, S.dragonfly(dev), 6379, seq=4, verdict="FORWARDED"), verdict="AUDIT")
    other = S.flow(src, S.postgres(dev), 5432, seq=5, reason="INVALID_SOURCE_IP")
    long_drop = S.flow(src, S.garage(dev), 3900, seq=6, names=[f"n{i}.example.com" for i in range(400)])
    whole = S.line(drop)
    return {
        "drop": whole,
        "wrapped": S.line(S.envelope(drop)),
        # `json.dumps` spacing: `"verdict": "DROPPED"` (a space after every colon and comma)
        "spaced": (orjson.dumps(spaced).replace(b'":', b'": ').replace(b'","', b'", "') + b"\n"),
        "long": S.line(long_drop),  # ~9 KB: longer than the smallest blocks drawn
        "forwarded": S.line(fwd),
        "audit": S.line(audit),
        "other_drop": S.line(other),
        "node_status": b'{"node_status":{"state_change":"NODE_CONNECTED","node_names":["n1"]}}\n',
        "truncated": whole[: len(whole) // 2] + b"\n",
        "blank": b"\n",
    }


def _expected(kinds: list[str], last_newline: bool) -> dict:
    flows = sum(k in ("drop", "wrapped", "spaced", "long", "forwarded", "audit", "other_drop") for k in kinds)
    drops = sum(k in ("drop", "wrapped", "spaced", "long", "audit") for k in kinds)
    malformed = [i + 1 for i, k in enumerate(kinds) if k == "truncated"]
    lines = len(kinds)
    if not last_newline and kinds and kinds[-1] == "blank":
        lines -= 1  # the input simply ends: no last line
    return {"flows_read": flows, "policy_drops": drops, "malformed_count": len(malformed),
            "malformed_lines": malformed[: F.MAX_MALFORMED_LINES], "non_flow_lines": kinds.count("node_status"),
            "lines": lines, "other_drops": {"INVALID_SOURCE_IP": kinds.count("other_drop")}
            if "other_drop" in kinds else {}}


def _counts(stats) -> dict:
    return {"flows_read": stats.flows_read, "policy_drops": stats.policy_drops,
            "malformed_count": stats.malformed_count, "malformed_lines": list(stats.malformed_lines),
            "non_flow_lines": stats.non_flow_lines, "lines": stats.lines, "other_drops": dict(stats.other_drops)}


class _Pipe(io.RawIOBase):
    """A non-seekable stream without `peek` that returns at most `step` bytes per read (a pipe)."""

    def __init__(self, data: bytes, step: int):
        self.data, self.pos, self.step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = min(len(b), self.step, len(self.data) - self.pos)
        b[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


KINDS = ["drop", "wrapped", "spaced", "long", "forwarded", "audit", "other_drop", "node_status", "truncated",
         "blank"]


_LINES: dict[str, bytes] = {}


@pytest.fixture(scope="module")
def lines_of(dev):
    """The line of each kind (kept out of hypothesis' arguments: a failure report prints those)."""
    if not _LINES:
        _LINES.update(_kinds_lines(dev))
    return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=40), block=st.integers(5, 6000),
       first=st.integers(1, 4000), last_newline=st.booleans(), data=st.data())
def test_counts_do_not_depend_on_block_boundaries(lines_of, monkeypatch, kinds, block, first, last_newline, data):
    body = b"".join(_LINES[k] for k in kinds)
    if not last_newline:
        body = body[:-1]
    expected = _expected(kinds, last_newline)
    monkeypatch.setattr(F, "CHUNK", block)
    monkeypatch.setattr(F, "BATCH_BYTES", first)
    got = [_counts(scan_drops(io.BytesIO(body))[0]),
           _counts(scan_drops(io.BufferedReader(_Pipe(body, data.draw(st.integers(1, 5000))), block))[0]),
           _counts(scan_drops(iter(body.splitlines(keepends=True)))[0])]
    for g in got:
        assert g == expected, (kinds, block, first)


def test_groups_equal_across_block_sizes(dev, monkeypatch):
    """The groups themselves (keys, counts, samples) are the same whatever the block size."""
    lines = _kinds_lines(dev)
    body = b"".join(lines[k] for k in KINDS * 30)
    ref = scan_drops(io.BytesIO(body))[1]
    for block in (7, 100, 1499, 1500, 1501, 65536):
        monkeypatch.setattr(F, "CHUNK", block)
        monkeypatch.setattr(F, "BATCH_BYTES", block)
        got = scan_drops(io.BytesIO(body))[1]
        assert {k: (g.count, g.src_pods, g.dst_pods, g.names, g.denied_by) for k, g in got.items()} == \
               {k: (g.count, g.src_pods, g.dst_pods, g.names, g.denied_by) for k, g in ref.items()}, block
