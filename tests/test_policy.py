"""Cluster policy files: validated with readable, located errors; merged over the default."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kgen.errors import InputError
from kgen.policies.policy import default_policy_text, load_policy


def _write(tmp_path: Path, body: str) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text("apiVersion: kgen.dev/v1alpha1\nkind: ClusterPolicy\nmetadata: {name: prod}\n" + body)
    return str(path)


def test_default_policy_is_valid_and_is_what_policy_show_prints(tmp_path: Path) -> None:
    path = tmp_path / "default.yaml"
    path.write_text(default_policy_text())
    policy = load_policy(str(path))
    assert policy.kubernetes_version == yaml.safe_load(default_policy_text())["spec"]["kubernetesVersion"]


def test_user_policy_merges_over_default(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, "spec:\n  gpu: {maxPerPod: 4}\n  ingress: {requireTLS: true}\n"))
    assert policy.gpu["maxPerPod"] == 4
    assert "nvidia.com/gpu" in policy.gpu["resources"]  # kept from the default
    assert policy.ingress["requireTLS"] is True and policy.ingress["classes"] == []
    assert policy.name == "prod"


@pytest.mark.parametrize(
    "body,line,fragment",
    [
        ("spec:\n  gpu:\n    maxPerPod: many\n", 6, "spec.gpu.maxPerPod: 'many' is not of type 'integer'"),
        ("spec:\n  ingres: {}\n", 4, "Additional properties are not allowed ('ingres'"),
        ("spec:\n  rules:\n    probe-readines-missing: {severity: info}\n", 6, "unknown rule 'probe-readines-missing'"),
        ("spec:\n  rules:\n    security-capabilities: {dangerus: [X]}\n", 6, "unknown setting 'dangerus'"),
        ("spec:\n  rules:\n    security-capabilities: {severity: fatal}\n", 6, "is not one of ['error', 'warning', 'info']"),
    ],
)
def test_bad_policy_errors_name_path_and_line(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    with pytest.raises(InputError) as caught:
        load_policy(_write(tmp_path, body))
    assert caught.value.line == line
    assert fragment in caught.value.message


def test_policy_must_be_one_document(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("apiVersion: kgen.dev/v1alpha1\nkind: ClusterPolicy\n---\napiVersion: kgen.dev/v1alpha1\nkind: ClusterPolicy\n")
    with pytest.raises(InputError, match="exactly one"):
        load_policy(str(path))
