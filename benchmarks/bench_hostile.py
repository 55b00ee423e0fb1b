"""Hostile-input speed: one big multi-document file vs the same documents split into files, and
the secret patterns on adversarial strings (issue 18). Figures go to benchmarks/RESULTS.md.

Usage: python benchmarks/bench_hostile.py [--mb 20] [--runs 1]

- lint, one file:   `kgen lint --format json` of a generated multi-document file of ``--mb`` MB
                    (varied Deployments, ConfigMaps and Services, every one with findings, and a
                    ``# kgen:ignore`` comment so suppression lookups run);
- lint, split:      the same documents, one file each, in one directory;
- text output:      `kgen lint` (text) of the one file, and of a 5 MB single-line Pod;
- secret patterns:  the token, PEM and entropy scanners on the adversarial strings of
                    tests/test_hostile.py (190 KB of BEGIN lines, 280 KB of JWK-like text, ...).
Every figure is the median of ``--runs`` runs of a new process, start-up included.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DEPLOYMENT = """\
# resources-cpu-limit-missing is fine here
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-{n}
  namespace: team-{team}
  labels: {{app: web-{n}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web-{n}}}}}
  template:
    metadata: {{labels: {{app: web-{n}}}}}
    spec:
      containers:
      - name: app
        image: registry.example.com/web:{n}.0
        ports: [{{containerPort: 8080}}]
        env:
        - {{name: MODE, value: production}}
        - {{name: DB_PASSWORD, value: hunter{n}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: conf-{n}, namespace: team-{team}}}
data:
  app.properties: |
    threads={replicas}
    feature.flags=a,b,c
---
apiVersion: v1
kind: Service
metadata: {{name: web-{n}, namespace: team-{team}}}
spec:
  selector: {{app: web-{n}}}
  ports: [{{port: 80, targetPort: 8080}}]
"""


def generate(directory: Path, megabytes: float) -> tuple[Path, Path]:
    """(one multi-document file, a directory of the same documents one file each)."""
    one = directory / "all.yaml"
    split = directory / "split"
    split.mkdir()
    chunks: list[str] = []
    size, n = 0, 0
    while size < megabytes * 1024 * 1024:
        chunk = DEPLOYMENT.format(n=n, team=n % 17, replicas=1 + n % 5)
        chunks.append(chunk)
        (split / f"app-{n:06d}.yaml").write_text(chunk)
        size += len(chunk)
        n += 1
    one.write_text("---\n".join(chunks))
    return one, split


def timed(args: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "kgen", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def secret_patterns() -> list[tuple[str, float]]:
    sys.path.insert(0, str(ROOT))
    from kgen.policies.secret_patterns import find_token, high_entropy_runs, secret_assignments
    from tests.test_hostile import ADVERSARIAL_STRINGS

    out = []
    for name, text in ADVERSARIAL_STRINGS.items():
        start = time.perf_counter()
        find_token(text)
        list(high_entropy_runs(text))
        list(secret_assignments(text))
        out.append((name, time.perf_counter() - start))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=1)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one, split = generate(Path(tmp), options.mb)
        files = len(list(split.iterdir()))
        single_line = Path(tmp) / "line.yaml"
        single_line.write_text('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x", "args": ["' + "a" * 5 * 1024 * 1024 + '"]}]}}\n')
        one_file = timed(["lint", "--format", "json", str(one)], options.runs)
        split_files = timed(["lint", "--format", "json", str(split)], options.runs)
        text_one = timed(["lint", str(one)], options.runs)
        text_bytes = len(subprocess.run([sys.executable, "-m", "kgen", "lint", str(single_line)], capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout)
        print(f"{options.mb:g} MB, {files * 3} documents")
        print(f"lint --format json, one file:    {one_file:.2f} s")
        print(f"lint --format json, {files} files: {split_files:.2f} s  (one file / split = {one_file / split_files:.2f}x)")
        print(f"lint text, one file:             {text_one:.2f} s")
        print(f"text output of a 5 MB single-line Pod: {text_bytes / 1024:.1f} KB")
    for name, seconds in secret_patterns():
        print(f"secret patterns, {name}: {seconds * 1000:.1f} ms")


if __name__ == "__main__":
    main()
