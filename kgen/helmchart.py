"""Render a Helm chart as ``helm template`` does, and know which line the user wrote for each value.

Helm's own engine renders (helm-python-sdk, in process): release name, namespace, the
target Kubernetes version in ``.Capabilities``, dependencies from ``charts/`` (directories
and archives), ``crds/`` and values schemas as ``helm template`` has them. The output is
split into documents with Helm's own separator rule. The source map comes from two more
renders (kgen.helmtrace): a line trace of every template and a values trace.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml

from kgen.errors import InputError
from kgen.helmtrace import LineTrace, ValuesTrace, compose_marked, decisive_keys, instrument_template, node_along
from kgen.loader import RELEASE_NAMESPACE, JsonPath, KubeObject, LoadProblem, LoadResult, SourceFile, SourcePoint, compose_yaml, locate_node, node_position, parse_source, read_source

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
    with tempfile.TemporaryDirectory(prefix="kgen-chart-") as scratch:
        try:
            tree = _ChartTree(chart, scratch)
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
        raise InputError("linting a Helm chart needs Helm: pip install 'kgen[helm]'") from None
    return helm_python


class _RenderFailed(Exception):
    def __init__(self, message: str, file: str, line: int = 1) -> None:
        super().__init__(message)
        self.message, self.file, self.line = message, file, line


class _ChartTree:
    """A private copy of the chart with every vendored archive unpacked, and the names the user knows.

    Helm renders the original; the copy is what the traced render instruments.
    """

    def __init__(self, chart: str, scratch: str) -> None:
        self.chart = chart
        self.root = os.path.join(scratch, "chart")
        # Relative directory in the copy -> how findings name files below it.
        self._shown: dict[str, str] = {}
        if os.path.isdir(chart):
            shutil.copytree(chart, self.root, symlinks=False, ignore=shutil.ignore_patterns(".git"))
            self._shown[""] = chart
        else:
            name = _unpack(chart, scratch, "chart")
            self._shown[""] = f"{chart}#{name}"
        self._unpack_dependencies("")

    def _unpack_dependencies(self, relative: str) -> None:
        charts = os.path.join(self.root, relative, "charts")
        if not os.path.isdir(charts):
            return
        for entry in sorted(os.listdir(charts)):
            path = os.path.join(charts, entry)
            sub = os.path.join(relative, "charts", entry) if relative else os.path.join("charts", entry)
            if os.path.isdir(path):
                self._unpack_dependencies(sub)
            elif entry.endswith(".tgz") and tarfile.is_tarfile(path):
                name = _unpack(path, charts, None)
                os.unlink(path)
                sub_dir = os.path.join(relative, "charts", name) if relative else os.path.join("charts", name)
                self._shown[sub_dir] = f"{self.shown(os.path.join(relative, 'charts', entry) if relative else os.path.join('charts', entry))}#{name}"
                self._unpack_dependencies(sub_dir)

    def shown(self, relative: str) -> str:
        """How a file of the chart is named in findings: its path, or archive#path for packed files."""
        best = max((prefix for prefix in self._shown if not prefix or relative == prefix or relative.startswith(prefix + os.sep)), key=len)
        rest = relative[len(best) :].lstrip(os.sep)
        base = self._shown[best]
        return os.path.join(base, rest) if rest and "#" not in base else (f"{base}/{rest}" if rest else base)

    def source(self, relative: str) -> SourceFile:
        with open(os.path.join(self.root, relative), encoding="utf-8", errors="replace") as handle:
            return SourceFile(self.shown(relative), handle.read())


def _unpack(archive: str, destination: str, rename: str | None) -> str:
    """Unpack a chart archive below ``destination``; returns the chart directory's name there."""
    import helm_python

    staging = tempfile.mkdtemp(dir=destination)
    try:
        helm_python.expand(staging, archive)
    except helm_python.HelmError as exc:
        raise _RenderFailed(f"Helm could not read the chart archive: {exc}", archive) from None
    (name,) = os.listdir(staging)
    target = rename or name
    os.replace(os.path.join(staging, name), os.path.join(destination, target))
    os.rmdir(staging)
    return name


def _render(helm: Any, tree: _ChartTree, options: ChartOptions, user_values: dict) -> "_ChartRender":
    try:
        chart = helm.Chart.load(tree.chart)
    except helm.HelmError as exc:
        raise _RenderFailed(f"Helm could not load the chart: {exc}", tree.shown("Chart.yaml")) from None
    with chart:
        _check_dependencies(chart, tree)
        metadata = chart.metadata
        release = options.release_name or str(metadata.get("name") or "release")
        render_options = {"name": release, "namespace": options.namespace or "default", "is_install": True}
        if options.kube_version:
            render_options["kube_version"] = _helm_version(options.kube_version)
        _drop_schemas(tree.root)
        plain = helm.Chart.load(tree.root)  # the same chart, its schemas dropped: what marked values need
        with plain:
            real = _render_with(helm, plain if options.skip_schema_validation else chart, user_values, render_options, tree)
            merged = chart.merge_values(user_values)
            crds = chart.crds
            values_trace = ValuesTrace(merged, _ValuesFiles(tree, options.values).locate, decisive_keys(_template_texts(tree.root)))
            marked = _quiet_render(helm, plain, values_trace.marked, render_options)
        templates = _instrument(tree, real)
        traced_chart = helm.Chart.load(tree.root)
        with traced_chart:
            traced = _quiet_render(helm, traced_chart, user_values, render_options)
    return _ChartRender(tree, real, traced or {}, marked or {}, values_trace, crds, templates)


def _check_dependencies(chart: Any, tree: _ChartTree) -> None:
    """A dependency Chart.yaml declares but charts/ lacks stops Helm; same message as `helm template`."""
    loaded = {str(dependency.get("name")) for dependency in chart.dependencies}
    declared = chart.metadata.get("dependencies") or []
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


def _drop_schemas(root: str) -> None:
    for current, _dirs, files in os.walk(root):
        if "values.schema.json" in files:
            os.unlink(os.path.join(current, "values.schema.json"))


def _render_with(helm: Any, chart: Any, values: dict, render_options: dict, tree: _ChartTree) -> dict[str, str]:
    from helm_python import _native  # render options beyond the wrapper's: kube_version

    try:
        return json.loads(_native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(render_options)))
    except helm.HelmError as exc:
        message = str(exc).strip()
        where = _TEMPLATE_ERROR.search(message)
        if where:
            relative = where.group(1).split("/", 1)[1] if "/" in where.group(1) else where.group(1)
            raise _RenderFailed(f"Helm could not render the chart: {message}", tree.shown(relative), int(where.group(2))) from None
        raise _RenderFailed(f"Helm could not render the chart: {message}", tree.shown("Chart.yaml")) from None


def _quiet_render(helm: Any, chart: Any, values: dict, render_options: dict) -> dict[str, str] | None:
    """A tracing render: when it fails (a marked value a template could not take), no trace, no error."""
    from helm_python import _native

    try:
        return json.loads(_native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(render_options)))
    except helm.HelmError:
        return None


def _template_texts(root: str) -> list[str]:
    """Every template and helper of the chart and its subcharts, as written."""
    texts = []
    for current, _dirs, files in os.walk(root):
        if os.path.basename(current) == "templates" or f"{os.sep}templates{os.sep}" in current + os.sep:
            for name in files:
                with open(os.path.join(current, name), encoding="utf-8", errors="replace") as handle:
                    texts.append(handle.read())
    return texts


def _instrument(tree: _ChartTree, real: dict[str, str]) -> dict[str, SourceFile]:
    """Write the line-traced version of every rendered template into the copy.

    Returns each template as the user wrote it (by render key), named as findings name it.
    """
    templates = {}
    for key in real:
        relative = key.split("/", 1)[1]
        path = os.path.join(tree.root, relative)
        if not os.path.isfile(path):
            continue
        template = tree.source(relative)
        templates[key] = template
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(instrument_template(template.text))
    return templates


class _ValuesFiles:
    """The values files that set each merged value: the user's -f files, then the charts' values.yaml."""

    def __init__(self, tree: _ChartTree, user_files: list[str]) -> None:
        self._sources: list[tuple[tuple[str, ...], str, yaml.Node]] = []
        for path in reversed(user_files):
            self._add((), path, read_source(path).text)
        self._add_chart(tree, "", ())

    def _add(self, prefix: tuple[str, ...], name: str, text: str) -> None:
        try:
            node = compose_yaml(text)
        except yaml.YAMLError:
            return
        if isinstance(node, yaml.MappingNode):
            self._sources.append((prefix, name, node))

    def _add_chart(self, tree: _ChartTree, relative: str, prefix: tuple[str, ...]) -> None:
        values = os.path.join(relative, "values.yaml") if relative else "values.yaml"
        if os.path.isfile(os.path.join(tree.root, values)):
            self._add(prefix, tree.shown(values), tree.source(values).text)
        charts = os.path.join(relative, "charts") if relative else "charts"
        directory = os.path.join(tree.root, charts)
        if not os.path.isdir(directory):
            return
        aliases = _aliases(os.path.join(tree.root, relative, "Chart.yaml"))
        for entry in sorted(os.listdir(directory)):
            sub = os.path.join(charts, entry)
            name = _chart_name(os.path.join(tree.root, sub, "Chart.yaml"))
            if name:
                for key in aliases.get(name, [name]):
                    self._add_chart(tree, sub, (*prefix, key))

    def locate(self, path: tuple[str, ...]) -> tuple[str, int, int] | None:
        candidates = [path]
        if "global" in path:
            candidates.append(path[path.index("global") :])
        for wanted in candidates:
            for prefix, name, node in self._sources:
                if wanted[: len(prefix)] != prefix:
                    continue
                found, at = node_along(node, _json_path(wanted[len(prefix) :]))
                if len(at) == len(wanted) - len(prefix):
                    line, column = node_position(locate_node(node, _json_path(wanted[len(prefix) :])))
                    return name, line, column
        return None


def _json_path(path: tuple[str, ...]) -> JsonPath:
    return tuple(int(part) if part.isdigit() else part for part in path)


def _chart_name(chart_yaml: str) -> str | None:
    try:
        with open(chart_yaml, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError):
        return None
    return str(data.get("name")) if isinstance(data, dict) and data.get("name") else None


def _aliases(chart_yaml: str) -> dict[str, list[str]]:
    """Dependency name -> the keys its values sit under (its aliases, else its name)."""
    try:
        with open(chart_yaml, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError):
        return {}
    out: dict[str, list[str]] = {}
    for dependency in (data or {}).get("dependencies") or []:
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
        self, tree: _ChartTree, real: dict[str, str], traced: dict[str, str], marked: dict[str, str], values: ValuesTrace, crds: list[dict], templates: dict[str, SourceFile]
    ) -> None:
        self.tree, self.real, self.traced, self.marked, self.values, self.crds, self.templates = tree, real, traced, marked, values, crds, templates

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
            trace = LineTrace(text, self.traced.get(key, ""))
            marked_documents = split_documents(self.marked.get(key, ""))
            for index, document in enumerate(split_documents(text)):
                marked = compose_marked(marked_documents[index].text) if index < len(marked_documents) else None
                self._add_document(document, template, trace, marked, label, result)

    def _add_document(self, document: _Document, template: SourceFile, trace: LineTrace, marked: yaml.Node | None, label: str | None, result: LoadResult) -> None:
        parsed = parse_source(SourceFile(f"{template.name} (rendered)", document.text))
        result.documents += parsed.documents

        def point(line: int, column: int) -> SourcePoint:
            """A 1-based position in the document -> the template line, or the document's first line, approximately."""
            out_line = document.line + line - 1
            out_column = (document.column if line == 1 else 0) + column - 1
            exact = trace.template_line(out_line, out_column)
            if exact is not None:
                return SourcePoint(template.name, exact, _column(template, exact))
            first = trace.template_line(document.line, document.column)
            return SourcePoint(template.name, first or 1, 1, True)

        for problem in parsed.problems:
            where = point(problem.line, problem.column)
            result.problems.append(LoadProblem(where.file, where.line, where.column, f"rendered output: {problem.message}", problem.rule))
        root = _document_root(document.text)
        for obj in parsed.objects:
            if label:
                obj.labels["environment"] = label
            obj.origin = _object_origin(obj, _prefix_in(root, obj), root, marked, self.values, point)
            result.objects.append(obj)


def _label(objects: list[KubeObject], label: str | None) -> None:
    if label:
        for obj in objects:
            obj.labels["environment"] = label


def _document_root(text: str) -> yaml.Node | None:
    try:
        return compose_yaml(text)
    except yaml.YAMLError:
        return None


def _prefix_in(root: yaml.Node | None, obj: KubeObject) -> JsonPath:
    """Where the object sits in its document: () or ("items", i) for a List."""
    if root is None or root is obj.node or not isinstance(root, yaml.MappingNode):
        return ()
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "items" and isinstance(value, yaml.SequenceNode):
            for index, item in enumerate(value.value):
                if item.start_mark.index == obj.node.start_mark.index:
                    return ("items", index)
    return ()


def _object_origin(
    obj: KubeObject, prefix: JsonPath, root: yaml.Node | None, marked: yaml.Node | None, values: ValuesTrace, point: Callable[[int, int], SourcePoint]
) -> Callable[[JsonPath], SourcePoint]:
    def origin(path: JsonPath) -> SourcePoint:
        if root is not None and marked is not None:
            real_node, found = node_along(root, (*prefix, *path))
            marked_node, marked_found = node_along(marked, found)
            if real_node is not None and marked_node is not None and marked_found == found:
                source = values.source(real_node, marked_node, _data_at(obj.data, found[len(prefix) :]))
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
