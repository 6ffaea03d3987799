"""Benchmark: `netpol triage` beside the runbook's jq pipeline, on the same Hubble capture, in one run.

    .venv/bin/python bench/bench_triage.py [--flows 200000] [--runs 3] [--no-drops-only]

Generates a realistic capture of the `dev` stack to a temp file (`hubble observe -o json`: the bare
flow objects the runbook's jq expression reads; every field Hubble prints: time, uuid, ethernet, IP,
l4 with flags, full endpoint label sets with namespace labels, node_name, event_type, Summary, ...,
about 1.6 KB a line). Traffic is a cluster mix: DNS lookups, shared-resource calls, gateway ingress,
HTTPS egress with DNS names, Prometheus scrapes, app-to-app calls and their replies, over several
replicas per namespace, each flow FORWARDED or DROPPED as the dev model's engine decides (about a
third are policy drops). A second file holds only drops (`hubble observe --verdict DROPPED`): the
worst case for triage's byte pre-filter.

Timed, medians over `--runs` rounds (each round runs every contender once, interleaved), flows/s each:
* jq 1.6, the runbook's expression (parenthesised for jq 1.6), output to /dev/null;
* `triage()` in-process (read, group, classify, verify every fix with the engine);
* the CLI, `netpol triage --stack dev FILE --json` (interpreter start and imports included).
Ratio = triage flows/s / jq flows/s (target >= 4x). Peak memory (ru_maxrss of the CLI process, via
RUSAGE_CHILDREN in a fresh wrapper process) for a quarter of the flows and for all of them: flat,
target < 200 MB. A reference row times orjson.loads alone over the file: the floor of any parser
that validates every line. The exit code (0 met, 1 missed) follows the primary capture; the
drops-only file is the stress case, reported met / NOT met beside it.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netpol.stack import load_stack  # noqa: E402
from netpol.triage import synth as S  # noqa: E402
from netpol.triage import triage  # noqa: E402
from netpol.triage.fixes import Verifier  # noqa: E402

JQ_EXPR = ('{src: (.source.namespace + "/" + .source.pod_name), '
           'dst: (.destination.namespace + "/" + .destination.pod_name), '
           'port: (.l4.TCP.destination_port // .l4.UDP.destination_port)}')
NETPOL = ROOT / ".venv" / "bin" / "netpol"
PYTHON = ROOT / ".venv" / "bin" / "python"


def scenarios(cfg):
    """(weight, sources, destinations, port, proto, direction, names)."""
    rnd = random.Random(7)
    apps = list(cfg.namespaces)
    pods = {ns: [S.app_pod(cfg, ns, name=f"{ns}-7c9d8b6f5-{S._suffix(ns, i)}") for i in range(4)] for ns in apps}
    out = []
    for ns in apps:
        me = pods[ns]
        out += [
            (12, me, [S.kube_dns(cfg)], 53, "UDP", "EGRESS", []),
            (3, me, [S.kube_dns(cfg)], 53, "TCP", "EGRESS", []),
            (4, me, [S.postgres(cfg)], 5432, "TCP", "EGRESS", []),
            (2, me, [S.dragonfly(cfg)], 6379, "TCP", "EGRESS", []),
            (2, me, [S.garage(cfg)], 3900, "TCP", "EGRESS", []),
            (1, me, [S.entity("kube-apiserver")], 6443, "TCP", "EGRESS", []),
            (4, me, [S.entity("world")], 443, "TCP", "EGRESS", ["api.github.com", "login.microsoftonline.com",
                                                                   "api.stripe.com", "objects.githubusercontent.com"]),
            (1, me, [S.entity("world")], 80, "TCP", "EGRESS", ["deb.debian.org", ""]),
            (3, [S.gateway(cfg, "internal")], me, 8080, "TCP", "INGRESS", []),
            (2, [S.gateway(cfg, "external")], me, 8443, "TCP", "INGRESS", []),
            (2, [S.prometheus(cfg)], me, 9090, "TCP", "INGRESS", []),
            (1, [S.entity("health")], me, 8080, "TCP", "INGRESS", []),
            (1, me, pods[rnd.choice([a for a in apps if a != ns])], 8080, "TCP", "EGRESS", []),
        ]
    return out


def generate(cfg, n: int, path: Path, *, drops_only: bool) -> dict:
    """Write n flow lines; the verdict of each scenario is the dev model's (engine)."""
    world = Verifier(cfg).base
    rnd = random.Random(42)
    scs = scenarios(cfg)
    verdicts = []
    for _, srcs, dsts, port, proto, _d, names in scs:
        s, d = world.peers.resolve(srcs[0]), world.peers.resolve(dsts[0])
        v = world.evaluate(world.spec_for(srcs[0], s), world.spec_for(dsts[0], d, [x for x in names if x]), port, proto)
        verdicts.append("FORWARDED" if v is not None and v.allowed else "DROPPED")
    idx = [i for i, v in enumerate(verdicts) if v == "DROPPED"] if drops_only else list(range(len(scs)))
    weights = [scs[i][0] for i in idx]
    counts = {"FORWARDED": 0, "DROPPED": 0, "replies": 0}
    with path.open("wb") as fh:
        written = 0
        while written < n:
            for i in rnd.choices(idx, weights, k=min(5000, n - written)):
                _, srcs, dsts, port, proto, direction, names = scs[i]
                verdict = verdicts[i]
                name = rnd.choice(names) if names else ""
                reply = verdict == "FORWARDED" and proto == "TCP" and rnd.random() < 0.25
                src, dst = rnd.choice(srcs), rnd.choice(dsts)
                if reply:
                    src, dst = dst, src
                f = S.flow(src, dst, port, proto, verdict=verdict, direction=direction, seq=written,
                           names=[name] if name else [], reply=reply,
                           dst_ip=None if dst.get("namespace") else f"{rnd.randrange(20, 220)}.{rnd.randrange(256)}."
                           f"{rnd.randrange(256)}.{rnd.randrange(1, 255)}")
                fh.write(S.line(f))
                counts["replies" if reply else verdict] += 1
                written += 1
    return counts


def interleaved(fns, runs: int) -> list[float]:
    """Median seconds of each function, run in rounds (jq, triage, CLI, ... then again) so that a
    drift of the machine's speed during the run hits every contender alike."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t)
    return [statistics.median(t) for t in times]


def run_jq(path: Path) -> None:
    with path.open("rb") as fh:
        subprocess.run(["jq", JQ_EXPR], stdin=fh, stdout=subprocess.DEVNULL, check=True)


def run_inproc(cfg, path: Path) -> int:
    with path.open("rb") as fh:
        r = triage(cfg, fh)
    return len(r.findings)


def run_parse_only(path: Path) -> None:
    """The floor: read every line and orjson-parse it, nothing else."""
    import orjson

    loads = orjson.loads
    with path.open("rb") as fh:
        for line in fh:
            loads(line)


def run_cli(path: Path) -> None:
    subprocess.run([str(NETPOL), "triage", "--stack", "dev", str(path), "--json"], stdout=subprocess.DEVNULL,
                   check=True, cwd=ROOT)


def peak_rss_mb(path: Path) -> float:
    """ru_maxrss of the CLI process, measured from a fresh wrapper (RUSAGE_CHILDREN)."""
    code = ("import resource, subprocess, sys; "
            "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([str(PYTHON), "-c", code, str(NETPOL), "triage", "--stack", "dev", str(path), "--json"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return int(out.stdout.strip()) / 1024  # Linux: KiB


def bench_file(cfg, label: str, n: int, runs: int, tmp: Path, *, drops_only: bool) -> dict:
    path = tmp / f"flows-{label}.json"
    t = time.perf_counter()
    counts = generate(cfg, n, path, drops_only=drops_only)
    gen = time.perf_counter() - t
    size = path.stat().st_size
    print(f"\n== {label}: {n:,} flows, {size / 1e6:.0f} MB ({size / n:.0f} B/flow), generated in {gen:.1f}s; "
          f"forwarded {counts['FORWARDED']:,}, dropped {counts['DROPPED']:,}, replies {counts['replies']:,}")
    findings = run_inproc(cfg, path)  # warm-up (page cache, imports)
    jq, inproc, cli, floor = interleaved([lambda: run_jq(path), lambda: run_inproc(cfg, path), lambda: run_cli(path),
                                          lambda: run_parse_only(path)], runs)
    rows = [("jq 1.6 (runbook expression)", jq), ("netpol triage, in-process", inproc),
            ("netpol triage --json, CLI", cli), ("(reference: orjson.loads only)", floor)]
    print(f"{'':32} {'median s':>9} {'flows/s':>10} {'vs jq':>7}")
    for name, secs in rows:
        print(f"{name:32} {secs:9.3f} {n / secs:10,.0f} {jq / secs:6.1f}x")
    print(f"triage found {findings} drop groups (classified, each fix verified with the engine)")
    quarter = tmp / f"flows-{label}-quarter.json"
    with path.open("rb") as src, quarter.open("wb") as dst:
        for i, line in enumerate(src):
            if i >= n // 4:
                break
            dst.write(line)
    small, full = peak_rss_mb(quarter), peak_rss_mb(path)
    print(f"peak memory (ru_maxrss of `netpol triage`): {n // 4:,} flows {small:.1f} MB, {n:,} flows {full:.1f} MB "
          f"(+{full - small:.1f} MB for {n - n // 4:,} more flows)")
    return {"jq": n / jq, "inproc": n / inproc, "cli": n / cli, "ratio_inproc": jq / inproc, "ratio_cli": jq / cli,
            "rss_small": small, "rss_full": full}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-drops-only", action="store_true", help="skip the drops-only capture")
    args = ap.parse_args()
    if shutil.which("jq") is None:
        print("jq is not installed (Debian package jq; `make tools` installs it)", file=sys.stderr)
        return 2
    jqv = subprocess.run(["jq", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"netpol triage benchmark: {args.flows:,} flows, median of {args.runs} runs; {jqv}; "
          f"python {sys.version.split()[0]}; {os.cpu_count()} cores")
    cfg = load_stack("dev", ROOT)
    ok = True
    with tempfile.TemporaryDirectory(prefix="netpol-bench-") as d:
        tmp = Path(d)
        results = {"capture (hubble observe -o json)": bench_file(cfg, "capture", args.flows, args.runs, tmp,
                                                                  drops_only=False)}
        if not args.no_drops_only:
            results["drops only (--verdict DROPPED)"] = bench_file(cfg, "drops-only", args.flows, args.runs, tmp,
                                                                   drops_only=True)
    print("\nsummary (target: triage >= 4x jq's flows/s while classifying; peak memory flat, < 200 MB)")
    for i, (name, r) in enumerate(results.items()):
        met = r["ratio_inproc"] >= 4 and r["ratio_cli"] >= 4 and r["rss_full"] < 200
        flat = r["rss_full"] - r["rss_small"] < 10
        if i == 0:  # the exit code follows the primary capture; the drops-only stress case is reported
            ok = met and flat
        print(f"  {name}: in-process {r['ratio_inproc']:.1f}x, CLI {r['ratio_cli']:.1f}x jq "
              f"({r['jq']:,.0f} jq flows/s); peak {r['rss_small']:.0f} -> {r['rss_full']:.0f} MB "
              f"({'flat' if flat else 'GROWS'}): {'met' if met else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
