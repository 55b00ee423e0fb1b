"""Chart lint speed, as a ratio against Helm's own render plus a flat lint of its output.

Usage: python benchmarks/bench_chart.py [CHART_DIR...] [--runs N]   (default: fixtures/charts/serving)

For each chart, the median of N runs in one process, the two taken in turns, the garbage
collector off as in `kgen lint` (start-up excluded, caches warm as in a run that lints
several charts), as elapsed time and as CPU time of the process (all threads, Helm's Go
runtime included). The elapsed ratio is what a user waits for; the CPU ratio is the work
done, steadier when other jobs load the machine:
- baseline: Helm loads and renders the chart (helm-python-sdk, the library `helm template`
            uses), the output is split with Helm's rule and linted as one flat file;
- kgen:     `kgen lint CHART` without printing: render as Helm does, the tracing render
            that builds the source map, and the lint with every finding located.
DESIGN.md asks kgen <= 1.5x baseline.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kgen.inputs import InputOptions, load_inputs  # noqa: E402
from kgen.loader import load_text  # noqa: E402
from kgen.policies.engine import lint  # noqa: E402
from kgen.policies.policy import load_policy  # noqa: E402
from tests.helm_template import helm_template  # noqa: E402


def baseline(chart: str, policy, version: str) -> int:  # type: ignore[no-untyped-def]
    """Helm's render, printed as `helm template --include-crds`, then a flat lint."""
    return len(lint(load_text(helm_template(chart, version), "helm-template.yaml"), policy).findings)


def kgen(chart: str, policy, version: str) -> int:  # type: ignore[no-untyped-def]
    return len(lint(load_inputs([chart], InputOptions(kube_version=version)), policy).findings)


def _timed(run, *args):  # type: ignore[no-untyped-def]
    """(elapsed seconds, CPU seconds, result) of one call."""
    elapsed, cpu = time.perf_counter(), time.process_time()
    result = run(*args)
    return time.perf_counter() - elapsed, time.process_time() - cpu, result


def _medians(chart: str, policy, version: str, runs: int) -> tuple[list[float], int, int]:  # type: ignore[no-untyped-def]
    """Median elapsed and CPU times of baseline and kgen, run in turns so both see the same load."""
    samples: list[list[float]] = [[], [], [], []]
    flat = kept = 0
    for _ in range(runs):
        base_elapsed, base_cpu, flat = _timed(baseline, chart, policy, version)
        kgen_elapsed, kgen_cpu, kept = _timed(kgen, chart, policy, version)
        for sample, value in zip(samples, (base_elapsed, kgen_elapsed, base_cpu, kgen_cpu)):
            sample.append(value)
    return [statistics.median(sample) for sample in samples], flat, kept


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("charts", nargs="*", default=[str(ROOT / "fixtures" / "charts" / "serving")])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    gc.disable()  # as `kgen lint` runs (kgen/cli.py), for both measures
    policy = load_policy(None)
    version = policy.kubernetes_version
    kgen(args.charts[0], policy, version)  # warm: schemas compiled once per process, as in any run
    print(f"{'chart':24} {'elapsed: baseline':>17} {'kgen':>9} {'ratio':>6}   {'CPU: baseline':>13} {'kgen':>9} {'ratio':>6}  findings")
    for chart in args.charts:
        (base, mine, base_cpu, mine_cpu), flat, kept = _medians(chart, policy, version, args.runs)
        print(
            f"{Path(chart).name:24} {base * 1000:15.1f}ms {mine * 1000:7.1f}ms {mine / base:5.2f}x"
            f"   {base_cpu * 1000:11.1f}ms {mine_cpu * 1000:7.1f}ms {mine_cpu / base_cpu:5.2f}x  {kept}/{flat}"
        )


if __name__ == "__main__":
    main()
