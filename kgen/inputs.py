"""Turn what the user named on the command line into loaded objects.

Plain files and directories are parsed as they are. A directory holding a
Helm chart is rendered with Helm, one holding a kustomization with Kustomize,
and a kgen app spec is rendered for every environment; the objects these yield
carry an ``origin`` so findings point at the file the user wrote, not at
rendered text nobody sees.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Callable, Container, Iterator

from kgen.errors import InputError
from kgen.fsutil import KUSTOMIZATION_FILES, kustomization_file, real_path, walk
from kgen.loader import (
    YAML_SUFFIXES,
    JsonPath,
    KubeObject,
    LoadProblem,
    LoadResult,
    SourceFile,
    SourcePoint,
    format_path,
    load_mapping,
    parse_source,
    read_source,
    walk_problem,
)
from kgen.merge import deep_merge

if TYPE_CHECKING:
    import subprocess
    from concurrent.futures import Future, ThreadPoolExecutor

    from kgen.helmchart import ChartOptions
    from kgen.kustomize import KustomizeBuild, KustomizeRoot, Readings

SPEC_API_VERSION = "kgen.dev/v1alpha1"
# What `kgen build -o DIR` writes below DIR, in the order a walk prefers them: each holds every
# environment, so a walk of DIR lints only the first one present.
BUILD_TARGETS = ("manifests", "kustomize", "helm")


@dataclass
class InputOptions:
    """How charts are rendered: values files, --set pairs, or one render per values file."""

    values: list[str] = field(default_factory=list)
    set_values: list[str] = field(default_factory=list)
    values_matrix: list[str] = field(default_factory=list)
    release_name: str | None = None  # Helm's default: the chart's name
    namespace: str | None = None  # Helm's default: "default"
    kube_version: str | None = None  # feeds .Capabilities.KubeVersion
    skip_schema_validation: bool = False
    # False for `kgen fix`: a walk reads kustomization folders as the plain files it can edit,
    # and leaves charts alone.
    render_roots: bool = True
    # Paths to leave out (--exclude, the policy's spec.lint.exclude), named or met in a walk.
    exclude: Callable[[str], bool] = lambda path: False
    # `kgen lint` (not --fix): a named file a kustomization reads as a resource (pre-commit's
    # changed files) is checked as the topmost Kustomize roots that include it build it.
    resources_as_built: bool = False


def is_chart_archive(path: str) -> bool:
    """A packaged chart (.tgz); the Helm module loads only when one is named."""
    if not path.endswith((".tgz", ".tar.gz")):
        return False
    from kgen.helmchart import is_chart_archive as is_archive

    return is_archive(path)


def is_chart(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "Chart.yaml"))


def load_inputs(paths: list[str], options: InputOptions | None = None, notes: Callable[[str], None] | None = None) -> LoadResult:
    """Load every path; ``notes`` receives one-line remarks (e.g. skipped charts).

    A directory or chart that yields nothing to judge is an InputError (exit 2), never a
    silent pass; a file named on its own may hold no object (pre-commit hands over any YAML).
    """
    result = LoadResult()
    for unit in stream_inputs(paths, options, notes):
        _merge(result, unit)
    return result


def stream_inputs(paths: list[str], options: InputOptions | None = None, notes: Callable[[str], None] | None = None) -> InputStream:
    """What :func:`load_inputs` loads, one unit at a time (a file, a chart rendering, a Kustomize
    root, an app spec, or a walk's problems), in the same order: a caller that checks each unit
    before reading the next holds one unit's node trees at a time, not the whole input's."""
    return InputStream(paths, options, notes)


class InputStream:
    """The units of the input, read as they are iterated; once iterated, :meth:`again` reads units
    again by place without walking the input again (a file from disk, a Kustomize root built
    again, a chart rendered again, standard input as first read)."""

    def __init__(self, paths: list[str], options: InputOptions | None = None, notes: Callable[[str], None] | None = None) -> None:
        # The first readings of Kustomize roots (each root as the walk read it), until read.
        self._first_readings: list[list] = []
        # Real paths of files whose findings are not reported: the other files of the Kustomize
        # roots that build named resources (see _NamedResources).
        self.unreported: set[str] = set()
        self._units = _unit_loaders(paths, options or InputOptions(), notes, self._first_readings, self.unreported)
        self._loaders: list[UnitLoader] = []
        # After plan(): the paths that must yield something, each with the places of its units.
        self._required: list[tuple[range, _Required]] = []
        self._contents: list[bool] = []

    def __iter__(self) -> Iterator[LoadResult]:
        for item in self._units:
            if isinstance(item, _Required):
                item.verify()
                continue
            self._loaders.append(item)
            yield item()

    def plan(self) -> list[UnitLoader]:
        """Walk the whole input without reading any unit: the loaders of its units, in order, for a
        caller that reads them elsewhere (worker processes: kgen.parallel) and says with
        :meth:`took` what each held, in order, so that a path with nothing to lint still fails."""
        for item in self._units:
            if isinstance(item, _Required):
                self._required.append((range(len(self._loaders) - item.count, len(self._loaders)), item))
            else:
                self._loaders.append(item)
        self._verify_required()
        return list(self._loaders)

    def forget_first_readings(self) -> None:
        """Let the walk's readings of Kustomize roots go (once processes that read them are forked):
        a unit read again here reads and builds its root again."""
        for first in self._first_readings:
            first.clear()

    def took(self, held: bool) -> None:
        """Whether the next unit of :meth:`plan`, as read, held an object or a problem; raises
        (InputError) as soon as a path is known to hold nothing to lint."""
        self._contents.append(held)
        self._verify_required()

    def _verify_required(self) -> None:
        while self._required and self._required[0][0].stop <= len(self._contents):
            places, required = self._required.pop(0)
            required.found = any(self._contents[place] for place in places)
            required.verify()

    def again(self, only: Container[int] | None = None) -> Iterator[LoadResult]:
        """The units at the places ``only`` (all: None) read again; the others come empty, so places
        stay aligned. Nothing is said or required again."""
        for index, load in enumerate(self._loaders):
            yield load() if only is None or index in only else LoadResult()


UnitLoader = Callable[[], LoadResult]


@dataclass
class _Required:
    """The end of the units of a path that must hold something to lint (a directory, a chart)."""

    path: str
    options: InputOptions
    count: int = 0  # of the units just before
    found: bool = False  # whether one of them held an object or a problem

    def verify(self) -> None:
        if not self.found:
            _nothing_to_lint(self.path, self.options)


def _unit_loaders(
    paths: list[str], options: InputOptions, notes: Callable[[str], None] | None, first_readings: list[list], unreported: set[str]
) -> Iterator[UnitLoader | _Required]:
    say = notes or (lambda message: None)
    noted_charts: set[str] = set()
    noted_folders: set[str] = set()
    search = _KustomizeSearch()
    built = _named_resources(paths, options, search, say, first_readings, unreported) if options.resources_as_built else {}
    for path in paths:
        if options.exclude(path):
            continue
        if path in built:
            yield from built.pop(path)
            continue
        if path != "-" and os.path.isdir(path):
            if is_chart(path):
                units = _chart_units(path, options)
            elif kustomization_file(path):
                from kgen.kustomize import read_root  # Kustomize's code loads for Kustomize folders only

                units = iter([_KustomizeUnit(path, read_root(path), first_readings)])
            else:
                units = _tree_units(path, options, say, first_readings)
            yield from _required(path, units, options)
        elif path != "-" and is_chart_archive(path):
            yield from _required(path, _chart_units(path, options), options)
        elif path != "-" and (chart := enclosing_chart(path)) is not None:
            if chart not in noted_charts:  # pre-commit passes every file of a chart: one note per chart
                noted_charts.add(chart)
                say(f"{path}: part of the Helm chart {chart}, skipped; lint the chart: kgen lint {chart}")
        elif path != "-" and (folder := kustomization_reading(path, search)) is not None:
            if folder not in noted_folders:  # pre-commit passes an overlay's kustomization and patches
                noted_folders.add(folder)
                say(f"{path}: a kustomization or patch of the Kustomize folder {folder}, skipped; lint the folder: kgen lint {folder}")
        else:
            yield _file_unit(path, named=True)


def _named_resources(
    paths: list[str], options: InputOptions, search: "_KustomizeSearch", say: Callable[[str], None], first_readings: list[list], unreported: set[str]
) -> dict[str, list[UnitLoader]]:
    """For each named file that a kustomization reads as a resource, the units that check it as
    the topmost roots including that kustomization build it (each root's unit at the first named
    file it builds, nothing at the others), and the other files of those roots in ``unreported``."""
    by_root: dict[str, list[str]] = {}
    for path in paths:
        if path == "-" or options.exclude(path) or not path.endswith(YAML_SUFFIXES) or not os.path.isfile(path):
            continue
        tops = search.roots_building(path)
        for top in tops:
            by_root.setdefault(top, []).append(path)
        if tops:
            shown = ", ".join(_as_named(top, path) for top in tops[:3]) + (f" and {len(tops) - 3} more" if len(tops) > 3 else "")
            say(f"{path}: a resource of the Kustomize root{'s' if len(tops) > 1 else ''} {shown}: checked as built; their other files are not reported (lint a root for them)")
    units: dict[str, list[UnitLoader]] = {}
    named = {os.path.realpath(path) for path in paths if path != "-"}
    for top, files in by_root.items():
        root = search.root(top)
        assert root is not None
        read = search.resources(top) | root.non_object_files
        read |= {os.path.realpath(file) for folder in root.includes if (file := kustomization_file(folder))}
        unreported |= read - named
        # Read again as the user named the file (absolute or relative), as findings name its files.
        units.setdefault(files[0], []).append(_NamedResources(_KustomizeUnit(_as_named(top, files[0]), None, first_readings), files, say))
        for path in files[1:]:
            units.setdefault(path, [])
    return units


class _KustomizeSearch:
    """Kustomize folders as a search for the roots of a file meets them: each folder's
    kustomization and root read once (None: none, or unreadable), each repository searched once."""

    # Folders a repository's search walks at most (a monorepo's): beyond, no includer is looked for.
    MAX_FOLDERS = 20_000

    def __init__(self) -> None:
        self._kustomizations: dict[str, str | None] = {}  # by absolute folder
        self._roots: dict[str, KustomizeRoot | None] = {}
        self._resources: dict[str, set[str]] = {}
        self._searched: dict[str, list[str]] = {}
        self._readings: Readings = {}  # each folder's kustomization read once

    def kustomization(self, directory: str) -> str | None:
        if directory not in self._kustomizations:
            self._kustomizations[directory] = kustomization_file(directory)
        return self._kustomizations[directory]

    def root(self, directory: str) -> KustomizeRoot | None:
        """The root of ``directory`` if it has a readable kustomization."""
        if directory not in self._roots:
            self._roots[directory] = None
            if self.kustomization(directory) is not None:
                from kgen.kustomize import read_root  # Kustomize's code loads for Kustomize folders only

                try:
                    self._roots[directory] = read_root(directory, readings=self._readings)
                except InputError:  # an unreadable kustomization: its files are judged on their own
                    pass
        return self._roots[directory]

    def resources(self, directory: str) -> set[str]:
        """The real paths of the files the root of ``directory`` reads as resources."""
        if directory not in self._resources:
            root = self.root(directory)
            self._resources[directory] = {os.path.realpath(resource) for resource in root.resources} if root is not None else set()
        return self._resources[directory]

    def roots_building(self, path: str) -> list[str]:
        """The topmost roots of the file's repository that include the kustomization reading
        ``path`` as a resource (that kustomization's folder if none does); none if none reads it."""
        real = os.path.realpath(path)
        directory = os.path.dirname(os.path.abspath(path))
        while real not in self.resources(directory):
            parent = os.path.dirname(directory)
            if parent == directory:
                return []
            directory = parent
        reader = os.path.realpath(directory)
        including = [folder for folder in self.folders(_repository_top(directory)) if (root := self.root(folder)) is not None and not root.component and reader in root.includes]
        including = including or [directory]
        return sorted(folder for folder in including if not any(os.path.realpath(folder) in self._roots[other].includes for other in including if other != folder))  # type: ignore[union-attr]

    def folders(self, top: str) -> list[str]:
        """Every folder below ``top`` (hidden ones left out) that has a kustomization."""
        if top not in self._searched:
            found: list[str] = []
            for searched, (current, dirs, names) in enumerate(os.walk(top)):
                if searched >= self.MAX_FOLDERS:
                    found = []
                    break
                dirs[:] = sorted(name for name in dirs if not name.startswith("."))
                if not {name.lower() for name in names}.isdisjoint(_KUSTOMIZATION_NAMES) and self.kustomization(current):
                    found.append(current)
            self._searched[top] = found
        return self._searched[top]


def _repository_top(directory: str) -> str:
    """Where the roots that include a folder are looked for: the top of the git repository holding
    ``directory``, else the working directory if it holds it (pre-commit runs at the top), else
    ``directory`` itself."""
    current = directory
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    here = os.getcwd()
    return here if os.path.commonpath([here, directory]) == here else directory


class _NamedResources:
    """Named files that a Kustomize root builds as resources, checked as it builds them (the
    root's unit): an overlay may add what a resource lacks on its own (the selector `labels:
    includeSelectors` writes in kubebuilder's config/default), and the root's other objects
    inform the checks that look across objects. Where the root does not build (no Kustomize, a
    failed build), the files are checked as written."""

    def __init__(self, root: "_KustomizeUnit", named: list[str], say: Callable[[str], None]) -> None:
        self.root = root
        self.place = root.place
        self.named = named
        self.say = say

    def start_build(self, pool: ThreadPoolExecutor) -> None:
        self.root.start_build(pool)

    def __call__(self) -> LoadResult:
        try:
            unit = self.root()
        except InputError as exc:  # no Kustomize
            unit = LoadResult(problems=[LoadProblem(self.place, 1, 1, exc.message, "render-failed")])
        if unit.objects:
            return unit
        why = next((problem.message for problem in unit.problems if problem.rule == "render-failed"), "no objects")
        why = why[why.find("error:") :] if "error:" in why else why  # past Kustomize's deprecation warnings
        files = ", ".join(self.named) if len(self.named) <= 3 else f"{', '.join(self.named[:3])} and {len(self.named) - 3} more"
        self.say(f"{self.place} does not build ({why[:200]}{'...' if len(why) > 200 else ''}): {files} checked as written")
        alone = LoadResult()
        for path in self.named:
            _merge(alone, _file_unit(path, named=True)())
        return alone


def _file_unit(path: str, named: bool) -> UnitLoader:
    """A plain file (or app spec) as a unit. ``named`` on the command line: a missing path or a
    device is an error (exit 2); met in a walk, an unreadable file is a finding and the walk goes
    on. Standard input is read as the walk meets it (in this process: a worker process has no
    standard input) and kept for a second reading."""
    stdin = read_source("-") if path == "-" else None

    def load() -> LoadResult:
        unit = LoadResult()
        try:
            source = SourceFile(stdin.name, stdin.text) if stdin is not None else read_source(path)
        except InputError as exc:
            if named and not os.path.isfile(path):
                raise  # a missing path, stdin, a device or FIFO named on the command line: exit 2
            # A binary, undecodable or unreadable file is a finding at that file; the rest is linted.
            unit.problems.append(LoadProblem(exc.file or path, exc.line or 1, 1, exc.message))
            return unit
        _load_source(path, source, unit)
        return unit

    load.place = path  # type: ignore[attr-defined]
    return load


def _required(path: str, units: Iterator[UnitLoader], options: InputOptions) -> Iterator[UnitLoader | _Required]:
    """``units`` (loaded in turn by the caller), then their :class:`_Required` end: an InputError
    if none of them held an object or a problem."""
    required = _Required(path, options)
    for load in units:
        required.count += 1
        yield _Counted(load, required)
    yield required


class _Counted:
    """A unit loader that tells its path's :class:`_Required` whether the unit held something."""

    def __init__(self, load: UnitLoader, required: _Required) -> None:
        self.load = load
        self.required = required

    def __call__(self) -> LoadResult:
        unit = self.load()
        self.required.found = self.required.found or bool(unit.objects or unit.problems)
        return unit

    @property
    def place(self) -> str:
        return unit_place(self.load)

    @property
    def start_build(self) -> Callable[[ThreadPoolExecutor], None] | None:
        """The unit's own (a Kustomize root's), so that read_units counts only units with a build."""
        return getattr(self.load, "start_build", None)


class _KustomizeUnit:
    """A Kustomize root as a unit: the root as the walk read it, the first time (kept in
    ``first_readings`` too, so that the stream can let it go), read again after; built when the
    unit is read, or earlier when :func:`read_units` starts the build (nothing is kept in between).
    ``root`` None: read when the unit is (the search that found it read it under another name)."""

    def __init__(self, directory: str, root: KustomizeRoot | None, first_readings: list[list]) -> None:
        self.directory = self.place = directory
        self.first: list[KustomizeRoot] = [root] if root is not None else []
        first_readings.append(self.first)
        self.build: Future[subprocess.CompletedProcess[str]] | KustomizeBuild | None = None

    def start_build(self, pool: ThreadPoolExecutor) -> None:
        """Run the build in ``pool`` unless Kustomize's output is in kgen's cache: reading it
        needs no thread (threads only contend for the interpreter with the checks)."""
        if self.build is not None:
            return
        from kgen.kustomize import KustomizeBuild

        try:
            build = KustomizeBuild(self.directory)
        except InputError:
            return  # no Kustomize: said when the unit is read, in its turn
        self.build = build if build.cached else pool.submit(build.result)

    def __call__(self) -> LoadResult:
        from kgen.kustomize import load_kustomization, read_root

        unit = LoadResult()
        root = self.first.pop() if self.first else read_root(self.directory)
        build, self.build = self.build, None
        load_kustomization(self.directory, root, unit, build)
        return unit


def unit_place(load: UnitLoader) -> str:
    """The path a unit comes from (a file, a chart, a Kustomize root; empty when none), as walked."""
    return getattr(load, "place", "")


def start_build(load: UnitLoader, pool: ThreadPoolExecutor) -> None:
    """Start the external build the reading of a unit waits for (a Kustomize root's), if it has one."""
    start = getattr(load, "start_build", None)
    if start is not None:
        start(pool)


def read_units(loaders: list[UnitLoader], builds_at_once: int) -> Iterator[LoadResult]:
    """The units of ``loaders`` read in turn, their Kustomize builds started first, up to
    ``builds_at_once`` processes side by side: each builds while the units before it are checked."""
    builds = sum(1 for load in loaders if getattr(load, "start_build", None) is not None)
    with _side_by_side(min(builds, builds_at_once)) as pool:
        if pool is not None:
            for load in loaders:
                start_build(load, pool)
        for load in loaders:
            yield load()


def _nothing_to_lint(path: str, options: InputOptions) -> None:
    if not options.render_roots:
        why = "no YAML file kgen fix can edit (Helm charts, kustomizations and their patches are rendered, not written; kgen lint shows their findings)"
        raise InputError(f"nothing to fix: {why}", path)
    if is_chart(path) and _is_library_chart(path):
        why = "a library chart (type: library) renders nothing on its own; lint the charts that depend on it"
    elif is_chart(path) or is_chart_archive(path):
        why = "the chart rendered no Kubernetes object with these values (every template is empty or disabled)"
    elif kustomization_file(path):
        why = "kustomize build yields no Kubernetes object"
    else:
        why = "no Kubernetes object found: no *.yaml/*.yml file holding one, no Helm chart (Chart.yaml), no kustomization"
    raise InputError(f"nothing to lint: {why}", path)


def _is_library_chart(path: str) -> bool:
    try:
        return load_mapping(read_source(os.path.join(path, "Chart.yaml"))).get("type") == "library"
    except InputError:
        return False


def enclosing_chart(path: str) -> str | None:
    """The chart directory a file belongs to (its templates are not YAML until rendered)."""
    directory = os.path.dirname(os.path.abspath(path))
    while True:
        if is_chart(directory):
            return _as_named(directory, path)
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _as_named(directory: str, path: str) -> str:
    """An absolute ``directory`` written as the user wrote ``path``: absolute, or relative to here."""
    return directory if os.path.isabs(path) else os.path.relpath(directory)


def _read_not_as_object(root: KustomizeRoot, real: str) -> bool:
    """Whether ``root`` reads the file at ``real`` as no object: a patch or a config, or a patch its
    kustomization names in a comment (switched off) and does not read as a resource."""
    return real in root.non_object_files or real in root.disabled_files and real not in {os.path.realpath(path) for path in root.resources}


def kustomization_reading(path: str, search: _KustomizeSearch) -> str | None:
    """The Kustomize folder (this file's or an ancestor) whose kustomization this file is, or which
    reads it as a patch: a patch is part of an object, neither valid nor fixable on its own. A
    resource file stays a whole object."""
    real = os.path.realpath(path)
    directory = os.path.dirname(os.path.abspath(path))
    while True:
        kustomization = search.kustomization(directory)
        if kustomization is not None:
            root = search.root(directory)
            if real == os.path.realpath(kustomization) or (root is not None and _read_not_as_object(root, real)):
                return _as_named(directory, path)
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


_KUSTOMIZATION_NAMES = frozenset(name.lower() for name in KUSTOMIZATION_FILES)


def _tree_units(top: str, options: InputOptions, say: Callable[[str], None], first_readings: list[list]) -> Iterator[UnitLoader]:
    """A walk: each chart folder is one chart, each kustomization folder one Kustomize root.

    Roots another root includes, the files a kustomization reads (its resources and
    patches) and the renditions `kgen build` wrote twice are not linted again. Without
    rendering (kgen fix) resources are plain files, and patches are still left alone.
    """
    charts: list[str] = []
    roots: dict[str, KustomizeRoot] = {}
    files: list[str] = []
    walked = LoadResult()
    # The walk does not enter linked folders: a folder's real path is the top's and the names below it.
    real_top = os.path.realpath(top)
    real_folders: dict[str, str] = {}
    links: dict[str, frozenset[str]] = {}  # each folder's entries that are links
    readings: Readings = {}  # of kustomizations: a base is read once
    for current, dirs, names, linked in walk(top, onerror=lambda error: walked.problems.append(walk_problem(error))):
        links[current] = linked
        below = current[len(top) :].lstrip(os.sep)
        real_folders[current] = os.path.join(real_top, below) if below else real_top
        dirs.sort()
        # The listing says which folders may be charts or kustomizations (names compared without
        # case, as a case-insensitive file system would): no system call for the others.
        listed = {name.lower() for name in names}
        if "chart.yaml" in listed and is_chart(current):
            if options.render_roots:
                charts.append(current)
            else:
                say(f"{current}: Helm chart skipped; its templates are not YAML until rendered")
            dirs[:] = []
            continue
        if not listed.isdisjoint(_KUSTOMIZATION_NAMES) and kustomization_file(current):
            from kgen.kustomize import read_root

            roots[current] = read_root(current, readings=readings)
        duplicates = _build_duplicates(current, dirs)
        for name in duplicates:
            say(f"{os.path.join(current, name)}: the same environments as {os.path.join(current, _kept_target(dirs))} (kgen build output), not linted twice")
        dirs[:] = [name for name in dirs if not name.startswith(".") and name not in duplicates and not options.exclude(os.path.join(current, name))]
        files += [
            os.path.join(current, name)
            for name in sorted(names)
            if (name.endswith(YAML_SUFFIXES) or name.endswith(".tgz")) and not options.exclude(os.path.join(current, name))
        ]
    kustomize_folders = {real_folders[directory] for directory in roots}
    read_by_roots = {real_path(path, real_folders, links) for root in roots.values() for path in root.non_object_files}
    resources = {real_path(path, real_folders, links) for root in roots.values() for path in root.resources}
    disabled = {real_path(path, real_folders, links) for root in roots.values() for path in root.disabled_files} - read_by_roots - resources
    if options.render_roots:
        read_by_roots |= resources
    else:
        roots = {}
    included = {real for directory, root in roots.items() for real in root.includes if real != real_folders[directory]}
    to_build = [directory for directory, root in roots.items() if not root.component and real_folders[directory] not in included]
    if walked.problems:
        yield lambda: walked
    for chart in charts:
        yield from _chart_units(chart, options, values_files=_environment_values(chart))
    for directory, root in roots.items():
        if root.component and real_folders[directory] not in included:
            say(f"{directory}: a Kustomize Component no root in the walk uses, not built on its own")
        elif directory in to_build:
            yield _KustomizeUnit(directory, root, first_readings)
    roots.clear()  # what the roots read (patches) is not kept while the files are read
    for path in files:
        real = real_path(path, real_folders, links)
        is_kustomization = os.path.basename(path) in KUSTOMIZATION_FILES and kustomization_file(os.path.dirname(path)) == path
        if real in read_by_roots or os.path.dirname(real) in included or is_kustomization:
            continue
        if real in disabled:
            say(f"{path}: a patch a kustomization names in a comment (switched off, as kubebuilder scaffolds them), not linted on its own")
            continue
        if real not in resources and _patch_by_its_name(real, kustomize_folders):
            say(f"{path}: named as a patch, in a Kustomize folder that does not read it (as kubebuilder scaffolds them), not linted on its own")
            continue
        if path.endswith(".tgz"):
            if is_chart_archive(path):
                yield from _chart_units(path, options)
            continue
        yield _file_unit(path, named=False)


_PATCH_NAME = re.compile(r"(?:^|[_.-])patch(?:es)?(?:[_.-]|$)", re.IGNORECASE)


def _patch_by_its_name(real: str, kustomize_folders: set[str]) -> bool:
    """A file named as a patch (`manager_config_patch.yaml`, or in a `patches/` folder) in a
    Kustomize folder: kubebuilder scaffolds such patches, unused, where no comment names them."""
    folder, name = os.path.split(real)
    if os.path.basename(folder) == "patches":
        return os.path.dirname(folder) in kustomize_folders
    return _PATCH_NAME.search(os.path.splitext(name)[0]) is not None and folder in kustomize_folders


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextmanager
def _side_by_side(workers: int) -> Iterator[ThreadPoolExecutor | None]:
    """A thread pool of ``workers`` for external processes when that is more than one, else None."""
    if workers < 2:
        yield None
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield pool


def _build_duplicates(directory: str, subdirs: list[str]) -> list[str]:
    """The `kgen build` targets below ``directory`` beyond the first: the same environments again."""
    targets = [name for name in BUILD_TARGETS if name in subdirs]
    if len(targets) < 2:  # none beyond the first (a project's own `manifests/`): none to read
        return []
    from kgen.generator.text import GENERATED_MARK

    present = [name for name in targets if _generated(os.path.join(directory, name), GENERATED_MARK)]
    return present[1:]


def _kept_target(subdirs: list[str]) -> str:
    return next(name for name in BUILD_TARGETS if name in subdirs)


def _generated(directory: str, mark: str) -> bool:
    """A folder kgen build wrote: its first YAML file carries kgen's header."""
    for current, _dirs, names in os.walk(directory):
        for name in sorted(names):
            if name.endswith(YAML_SUFFIXES):
                return _generated_file(os.path.join(current, name), mark)
    return False


def _generated_file(path: str, mark: str) -> bool:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return mark in handle.readline()


def _environment_values(chart: str) -> list[str]:
    """The per-environment values files (values-<env>.yaml) of a chart `kgen build` wrote: a walk
    renders such a chart once per environment, as its README says to install it. Other charts
    render as `helm template` does, with their values.yaml."""
    from kgen.generator.text import GENERATED_MARK

    if not _generated_file(os.path.join(chart, "Chart.yaml"), GENERATED_MARK):
        return []
    return sorted(os.path.join(chart, name) for name in os.listdir(chart) if name.startswith("values-") and name.endswith(YAML_SUFFIXES))


def _load_source(path: str, source: SourceFile, result: LoadResult) -> None:
    own = parse_source(source)
    specs = [obj for obj in own.objects if obj.api_version == SPEC_API_VERSION and obj.kind == "App"]
    if specs:
        _load_spec(path, specs[0], result)
        return
    # kgen's own ClusterPolicy (a .kgen.yaml met in a walk) configures kgen; it is not a manifest.
    own.objects = [obj for obj in own.objects if not (obj.api_version == SPEC_API_VERSION and obj.kind == "ClusterPolicy")]
    _merge(result, own)


def _merge(result: LoadResult, other: LoadResult) -> None:
    result.objects.extend(other.objects)
    result.problems.extend(other.problems)
    result.files.extend(other.files)
    result.documents += other.documents


# --- kgen app specs -------------------------------------------------------------------------


def _load_spec(path: str, spec: KubeObject, result: LoadResult) -> None:
    """Every environment of the spec, rendered in memory; findings point at the spec file."""
    from kgen.generator.build import render_environments
    from kgen.generator.spec import SpecError

    result.files.append(spec.source)
    try:
        environments = list(render_environments(path))
    except SpecError as exc:  # an invalid spec is a finding per problem; the other inputs are still linted
        result.problems.extend(
            LoadProblem(path, problem.line, 1, f"invalid app spec: {format_path(problem.path) or '(document)'}: {problem.message}", secret_value=problem.secret_value)
            for problem in exc.problems
        )
        return
    except InputError as exc:
        result.problems.append(LoadProblem(path, exc.line or 1, 1, f"invalid app spec: {exc.message}"))
        return
    for environment, text in environments:
        rendered = parse_source(SourceFile(f"{path} [{environment}]", text))
        result.problems.extend(rendered.problems)
        result.documents += rendered.documents
        for obj in rendered.objects:
            obj.labels["environment"] = environment
            obj.origin = _spec_origin(spec, obj, environment)
            result.objects.append(obj)


# The spec field that produces a Kubernetes field (the innermost match along a finding's path wins).
SPEC_FIELDS = {
    "resources": "resources",
    "readinessProbe": "probes",
    "livenessProbe": "probes",
    "startupProbe": "probes",
    "image": "image",
    "ports": "ports",
    "env": "env",
    "envFrom": "envFrom",
    "replicas": "replicas",
    "securityContext": "securityContext",
    "tolerations": "gpu",
    "nodeSelector": "nodeSelector",
    "affinity": "gpu",
    "volumes": "storage",
    "volumeMounts": "storage",
    "serviceAccountName": "serviceAccount",
    "automountServiceAccountToken": "serviceAccount",
    "schedule": "schedule",
    "tls": "ingress",
    "rules": "ingress",
    "minReplicas": "autoscaling",
    "maxReplicas": "autoscaling",
}


def _spec_origin(spec: KubeObject, obj: KubeObject, environment: str) -> Callable[[JsonPath], SourcePoint]:
    """Point at the spec field that wrote the value: the environment's override, the component, or defaults."""
    labels = obj.metadata.get("labels")
    component = str(labels.get("app.kubernetes.io/component")) if isinstance(labels, dict) and labels.get("app.kubernetes.io/component") else None

    def origin(path: JsonPath) -> SourcePoint:
        field_name = next((SPEC_FIELDS[p] for p in reversed(path) if isinstance(p, str) and p in SPEC_FIELDS), None)
        candidates: list[tuple[str, ...]] = []
        if component and field_name:
            candidates += [("environments", environment, "components", component, field_name), ("components", component, field_name)]
        if field_name:
            candidates.append(("defaults", field_name))
        if component:
            candidates += [("environments", environment, "components", component), ("components", component)]
        for keys in candidates:
            if spec.node_at(keys) is not None:
                return SourcePoint(spec.source.name, *spec.locate(keys))
        return SourcePoint(spec.source.name, spec.first_line(), 1)

    return origin


# --- Helm charts ----------------------------------------------------------------------------


def _chart_units(chart: str, options: InputOptions, values_files: list[str] | None = None) -> Iterator[UnitLoader]:
    """The chart as `helm template` renders it, once per --values-matrix file (or once): a unit each.

    ``values_files``: a walk's per-environment values files, used when no matrix is given.
    """
    from kgen.helmchart import ChartOptions

    base = _chart_values(options.values, options.set_values)
    for matrix_file in options.values_matrix or values_files or [None]:
        values, files = base, options.values
        if matrix_file:
            # --set wins over every file, as in Helm: apply it again over the matrix file.
            values, files = _chart_values([matrix_file], options.set_values, base), [*options.values, matrix_file]
        chart_options = ChartOptions(
            values=files,
            set_values=options.set_values,
            release_name=options.release_name,
            namespace=options.namespace,
            kube_version=options.kube_version,
            skip_schema_validation=options.skip_schema_validation,
        )
        load = partial(_chart_unit, chart, chart_options, values, os.path.basename(matrix_file) if matrix_file else None)
        load.place = chart  # type: ignore[attr-defined]
        yield load


def _chart_unit(chart: str, options: ChartOptions, values: dict, label: str | None) -> LoadResult:
    from kgen.helmchart import load_chart

    unit = LoadResult()
    load_chart(chart, options, values, label, unit)
    return unit


def _chart_values(files: list[str], set_values: list[str], values: dict | None = None) -> dict:
    """``values`` (or nothing) with each file merged over it in order, then every --set."""
    values = values or {}
    for path in files:
        values = deep_merge(values, load_mapping(read_source(path)))
    for pair in set_values:
        if "=" not in pair:
            raise InputError(f"--set {pair!r}: expected key=value")
        values = deep_merge(values, _set_value(pair))
    return values


def _set_value(pair: str) -> dict:
    """``a.b=1`` as Helm's --set reads it (via Helm's own parser when available); a pair that
    Helm rejects, or that sets nothing (``=5``, ``a[0=1``), is a one-line error."""
    key, _, raw = pair.partition("=")
    if not key.strip():
        raise InputError(f"--set {pair!r}: the key before '=' is empty")
    try:
        import helm_python
    except ImportError:
        import yaml

        if "" in key.split(".") or any(c in key for c in "[]"):
            raise InputError(f"--set {pair!r}: expected dotted keys such as a.b=1 (list indexes need Helm's parser: pip install 'kgen-kubernetes[helm]')") from None
        value = yaml.safe_load(raw) if raw else ""
        for part in reversed(key.split(".")):
            value = {part: value}
        return value  # type: ignore[return-value]
    try:
        parsed = helm_python.parse_set_string(pair)
    except helm_python.HelmError as exc:
        raise InputError(f"--set {pair!r}: {_one_line(str(exc))}") from None
    if not parsed:
        raise InputError(f"--set {pair!r}: sets nothing (expected key=value, e.g. image.tag=1.2)")
    return parsed


def _one_line(text: str) -> str:
    return " ".join(text.split())
