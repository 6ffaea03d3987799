"""Issue 2 benchmark: the program under the Pulumi SDK mocks beside the SDK floor, and `netpol render`.

For N = 100, 1,000 and 5,000 app namespaces prints: policy objects emitted (must not grow with N),
the program's wall time under the SDK's mocks beside the floor (the same mocks registering N bare
Namespaces on a provider) as a ratio (target ≤ 1.25 at N=5,000), and `netpol render` time
(config file → model → manifests → kustomize tree on disk; target ≤ 2 s at N=5,000). Medians of 3,
program and floors interleaved. The program replaces two SDK functions (components/sdk_runtime.py:
the outputs' drain and the resource stack trace); `floor*` is the floor with the same two replaced,
printed beside the SDK's floor so the program's own cost is visible either way.

Run: .venv/bin/python bench/bench_program.py [--sizes 100,1000,5000]
"""

from __future__ import annotations

import gc
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


def interleaved(fns) -> list[float]:
    """Median seconds of each function over RUNS rounds, the functions taking turns in each round."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(RUNS):
        for i, fn in enumerate(fns):
            gc.unfreeze()  # the program freezes what it built (gc.freeze): each run starts unfrozen
            gc.collect()
            t = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t)
    return [statistics.median(t) for t in times]


def median_time(fn) -> float:
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def floor(n: int, *, replaced: bool = False) -> None:
    """N bare Namespaces under the same mocks. `replaced`: with the SDK functions the program
    replaces (components/sdk_runtime.py) replaced here too: the floor the program's own work adds to."""
    from pulumi.runtime import resource as sdk_resource
    from pulumi.runtime import stack as sdk_stack

    from components import sdk_runtime

    saved = sdk_stack.wait_for_rpcs, sdk_resource._get_stack_trace
    if replaced:
        sdk_runtime.install()
    pulumi.runtime.set_mocks(_Mocks(), project="network-policy", stack="bench", preview=True)

    @pulumi.runtime.test
    def run():
        provider = k8s.Provider("k8s-bench", render_yaml_to_directory="rendered/bench")
        for i in range(n):
            k8s.core.v1.Namespace(f"app-{i:05d}", metadata={"name": f"app-{i:05d}"},
                                  opts=pulumi.ResourceOptions(provider=provider))

    try:
        run()
    finally:
        sdk_stack.wait_for_rpcs, sdk_resource._get_stack_trace = saved


def program(config: dict) -> None:
    """The program under the mocks (it installs components/sdk_runtime.py itself); the SDK's own
    functions are put back afterwards, so the next floor run is the SDK as shipped."""
    from pulumi.runtime import resource as sdk_resource
    from pulumi.runtime import stack as sdk_stack

    saved = sdk_stack.wait_for_rpcs, sdk_resource._get_stack_trace
    try:
        register_stack("bench", config=config)
    finally:
        sdk_stack.wait_for_rpcs, sdk_resource._get_stack_trace = saved


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,5000", help="app namespace counts, comma-separated")
    sizes = [int(x) for x in ap.parse_args().sizes.split(",")]
    print(f"{'N':>6} {'policies':>8} {'objects':>8} {'program s':>10} {'floor s':>8} {'ratio':>6} "
          f"{'floor* s':>9} {'ratio*':>7} {'render s':>9} {'render CLI s':>12}")
    print("(floor*: the floor with the SDK functions the program replaces replaced too, components/sdk_runtime.py)")
    for n in sizes:
        config = synthetic_config(n)
        raw = {k.split(":", 1)[1]: v for k, v in config.items()}
        manifests = build_manifests(build_config("bench", "Pulumi.bench.yaml", raw).config)
        policies = sum(m.kind.startswith("Cilium") for m in manifests)
        prog_s, base, base_r = interleaved([lambda: program(config), lambda: floor(len(config["netpol:namespaces"])),
                                            lambda: floor(len(config["netpol:namespaces"]), replaced=True)])
        with tempfile.TemporaryDirectory() as d:
            root = write_stack(n, Path(d) / "proj")

            def render_inproc():
                cfg = build_config("bench", "Pulumi.bench.yaml", raw).config
                write_tree(build_manifests(cfg), Path(d) / "out")

            render_s = median_time(render_inproc)
            cli = [str(ROOT / ".venv/bin/netpol"), "render", "--stack", "bench", "--out", str(Path(d) / "cli")]
            render_cli = median_time(lambda: subprocess.run(cli, cwd=root, check=True, capture_output=True))
        print(f"{n:>6} {policies:>8} {len(manifests):>8} {prog_s:>10.2f} {base:>8.2f} {prog_s / base:>6.2f} "
              f"{base_r:>9.2f} {prog_s / base_r:>7.2f} {render_s:>9.2f} {render_cli:>12.2f}")


if __name__ == "__main__":
    main()
