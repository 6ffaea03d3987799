"""Benchmarks of the guardrails (issue 3): `netpol check` and the CrossGuard pack through gRPC.

    .venv/bin/python bench/bench_check.py [--namespaces 5000] [--runs 5] [--no-grpc]

1. `netpol check --stack` over a live-like stack with N app namespaces (the live stack's platform
   set and apps, plus N synthetic app namespaces): in process (`check_command`, stack config loaded
   afresh each run), split into building the manifests and running the 11 rules; and end to end
   (the `netpol` CLI as a subprocess, interpreter start-up included). Target: <= 1 s (issue 14: <= 0.5 s in
   process). Then the same check with the stack file read by PyYAML and by yaml-rs (`netpol.fastyaml`),
   alternating in one process: what the fast path saves.
2. Analyzer throughput through gRPC: the real pack process, started as the engine starts it
   (tests/policy_pack/analyzer_harness.py), fed every resource of that stack: Analyze one resource
   per call (sequential, as one engine step at a time; and from 8 client threads, as the engine's
   parallel steps), and one AnalyzeStack call with all of them. Target: >= 1,000 resources/s.
Medians over --runs runs.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "policy_pack"))

STACK = "live"


def write_live_like(n: int, root: Path) -> None:
    """Pulumi.live.yaml with N more app namespaces, under `root` (netpol finds it via NETPOL_ROOT)."""
    try:
        from _synthetic import write_stack  # the program benchmark's generator: same synthetic stacks
    except ImportError:  # pragma: no cover - standalone fallback
        import yaml

        cfg = yaml.safe_load((ROOT / "Pulumi.live.yaml").read_text())["config"]
        profiles = ("isolated", "internal", "internal-egress", "standard")
        cfg["netpol:namespaces"] = {**{f"app-{i:05d}": {"profile": profiles[i % 4]} for i in range(n)},
                                    **cfg["netpol:namespaces"]}
        root.mkdir(parents=True, exist_ok=True)
        (root / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
        (root / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump({"config": cfg}, sort_keys=False))
        return
    write_stack(n, root, STACK)


def median_ms(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:8.1f} ms"


def bench_check(runs: int) -> list[dict]:
    import netpol.stack as ns
    from netpol.commands.check import check_command, stack_context_and_manifests
    from policies.rules import run

    total, cpu, build, rules, n_objects = [], [], [], [], 0
    for _ in range(runs):
        ns._loaded.cache_clear()
        t0, c0 = time.perf_counter(), time.process_time()
        with redirect_stdout(io.StringIO()):
            rc = check_command(STACK, None, False, None, True)
        total.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        assert rc == 0, "the synthetic stack must pass"
        ns._loaded.cache_clear()
        t0 = time.perf_counter()
        ctx, manifests = stack_context_and_manifests(STACK)
        t1 = time.perf_counter()
        findings = run(manifests, ctx, stack_rules=True)
        t2 = time.perf_counter()
        assert findings == []
        build.append(t1 - t0)
        rules.append(t2 - t1)
        n_objects = len(manifests)
    cli = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run([str(Path(sys.executable).parent / "netpol"), "check", "--stack", STACK, "--json"],
                           capture_output=True, text=True, env=os.environ.copy())
        cli.append(time.perf_counter() - t0)
        assert p.returncode == 0, p.stderr
    print(f"netpol check --stack {STACK}: {n_objects} objects")
    print(f"  in process, total     {median_ms(total)}   (target <= 500 ms; CPU {median_ms(cpu).strip()}: less "
          "sensitive to other load on the machine)")
    print(f"    build manifests     {median_ms(build)}")
    print(f"    run the 11 rules    {median_ms(rules)}   ({n_objects / statistics.median(rules):,.0f} objects/s)")
    print(f"  CLI end to end        {median_ms(cli)}   (interpreter start-up and imports included)")
    bench_yaml_paths(runs)
    return []


def bench_yaml_paths(runs: int) -> None:
    """The whole in-process check with the stack file read by PyYAML (the fast path declined) and by
    yaml-rs (`netpol.fastyaml`), alternating run by run in this process (CPU seconds: the machine's speed
    swings within minutes, and alternation puts both readers in the same swings)."""
    import netpol.stack as ns
    from netpol import fastyaml
    from netpol.commands.check import check_command

    real = fastyaml.load

    def declined(text: str, min_bytes: int = 0):
        raise fastyaml.Declined

    def once() -> float:
        ns._loaded.cache_clear()
        c0 = time.process_time()
        with redirect_stdout(io.StringIO()):
            check_command(STACK, None, False, None, True)
        return time.process_time() - c0

    pyyaml, fast = [], []
    try:
        for _ in range(max(runs * 2, 9)):
            fastyaml.load = declined
            pyyaml.append(once())
            fastyaml.load = real
            fast.append(once())
    finally:
        fastyaml.load = real
    p, f = statistics.median(pyyaml), statistics.median(fast)
    print(f"  stack file by PyYAML  {median_ms(pyyaml)}   vs by yaml-rs {median_ms(fast).strip()} (CPU, alternating "
          f"in one process, {len(fast)} rounds): {p / f:.2f}x, {1000 * (p - f):.0f} ms saved")


def bench_grpc(runs: int) -> None:
    from analyzer_harness import (
        EnvironmentTooLarge, PolicyPackProcess, analyze_request, manifest_resource, provider, stack_request,
        stack_resource,
    )
    from netpol.stack import stack_manifests

    prov = provider(STACK, "k8s-live", render_dir=f"rendered/{STACK}")
    resources = [manifest_resource(STACK, m, prov) for m in stack_manifests(STACK)]
    everything = [stack_resource(STACK), prov, *resources]
    n = len(resources)
    # The engine marshals each request (in Go) before calling the pack: build them up front, so that
    # what is timed is the Analyzer service (gRPC round trip + the pack), not this harness's Python.
    requests = [analyze_request(r) for r in resources]
    whole_request = stack_request(everything)
    seq, par, whole = [], [], []
    import yaml

    from netpol.stack import find_root

    # as the engine starts it: PULUMI_CONFIG carries the stack's config
    config = yaml.safe_load((find_root() / f"Pulumi.{STACK}.yaml").read_text())["config"]
    try:
        PolicyPackProcess(stack=STACK, stack_config=config).start().close()
    except EnvironmentTooLarge as e:
        print(f"  NOTE: {e}.")
        print("        Measuring with PULUMI_CONFIG = the stack config without netpol:namespaces (the pack never "
              "reads stack config).")
        config = {k: v for k, v in config.items() if k != "netpol:namespaces"}
    with PolicyPackProcess(stack=STACK, stack_config=config) as pack:
        analyze = pack.stub.Analyze
        analyze(requests[0])  # warm up
        for _ in range(runs):
            t0 = time.perf_counter()
            bad = sum(len(analyze(r).diagnostics) for r in requests)
            seq.append(time.perf_counter() - t0)
            assert bad == 0
            t0 = time.perf_counter()
            with ThreadPoolExecutor(8) as ex:
                bad = sum(len(resp.diagnostics) for resp in ex.map(analyze, requests))
            par.append(time.perf_counter() - t0)
            assert bad == 0
            t0 = time.perf_counter()
            diags = pack.stub.AnalyzeStack(whole_request).diagnostics
            whole.append(time.perf_counter() - t0)
            assert len(diags) == 0
    # the same servicer in this process, without gRPC: the SDK's per-policy work plus the rules
    from pulumi_policy.policy import EnforcementLevel, _PolicyAnalyzerServicer

    from policies.pack import PACK_NAME, build_policies, settle_runtime_environment

    saved = dict(os.environ)
    os.environ.update(PULUMI_PROJECT="network-policy", PULUMI_STACK=STACK, PULUMI_DRY_RUN="true")
    settle_runtime_environment()
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.0.1", build_policies(), EnforcementLevel.MANDATORY)
    local = []
    for _ in range(runs):
        t0 = time.perf_counter()
        bad = sum(len(servicer.Analyze(r, None).diagnostics) for r in requests)
        local.append(time.perf_counter() - t0)
        assert bad == 0
    os.environ.clear()
    os.environ.update(saved)
    print(f"policy pack over gRPC: {n} resources")
    print(f"  Analyze, sequential   {median_ms(seq)}   {n / statistics.median(seq):8,.0f} resources/s (target >= 1,000)")
    print(f"  Analyze, 8 threads    {median_ms(par)}   {n / statistics.median(par):8,.0f} resources/s")
    print(f"  AnalyzeStack (1 call) {median_ms(whole)}   {len(everything) / statistics.median(whole):8,.0f} resources/s")
    print(f"  Analyze without gRPC  {median_ms(local)}   {n / statistics.median(local):8,.0f} resources/s "
          "(the SDK servicer in process: pulumi-policy's per-policy decoding + the rules)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--namespaces", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-grpc", action="store_true", help="only `netpol check --stack` (skip the pack over gRPC)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_live_like(args.namespaces, Path(tmp))
        os.environ["NETPOL_ROOT"] = tmp
        print(f"live-like stack: the live stack + {args.namespaces:,} app namespaces; medians of {args.runs} runs")
        bench_check(args.runs)
        if not args.no_grpc:
            bench_grpc(args.runs)


if __name__ == "__main__":
    main()
