"""A one-file lint (the pre-commit case) is mostly start-up, and start-up is mostly imports: a plain,
valid file must not load what only charts, kustomizations, quotas, node pools, errors or other
commands need. Guarded by what is imported, not by time (the figure is in benchmarks/RESULTS.md)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

SMALL_FILE = ROOT / "benchmarks" / "deployment-60-lines.yaml"
NOT_FOR_A_PLAIN_FILE = (
    "kgen.kustomize",  # Kustomize folders
    "kgen.helmchart",  # Helm charts
    "kgen.generator",  # kgen app specs and the other commands
    "kgen.capacity",
    "kgen.policies.fit",  # quotas and node pools
    "jsonschema_rs",  # schema errors, custom resources (a valid built-in object is walked)
    "difflib",  # "did you mean" hints
    "textwrap",
    "multiprocessing",  # --jobs on inputs of many files
    "concurrent.futures",
    "subprocess",
)


def _imported(*args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kgen", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    return done, {line.rpartition("|")[2].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


def test_linting_one_valid_file_loads_only_what_it_needs() -> None:
    done, imported = _imported("lint", str(SMALL_FILE))
    assert done.returncode == 0 and "probe-identical" in done.stdout  # it did lint
    assert "kgen.policies.engine" in imported
    assert sorted(m for m in imported if m.startswith(NOT_FOR_A_PLAIN_FILE)) == []


def test_an_invalid_object_still_gets_the_validator_and_its_hints(tmp_path) -> None:
    broken = tmp_path / "deployment.yaml"
    broken.write_text(SMALL_FILE.read_text().replace("revisionHistoryLimit:", "revisionHistoryLimt:"))
    done, imported = _imported("lint", str(broken))
    assert "unknown field 'revisionHistoryLimt' (did you mean 'revisionHistoryLimit'?)" in done.stdout
    assert {"jsonschema_rs", "difflib"} <= imported
