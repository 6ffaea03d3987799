"""Issue 11 benchmark: the policy pack's handlers, in process, on a stack of N app namespaces.

What the engine waits for on its sequential path: per resource a Remediate then an Analyze call,
and one AnalyzeStack at the end. Side by side in one run, per N: pulumi-policy as shipped (its
per-policy conversions) and with `policies.conversions` installed (one conversion per message, GC paused per request).
"ours" is `policies.conversions` as the pack installs it: the memo, and each handler run as one
request with cyclic GC paused. Requests are built as the engine marshals them (tests/policy_pack/analyzer_harness.py); the pack's
servicer is called directly, so gRPC is not in these figures (bench/bench_engine.py has the whole).

usage: bench/bench_pack.py [--sizes 1000,5000] [--runs 3]
Prints medians: AnalyzeStack seconds, and Remediate + Analyze milliseconds per resource.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "tests", ROOT / "tests" / "policy_pack", ROOT / "bench"):
    sys.path.insert(0, str(p))

from pulumi_policy import EnforcementLevel  # noqa: E402
from pulumi_policy import policy as pp  # noqa: E402

import policies.pack as pack  # noqa: E402
from _synthetic import synthetic_config  # noqa: E402
from analyzer_harness import analyze_request, manifest_resource, provider, stack_request  # noqa: E402
from netpol.builders import build_manifests  # noqa: E402
from netpol.config import build_config  # noqa: E402
from policies import conversions  # noqa: E402
from policies.adapter import to_manifest  # noqa: E402

STACK = "live"


def resources(n: int) -> list:
    raw = {k.split(":", 1)[1]: v for k, v in synthetic_config(n).items()}
    cfg = build_config(STACK, "synthetic", raw).config
    prov = provider(STACK, "k8s", render_dir=f"rendered/{STACK}")
    return [prov] + [manifest_resource(STACK, m.body, prov, name=f"r{i}") for i, m in enumerate(build_manifests(cfg))]


def servicer():
    return pp._PolicyAnalyzerServicer(pack.PACK_NAME, "0.0.1", pack.build_policies(), EnforcementLevel.MANDATORY,
                                      None, None, None, None, None, None, None)


def measure(res: list, sample: int) -> tuple[float, float]:
    """(AnalyzeStack s, Remediate+Analyze ms per resource over `sample` resources), fresh requests."""
    sv = servicer()
    reqs = [analyze_request(r) for r in res[1:sample + 1]]
    t = time.perf_counter()
    for req in reqs:
        sv.Remediate(req, None)
        sv.Analyze(req, None)
    per = (time.perf_counter() - t) / len(reqs) * 1000
    sreq = stack_request(res)
    t = time.perf_counter()
    sv.AnalyzeStack(sreq, None)
    return time.perf_counter() - t, per


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,5000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sample", type=int, default=1000, help="resources timed for Remediate+Analyze")
    a = ap.parse_args()
    os.environ.setdefault("NETPOL_CRDS_DIR", str(ROOT.parent / "shared" / "crds"))
    plain_manifest = pack.manifest_of
    print(f"{'namespaces':>10} {'resources':>9} | {'AnalyzeStack s':>22} | {'Remediate+Analyze ms/res':>26}")
    print(f"{'':>10} {'':>9} | {'shipped':>10} {'ours':>11} | {'shipped':>12} {'ours':>13}")
    for n in (int(x) for x in a.sizes.split(",")):
        res = resources(n)
        rows = {"shipped": [], "ours": []}
        for _ in range(a.runs):  # interleaved A/B
            pack.manifest_of = lambda props, t: to_manifest(t, props)
            rows["shipped"].append(measure(res, a.sample))
            pack.manifest_of = plain_manifest
            with conversions.installed() as ok:
                assert ok
                rows["ours"].append(measure(res, a.sample))
        med = {m: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v)) for m, v in rows.items()}
        print(f"{n:>10} {len(res):>9} | {med['shipped'][0]:>10.2f} {med['ours'][0]:>6.2f} "
              f"({med['ours'][0] / med['shipped'][0]:.2f}x) | {med['shipped'][1]:>12.3f} {med['ours'][1]:>7.3f} "
              f"({med['ours'][1] / med['shipped'][1]:.2f}x)", flush=True)
    pack.manifest_of = plain_manifest


if __name__ == "__main__":
    main()
