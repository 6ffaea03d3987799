"""Issue 8 benchmark: all reachability invariants for a 1,000-namespace stack (target ≤ 2 s in the pack).

Prints, medians of 3:
* `check_invariants` in process (compile the policy set once, evaluate one representative per
  identity class) at N, and beside it, at a smaller N (`--peer-n`, default 150: the peer is quadratic,
  app-isolation alone is N² × 6 probe ports), the same checks with every namespace evaluated (no class
  sharing) as the ratio;
* the pack's `reachability-invariants` rule as the pack runs it: the real pack started as the engine
  starts it, the stack given as PULUMI_CONFIG, one gRPC AnalyzeStack with the stack's resources
  (all 13 policies run; the figure is the whole call).

Run: .venv/bin/python bench/bench_invariants.py [--n 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "policy_pack"))

from _synthetic import synthetic_config  # noqa: E402

import netpol.invariants as inv_mod  # noqa: E402
from netpol.builders import build_manifests  # noqa: E402
from netpol.catalogue import Expectations  # noqa: E402
from netpol.config import build_config  # noqa: E402
from netpol.invariants import check_invariants  # noqa: E402
from netpol.stack import inventory_for  # noqa: E402

RUNS = 3


def med(fn) -> tuple[float, object]:
    times, out = [], None
    for _ in range(RUNS):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--peer-n", type=int, default=150)
    args = ap.parse_args()

    def stack(n):
        config = synthetic_config(n)
        raw = {k.split(":", 1)[1]: v for k, v in config.items()}
        cfg = build_config("bench", "Pulumi.bench.yaml", raw).config
        return config, cfg, [m.body for m in build_manifests(cfg)], inventory_for(cfg), Expectations.from_stack(cfg)

    config, cfg, docs, inventory, exp = stack(args.n)
    print(f"stack: {len(cfg.namespaces)} app namespaces, {len(docs)} objects")
    t_big, found = med(lambda: check_invariants(docs, inventory, exp))
    assert found == [], found[:3]
    ctx = inv_mod.Context(inv_mod.PolicySet.from_manifests(docs), docs, inventory, exp)
    print(f"  identity classes checked: {len(ctx.checked_apps)} of {len(ctx.apps)} app namespaces")
    print(f"  check_invariants, N={len(cfg.namespaces)}, per identity class: {t_big * 1000:8.1f} ms  (target <= 2000 ms)")

    _, pcfg, pdocs, pinv, pexp = stack(args.peer_n)
    t_fast, found = med(lambda: check_invariants(pdocs, pinv, pexp))

    original = inv_mod.Context.__init__

    def every_namespace(self, *a, **kw):  # the peer: no class sharing, every namespace checked
        original(self, *a, **kw)
        self.rep_of = {ns: ns for ns in self.rep_of}
        self.checked_apps = list(self.apps)

    inv_mod.Context.__init__ = every_namespace
    try:
        t_all, found_all = med(lambda: check_invariants(pdocs, pinv, pexp))
    finally:
        inv_mod.Context.__init__ = original
    assert found == found_all == [], (found[:3], found_all[:3])
    n = len(pcfg.namespaces)
    print(f"  check_invariants, N={n}, per identity class : {t_fast * 1000:8.1f} ms")
    print(f"  check_invariants, N={n}, every namespace    : {t_all * 1000:8.1f} ms  (the peer; ratio {t_all / t_fast:.1f}x)")

    try:
        from analyzer_harness import PolicyPackProcess, from_mock_resources
        from program_mocks import register_stack
    except ImportError as e:  # pragma: no cover
        print(f"  pack: harness not importable ({e})")
        return
    records = register_stack("bench", config=config)
    resources = from_mock_resources("bench", records)
    with PolicyPackProcess(stack="bench", pack_config=None, stack_config=config).start() as pack:
        t_pack, diags = med(lambda: pack.analyze_stack(resources))
    bad = [d for d in diags if d.enforcement == "mandatory"]
    print(f"  pack AnalyzeStack over gRPC (13 policies, {len(resources)} resources): {t_pack * 1000:8.1f} ms, "
          f"{len(bad)} mandatory violations")


if __name__ == "__main__":
    main()
