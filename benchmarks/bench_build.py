"""Speed of `kgen build` on a generated 50-component, 3-environment spec.

Usage: python benchmarks/bench_build.py [--components 50] [--runs 5]

Figures (median of N runs):
- in-process: validate + resolve + render every output (Kustomize, Helm, manifests)
  + plan, into a fresh directory, with kgen already imported;
- rebuild:    the same over an up-to-date output (compares, writes nothing);
- new process: `python -m kgen build SPEC -o DIR`, start-up included (the user's view).
The goal is under one second for the new-process figure.

With ``--compare REF`` (e.g. the commit before a change), the new-process build into a
fresh folder and over an up-to-date one are also timed for REF, checked out in a temporary
git worktree, alternating with this tree run by run so that machine load hits both alike;
the ratios say what the change costs (build safety: at most 1.2). Both wall time and CPU
time (user + system of the build process) are given: on a loaded machine the CPU figure
is the steadier one, the wall figure also counts waiting for the disk (fsync).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("service", "worker", "job", "cronjob")


def make_spec(components: int) -> dict:
    """A spec with every feature in rotation: ingress+TLS+HPA, KEDA, jobs, cron jobs, GPUs, claims, config."""
    comps: dict[str, dict] = {}
    for i in range(components):
        kind = KINDS[i % len(KINDS)]
        c: dict = {"kind": kind, "image": f"ghcr.io/acme/svc{i}:1.{i}.0", "resources": {"cpu": "250m", "memory": "256Mi"},
                   "env": {"LOG_LEVEL": "info", "DB_URL": {"secretRef": {"name": f"db{i}", "key": "url"}}},
                   "config": {"data": {"MODE": "fast", "INDEX": str(i)}}}
        if kind == "service":
            c["ports"] = {"http": {"port": 8080}, "metrics": {"port": 9090}}
            c["probes"] = {"readiness": {"http": {"path": "/healthz"}}, "liveness": {"http": {"path": "/livez"}}}
            c["ingress"] = {"host": f"svc{i}.example.com", "className": "nginx", "tls": {"issuer": "letsencrypt"}}
            c["autoscaling"] = {"min": 2, "max": 10, "cpu": 70}
            if i % 8 == 0:
                c["gpu"] = {"count": 1, "product": "NVIDIA-A100-SXM4-80GB", "shm": "2Gi"}
                c["resources"] = {"cpu": "4", "memory": "16Gi"}
        elif kind == "worker":
            c["keda"] = {"min": 0, "max": 20, "triggers": [{"type": "rabbitmq", "metadata": {"queueName": f"q{i}", "value": "10"}}]}
            c["storage"] = {"cache": {"mountPath": "/cache", "emptyDir": {"sizeLimit": "1Gi"}}}
        elif kind == "cronjob":
            c["schedule"] = f"{i % 60} 2 * * *"
        else:
            c["storage"] = {"data": {"mountPath": "/data", "size": "10Gi"}}
        comps[f"svc{i}"] = c
    envs = {
        "dev": {"namespace": "bench-dev", "components": {n: {"resources": {"memory": "128Mi"}} for n, c in list(comps.items())[::3] if "gpu" not in c}},
        "staging": {"namespace": "bench-staging", "imageTag": "2.0.0-rc.1"},
        "prod": {"namespace": "bench-prod", "components": {n: {"config": {"data": {"MODE": "safe"}}} for n in list(comps)[::2]}},
    }
    return {"apiVersion": "kgen.dev/v1alpha1", "kind": "App", "metadata": {"name": "bench"}, "components": comps, "environments": envs}


def median_seconds(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compare", metavar="REF", help="also time git REF's `kgen build`, alternating runs, and print the ratios")
    args = parser.parse_args()

    from kgen.generator.build import build

    work = Path(tempfile.mkdtemp(prefix="kgen-bench-"))
    try:
        spec = work / "kgen.yaml"
        spec.write_text(yaml.safe_dump(make_spec(args.components), sort_keys=False))
        counter = iter(range(10**6))

        def fresh() -> None:
            build(str(spec), str(work / f"out{next(counter)}"))

        in_process = median_seconds(fresh, args.runs)
        build(str(spec), str(work / "current"))
        rebuild = median_seconds(lambda: build(str(spec), str(work / "current")), args.runs)

        def new_process() -> None:
            subprocess.run([sys.executable, "-m", "kgen", "build", str(spec), "-o", str(work / f"cli{next(counter)}")], check=True, capture_output=True)

        cli = median_seconds(new_process, args.runs)
        files = sum(1 for p in (work / "current").rglob("*") if p.is_file())
        print(f"spec: {args.components} components, 3 environments -> {files} files")
        print(f"in-process build (fresh dir): {in_process * 1000:7.0f} ms")
        print(f"in-process rebuild (current): {rebuild * 1000:7.0f} ms")
        print(f"new process `kgen build`:     {cli * 1000:7.0f} ms   (goal < 1000 ms)")
        if args.compare:
            compare(args.compare, spec, args.runs, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def compare(ref: str, spec: Path, runs: int, work: Path) -> None:
    """New-process builds of this tree and of ``ref``, interleaved; medians and ratios."""
    checkout = work / "ref"
    subprocess.run(["git", "worktree", "add", "--detach", str(checkout), ref], cwd=ROOT, check=True, capture_output=True)
    try:
        trees = {"this tree": ROOT, ref: checkout}
        times: dict[str, dict[str, list[tuple[float, float]]]] = {name: {"fresh": [], "rebuild": []} for name in trees}

        def run(root: Path, out: Path) -> tuple[float, float]:
            """(wall, CPU) seconds of one `kgen build` process."""
            before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run([sys.executable, "-m", "kgen", "build", str(spec), "-o", str(out)], cwd=root, check=True, capture_output=True,
                           env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})
            wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
            return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

        slugs = dict(zip(trees, ("this", "ref")))
        for name, root in trees.items():
            run(root, work / f"current-{slugs[name]}")
        for index in range(runs):
            for name, root in trees.items():
                times[name]["fresh"].append(run(root, work / f"fresh-{slugs[name]}-{index}"))
                times[name]["rebuild"].append(run(root, work / f"current-{slugs[name]}"))
        for measure in ("fresh", "rebuild"):
            for column, label in ((0, "wall"), (1, "CPU")):
                mine, theirs = (statistics.median(t[column] for t in times[name][measure]) for name in trees)
                print(f"{measure:7} {label:4}: this tree {mine * 1000:6.0f} ms, {ref[:12]} {theirs * 1000:6.0f} ms, ratio {mine / theirs:.2f}")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(checkout)], cwd=ROOT, check=False, capture_output=True)


if __name__ == "__main__":
    main()
