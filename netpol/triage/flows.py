"""Streaming reader for `hubble observe -o json` / `-o jsonpb` output, aggregating as it goes.

Input is one JSON object per line, in either shape Hubble has emitted:

* the GetFlowsResponse envelope `{"flow": {...}, "node_name": "...", "time": "..."}` (`-o jsonpb`,
  and `-o json` of recent Hubble CLIs), and
* the bare Flow object `{"time": ..., "verdict": ..., "source": {...}, ...}` (`-o json` of older CLIs).

Field names follow api/v1/flow/flow.proto as Hubble marshals them (proto names: `traffic_direction`,
`drop_reason_desc`, `pod_name`, `destination_names`, `l4.TCP.destination_port`, ...); the
lowerCamelCase spellings of those fields (`trafficDirection`, ...) are accepted too. Envelope lines
that carry no flow (`node_status`, `lost_events`) are skipped and counted, never fatal.

Constant memory whatever the input size: lines are read one at a time and folded into groups
keyed by (direction, source, destination, port, protocol), where an endpoint is keyed by its security
identity (which stands for its whole label set, namespace included) or, when a flow carries none,
its namespace and label list. Nothing per flow is kept: each group holds counters and a handful of
bounded samples (pod names, DNS names, addresses, deny policies) taken from its first
`SAMPLE_FLOWS` flows. Malformed lines (not JSON, truncated, or JSON whose fields have the wrong
types) are counted, and the first `MAX_MALFORMED_LINES` line numbers kept; never fatal.

Speed (bench/bench_triage.py): orjson parses; in drop mode a line is only parsed when it contains
the bytes `"DROPPED"` or `"AUDIT"` (a forwarded flow never does: it is only checked to look like a
JSON object); the per-drop work is inlined (a few dict look-ups and one tuple); classification
happens once per group, not per flow. Measured floor: orjson.loads of a 1.5 KB Hubble line is ~4 us
here, the rest of the drop path ~2 us. A pure-Python byte scanner for the key fields was tried and
was slower than orjson (~7 us/line). `scan_drops_path` can split a large regular file across
processes (`NETPOL_TRIAGE_WORKERS`, default 1: on the benchmark machine the two vCPUs deliver one
core of throughput, so a second process gained nothing).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

MAX_MALFORMED_LINES = 20
MAX_SAMPLES = 5

# Verdicts (flow.proto enum Verdict). AUDIT is what a policy-audit-mode cluster reports for a flow the
# policy would drop: triage treats it like a policy drop.
DROPPED = "DROPPED"
AUDIT = "AUDIT"
FORWARDED = "FORWARDED"
# flow.proto enum DropReason: POLICY_DENIED (133) is a default-deny drop, POLICY_DENY (181) a deny rule.
POLICY_DROP_REASONS = frozenset({"POLICY_DENIED", "POLICY_DENY"})
POLICY_DROP_CODES = frozenset({133, 181})

# Reserved security identities (pkg/identity/numericidentity.go), for flows whose endpoint carries
# an identity but no `reserved:` label.
RESERVED_IDENTITIES = {
    1: "host", 2: "world", 3: "unmanaged", 4: "health", 5: "init", 6: "remote-node",
    7: "kube-apiserver", 8: "ingress", 9: "world", 10: "world",  # 9/10: world-ipv4 / world-ipv6
}

_EMPTY: dict = {}


class FlowInputError(Exception):
    """The flows input cannot be read at all (missing or unreadable file): exit 2."""


@dataclass
class ReadStats:
    """What reading the input did. `skipped_lines` = malformed lines + JSON lines that are no flow."""

    lines: int = 0
    flows_read: int = 0
    skipped_lines: int = 0
    malformed_count: int = 0
    malformed_lines: list[int] = field(default_factory=list)
    non_flow_lines: int = 0
    policy_drops: int = 0
    other_drops: dict[str, int] = field(default_factory=dict)  # drop_reason_desc -> count (not policy)
    replies_skipped: int = 0

    def malformed(self, lineno: int) -> None:
        self.malformed_count += 1
        self.skipped_lines += 1
        if len(self.malformed_lines) < MAX_MALFORMED_LINES:
            self.malformed_lines.append(lineno)

    def to_json(self) -> dict[str, Any]:
        return {
            "flows_read": self.flows_read,
            "skipped_lines": self.skipped_lines,
            "malformed_count": self.malformed_count,
            "malformed_lines": list(self.malformed_lines),
            "non_flow_lines": self.non_flow_lines,
            "policy_drops": self.policy_drops,
            "other_drops": dict(sorted(self.other_drops.items())),
        }


SAMPLE_FLOWS = 64  # samples (pod names, DNS names, addresses) come from a group's first flows


@dataclass(slots=True)
class RawGroup:
    """Flows sharing one raw key. `src`/`dst` are the endpoint objects of the first flow seen (an
    identity always has the same labels, so one copy stands for all)."""

    src: dict
    dst: dict
    direction: str
    port: int
    protocol: str
    count: int = 0  # policy drops (drop mode) or all matching flows (all mode)
    forwarded: int = 0
    dropped: int = 0  # policy drops
    src_pods: list[str] = field(default_factory=list)
    dst_pods: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # destination_names seen
    ips: list[str] = field(default_factory=list)  # outside addresses seen (world peers)
    denied_by: list[str] = field(default_factory=list)  # egress/ingress_denied_by policy names seen
    samples_left: int = SAMPLE_FLOWS


def open_input(spec: str | Path | None) -> IO[bytes]:
    """`-` (or None) is standard input; anything else a file path. Raises FlowInputError."""
    if spec is None or str(spec) == "-":
        return sys.stdin.buffer
    p = Path(spec)
    try:
        if p.is_dir():
            raise FlowInputError(f"{p}: is a directory; give a file of `hubble observe -o json` lines or - for stdin")
        return p.open("rb")
    except FileNotFoundError:
        raise FlowInputError(f"{p}: no such file; give a file of `hubble observe -o json` lines or - for stdin") from None
    except OSError as e:
        raise FlowInputError(f"{p}: cannot read: {e.strerror or e}") from None


def _port_proto(l4: dict) -> tuple[int, str]:
    for proto in ("TCP", "UDP", "SCTP"):
        x = l4.get(proto)
        if x is not None:
            p = x.get("destination_port")
            if p is None:
                p = x.get("destinationPort", 0)
            try:
                return int(p), proto
            except (TypeError, ValueError):
                return 0, proto
    if "ICMPv4" in l4 or "ICMPv6" in l4:
        return 0, "ICMP"
    return 0, ""


def _labels_key(ep: dict) -> tuple:
    """An endpoint's key when it carries no security identity: its namespace and label list."""
    labels = ep.get("labels")
    return ep.get("namespace", ""), tuple(labels) if labels else ()


def _ep_key(ep: dict):
    """An endpoint's part of the raw key: its security identity (which stands for its labels,
    namespace included), or its namespace and labels when it has none."""
    return ep.get("identity") or _labels_key(ep)


def _unparsed_kind(line: bytes) -> int:
    """What a line that is not parsed is: 1 a whole JSON object with a verdict or a flow (a flow),
    0 another whole object (node_status, lost_events), -1 malformed (e.g. truncated), 2 blank."""
    if line[:1] == b"{" and line.rstrip()[-1:] == b"}":
        return 1 if b'"verdict"' in line or b'"flow"' in line else 0
    return -1 if line.strip() else 2


def _flow_of(obj: Any) -> dict | None:
    if type(obj) is not dict:
        return None
    f = obj.get("flow")
    if type(f) is dict:
        return f
    if "verdict" in obj or "source" in obj or "destination" in obj or "IP" in obj or "l4" in obj:
        return obj
    return None


def _is_policy_drop(f: dict) -> bool | None:
    """True: a policy drop; False: another drop reason; None: not a drop at all."""
    v = f.get("verdict")
    if v != DROPPED and v != AUDIT:
        return None
    if v == AUDIT:
        return True
    reason = f.get("drop_reason_desc") or f.get("dropReasonDesc")
    if reason is not None:
        return reason in POLICY_DROP_REASONS
    return f.get("drop_reason") in POLICY_DROP_CODES


def _is_reply(f: dict) -> bool:
    r = f.get("is_reply")
    if r is None:
        r = f.get("isReply")
    if r is None:
        r = f.get("reply")
    return bool(r)


def _add_sample(lst: list, value: Any) -> None:
    if value and len(lst) < MAX_SAMPLES and value not in lst:
        lst.append(value)


def _note(g: RawGroup, f: dict, src: dict, dst: dict) -> None:
    """Bounded samples: a few pod names, DNS names, outside addresses and deny-policy names.
    Best effort: a sample field of an unexpected type is ignored."""
    try:
        _note_samples(g, f, src, dst)
    except (AttributeError, TypeError, ValueError):
        pass


def _note_samples(g: RawGroup, f: dict, src: dict, dst: dict) -> None:
    if len(g.src_pods) < MAX_SAMPLES:
        _add_sample(g.src_pods, src.get("pod_name") or src.get("podName"))
    if len(g.dst_pods) < MAX_SAMPLES:
        _add_sample(g.dst_pods, dst.get("pod_name") or dst.get("podName"))
    if len(g.names) < MAX_SAMPLES:
        for n in f.get("destination_names") or f.get("destinationNames") or ():
            _add_sample(g.names, str(n).rstrip("."))
    if len(g.ips) < MAX_SAMPLES and not dst.get("namespace"):
        ip = f.get("IP")
        if ip:
            _add_sample(g.ips, ip.get("destination"))
    if len(g.denied_by) < MAX_SAMPLES:
        for k in ("egress_denied_by", "ingress_denied_by"):
            for pol in f.get(k) or ():
                if isinstance(pol, dict):
                    ns = pol.get("namespace")
                    _add_sample(g.denied_by, f"{pol.get('kind') or 'policy'}/{ns + '/' if ns else ''}{pol.get('name')}")


def scan_drops(stream: IO[bytes], stats: ReadStats | None = None) -> tuple[ReadStats, dict[tuple, RawGroup]]:
    """Fold the policy drops of a flow stream into raw groups (the `netpol triage` pass).

    A line without the bytes `"DROPPED"` / `"AUDIT"` is not parsed: it is counted as a flow when it
    looks like a whole JSON object carrying a verdict, as a non-flow line when it is a JSON object
    without one (node_status, lost_events), and as malformed otherwise (e.g. a truncated line). A
    parsed flow whose fields have the wrong JSON types is malformed too. The drop path is inlined
    (this loop is the hot path of the benchmark); samples come from the first `SAMPLE_FLOWS` flows
    of each raw group only."""
    stats = stats or ReadStats()
    groups: dict[tuple, RawGroup] = {}
    loads = orjson.loads
    JSONError = orjson.JSONDecodeError
    other = stats.other_drops
    policy_reasons = POLICY_DROP_REASONS
    empty = _EMPTY
    flows = skipped_nonflow = drops = lines = 0
    try:
        for lineno, line in enumerate(stream, 1):
            lines = lineno
            if b'"DROPPED"' not in line and b'"AUDIT"' not in line:
                kind = _unparsed_kind(line)
                if kind == 1:
                    flows += 1
                elif kind == 0:
                    skipped_nonflow += 1
                elif kind < 0:
                    stats.malformed(lineno)
                continue
            try:
                obj = loads(line)
            except JSONError:
                if line.strip():
                    stats.malformed(lineno)
                continue
            f = obj.get("flow") if type(obj) is dict else None
            if type(f) is not dict:
                f = _flow_of(obj)
                if f is None:
                    skipped_nonflow += 1
                    continue
            try:
                v = f.get("verdict")
                if v == DROPPED:
                    r = f.get("drop_reason_desc")
                    if r is None:
                        r = f.get("dropReasonDesc")
                    if r is None:
                        if f.get("drop_reason") not in POLICY_DROP_CODES:
                            r = str(f.get("drop_reason", "UNKNOWN"))
                            other[r] = other.get(r, 0) + 1
                            flows += 1
                            continue
                    elif r not in policy_reasons:
                        other[r] = other.get(r, 0) + 1
                        flows += 1
                        continue
                elif v != AUDIT:
                    flows += 1
                    continue
                src = f.get("source") or empty
                dst = f.get("destination") or empty
                l4 = f.get("l4")
                x = l4.get("TCP") if l4 else None
                if x is not None:
                    proto = "TCP"
                    port = x.get("destination_port")
                    if type(port) is not int:
                        port, proto = _port_proto(l4)
                else:
                    port, proto = _port_proto(l4 or empty)
                direction = f.get("traffic_direction") or f.get("trafficDirection") or "TRAFFIC_DIRECTION_UNKNOWN"
                # a security identity stands for its whole label set (namespace included)
                key = (direction, src.get("identity") or _labels_key(src), dst.get("identity") or _labels_key(dst),
                       port, proto)
                g = groups.get(key)
                if g is None:
                    g = groups[key] = RawGroup(src=src, dst=dst, direction=direction, port=port, protocol=proto)
                g.count += 1
                g.dropped += 1
                if g.samples_left:
                    g.samples_left -= 1
                    _note(g, f, src, dst)
            except (AttributeError, TypeError, ValueError):  # valid JSON with wrong field types
                stats.malformed(lineno)
                continue
            flows += 1
            drops += 1
    except OSError as e:
        raise FlowInputError(f"reading flows failed at line {lines + 1}: {e.strerror or e}") from None
    stats.lines += lines
    stats.flows_read += flows
    stats.non_flow_lines += skipped_nonflow
    stats.skipped_lines += skipped_nonflow
    stats.policy_drops += drops
    return stats, groups


def scan_all(stream: IO[bytes], namespace: str | None = None,
             stats: ReadStats | None = None) -> tuple[ReadStats, dict[tuple, RawGroup]]:
    """Fold every request flow (forwarded and policy-dropped; replies skipped) into raw groups; with
    `namespace`, only flows whose source or destination is in that namespace (lines that do not
    contain the namespace's name as a JSON string are not parsed). The `netpol verify` and
    `netpol profile --from-flows` pass."""
    stats = stats or ReadStats()
    groups: dict[tuple, RawGroup] = {}
    loads = orjson.loads
    JSONError = orjson.JSONDecodeError
    needle = orjson.dumps(namespace) if namespace else None
    lines = 0
    try:
        for lineno, line in enumerate(stream, 1):
            lines = lineno
            if needle is not None and needle not in line:
                kind = _unparsed_kind(line)
                if kind == 1:
                    stats.flows_read += 1
                elif kind == 0:
                    stats.non_flow_lines += 1
                    stats.skipped_lines += 1
                elif kind < 0:
                    stats.malformed(lineno)
                continue
            try:
                obj = loads(line)
            except JSONError:
                if line.strip():
                    stats.malformed(lineno)
                continue
            f = _flow_of(obj)
            if f is None:
                stats.non_flow_lines += 1
                stats.skipped_lines += 1
                continue
            try:
                _fold_any(f, namespace, groups, stats)
            except (AttributeError, TypeError, ValueError):  # valid JSON with wrong field types
                stats.malformed(lineno)
                continue
            stats.flows_read += 1
    except OSError as e:
        raise FlowInputError(f"reading flows failed at line {lines + 1}: {e.strerror or e}") from None
    stats.lines += lines
    return stats, groups


def _fold_any(f: dict, namespace: str | None, groups: dict[tuple, RawGroup], stats: ReadStats) -> None:
    src = f.get("source") or _EMPTY
    dst = f.get("destination") or _EMPTY
    if namespace is not None and src.get("namespace") != namespace and dst.get("namespace") != namespace:
        return
    verdict = f.get("verdict")
    kind = _is_policy_drop(f)
    if kind is False:
        r = f.get("drop_reason_desc") or f.get("dropReasonDesc") or str(f.get("drop_reason", "UNKNOWN"))
        stats.other_drops[r] = stats.other_drops.get(r, 0) + 1
        return
    if kind is None and verdict != FORWARDED:
        return  # TRACED, TRANSLATED, REDIRECTED, ERROR: no policy decision to compare
    if _is_reply(f):
        stats.replies_skipped += 1
        return
    port, proto = _port_proto(f.get("l4") or _EMPTY)
    direction = f.get("traffic_direction") or f.get("trafficDirection") or "TRAFFIC_DIRECTION_UNKNOWN"
    key = (direction, _ep_key(src), _ep_key(dst), port, proto)
    g = groups.get(key)
    if g is None:
        g = groups[key] = RawGroup(src=src, dst=dst, direction=direction, port=port, protocol=proto)
    if kind:
        stats.policy_drops += 1
        g.dropped += 1
    else:
        g.forwarded += 1
    g.count += 1
    if g.samples_left:
        g.samples_left -= 1
        _note(g, f, src, dst)


# --- parallel scan of a regular file --------------------------------------------------------------
PARALLEL_MIN_BYTES = 16 << 20  # below this a second process costs more than it saves


def default_workers() -> int:
    """Processes for a file scan: $NETPOL_TRIAGE_WORKERS (default 1).

    Opt-in: on the benchmark machine the two vCPUs deliver one core of throughput (two CPU-bound
    jobs take 2.2x one), so a second process gained nothing there; on a machine with real cores
    `NETPOL_TRIAGE_WORKERS=N` splits a large file across N processes."""
    env = os.environ.get("NETPOL_TRIAGE_WORKERS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return 1


def _split(path: Path, size: int, parts: int) -> list[tuple[int, int]]:
    """Byte ranges [start, end) that begin at line starts and cover the file."""
    cuts = [0]
    with path.open("rb") as fh:
        for i in range(1, parts):
            fh.seek(size * i // parts)
            fh.readline()  # to the start of the next line
            pos = fh.tell()
            if cuts[-1] < pos < size:
                cuts.append(pos)
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _range_lines(fh: IO[bytes], nbytes: int):
    for line in fh:
        yield line
        nbytes -= len(line)
        if nbytes <= 0:
            return


def _scan_range(args: tuple[str, int, int]) -> tuple[ReadStats, dict[tuple, RawGroup]]:
    path, start, end = args
    with open(path, "rb") as fh:
        fh.seek(start)
        return scan_drops(_range_lines(fh, end - start))


def merge_scans(parts: list[tuple[ReadStats, dict[tuple, RawGroup]]]) -> tuple[ReadStats, dict[tuple, RawGroup]]:
    """Combine the scans of consecutive ranges of one input (line numbers re-based)."""
    stats = ReadStats()
    groups: dict[tuple, RawGroup] = {}
    offset = 0
    for st, gs in parts:
        stats.flows_read += st.flows_read
        stats.non_flow_lines += st.non_flow_lines
        stats.skipped_lines += st.skipped_lines
        stats.policy_drops += st.policy_drops
        stats.replies_skipped += st.replies_skipped
        stats.malformed_count += st.malformed_count
        for n in st.malformed_lines:
            if len(stats.malformed_lines) < MAX_MALFORMED_LINES:
                stats.malformed_lines.append(n + offset)
        for k, v in st.other_drops.items():
            stats.other_drops[k] = stats.other_drops.get(k, 0) + v
        offset += st.lines
        stats.lines += st.lines
        for key, g in gs.items():
            mine = groups.get(key)
            if mine is None:
                groups[key] = g
                continue
            mine.count += g.count
            mine.forwarded += g.forwarded
            mine.dropped += g.dropped
            for a, b in ((mine.src_pods, g.src_pods), (mine.dst_pods, g.dst_pods), (mine.names, g.names),
                         (mine.ips, g.ips), (mine.denied_by, g.denied_by)):
                for v in b:
                    _add_sample(a, v)
    return stats, groups


def scan_drops_path(path: str | Path, workers: int | None = None,
                    min_bytes: int = PARALLEL_MIN_BYTES) -> tuple[ReadStats, dict[tuple, RawGroup]]:
    """`scan_drops` over a regular file, split at line boundaries across `workers` forked processes
    when the file is large (each process aggregates its range in constant memory; the parent merges
    the groups and re-bases malformed line numbers). Same result as one sequential scan."""
    p = Path(path)
    stream = open_input(p)
    try:
        size = os.fstat(stream.fileno()).st_size
        workers = workers or default_workers()
        methods = multiprocessing.get_all_start_methods()
        if workers <= 1 or size < min_bytes or "fork" not in methods or not p.is_file():
            return scan_drops(stream)
    finally:
        stream.close()
    ranges = _split(p, size, workers)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(len(ranges)) as pool:
        parts = pool.map(_scan_range, [(str(p), a, b) for a, b in ranges], chunksize=1)
    return merge_scans(parts)
