"""Lint speed on the shared corpus, as ratios against parsing the same YAML and against peer
linters, all in the same run.

Usage: python benchmarks/bench_lint.py [CORPUS_DIR] [--runs N] [--scale K [--scale-runs M]]
       python benchmarks/bench_lint.py --small DIR [DIR ...] [--runs N]

Every figure is the median of N runs of a new process, start-up included, with its CPU time
(user + system, children included) and peak RSS:
- parse:      PyYAML's C loader (yaml.CSafeLoader) loading every document, nothing else;
- parse, gc off: the same with the garbage collector disabled, as kgen runs;
- lint:       `kgen lint CORPUS` with every rule on (schema validation included), in one
              process (--jobs 1) and with the default jobs (the CPUs available), Kustomize
              builds from kgen's build cache (warm); "cold": with that cache emptied first;
- lint-noschema: the same with the schema rules switched off by a policy;
- small file: `kgen lint` of a 60-line Deployment (the pre-commit case); with --small DIR...
              only this, for kgen installs made with `pip install --target DIR` (a branch and
              main, say), run in alternation with `python -c pass` (paired, as start-up figures
              on a shared machine need);
- peers:      kube-score, kubeconform, kube-linter, Polaris, Pluto and checkov on the same
              corpus and file when found on PATH, each run in turn with kgen (default jobs), N
              rounds (at least 11 on the file): medians of each, and kgen/peer as the median of
              the rounds' ratios, so that load from other users of a shared machine weighs on
              both alike; skipped and said so otherwise. kubeconform gets offline schemas made from
              kgen's own (kubeconform_schemas.py); kube-score is given the files it can decode;
- --scale K:  also lint K copies of the corpus (made in a temporary directory), M times
              (default 1): CPU and peak RSS against the 1x run (monorepo scale; the goal is
              CPU at most 8.5x and peak RSS at most 1.5x for K = 8).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(os.environ.get("KGEN_SHARED", ROOT.parent / "shared")) / "corpus"
SMALL_FILE = ROOT / "benchmarks" / "deployment-60-lines.yaml"

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

@dataclass
class Measure:
    wall: float  # seconds, median
    cpu: float  # seconds of user + system time, median
    rss: float  # MiB, the largest peak of any run


def _time(cmd: list[str], runs: int, before_each: Callable[[], None] = lambda: None) -> Measure:
    walls, cpus, rss = [], [], 0
    for _ in range(runs):
        before_each()
        wall, cpu, peak = _run_once(cmd)
        walls.append(wall)
        cpus.append(cpu)
        rss = max(rss, peak)
    return Measure(statistics.median(walls), statistics.median(cpus), rss / 1024)


def _run_once(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system, children included) and peak RSS (KiB) of one run."""
    start = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


@dataclass
class Paired:
    kgen: Measure
    peer: Measure
    ratio: float  # median of the rounds' kgen/peer wall-time ratios


def _paired(kgen: list[str], peer: list[str], runs: int) -> Paired:
    """kgen and a peer run in turn, ``runs`` rounds: on a shared machine, load from other users
    then weighs on both alike, and each round's ratio compares runs made side by side."""
    rounds = [(_run_once(kgen), _run_once(peer)) for _ in range(runs)]

    def measure(runs_of: list[tuple[float, float, int]]) -> Measure:
        return Measure(statistics.median(r[0] for r in runs_of), statistics.median(r[1] for r in runs_of), max(r[2] for r in runs_of) / 1024)

    return Paired(measure([k for k, _ in rounds]), measure([p for _, p in rounds]), statistics.median(k[0] / p[0] for k, p in rounds))


def _small_file_rounds(installs: list[str], runs: int) -> None:
    """The one-file lint of each install (``pip install --target DIR``) and the bare interpreter,
    one run of each in turn per round: load from other users then weighs on all alike."""
    commands = {f"kgen lint, 60-line Deployment ({directory})": ([sys.executable, os.path.join(directory, "bin", "kgen"), "lint", str(SMALL_FILE)], directory) for directory in installs}
    commands["python -c pass (interpreter start)"] = ([sys.executable, "-c", "pass"], "")
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (cmd, path) in commands.items():
            start = time.perf_counter()
            process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": path})
            _, _, usage = os.wait4(process.pid, 0)
            walls[name].append(time.perf_counter() - start)
            cpus[name].append(usage.ru_utime + usage.ru_stime)
    print(f"{runs} rounds; load average before: {os.getloadavg()[0]:.2f}")
    for name in commands:
        print(f"{name}: wall median {statistics.median(walls[name]) * 1000:.1f} ms (min {min(walls[name]) * 1000:.1f}), cpu median {statistics.median(cpus[name]) * 1000:.1f} ms")


# name, how to print its version, how to lint a directory, how to lint one file.
PeerArgs = Callable[[str], list[str]]
PEERS: list[tuple[str, list[str], PeerArgs, PeerArgs]] = [
    ("kube-score", ["version"], lambda d: ["score", *_kube_score_files(d)], lambda f: ["score", f]),
    ("kubeconform", ["-v"], lambda d: [*_kubeconform_flags(), d], lambda f: [*_kubeconform_flags(), f]),
    ("kube-linter", ["version"], lambda d: ["lint", d], lambda f: ["lint", f]),
    ("polaris", ["version"], lambda d: ["audit", "--audit-path", d, "--format", "score"], lambda f: ["audit", "--audit-path", f, "--format", "score"]),
    ("pluto", ["version"], lambda d: ["detect-files", "-d", d], lambda f: ["detect-files", "-d", os.path.dirname(f)]),
    ("checkov", ["--version"], lambda d: ["-d", d, "--framework", "kubernetes", "--quiet", "--compact"], lambda f: ["-f", f, "--framework", "kubernetes", "--quiet", "--compact"]),
]


def _yaml_files(directory: str) -> list[str]:
    return [str(p) for p in sorted(Path(directory).rglob("*.y*ml"))]


def _kube_score_files(directory: str) -> list[str]:
    """The files kube-score can score together: it stops the whole run at the first file it
    cannot decode (a string port, a bad quantity) without naming it, so those are found by
    halving and left out, as a user would have to."""

    def fails(files: list[str]) -> bool:
        done = subprocess.run([shutil.which("kube-score") or "kube-score", "score", *files], capture_output=True, text=True)
        return "Failed to score files" in done.stderr + done.stdout

    def unscorable(files: list[str]) -> list[str]:
        if not files or not fails(files):
            return []
        if len(files) == 1:
            return files
        middle = len(files) // 2
        return unscorable(files[:middle]) + unscorable(files[middle:])

    files = _yaml_files(directory)
    left_out = set(unscorable(files))
    if left_out:
        print(f"kube-score: left out {len(left_out)} files it cannot decode: {', '.join(sorted(left_out))}", file=sys.stderr)
    return [f for f in files if f not in left_out]


_KUBECONFORM_SCHEMAS: list[str] = []


def _kubeconform_flags() -> list[str]:
    """kubeconform offline: the Kubernetes schemas kgen validates with, written standalone
    (benchmarks/kubeconform_schemas.py), missing schemas (custom resources) skipped."""
    if not _KUBECONFORM_SCHEMAS:
        from kubeconform_schemas import write_standalone

        _KUBECONFORM_SCHEMAS.append(write_standalone("1.35", Path(tempfile.mkdtemp(prefix="kubeconform-schemas-"))))
    return ["-summary", "-ignore-missing-schemas", "-schema-location", _KUBECONFORM_SCHEMAS[0]]


def _peer_figures(kgen_corpus: list[str], kgen_file: list[str], corpus: str, small: str, runs: int) -> list[tuple[str, Paired, Paired] | str]:
    """Each peer found on PATH run in turn with kgen on the same input (``runs`` rounds on the
    corpus, at least 11 on the file), or why it was skipped."""
    lines: list[tuple[str, Paired, Paired] | str] = []
    for name, version_args, corpus_args, file_args in PEERS:
        exe = shutil.which(name)
        if exe is None:
            lines.append(f"{name}: skipped, not on PATH")
            continue
        version = subprocess.run([exe, *version_args], capture_output=True, text=True).stdout.strip().splitlines()
        on_corpus = _paired(kgen_corpus, [exe, *corpus_args(corpus)], runs)
        on_file = _paired(kgen_file, [exe, *file_args(small)], max(runs, 11))
        lines.append((f"{name} {version[0] if version else '?'}", on_corpus, on_file))
    return lines


def _kgen() -> list[str]:
    exe = shutil.which("kgen")
    return [exe] if exe else [sys.executable, "-m", "kgen"]


def _schema_rules() -> list[str]:
    from kgen.policies.catalog import all_rules

    return sorted(r.id for r in all_rules().values() if r.category in ("schema", "deprecation") and r.scope != "loader")


def _row(name: str, measure: Measure, parse: Measure, parse_nogc: Measure) -> str:
    return (
        f"{name:<34}{measure.wall:>9.3f}{measure.wall / parse.wall:>8.2f}{measure.wall / parse_nogc.wall:>8.2f}"
        f"{measure.cpu:>9.3f}{measure.cpu / parse.cpu:>8.2f}{measure.rss:>9.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=int, default=0, help="also lint this many copies of the corpus")
    parser.add_argument("--scale-runs", type=int, default=1, help="runs of the scaled lint (each takes K times the 1x)")
    parser.add_argument("--small", nargs="+", metavar="DIR", help="only the one-file lint, of these kgen installs in alternation (pip install --target DIR)")
    args = parser.parse_args()
    if args.small:
        _small_file_rounds(args.small, max(args.runs, 21))
        return
    kgen = _kgen()
    lint = [*kgen, "lint", "--format", "json", "-o", os.devnull]
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "no-schema.yaml"
        rules = {rule: {"enabled": False} for rule in _schema_rules()}
        document = {"apiVersion": "kgen.dev/v1alpha1", "kind": "ClusterPolicy", "spec": {"rules": rules}}
        policy.write_text(json.dumps(document))  # JSON is YAML
        rows = {}
        rows["parse only (PyYAML C loader)"] = parse = _time([sys.executable, "-c", PARSE_ONLY, args.corpus], args.runs)
        rows["parse only, gc off"] = parse_nogc = _time([sys.executable, "-c", PARSE_ONLY, args.corpus, "gc-off"], args.runs)
        # Kustomize builds are cached (kgen.buildcache): in a folder of this run, emptied before
        # each cold run; the warm runs follow a run that filled it.
        cache = Path(tmp) / "cache"
        os.environ["KGEN_CACHE_DIR"] = str(cache)
        os.environ.pop("KGEN_NO_CACHE", None)
        rows["kgen lint, all rules, --jobs 1, cold"] = _time([*lint, args.corpus, "--jobs", "1"], args.runs, lambda: shutil.rmtree(cache, ignore_errors=True))
        rows["kgen lint, all rules, --jobs 1"] = one = _time([*lint, args.corpus, "--jobs", "1"], args.runs)
        rows["kgen lint, all rules, default jobs"] = _time([*lint, args.corpus], args.runs)
        rows["kgen lint, schema rules off"] = _time([*lint, args.corpus, "--jobs", "1", "--policy", str(policy)], args.runs)
        rows["kgen lint, 60-line Deployment"] = _time([*kgen, "lint", str(SMALL_FILE)], max(args.runs, 11))
        rows["python -c pass (interpreter start)"] = _time([sys.executable, "-c", "pass"], max(args.runs, 11))
        scaled = None
        if args.scale > 1:
            copies = Path(tmp) / "copies"
            for index in range(args.scale):
                shutil.copytree(args.corpus, copies / f"copy{index}")
            _time([*lint, str(copies), "--jobs", "1"], 1)  # fills the build cache for the copies' paths:
            scaled = _time([*lint, str(copies), "--jobs", "1"], args.scale_runs)  # warm, as the 1x run it is compared with
        peers = _peer_figures([*lint, args.corpus], [*kgen, "lint", str(SMALL_FILE)], args.corpus, str(SMALL_FILE), args.runs)
    print(f"corpus: {args.corpus}; medians of {args.runs} runs")
    print(f"{'measure':<34}{'wall s':>9}{'/parse':>8}{'/nogc':>8}{'cpu s':>9}{'/parse':>8}{'MiB':>9}")
    for name, measure in rows.items():
        print(_row(name, measure, parse, parse_nogc))
    if scaled is not None:
        print(f"{args.scale}x corpus, --jobs 1: cpu {scaled.cpu:.3f} s = {scaled.cpu / one.cpu:.2f}x the 1x; peak {scaled.rss:.0f} MiB = {scaled.rss / one.rss:.2f}x the 1x")
    print("peers, each run in turn with kgen (default jobs) on the same input; kgen/peer: the median of the rounds' ratios")
    for peer in peers:
        if isinstance(peer, str):
            print(peer)
            continue
        name, on_corpus, on_file = peer
        print(
            f"{name}: corpus {on_corpus.peer.wall:.3f} s (cpu {on_corpus.peer.cpu:.3f} s, {on_corpus.peer.rss:.0f} MiB), kgen {on_corpus.kgen.wall:.3f} s, "
            f"kgen/peer {on_corpus.ratio:.2f} wall {on_corpus.kgen.cpu / on_corpus.peer.cpu:.2f} cpu; "
            f"one file {on_file.peer.wall:.3f} s ({on_file.peer.rss:.0f} MiB), kgen {on_file.kgen.wall:.3f} s, kgen/peer {on_file.ratio:.2f} wall"
        )


if __name__ == "__main__":
    main()
