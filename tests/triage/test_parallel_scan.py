"""A big flow file read on several cores (`scan_drops_path`, `netpol triage --jobs`) gives the one-core
result exactly: every count, line number, group (first-seen order, endpoints, samples) and non-policy
drop sample. The oracle is the one-core reader (`scan_drops` over the whole file, tested on its own by
the rest of this folder); the inputs mix every kind of line the reader treats differently, so that
the parts' merge has to shift line numbers, keep first-seen order and replay samples of groups first
seen in an earlier part."""

from __future__ import annotations

import dataclasses
import os

import hubble_synth as S
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from triage_helpers import FIXTURES

from netpol.triage import flows as F

PODS = [S.pod("shop", f"web-{i}", {"app": "web"}) for i in range(7)]
DBS = [S.pod("database", f"main-{i}", {"app": "postgres"}) for i in range(3)]
WORLD = S.entity("world")


def _no_identity(ep: dict) -> dict:
    return {k: v for k, v in ep.items() if k != "identity"}


def _deny(f: dict, name: str) -> dict:
    f = dict(f, drop_reason_desc="POLICY_DENY", drop_reason=181)
    f["egress_denied_by"] = [{"name": name, "namespace": "shop", "kind": "CiliumNetworkPolicy"}]
    return f


def _kinds(seq: int, pick: int) -> bytes:
    """One input line of kind `pick` (the seq varies times, ports and pods)."""
    src, db = PODS[seq % len(PODS)], DBS[seq % len(DBS)]
    k = pick % 14
    if k <= 3:  # policy drops of a few groups, pods varying (samples)
        return S.line(S.flow(src, db if k < 2 else PODS[(seq + 3) % 7], 5432 if k < 2 else 8080 + k, seq=seq))
    if k == 4:  # a rare group: few flows, its samples spread over the parts
        return S.line(S.flow(PODS[seq % 7], S.pod("cache", f"redis-{seq % 9}", {"app": "redis"}), 6379, seq=seq))
    if k == 5:  # the hubble -o jsonpb envelope
        return S.line(S.envelope(S.flow(src, db, 5432, seq=seq)))
    if k == 6:  # no identity: keyed by labels, sampled from the dict
        return S.line(S.flow(_no_identity(src), _no_identity(db), 5432, seq=seq))
    if k == 7:  # deny rules, several policy names
        return S.line(_deny(S.flow(src, WORLD, 443, seq=seq, names=[f"api{seq % 6}.example.com"]), f"deny-{seq % 7}"))
    if k == 8:  # non-policy drops, several reasons
        return S.line(S.flow(src, db, 5432, seq=seq, reason=f"REASON_{seq % 5}"))
    if k == 9:
        return S.line(S.flow(src, db, 5432, seq=seq, verdict="FORWARDED"))
    if k == 10:  # malformed: truncated
        return S.line(S.flow(src, db, 5432, seq=seq))[:80] + b"\n"
    if k == 11:  # no flow: node_status, a JSON array, a blank line
        return (b'{"node_status":{"state":"NODE_CONNECTED"}}\n', b'[{"flow":{}}]\n', b"\n")[seq % 3]
    if k == 12:  # wrong field types
        return orjson.dumps({"verdict": "DROPPED", "source": {"identity": "x"}}) + b"\n"
    return S.line(S.flow(WORLD, src, 80, seq=seq, direction="INGRESS", dst_ip=None))


def _snapshot(stats: F.ReadStats, groups: dict) -> tuple:
    return dataclasses.asdict(stats), [(k, dataclasses.asdict(g)) for k, g in groups.items()]


def _one_core(path) -> tuple:
    with F.open_input(path) as fh:
        return _snapshot(*F.scan_drops(fh))


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(F, "PARALLEL_MIN_BYTES", 0)


def _write(tmp_path, picks: list[int], *, last_newline: bool = True):
    data = b"".join(_kinds(i, p) for i, p in enumerate(picks))
    if not last_newline:
        data = data.rstrip(b"\n")
    path = tmp_path / "flows.jsonl"
    path.write_bytes(data)
    return path


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, 13), min_size=1, max_size=700), jobs=st.integers(2, 5),
       last_newline=st.booleans())
def test_parts_merge_to_the_one_core_result(tmp_path, small_parts, picks, jobs, last_newline):
    path = _write(tmp_path, picks, last_newline=last_newline)
    assert _snapshot(*F.scan_drops_path(path, jobs=jobs)) == _one_core(path)


def test_a_group_seen_early_samples_its_later_flows(tmp_path, small_parts):
    """The rare group has 2 flows in the first part and the rest later: its samples come from the later
    parts' lines (replayed), as one core would note them."""
    picks = [4, 4] + [0, 1, 2, 3, 9] * 120 + [4] * 30
    path = _write(tmp_path, picks)
    cuts = F._parallel_plan(path, 3)
    assert cuts is not None and len(cuts) == 4
    stats, groups = F.scan_drops_path(path, jobs=3)
    assert _snapshot(stats, groups) == _one_core(path)
    rare = next(g for g in groups.values() if g.port == 6379)
    assert rare.count == 32 and len(rare.dst_pods) == 5  # 5 samples: 3 of them from the later parts


def test_many_parts_and_several_files(tmp_path, small_parts):
    """Two files read in turn: line numbers and counts go on across them, as on one core."""
    picks = [i % 14 for i in range(300) if i % 14 not in (10, 11, 12)]  # no malformed line
    a = _write(tmp_path, picks)
    b = tmp_path / "b.jsonl"
    b.write_bytes(b"".join(_kinds(i, (i * 5) % 14) for i in range(300)))
    one = F.ReadStats()
    one, g1 = F.scan_drops(F.open_input(a), one)
    one, g2 = F.scan_drops(F.open_input(b), one)
    many = F.ReadStats()
    many, h1 = F.scan_drops_path(a, many, jobs=4)
    many, h2 = F.scan_drops_path(b, many, jobs=4)
    assert _snapshot(many, h1) == _snapshot(one, g1)
    assert _snapshot(many, h2) == _snapshot(one, g2)
    assert many.malformed_lines and min(many.malformed_lines) > len(picks)  # numbered after the first file's


def test_a_failed_part_is_read_again(tmp_path, small_parts, monkeypatch):
    """A part whose process dies is read by the parent: same result."""
    path = _write(tmp_path, [i % 14 for i in range(400)])
    parent = os.getpid()
    real = F._scan_part

    def dies_in_child(*a):
        if os.getpid() != parent:
            raise RuntimeError("boom")
        return real(*a)

    monkeypatch.setattr(F, "_scan_part", dies_in_child)
    assert _snapshot(*F.scan_drops_path(path, jobs=3)) == _one_core(path)


@pytest.mark.parametrize("name, expect", [
    ("small", None), ("gz", None), ("pretty", None), ("array", None), ("lines", "parts"),
])
def test_what_is_read_on_one_core(tmp_path, monkeypatch, name, expect):
    """Only a regular, uncompressed file of lines, big enough, is cut into parts."""
    import gzip

    lines = b"".join(_kinds(i, i % 10) for i in range(200))
    path = tmp_path / name
    if name == "gz":
        path.write_bytes(gzip.compress(lines))
    elif name == "pretty":
        path.write_bytes(b"".join(orjson.dumps(orjson.loads(ln), option=orjson.OPT_INDENT_2) + b"\n"
                                  for ln in lines.splitlines()[:50]))
    elif name == "array":
        path.write_bytes(b"[" + b",".join(lines.splitlines()[:20]) + b"]\n")
    else:
        path.write_bytes(lines)
    monkeypatch.setattr(F, "PARALLEL_MIN_BYTES", 10 ** 9 if name == "small" else 0)
    plan = F._parallel_plan(path, 2)
    assert (plan is not None) == (expect == "parts")
    assert F._parallel_plan(path, 1) is None
    assert F._parallel_plan("-", 2) is None


def test_cli_jobs_give_the_same_report(tmp_path, small_parts):
    from typer.testing import CliRunner

    from netpol.cli import app

    data = b"".join((FIXTURES / n).read_bytes() for n in ("egress_drops.jsonl", "mixed.jsonl"))
    path = tmp_path / "capture.jsonl"
    path.write_bytes(data * 40)
    outs = []
    for jobs in ("1", "2", "3", "0"):
        r = CliRunner().invoke(app, ["triage", "--stack", "dev", str(path), "--json", "--jobs", jobs])
        assert r.exit_code == 0, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1] == outs[2] == outs[3]
    assert orjson.loads(outs[0])["findings"]


# --- a compressed file: decompressed by a second process, piped ---------------------------------------
def _compressed(tmp_path, kind: str, data: bytes):
    import bz2
    import gzip
    import lzma

    import zstandard

    pack = {"gzip": lambda b: gzip.compress(b, 1), "zstd": zstandard.ZstdCompressor().compress,
            "xz": lzma.compress, "bzip2": bz2.compress}[kind]
    path = tmp_path / f"flows.{kind}"
    path.write_bytes(pack(data))
    return path


@pytest.mark.parametrize("kind", ["gzip", "zstd", "xz", "bzip2"])
def test_a_compressed_file_decompressed_by_a_second_process(tmp_path, small_parts, kind):
    data = b"".join(_kinds(i, (i * 7) % 14) for i in range(600))
    path = _compressed(tmp_path, kind, data)
    assert F._compressed_file(path) == kind
    stats, groups = F.scan_drops_path(path, jobs=2)
    assert stats.compression == kind
    assert _snapshot(stats, groups) == _one_core(path)


def test_a_corrupt_compressed_file_fails_as_on_one_core(tmp_path, small_parts):
    data = b"".join(_kinds(i, i % 10) for i in range(2000))
    path = _compressed(tmp_path, "gzip", data)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 64] = b"\0" * 64  # corrupt the middle of the deflate stream
    path.write_bytes(bytes(raw))
    with pytest.raises(F.FlowInputError) as one:
        _one_core(path)
    with pytest.raises(F.FlowInputError) as two:
        F.scan_drops_path(path, jobs=2)
    assert str(two.value) == str(one.value) and "gzip" in str(one.value)


def test_a_decompressor_that_dies_leaves_the_file_to_one_core(tmp_path, small_parts, monkeypatch):
    data = b"".join(_kinds(i, i % 14) for i in range(400))
    path = _compressed(tmp_path, "zstd", data)

    def dies(*a):
        os._exit(9)

    monkeypatch.setattr(F, "_decompress_to", dies)
    stats = F.ReadStats()
    stats, groups = F.scan_drops_path(path, stats, jobs=2)
    assert _snapshot(stats, groups) == _one_core(path)


def test_small_compressed_files_stay_on_one_core(tmp_path, monkeypatch):
    path = _compressed(tmp_path, "gzip", b"".join(_kinds(i, i % 10) for i in range(50)))
    assert F._compressed_file(path) is None  # under PARALLEL_MIN_BYTES / 8
    monkeypatch.setattr(F, "PARALLEL_MIN_BYTES", 0)
    assert F._compressed_file(path) == "gzip"
    assert F._compressed_file(tmp_path) is None and F._compressed_file("-") is None


def test_a_compressed_array_is_refused_and_the_decompressor_reaped(tmp_path, small_parts, monkeypatch):
    """The reader stops at the first line (a JSON array): the decompressing child, blocked on a full
    pipe, sees the pipe closed and ends; the error is the one-core error."""
    lines = [_kinds(i, i % 4).rstrip(b"\n") for i in range(3000)]
    path = _compressed(tmp_path, "gzip", b"[" + b",".join(lines) + b"]\n")
    pids = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    with pytest.raises(F.FlowInputError) as e:
        F.scan_drops_path(path, jobs=2)
    assert "jq -c" in str(e.value)
    assert len(pids) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)  # already reaped: no child left behind
