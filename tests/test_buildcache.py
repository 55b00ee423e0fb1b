"""kgen's cache: Kustomize builds reused while nothing a build may read changes, never stale;
the index of the built-in schema definitions reused for the very same file."""

from __future__ import annotations

import os
import shutil
import time
import subprocess
from pathlib import Path

import pytest

from kgen import buildcache
from kgen.kustomize import _BuildInputs, kustomize_build, kustomize_command
from tests.conftest import FIXTURES, run_kgen

KUSTOMIZE = FIXTURES / "inputs" / "kustomize"

needs_kustomize = pytest.mark.skipif(kustomize_command() is None, reason="needs kubectl or kustomize")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("KGEN_CACHE_DIR", str(folder))
    monkeypatch.delenv("KGEN_NO_CACHE", raising=False)
    return folder


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(KUSTOMIZE, tmp_path / "kz")
    return tmp_path / "kz"


def _entries(cache: Path) -> list[Path]:
    return [path for path in cache.rglob("*") if path.is_file() and not path.name.startswith(".")]


def _no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Kustomize ran although its build was cached")

    monkeypatch.setattr(subprocess, "run", refuse)


@needs_kustomize
def test_a_build_is_reused_while_nothing_it_reads_changes(cache: Path, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    overlay = str(tree / "overlays" / "prod")
    first = kustomize_build(overlay)
    assert first.returncode == 0 and "prod-api" in first.stdout
    assert len(_entries(cache)) == 1
    with monkeypatch.context() as patched:
        _no_process(patched)
        again = kustomize_build(overlay)
    assert (again.returncode, again.stdout) == (first.returncode, first.stdout)


@needs_kustomize
@pytest.mark.parametrize("change", ["edit the base", "add a file to the base", "edit the overlay"])
def test_a_change_to_any_file_the_build_may_read_builds_again(cache: Path, tree: Path, change: str) -> None:
    overlay = tree / "overlays" / "prod"
    before = kustomize_build(str(overlay)).stdout
    if change == "edit the base":
        deployment = tree / "base" / "deployment.yaml"
        deployment.write_text(deployment.read_text().replace("replicas: 1", "replicas: 3"))  # same size
    elif change == "add a file to the base":
        (tree / "base" / "notes.txt").write_text("not read by this kustomization, still part of the key\n")
    else:
        kustomization = overlay / "kustomization.yaml"
        kustomization.write_text(kustomization.read_text().replace("namePrefix: prod-", "namePrefix: prd-"))
    after = kustomize_build(str(overlay))
    assert after.returncode == 0
    assert len(_entries(cache)) == 2
    if change == "edit the base":
        assert "replicas: 3" in after.stdout and "replicas: 1" in before
    elif change == "edit the overlay":
        assert "prd-api" in after.stdout


@needs_kustomize
def test_a_failure_of_the_input_is_kept_and_a_missing_base_that_appears_builds_again(cache: Path, tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: [../base]\n")
    failed = kustomize_build(str(overlay))
    assert failed.returncode == 1 and len(_entries(cache)) == 1
    shutil.copytree(KUSTOMIZE / "base", tmp_path / "base")
    built = kustomize_build(str(overlay))
    assert built.returncode == 0 and "name: api" in built.stdout


def test_what_may_be_kept() -> None:
    def proc(code: int, stderr: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess([], code, "", stderr)

    local, remote = _BuildInputs("k", remote=False), _BuildInputs("k", remote=True)
    assert local.keeps(proc(0)) and local.keeps(proc(1, "error: missing file"))
    assert not local.keeps(proc(1, "error: open x: too many open files"))  # the machine, not the input
    assert not local.keeps(proc(-9)) and not local.keeps(proc(2, "panic"))
    assert not remote.keeps(proc(0))  # it read something remote: that may change
    assert remote.keeps(proc(1, "error: ... dial tcp 127.0.0.1:9: connect: connection refused"))  # kgen refused to fetch


@needs_kustomize
def test_a_remote_base_is_refused_and_the_refusal_kept(cache: Path, tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [https://example.com/app.yaml]\n")
    refused = kustomize_build(str(tmp_path))
    assert refused.returncode == 1 and len(_entries(cache)) == 1


@needs_kustomize
def test_a_local_git_repository_is_never_cached(cache: Path, tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: ['file:///nowhere/repo//app?ref=v1']\n")
    kustomize_build(str(tmp_path))
    assert _entries(cache) == []


@needs_kustomize
def test_no_cache_when_turned_off(cache: Path, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGEN_NO_CACHE", "1")
    assert kustomize_build(str(tree / "overlays" / "prod")).returncode == 0
    assert not cache.exists()


@needs_kustomize
def test_a_cache_that_cannot_be_written_is_not_an_error(tmp_path: Path, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("KGEN_CACHE_DIR", str(blocker / "cache"))
    assert kustomize_build(str(tree / "overlays" / "prod")).returncode == 0


def test_an_entry_put_there_by_another_key_is_not_read(cache: Path) -> None:
    buildcache.store("kustomize", "ab" * 32, "text")
    assert buildcache.lookup("kustomize", "ab" * 32) == "text"
    entry = cache / "kustomize" / "ab" / ("ab" * 32)
    os.rename(entry, entry.with_name("cd" * 32))
    assert buildcache.lookup("kustomize", "cd" * 32) is None


def test_the_default_place_is_the_user_cache_never_the_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KGEN_CACHE_DIR", raising=False)
    monkeypatch.delenv("KGEN_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert buildcache.cache_dir() == str(tmp_path / "xdg" / "kgen")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert buildcache.cache_dir() == str(tmp_path / "home" / ".cache" / "kgen")


def test_a_fifo_in_a_tree_is_never_opened(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\n")
    assert buildcache.tree_digest(str(tmp_path)) is not None
    os.mkfifo(tmp_path / "pipe")
    assert buildcache.tree_digest(str(tmp_path)) is None  # opening it would block


@needs_kustomize
def test_a_lint_from_the_cache_says_what_a_fresh_build_says(cache: Path, tree: Path) -> None:
    fresh = run_kgen("lint", str(tree / "overlays" / "prod"), "--format", "json")
    assert _entries(cache)
    cached = run_kgen("lint", str(tree / "overlays" / "prod"), "--format", "json")
    assert (cached.returncode, cached.stdout, cached.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)


@needs_kustomize
def test_a_git_mirror_in_the_users_git_config_does_not_bring_a_remote_base_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A remote base must fail offline every time (its failure is cached): the user's git
    configuration, which may map github.com to a local mirror (`insteadOf`), is not read."""
    source = tmp_path / "src"
    (source / "app").mkdir(parents=True)
    (source / "app" / "kustomization.yaml").write_text("resources: [pod.yaml]\n")
    (source / "app" / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: fetched}\nspec: {containers: [{name: a, image: nginx}]}\n")
    git = ["git", "-c", "user.name=dev", "-c", "user.email=dev@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(source)], check=True)
    subprocess.run([*git, "-C", str(source), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(source), "commit", "-qm", "app"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(tmp_path / "mirror" / "app.git")], check=True)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(f'[url "file://{tmp_path / "mirror"}/"]\n\tinsteadOf = https://github.com/example/\n')
    monkeypatch.setenv("HOME", str(home))
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources:\n- github.com/example/app//app?ref=main\n")
    build = kustomize_build(str(overlay))
    assert build.returncode == 1 and "fetched" not in build.stdout


@needs_kustomize
def test_a_kustomization_of_two_documents_is_read_by_its_first_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [pod.yaml]\n---\nnotes: a second document\n")
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: nginx:1.27}]}\n")
    result = run_kgen("lint", str(tmp_path))
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr


def test_the_schema_index_is_kept_and_read_back_for_the_same_file(cache: Path) -> None:
    from kgen import kubeschemas

    version = kubeschemas.shipped_versions()[-1]
    fresh = kubeschemas.BuiltinSchemas(version, True)
    (entry,) = _entries(cache)
    again = kubeschemas.BuiltinSchemas(version, True)  # from the entry
    assert again.index == fresh.index and again.definitions.offsets == fresh.definitions.offsets
    assert again.definitions.closure("io.k8s.api.apps.v1.Deployment") == fresh.definitions.closure("io.k8s.api.apps.v1.Deployment")
    assert type(again.definitions) is not type(fresh.definitions)  # read one definition at a time through a memory map
    assert again.document == fresh.document
    entry.write_text(entry.read_text().replace('"length": ', '"length": 1'))  # an index of another text
    assert kubeschemas.BuiltinSchemas(version, True).index == fresh.index


def test_an_index_of_another_text_is_refused() -> None:
    from kgen.kubeschemas import DefinitionsFile

    text = '{\n  "$defs": {\n    "a": {\n      "type": "object"\n    }\n  }\n}\n'
    index = DefinitionsFile(text).index()
    assert index is not None and DefinitionsFile(text, index).definition("a") == {"type": "object"}
    with pytest.raises(ValueError):
        DefinitionsFile(text.replace('"a"', '"bb"'), index)


def test_entries_unused_for_a_month_are_pruned_by_a_later_store(cache: Path) -> None:
    old, used = "aa" * 32, "bb" * 32
    buildcache.store("kustomize", old, "old")
    buildcache.store("kustomize", used, "used")
    long_ago = time.time() - buildcache.UNUSED_FOR - 3600
    for key in (old, used):
        os.utime(cache / "kustomize" / key[:2] / key, (long_ago, long_ago))
    os.utime(cache / "kustomize" / ".pruned", (long_ago, long_ago))  # the last pruning was long ago
    assert buildcache.lookup("kustomize", used) == "used"  # a hit marks it used
    buildcache.store("kustomize", "cc" * 32, "new")
    assert buildcache.lookup("kustomize", old) is None
    assert buildcache.lookup("kustomize", used) == "used" and buildcache.lookup("kustomize", "cc" * 32) == "new"


@needs_kustomize
def test_a_damaged_entry_is_built_again(cache: Path, tree: Path) -> None:
    overlay = str(tree / "overlays" / "prod")
    first = kustomize_build(overlay)
    (entry,) = _entries(cache)
    key = entry.name
    entry.write_text(f"{key}\n{{not json")
    again = kustomize_build(overlay)
    assert (again.returncode, again.stdout) == (first.returncode, first.stdout)


def test_file_digests_kept_in_memory_are_the_most_recent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A monorepo's lint does not hold a digest for every file it walks, and one read again is right."""
    monkeypatch.setattr(buildcache, "_FILES", {})
    monkeypatch.setattr(buildcache, "_MAX_FILES", 3)
    monkeypatch.setattr(buildcache, "_SETTLED_NS", -(10**18))  # files just written count as settled
    for index in range(5):
        (tmp_path / f"f{index}.yaml").write_text(f"n: {index}\n")
    first = buildcache.tree_digest(str(tmp_path))
    assert [Path(signature[0]).name for signature in buildcache._FILES] == ["f2.yaml", "f3.yaml", "f4.yaml"]
    assert buildcache.tree_digest(str(tmp_path)) == first
    (tmp_path / "f0.yaml").write_text("n: changed\n")
    assert buildcache.tree_digest(str(tmp_path)) != first


@needs_kustomize
def test_a_walk_runs_side_by_side_only_the_builds_not_cached(cache: Path, tree: Path) -> None:
    """Cached builds are read as their units come (threads would only contend with the checks);
    the others run in the pool while earlier units are checked."""
    from kgen.inputs import read_units, stream_inputs

    class Pool:  # records what read_units hands to a thread
        def __init__(self) -> None:
            self.submitted: list[object] = []

        def submit(self, task: object) -> object:
            self.submitted.append(task)
            from concurrent.futures import Future

            done: Future = Future()
            done.set_result(task())  # type: ignore[operator]
            return done

    def walked_roots() -> list:
        loaders = stream_inputs([str(tree)]).plan()
        return [load for load in loaders if getattr(load, "start_build", None) is not None]

    first, pool = walked_roots(), Pool()
    for load in first:
        load.start_build(pool)
    assert first and len(pool.submitted) == len(first)  # nothing cached yet: every build runs
    outputs = [[obj.name for obj in unit.objects] for unit in read_units(first, builds_at_once=1)]
    again, pool = walked_roots(), Pool()
    for load in again:
        load.start_build(pool)
    assert pool.submitted == []
    assert [[obj.name for obj in unit.objects] for unit in read_units(again, builds_at_once=1)] == outputs
