"""Generate every output in memory, check it, then put it on disk in one step (or compare, for ``--check``).

Order: validate the spec; generate every file in memory; lock the output folder and
complete or roll back an interrupted build; plan (compare with what is there, decide
ownership); refuse before writing anything when a needed path belongs to someone else, was
edited by hand, is read-only or leaves the folder, or when the objects to be written fail
``kgen lint`` under the default policy; then commit the new files and removals as one journalled step
(:mod:`kgen.transaction`).

Ownership: ``.kgen-build.json`` in the output folder records, per app (``metadata.name``:
one spec per app), the spec file's name and each file kgen wrote with the SHA-256 of what it
wrote. A build replaces or removes only its own app's files (so specs may share a folder)
and finds hand edits by hash. Files without a record are recognised by their header, which
names the spec file. The record holds no path, so the spec and the folder may move.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import yaml

from kgen.errors import InputError
from kgen.generator.helm import helm_files
from kgen.generator.kustomize import kustomize_files
from kgen.generator.manifests import manifest_text, render
from kgen.generator.model import app_model, app_values
from kgen.generator.objects import build_objects
from kgen.generator.spec import AppSpec
from kgen.generator.text import dump_json, generated_from
from kgen.generator.validation import validated_spec
from kgen.transaction import JournalError, commit, locked, recover

if TYPE_CHECKING:
    from kgen.policies.policy import ClusterPolicy

TARGETS = ("kustomize", "helm", "manifests")
RECORD = ".kgen-build.json"
_HEAD_BYTES = 512
_SHOWN = 5  # problems listed in one refusal before "and N more"
@dataclass
class BuildResult:
    """What a build changed (or, with ``check``, would change)."""

    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    diff: str = ""
    edited: list[str] = field(default_factory=list)  # generated files changed by hand since the last build

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
    return _generate(spec, envs, targets)[0]


def _generate(spec: AppSpec, envs: list[str], targets: Iterable[str]) -> tuple[dict[str, str], dict[str, list[dict]]]:
    """The output files, and each environment's objects (what every output yields for it)."""
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
    return files, objects


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


def build(
    path: str,
    out_dir: str,
    envs: Iterable[str] | None = None,
    targets: Iterable[str] = TARGETS,
    check: bool = False,
    force: bool = False,
    on_wait: Callable[[], None] | None = None,
) -> BuildResult:
    """Generate and write (or, with ``check``, only compare) the outputs of the spec at ``path``.

    ``force`` overwrites this spec's files that were edited by hand (never anyone else's);
    ``on_wait`` is called when another build holds the output folder's lock.
    """
    spec = validated_spec(path)
    targets = tuple(t for t in TARGETS if t in set(targets))
    selected = select_environments(spec, envs)
    files, objects = _generate(spec, selected, targets)
    restricted = set(selected) if envs else None
    owner = _Owner(spec.name, os.path.basename(spec.file))
    if os.path.lexists(out_dir) and not os.path.isdir(out_dir):
        raise InputError("the output path exists and is not a folder", out_dir)
    linted = False
    try:
        if not os.path.isdir(out_dir):  # refuse before creating the folder
            result, record = _plan(out_dir, files, targets, restricted, {}, owner, check)
            if check:
                return result
            _refuse_unwritable(out_dir, result)
            _refuse_lint_errors(spec, objects, result.written)
            linted = True
            os.makedirs(out_dir, exist_ok=True)
        with locked(out_dir, on_wait):
            recover(out_dir)  # --check too: it compares with the output an interrupted build leaves once completed
            result, record = _plan(out_dir, files, targets, restricted, _read_record(out_dir), owner, check)
            if check:
                return result
            if result.edited and not force:
                raise InputError(
                    f"{_listed(result.edited)} changed by hand since kgen wrote them; move the change into the spec, "
                    "or run kgen build --force to overwrite (nothing written)", out_dir)
            new_record = dump_json(record)
            if result.stale or _read_text(os.path.join(out_dir, RECORD)) != new_record:
                _refuse_unwritable(out_dir, result)
                if not linted:
                    _refuse_lint_errors(spec, objects, result.written)
                commit(out_dir, {**{rel: files[rel] for rel in result.written}, RECORD: new_record}, result.removed)
    except JournalError as exc:
        raise InputError(str(exc), out_dir) from None
    except OSError as exc:
        raise InputError(f"cannot update the output: {exc.strerror or exc} ({exc.filename or out_dir})", out_dir) from None
    return result


def _refuse_lint_errors(spec: AppSpec, objects: dict[str, list[dict]], written: list[str]) -> None:
    """The last guard: what the build writes passes ``kgen lint`` with the default policy.

    Only the environments whose objects the written files carry are linted: all of them
    when a shared file (Kustomize base, chart) changes, else those of the changed files.
    """
    from kgen.loader import KubeObject, LoadResult, SourceFile
    from kgen.policies.engine import lint
    from kgen.policies.policy import ClusterPolicy

    policy = _errors_only(ClusterPolicy.default())
    spot = yaml.MappingNode("tag:yaml.org,2002:map", [], start_mark=yaml.Mark("", 0, 0, 0, None, None))
    owners = {_owner_env(rel) for rel in written}
    errors = []
    for env, env_objects in objects.items():
        if None not in owners and env not in owners:
            continue
        source = SourceFile(f"manifests/{env}.yaml", "")
        loaded = LoadResult(objects=[KubeObject(obj, spot, source, index) for index, obj in enumerate(env_objects)], files=[source])
        for finding in lint(loaded, policy).findings:
            if finding.severity == "error":
                ref = finding.object or {}
                errors.append(f"[{env}] {ref.get('kind')}/{ref.get('name')} {finding.path}: {finding.rule}: {finding.message}")
    if errors:
        raise InputError(f"the generated output would fail kgen lint (default policy), nothing written: {_listed(errors)}", spec.file)


def _errors_only(policy: ClusterPolicy) -> ClusterPolicy:
    """``policy`` without the rules that cannot report an error (the guard has no use for warnings).

    Violations only ever lower their rule's severity (tests/test_build_safety.py holds the
    catalog to that), so a rule whose severity (the policy's, else its own) is below error
    cannot make the guard refuse.
    """
    from kgen.policies.catalog import all_rules

    rules = dict(policy.section("rules"))
    for rule in all_rules().values():
        setting = policy.rule_setting(rule.id)
        if (setting.get("severity") or rule.severity) != "error":
            rules[rule.id] = {**setting, "enabled": False}
    policy.spec["rules"] = rules
    return policy


def _listed(items: list[str]) -> str:
    shown = "; ".join(items[:_SHOWN])
    return shown + (f" (and {len(items) - _SHOWN} more)" if len(items) > _SHOWN else "")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_record(out_dir: str) -> dict[str, dict]:
    """App name -> {"spec": spec file name, "files": {relative path -> SHA-256 of what kgen wrote}}."""
    text = _read_text(os.path.join(out_dir, RECORD))
    if text is None:
        return {}
    try:
        data = json.loads(text)
        specs = data["specs"]
        if not isinstance(specs, dict) or not all(isinstance(v, dict) and isinstance(v.get("files"), dict) for v in specs.values()):
            raise ValueError("unexpected shape")
        return specs
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{RECORD} is damaged ({exc}); delete it and kgen falls back to the files' headers", out_dir) from None


class _Paths:
    """Absolute paths under the output folder, refusing any that would leave it (``..``, symlinks).

    Folder real paths are resolved once each: a build checks hundreds of files in a few folders.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self._folders: dict[str, str] = {"": self.real_root}

    def inside(self, rel: str) -> str:
        folder = os.path.dirname(rel)
        real = self._folders.get(folder)
        if real is None:
            real = self._folders[folder] = os.path.realpath(os.path.join(self.real_root, folder))
        target = os.path.join(real, os.path.basename(rel))
        if os.path.islink(target):
            target = os.path.realpath(target)
        if os.path.isabs(rel) or ".." in rel.split("/") or not target.startswith(self.real_root + os.sep):
            raise InputError(f"refusing to write {rel}: it resolves outside the output directory", self.root)
        return target


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (UnicodeDecodeError, IsADirectoryError):
        return ""


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


@dataclass(frozen=True)
class _Owner:
    """The app a build writes, and the spec file that describes it."""

    app: str
    spec_name: str


class _Owners:
    """Who a file in the output folder belongs to: the record first, then the file's header."""

    def __init__(self, record: dict[str, dict], owner: _Owner) -> None:
        self.mine: dict[str, str] = (record.get(owner.app) or {}).get("files", {})
        self.others = {
            rel: f"app {app!r} ({entry.get('spec')}{'; renamed app? remove the old output first' if entry.get('spec') == owner.spec_name else ''})"
            for app, entry in record.items() if app != owner.app for rel in entry["files"]
        }
        self.spec_name = owner.spec_name

    def foreign(self, rel: str, text: str) -> str | None:
        """Why ``rel`` (holding ``text``) is not this spec's to replace or remove, or None."""
        if rel in self.mine:
            return None
        if rel in self.others:
            return f"generated from another spec: {self.others[rel]}"
        name = generated_from(text[:_HEAD_BYTES])
        if name is None:
            return "not generated by kgen: no kgen header, written by hand?"
        if name != self.spec_name:
            return f"generated from another spec: {name}"
        return None

    def edited(self, rel: str, text: str) -> bool:
        """Changed since kgen wrote it (only known for files in the record)."""
        return rel in self.mine and self.mine[rel] != _digest(text)


def _plan(
    out_dir: str, files: dict[str, str], targets: tuple[str, ...], envs: set[str] | None,
    record: dict[str, dict], owner: _Owner, check: bool,
) -> tuple[BuildResult, dict]:
    """What to write and remove, refusing paths that are not this spec's; and the new record."""
    result = BuildResult()
    owners = _Owners(record, owner)
    paths = _Paths(out_dir)
    diff: list[str] = []
    refused: list[str] = []
    for rel in sorted(files):
        path = paths.inside(rel)
        current = _read_text(path)
        if os.path.islink(os.path.join(out_dir, rel)) or (os.path.lexists(path) and not os.path.isfile(path)):
            refused.append(f"{rel} (not a regular file)")
            continue
        if current is not None:
            reason = owners.foreign(rel, current)
            if reason:
                refused.append(f"{rel} ({reason})")
                continue
        if current == files[rel]:
            result.unchanged += 1
            continue
        result.written.append(rel)
        if current is not None and owners.edited(rel, current):
            result.edited.append(rel)
        if check:
            diff.extend(difflib.unified_diff((current or "").splitlines(True), files[rel].splitlines(True),
                                             "/dev/null" if current is None else f"a/{rel}", f"b/{rel}"))
    if refused:
        raise InputError(f"refusing to overwrite {_listed(refused)}; nothing written", out_dir)
    for rel in _existing(out_dir, targets):
        if rel in files or rel == RECORD:
            continue
        if envs is not None and _owner_env(rel) not in (None, *envs):
            continue  # another environment's file: a --env build leaves it alone
        old = _read_text(os.path.join(out_dir, rel))
        if old is None or os.path.islink(os.path.join(out_dir, rel)) or owners.foreign(rel, old):
            continue
        if rel not in owners.mine and generated_from(old[:_HEAD_BYTES]) is None:
            continue
        result.removed.append(rel)
        if owners.edited(rel, old):
            result.edited.append(rel)
        if check:
            diff.extend(difflib.unified_diff(old.splitlines(True), [], f"a/{rel}", "/dev/null"))
    result.diff = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in diff)
    # files this build neither wrote nor removed (other environments or targets) keep their entries
    kept = {rel: digest for rel, digest in owners.mine.items()
            if rel not in files and rel not in result.removed and os.path.lexists(os.path.join(out_dir, rel))}
    new_mine = {**kept, **{rel: _digest(text) for rel, text in files.items()}}
    new_record = {"specs": {**{app: entry for app, entry in record.items() if app != owner.app},
                            owner.app: {"spec": owner.spec_name, "files": new_mine}}}
    return result, new_record


def _refuse_unwritable(out_dir: str, result: BuildResult) -> None:
    """Every folder kgen must change, and every file it replaces or removes, is writable.

    Read-only means no write permission for us *or* no owner write bit, so that a file or
    folder someone marked read-only is respected even by root.
    """
    problems = []
    for folder in sorted({os.path.dirname(rel) for rel in [*result.written, *result.removed]} | {""}):
        existing = folder
        while existing and not os.path.isdir(os.path.join(out_dir, existing)):
            if os.path.lexists(os.path.join(out_dir, existing)):
                problems.append(f"{existing} (not a folder, but kgen writes files inside it)")
            existing = os.path.dirname(existing)
        path = os.path.join(out_dir, existing) if existing else out_dir
        while not os.path.isdir(path):
            path = os.path.dirname(os.path.abspath(path))
        if _read_only(path):
            problems.append(f"{existing or path}/ (read-only folder)")
    for rel in [*result.written, *result.removed]:
        path = os.path.join(out_dir, rel)
        if os.path.exists(path) and _read_only(path):
            problems.append(f"{rel} (read-only file)")
    if problems:
        raise InputError(f"cannot write {_listed(sorted(set(problems)))}: make it writable or remove it; nothing written", out_dir)


def _read_only(path: str) -> bool:
    return not os.access(path, os.W_OK) or not os.stat(path).st_mode & stat.S_IWUSR


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
