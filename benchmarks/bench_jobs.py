"""kgen lint --jobs 1 against --jobs N on the same input, in alternating runs of a new process.

Usage: python benchmarks/bench_jobs.py [DIR] [--runs N] [--jobs 1,2] [--scale K]

For each --jobs value: medians of wall time and CPU time (user + system of the process and of
the workers and tools it waited for), the largest RSS of any one process (what ru_maxrss gives:
the parent or one worker, never their sum), and the peak of the RSS summed over the whole
process tree, sampled every 20 ms (pages a forked worker shares with the parent count twice
there, so the truth lies between the two). --scale K lints K copies of DIR instead (a monorepo;
one run first, unmeasured, so that Kustomize builds of the copies' paths are as warm as DIR's).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(os.environ.get("KGEN_SHARED", ROOT.parent / "shared")) / "corpus"


def _tree_rss_mib(root: int) -> float:
    """The RSS of ``root`` and its descendants, summed (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/status") as status:
                total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
        except OSError:
            continue
    return total / 1024


def _run(cmd: list[str]) -> tuple[float, float, float, float]:
    """(wall s, CPU s, max RSS of one process MiB, sampled peak of the tree's summed RSS MiB)."""
    start = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak, done = [0.0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_mib(process.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4
    if process.returncode not in (0, 1):  # 1: findings
        sys.exit(f"{' '.join(cmd)} exited with {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, peak[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", nargs="?", default=str(DEFAULT_CORPUS))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", default="1,2", help="comma-separated --jobs values, run alternately")
    parser.add_argument("--scale", type=int, default=0, help="lint this many copies of the directory")
    args = parser.parse_args()
    kgen = [sys.executable, "-m", "kgen", "lint", "--format", "json", "-o", os.devnull]
    jobs = args.jobs.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        target = args.directory
        if args.scale > 1:
            target = str(Path(tmp) / "copies")
            for index in range(args.scale):
                shutil.copytree(args.directory, Path(target) / f"copy{index}")
            _run([*kgen, target, "--jobs", "1"])
        runs: dict[str, list[tuple[float, float, float, float]]] = {value: [] for value in jobs}
        for _ in range(args.runs):
            for value in jobs:
                runs[value].append(_run([*kgen, target, "--jobs", value]))
    print(f"{args.directory}{f' x{args.scale}' if args.scale > 1 else ''}: medians of {args.runs} alternating runs")
    first = None
    for value, measures in runs.items():
        wall, cpu, rss, tree = (statistics.median(column) for column in zip(*measures))
        first = first or (wall, cpu)
        print(
            f"--jobs {value}: wall {wall:.3f} s ({wall / first[0]:.2f}x), cpu {cpu:.3f} s ({cpu / first[1]:.2f}x), "
            f"largest process {rss:.0f} MiB, tree sum {tree:.0f} MiB; walls {' '.join(f'{m[0]:.2f}' for m in measures)}"
        )


if __name__ == "__main__":
    main()
