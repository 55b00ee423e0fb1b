"""A walk's own shortcuts: the listing's links (kgen.fsutil.walk) and each kustomization read once
(kgen.kustomize.read_root's readings) give what os.walk, os.path.realpath and a root read on its
own give."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kgen.fsutil import real_path, walk
from kgen.kustomize import read_root
from tests.conftest import CORPUS, FIXTURES


def _tree(top: Path) -> None:
    """Folders and files, a linked folder (listed, not entered), linked and dangling files, a
    folder that cannot be listed, and a link to a folder above."""
    for folder in ("a/b", "a/c/d", "e", "skip/me"):
        (top / folder).mkdir(parents=True)
    for file in ("a/one.yaml", "a/b/two.yaml", "a/c/d/three.yml", "e/four.yaml", "skip/me/five.yaml", "top.yaml"):
        (top / file).write_text("kind: ConfigMap\n")
    (top / "a" / "linked").symlink_to(top / "e")
    (top / "a" / "b" / "same.yaml").symlink_to(top / "a" / "one.yaml")
    (top / "a" / "dangling.yaml").symlink_to(top / "gone.yaml")
    (top / "a" / "c" / "up").symlink_to(top / "a")
    (top / "locked").mkdir()
    (top / "locked" / "x.yaml").write_text("kind: ConfigMap\n")
    (top / "locked").chmod(0)


@pytest.mark.parametrize("prune", [False, True])
def test_walk_is_os_walk_with_the_links_of_each_listing(tmp_path: Path, prune: bool) -> None:
    _tree(tmp_path)
    try:
        expected_errors: list[str] = []
        ours_errors: list[str] = []
        expected = []
        for current, dirs, names in os.walk(str(tmp_path), onerror=lambda error: expected_errors.append(error.filename)):
            dirs.sort()
            if prune:
                dirs[:] = [name for name in dirs if name != "skip"]
            expected.append((current, sorted(dirs), sorted(names), {n for n in dirs + names if os.path.islink(os.path.join(current, n))}))
        ours = []
        for current, dirs, names, links in walk(str(tmp_path), onerror=lambda error: ours_errors.append(error.filename)):
            dirs.sort()
            if prune:
                dirs[:] = [name for name in dirs if name != "skip"]
            ours.append((current, sorted(dirs), sorted(names), set(links)))
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert ours == expected
    assert ours_errors == expected_errors
    assert any(links for *_, links in ours)


def test_walk_says_what_cannot_be_listed_as_os_walk_does(tmp_path: Path) -> None:
    (tmp_path / "file.yaml").write_text("kind: ConfigMap\n")
    for top in (tmp_path / "missing", tmp_path / "file.yaml"):
        expected: list[type] = []
        ours: list[type] = []
        assert list(os.walk(str(top), onerror=lambda error: expected.append(type(error)))) == []
        assert list(walk(str(top), onerror=lambda error: ours.append(type(error)))) == []
        assert ours == expected and len(ours) == 1


def test_real_paths_from_a_walks_links_are_realpath(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / "locked").chmod(0o755)
    real_folders: dict[str, str] = {}
    links: dict[str, frozenset[str]] = {}
    paths = []
    for current, dirs, names, linked in walk(str(tmp_path), onerror=lambda error: None):
        links[current] = linked
        paths += [os.path.join(current, name) for name in dirs + names]
    paths += [str(tmp_path / "a" / "not-listed.yaml"), str(tmp_path / "elsewhere" / "x.yaml")]  # as a kustomization may name them
    assert [real_path(path, real_folders, links) for path in paths] == [os.path.realpath(path) for path in paths]


def _kustomize_folders(top: Path) -> list[str]:
    return sorted(str(path.parent) for path in top.rglob("kustomization.y*ml"))


def test_roots_read_together_are_roots_read_alone(tmp_path: Path) -> None:
    """A walk's roots share one reading per folder: a diamond (two bases reading one component),
    a cycle and a base named twice give what each root read on its own gives."""
    for folder, text in {
        "shared": "resources: [cm.yaml]\nimages: [{name: app, newTag: '2'}]\npatches: [{path: p.yaml}]\n",
        "left": "resources: [../shared, l.yaml, ../alias]\n",
        "through-alias": "resources: [../alias]\n",
        "right": "resources: [../shared]\n#- path: off_patch.yaml\npatchesStrategicMerge: [r.yaml]\n",
        "top": "resources: [../left, ../right, ../left]\n",
        "loop/a": "resources: [../b]\n",
        "loop/b": "resources: [../a, b.yaml]\n",
    }.items():
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "kustomization.yaml").write_text(text)
    (tmp_path / "alias").symlink_to(tmp_path / "shared")  # one folder by two names: met first as read already
    for file in ("shared/cm.yaml", "shared/p.yaml", "left/l.yaml", "right/r.yaml", "right/off_patch.yaml", "loop/b/b.yaml"):
        (tmp_path / file).write_text("kind: ConfigMap\n")
    folders = _kustomize_folders(tmp_path) + _kustomize_folders(FIXTURES)
    if CORPUS.is_dir():
        folders += _kustomize_folders(CORPUS)
    readings: dict = {}
    for folder in folders:
        assert _fields(read_root(folder, readings=readings)) == _fields(read_root(folder)), folder
    assert len(readings) >= len(folders)


def _fields(root: object) -> dict:
    fields = dict(vars(root))
    fields["patch_texts"] = [(text.target, text.path, text.inline, text.line_offset) for text in fields["patch_texts"]]
    fields.pop("patches", None)
    return fields
