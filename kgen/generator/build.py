"""Generate every output in memory, then put it on disk safely (or compare, for ``--check``).

Safety rules: nothing is written until the whole build succeeded in memory;
files are staged in a temporary directory inside the output directory and then
renamed into place, so a failure leaves the previous output intact; only files
carrying kgen's header are ever replaced or removed; no path may leave the
output directory (symlinks included).
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from kgen.errors import InputError
from kgen.generator.helm import helm_files
from kgen.generator.kustomize import kustomize_files
from kgen.generator.manifests import manifest_text, render
from kgen.generator.model import app_model, app_values
from kgen.generator.objects import build_objects
from kgen.generator.spec import AppSpec, validated_spec
from kgen.generator.text import is_generated

TARGETS = ("kustomize", "helm", "manifests")
_HEAD_BYTES = 512


@dataclass
class BuildResult:
    """What a build changed (or, with ``check``, would change)."""

    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    diff: str = ""

    @property
    def stale(self) -> bool:
        return bool(self.written or self.removed)


def select_environments(spec: AppSpec, envs: Iterable[str] | None) -> list[str]:
    known = spec.environment_names()
    chosen = list(dict.fromkeys(envs or ()))
    for env in chosen:
        if env not in known:
            raise InputError(f"no environment {env!r} (known: {', '.join(known)})", spec.file)
    return chosen or known


def generate(spec: AppSpec, envs: list[str], targets: Iterable[str]) -> dict[str, str]:
    """Every output file (relative path -> text) of a validated spec."""
    spec_name = os.path.basename(spec.file)
    values = {env: app_values(spec, env) for env in envs}
    models = {env: app_model(spec, env, values=values[env]) for env in envs}
    objects = {env: build_objects(model) for env, model in models.items()}
    files: dict[str, str] = {}
    targets = set(targets)
    if "manifests" in targets:
        for env in envs:
            files[f"manifests/{env}.yaml"] = manifest_text(objects[env], spec_name)
    if targets & {"kustomize", "helm"}:
        base_values = app_values(spec, None)
        base = app_model(spec, None, values=base_values)
        if "kustomize" in targets:
            per_env = {env: (models[env].get("namespace"), objects[env]) for env in envs}
            files.update(kustomize_files(build_objects(base), per_env, spec_name))
        if "helm" in targets:
            per_env_values = {env: (models[env].get("namespace"), values[env]) for env in envs}
            files.update(helm_files(spec, base_values, per_env_values, spec_name))
    return files


def render_environment(path: str, env: str | None) -> str:
    """``kgen render``: one environment's manifests (the only one when ``env`` is None)."""
    spec = validated_spec(path)
    if env is None:
        known = spec.environment_names()
        if len(known) != 1:
            raise InputError(f"the spec has several environments; choose one with --env ({', '.join(known)})", spec.file)
        env = known[0]
    select_environments(spec, [env])
    return render(spec, env, os.path.basename(spec.file))


def render_environments(path: str) -> Iterator[tuple[str, str]]:
    """(environment, manifests) for every environment: how ``kgen lint`` reads a spec."""
    spec = validated_spec(path)
    for env in spec.environment_names():
        yield env, render(spec, env, os.path.basename(spec.file))


def build(path: str, out_dir: str, envs: Iterable[str] | None = None, targets: Iterable[str] = TARGETS, check: bool = False) -> BuildResult:
    """Generate and write (or, with ``check``, only compare) the outputs of the spec at ``path``."""
    spec = validated_spec(path)
    targets = tuple(t for t in TARGETS if t in set(targets))
    selected = select_environments(spec, envs)
    files = generate(spec, selected, targets)
    restricted = set(selected) if envs else None
    result = _plan(out_dir, files, targets, restricted)
    if not check and result.stale:
        _apply(out_dir, files, result)
    return result


def _inside(root: str, rel: str) -> str:
    """The absolute path of ``rel`` under ``root``, refusing anything that would leave it."""
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, rel))
    if os.path.isabs(rel) or ".." in rel.split("/") or not target.startswith(real_root + os.sep):
        raise InputError(f"refusing to write {rel}: it resolves outside the output directory", root)
    return target


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (UnicodeDecodeError, IsADirectoryError):
        return ""


def _generated(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return is_generated(handle.read(_HEAD_BYTES).decode("utf-8", "replace"))
    except OSError:
        return False


def _owner_env(rel: str) -> str | None:
    """The environment a generated path belongs to, or None for shared files."""
    parts = rel.split("/")
    if parts[:2] == ["kustomize", "overlays"] and len(parts) > 2:
        return parts[2]
    if parts[0] == "manifests" and len(parts) == 2 and parts[1].endswith(".yaml"):
        return parts[1][: -len(".yaml")]
    if parts[0] == "helm" and len(parts) == 3 and parts[2].startswith("values-") and parts[2].endswith(".yaml"):
        return parts[2][len("values-"): -len(".yaml")]
    return None


def _existing(out_dir: str, targets: tuple[str, ...]) -> Iterator[str]:
    """Relative paths of the files under the target directories (symlinks not followed)."""
    for target in targets:
        top = os.path.join(out_dir, target)
        if not os.path.isdir(top) or os.path.islink(top):
            continue
        for root, dirs, names in os.walk(top):
            dirs.sort()
            for name in sorted(names):
                yield os.path.relpath(os.path.join(root, name), out_dir).replace(os.sep, "/")


def _plan(out_dir: str, files: dict[str, str], targets: tuple[str, ...], envs: set[str] | None) -> BuildResult:
    result = BuildResult()
    diff: list[str] = []
    for rel in sorted(files):
        path = _inside(out_dir, rel)
        if os.path.lexists(path) and (os.path.islink(path) or not os.path.isfile(path)):
            raise InputError(f"refusing to replace {rel}: it is not a regular file", out_dir)
        current = _read_text(path)
        if current is not None and not _generated(path):
            raise InputError(f"refusing to overwrite {rel}: it was not generated by kgen (no kgen header)", out_dir)
        if current == files[rel]:
            result.unchanged += 1
            continue
        result.written.append(rel)
        diff.extend(difflib.unified_diff((current or "").splitlines(True), files[rel].splitlines(True),
                                         "/dev/null" if current is None else f"a/{rel}", f"b/{rel}"))
    for rel in _existing(out_dir, targets):
        if rel in files or not _generated(os.path.join(out_dir, rel)):
            continue
        owner = _owner_env(rel)
        if envs is not None and owner is not None and owner not in envs:
            continue  # another environment's file: a --env build leaves it alone
        result.removed.append(rel)
        old = _read_text(os.path.join(out_dir, rel)) or ""
        diff.extend(difflib.unified_diff(old.splitlines(True), [], f"a/{rel}", "/dev/null"))
    result.diff = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in diff)
    return result


def _apply(out_dir: str, files: dict[str, str], result: BuildResult) -> None:
    """Stage every changed file, then rename them into place and remove stale generated files."""
    os.makedirs(out_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".kgen-build-", dir=out_dir)
    try:
        for rel in result.written:
            staged = os.path.join(staging, rel)
            os.makedirs(os.path.dirname(staged), exist_ok=True)
            with open(staged, "w", encoding="utf-8", newline="") as handle:
                handle.write(files[rel])
        for rel in result.written:
            final = _inside(out_dir, rel)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.replace(os.path.join(staging, rel), final)
        for rel in result.removed:
            os.unlink(_inside(out_dir, rel))
            _prune_empty(out_dir, os.path.dirname(rel))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _prune_empty(out_dir: str, rel_dir: str) -> None:
    """Remove directories a removal left empty, up to (not including) the output directory."""
    while rel_dir:
        path = os.path.join(out_dir, rel_dir)
        try:
            os.rmdir(path)
        except OSError:
            return
        rel_dir = os.path.dirname(rel_dir)


def example_names() -> list[str]:
    """The specs ``kgen init --example NAME`` writes (package data, also tested like the fixtures)."""
    from importlib import resources

    return sorted(e.name[: -len(".yaml")] for e in resources.files("kgen.generator").joinpath("examples").iterdir() if e.name.endswith(".yaml"))


def write_starter(path: str, example: str | None = None) -> None:
    """``kgen init``: the commented starter spec (or a named example), never over an existing file."""
    from importlib import resources

    from kgen.fsutil import write_atomic

    if example is not None and example not in example_names():
        raise InputError(f"no example {example!r} (known: {', '.join(example_names())})")
    if os.path.lexists(path):
        raise InputError("already exists; kgen init never overwrites a file", path)
    source = "starter.yaml" if example is None else f"examples/{example}.yaml"
    write_atomic(path, resources.files("kgen.generator").joinpath(source).read_text(encoding="utf-8"))
