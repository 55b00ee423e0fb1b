"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit framework.

The hooks come from a tagged git snapshot of this working tree, as users get them from a
release tag. Installing the hook environment is the slow part (a virtualenv and kgen's
dependencies), so every test of the session shares one snapshot and one PRE_COMMIT_HOME,
created once under a file lock (pytest-xdist workers share the session's temporary root;
``--dist loadfile`` keeps this file on one worker while the other runs the rest).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

from kgen import __version__
from tests.conftest import FIXTURES, ROOT

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

BAD = (FIXTURES / "rules" / "security-privileged" / "fail.yaml").read_text()
HOOK_IDS = [hook["id"] for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())]
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
}


@dataclass(frozen=True)
class HookRepo:
    """A tagged git repository holding this working tree, and the pre-commit home that has its
    hook environment installed."""

    path: Path
    rev: str
    home: Path

    def env(self) -> dict[str, str]:
        env = {**os.environ, **GIT_IDENTITY, "PRE_COMMIT_HOME": str(self.home), "NO_COLOR": "1", "PRE_COMMIT_COLOR": "never"}
        for name in ("KGEN_POLICY", "PYTHONPATH", "GITHUB_STEP_SUMMARY"):
            env.pop(name, None)  # the hook must run the installed kgen, as a user's does
        return env


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_IDENTITY})


def _snapshot(target: Path, rev: str) -> None:
    """This working tree (tracked and new files, as they are now) committed in a new repository and tagged."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    _git(target, "init", "-q")
    _git(target, "add", "-A")
    _git(target, "commit", "-q", "-m", "snapshot of the working tree")
    _git(target, "tag", rev)


def _config(hooks: HookRepo, entries: str) -> str:
    return f"repos:\n  - repo: {hooks.path}\n    rev: {hooks.rev}\n    hooks:\n{entries}"


def _pre_commit(project: Path, hooks: HookRepo, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=hooks.env(),
        timeout=900,
    )


def _project(path: Path, config: str) -> Path:
    path.mkdir(parents=True)
    _git(path, "init", "-q")
    (path / ".pre-commit-config.yaml").write_text(config)
    return path


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> HookRepo:
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    hooks = HookRepo(shared / "kgen-hooks", f"v{__version__}", shared / "pre-commit-home")
    ready = shared / "kgen-hooks.ready"
    with FileLock(str(shared / "kgen-hooks.lock")):
        if not ready.exists():
            if hooks.path.exists():
                shutil.rmtree(hooks.path)  # a worker that died half-way
            hooks.path.mkdir()
            _snapshot(hooks.path, hooks.rev)
            warm = _project(shared / "kgen-hooks-warm-up", _config(hooks, "".join(f"      - id: {i}\n" for i in HOOK_IDS)))
            installed = _pre_commit(warm, hooks, "install-hooks")
            assert installed.returncode == 0, installed.stdout + installed.stderr
            ready.touch()
    return hooks


def _run(project: Path, hooks: HookRepo, *files: str) -> subprocess.CompletedProcess:
    _git(project, "add", "-A")
    return _pre_commit(project, hooks, "run", "--files", *files)


def test_kgen_lint_hook_fails_a_bad_manifest_and_passes_the_fix(tmp_path: Path, hook_repo: HookRepo) -> None:
    repo = _project(tmp_path / "project", _config(hook_repo, "      - id: kgen-lint\n"))
    manifest = repo / "deploy" / "agent.yaml"
    manifest.parent.mkdir()
    manifest.write_text(BAD)
    failed = _run(repo, hook_repo, "deploy/agent.yaml")
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0, output
    assert "security-privileged" in output and "deploy/agent.yaml" in output

    manifest.write_text(BAD.replace("privileged: true", "privileged: false"))
    passed = _run(repo, hook_repo, "deploy/agent.yaml")
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_kgen_build_check_hook_fails_on_stale_outputs(tmp_path: Path, hook_repo: HookRepo) -> None:
    repo = _project(tmp_path / "project", _config(hook_repo, "      - id: kgen-build-check\n"))
    spec = repo / "kgen.yaml"
    spec.write_text((FIXTURES / "specs" / "minimal.yaml").read_text())
    built = subprocess.run([sys.executable, "-m", "kgen", "build", "kgen.yaml"], cwd=repo, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    current = _run(repo, hook_repo, "kgen.yaml")
    assert current.returncode == 0, current.stdout + current.stderr

    spec.write_text(spec.read_text().replace("ports: {http: {port: 8080}}", "ports: {http: {port: 8080}}\n    replicas: 3"))
    stale = _run(repo, hook_repo, "kgen.yaml")
    output = stale.stdout + stale.stderr
    assert stale.returncode != 0, output
    assert "replicas: 3" in output  # the unified diff is on screen
