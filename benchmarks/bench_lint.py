"""Lint speed on the shared corpus, as ratios against parsing the same YAML in the same run.

Usage: python benchmarks/bench_lint.py [CORPUS_DIR] [--runs N]

Every figure is the median of N runs of a new process, start-up included:
- parse:      PyYAML's C loader (yaml.CSafeLoader) loading every document, nothing else;
- parse, gc off: the same with the garbage collector disabled, as kgen runs (a stricter baseline:
              collection passes over the growing heap are a large share of plain parse time);
- lint:       `kgen lint CORPUS` with every rule on (schema validation included);
- lint-noschema: the same with the schema rules switched off by a policy;
- small file: `kgen lint` of one small manifest (the pre-commit case).
Run it from an installed (non-editable) kgen for start-up figures that mean something.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(os.environ.get("KGEN_SHARED", ROOT.parent / "shared")) / "corpus"
SMALL_FILE = ROOT / "fixtures" / "rules" / "security-privileged" / "pass.yaml"

PARSE_ONLY = r"""
import gc, os, sys, yaml
if len(sys.argv) > 2:
    gc.disable()
class Loader(yaml.CSafeLoader):
    pass
# Kubernetes' YAML reader accepts the YAML 1.1 '=' value tag one corpus file uses.
Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: node.value)
docs = 0
for root, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    for name in sorted(files):
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(root, name), encoding="utf-8-sig") as handle:
                docs += sum(1 for _ in yaml.load_all(handle.read(), Loader=Loader))
print(docs, file=sys.stderr)
"""

def _time(cmd: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _kgen() -> list[str]:
    exe = shutil.which("kgen")
    return [exe] if exe else [sys.executable, "-m", "kgen"]


def _schema_rules() -> list[str]:
    from kgen.policies.registry import all_rules

    return sorted(r.id for r in all_rules().values() if r.category in ("schema", "deprecation") and r.scope != "loader")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    kgen = _kgen()
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "no-schema.yaml"
        rules = {rule: {"enabled": False} for rule in _schema_rules()}
        document = {"apiVersion": "kgen.dev/v1alpha1", "kind": "ClusterPolicy", "spec": {"rules": rules}}
        policy.write_text(json.dumps(document))  # JSON is YAML
        parse = _time([sys.executable, "-c", PARSE_ONLY, args.corpus], args.runs)
        parse_nogc = _time([sys.executable, "-c", PARSE_ONLY, args.corpus, "gc-off"], args.runs)
        lint = _time([*kgen, "lint", args.corpus, "--format", "json", "-o", os.devnull], args.runs)
        lint_noschema = _time([*kgen, "lint", args.corpus, "--format", "json", "-o", os.devnull, "--policy", str(policy)], args.runs)
        small = _time([*kgen, "lint", str(SMALL_FILE)], max(args.runs, 10))
        python_start = _time([sys.executable, "-c", "pass"], max(args.runs, 10))
    print(f"corpus: {args.corpus}")
    print(f"{'measure':<34}{'seconds':>9}{'ratio to parse':>16}{'to parse, gc off':>18}")
    print(f"{'parse only (PyYAML C loader)':<34}{parse:>9.3f}{1:>16.2f}{parse / parse_nogc:>18.2f}")
    print(f"{'parse only, gc off':<34}{parse_nogc:>9.3f}{parse_nogc / parse:>16.2f}{1:>18.2f}")
    print(f"{'kgen lint, all rules':<34}{lint:>9.3f}{lint / parse:>16.2f}{lint / parse_nogc:>18.2f}")
    print(f"{'kgen lint, schema rules off':<34}{lint_noschema:>9.3f}{lint_noschema / parse:>16.2f}{lint_noschema / parse_nogc:>18.2f}")
    print(f"{'kgen lint, one small file':<34}{small:>9.3f}")
    print(f"{'python -c pass (interpreter start)':<34}{python_start:>9.3f}")


if __name__ == "__main__":
    main()
