"""YAML parsers on the corpus, in one process, as ratios to PyYAML's C loader (the figures behind
the loader's choice of parser; see RESULTS.md).

Usage: python benchmarks/bench_parsers.py [CORPUS_DIR] [--runs N]

The files are read first; each measure is the median of N passes over their texts, gc off (as
kgen runs). A parser that is not installed is skipped and said so:
- pyyaml-load:     yaml.load_all with CSafeLoader (plain values, no positions);
- pyyaml-compose:  CSafeLoader compose_all (the node tree with marks kgen keeps);
- kgen-load:       kgen.loader.parse_source as kgen runs: its C reader (_kgen_yaml: libyaml's
                   events to values and a position table) where built, PyYAML for the files
                   it leaves (anchors, tags, merge keys, errors...);
- kgen-load-pyyaml: the same with PyYAML only (compose, then values, duplicate keys, bombs);
- rapidyaml-parse: ryml.parse_in_arena (the C++ tree; no Python values yet);
- rapidyaml-walk:  the same plus a walk building Python values through its bindings, the least
                   a loader on it would do (no YAML 1.1 typing, no positions);
- yaml-rs-load:    yaml_rs.loads (plain values, no positions).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(os.environ.get("KGEN_SHARED", ROOT.parent / "shared")) / "corpus"


def corpus_texts(root: str) -> list[tuple[str, str]]:
    texts = []
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith((".yaml", ".yml")):
                path = os.path.join(current, name)
                with open(path, encoding="utf-8-sig") as handle:
                    texts.append((path, handle.read()))
    return texts


def pyyaml_measures() -> dict[str, Callable[[str], object]]:
    import yaml

    class Loader(yaml.CSafeLoader):
        pass

    Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: node.value)

    def load(text: str) -> object:
        return list(yaml.load_all(text, Loader=Loader))

    def compose(text: str) -> object:
        return list(yaml.compose_all(text, Loader=Loader))

    from kgen import loader

    def kgen_load(text: str) -> object:
        return loader.parse_source(loader.SourceFile("f", text))

    def kgen_load_pyyaml(text: str) -> object:
        return loader.parse_source(loader.SourceFile("f", text), trees=True)

    measures = {"pyyaml-load": load, "pyyaml-compose": compose, "kgen-load-pyyaml": kgen_load_pyyaml}
    if loader._fast is not None:
        measures["kgen-load"] = kgen_load
    else:
        print("kgen-load: skipped, kgen's C reader (_kgen_yaml) is not built", file=sys.stderr)
    return measures


def rapidyaml_measures() -> dict[str, Callable[[str], object]]:
    import ryml

    def parse(text: str) -> object:
        return ryml.parse_in_arena(text.encode())

    def walk(text: str) -> object:
        tree = ryml.parse_in_arena(text.encode())

        def value(node: int) -> object:
            if tree.is_map(node):
                out = {}
                child = tree.first_child(node)
                while child != ryml.NONE:
                    out[bytes(tree.key(child)).decode()] = value(child)
                    child = tree.next_sibling(child)
                return out
            if tree.is_seq(node):
                items = []
                child = tree.first_child(node)
                while child != ryml.NONE:
                    items.append(value(child))
                    child = tree.next_sibling(child)
                return items
            return bytes(tree.val(node)).decode() if tree.has_val(node) else None

        root = tree.root_id()
        if tree.is_stream(root):
            return [value(doc) for doc in ryml.children(tree, root)]
        return value(root)

    return {"rapidyaml-parse": parse, "rapidyaml-walk": walk}


def yaml_rs_measures() -> dict[str, Callable[[str], object]]:
    import yaml_rs

    def load(text: str) -> object:
        return yaml_rs.loads(text, parse_datetime=False)

    return {"yaml-rs-load": load}


def run(measure: Callable[[str], object], texts: list[tuple[str, str]]) -> tuple[float, int]:
    failures = 0
    start = time.perf_counter()
    for _, text in texts:
        try:
            measure(text)
        except Exception:  # a parser that rejects a file: counted, the pass goes on
            failures += 1
    return time.perf_counter() - start, failures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    texts = corpus_texts(args.corpus)
    measures: dict[str, Callable[[str], object]] = {}
    for name, factory in (("PyYAML", pyyaml_measures), ("rapidyaml", rapidyaml_measures), ("yaml-rs", yaml_rs_measures)):
        try:
            measures.update(factory())
        except ImportError as exc:
            print(f"skipped {name}: not installed ({exc})", file=sys.stderr)
    gc.disable()
    samples: dict[str, list[float]] = {name: [] for name in measures}
    failures: dict[str, int] = {}
    for _ in range(args.runs):
        for name, measure in measures.items():  # interleaved: load changes hit every parser alike
            seconds, failures[name] = run(measure, texts)
            samples[name].append(seconds)
            gc.collect()
    base = statistics.median(samples["pyyaml-load"])
    print(f"{len(texts)} files, {sum(len(t) for _, t in texts) / 1e6:.1f} MB; median of {args.runs}")
    print(f"{'parser':<18}{'seconds':>9}{'ratio':>8}{'files rejected':>16}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<18}{median:>9.3f}{median / base:>8.2f}{failures[name]:>16}")


if __name__ == "__main__":
    main()
