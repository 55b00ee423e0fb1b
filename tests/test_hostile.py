"""Hostile input (issue 18): every reported input, reproduced. No traceback, no hang, no false pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, lint_yaml, run_kgen

TRITON = (FIXTURES / "specs" / "triton.yaml").read_text()
CAPACITY_POLICY = FIXTURES / "capacity" / "policy.yaml"


def assert_clean_failure(result, code: int = 2) -> None:
    """Exit ``code``, no Python traceback, and the error in a few lines (not a stack)."""
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    assert result.returncode == code, (result.returncode, result.stderr)


# --- 1. no traceback: null-robust spec validation ------------------------------------------------

SPEC_EDITS = {
    "readiness probe null": ("      readiness: {http: {path: /v2/health/ready}}", "      readiness: null", None),
    "storage volume null": ("      models: {mountPath: /models, existingClaim: model-store, accessMode: ReadOnlyMany, readOnly: true}", "      models: null", None),
    "port null": ("      metrics: {port: 8002}", "      metrics: null", None),
    "port without port": ("      metrics: {port: 8002}", "      metrics: {protocol: TCP}", "components.triton.ports.metrics: 'port' is required"),
    "autoscaling max null": ("    replicas: 2\n", "    replicas: 2\n    autoscaling: {min: 1, max: null, cpu: 80}\n", "components.triton.autoscaling: 'max' is required"),
    "allowComponents null": ("    replicas: 2\n", "    replicas: 2\n    networkPolicy: {allowComponents: null}\n", None),
}


@pytest.mark.parametrize("case", sorted(SPEC_EDITS))
def test_null_in_a_spec_component_is_a_located_error_or_a_deletion(case: str, tmp_path: Path) -> None:
    before, after, error = SPEC_EDITS[case]
    spec = tmp_path / "kgen.yaml"
    spec.write_text(TRITON.replace(before, after, 1))
    from kgen.generator.spec import SpecError, validated_spec

    if error is None:
        validated_spec(str(spec))  # null deletes the field: still a valid spec
        from kgen.generator.build import render_environments

        assert len(list(render_environments(str(spec)))) == 2
    else:
        with pytest.raises(SpecError) as raised:
            validated_spec(str(spec))
        assert error in str(raised.value)
        assert str(raised.value).startswith(f"{spec}:")


def test_a_broken_spec_in_a_linted_directory_is_a_finding_and_the_rest_is_linted(tmp_path: Path) -> None:
    (tmp_path / "kgen.yaml").write_text(TRITON.replace("      metrics: {port: 8002}", "      metrics: {protocol: TCP}"))
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: 'nginx:1.2'}\n")
    result = run_kgen("lint", str(tmp_path), "--format", "json")
    assert_clean_failure(result, 2)
    findings = json.loads(result.stdout)["findings"]
    spec_problem = next(f for f in findings if f["file"].endswith("kgen.yaml"))
    assert spec_problem["rule"] == "yaml-invalid" and spec_problem["line"] == 15
    assert "'port' is required" in spec_problem["message"]
    assert any(f["file"].endswith("pod.yaml") for f in findings)


# --- 1. no traceback: rules meeting unexpected shapes ----------------------------------------------

ODD_SHAPES = """\
apiVersion: v1
kind: Pod
metadata: {name: odd, namespace: ns}
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - {key: [a], operator: In, values: [x]}
  containers:
  - name: c
    image: nginx:1.2
    ports:
    - containerPort: [80]
---
apiVersion: v1
kind: Pod
metadata: {name: fine, namespace: ns}
spec:
  containers:
  - {name: c, image: 'nginx:1.2'}
"""


def test_a_rule_crash_skips_the_object_with_a_note_and_the_run_completes() -> None:
    from kgen.policies.registry import all_rules

    report = lint_yaml(ODD_SHAPES)
    rule = all_rules()["probe-readiness-missing"]
    original = rule.check

    def exploding(target, context):
        if getattr(target, "obj", None) is not None and target.obj.name == "odd":
            raise TypeError("unhashable type: 'list'")
        return original(target, context)

    try:
        object.__setattr__(rule, "check", exploding)
        crashed = lint_yaml(ODD_SHAPES)
    finally:
        object.__setattr__(rule, "check", original)
    assert any("rule probe-readiness-missing skipped Pod/odd" in note for note in crashed.notes)
    # Every other rule and object is still judged: only the crashing rule's findings on `odd` are gone.
    expected = {(f.rule, f.object["name"]) for f in report.findings} - {("probe-readiness-missing", "odd")}
    assert {(f.rule, f.object["name"]) for f in crashed.findings} == expected


def test_odd_shapes_never_end_lint_or_capacity(tmp_path: Path) -> None:
    manifest = tmp_path / "odd.yaml"
    manifest.write_text(ODD_SHAPES)
    result = run_kgen("lint", str(manifest), "--format", "json")
    assert_clean_failure(result, 1)
    assert {f["object"]["name"] for f in json.loads(result.stdout)["findings"]} == {"odd", "fine"}
    capacity = run_kgen("capacity", str(manifest), "--policy", str(CAPACITY_POLICY))
    assert_clean_failure(capacity, 0)


def test_capacity_survives_quantities_and_counts_beyond_float(tmp_path: Path) -> None:
    manifest = tmp_path / "huge.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: huge, namespace: ml}\nspec:\n  containers:\n  - name: c\n    image: x:1\n"
        "    resources:\n      requests: {cpu: '1e400', memory: '1e400'}\n      limits: {cpu: '1e400', memory: '1e400'}\n"
    )
    policy = tmp_path / "policy.yaml"
    policy.write_text(CAPACITY_POLICY.read_text().replace("count: 4", "count: " + "9" * 400))
    for fmt in ("text", "json"):
        result = run_kgen("capacity", str(manifest), "--policy", str(policy), "--format", fmt)
        assert_clean_failure(result, 0)
    json.loads(result.stdout)  # strict JSON: no Infinity
