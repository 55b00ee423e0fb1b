"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit framework (`pre-commit try-repo`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

BAD = (FIXTURES / "rules" / "security-privileged" / "fail.yaml").read_text()


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _project(tmp_path: Path) -> Path:
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "dev@example.com")
    _git(repo, "config", "user.name", "dev")
    return repo


def _try_repo(repo: Path, hook: str, *files: str) -> subprocess.CompletedProcess:
    pre_commit = [sys.executable, "-m", "pre_commit"]
    return subprocess.run(
        [*pre_commit, "try-repo", str(ROOT), hook, "--verbose", "--files", *files],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "PRE_COMMIT_COLOR": "never"},
        timeout=900,
    )


def test_kgen_lint_hook_fails_a_bad_manifest_and_passes_the_fix(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit")
    repo = _project(tmp_path)
    manifest = repo / "deploy" / "agent.yaml"
    manifest.parent.mkdir()
    manifest.write_text(BAD)
    _git(repo, "add", ".")
    failed = _try_repo(repo, "kgen-lint", "deploy/agent.yaml")
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0, output
    assert "security-privileged" in output and "deploy/agent.yaml" in output

    manifest.write_text(BAD.replace("privileged: true", "privileged: false"))
    _git(repo, "add", ".")
    passed = _try_repo(repo, "kgen-lint", "deploy/agent.yaml")
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_kgen_build_check_hook_fails_on_stale_outputs(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit")
    repo = _project(tmp_path)
    spec = repo / "kgen.yaml"
    spec.write_text((FIXTURES / "specs" / "minimal.yaml").read_text())
    built = subprocess.run([sys.executable, "-m", "kgen", "build", "kgen.yaml"], cwd=repo, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    _git(repo, "add", ".")
    current = _try_repo(repo, "kgen-build-check", "kgen.yaml")
    assert current.returncode == 0, current.stdout + current.stderr

    spec.write_text(spec.read_text().replace("ports: {http: {port: 8080}}", "ports: {http: {port: 8080}}\n    replicas: 3"))
    _git(repo, "add", ".")
    stale = _try_repo(repo, "kgen-build-check", "kgen.yaml")
    output = stale.stdout + stale.stderr
    assert stale.returncode != 0, output
    assert "replicas: 3" in output  # the unified diff is on screen
