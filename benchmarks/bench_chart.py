"""Chart lint speed, as a ratio against Helm's own render plus a flat lint of its output.

Usage: python benchmarks/bench_chart.py [CHART_DIR...] [--runs N]   (default: fixtures/charts/serving)

For each chart, the median of N runs in one process, the two taken in turns, the garbage
collector off as in `kgen lint` (start-up excluded, caches warm as in a run that lints
several charts):
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


def _medians(chart: str, policy, version: str, runs: int) -> tuple[float, float, int, int]:  # type: ignore[no-untyped-def]
    """Baseline and kgen run in turns, so both see the same load on a shared machine."""
    base_samples, kgen_samples, flat, kept = [], [], 0, 0
    for _ in range(runs):
        start = time.perf_counter()
        flat = baseline(chart, policy, version)
        middle = time.perf_counter()
        kept = kgen(chart, policy, version)
        base_samples.append(middle - start)
        kgen_samples.append(time.perf_counter() - middle)
    return statistics.median(base_samples), statistics.median(kgen_samples), flat, kept


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("charts", nargs="*", default=[str(ROOT / "fixtures" / "charts" / "serving")])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    gc.disable()  # as `kgen lint` runs (kgen/cli.py), for both measures
    policy = load_policy(None)
    version = policy.kubernetes_version
    kgen(args.charts[0], policy, version)  # warm: schemas compiled once per process, as in any run
    print(f"{'chart':40} {'baseline':>10} {'kgen':>10} {'ratio':>6} findings")
    for chart in args.charts:
        base, mine, flat, kept = _medians(chart, policy, version, args.runs)
        print(f"{Path(chart).name:40} {base * 1000:8.1f}ms {mine * 1000:8.1f}ms {mine / base:5.2f}x {kept}/{flat}")


if __name__ == "__main__":
    main()
