"""kgen build on disk: golden output, determinism, --check, and the safety rules.

Regenerate the golden trees after an intended output change with
``KGEN_UPDATE_GOLDEN=1 python -m pytest tests/test_build.py -k golden`` and review the diff.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import kgen.generator.build as build_module
from kgen.errors import InputError
from kgen.generator.build import build
from kgen.generator.spec import SpecError
from kgen.generator.text import dump_yaml
from kgen.loader import read_plain

from .conftest import FIXTURES, ROOT, SPEC_FILES, run_kgen

SPECS = SPEC_FILES
GOLDEN = ROOT / "tests" / "golden"
WEB = FIXTURES / "specs" / "web.yaml"


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_golden(tmp_path: Path, spec: Path) -> None:
    build(str(spec), str(tmp_path))
    golden = GOLDEN / spec.stem
    if os.environ.get("KGEN_UPDATE_GOLDEN"):
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(tmp_path, golden)
    expected = tree(golden)
    actual = tree(tmp_path)
    assert sorted(actual) == sorted(expected), "files differ; see the module docstring to regenerate"
    for name in expected:
        assert actual[name] == expected[name], f"{name} differs from tests/golden/{spec.stem}/{name}"


def test_rebuild_is_byte_identical_and_writes_nothing(tmp_path: Path) -> None:
    first = build(str(WEB), str(tmp_path / "a"))
    assert first.written and not first.removed
    build(str(WEB), str(tmp_path / "b"))
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "a").rglob("*") if p.is_file()}
    again = build(str(WEB), str(tmp_path / "a"))
    assert (again.written, again.removed, again.unchanged) == ([], [], len(first.written))
    assert mtimes == {p: p.stat().st_mtime_ns for p in (tmp_path / "a").rglob("*") if p.is_file()}


def test_key_order_in_the_spec_does_not_change_labels_output(tmp_path: Path) -> None:
    text = WEB.read_text()
    swapped = text.replace("  labels:\n    team: storefront\n", "  labels: {team: storefront}\n")
    (tmp_path / "web.yaml").write_text(swapped)
    build(str(WEB), str(tmp_path / "a"))
    build(str(tmp_path / "web.yaml"), str(tmp_path / "b"))
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_check_exit_codes_and_diff(tmp_path: Path) -> None:
    out = tmp_path / "out"
    missing = run_kgen("build", str(WEB), "-o", str(out), "--check")
    assert missing.returncode == 1 and not out.exists()
    assert "+++ b/manifests/prod.yaml" in missing.stdout
    assert run_kgen("build", str(WEB), "-o", str(out)).returncode == 0
    current = run_kgen("build", str(WEB), "-o", str(out), "--check")
    assert (current.returncode, current.stdout) == (0, "")
    values = out / "helm" / "shop" / "values-prod.yaml"
    values.write_text(values.read_text().replace("max: 20", "max: 21"))
    stale_file = out / "manifests" / "old.yaml"
    shutil.copy(out / "manifests" / "dev.yaml", stale_file)
    stale = run_kgen("build", str(WEB), "-o", str(out), "--check")
    assert stale.returncode == 1
    assert "--- a/helm/shop/values-prod.yaml" in stale.stdout and "-      max: 21" in stale.stdout and "+      max: 20" in stale.stdout
    assert "--- a/manifests/old.yaml\n+++ /dev/null" in stale.stdout
    assert "max: 21" in values.read_text() and stale_file.exists()  # --check writes nothing


def test_stale_generated_files_are_removed_user_files_kept(tmp_path: Path) -> None:
    build(str(WEB), str(tmp_path))
    readme = tmp_path / "kustomize" / "base" / "README.md"
    readme.write_text("our notes\n")
    old_overlay = tmp_path / "kustomize" / "overlays" / "qa"
    shutil.copytree(tmp_path / "kustomize" / "overlays" / "dev", old_overlay)
    result = build(str(WEB), str(tmp_path))
    assert readme.read_text() == "our notes\n"
    assert not old_overlay.exists()
    assert all(r.startswith("kustomize/overlays/qa/") for r in result.removed) and result.removed


def test_refuses_to_overwrite_a_file_kgen_did_not_write(tmp_path: Path) -> None:
    build(str(WEB), str(tmp_path))
    before = tree(tmp_path)
    mine = tmp_path / "manifests" / "prod.yaml"
    mine.write_text("# hand-written\n")
    values = tmp_path / "helm" / "shop" / "values.yaml"
    values.write_text(values.read_text() + "# touched\n")  # stale but still kgen's: would be replaced
    with pytest.raises(InputError, match="refusing to overwrite manifests/prod.yaml"):
        build(str(WEB), str(tmp_path))
    assert mine.read_text() == "# hand-written\n"
    assert values.read_text().endswith("# touched\n")  # nothing was written at all
    assert set(tree(tmp_path)) == set(before)


def test_refuses_to_write_outside_the_output_directory(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifests").symlink_to(elsewhere)
    result = run_kgen("build", str(WEB), "-o", str(out))
    assert result.returncode == 2 and "outside the output directory" in result.stderr
    assert list(elsewhere.iterdir()) == [] and not (out / "helm").exists()


def test_a_failed_write_leaves_the_previous_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    build(str(WEB), str(out))
    before = tree(out)
    (tmp_path / "spec").mkdir()
    changed = tmp_path / "spec" / "web.yaml"
    changed.write_text(WEB.read_text().replace("replicas: 3", "replicas: 4"))
    written = []

    def failing_open(path: str, mode: str = "r", *args: object, **kwargs: object) -> object:
        if "w" in mode:
            if written:  # the disk fills up while the second file is staged
                raise OSError(28, "No space left on device")
            written.append(path)
        return open(path, mode, *args, **kwargs)  # noqa: SIM115

    monkeypatch.setattr(build_module, "open", failing_open, raising=False)
    with pytest.raises(OSError):
        build(str(changed), str(out))
    monkeypatch.undo()
    assert written and tree(out) == before
    assert not [p for p in out.iterdir() if p.name.startswith(".kgen-build-")]


def test_bad_spec_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "kgen.yaml"
    bad.write_text(WEB.read_text().replace("autoscaling: {min: 3,", "autoscaling: {min: 0,"))
    with pytest.raises(SpecError):
        build(str(bad), str(tmp_path / "out"))
    result = run_kgen("build", str(bad), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "kgen.yaml:89: environments.prod.components.api.autoscaling.min: must be >= 1" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_env_and_target_selection(tmp_path: Path) -> None:
    build(str(WEB), str(tmp_path))
    result = build(str(WEB.parent / "web.yaml"), str(tmp_path), envs=["dev"], targets=["manifests"])
    assert result.stale is False
    only = tmp_path / "only"
    build(str(WEB), str(only), envs=["prod"], targets=["helm", "manifests"])
    assert sorted(p.name for p in (only / "manifests").iterdir()) == ["prod.yaml"]
    assert not (only / "kustomize").exists()
    assert sorted(p.name for p in (only / "helm" / "shop").glob("values*.yaml")) == ["values-prod.yaml", "values.yaml"]
    # a --env build does not remove the other environments' files
    build(str(WEB), str(only), targets=["manifests"])
    build(str(WEB), str(only), envs=["dev"], targets=["manifests"])
    assert sorted(p.name for p in (only / "manifests").iterdir()) == ["dev.yaml", "prod.yaml", "staging.yaml"]
    with pytest.raises(InputError, match="no environment 'qa'"):
        build(str(WEB), str(only), envs=["qa"])


def test_generated_yaml_quotes_strings_kubectl_would_read_as_booleans() -> None:
    """A spec's env value "y" must reach the cluster as a string: go-yaml v2 reads plain y as true."""
    data = {"env": [{"name": "VERBOSE", "value": "y"}, {"name": "DRY_RUN", "value": "N"}, {"name": "MODE", "value": "x"}]}
    text = dump_yaml(data)
    assert "value: 'y'" in text and "value: 'N'" in text and "value: x" in text
    assert read_plain(text) == data
