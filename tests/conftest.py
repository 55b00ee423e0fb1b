"""Shared helpers: lint in-process, run the CLI, find the shared corpus."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kgen.findings import LintReport
from kgen.loader import load_paths, load_text
from kgen.policies.engine import lint
from kgen.policies.policy import load_policy

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
# Every spec the generator tests run on: the fixtures and the `kgen init --example` specs.
SPEC_FILES = sorted([*(FIXTURES / "specs").glob("*.yaml"), *(ROOT / "kgen" / "generator" / "examples").glob("*.yaml")], key=lambda p: p.stem)
RULE_FIXTURES = FIXTURES / "rules"
SHARED = Path(os.environ.get("KGEN_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus"
PEER_SUITES = SHARED / "peer-suites"

# A minimal valid app spec (one service) that spec tests extend or break.
SHOP_SPEC = """\
apiVersion: kgen.dev/v1alpha1
kind: App
metadata:
  name: shop
components:
  api:
    image: ghcr.io/acme/api:1.0.0
    ports:
      http: {port: 8080}
    resources: {cpu: 100m, memory: 128Mi}
"""


@pytest.fixture(autouse=True, scope="session")
def _build_cache_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Kustomize builds cached in a folder of this test session, never in the user's cache."""
    os.environ["KGEN_CACHE_DIR"] = str(tmp_path_factory.mktemp("kgen-cache"))


def lint_files(*paths: str | Path, policy: str | Path | None = None) -> LintReport:
    return lint(load_paths([str(p) for p in paths]), load_policy(str(policy) if policy else None))


def lint_yaml(text: str, policy: str | Path | None = None) -> LintReport:
    return lint(load_text(text, "test.yaml"), load_policy(str(policy) if policy else None))


def rules_found(report: LintReport) -> set[str]:
    return {f.rule for f in report.findings}


def run_kgen(*args: str, stdin: str | None = None, cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    """Run the real command line in a new process, as a user or CI would."""
    return subprocess.run(
        [sys.executable, "-m", "kgen", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
    )


def write_chart(folder: Path, templates: dict[str, str], values: str | None = None, chart_type: str | None = None) -> Path:
    """A Helm chart named after ``folder``: Chart.yaml, values.yaml when given, and ``templates``
    (file name -> text) under templates/."""
    (folder / "templates").mkdir(parents=True, exist_ok=True)
    (folder / "Chart.yaml").write_text(f"apiVersion: v2\nname: {folder.name}\nversion: 0.1.0\n" + (f"type: {chart_type}\n" if chart_type else ""))
    if values is not None:
        (folder / "values.yaml").write_text(values)
    for name, text in templates.items():
        (folder / "templates" / name).write_text(text)
    return folder


def needs_shared(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is not present (the shared/ folder sits beside the repository)")


def document_paths(node: object, prefix: tuple = ()) -> list[tuple]:
    """Every path into a document, the root first (where a property test's mutation may land)."""
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += document_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += document_paths(value, (*prefix, index))
    return out
