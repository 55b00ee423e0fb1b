"""What the README and docs/ci tell users to install and run is what this version ships."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from kgen import __version__
from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs" / "ci").glob("*.yml"))]
PYPROJECT = (ROOT / "pyproject.toml").read_text()
DISTRIBUTION = re.search(r'^name = "([^"]+)"', PYPROJECT, re.M).group(1)  # type: ignore[union-attr]
# The first major of each action that runs on a supported runtime (Node 24).
CURRENT_ACTIONS = {"actions/checkout": 5, "actions/setup-python": 6, "github/codeql-action/upload-sarif": 4}


def test_every_install_from_the_index_is_the_distribution_pinned_to_this_version() -> None:
    installs = [
        (doc.name, match)
        for doc in DOCS
        for match in re.findall(r"pip install (?!\.|'\.)(\S+)", doc.read_text())
    ]
    assert installs
    for doc, requirement in installs:
        assert re.fullmatch(rf"'?{re.escape(DISTRIBUTION)}(\[[a-z,]+\])?=={re.escape(__version__)}'?", requirement), (doc, requirement)


def test_the_changelog_has_this_version_and_the_extras_exist() -> None:
    assert f"## {__version__}\n" in (ROOT / "CHANGELOG.md").read_text()
    assert re.search(r"^helm = \[", PYPROJECT, re.M) and re.search(r"^kustomize = \[", PYPROJECT, re.M)


def test_github_workflow_uses_current_actions_and_passes_zizmor() -> None:
    workflow = (ROOT / "docs" / "ci" / "github-actions.yml").read_text()
    uses = re.findall(r"uses: ([\w./-]+)@v(\d+)", workflow)
    assert {name for name, _ in uses} == set(CURRENT_ACTIONS)
    assert all(int(major) >= CURRENT_ACTIONS[name] for name, major in uses), uses
    beside_python = Path(sys.executable).parent / "zizmor"
    zizmor = str(beside_python) if beside_python.exists() else shutil.which("zizmor")
    assert zizmor, "zizmor is not installed (pip install '.[test]')"
    result = subprocess.run(
        [zizmor, "--offline", "--no-progress", "--config", str(ROOT / "tests" / "data" / "zizmor.yml"), str(ROOT / "docs" / "ci" / "github-actions.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_job_is_yaml_with_the_junit_report_it_writes() -> None:
    job = yaml.safe_load((ROOT / "docs" / "ci" / "gitlab-ci.yml").read_text())["kgen-lint"]
    report = job["artifacts"]["reports"]["junit"]
    assert any(f"junit={report}" in line for line in job["script"])
