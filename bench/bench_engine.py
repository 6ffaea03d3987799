"""Issue 11/12 benchmark: the real engine.

Side by side in one run, per number of app namespaces N (declared in a namespace file, as a large
stack does):
* `pulumi preview` of a GitOps stack as the engine ships (checkpoints on; up to
  --default-engine-max), then as the pull-request workflow runs it (PULUMI_SKIP_CHECKPOINTS=true)
  without the policy pack and with it, and the program under the SDK mocks (the same program, no
  engine): the pack's share of a preview is the target (<= 25 %).
  A do-nothing pack (one resource policy that returns at once; written into the benchmark's project
  copy, not shipped) is previewed beside them: what any Python pack costs under this engine, the
  floor under the pack's share. The engine calls every pack twice per resource on its sequential
  step path (Remediate, then Analyze), so that floor grows with the number of resources.
* with `--cluster`: `pulumi up` of the dev stack against a local control plane (tools/cluster), and
  the same `pulumi up` again with nothing to change.

usage: bench/bench_engine.py [--sizes 100,1000,5000] [--runs 1] [--cluster] [--default-engine-max 1000]
Needs `make e2e-tools`. Prints medians (wall seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "bench"))

import yaml  # noqa: E402
from _synthetic import synthetic_config  # noqa: E402
from e2e import BIN, copy_project, e2e_env  # noqa: E402
from program_mocks import register_stack  # noqa: E402


def timed(cmd: list[str], cwd: Path, env: dict) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return time.perf_counter() - t


def project_with(n: int, base: Path, stack: str, template: str) -> tuple[Path, dict]:
    proj = copy_project(base / "project")
    cfg = yaml.safe_load((proj / f"Pulumi.{template}.yaml").read_text())["config"]
    apps = {k: v for k, v in synthetic_config(n)["netpol:namespaces"].items() if k.startswith("app-")}
    (proj / "namespaces").mkdir(exist_ok=True)
    (proj / "namespaces" / f"{stack}.yaml").write_text(yaml.safe_dump(apps))
    cfg["netpol:namespaceFiles"] = [f"namespaces/{stack}.yaml"]
    (proj / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": cfg}))
    state = base / "state"
    state.mkdir()
    env = e2e_env(state)
    subprocess.run([str(BIN / "pulumi"), "stack", "init", stack, "--non-interactive"], cwd=proj, env=env,
                   check=True, capture_output=True)
    return proj, env


NOOP_PACK = {
    "PulumiPolicy.yaml": "description: does nothing (bench/bench_engine.py)\nruntime:\n  name: python\n"
                         "  options:\n    virtualenv: ../.venv\nversion: 0.0.1\n",
    "__main__.py": "from pulumi_policy import PolicyPack, ResourceValidationPolicy\n\n"
                   "PolicyPack(name='noop', policies=[ResourceValidationPolicy(\n"
                   "    name='noop', description='does nothing', validate=lambda args, report: None)])\n",
}


def preview_row(n: int, runs: int, default_max: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        proj, env = project_with(n, Path(d), "bench", "live")
        (proj / "noop-pack").mkdir()
        for name, text in NOOP_PACK.items():
            (proj / "noop-pack" / name).write_text(text)
        pulumi = [str(BIN / "pulumi"), "preview", "--stack", "bench", "--non-interactive"]
        # The engine as shipped: the file backend re-serializes the snapshot after every step.
        default = (statistics.median(timed(pulumi, proj, env) for _ in range(runs))
                   if n <= default_max else None)
        # As the pull-request workflow runs it (PULUMI_SKIP_CHECKPOINTS=true on the preview step).
        skip = {**env, "PULUMI_SKIP_CHECKPOINTS": "true"}
        got: dict[str, list[float]] = {"bare": [], "noop": [], "pack": []}
        for _ in range(runs):  # interleaved, so drift on a shared machine hits all three alike
            got["bare"].append(timed(pulumi, proj, skip))
            got["noop"].append(timed(pulumi + ["--policy-pack", "noop-pack"], proj, skip))
            got["pack"].append(timed(pulumi + ["--policy-pack", "policies"], proj, skip))
        bare, noop, pack = (statistics.median(got[k]) for k in ("bare", "noop", "pack"))
    config = synthetic_config(n)

    def mocks() -> float:
        t = time.perf_counter()
        register_stack("bench", config=config)
        return time.perf_counter() - t

    mock = statistics.median(mocks() for _ in range(runs))
    dflt = f"{default:>14.1f}" if default is not None else f"{'not run':>14}"
    print(f"{n:>6} {dflt} {bare:>12.1f} {noop:>12.1f} {100 * (noop - bare) / bare:>+8.0f}% {pack:>12.1f} "
          f"{100 * (pack - bare) / bare:>+8.0f}% {mock:>10.1f}", flush=True)


def up_row(n: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        cluster = base / "cluster"
        subprocess.run([str(ROOT / "tools" / "cluster"), "up", "--dir", str(cluster)], check=True, capture_output=True)
        try:
            proj, env = project_with(n, base, "dev", "dev")
            kc = json.loads((cluster / "kubeconfig").read_text())
            kc["contexts"][0]["name"] = kc["current-context"] = "admin@homelab-dev"
            (base / "kubeconfig").write_text(json.dumps(kc))
            env["KUBECONFIG"] = str(base / "kubeconfig")
            dev = yaml.safe_load((proj / "Pulumi.dev.yaml").read_text())["config"]
            for ns in dev["netpol:platformNamespaces"]:
                subprocess.run([str(BIN / "kubectl"), "create", "namespace", ns], env=env, capture_output=True)
            up = [str(BIN / "pulumi"), "up", "--stack", "dev", "--yes", "--non-interactive"]
            first = timed(up, proj, env)
            again = timed(up, proj, env)
        finally:
            subprocess.run([str(ROOT / "tools" / "cluster"), "down", "--dir", str(cluster)], capture_output=True)
    print(f"{n:>6} {first:>12.1f} {again:>14.1f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000,5000")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--cluster", action="store_true")
    ap.add_argument("--default-engine-max", type=int, default=1000,
                    help="largest N also previewed with checkpoints on (quadratic: > 30 min at 5,000)")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    os.environ.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    print(f"{'N':>6} {'default eng s':>14} {'preview s':>12} {'+noop pack':>12} {'noop':>9} {'+our pack':>12} "
          f"{'pack':>9} {'mocks s':>10}")
    print(f"{'':>6} {'(checkpoints)':>14} {'(skip checkpoints, as the PR workflow; pack shares vs preview)':>70}")
    for n in sizes:
        preview_row(n, a.runs, a.default_engine_max)
    if a.cluster:
        print(f"\n{'N':>6} {'up dev s':>12} {'up again s':>14}")
        for n in sizes:
            up_row(n)


if __name__ == "__main__":
    main()
