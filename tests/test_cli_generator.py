"""kgen init / validate / build / render end to end, in a new process as a user runs them."""

from __future__ import annotations

from pathlib import Path

from .conftest import FIXTURES, run_kgen

TRITON = FIXTURES / "specs" / "triton.yaml"


def test_init_validate_build_render(tmp_path: Path) -> None:
    created = run_kgen("init", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    spec = tmp_path / "kgen.yaml"
    assert "gpu:" in spec.read_text() and "# " in spec.read_text()
    again = run_kgen("init", cwd=tmp_path)
    assert again.returncode == 2 and "never overwrites" in again.stderr
    valid = run_kgen("validate", "kgen.yaml", cwd=tmp_path)
    assert valid.returncode == 0 and "valid (2 components; environments: staging, prod)" in valid.stdout
    built = run_kgen("build", "kgen.yaml", "-o", "deploy", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    rendered = run_kgen("render", "kgen.yaml", "--env", "prod", cwd=tmp_path)
    assert rendered.returncode == 0
    assert rendered.stdout == (tmp_path / "deploy" / "manifests" / "prod.yaml").read_text()
    linted = run_kgen("lint", "deploy/manifests", cwd=tmp_path)
    assert linted.returncode == 0, linted.stdout


def test_render_gpu_environments() -> None:
    prod = run_kgen("render", str(TRITON), "--env", "prod").stdout
    staging = run_kgen("render", str(TRITON), "--env", "staging").stdout
    assert "nvidia.com/gpu: 1" in prod and "nvidia.com/mig-1g.10gb: 1" in staging
    assert "image: nvcr.io/nvidia/tritonserver:24.09-py3" in prod


def test_render_needs_a_known_environment() -> None:
    missing = run_kgen("render", str(TRITON))
    assert missing.returncode == 2 and "choose one with --env (staging, prod)" in missing.stderr
    unknown = run_kgen("render", str(TRITON), "--env", "qa")
    assert unknown.returncode == 2 and "no environment 'qa'" in unknown.stderr


def test_validate_reports_every_error_with_its_line(tmp_path: Path) -> None:
    spec = tmp_path / "kgen.yaml"
    text = TRITON.read_text().replace("replicas: 1", "replicas: -1").replace("    ports:", "    portz: 1\n    ports:")
    spec.write_text(text)
    lines = text.splitlines()
    portz, replicas = lines.index("    portz: 1") + 1, lines.index("        replicas: -1") + 1
    result = run_kgen("validate", str(spec))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{spec}:{portz}: components.triton.portz: unknown key 'portz' (did you mean 'ports'? keys starting with x- are free-form)",
        f"{spec}:{replicas}: environments.staging.components.triton.replicas: must be >= 0",
    ]


def test_unreadable_spec_and_bad_target(tmp_path: Path) -> None:
    missing = run_kgen("validate", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    target = run_kgen("build", str(TRITON), "-o", str(tmp_path / "o"), "--target", "kustomize,terraform")
    assert target.returncode == 2 and "unknown target 'terraform'" in target.stderr and not (tmp_path / "o").exists()
