"""Helm charts, Kustomize directories and baselines as `kgen lint` inputs, with the real tools."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT, run_kgen

CHART = FIXTURES / "inputs" / "helm" / "webapp"
OVERLAY = FIXTURES / "inputs" / "kustomize" / "overlays" / "prod"
BASE = FIXTURES / "inputs" / "kustomize" / "base"


def _findings(*args: str) -> tuple[int, list[dict]]:
    result = run_kgen("lint", *args, "--format", "json")
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)["findings"] if result.stdout else []


needs_helm = pytest.mark.skipif(not (shutil.which("helm") or __import__("importlib").util.find_spec("helm_python")), reason="Helm not installed")


@needs_helm
def test_chart_is_rendered_and_findings_point_at_templates() -> None:
    code, findings = _findings(str(CHART), "--set", "privileged=true")
    privileged = [f for f in findings if f["rule"] == "security-privileged"]
    assert code == 1 and len(privileged) == 1
    template = CHART / "templates" / "deployment.yaml"
    assert privileged[0]["file"] == str(template)
    line = template.read_text().splitlines()[privileged[0]["line"] - 1]
    assert "privileged:" in line and privileged[0]["object"]["name"] == "webapp-webapp"  # release name: the chart name


@needs_helm
def test_values_files_and_matrix() -> None:
    code, findings = _findings(str(CHART), "-f", str(CHART / "values-insecure.yaml"))
    assert code == 1 and {"security-privileged", "image-tag-unpinned"} <= {f["rule"] for f in findings}
    code, findings = _findings(str(CHART), "--values-matrix", str(CHART / "values.yaml"), "--values-matrix", str(CHART / "values-insecure.yaml"))
    by_env = {f["environment"] for f in findings if f["rule"] == "security-privileged"}
    assert by_env == {"values-insecure.yaml"}


def test_chart_without_helm_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "helm_python.py").write_text("raise ImportError('blocked for this test')\n")
    env_path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if not (Path(p) / "helm").exists())
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "kgen", "lint", str(CHART)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{ROOT}", "PATH": env_path},
    )
    assert result.returncode == 2
    assert "pip install 'kgen-kubernetes[helm]'" in result.stderr and result.stderr.count("\n") == 1




def test_kustomize_overlay_points_at_sources_or_the_kustomization() -> None:
    code, findings = _findings(str(OVERLAY))
    unpinned = next(f for f in findings if f["rule"] == "image-tag-unpinned")
    assert unpinned["file"] == str(OVERLAY / "kustomization.yaml")
    assert unpinned["line"] == 12  # the inline JSON patch operation that set the image
    assert unpinned["object"] == {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop-prod", "name": "prod-api"}
    unchanged = [f for f in findings if f["file"] == str(BASE / "deployment.yaml")]
    assert unchanged, findings
    for finding in unchanged:
        text = (BASE / "deployment.yaml").read_text().splitlines()[finding["line"] - 1]
        assert text.strip(), finding


def test_baseline_reports_only_new_findings(tmp_path: Path) -> None:
    manifest = tmp_path / "app.yaml"
    source = (FIXTURES / "rules" / "security-privileged" / "fail.yaml").read_text()
    manifest.write_text(source)
    baseline = tmp_path / "kgen-baseline.json"
    written = run_kgen("lint", str(manifest), "--write-baseline", str(baseline))
    assert written.returncode == 0 and json.loads(baseline.read_text())["findings"]
    assert run_kgen("lint", str(manifest), "--baseline", str(baseline)).returncode == 0
    # Lines shift above the object: still known.
    manifest.write_text("# a new comment\n# and another\n" + source)
    assert run_kgen("lint", str(manifest), "--baseline", str(baseline)).returncode == 0
    # A new problem on another object fails, and entries fixed since are listed.
    manifest.write_text(source.replace("privileged: true", "privileged: false") + "---\n" + source.replace("node-agent", "other"))
    result = run_kgen("lint", str(manifest), "--baseline", str(baseline), "--format", "json")
    document = json.loads(result.stdout)
    assert result.returncode == 1
    assert {f["object"]["name"] for f in document["findings"]} == {"other"}
    assert any(entry["rule"] == "security-privileged" for entry in document["baselineFixed"])


def test_bad_baseline_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "b.json"
    bad.write_text("{not json")
    result = run_kgen("lint", str(FIXTURES / "rules" / "security-privileged" / "pass.yaml"), "--baseline", str(bad))
    assert result.returncode == 2 and "baseline is not valid JSON" in result.stderr


def test_app_spec_is_rendered_per_environment_and_findings_point_at_the_spec() -> None:
    spec = FIXTURES / "specs" / "triton.yaml"
    code, findings = _findings(str(spec))
    assert code == 0  # generated output carries no error
    cpu = {f["environment"]: f for f in findings if f["rule"] == "resources-cpu-limit-missing"}
    assert set(cpu) == {"staging", "prod"}
    lines = spec.read_text().splitlines()
    # prod uses the component's resources; staging overrides them under environments.staging.
    assert lines[cpu["prod"]["line"] - 1].strip().startswith("resources:")
    assert lines[cpu["staging"]["line"] - 1].strip().startswith("resources:")
    assert cpu["staging"]["line"] > cpu["prod"]["line"]
    assert all(f["file"] == str(spec) for f in findings)


def test_values_files_are_read_as_helm_reads_them(tmp_path: Path) -> None:
    from kgen.errors import InputError
    from kgen.loader import SourceFile, load_mapping

    assert load_mapping(SourceFile("v.yaml", "debug: y\nimage: {tag: '1.0'}\n")) == {"debug": True, "image": {"tag": "1.0"}}
    assert load_mapping(SourceFile("v.yaml", "# only a comment\n")) == {}
    for text, line, fragment in [("a: 1\na: 2\n", 2, "duplicate key"), ("- a\n", 1, "expected a mapping"), ("a: [\n", 2, "invalid YAML")]:
        with pytest.raises(InputError) as caught:
            load_mapping(SourceFile("v.yaml", text))
        assert caught.value.line == line and fragment in caught.value.message


@needs_helm
def test_a_broken_values_file_is_one_line_exit_2(tmp_path: Path) -> None:
    values = tmp_path / "values-bad.yaml"
    values.write_text("replicaCount: 2\nreplicaCount: 3\n")
    result = run_kgen("lint", str(CHART), "-f", str(values))
    assert result.returncode == 2 and f"{values}:2: duplicate key 'replicaCount'" in result.stderr


GPU_API = FIXTURES / "kustomize" / "gpu-api"


def test_files_named_one_by_one_skip_a_kustomization_and_its_patches() -> None:
    """pre-commit names every file of an overlay: a patch is part of an object, not one, and the
    resource is checked as the overlay builds it (its tolerations come from the patch)."""
    kustomization = GPU_API / "overlays" / "prod" / "kustomization.yaml"
    patch = GPU_API / "overlays" / "prod" / "patches" / "tolerations.yaml"
    resource = GPU_API / "base" / "deployment.yaml"
    result = run_kgen("lint", str(kustomization), str(patch), str(resource), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    found = sorted((f["file"], f["line"], f["rule"]) for f in json.loads(result.stdout)["findings"])
    assert found == [(str(kustomization), 8, "image-tag-unpinned"), (str(patch), 8, "gpu-toleration-missing"), (str(patch), 14, "security-readonly-rootfs")]
    assert result.stderr.count("skipped; lint the folder: kgen lint") == 1  # one note per folder
    assert f"lint the folder: kgen lint {GPU_API / 'overlays' / 'prod'}\n" in result.stderr  # named as the paths were
    assert f"{resource}: a resource of the Kustomize root {GPU_API / 'overlays' / 'prod'}: checked as built" in result.stderr
    # Named alone, the resource has no finding of its own lines once built (its file has none).
    alone = run_kgen("lint", str(resource), "--format", "json")
    assert json.loads(alone.stdout)["findings"] == [], alone.stdout


def test_fix_leaves_patches_alone_named_or_walked(tmp_path: Path) -> None:
    copy = tmp_path / "gpu-api"
    shutil.copytree(GPU_API, copy)
    patch = copy / "overlays" / "prod" / "patches" / "tolerations.yaml"
    before = patch.read_text()
    named = run_kgen("fix", str(patch))
    assert named.returncode == 0 and "nothing to fix" in named.stderr, named.stderr
    overlays = run_kgen("fix", str(copy / "overlays"))  # only a kustomization and its patch: refused, as a named overlay is
    assert overlays.returncode == 2 and "nothing to fix: no YAML file kgen fix can edit" in overlays.stderr, overlays.stderr
    walked = run_kgen("fix", str(copy))  # the base's resource is a plain file and is fixed
    assert walked.returncode == 0 and "base/deployment.yaml" in walked.stderr and "tolerations.yaml" not in walked.stderr, walked.stderr
    assert patch.read_text() == before


def _kubebuilder_config(root: Path) -> Path:
    """A kubebuilder `config/` tree, as kueue, JobSet and LeaderWorkerSet ship it: optional patches
    switched off in comments, cert-manager names set by transformer configs, and a resource
    commented out because another tool deploys it."""
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: controller\nspec:\n  selector:\n    matchLabels: {app: c}\n"
        "  template:\n    metadata:\n      labels: {app: c}\n    spec:\n      containers:\n        - name: manager\n          image: ghcr.io/acme/manager:v1.2.3\n"
    )
    files = {
        "crd/kustomization.yaml": "resources:\n- bases/widgets.yaml\npatches:\n#- path: patches/cainjection_in_widgets.yaml\n",
        "crd/bases/widgets.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: widgets\n",
        "crd/patches/cainjection_in_widgets.yaml": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.acme.io\n",
        "default/kustomization.yaml": (
            "resources:\n- ../crd\n- manager.yaml\n# - loadgenerator.yaml  # deployed by skaffold during development\n"
            "patchesStrategicMerge:\n#- manager_webhook_patch.yaml\ntransformers:\n- name_transformer.yaml\n"
        ),
        "default/manager.yaml": deployment,
        "default/loadgenerator.yaml": deployment.replace("controller", "loadgenerator").replace(":v1.2.3", ":latest"),
        "default/manager_webhook_patch.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: controller\n",
        "default/name_transformer.yaml": "apiVersion: builtin\nkind: PrefixSuffixTransformer\nmetadata:\n  name: prefix\nprefix: acme-\nfieldSpecs:\n- path: metadata/name\n",
        # Scaffolded patches no comment names (kaito's manager_config_patch.yaml, kueue's cainjection_in_localqueues.yaml).
        "default/manager_config_patch.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: controller\n",
        "crd/patches/cainjection_in_orphans.yaml": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: orphans.acme.io\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_walk_skips_switched_off_and_scaffolded_patches_and_transformer_configs(tmp_path: Path) -> None:
    config = _kubebuilder_config(tmp_path / "config")
    result = run_kgen("lint", str(config), "--format", "json")
    findings = json.loads(result.stdout)["findings"]
    assert {f["rule"] for f in findings if f["rule"].startswith("schema")} == set(), findings
    # The resource commented out is still a file to lint; the patches switched off are said to be skipped.
    assert any(f["file"] == str(config / "default" / "loadgenerator.yaml") and f["rule"] == "image-tag-unpinned" for f in findings)
    skipped = [line.split(": a patch a kustomization names in a comment")[0].removeprefix("kgen: note: ") for line in result.stderr.splitlines() if ": a patch a kustomization names" in line]
    assert sorted(skipped) == [str(config / "crd" / "patches" / "cainjection_in_widgets.yaml"), str(config / "default" / "manager_webhook_patch.yaml")]
    by_name = [line.split(": named as a patch")[0].removeprefix("kgen: note: ") for line in result.stderr.splitlines() if ": named as a patch" in line]
    assert sorted(by_name) == [str(config / "crd" / "patches" / "cainjection_in_orphans.yaml"), str(config / "default" / "manager_config_patch.yaml")]


def test_a_switched_off_patch_named_alone_is_skipped_as_a_patch(tmp_path: Path) -> None:
    config = _kubebuilder_config(tmp_path / "config")
    patch = config / "crd" / "patches" / "cainjection_in_widgets.yaml"
    result = run_kgen("lint", str(patch), str(config / "default" / "name_transformer.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped; lint the folder: kgen lint" in result.stderr
