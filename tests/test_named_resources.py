"""A named file that a kustomization reads as a resource (pre-commit's changed files) is checked as
the topmost Kustomize roots of its repository build it, as in kubebuilder's layout, where
config/default's labels add the selector config/manager/manager.yaml leaves out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgen.kustomize import kustomize_command
from tests.conftest import run_kgen

pytestmark = pytest.mark.skipif(kustomize_command() is None, reason="needs kubectl or kustomize")

MANAGER = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: controller-manager
  namespace: system
spec:
  replicas: 1
  template:
    spec:
      serviceAccountName: controller-manager
      containers:
      - name: manager
        image: example.com/manager:v1.2.3
        securityContext:
          privileged: true
"""

RBAC = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: controller-manager
  namespace: system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: manager-role
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
"""

DEFAULT = """\
namespace: operator-system
namePrefix: operator-
resources:
- ../manager
- ../rbac
labels:
- includeSelectors: true
  pairs:
    control-plane: controller-manager
"""


def _repository(tmp_path: Path, default: str = DEFAULT) -> Path:
    (tmp_path / ".git").mkdir()
    for folder, files in {
        "manager": {"kustomization.yaml": "resources: [manager.yaml]\n", "manager.yaml": MANAGER},
        "rbac": {"kustomization.yaml": "resources: [rbac.yaml]\n", "rbac.yaml": RBAC},
        "default": {"kustomization.yaml": default},
    }.items():
        (tmp_path / "config" / folder).mkdir(parents=True)
        for name, text in files.items():
            (tmp_path / "config" / folder / name).write_text(text)
    return tmp_path


def _findings(result) -> list[tuple[str, int, str]]:
    return sorted((finding["file"], finding["line"], finding["rule"]) for finding in json.loads(result.stdout)["findings"])


def test_a_named_resource_is_checked_as_the_top_root_builds_it(tmp_path: Path) -> None:
    repository = _repository(tmp_path)
    named = run_kgen("lint", "config/manager/manager.yaml", "--format", "json", cwd=repository)
    assert named.returncode == 1, named.stderr  # privileged: an error, but no schema error on the selector
    found = _findings(named)
    assert not any(rule == "schema-invalid" for _, _, rule in found)  # the selector comes from config/default
    assert all(file == "config/manager/manager.yaml" for file, _, _ in found)  # not rbac.yaml's wildcard role
    assert ("config/manager/manager.yaml", 15, "security-privileged") in found
    assert "a resource of the Kustomize root config/default: checked as built" in named.stderr
    # The same findings as linting the root, for that file.
    whole = run_kgen("lint", "config/default", "--format", "json", cwd=repository)
    assert [f for f in _findings(whole) if f[0] == "config/manager/manager.yaml"] == found
    assert any(file == "config/rbac/rbac.yaml" for file, _, _ in _findings(whole))


def test_kgen_fix_and_a_root_that_does_not_build_leave_the_file_as_written(tmp_path: Path) -> None:
    repository = _repository(tmp_path, DEFAULT.replace("- ../rbac\n", "- ../rbac\n- ../missing\n"))
    named = run_kgen("lint", "config/manager/manager.yaml", "--format", "json", cwd=repository)
    assert "config/manager/manager.yaml checked as written" in named.stderr
    assert ("config/manager/manager.yaml", 6, "schema-invalid") in _findings(named)  # spec: no selector, on its own
    (tmp_path / "again").mkdir()
    fixed = run_kgen("lint", "config/manager/manager.yaml", "--fix", "--format", "json", cwd=_repository(tmp_path / "again"))
    assert "checked as built" not in fixed.stderr  # kgen fix edits the file as written
