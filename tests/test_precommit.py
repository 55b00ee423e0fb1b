"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit framework.

The hooks come from a tagged git snapshot of this working tree, as users get them from a
release tag. Installing the hook environment is the slow part (a virtualenv and kgen's
dependencies), so every test of the session shares one snapshot and one PRE_COMMIT_HOME,
created once under a file lock (pytest-xdist workers share the session's temporary root;
``--dist loadfile`` keeps this file on one worker while the other runs the rest).
"""

from __future__ import annotations

import os
import re
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


def _run(project: Path, hooks: HookRepo, *args: str) -> subprocess.CompletedProcess:
    _git(project, "add", "-A")
    return _pre_commit(project, hooks, "run", *(args or ("--all-files",)))


WARNINGS_ONLY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: web
          image: ghcr.io/acme/web:1.4.2
          ports: [{containerPort: 8080}]
          readinessProbe:
            httpGet: {path: /healthz, port: 8080}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 500m, memory: 128Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
"""
SPEC = (FIXTURES / "specs" / "minimal.yaml").read_text()


def _readme_config(hooks: HookRepo) -> str:
    """The README's snippet, verbatim but for the repository URL (a local clone of this tree)."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## pre-commit\n") :]
    snippet = section[section.index("```yaml\n") + 8 : section.index("```\n", section.index("```yaml\n") + 8)]
    assert f"rev: {hooks.rev}\n" in snippet, "the README's rev must be this version's tag"
    return re.sub(r"repo: \S+", f"repo: {hooks.path}", snippet, count=1)


def _build(project: Path, spec: str, out: str) -> None:
    built = subprocess.run([sys.executable, "-m", "kgen", "build", spec, "-o", out], cwd=project, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr


def test_readme_snippet_against_the_tagged_release(tmp_path: Path, hook_repo: HookRepo) -> None:
    repo = _project(tmp_path / "project", _readme_config(hook_repo))
    (repo / "kgen.yaml").write_text(SPEC)
    _build(repo, "kgen.yaml", "deploy")
    (repo / "deploy" / "web.yaml").write_text(WARNINGS_ONLY.replace("          ports: [{containerPort: 8080}]\n", ""))
    passed = _run(repo, hook_repo)
    output = passed.stdout + passed.stderr
    assert passed.returncode == 0, output
    assert "warning" in output and "probe-liveness-missing" in output  # warnings shown on a pass
    assert "built-in policy" in output

    # The repository's .kgen.yaml is the policy of the hook too: an error made a warning passes.
    (repo / ".kgen.yaml").write_text(
        "apiVersion: kgen.dev/v1alpha1\nkind: ClusterPolicy\nmetadata: {name: team}\n"
        "spec:\n  rules:\n    security-privileged: {severity: warning}\n"
    )
    (repo / "deploy" / "web.yaml").write_text(WARNINGS_ONLY.replace("            readOnlyRootFilesystem: true\n", "            readOnlyRootFilesystem: true\n            privileged: true\n"))
    relaxed = _run(repo, hook_repo)
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
    assert "security-privileged" in relaxed.stdout and "policy .kgen.yaml" in relaxed.stdout
    (repo / ".kgen.yaml").unlink()
    strict = _run(repo, hook_repo)
    assert strict.returncode != 0 and "security-privileged" in strict.stdout, strict.stdout

    # A hand edit of a generated file is caught, though no spec changed.
    (repo / "deploy" / "web.yaml").write_text(WARNINGS_ONLY)
    manifests = repo / "deploy" / "manifests" / "default.yaml"
    manifests.write_text(manifests.read_text().replace("replicas: 1", "replicas: 5", 1))
    _git(repo, "add", "-A")
    edited = _pre_commit(repo, hook_repo, "run", "kgen-build-check", "--files", "deploy/manifests/default.yaml")
    assert edited.returncode != 0 and "replicas: 5" in edited.stdout and "deploy is stale" in edited.stdout, edited.stdout


def test_readme_snippet_on_the_starter_spec_with_overlays(tmp_path: Path, hook_repo: HookRepo) -> None:
    """`kgen init`'s spec has per-environment overlays: pre-commit names each patch, which is
    neither linted as a whole object nor fixed (a fix would be a hand edit of generated output)."""
    repo = _project(tmp_path / "project", _readme_config(hook_repo))
    subprocess.run([sys.executable, "-m", "kgen", "init"], cwd=repo, check=True, capture_output=True)
    _build(repo, "kgen.yaml", "deploy")
    assert list((repo / "deploy" / "kustomize" / "overlays").glob("*/patches/*.yaml"))
    result = _run(repo, hook_repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_lint_hook_fail_on_warning(tmp_path: Path, hook_repo: HookRepo) -> None:
    repo = _project(tmp_path / "project", _config(hook_repo, "      - id: kgen-lint\n        args: [--fail-on, warning]\n"))
    (repo / "web.yaml").write_text(WARNINGS_ONLY.replace("          ports: [{containerPort: 8080}]\n", ""))
    failed = _run(repo, hook_repo)
    assert failed.returncode != 0 and "probe-liveness-missing" in failed.stdout, failed.stdout


def test_build_check_hook_checks_every_spec(tmp_path: Path, hook_repo: HookRepo) -> None:
    entry = "      - id: kgen-build-check\n        args: [api/kgen.yaml=api/deploy, web/kgen.yaml=web/deploy]\n"
    repo = _project(tmp_path / "project", _config(hook_repo, entry))
    for name in ("api", "web"):
        (repo / name).mkdir()
        (repo / name / "kgen.yaml").write_text(SPEC.replace("name: hello,", f"name: {name},"))
        _build(repo, f"{name}/kgen.yaml", f"{name}/deploy")
    current = _run(repo, hook_repo)
    assert current.returncode == 0, current.stdout + current.stderr

    spec = repo / "web" / "kgen.yaml"
    spec.write_text(spec.read_text().replace("ports: {http: {port: 8080}}", "ports: {http: {port: 8080}}\n    replicas: 3"))
    stale = _run(repo, hook_repo, "--files", "web/kgen.yaml")
    assert stale.returncode != 0 and "replicas: 3" in stale.stdout and "web/deploy is stale" in stale.stdout, stale.stdout


def test_fix_hook_applies_the_safe_fixes(tmp_path: Path, hook_repo: HookRepo) -> None:
    repo = _project(tmp_path / "project", _config(hook_repo, "      - id: kgen-fix\n"))
    manifest = repo / "web.yaml"
    manifest.write_text(WARNINGS_ONLY.replace("            capabilities: {drop: [ALL]}\n", ""))
    fixed = _run(repo, hook_repo)
    assert fixed.returncode != 0, fixed.stdout  # pre-commit fails a hook that changed files
    assert "drop: [ALL]" in manifest.read_text() or "- ALL" in manifest.read_text()
    again = _run(repo, hook_repo)
    assert again.returncode == 0, again.stdout + again.stderr
