"""--exclude / spec.lint.exclude globs: names at any depth, paths from their base directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kgen.excludes import Excludes


@pytest.mark.parametrize(
    "glob,path,excluded",
    [
        ("vendor", "deploy/vendor/a.yaml", True),
        ("vendor", "deploy/vendors/a.yaml", False),
        ("*.generated.yaml", "deploy/x/app.generated.yaml", True),
        ("*.generated.yaml", "deploy/app.yaml", False),
        ("deploy/vendor", "deploy/vendor/sub/a.yaml", True),
        ("deploy/vendor", "other/deploy/vendor/a.yaml", False),
        ("deploy/*.yaml", "deploy/a.yaml", True),
        ("deploy/*.yaml", "deploy/sub/a.yaml", False),
        ("deploy/**/*.yaml", "deploy/sub/deeper/a.yaml", True),
        ("deploy/**/*.yaml", "deploy/a.yaml", True),
        ("/deploy/a.yaml", "deploy/a.yaml", True),
        ("charts/*/tests/", "charts/web/tests/t.yaml", True),
        ("a?.yaml", "ab.yaml", True),
        ("a?.yaml", "a/b.yaml", False),
    ],
)
def test_glob_semantics(tmp_path: Path, glob: str, path: str, excluded: bool) -> None:
    assert Excludes([(glob, str(tmp_path))])(str(tmp_path / path)) is excluded


def test_path_globs_are_relative_to_their_base(tmp_path: Path) -> None:
    excludes = Excludes([("deploy/vendor", str(tmp_path / "repo"))])
    assert excludes(str(tmp_path / "repo" / "deploy" / "vendor" / "a.yaml"))
    assert not excludes(str(tmp_path / "deploy" / "vendor" / "a.yaml"))  # outside the base


def test_a_matching_folder_above_the_base_does_not_count(tmp_path: Path) -> None:
    base = tmp_path / "vendor" / "project"
    assert not Excludes([("vendor", str(base))])(str(base / "deploy" / "a.yaml"))
    assert Excludes([("vendor", str(base))])(str(base / "vendor" / "a.yaml"))


def test_stdin_and_no_globs_exclude_nothing(tmp_path: Path) -> None:
    assert not Excludes([("*", str(tmp_path))])("-")
    assert not Excludes()(os.path.join(str(tmp_path), "a.yaml")) and not Excludes()
