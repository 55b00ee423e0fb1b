"""Render a Helm chart as ``helm template`` does, and know which line the user wrote for each value.

Helm's own engine renders (helm-python-sdk, in process): release name, namespace, the
target Kubernetes version in ``.Capabilities``, dependencies from ``charts/`` (directories
and archives), ``crds/`` and values schemas as ``helm template`` has them. The output is
split into documents with Helm's own separator rule. The source map comes from one more
render (kgen.helmtrace), with marked template lines and marked values.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tarfile
from dataclasses import dataclass, field
from typing import Any, Callable, Collection

import yaml

from kgen.errors import InputError, tool_message
from kgen.helmtrace import LineTrace, ValuesTrace, compose_nodes, decisive_keys, instrument_template, node_along
from kgen.loader import RELEASE_NAMESPACE, HelmTemplate, JsonPath, KubeObject, LoadProblem, LoadResult, SourceFile, SourcePoint, list_files, locate_node, node_position, parse_source, read_source

RENDER_FAILED = "render-failed"
# Helm's document split (pkg/releaseutil): `---` after a newline, whatever follows it.
_HELM_SEPARATOR = re.compile(r"(?:^|[ \t\n\f\r]*\n)---[ \t\n\f\r]*")
_GO_SPACE = " \t\n\f\r\v"
# Where Helm says a template failed: "template: c/templates/x.yaml:4:11: ...", "error at (c/templates/x.yaml:4:11): ...".
_TEMPLATE_ERROR = re.compile(r"(?:template: |at \()([^:\s()]+):(\d+)(?::(\d+))?")


@dataclass
class ChartOptions:
    """What `helm template` takes on its command line."""

    values: list[str] = field(default_factory=list)
    set_values: list[str] = field(default_factory=list)
    release_name: str | None = None
    namespace: str | None = None
    kube_version: str | None = None
    skip_schema_validation: bool = False


def is_chart_archive(path: str) -> bool:
    return path.endswith((".tgz", ".tar.gz")) and os.path.isfile(path) and tarfile.is_tarfile(path)


def load_chart(chart: str, options: ChartOptions, user_values: dict, label: str | None, result: LoadResult) -> None:
    """Render ``chart`` with ``user_values`` and add its objects (or its render-failed finding) to ``result``."""
    helm = _helm()
    try:
        tree = _ChartTree(chart)
        render = _render(helm, tree, options, user_values)
    except _RenderFailed as failed:
        result.problems.append(LoadProblem(failed.file, failed.line, 1, failed.message, RENDER_FAILED))
        result.files.append(SourceFile(failed.file, ""))
        return
    render.add_objects(label, options.namespace or "default", result)


def _helm() -> Any:
    try:
        import helm_python
    except ImportError:
        raise InputError("linting a Helm chart needs Helm: pip install 'kgen-kubernetes[helm]'") from None
    return helm_python


class _RenderFailed(Exception):
    def __init__(self, message: str, file: str, line: int = 1) -> None:
        super().__init__(message)
        self.message, self.file, self.line = message, file, line


class _ChartTree:
    """The chart's files in memory (vendored archives unpacked), and the names the user knows them by.

    Helm renders the original; the tracing renders load archives built from these files.
    """

    def __init__(self, chart: str) -> None:
        self.chart = chart
        # Path relative to the chart root ("/"-separated) -> content; None for a file on disk not
        # read yet (READMEs, changelogs, tests: most of a chart is never rendered).
        self.files: dict[str, bytes | None] = {}
        self._shown: dict[str, str] = {}  # relative directory -> how findings name files below it
        self._chart_yamls: dict[str, dict] = {}  # Chart.yaml path -> its data
        if os.path.isdir(chart):
            self.files = dict.fromkeys(list_files(chart))  # refuses a FIFO: it would block the read forever
            self._shown[""] = chart
        else:
            with open(chart, "rb") as handle:
                top = self._read_archive(handle.read(), "", chart)
            self._shown[""] = f"{chart}#{top}"
        # Helm names rendered templates after the chart's name, whatever its folder is called.
        self.name = self.chart_name("") or os.path.basename(os.path.abspath(chart))
        self._unpack_dependencies("")

    def _read_archive(self, data: bytes, prefix: str, shown: str) -> str:
        """Unpack a chart archive below ``prefix``; returns its top directory (the chart's name)."""
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
                members = [member for member in archive.getmembers() if member.isfile()]
                top = members[0].name.split("/", 1)[0] if members else ""
                for member in members:
                    _top, _, rest = member.name.partition("/")
                    extracted = archive.extractfile(member)
                    if rest and extracted is not None:
                        self.files[f"{prefix}{top}/{rest}" if prefix else rest] = extracted.read()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise _RenderFailed(f"Helm could not read the chart archive: {exc}", shown) from None
        return top

    def _unpack_dependencies(self, relative: str) -> None:
        """Unpack the archives in ``relative``charts/, then look inside every subchart for more."""
        charts = f"{relative}charts/"
        for path in sorted(p for p in self.files if p.startswith(charts) and "/" not in p[len(charts) :] and p.endswith(".tgz")):
            shown = self.shown(path)
            name = self._read_archive(self.read(path), charts, shown)
            del self.files[path]
            self._shown[f"{charts}{name}"] = f"{shown}#{name}"
        for subchart in self.subcharts(relative):
            self._unpack_dependencies(subchart)

    def subcharts(self, relative: str) -> list[str]:
        """The folders of the subcharts in ``relative``charts/ ("/"-terminated), in order."""
        charts = f"{relative}charts/"
        names = {p[len(charts) :].split("/", 1)[0] for p in self.files if p.startswith(charts) and p[len(charts) :].count("/") == 1 and p.endswith("/Chart.yaml")}
        return [f"{charts}{name}/" for name in sorted(names)]

    def chart_dirs(self, relative: str = "") -> list[str]:
        """The chart folder ``relative`` ("" or ending in "/") and its subcharts' folders, theirs too."""
        return [relative] + [directory for subchart in self.subcharts(relative) for directory in self.chart_dirs(subchart)]

    def shown(self, relative: str) -> str:
        """How a file of the chart is named in findings: its path, or archive#path for packed files."""
        best = max((prefix for prefix in self._shown if not prefix or relative == prefix or relative.startswith(prefix + "/")), key=len)
        rest = relative[len(best) :].lstrip("/")
        base = self._shown[best]
        if not rest:
            return base
        return f"{base}/{rest}" if "#" in base else os.path.join(base, *rest.split("/"))

    def read(self, relative: str) -> bytes:
        data = self.files[relative]
        if data is None:
            with open(os.path.join(self.chart, *relative.split("/")), "rb") as handle:
                data = self.files[relative] = handle.read()
        return data

    def source(self, relative: str) -> SourceFile:
        return SourceFile(self.shown(relative), self.read(relative).decode("utf-8", errors="replace"))

    def chart_yaml(self, directory: str) -> dict:
        """The Chart.yaml in ``directory`` (relative, "" or ending in "/") as data; {} if none or unreadable."""
        path = f"{directory}Chart.yaml"
        if path not in self._chart_yamls:
            self._chart_yamls[path] = _chart_yaml(self.read(path)) if path in self.files else {}
        return self._chart_yamls[path]

    def chart_name(self, directory: str) -> str | None:
        name = self.chart_yaml(directory).get("name")
        return str(name) if name else None

    def archive(self, replaced: dict[str, str] | None = None, rendering_only: bool = False, left_out: Collection[str] = ()) -> bytes:
        """The chart as a .tgz in memory, without values schemas and the ``left_out`` files, with ``replaced`` files swapped in.

        ``rendering_only`` keeps what rendering reads: no crds/ (never rendered, often megabytes),
        and only Chart.yaml, values and templates when no template reads files (.Files). A chart
        that renders otherwise without the rest shows other lines, which the line trace notices.
        """
        replaced = replaced or {}
        reads_files = rendering_only and any(b".Files" in self.read(path) for path in self.files if "templates/" in path)
        blocks: list[bytes] = []
        for path in self.files:
            if path in left_out or path.rsplit("/", 1)[-1] == "values.schema.json" or rendering_only and (_in_crds(path) or not reads_files and not _rendered_from(path)):
                continue
            data = replaced[path].encode("utf-8") if path in replaced else self.read(path)
            name = f"{self.name}/{path}".encode("utf-8")
            if len(name) > 100:  # the name field's size: a GNU long name before the file
                blocks += _tar_entry(b"././@LongLink", b"L", name + b"\0")
            blocks += _tar_entry(name[:100], b"0", data)
        blocks.append(bytes(1024))  # the end of the archive
        return gzip.compress(b"".join(blocks), compresslevel=0, mtime=0)  # stored: Helm only unpacks it


def _tar_entry(name: bytes, kind: bytes, data: bytes) -> list[bytes]:
    """One tar member as Go's archive/tar reads it (Helm's loader): header, data, padding.
    Written here: tarfile's headers were most of the time of building a small chart's archive."""
    header = bytearray(512)
    header[: len(name)] = name
    size = b"%011o\0" % len(data)
    header[100:157] = b"0000644\0" + b"0000000\0" * 2 + size + b"00000000000\0" + b" " * 8 + kind  # mode, uid, gid, size, mtime, checksum, type
    header[257:265] = b"ustar\x0000"
    header[148:155] = b"%06o\0" % sum(header)
    return [bytes(header), data, bytes(-len(data) % 512)]


def _rendered_from(path: str) -> bool:
    """Chart.yaml, values.yaml and templates of the chart or a subchart: all a render of manifests
    reads without .Files (NOTES.txt is rendered for the user, never linted)."""
    directory, _, name = path.rpartition("/")
    return name in ("Chart.yaml", "values.yaml", "requirements.yaml") or "templates" in directory.split("/") and name != "NOTES.txt"


def _in_crds(path: str) -> bool:
    """A file in a chart's crds/ folder (the chart's own, or a subchart's)."""
    parts = path.split("/")
    return len(parts) > 1 and parts[-2] == "crds" and (len(parts) == 2 or len(parts) >= 4 and parts[-4] == "charts")


def _render(helm: Any, tree: _ChartTree, options: ChartOptions, user_values: dict) -> "_ChartRender":
    templates = {f"{tree.name}/{path}": tree.source(path) for path in tree.files if _is_template(path)}
    try:
        chart = helm.Chart.load(tree.chart)
    except helm.HelmError as exc:
        raise _RenderFailed(f"Helm could not load the chart: {tool_message(str(exc))}", tree.shown("Chart.yaml")) from None
    with chart:
        metadata = chart.metadata
        _check_dependencies(chart, metadata, tree)
        render_options = _render_options(options, metadata)
        if options.skip_schema_validation:
            with helm.Chart.load_archive(tree.archive()) as plain:
                real = _render_with(helm, plain, user_values, render_options, tree)
        else:
            real = _render_with(helm, chart, user_values, render_options, tree)
        crds = chart.crds
        merged = chart.merge_values(user_values)
    # Only templates that wrote something are instrumented (charts gate half their templates
    # off by default). The trace is made here, in this thread, before the lint: `kgen lint
    # --jobs` forks the checks, and Helm's Go runtime must not be called from a fork. (A second
    # thread gained little: the machine is shared, and Go's setup of each new thread costs CPU.)
    written = {key: template for key, template in templates.items() if real.get(key, "").strip(_GO_SPACE)}
    instrumented = {key.split("/", 1)[1]: instrument_template(template.text) for key, template in written.items()}
    files = _ValuesFiles(tree, options.values, _set_paths(options.set_values))
    texts = _template_texts(tree, written)
    values = ValuesTrace(merged, files.locate, decisive_keys(texts))
    left_out = _idle_templates(templates, written, texts, merged) | _defaults_given_merged(tree)
    trace = _traced_render(helm, tree.archive(instrumented, rendering_only=True, left_out=left_out), values, render_options)
    if trace is None and left_out:  # a file left out was needed after all: trace the whole chart
        trace = _traced_render(helm, tree.archive(instrumented, rendering_only=True), values, render_options)
    return _ChartRender(tree, real, trace, crds, templates, tuple(text for text in texts if "define" in text))


def _idle_templates(templates: dict[str, SourceFile], written: dict[str, SourceFile], texts: list[str], values: dict) -> set[str]:
    """Templates that wrote nothing, define nothing and that neither a template nor a value names (as
    an ``include`` of a file would: NVIDIA's VSS blueprint includes `$.Template.BasePath` joined to a
    file name from its values): the tracing render leaves them out, as Helm runs every template it is
    given. Were one needed after all, the tracing render fails (it is made again with every file) or
    differs, and the line trace notices."""
    idle = {key: template for key, template in templates.items() if key not in written and "define" not in template.text}
    if not idle:
        return set()
    named = "\n".join(texts) + json.dumps(values, default=str)
    return {key.split("/", 1)[1] for key in idle if key.rsplit("/", 1)[-1] not in named}


def _defaults_given_merged(tree: _ChartTree) -> set[str]:
    """The charts' values.yaml, which the tracing render can do without: it is given the merged
    values whole (Helm's own merge, marked), so they would only cost Helm a parse of what is often
    a chart's largest file. Kept when a dependency imports values: Helm reads those from them."""
    directories = tree.chart_dirs()
    for directory in directories:
        for name in ("Chart.yaml", "requirements.yaml"):
            if f"{directory}{name}" in tree.files and b"import-values" in tree.read(f"{directory}{name}"):
                return set()
    return {f"{directory}values.yaml" for directory in directories}


def _render_options(options: ChartOptions, metadata: dict) -> dict:
    release = options.release_name or str(metadata.get("name") or "release")
    render_options = {"name": release, "namespace": options.namespace or "default", "is_install": True}
    if options.kube_version:
        render_options["kube_version"] = _helm_version(options.kube_version)
    return render_options


@dataclass
class _Trace:
    """The tracing render (by render key) and the values it marked."""

    rendered: dict[str, str]
    values: ValuesTrace


def _traced_render(helm: Any, archive: bytes, values: ValuesTrace, render_options: dict) -> _Trace | None:
    """The render of the traced chart (``archive``) with marked values; None when Helm cannot make it.

    No values schema in the traced chart: it would refuse the marked values.
    """
    try:
        with helm.Chart.load_archive(archive) as traced_chart:
            return _Trace(_helm_render(traced_chart, values.marked, render_options), values)
    except helm.HelmError:  # a marked value a template could not take
        return None


def _is_template(path: str) -> bool:
    """A file Helm renders to manifests: below a templates/ folder, not a partial (_helpers.tpl), not NOTES.txt."""
    directory, _, name = path.rpartition("/")
    return (directory == "templates" or directory.startswith("templates/") or "/templates" in f"/{directory}") and not name.startswith("_") and name != "NOTES.txt"


def _check_dependencies(chart: Any, metadata: dict, tree: _ChartTree) -> None:
    """A dependency Chart.yaml declares but charts/ lacks stops Helm; same message as `helm template`."""
    declared = metadata.get("dependencies") or []
    if not declared:
        return
    loaded = {str(dependency.get("name")) for dependency in chart.dependencies}
    missing = [str(d.get("name")) for d in declared if isinstance(d, dict) and str(d.get("name")) not in loaded]
    if not missing:
        return
    chart_yaml = tree.source("Chart.yaml")
    line = 1
    for number, text in enumerate(chart_yaml.lines, start=1):
        if re.match(rf"\s*-?\s*name:\s*['\"]?{re.escape(missing[0])}['\"]?\s*$", text):
            line = number
            break
    raise _RenderFailed(
        "An error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch "
        f"missing dependencies: found in Chart.yaml, but missing in charts/ directory: {', '.join(missing)}",
        chart_yaml.name,
        line,
    )


def _helm_version(version: str) -> str:
    """``1.29`` as Helm's --kube-version takes it (``v1.29.0``)."""
    parts = version.lstrip("v").split(".")
    return "v" + ".".join((parts + ["0", "0"])[:3])


def _helm_render(chart: Any, values: dict, render_options: dict) -> dict[str, str]:
    """Helm's offline render, template path -> output.

    Called through the SDK's native binding: Chart.render() does not pass kube_version on,
    which the C library takes and `helm template --kube-version` needs.
    """
    from helm_python import _native

    return json.loads(_native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(render_options)))


def _render_with(helm: Any, chart: Any, values: dict, render_options: dict, tree: _ChartTree) -> dict[str, str]:
    try:
        return _helm_render(chart, values, render_options)
    except helm.HelmError as exc:
        message = tool_message(str(exc))
        where = _TEMPLATE_ERROR.search(message)
        if where:
            relative = where.group(1).split("/", 1)[1] if "/" in where.group(1) else where.group(1)
            raise _RenderFailed(f"Helm could not render the chart: {message}", tree.shown(relative), int(where.group(2))) from None
        raise _RenderFailed(f"Helm could not render the chart: {message}", tree.shown("Chart.yaml")) from None


def _template_texts(tree: _ChartTree, written: dict[str, SourceFile]) -> list[str]:
    """The helpers of the chart and its subcharts, the templates that wrote output (``written``)
    and those that define named templates, as written."""
    texts = [template.text for template in written.values()]
    for path in tree.files:
        if (path.startswith("templates/") or "/templates/" in path) and f"{tree.name}/{path}" not in written:
            data = tree.read(path)
            if not _is_template(path) or b"define" in data:
                texts.append(data.decode("utf-8", errors="replace"))
    return texts


class _ValuesFiles:
    """The values files that set each merged value: the user's -f files, then the charts' values.yaml."""

    def __init__(self, tree: _ChartTree, user_files: list[str], set_paths: list[tuple[str, ...]]) -> None:
        """``set_paths``: what --set wrote; no file sets those, whatever the files say."""
        self._set_paths = set_paths
        self._texts: list[tuple[tuple[str, ...], str, str]] = []
        self._parsed: list[tuple[tuple[str, ...], str, yaml.Node]] | None = None
        for path in reversed(user_files):
            self._add((), path, read_source(path).text)
        self._add_chart(tree, "", ())

    def _add(self, prefix: tuple[str, ...], name: str, text: str) -> None:
        self._texts.append((prefix, name, text))

    def _sources(self) -> list[tuple[tuple[str, ...], str, yaml.Node]]:
        """The files as node trees, parsed when a finding first needs a values line."""
        if self._parsed is None:
            self._parsed = []
            for prefix, name, text in self._texts:
                node = compose_nodes(text)
                if isinstance(node, yaml.MappingNode):
                    self._parsed.append((prefix, name, node))
        return self._parsed

    def _add_chart(self, tree: _ChartTree, relative: str, prefix: tuple[str, ...]) -> None:
        if f"{relative}values.yaml" in tree.files:
            self._add(prefix, tree.shown(f"{relative}values.yaml"), tree.source(f"{relative}values.yaml").text)
        aliases = _aliases(tree.chart_yaml(relative))
        for subchart in tree.subcharts(relative):
            name = tree.chart_name(subchart)
            if name:
                for key in aliases.get(name, [name]):
                    self._add_chart(tree, subchart, (*prefix, key))

    def locate(self, path: tuple[str, ...]) -> tuple[str, int, int] | None:
        if any(path[: len(written)] == written for written in self._set_paths):
            return None
        candidates = [path]
        if "global" in path:
            candidates.append(path[path.index("global") :])
        for wanted in candidates:
            for prefix, name, node in self._sources():
                if wanted[: len(prefix)] != prefix:
                    continue
                found, at = node_along(node, _json_path(wanted[len(prefix) :]))
                if len(at) == len(wanted) - len(prefix):
                    line, column = node_position(locate_node(node, _json_path(wanted[len(prefix) :])))
                    return name, line, column
        return None


def _set_paths(pairs: list[str]) -> list[tuple[str, ...]]:
    """The values paths --set pairs write, read by Helm's own parser."""
    import helm_python

    paths: list[tuple[str, ...]] = []

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, dict) and value:
            for key, item in value.items():
                walk(item, (*path, str(key)))
        elif isinstance(value, list) and value:
            for index, item in enumerate(value):
                walk(item, (*path, str(index)))
        else:
            paths.append(path)

    for pair in pairs:
        walk(helm_python.parse_set_string(pair), ())
    return paths


_FAST_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _json_path(path: tuple[str, ...]) -> JsonPath:
    return tuple(int(part) if part.isdigit() else part for part in path)


def _chart_yaml(data: bytes) -> dict:
    """Chart.yaml as data, read with libyaml (PyYAML's pure-Python reader was a third of a small chart's lint)."""
    try:
        loaded = yaml.load(data, Loader=_FAST_SAFE_LOADER)
    except yaml.YAMLError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _aliases(chart_yaml: dict) -> dict[str, list[str]]:
    """Dependency name -> the keys its values sit under (its aliases, else its name)."""
    out: dict[str, list[str]] = {}
    for dependency in chart_yaml.get("dependencies") or []:
        if isinstance(dependency, dict) and dependency.get("name"):
            out.setdefault(str(dependency["name"]), []).append(str(dependency.get("alias") or dependency["name"]))
    return out


@dataclass
class _Document:
    text: str
    line: int  # 0-based line of the document's first character in the template's output
    column: int  # 0-based column of that character


def split_documents(text: str) -> list[_Document]:
    """Helm's split of one template's output (releaseutil.SplitManifests), with positions."""
    stripped = text.strip(_GO_SPACE)
    offset = len(text) - len(text.lstrip(_GO_SPACE))
    documents = []
    position = 0
    pieces = []
    for match in _HELM_SEPARATOR.finditer(stripped):
        pieces.append((position, match.start()))
        position = match.end()
    pieces.append((position, len(stripped)))
    for start, end in pieces:
        piece = stripped[start:end]
        if not piece:
            continue
        lead = len(piece) - len(piece.lstrip(_GO_SPACE))
        absolute = offset + start + lead
        line = text.count("\n", 0, absolute)
        column = absolute - (text.rfind("\n", 0, absolute) + 1)
        documents.append(_Document(piece.strip(_GO_SPACE), line, column))
    return documents


class _ChartRender:
    """The real render, its traces, and how to turn them into located objects."""

    def __init__(
        self, tree: _ChartTree, real: dict[str, str], trace: _Trace | None, crds: list[dict], templates: dict[str, SourceFile], helpers: tuple[str, ...]
    ) -> None:
        """``helpers``: the files of the chart and its subcharts that define named templates."""
        self.tree, self.real, self.trace, self.crds, self.templates, self.helpers = tree, real, trace, crds, templates, helpers

    def add_objects(self, label: str | None, namespace: str, result: LoadResult) -> None:
        first = len(result.objects)
        self._add_all(label, result)
        for obj in result.objects[first:]:
            obj.labels[RELEASE_NAMESPACE] = namespace

    def _add_all(self, label: str | None, result: LoadResult) -> None:
        for crd in self.crds:
            relative = str(crd.get("filename", "")).split("/", 1)[-1]
            before = len(result.objects)
            parse_source(SourceFile(self.tree.shown(relative), str(crd.get("data", ""))), result)
            _label(result.objects[before:], label)
        for key in sorted(self.real):
            text = self.real[key]
            if key.endswith("NOTES.txt") or not text.strip(_GO_SPACE):
                continue
            template = self.templates.get(key) or SourceFile(self.tree.shown(key.split("/", 1)[1]), "")
            result.files.append(template)
            trace = _TemplateTrace(text, key, self.trace)
            rendered_from = HelmTemplate(template.name, template.text, self.helpers)
            for document in split_documents(text):
                self._add_document(document, template, trace, rendered_from, label, result)

    def _add_document(
        self, document: _Document, template: SourceFile, trace: _TemplateTrace, rendered_from: HelmTemplate, label: str | None, result: LoadResult
    ) -> None:
        parsed = parse_source(SourceFile(f"{template.name} (rendered)", document.text))
        result.documents += parsed.documents

        def point(line: int, column: int) -> SourcePoint:
            """A 1-based position in the document -> the template line, or the document's first line, approximately."""
            out_line = document.line + line - 1
            out_column = (document.column if line == 1 else 0) + column - 1
            exact = trace.lines.template_line(out_line, out_column)
            if exact is not None:
                return SourcePoint(template.name, exact, _column(template, exact))
            first = trace.lines.template_line(document.line, document.column)
            return SourcePoint(template.name, first or 1, 1, True)

        for problem in parsed.problems:
            where = point(problem.line, problem.column)
            result.problems.append(LoadProblem(where.file, where.line, where.column, f"rendered output: {problem.message}", problem.rule))
        trees = _DocumentTrees(document, trace, parsed.objects[0].node if len(parsed.objects) == 1 else None)
        for obj in parsed.objects:
            if label:
                obj.labels["environment"] = label
            obj.origin = _object_origin(obj, trees, trace, point)
            obj.rendered_from = rendered_from
            result.objects.append(obj)


class _TemplateTrace:
    """The traces of one rendered template, read from the tracing render when a finding first asks."""

    def __init__(self, real: str, key: str, trace: _Trace | None) -> None:
        self._real, self._key, self._trace = real, key, trace
        self._lines: LineTrace | None = None
        self.values = trace.values if trace is not None else None

    @property
    def lines(self) -> LineTrace:
        if self._lines is None:
            if self._trace is None:
                self._lines = LineTrace(self._real, None, lambda text: text)
            else:
                self._lines = LineTrace(self._real, self._trace.rendered.get(self._key), self._trace.values.unmark)
        return self._lines


class _DocumentTrees:
    """The real and the marked node trees of one document, composed when a finding first asks."""

    def __init__(self, document: _Document, trace: _TemplateTrace, root: yaml.Node | None) -> None:
        """``root``: the document's node tree when the loader already has it (one object, not a List)."""
        self._document, self._trace, self._root = document, trace, root
        self._real_composed = root is not None
        self._marked: tuple[yaml.Node | None, str] | None = None

    def real(self) -> yaml.Node | None:
        if not self._real_composed:
            self._root, self._real_composed = compose_nodes(self._document.text), True
        return self._root

    def marks_values(self, node: yaml.Node) -> bool:
        """Whether the traced lines of ``node`` hold a value marker (else no value of it came from values)."""
        line = self._document.line
        return self._trace.lines.marks_values(line + node.start_mark.line, line + node.end_mark.line)

    def marked(self) -> tuple[yaml.Node | None, str]:
        """The marked tree and the marked text."""
        if self._marked is None:
            document = self._document
            text = self._trace.lines.marked_text(document.line, document.text.count("\n") + 1, document.column)
            self._marked = (compose_nodes(text), text) if text is not None else (None, "")
        return self._marked


def _label(objects: list[KubeObject], label: str | None) -> None:
    if label:
        for obj in objects:
            obj.labels["environment"] = label


def _prefix_in(root: yaml.Node | None, obj: KubeObject) -> JsonPath:
    """Where the object sits in its document: () or ("items", i) for a List."""
    if root is None or not isinstance(root, yaml.MappingNode) or root.start_mark.index == obj.node.start_mark.index:
        return ()
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "items" and isinstance(value, yaml.SequenceNode):
            for index, item in enumerate(value.value):
                if item.start_mark.index == obj.node.start_mark.index:
                    return ("items", index)
    return ()


def _object_origin(obj: KubeObject, trees: _DocumentTrees, trace: _TemplateTrace, point: Callable[[int, int], SourcePoint]) -> Callable[[JsonPath], SourcePoint]:
    def origin(path: JsonPath) -> SourcePoint:
        values, root = trace.values, trees.real()
        if values is not None and root is not None:
            prefix = _prefix_in(root, obj)
            real_node, found = node_along(root, (*prefix, *path))
            marked, marked_text = trees.marked() if real_node is not None and trees.marks_values(real_node) else (None, "")
            marked_node, marked_found = node_along(marked, found)
            if real_node is not None and marked_node is not None and marked_found == found:
                source = values.source(real_node, marked_node, _data_at(obj.data, found[len(prefix) :]), marked_text)
                if source is not None:
                    return SourcePoint(source.file, source.line, source.column)
        return point(*obj.locate(path))

    return origin


def _data_at(data: Any, path: JsonPath) -> Any:
    for part in path:
        if isinstance(data, dict) and isinstance(part, str):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _column(template: SourceFile, line: int) -> int:
    """The column on the template line: its first non-blank character."""
    text = template.line_text(line)
    return len(text) - len(text.lstrip()) + 1
