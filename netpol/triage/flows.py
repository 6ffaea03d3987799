"""Streaming reader for `hubble observe -o json` / `-o jsonpb` output, aggregating as it goes.

Input is a stream of JSON values, normally one object per line, in either shape Hubble has emitted:

* the GetFlowsResponse envelope `{"flow": {...}, "node_name": "...", "time": "..."}` (`-o jsonpb`,
  `-o json` of recent Hubble CLIs), and
* the bare Flow object `{"time": ..., "verdict": ..., "source": {...}, ...}` (`-o json` of older CLIs,
  the Hubble exporter's file, possibly field-masked: no labels, no traffic_direction).

Field names follow api/v1/flow/flow.proto as Hubble marshals them (proto names: `traffic_direction`,
`drop_reason_desc`, `pod_name`, `destination_names`, `l4.TCP.destination_port`, ...); the
lowerCamelCase spellings of those fields (`trafficDirection`, ...) are accepted too. Envelope lines
that carry no flow (`node_status`, `lost_events`) are skipped and counted, never fatal.

Input forms (`open_input`): a file or `-` (stdin, e.g. `hubble observe --follow -o json | netpol
triage -`: the report is written at end of input or on Ctrl-C); gzip, zstd, xz or bzip2 compressed,
recognised by their magic bytes whatever the file name; pretty-printed JSON (`hubble observe -o json
| jq .`) is read as a stream of JSON values (a value ends at a `}` in column 0, as jq and every
indenting printer write it). A JSON array (`jq -s`) is refused (`FlowInputError`, exit 2) with the
`jq -c '.[]'` that turns it into lines.

Constant memory whatever the input size: the input is read in chunks and folded into groups keyed by
(direction, source, destination, port, protocol, deny), where an endpoint is keyed by its security
identity (which stands for its whole label set, namespace included) or, when a flow carries none,
its namespace, label list and (without labels) pod name. Nothing per flow is kept: each group holds
counters and bounded samples (pod names, DNS names, addresses, deny policies), all taken from the
group's first SAMPLE_FLOWS flows. (Until session 21 a deny group kept decoding the samples of every
later flow while it had named fewer than MAX_SAMPLES deny policies: with the usual one deny policy per
group, that was every flow, decoded twice. The flows of one group share source, destination and port,
so the same deny rules drop them all and Hubble names the same policies in each; the first 64 name
them.) Malformed lines (not
JSON, truncated, or JSON whose fields have the wrong types) are counted, the first
`MAX_MALFORMED_LINES` line numbers kept; never fatal. Drops that are not policy drops are counted per
reason, with the first flow of each reason as a sample (for the `hubble observe` command that shows
them).

Speed (bench/bench_triage.py), measured: a drop line is decoded into typed msgspec Structs holding
only the fields triage reads (every other field is skipped by the C decoder without building a
Python object; endpoint label lists are kept as raw JSON and decoded once per group): ~2x faster
than `orjson.loads` building a dict of the whole 1.5 KB line (`msgspec.json.decode` to dicts is slower
than orjson). A file is read in 1 MiB blocks that the reader cuts into lines itself (`bytes.find`):
a line is looked at where Hubble prints its verdict (early in the line: `"verdict":"DROPPED"`), and
only drop and audit lines are sliced out (a memoryview, no copy) and decoded; every other line is
counted without being copied (`readlines` copied each 1.5 KB line into its own object: ~30 % of the
reading time on a capture). A line whose verdict is not a plain string is looked at whole
(`"DROPPED"` / `"AUDIT"` anywhere), as before. Tried and dropped: `Decoder.decode_lines` on whole
chunks (slower than per-line decoding here, every Struct of the chunk alive at once); memoising
decoded flows (a fingerprint of the line without its time, uuid and source port, built in Python,
cost more than msgspec's decode of the line; a dict keyed by the frozen decoded struct cost as much as
folding it).

Several cores (`scan_drops_path`, `netpol triage --jobs`): a regular uncompressed file of one flow
per line, 32 MB or more, is cut into parts at line ends and every part but the first is scanned by
a forked process; the parts are merged in order into exactly the one-core result (the merge replays
the samples a group first seen in an earlier part takes from a later part's lines). A compressed
regular file of 4 MB or more is decompressed by a forked process and piped to the reader. Measured on the
2-vCPU benchmark machine: 1.9-2.1x the one-core throughput of the scan when the machine is idle
(an earlier measurement, on a busy machine, had found one core's worth, and the README said to split the
input by file instead).
"""

from __future__ import annotations

import bz2
import copy
import gzip
import io
import lzma
import os
import pickle
import stat
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

import msgspec
import orjson
from msgspec import Raw, Struct

from netpol import apis

MAX_MALFORMED_LINES = 20
MAX_SAMPLES = 5
SAMPLE_FLOWS = 64  # samples (pod names, DNS names, addresses) come from a group's first flows
CHUNK = 1 << 20  # read buffer
BATCH_BYTES = 1 << 19  # lines handed over per read

# Verdicts (flow.proto enum Verdict). AUDIT is what a policy-audit-mode cluster reports for a flow the
# policy would drop: triage treats it like a policy drop.
DROPPED = "DROPPED"
AUDIT = "AUDIT"
FORWARDED = "FORWARDED"
# flow.proto enum DropReason: POLICY_DENIED (133) is a default-deny drop, POLICY_DENY (181) a deny rule.
POLICY_DENIED, POLICY_DENY = "POLICY_DENIED", "POLICY_DENY"
POLICY_DROP_REASONS = frozenset({POLICY_DENIED, POLICY_DENY})
POLICY_DROP_CODES = frozenset({133, 181})
DROP_REASON_NAMES = {133: POLICY_DENIED, 181: POLICY_DENY}

# Reserved security identities (netpol.apis), for flows whose endpoint carries an identity but no
# `reserved:` label; triage names world-ipv4 / world-ipv6 (9, 10) world.
RESERVED_IDENTITIES = {n: apis.WORLD if e in apis.WORLD_ENTITIES else e for n, e in apis.RESERVED_IDENTITIES.items()}

_EMPTY: dict = {}


class FlowInputError(Exception):
    """The flows input cannot be read at all (missing, unreadable, a JSON array): exit 2."""


# --- the fields triage reads, as typed structs (everything else is skipped by the decoder) -------
_NO_RAW = Raw()  # the default of every Raw field: `is not _NO_RAW` tells a field was present


class _Port(Struct, gc=False):
    destination_port: int | None = None
    destinationPort: int | None = None


class _L4(Struct, gc=False):
    TCP: _Port | None = None
    UDP: _Port | None = None
    SCTP: _Port | None = None
    ICMPv4: dict | None = None
    ICMPv6: dict | None = None


class _Endpoint(Struct, gc=False):
    identity: int = 0
    namespace: str = ""


class _Flow(Struct, gc=False):
    """The fields every flow is decoded for; the rest (labels, pod names, DNS names, addresses: the
    group's first flows and samples) come from `orjson.loads` of the few lines that need them."""

    verdict: str | None = None
    drop_reason: int | None = None
    drop_reason_desc: str | None = None
    dropReasonDesc: str | None = None
    traffic_direction: str | None = None
    trafficDirection: str | None = None
    source: _Endpoint | None = None
    destination: _Endpoint | None = None
    l4: _L4 | None = None
    egress_denied_by: Raw = _NO_RAW
    ingress_denied_by: Raw = _NO_RAW
    is_reply: bool | None = None
    isReply: bool | None = None
    reply: bool | None = None
    IP: Raw = _NO_RAW  # only its presence is looked at (is this a flow?) when nothing else is there


class _Line(_Flow, gc=False):
    flow: _Flow | None = None


_DECODE = msgspec.json.Decoder(_Line).decode


# --- the fields a group's samples come from (`_note`), typed: decoded without a dict of the line ---
class _SampleEndpoint(Struct, gc=False):
    pod_name: str | None = None
    podName: str | None = None
    namespace: str | None = None


class _SampleIP(Struct, gc=False):
    destination: str | None = None


class _SamplePolicy(Struct, gc=False):
    name: str | None = None
    namespace: str | None = None
    kind: str | None = None


class _Sample(Struct, gc=False):
    source: _SampleEndpoint | None = None
    destination: _SampleEndpoint | None = None
    destination_names: list[str] | None = None
    destinationNames: list[str] | None = None
    IP: _SampleIP | None = None
    egress_denied_by: list[_SamplePolicy] | None = None
    ingress_denied_by: list[_SamplePolicy] | None = None
    egressDeniedBy: list[_SamplePolicy] | None = None
    ingressDeniedBy: list[_SamplePolicy] | None = None


class _SampleLine(_Sample, gc=False):
    flow: _Sample | None = None


_DECODE_SAMPLE = msgspec.json.Decoder(_SampleLine).decode
_NO_EP = _Endpoint()


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
    other_samples: dict[str, dict[str, Any]] = field(default_factory=dict)  # reason -> its first flow
    replies_skipped: int = 0
    input_format: str = "lines"  # lines | pretty (a stream of pretty-printed JSON values)
    max_other_samples: int = 50  # reasons with a sample flow (a part of a file keeps all: merged later)
    compression: str | None = None
    interrupted: bool = False  # Ctrl-C / SIGINT while reading: the report covers what was read

    def malformed(self, lineno: int) -> None:
        self.malformed_count += 1
        self.skipped_lines += 1
        if len(self.malformed_lines) < MAX_MALFORMED_LINES:
            self.malformed_lines.append(lineno)

    def other_drop(self, reason: str, line: bytes) -> None:
        self.other_drops[reason] = self.other_drops.get(reason, 0) + 1
        if reason not in self.other_samples and len(self.other_samples) < self.max_other_samples:
            self.other_samples[reason] = _flow_sample(_flow_dict(line))

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


@dataclass(slots=True)
class RawGroup:
    """Flows sharing one raw key. `src`/`dst` are the endpoint objects of the first flow seen (an
    identity always has the same labels, so one copy stands for all)."""

    src: dict
    dst: dict
    direction: str
    port: int
    protocol: str
    deny: bool = False  # dropped by a deny rule (POLICY_DENY / *_denied_by), not by default deny
    count: int = 0  # policy drops (drop mode) or all matching flows (all mode)
    forwarded: int = 0
    dropped: int = 0  # policy drops
    src_pods: list[str] = field(default_factory=list)
    dst_pods: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # destination_names seen
    ips: list[str] = field(default_factory=list)  # outside addresses seen (world peers)
    denied_by: list[str] = field(default_factory=list)  # "Kind/ns/name" of egress/ingress_denied_by seen
    unnamed: bool = False  # a sampled flow carried no destination_names (to an outside peer: by address)
    samples_left: int = SAMPLE_FLOWS


# --- input: files, stdin, compression, pretty-printed JSON -----------------------------------------
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bzip2"))


class _ZstdStream(io.RawIOBase):
    """zstandard's stream reader as a readable raw stream (every frame, concatenated files too)."""

    def __init__(self, fh: IO[bytes]):
        import zstandard

        self._fh = fh
        self._r = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._r.read(len(b))
        n = len(data)
        b[:n] = data
        return n

    def close(self) -> None:
        try:
            self._fh.close()
        finally:
            super().close()


def _decompressed(fh: IO[bytes]) -> tuple[IO[bytes], str | None]:
    """`fh` (buffered) as plain bytes: decompressed by its magic bytes, whatever its name."""
    if not hasattr(fh, "peek") and hasattr(fh, "readinto"):
        fh = io.BufferedReader(fh, CHUNK)  # type: ignore[arg-type]  # e.g. a BytesIO standing for stdin
    head = fh.peek(6)[:6] if hasattr(fh, "peek") else b""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            if kind == "gzip":
                return io.BufferedReader(gzip.GzipFile(fileobj=fh, mode="rb"), CHUNK), kind
            if kind == "zstd":
                return io.BufferedReader(_ZstdStream(fh), CHUNK), kind
            if kind == "xz":
                return io.BufferedReader(lzma.LZMAFile(fh), CHUNK), kind
            return io.BufferedReader(bz2.BZ2File(fh), CHUNK), kind
    return fh, None


def open_input(spec: str | Path | None) -> IO[bytes]:
    """`-` (or None) is standard input; anything else a file path. Compressed input (gzip, zstd, xz,
    bzip2) is decompressed on the fly, recognised by its magic bytes. Raises FlowInputError."""
    if spec is None or str(spec) == "-":
        stream, kind = _decompressed(sys.stdin.buffer)
        return stream
    p = Path(spec)
    try:
        if p.is_dir():
            raise FlowInputError(f"{p}: is a directory; give a file of `hubble observe -o json` lines or - for stdin")
        fh = p.open("rb", buffering=CHUNK)
    except FileNotFoundError:
        raise FlowInputError(f"{p}: no such file; give a file of `hubble observe -o json` lines or - for stdin") from None
    except OSError as e:
        raise FlowInputError(f"{p}: cannot read: {e.strerror or e}") from None
    stream, kind = _decompressed(fh)
    return stream


def compression_of(stream: IO[bytes]) -> str | None:
    raw = getattr(stream, "raw", None)
    if isinstance(raw, gzip.GzipFile):
        return "gzip"
    if isinstance(raw, _ZstdStream):
        return "zstd"
    if isinstance(raw, lzma.LZMAFile):
        return "xz"
    if isinstance(raw, bz2.BZ2File):
        return "bzip2"
    return None


@contextmanager
def _reading() -> Iterator[None]:
    """Read errors of the input (a corrupt compressed stream, an I/O error) as FlowInputError."""
    try:
        yield
    except gzip.BadGzipFile as e:
        raise FlowInputError(f"corrupt gzip input: {e}") from None
    except (EOFError, lzma.LZMAError) as e:
        raise FlowInputError(f"corrupt or truncated compressed input: {e}") from None
    except OSError as e:
        raise FlowInputError(f"reading flows failed: {e.strerror or e}") from None
    except Exception as e:  # zstandard.ZstdError
        if e.__class__.__module__.startswith("zstandard"):
            raise FlowInputError(f"corrupt zstd input: {e}") from None
        raise


def _read_batches(stream: IO[bytes] | Iterable[bytes]) -> Iterator[list[bytes]]:
    """Lists of lines (`readlines(hint)`), or batches of 1,000 lines of an iterable of lines."""
    readlines = getattr(stream, "readlines", None)
    if readlines is None:  # an iterable of lines
        batch: list[bytes] = []
        for line in stream:  # type: ignore[union-attr]
            batch.append(line)
            if len(batch) >= 1000:
                yield batch
                batch = []
        if batch:
            yield batch
        return
    while True:
        with _reading():
            batch = readlines(BATCH_BYTES)
        if not batch:
            return
        yield batch


def _pretty_values(lines: Iterable[bytes], base: int) -> Iterator[tuple[int, bytes]]:
    """(line number of its first line, the value's bytes) of a stream of pretty-printed JSON values:
    a value ends at a line holding only `}` (column 0)."""
    acc: list[bytes] = []
    start = 0
    lineno = base
    for line in lines:
        lineno += 1
        if not acc:
            if not line.strip():
                continue
            start = lineno
        acc.append(line)
        if line.rstrip() == b"}":
            yield start, b"".join(acc)
            acc = []
    if acc:
        yield start, b"".join(acc)


_ARRAY_HELP = ("the input is a JSON array (e.g. `jq -s` output); triage reads one flow per line: "
               "`jq -c '.[]' FILE | netpol triage ... -`")


def _joined(batch: list[bytes]) -> tuple[bytes, int, int]:
    """A batch of lines as one buffer (a line without its newline gets one)."""
    buf = b"".join(ln if ln[-1:] == b"\n" else ln + b"\n" for ln in batch)
    return buf, 0, len(buf)


class _Input:
    """Batches of lines, or (pretty-printed input) whole JSON values with their first line numbers."""

    def __init__(self, stream, stats: ReadStats, *, sniff: bool = True):
        """`sniff=False`: the stream is a part of a file already sniffed as lines (`scan_drops_path`)."""
        self.stats = stats
        self.stream = stream
        self.batches = _read_batches(stream)
        self.first: list[bytes] | None = None
        self.pretty = False
        stats.compression = stats.compression or compression_of(stream)
        for batch in self.batches:
            if not sniff:
                self.first = batch
                break
            self.first = batch if self.first is None else self.first + batch  # leading blank lines count too
            first_line = next((ln.strip() for ln in batch if ln.strip()), None)
            if first_line is None:
                continue
            if first_line[:1] == b"[":
                raise FlowInputError(_ARRAY_HELP)
            if first_line == b"{" or (first_line[:1] == b"{" and not first_line.endswith(b"}")
                                      and any(ln.rstrip() == b"}" for ln in batch)):
                self.pretty = True
                stats.input_format = "pretty"
            break

    def values(self) -> Iterator[tuple[int, bytes]]:
        def lines():
            if self.first is not None:
                yield from self.first
            for b in self.batches:
                yield from b
        return _pretty_values(lines(), self.stats.lines)

    def line_batches(self) -> Iterator[list[bytes]]:
        if self.first is None:
            return
        yield self.first
        yield from self.batches

    def chunks(self) -> Iterator[tuple[bytes, int, int]]:
        """(buffer, start, end): `buffer[start:end]` is whole lines (the input's last line may lack its
        newline). A file is read in CHUNK-byte blocks: a block is cut into lines by the reader's own
        `find` calls, and only the lines it decodes are sliced (as memoryviews: no copy); a line cut
        by a block's end is joined with the next block's head (one short copy)."""
        if self.first is None:
            return
        # read1: one raw read straight into the block (read(CHUNK) on a CHUNK-sized buffer copies it twice)
        read = getattr(self.stream, "read1", None) or getattr(self.stream, "read", None)
        if read is None:  # an iterable of lines: its batches, each line ending with a newline
            for batch in self._all_batches():
                yield _joined(batch)
            return
        yield _joined(self.first)  # readlines' lines: whole (the last one may lack its newline)
        tail = b""
        while True:
            with _reading():
                block = read(CHUNK)
            if not block:
                break
            start = 0
            if tail:
                nl = block.find(b"\n") + 1
                if not nl:  # a line longer than a block
                    tail += block
                    continue
                line = tail + block[:nl]
                yield line, 0, len(line)
                start = nl
            end = block.rfind(b"\n", start) + 1
            if end > start:
                yield block, start, end
                tail = block[end:]
            else:
                tail = block[start:]
        if tail:
            yield tail, 0, len(tail)

    def _all_batches(self) -> Iterator[list[bytes]]:
        yield self.first  # type: ignore[misc]
        yield from self.batches


# --- per-flow helpers --------------------------------------------------------------------------------
def _port_proto(l4: _L4 | None) -> tuple[int, str]:
    if l4 is None:
        return 0, ""
    for proto in apis.PROTOCOLS:  # _L4 has a field for each
        x = getattr(l4, proto)
        if x is not None:
            p = x.destination_port
            if p is None:
                p = x.destinationPort or 0
            return p, proto
    if l4.ICMPv4 is not None or l4.ICMPv6 is not None:
        return 0, "ICMP"
    return 0, ""


def _flow_dict(line: bytes) -> dict:
    """The whole flow object of a line, as a dict (for the few lines whose details are needed)."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return {}
    if type(obj) is not dict:
        return {}
    f = obj.get("flow")
    return f if type(f) is dict else obj


def _endpoint_of(raw: Any) -> dict:
    """An endpoint as the peer resolvers read it: namespace, identity, labels (strings), pod_name."""
    if type(raw) is not dict:
        return {}
    out: dict[str, Any] = {}
    ident = raw.get("identity")
    if type(ident) is int and ident:
        out["identity"] = ident
    ns = raw.get("namespace")
    if type(ns) is str and ns:
        out["namespace"] = ns
    labels = raw.get("labels")
    if type(labels) is list:
        labels = [x for x in labels if type(x) is str]
        if labels:
            out["labels"] = labels
    pod = raw.get("pod_name") or raw.get("podName")
    if type(pod) is str and pod:
        out["pod_name"] = pod
    return out


def _labels_key(ep: dict) -> tuple:
    """An endpoint's key when it carries no security identity: its namespace and labels (and its pod
    name when it has no labels either: a field-masked exporter line)."""
    labels = ep.get("labels")
    return ep.get("namespace", ""), tuple(labels) if labels else (), "" if labels else ep.get("pod_name", "")


def _flow_sample(d: dict) -> dict[str, Any]:
    """The few fields of a flow shown for a non-policy drop (and used for its hubble command)."""
    out: dict[str, Any] = {}
    ip = d.get("IP")
    if type(ip) is dict:
        out.update({f"{k}_ip": ip[k] for k in ("source", "destination") if type(ip.get(k)) is str})
        if type(ip.get("ipVersion")) is str:
            out["ip_version"] = ip["ipVersion"]
    for side in ("source", "destination"):
        ep = _endpoint_of(d.get(side))
        if ep:
            if "labels" in ep:
                ep["labels"] = ep["labels"][:8]
            out[side] = ep
    node = d.get("node_name")
    if type(node) is str and node:
        out["node_name"] = node
    return out


def _add_sample(lst: list, value: Any) -> None:
    if value and len(lst) < MAX_SAMPLES and value not in lst:
        lst.append(value)


def _denied_by(d: dict) -> list[str]:
    """"Kind/ns/name" of the policies in egress_denied_by / ingress_denied_by (flow.proto Policy)."""
    out: list[str] = []
    for k in ("egress_denied_by", "ingress_denied_by", "egressDeniedBy", "ingressDeniedBy"):
        pols = d.get(k)
        if type(pols) is not list:
            continue
        for pol in pols:
            if type(pol) is dict and pol.get("name"):
                ns = pol.get("namespace")
                kind = pol.get("kind") or ("CiliumNetworkPolicy" if ns else "CiliumClusterwideNetworkPolicy")
                _add_sample(out, f"{kind}/{ns + '/' if ns else ''}{pol.get('name')}")
    return out


def _note(g: RawGroup, d: dict) -> None:
    """Bounded samples from one flow (as a dict): pod names, DNS names, outside addresses, deny policies.
    Best effort: a sample field of an unexpected type is ignored."""
    try:
        for lst, side in ((g.src_pods, "source"), (g.dst_pods, "destination")):
            ep = d.get(side)
            if type(ep) is dict:
                _add_sample(lst, ep.get("pod_name") or ep.get("podName"))
        named = d.get("destination_names") or d.get("destinationNames")
        if not named:
            g.unnamed = True
        if len(g.names) < MAX_SAMPLES:
            for n in named or ():
                _add_sample(g.names, str(n).rstrip("."))
        dst = d.get("destination")
        if len(g.ips) < MAX_SAMPLES and not (type(dst) is dict and dst.get("namespace")):
            ip = d.get("IP")
            if type(ip) is dict:
                _add_sample(g.ips, ip.get("destination"))
        for name in _denied_by(d):
            _add_sample(g.denied_by, name)
    except (AttributeError, TypeError, ValueError):
        pass


def _note_flow(g: RawGroup, key: tuple, line: bytes | memoryview, d: dict | None = None) -> None:
    """Note one flow of group `g` (raw key `key`): from its dict when the key came from it (an endpoint
    without identity: `d` given, or read again here), else from the typed sample fields of the line."""
    if d is None and not (type(key[1]) is int and type(key[2]) is int):
        d = _flow_dict(line)
    if d is not None:
        _note(g, d)
    else:
        _note_line(g, line)


def _note_line(g: RawGroup, line: bytes | memoryview) -> None:
    """`_note` of one flow line, read into typed structs (~3x faster than a dict of the whole line:
    a group's first SAMPLE_FLOWS flows are noted). A line whose sample fields have other JSON types
    than Hubble prints (or that is no JSON object) goes through `_note` on its dict, which decides."""
    try:
        obj = _DECODE_SAMPLE(line)
    except msgspec.DecodeError:  # ValidationError included
        _note(g, _flow_dict(line))
        return
    f = obj.flow if obj.flow is not None else obj
    for lst, ep in ((g.src_pods, f.source), (g.dst_pods, f.destination)):
        if ep is not None:
            _add_sample(lst, ep.pod_name or ep.podName)
    named = f.destination_names or f.destinationNames
    if not named:
        g.unnamed = True
    if len(g.names) < MAX_SAMPLES:
        for n in named or ():
            _add_sample(g.names, n.rstrip("."))
    dst = f.destination
    if len(g.ips) < MAX_SAMPLES and not (dst is not None and dst.namespace) and f.IP is not None:
        _add_sample(g.ips, f.IP.destination)
    if f.egress_denied_by or f.ingress_denied_by or f.egressDeniedBy or f.ingressDeniedBy:
        names: list[str] = []  # as `_denied_by`: this flow's first MAX_SAMPLES policies, then the group's
        for pols in (f.egress_denied_by, f.ingress_denied_by, f.egressDeniedBy, f.ingressDeniedBy):
            for pol in pols or ():
                if pol.name:
                    ns = pol.namespace
                    kind = pol.kind or ("CiliumNetworkPolicy" if ns else "CiliumClusterwideNetworkPolicy")
                    _add_sample(names, f"{kind}/{ns + '/' if ns else ''}{pol.name}")
        for name in names:
            _add_sample(g.denied_by, name)


def _is_reply(f: _Flow) -> bool:
    r = f.is_reply
    if r is None:
        r = f.isReply
    if r is None:
        r = f.reply
    return bool(r)


def _unparsed_kind(line: bytes) -> int:
    """What a line that is not parsed is: 1 a whole JSON object with a verdict or a flow (a flow),
    0 another whole object (node_status, lost_events), -1 malformed (e.g. truncated), 2 blank."""
    s = line.strip()
    if s[:1] == b"{" and s[-1:] == b"}":
        return 1 if b'"verdict"' in line or b'"flow"' in line else 0
    return -1 if s else 2


def _decode(line: bytes, lineno: int, stats: ReadStats, first: int = 1) -> _Flow | None:
    """The flow of one line, or None (counted: malformed, or a JSON value that is no flow)."""
    try:
        obj = _DECODE(line)
    except msgspec.ValidationError:
        try:
            v = orjson.loads(line)
        except orjson.JSONDecodeError:
            v = None
        if isinstance(v, dict) or v is None:
            stats.malformed(lineno)  # wrong field types (or JSON msgspec refuses)
        else:
            if isinstance(v, list) and lineno == first and v and isinstance(v[0], dict):
                raise FlowInputError(_ARRAY_HELP) from None
            stats.non_flow_lines += 1
            stats.skipped_lines += 1
        return None
    except msgspec.DecodeError:
        if line.strip():
            stats.malformed(lineno)
        return None
    f = obj.flow
    if f is not None:
        return f
    if obj.verdict is not None or obj.source is not None or obj.destination is not None or obj.l4 is not None \
            or obj.IP is not _NO_RAW:
        return obj
    stats.non_flow_lines += 1
    stats.skipped_lines += 1
    return None


# --- the triage pass -----------------------------------------------------------------------------------
class _DropFolder:
    """Folds the policy drops of decoded flows into raw groups.

    Per drop only the group's `count` moves: `flows` counts the decoded flows that are no policy
    drop, and `finish` derives the rest (every count of a drop-mode group is a policy drop)."""

    def __init__(self, stats: ReadStats, noted: dict[tuple, list[int]] | None = None):
        self.stats = stats
        self.groups: dict[tuple, RawGroup] = {}
        self.flows = 0  # decoded flows that are no policy drop (the drops are the groups' counts)
        self.noted = noted  # a part of a file (`scan_drops_path`): key -> line numbers of the flows noted

    def fold(self, f: _Flow, line: bytes, lineno: int) -> None:
        """One decoded flow. The hot path of `netpol triage` (kept flat on purpose)."""
        v = f.verdict
        if v == DROPPED:
            r = f.drop_reason_desc
            if r is None:
                r = f.dropReasonDesc
            if r is None:  # only the numeric code: a deny drop only when a denied_by says so
                code = f.drop_reason
                if code not in DROP_REASON_NAMES:
                    self.flows += 1
                    self.stats.other_drop(str(code) if code is not None else "UNKNOWN", line)
                    return
                deny = f.egress_denied_by is not _NO_RAW or f.ingress_denied_by is not _NO_RAW
            elif r == POLICY_DENIED:
                deny = f.egress_denied_by is not _NO_RAW or f.ingress_denied_by is not _NO_RAW
            elif r == POLICY_DENY:
                deny = True
            else:
                self.flows += 1
                self.stats.other_drop(r, line)
                return
        elif v == AUDIT:
            deny = f.egress_denied_by is not _NO_RAW or f.ingress_denied_by is not _NO_RAW
        else:
            self.flows += 1
            return
        l4 = f.l4
        x = l4.TCP if l4 is not None else None
        if x is not None and x.destination_port is not None:
            port, proto = x.destination_port, "TCP"
        else:
            port, proto = _port_proto(l4)
        sk = (f.source or _NO_EP).identity
        dk = (f.destination or _NO_EP).identity
        d = None
        if not sk or not dk:  # no security identity: key by namespace and labels (from the whole line)
            d = _flow_dict(line)
            if not sk:
                sk = _labels_key(_endpoint_of(d.get("source")))
            if not dk:
                dk = _labels_key(_endpoint_of(d.get("destination")))
        direction = f.traffic_direction or f.trafficDirection or "TRAFFIC_DIRECTION_UNKNOWN"
        key = (direction, sk, dk, port, proto, deny)
        g = self.groups.get(key)
        if g is None:
            d = d or _flow_dict(line)
            g = self.groups[key] = RawGroup(src=_endpoint_of(d.get("source")), dst=_endpoint_of(d.get("destination")),
                                            direction=direction, port=port, protocol=proto, deny=deny)
        g.count += 1
        if g.samples_left:
            g.samples_left -= 1
            if self.noted is not None:
                self.noted.setdefault(key, []).append(lineno)
            _note_flow(g, key, line, d)

    def finish(self) -> int:
        """The policy drops folded (each group's `dropped` set to its count)."""
        drops = 0
        for g in self.groups.values():
            g.dropped = g.count
            drops += g.count
        return drops


def scan_drops(stream: IO[bytes] | Iterable[bytes], stats: ReadStats | None = None, *,
               noted: dict[tuple, list[int]] | None = None) -> tuple[ReadStats, dict[tuple, RawGroup]]:
    """Fold the policy drops of a flow stream into raw groups (the `netpol triage` pass).

    A line without the bytes `"DROPPED"` / `"AUDIT"` is not decoded: it is counted as a flow when it
    looks like a whole JSON object carrying a verdict, as a non-flow line when it is a JSON object
    without one (node_status, lost_events), and as malformed otherwise (e.g. a truncated line). A
    decoded flow whose fields have the wrong JSON types is malformed too. Ctrl-C (KeyboardInterrupt)
    while reading ends the input: the groups so far are returned, `stats.interrupted` set."""
    stats = stats or ReadStats()
    folder = _DropFolder(stats, noted)
    fold = folder.fold
    part = noted is not None  # a part of a file: no sniffing, its line 1 is not the input's first line
    first = 0 if part else 1
    dec = _DECODE
    lines = stats.lines
    passed = 0  # whole flow objects that are no drop, counted without decoding
    try:
        inp = _Input(stream, stats, sniff=not part)
        lines = stats.lines
        if inp.pretty:
            for lineno, value in inp.values():
                lines = lineno
                f = _decode(value, lineno, stats)
                if f is not None:
                    fold(f, value, lineno)
            # the last value's line number is a lower bound on the line count: enough for the report
        else:
            lineno = lines
            for buf, i, end in inp.chunks():
                find = buf.find
                starts = buf.startswith
                view = memoryview(buf)
                while i < end:
                    j = find(b"\n", i, end) + 1 or end
                    lineno += 1
                    x = find(b'"verdict":', i, j) + 10  # Hubble prints the verdict early: a short scan
                    if x > 9:
                        if starts(b'"DROPPED"', x) or starts(b'"AUDIT"', x):  # no slice: the common case
                            drop = True
                        else:
                            v = buf[x:x + 9]
                            if v[:1] == b" ":
                                v = buf[x + 1:x + 10]
                            if v == b'"DROPPED"' or v[:7] == b'"AUDIT"':
                                drop = True
                            else:  # another verdict string: no drop; anything else: look at the whole line
                                drop = v[:1] != b'"' and (find(b'"DROPPED"', i, j) >= 0 or find(b'"AUDIT"', i, j) >= 0)
                    else:
                        drop = find(b'"DROPPED"', i, j) >= 0 or find(b'"AUDIT"', i, j) >= 0
                    if not drop:
                        if x > 9 and buf[i] == 123 and buf[j - 2:j] == b"}\n":  # 123: "{"
                            passed += 1  # a whole flow object that is no drop: not decoded
                        else:
                            kind = _unparsed_kind(buf[i:j])
                            if kind == 1:
                                passed += 1
                            elif kind == 0:
                                stats.non_flow_lines += 1
                                stats.skipped_lines += 1
                            elif kind < 0:
                                stats.malformed(lineno)
                        i = j
                        continue
                    line = view[i:j]
                    i = j
                    try:
                        f = dec(line)
                    except msgspec.DecodeError:  # ValidationError included: see `_decode`
                        _decode(bytes(line), lineno, stats, first)
                        continue
                    if f.flow is not None:
                        f = f.flow
                    elif f.verdict is None:
                        f = _decode(bytes(line), lineno, stats, first)  # a flow without verdict, or no flow
                        if f is None:
                            continue
                    fold(f, line, lineno)
                lines = lineno
    except KeyboardInterrupt:
        stats.interrupted = True
    drops = folder.finish()
    stats.lines = lines
    stats.flows_read += folder.flows + passed + drops
    stats.policy_drops += drops
    return stats, folder.groups


# --- one file on several cores ----------------------------------------------------------------------
PARALLEL_MIN_BYTES = 32 << 20  # smaller files are read on one core: forking costs more than it saves


def default_jobs() -> int:
    """The CPUs this process may run on (its affinity mask), at most 8."""
    try:
        return max(1, min(8, len(os.sched_getaffinity(0))))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, min(8, os.cpu_count() or 1))


class _Window(io.RawIOBase):
    """Bytes [lo, hi) of a file, as a raw stream (pread: no shared file position)."""

    def __init__(self, path: Path, lo: int, hi: int):
        self._fd = os.open(path, os.O_RDONLY)
        self._pos, self._hi = lo, hi

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = min(len(b), self._hi - self._pos)
        if n <= 0:
            return 0
        with memoryview(b) as view:
            k = os.preadv(self._fd, [view[:n]], self._pos)  # straight into the caller's buffer
        self._pos += k
        return k

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def _window(path: Path, lo: int, hi: int) -> IO[bytes]:
    return io.BufferedReader(_Window(path, lo, hi), CHUNK)


def _cuts(path: Path, size: int, jobs: int) -> list[int]:
    """Part boundaries: `jobs` near-equal parts, each cut just after a newline."""
    cuts = [0]
    with open(path, "rb") as fh:
        for k in range(1, jobs):
            pos = max(size * k // jobs, cuts[-1])
            fh.seek(pos)
            rest = fh.readline()  # the line `pos` falls in ends the previous part
            if not rest.endswith(b"\n"):
                break
            cut = pos + len(rest)
            if cut >= size:
                break
            if cut > cuts[-1]:
                cuts.append(cut)
    cuts.append(size)
    return cuts


def _regular_head(path: str | Path, min_bytes: int, n: int) -> tuple[int, bytes] | None:
    """(size, first `n` bytes) of a regular file of at least `min_bytes`, where this process can fork
    (Linux); else None. An unreadable file is None too: the one-core path reports it."""
    if str(path) == "-" or not hasattr(os, "fork") or not sys.platform.startswith("linux"):
        return None
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size < min_bytes:
            return None
        with open(path, "rb") as fh:
            return st.st_size, fh.read(n)
    except OSError:
        return None


def _parallel_plan(path: str | Path, jobs: int) -> list[int] | None:
    """The part boundaries to read `path` on `jobs` cores, or None (one core): not a regular file, not
    big enough, compressed, not one flow per line (pretty-printed or an array), or no `fork`."""
    found = _regular_head(path, PARALLEL_MIN_BYTES, BATCH_BYTES) if jobs >= 2 else None
    if found is None:
        return None
    size, head = found
    p = Path(path)
    if any(head.startswith(magic) for magic, _ in _MAGIC):
        return None
    try:
        if _Input(io.BytesIO(head), ReadStats()).pretty:
            return None
    except FlowInputError:
        return None  # a JSON array: the one-core path refuses it with its message
    cuts = _cuts(p, size, jobs)
    return cuts if len(cuts) > 2 else None


def _scan_part(path: Path, lo: int, hi: int) -> tuple[ReadStats, dict[tuple, RawGroup], dict[tuple, list[int]]]:
    noted: dict[tuple, list[int]] = {}
    with _window(path, lo, hi) as stream:
        stats, groups = scan_drops(stream, ReadStats(max_other_samples=1 << 30), noted=noted)
    return stats, groups, noted


def _fork(work) -> int:
    """Fork; the child runs `work()`, whose return value is its exit code (1 if it raises), and never
    returns into the caller's code. The parent gets the child's pid."""
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            code = work()
        except BaseException:  # noqa: BLE001 - a child must never run the parent's code after fork
            code = 1
        finally:
            os._exit(code)
    return pid


def _fork_part(path: Path, lo: int, hi: int) -> tuple[int, int]:
    """(pid, read end of a pipe) of a child process that scans bytes [lo, hi) of `path` and writes
    ("ok", its stats, groups and noted lines) or ("error", message) to the pipe, pickled."""
    r, w = os.pipe()

    def work() -> int:
        os.close(r)
        try:
            payload = pickle.dumps(("ok", _scan_part(path, lo, hi)), pickle.HIGHEST_PROTOCOL)
        except FlowInputError as e:
            payload = pickle.dumps(("error", str(e)))
        with os.fdopen(w, "wb") as out:
            out.write(payload)
        return 0

    pid = _fork(work)
    os.close(w)
    return pid, r


def _stop(children: list[tuple[int, int]]) -> None:
    for pid, r in children:
        os.close(r)
        try:
            os.kill(pid, 9)
        except ProcessLookupError:  # pragma: no cover - already gone
            pass
        os.waitpid(pid, 0)


def _collect(pid: int, r: int) -> tuple:
    with os.fdopen(r, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    if not data or os.waitstatus_to_exitcode(status) != 0:
        return ("failed",)
    return pickle.loads(data)


def _replay(path: Path, lo: int, hi: int, wanted: list[tuple[RawGroup, tuple, list[int]]]) -> None:
    """Note, in a group merged from earlier parts, the flows a one-core read would have noted: each
    group's first flows of this part (line numbers recorded by the part's scan), as many as it still
    samples. Reads the part's lines up to the last one needed."""
    need: set[int] = set()
    for g, _, linenos in wanted:
        need.update(linenos[:g.samples_left])
    if not need:
        return
    last = max(need)
    lines: dict[int, bytes] = {}
    with _window(path, lo, hi) as fh:
        for n, line in enumerate(fh, 1):
            if n in need:
                lines[n] = line
            if n >= last:
                break
    for g, key, linenos in wanted:
        for n in linenos:
            if not g.samples_left:
                break
            g.samples_left -= 1
            _note_flow(g, key, lines[n])


def _merge_part(stats: ReadStats, groups: dict[tuple, RawGroup], part: tuple, path: Path, lo: int, hi: int) -> None:
    """Add the result of part [lo, hi) (read after every earlier part) as a one-core read would have
    folded its lines after theirs: counts add, line numbers shift, samples are replayed."""
    pstats, pgroups, noted = part
    base = stats.lines
    stats.lines = base + pstats.lines
    stats.flows_read += pstats.flows_read
    stats.skipped_lines += pstats.skipped_lines
    stats.non_flow_lines += pstats.non_flow_lines
    stats.policy_drops += pstats.policy_drops
    stats.replies_skipped += pstats.replies_skipped
    stats.interrupted = stats.interrupted or pstats.interrupted
    stats.malformed_count += pstats.malformed_count
    for n in pstats.malformed_lines:
        if len(stats.malformed_lines) < MAX_MALFORMED_LINES:
            stats.malformed_lines.append(base + n)
    for reason, n in pstats.other_drops.items():
        stats.other_drops[reason] = stats.other_drops.get(reason, 0) + n
        if reason not in stats.other_samples and len(stats.other_samples) < stats.max_other_samples \
                and reason in pstats.other_samples:
            stats.other_samples[reason] = pstats.other_samples[reason]
    wanted = []
    for key, g in pgroups.items():
        mine = groups.get(key)
        if mine is None:
            groups[key] = g  # its first flow is in this part: what it sampled is what one core samples
            continue
        mine.count += g.count
        mine.dropped = mine.count
        if mine.samples_left:
            wanted.append((mine, key, noted.get(key, [])))
    _replay(path, lo, hi, wanted)


def _compressed_file(path: str | Path) -> str | None:
    """The compression of a regular compressed file big enough to be worth a second process (by its
    magic bytes), or None; None too without `fork`."""
    found = _regular_head(path, PARALLEL_MIN_BYTES // 8, 6)  # ~4 MB compressed: 20-40 MB of JSON
    if found is None:
        return None
    return next((kind for magic, kind in _MAGIC if found[1].startswith(magic)), None)


def _decompress_to(path: Path, out_fd: int, err_fd: int) -> int:
    """The decompressing child's work: the file's bytes, decompressed, to `out_fd`; a read error's
    message to `err_fd`. Its exit code: 0 done (or the reader stopped: a broken pipe), 2 bad input."""
    try:
        with open_input(path) as src, os.fdopen(out_fd, "wb", buffering=0) as out:
            while True:
                with _reading():
                    block = src.read(CHUNK)
                if not block:
                    return 0
                out.write(block)
    except BrokenPipeError:
        return 0
    except FlowInputError as e:
        os.write(err_fd, str(e).encode())
        return 2


def _scan_decompressed_in_child(path: Path, kind: str, stats: ReadStats) -> tuple[ReadStats, dict[tuple, RawGroup]]:
    """`scan_drops` of a compressed file whose decompression runs in a forked process, piping the plain
    bytes to this one: the same bytes as one core reads, in the same order, so the same result; the two
    steps overlap on two cores. A decompression error is raised here as on one core (FlowInputError,
    after the flows before it were read); a child that dies otherwise leaves the file to one core."""
    before = copy.deepcopy(stats)
    r, w = os.pipe()
    try:  # a pipe of CHUNK bytes (Linux's default is 64 KiB): fewer switches between the two processes
        import fcntl

        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, CHUNK)
    except (ImportError, AttributeError, OSError):  # pragma: no cover - above pipe-max-size, not Linux
        pass
    er, ew = os.pipe()

    def work() -> int:
        os.close(r)
        os.close(er)
        return _decompress_to(path, w, ew)

    pid = _fork(work)
    os.close(w)
    os.close(ew)
    try:
        with os.fdopen(r, "rb", buffering=CHUNK) as stream:
            stats, groups = scan_drops(stream, stats)
    finally:
        if stats.interrupted:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:  # pragma: no cover - already gone
                pass
        _, status = os.waitpid(pid, 0)
        with os.fdopen(er, "rb") as fh:
            message = fh.read().decode(errors="replace")
    stats.compression = stats.compression or kind
    code = os.waitstatus_to_exitcode(status)
    if code == 2:
        raise FlowInputError(message)
    if code != 0 and not stats.interrupted:
        stream = open_input(path)
        try:
            return scan_drops(stream, before)
        finally:
            stream.close()
    return stats, groups


def scan_drops_path(path: str | Path, stats: ReadStats | None = None, *,
                    jobs: int = 1) -> tuple[ReadStats, dict[tuple, RawGroup]]:
    """`scan_drops` of a file path (`-` is stdin), on up to `jobs` cores.

    A regular, uncompressed file of one flow per line of at least PARALLEL_MIN_BYTES is cut into
    `jobs` parts at line ends; forked processes scan every part but the first while this one scans
    the first, and the parts are merged in order. The result is the one-core result, exactly: counts
    add, line numbers (malformed lines) shift by the lines before the part, first-seen order and the
    first sample of each non-policy drop reason follow the parts' order, and a group already seen in
    an earlier part notes the samples of this part's first flows again from their lines (each part
    records the line numbers of the flows it noted). A part whose process fails is read again here.
    A compressed regular file is decompressed by a forked process, piped to this one
    (`_scan_decompressed_in_child`). Anything else (stdin, small or pretty-printed files), and `jobs`
    1, reads on one core."""
    stats = stats or ReadStats()
    cuts = _parallel_plan(path, jobs)
    if cuts is None:
        kind = _compressed_file(path) if jobs >= 2 else None
        if kind is not None:
            return _scan_decompressed_in_child(Path(path), kind, stats)
        stream = open_input(path)
        try:
            return scan_drops(stream, stats)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
    p = Path(path)
    children = [_fork_part(p, lo, hi) for lo, hi in zip(cuts[1:-1], cuts[2:])]
    try:
        with _window(p, cuts[0], cuts[1]) as stream:
            stats, groups = scan_drops(stream, stats)
    except BaseException:
        _stop(children)
        raise
    if stats.interrupted:  # Ctrl-C: the report covers what this process read
        _stop(children)
        return stats, groups
    results = [_collect(pid, r) for pid, r in children]
    for (lo, hi), res in zip(zip(cuts[1:-1], cuts[2:]), results):
        if res[0] == "error":
            raise FlowInputError(res[1])
        part = res[1] if res[0] == "ok" else _scan_part(p, lo, hi)
        _merge_part(stats, groups, part, p, lo, hi)
    return stats, groups


def scan_all(stream: IO[bytes] | Iterable[bytes], namespace: str | None = None,
             stats: ReadStats | None = None) -> tuple[ReadStats, dict[tuple, RawGroup]]:
    """Fold every request flow (forwarded and policy-dropped; replies skipped) into raw groups; with
    `namespace`, only flows whose source or destination is in that namespace (lines that do not
    contain the namespace's name as a JSON string are not decoded). The `netpol verify` and
    `netpol profile --from-flows` pass."""
    stats = stats or ReadStats()
    groups: dict[tuple, RawGroup] = {}
    needle = orjson.dumps(namespace) if namespace else None
    lines = stats.lines

    def values() -> Iterator[tuple[int, bytes]]:
        nonlocal lines
        inp = _Input(stream, stats)
        lines = stats.lines
        if inp.pretty:
            yield from inp.values()
            return
        for batch in inp.line_batches():
            for line in batch:
                lines += 1
                yield lines, line

    try:
        for lineno, line in values():
            lines = max(lines, lineno)
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
            f = _decode(line, lineno, stats)
            if f is None:
                continue
            _fold_any(f, line, namespace, groups, stats)
            stats.flows_read += 1
    except KeyboardInterrupt:
        stats.interrupted = True
    stats.lines = lines
    return stats, groups


def _fold_any(f: _Flow, line: bytes, namespace: str | None, groups: dict[tuple, RawGroup], stats: ReadStats) -> None:
    src = f.source or _NO_EP
    dst = f.destination or _NO_EP
    if namespace is not None and src.namespace != namespace and dst.namespace != namespace:
        return
    verdict = f.verdict
    kind: bool | None = None
    if verdict == AUDIT:
        kind = True
    elif verdict == DROPPED:
        r = f.drop_reason_desc or f.dropReasonDesc
        if r is None and f.drop_reason is not None:
            r = DROP_REASON_NAMES.get(f.drop_reason, str(f.drop_reason))
        if r not in POLICY_DROP_REASONS:
            stats.other_drop(r or "UNKNOWN", line)
            return
        kind = True
    elif verdict == FORWARDED:
        kind = False
    else:
        return  # TRACED, TRANSLATED, REDIRECTED, ERROR: no policy decision to compare
    if _is_reply(f):
        stats.replies_skipped += 1
        return
    port, proto = _port_proto(f.l4)
    direction = f.traffic_direction or f.trafficDirection or "TRAFFIC_DIRECTION_UNKNOWN"
    d = None
    sk, dk = src.identity, dst.identity
    if not sk or not dk:
        d = _flow_dict(line)
        sk = sk or _labels_key(_endpoint_of(d.get("source")))
        dk = dk or _labels_key(_endpoint_of(d.get("destination")))
    key = (direction, sk, dk, port, proto)
    g = groups.get(key)
    if g is None:
        d = d or _flow_dict(line)
        g = groups[key] = RawGroup(src=_endpoint_of(d.get("source")), dst=_endpoint_of(d.get("destination")),
                                   direction=direction, port=port, protocol=proto)
    if kind:
        stats.policy_drops += 1
        g.dropped += 1
    else:
        g.forwarded += 1
    g.count += 1
    if g.samples_left:
        g.samples_left -= 1
        if d is not None:
            _note(g, d)
        else:
            _note_line(g, line)


def merge_raw(into: dict[tuple, RawGroup], part: dict[tuple, RawGroup]) -> dict[tuple, RawGroup]:
    """Add the raw groups of another input (another file, another time window) to `into`."""
    for key, g in part.items():
        mine = into.get(key)
        if mine is None:
            into[key] = g
            continue
        mine.count += g.count
        mine.forwarded += g.forwarded
        mine.dropped += g.dropped
        mine.unnamed = mine.unnamed or g.unnamed
        for a, b in ((mine.src_pods, g.src_pods), (mine.dst_pods, g.dst_pods), (mine.names, g.names),
                     (mine.ips, g.ips), (mine.denied_by, g.denied_by)):
            for v in b:
                _add_sample(a, v)
    return into
