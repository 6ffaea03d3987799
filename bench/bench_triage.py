"""Benchmark: `netpol triage` beside the runbook's jq pipeline, on the same Hubble capture, in one run.

    .venv/bin/python bench/bench_triage.py [--flows 200000] [--runs 3] [--no-drops-only] [--memory-max 1000000]

Generates a realistic capture of the `dev` stack to a temp file (`hubble observe -o json`: the bare
flow objects the runbook's jq expression reads; every field Hubble prints: time, uuid, ethernet, IP,
l4 with flags, full endpoint label sets with namespace labels, node_name, event_type, Summary, ...,
about 1.5 KB a line). Traffic is a cluster mix: DNS lookups, shared-resource calls, gateway ingress,
HTTPS egress with DNS names, Prometheus scrapes, app-to-app calls and their replies, over several
replicas per namespace, each flow FORWARDED or DROPPED as the dev model's engine decides (about a
third are policy drops). A second file holds only drops (`hubble observe --verdict DROPPED`): the
worst case for triage's byte pre-filter (every line is decoded).

Timed, medians over `--runs` rounds (each round runs every contender once, interleaved), flows/s each:
* jq 1.6, the runbook's expression (parenthesised for jq 1.6), output to /dev/null;
* `triage()` in-process (read, group, classify, verify every fix with the engine), timed inside a fresh
  process of its own (as are the floors: see `in_fresh_process`), the stack loaded beforehand and a
  fresh `Verifier` (its worlds) built in the run. (Until session 20 the verifier was
  shared across runs, so every run but the first found its worlds built: that flattered the in-process
  figure by 0.15-0.25 s.) The process-wide compile cache of policy documents stays warm; cold, it costs
  under 5 ms;
* the same by path on the CPUs the process may use (`triage_file(..., jobs=default_jobs())`: the file
  cut into parts, scanned by forked processes, merged into the one-core result);
* the CLI, `netpol triage --stack dev FILE -o json` (interpreter start and imports included), as a user
  runs it: a file of 32 MB or more is read on the CPUs it may use (`--jobs` unset); and with `--jobs 1`
  (one core). Run as
  an installed package runs: with its modules' bytecode cached (pip compiles it at install; here a
  private `PYTHONPYCACHEPREFIX`, written by a warm-up run). A checkout run under
  `PYTHONDONTWRITEBYTECODE=1` recompiles every module at each start: printed as its own row;
* the CLI's fixed cost: the same command on a one-flow file (start-up, stack load, one group);
* floors: `orjson.loads` of every line (the previous reader's parser), and the new decoder alone
  (msgspec Structs of the fields triage reads, every line decoded, nothing folded).
Wall seconds and, for the subprocesses (jq, the CLI), CPU seconds (user + system, from
RUSAGE_CHILDREN): on a shared machine the CPU ratio is the steadier of the two.
Then, once each: the capture zstd- and gzip-compressed and piped through stdin (in process, flows/s
and MB/s of JSON per core), and the compressed files through the CLI as a user runs it (decompressed by
a second process, piped) and with `--jobs 1`. Ratio = jq seconds / contender seconds (targets: >= 6x in process, judged on the one-core row;
>= 4x CLI, judged on the CLI as a user runs it; its CPU ratio and the `--jobs 1` ratio are printed
beside it: jq uses one core). Peak memory (ru_maxrss of the CLI process, via RUSAGE_CHILDREN in a fresh wrapper process)
at 25,000 flows and at `--memory-max` flows (the capture repeated): flat, < 100 MB. The exit code
(0 met, 1 missed) covers both captures and memory.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "tests" / "triage"))

import hubble_synth as S  # noqa: E402  (the tests' flow generator)

from netpol.stack import load_stack  # noqa: E402
from netpol.triage import triage, triage_file  # noqa: E402
from netpol.triage.fixes import Verifier  # noqa: E402
from netpol.triage.flows import default_jobs  # noqa: E402

JQ_EXPR = ('{src: (.source.namespace + "/" + .source.pod_name), '
           'dst: (.destination.namespace + "/" + .destination.pod_name), '
           'port: (.l4.TCP.destination_port // .l4.UDP.destination_port)}')
NETPOL = ROOT / ".venv" / "bin" / "netpol"
PYTHON = ROOT / ".venv" / "bin" / "python"
PYCACHE = Path(tempfile.gettempdir()) / "netpol-bench-pycache"  # the CLI's bytecode, as installed


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


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def interleaved(fns, runs: int) -> tuple[list[float], list[float]]:
    """Median wall seconds and median CPU seconds of child processes (0 for in-process contenders)
    of each function, run in rounds (jq, triage, CLI, ... then again) so that a drift of the
    machine's speed during the run hits every contender alike."""
    times: list[list[float]] = [[] for _ in fns]
    cpus: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            c = _children_cpu()
            t = time.perf_counter()
            timed = fn()  # a float: the seconds the contender timed itself (in a fresh process)
            times[i].append(timed if isinstance(timed, float) else time.perf_counter() - t)
            cpus[i].append(_children_cpu() - c)
    return [statistics.median(t) for t in times], [statistics.median(c) for c in cpus]


def cli_env(*, bytecode: bool) -> dict[str, str]:
    """The CLI's environment: as installed (bytecode cached under a private prefix) or as a checkout
    under PYTHONDONTWRITEBYTECODE=1 (every module compiled at each start)."""
    env = dict(os.environ)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    else:
        env.pop("PYTHONPYCACHEPREFIX", None)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_jq(path: Path) -> None:
    with path.open("rb") as fh:
        subprocess.run(["jq", JQ_EXPR], stdin=fh, stdout=subprocess.DEVNULL, check=True)


def run_inproc(cfg, path: Path) -> int:
    """One whole triage of a file, as a fresh process does it once the stack is loaded: the verifier (its
    worlds, their selection caches) is built inside the run, never carried over from a previous run."""
    from netpol.triage.flows import open_input

    with open_input(path) as fh:
        r = triage(cfg, fh, Verifier(cfg))
    return len(r.findings)


def in_fresh_process(fn: str, path: Path, warm: Path) -> float:
    """Seconds of `fn(path)` (a function of this module), timed inside a fresh Python process after its
    imports, the dev stack's loading and one call on `warm` (a one-flow file: what a process pays once,
    such as the modules triage imports on first use, is start-up, counted in the CLI's fixed cost). On this machine a process's speed is bimodal (the same triage
    took 0.59-1.03 s in ten fresh processes: memory-bound calls all ~2x slower in the slow ones), so every
    contender runs in processes of its own, as jq and the CLI do, and the medians compare like with like."""
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); import bench_triage as B; "
            "from netpol.stack import load_stack; cfg = load_stack('dev'); fn = getattr(B, sys.argv[2]); "
            "args = (cfg,) if sys.argv[2].startswith('run_inproc') else (); "
            "from pathlib import Path; fn(*args, Path(sys.argv[4])); "
            "t = time.perf_counter(); fn(*args, Path(sys.argv[3])); print(time.perf_counter() - t)")
    out = subprocess.run([str(PYTHON), "-c", code, str(ROOT / "bench"), fn, str(path), str(warm)], capture_output=True,
                         text=True, check=True, cwd=ROOT, env=cli_env(bytecode=True))
    return float(out.stdout.strip().splitlines()[-1])


def run_orjson_only(path: Path) -> None:
    """Floor of the old reader: read every line and orjson-parse it into a dict, nothing else."""
    import orjson

    loads = orjson.loads
    with path.open("rb") as fh:
        for line in fh:
            loads(line)


def run_decoder_only(path: Path) -> None:
    """Floor of the new reader: decode every line into triage's typed structs, nothing else."""
    from netpol.triage.flows import _DECODE

    dec = _DECODE
    with path.open("rb") as fh:
        while True:
            batch = fh.readlines(1 << 19)
            if not batch:
                break
            for line in batch:
                dec(line)


def run_cli(path: Path, *, bytecode: bool = True, jobs: int | None = None) -> None:
    """The CLI as a user runs it (`--jobs` unset: the CPUs it may use), or with `--jobs N`."""
    more = ["--jobs", str(jobs)] if jobs is not None else []
    subprocess.run([str(NETPOL), "triage", "--stack", "dev", str(path), "-o", "json", *more], stdout=subprocess.DEVNULL,
                   check=True, cwd=ROOT, env=cli_env(bytecode=bytecode))


def run_inproc_cores(cfg, path: Path) -> int:
    """`run_inproc` by path, the file read on the CPUs this process may use (`scan_drops_path`)."""
    return len(triage_file(cfg, path, Verifier(cfg), jobs=default_jobs()).findings)


def peak_rss_mb(path: Path) -> float:
    """ru_maxrss of the CLI process, measured from a fresh wrapper (RUSAGE_CHILDREN)."""
    code = ("import resource, subprocess, sys; "
            "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([str(PYTHON), "-c", code, str(NETPOL), "triage", "--stack", "dev", str(path), "-o", "json"],
                         capture_output=True, text=True, check=True, cwd=ROOT, env=cli_env(bytecode=True))
    return int(out.stdout.strip()) / 1024  # Linux: KiB


def head(path: Path, out: Path, n: int) -> Path:
    """The first n lines of path, repeated as often as needed."""
    written = 0
    with out.open("wb") as dst:
        while written < n:
            with path.open("rb") as src:
                for line in src:
                    if written >= n:
                        break
                    dst.write(line)
                    written += 1
    return out


def bench_compressed(cfg, path: Path, n: int, tmp: Path) -> list[tuple[str, float, float]]:
    """(label, seconds, MB/s of JSON) of in-process triage on the capture zstd- and gzip-compressed,
    read from a pipe on stdin, as `zstd -dc | netpol triage -` would."""
    import gzip

    import zstandard

    size = path.stat().st_size
    rows = []
    zst, gz = tmp / (path.name + ".zst"), tmp / (path.name + ".gz")
    with path.open("rb") as src, zst.open("wb") as dst:
        zstandard.ZstdCompressor(level=3).copy_stream(src, dst)
    with path.open("rb") as src, gzip.open(gz, "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    for label, p in (("zstd file", zst), ("gzip file", gz)):
        t = time.perf_counter()
        run_inproc(cfg, p)
        secs = time.perf_counter() - t
        rows.append((f"triage in-process, {label} ({p.stat().st_size / size:.0%} of the JSON)", secs, size / secs / 1e6))
        for jobs, how in ((None, f"decompressed by a 2nd process (all {default_jobs()} cores)"), (1, "--jobs 1")):
            t = time.perf_counter()
            run_cli(p, jobs=jobs)
            secs = time.perf_counter() - t
            rows.append((f"  CLI, {label}, {how}", secs, size / secs / 1e6))
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from netpol.stack import load_stack; "
            "from netpol.triage import triage; from netpol.triage.flows import open_input; "
            "print(len(triage(load_stack('dev'), open_input('-')).findings))")
    t = time.perf_counter()
    with zst.open("rb") as fh:
        subprocess.run([str(PYTHON), "-c", code, str(ROOT)], stdin=fh, stdout=subprocess.DEVNULL, check=True, cwd=ROOT)
    secs = time.perf_counter() - t
    rows.append(("process reading zstd from a stdin pipe", secs, size / secs / 1e6))
    return rows


def bench_file(cfg, label: str, n: int, runs: int, tmp: Path, *, drops_only: bool) -> dict:
    path = tmp / f"flows-{label}.json"
    t = time.perf_counter()
    counts = generate(cfg, n, path, drops_only=drops_only)
    gen = time.perf_counter() - t
    size = path.stat().st_size
    print(f"\n== {label}: {n:,} flows, {size / 1e6:.0f} MB ({size / n:.0f} B/flow), generated in {gen:.1f}s; "
          f"forwarded {counts['FORWARDED']:,}, dropped {counts['DROPPED']:,}, replies {counts['replies']:,}")
    findings = run_inproc(cfg, path)  # warm-up (page cache, imports)
    one = head(path, tmp / f"one-{label}.json", 1)
    run_cli(one)  # warm-up: writes the CLI's bytecode cache
    (jq, inproc, inproc_cores, cli, cli_one_core, cli_nobc, cli_one, floor_oj, floor_dec), cpu = interleaved(
        [lambda: run_jq(path), lambda: in_fresh_process("run_inproc", path, one),
         lambda: in_fresh_process("run_inproc_cores", path, one), lambda: run_cli(path),
         lambda: run_cli(path, jobs=1), lambda: run_cli(path, bytecode=False), lambda: run_cli(one),
         lambda: in_fresh_process("run_orjson_only", path, one),
         lambda: in_fresh_process("run_decoder_only", path, one)],
        runs)
    cores = default_jobs()
    rows = [("jq 1.6 (runbook expression)", jq, cpu[0]), ("netpol triage, in-process (one core)", inproc, None),
            (f"  in-process, file on {cores} cores", inproc_cores, None),
            (f"netpol triage -o json, CLI ({cores} cores)", cli, cpu[3]),
            ("  CLI --jobs 1 (one core)", cli_one_core, cpu[4]),
            ("  CLI, no bytecode cache", cli_nobc, cpu[5]),
            ("  CLI fixed cost (a one-flow file)", cli_one, cpu[6]),
            ("(floor: orjson.loads only)", floor_oj, None),
            ("(floor: new decoder only)", floor_dec, None)]
    print(f"{'':40} {'median s':>9} {'flows/s':>10} {'vs jq':>7} {'CPU s':>7} {'vs jq CPU':>9}")
    for name, secs, c in rows:
        cpu_cols = f" {c:7.3f} {cpu[0] / c:8.1f}x" if c else ""
        if name.startswith("  CLI fixed"):
            print(f"{name:40} {secs:9.3f} {'':10} {'':7}{cpu_cols}")
            continue
        print(f"{name:40} {secs:9.3f} {n / secs:10,.0f} {jq / secs:6.1f}x{cpu_cols}")
    print(f"triage found {findings} drop groups (classified, each fix verified with the engine)")
    return {"path": path, "jq": n / jq, "inproc": n / inproc, "cli": n / cli, "ratio_inproc": jq / inproc,
            "ratio_cli": jq / cli, "ratio_cli_cpu": cpu[0] / cpu[3], "ratio_cli_one": jq / cli_one_core,
            "ratio_inproc_cores": jq / inproc_cores, "mb_s": size / inproc / 1e6}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-drops-only", action="store_true", help="skip the drops-only capture")
    ap.add_argument("--memory-max", type=int, default=1_000_000, help="flows of the large memory run")
    ap.add_argument("--no-compressed", action="store_true", help="skip the zstd/gzip/stdin rows")
    args = ap.parse_args()
    if shutil.which("jq") is None:
        print("jq is not installed (Debian package jq; `make tools` installs it)", file=sys.stderr)
        return 2
    jqv = subprocess.run(["jq", "--version"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()[0]
    print(f"netpol triage benchmark: {args.flows:,} flows, median of {args.runs} runs; {jqv}; "
          f"python {sys.version.split()[0]}; {os.cpu_count()} cores; load average {load:.1f} at start")
    cfg = load_stack("dev", ROOT)
    ok = True
    with tempfile.TemporaryDirectory(prefix="netpol-bench-") as d:
        tmp = Path(d)
        results = {"capture (hubble observe -o json)": bench_file(cfg, "capture", args.flows, args.runs, tmp,
                                                                  drops_only=False)}
        if not args.no_drops_only:
            results["drops only (--verdict DROPPED)"] = bench_file(cfg, "drops-only", args.flows, args.runs, tmp,
                                                                   drops_only=True)
        capture = results["capture (hubble observe -o json)"]["path"]
        if not args.no_compressed:
            print("\n== compressed input and stdin (the capture, once each; MB/s of uncompressed JSON)")
            for name, secs, mbs in bench_compressed(cfg, capture, args.flows, tmp):
                print(f"{name:52} {secs:7.2f} s {args.flows / secs:10,.0f} flows/s {mbs:6.0f} MB/s")
        small = peak_rss_mb(head(capture, tmp / "mem-small.json", 25_000))
        big_path = head(capture, tmp / "mem-big.json", args.memory_max)
        big = peak_rss_mb(big_path)
        big_path.unlink()
        print(f"\npeak memory (ru_maxrss of `netpol triage -o json`): 25,000 flows {small:.1f} MB, "
              f"{args.memory_max:,} flows {big:.1f} MB (+{big - small:.1f} MB)")
    mem_ok = big < 100 and big - small < 10
    print(f"\nsummary (machine load average now {os.getloadavg()[0]:.1f}; targets: >= 6x jq in process, >= 4x CLI; "
          "peak memory flat, < 100 MB)")
    for name, r in results.items():
        met = r["ratio_inproc"] >= 6 and r["ratio_cli"] >= 4
        ok = ok and met
        print(f"  {name}: in-process {r['ratio_inproc']:.1f}x (one core; {r['ratio_inproc_cores']:.1f}x on "
              f"{default_jobs()}), CLI {r['ratio_cli']:.1f}x jq (CPU {r['ratio_cli_cpu']:.1f}x; --jobs 1 "
              f"{r['ratio_cli_one']:.1f}x) "
              f"({r['jq']:,.0f} jq flows/s; triage {r['inproc']:,.0f} flows/s = {r['mb_s']:.0f} MB/s of JSON on "
              f"one core): {'met' if met else 'NOT met'}")
    print(f"  memory: {small:.0f} -> {big:.0f} MB: {'met' if mem_ok else 'NOT met'}")
    return 0 if ok and mem_ok else 1


if __name__ == "__main__":
    sys.exit(main())
