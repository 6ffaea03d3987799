"""Issue 2 benchmark: the program under the Pulumi SDK mocks beside the SDK floor, and `netpol render`.

For N = 100, 1,000 and 5,000 app namespaces prints: policy objects emitted (must not grow with N),
the program's wall time under the SDK's mocks beside the floor (the same mocks registering N bare
Namespaces on a provider) as a ratio (target ≤ 1.25 at N=5,000), and `netpol render` time
(config file → model → manifests → kustomize tree on disk; target ≤ 2 s at N=5,000). Medians of 3.

Run: .venv/bin/python bench/bench_program.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import pulumi  # noqa: E402
import pulumi_kubernetes as k8s  # noqa: E402
from _synthetic import synthetic_config, write_stack  # noqa: E402
from program_mocks import _Mocks, register_stack  # noqa: E402

from netpol.builders import build_manifests  # noqa: E402
from netpol.config import build_config  # noqa: E402
from netpol.render import write_tree  # noqa: E402

RUNS = 3


def median_time(fn) -> float:
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def floor(n: int) -> None:
    pulumi.runtime.set_mocks(_Mocks(), project="network-policy", stack="bench", preview=True)

    @pulumi.runtime.test
    def run():
        provider = k8s.Provider("k8s-bench", render_yaml_to_directory="rendered/bench")
        for i in range(n):
            k8s.core.v1.Namespace(f"app-{i:05d}", metadata={"name": f"app-{i:05d}"},
                                  opts=pulumi.ResourceOptions(provider=provider))

    run()


def main() -> None:
    print(f"{'N':>6} {'policies':>8} {'objects':>8} {'program s':>10} {'floor s':>8} {'ratio':>6} "
          f"{'render s':>9} {'render CLI s':>12}")
    for n in (100, 1000, 5000):
        config = synthetic_config(n)
        raw = {k.split(":", 1)[1]: v for k, v in config.items()}
        manifests = build_manifests(build_config("bench", "Pulumi.bench.yaml", raw).config)
        policies = sum(m.kind.startswith("Cilium") for m in manifests)
        program = median_time(lambda: register_stack("bench", config=config))
        base = median_time(lambda: floor(len(config["netpol:namespaces"])))
        with tempfile.TemporaryDirectory() as d:
            root = write_stack(n, Path(d) / "proj")

            def render_inproc():
                cfg = build_config("bench", "Pulumi.bench.yaml", raw).config
                write_tree(build_manifests(cfg), Path(d) / "out")

            render_s = median_time(render_inproc)
            cli = [str(ROOT / ".venv/bin/netpol"), "render", "--stack", "bench", "--out", str(Path(d) / "cli")]
            render_cli = median_time(lambda: subprocess.run(cli, cwd=root, check=True, capture_output=True))
        print(f"{n:>6} {policies:>8} {len(manifests):>8} {program:>10.2f} {base:>8.2f} {program / base:>6.2f} "
              f"{render_s:>9.2f} {render_cli:>12.2f}")


if __name__ == "__main__":
    main()
