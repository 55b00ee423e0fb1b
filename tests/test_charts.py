"""Charts and Kustomize dirs linted as Helm and Kustomize build them (real helm-python-sdk, real kustomize).

Every location is asserted as exact file:line on charts written to reproduce the patterns of
real ones: ranges over lists and maps, nested ranges, toYaml blocks, `---#`, capability
gates, crds/, vendored and missing dependencies, archives; and every chart fixture must keep
the findings a flat lint of `helm template` output finds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kgen.findings import Finding
from kgen.inputs import InputOptions, load_inputs
from kgen.loader import load_text
from kgen.policies.engine import lint
from kgen.policies.policy import apply_lint_options, load_policy
from tests.conftest import FIXTURES, run_kgen, write_chart

helm_python = pytest.importorskip("helm_python")

from tests.helm_template import helm_template  # noqa: E402  (needs helm_python)

CHARTS = FIXTURES / "charts"
SERVING = CHARTS / "serving"
GPU_API = FIXTURES / "kustomize" / "gpu-api"
CHART_FIXTURES = [SERVING, FIXTURES / "inputs" / "helm" / "webapp"]


def _lint(*paths: Path | str, kube_version: str | None = None, **options: object) -> list[Finding]:
    policy = apply_lint_options(load_policy(None), kube_version=kube_version)
    loaded = load_inputs([str(p) for p in paths], InputOptions(kube_version=policy.kubernetes_version, **options))  # type: ignore[arg-type]
    return lint(loaded, policy).findings


def _at(findings: list[Finding], rule: str, name: str, path: str | None = None) -> list[tuple[str, int]]:
    return sorted((f.file, f.line) for f in findings if f.rule == rule and f.object and f.object["name"] == name and (path is None or f.path == path))


def _line(file: str | Path, number: int) -> str:
    return Path(file).read_text().splitlines()[number - 1].strip()


# --- the source map --------------------------------------------------------------------------


def test_range_over_a_list_keeps_each_item_and_points_at_its_values_line() -> None:
    findings = _lint(SERVING)
    values = str(SERVING / "values.yaml")
    # Only the second model's image is unpinned: its own values line, not the first model's.
    assert _at(findings, "image-tag-unpinned", "serving-embedder") == [(values, 13)]
    assert _line(values, 13) == "image: ghcr.io/acme/embedder:latest"
    assert not _at(findings, "image-tag-unpinned", "serving-ranker")
    # The second model has no GPU toleration: the pod spec line of that template.
    template = str(SERVING / "templates" / "models.yaml")
    assert _at(findings, "gpu-toleration-missing", "serving-embedder") == [(template, 14)]
    assert [f for f in findings if f.rule == "gpu-toleration-missing"] and not _at(findings, "gpu-toleration-missing", "serving-reranker")


def test_range_over_a_map_nested_in_a_list_range_keeps_one_finding_per_object() -> None:
    findings = _lint(SERVING)
    values = str(SERVING / "values.yaml")
    secret = [(f.object["name"], f.file, f.line) for f in findings if f.rule == "secret-env-literal" and f.object]
    # One values line feeds three Deployments: three findings, never merged on the line.
    assert sorted(secret) == [(name, values, 25) for name in ("serving-embedder", "serving-ranker", "serving-reranker")]
    assert _line(values, 25).startswith("HF_TOKEN:")


def test_range_items_on_one_template_line_are_kept_apart_by_path() -> None:
    findings = _lint(SERVING)
    template = SERVING / "templates" / "node-agent.yaml"
    host_paths = sorted((f.path, f.line) for f in findings if f.rule == "security-host-path")
    assert host_paths == [("spec.template.spec.volumes[0].hostPath", 32), ("spec.template.spec.volumes[1].hostPath", 32)]
    assert _line(template, 32) == "hostPath:"


def test_document_split_after_dashes_with_a_comment_as_helm_does() -> None:
    findings = _lint(SERVING)
    template = str(SERVING / "templates" / "services.yaml")
    for name in ("serving-http", "serving-grpc"):
        assert _at(findings, "service-selector-no-match", name) == [(template, 8)]
    assert not [f for f in findings if f.rule == "yaml-invalid"]


def test_a_toyaml_block_from_values_points_at_the_values_entry(tmp_path: Path) -> None:
    chart = tmp_path / "serving"
    shutil.copytree(SERVING, chart)
    findings = _lint(chart, kube_version="1.29")  # no pod-level resources below 1.32: the container's count
    values = str(chart / "values.yaml")
    limits = "spec.template.spec.containers[0].resources.limits"
    assert _at(findings, "resources-memory-limit-missing", "serving-node-agent", limits) == [(values, 35)]
    assert _line(values, 35) == "resources:"


def test_values_from_the_parent_override_a_vendored_subchart_and_point_there() -> None:
    findings = _lint(SERVING)
    assert _at(findings, "image-tag-unpinned", "serving-metrics") == [(str(SERVING / "values.yaml"), 38)]
    assert _line(SERVING / "values.yaml", 38) == "image: ghcr.io/acme/exporter:latest"


def test_a_value_reached_through_a_yaml_merge_key_points_at_the_line_that_writes_it(tmp_path: Path) -> None:
    chart = write_chart(
        tmp_path / "merged",
        {"pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n    - name: app\n      image: {{ .Values.app.image }}\n"},
        values="defaults: &defaults\n  image: ghcr.io/acme/app:latest\napp:\n  <<: *defaults\n  replicas: 2\n",
    )
    values = str(chart / "values.yaml")
    assert _at(_lint(chart), "image-tag-unpinned", "app") == [(values, 2)]


def test_crds_in_the_chart_validate_its_custom_resources() -> None:
    findings = _lint(SERVING)
    template = str(SERVING / "templates" / "model-cache.yaml")
    assert _at(findings, "schema-invalid", "serving-cache") == [(template, 7)]
    assert not [f for f in findings if f.rule == "schema-unknown-kind"]


def test_crds_rendered_from_a_templates_subfolder_validate_custom_resources(tmp_path: Path) -> None:
    # Argo's charts render their CRDs from templates/crds/ (gated by a value), not from crds/:
    # such a path is a template like any other, and its CRD still knows the chart's custom kind.
    crd = (
        "{{- if .Values.crds.install }}\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata:\n  name: widgets.acme.io\nspec:\n  group: acme.io\n  scope: Namespaced\n"
        "  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}\n"
        "  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n"
        "        openAPIV3Schema:\n          type: object\n          properties:\n"
        "            spec:\n              type: object\n              properties:\n                replicas: {type: integer}\n"
        "{{- end }}\n"
    )
    chart = write_chart(
        tmp_path / "widgets",
        {"widget.yaml": "apiVersion: acme.io/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  replicas: {{ .Values.replicas | quote }}\n"},
        values="crds:\n  install: true\nreplicas: 2\n",
    )
    (chart / "templates" / "crds").mkdir()
    (chart / "templates" / "crds" / "widgets.yaml").write_text(crd)
    findings = _lint(chart)
    assert not [f for f in findings if f.rule in ("schema-unknown-kind", "render-failed")]
    assert _at(findings, "schema-invalid", "w") == [(str(chart / "templates" / "widget.yaml"), 6)]


def test_a_value_compared_in_a_template_that_writes_nothing_is_not_marked(tmp_path: Path) -> None:
    # defs.yaml renders nothing (only the trace's written templates are instrumented), but its
    # named template compares .Values.mode: marking mode would take the other branch in the trace.
    chart = write_chart(
        tmp_path / "gated",
        {
            "defs.yaml": '{{- define "gated.image" -}}\n{{- if eq .Values.mode "gpu" }}nvidia/cuda:latest{{ else }}busybox:1.36{{ end }}\n{{- end }}\n',
            "pod.yaml": 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n    - name: app\n      image: {{ include "gated.image" . }}\n',
        },
        values="mode: gpu\n",
    )
    findings = [f for f in _lint(chart) if f.rule == "image-tag-unpinned"]
    assert [(f.file, f.line, f.approximate) for f in findings] == [(str(chart / "templates" / "pod.yaml"), 8, False)]


def test_a_value_a_helper_compares_under_another_name_is_not_marked(tmp_path: Path) -> None:
    # Bitnami's common chart: `include "common.affinities.pods" (dict "type" .Values.preset)`, and
    # the helper compares `.type`. Marking preset would take the other branch in the tracing render
    # (no affinity lines), and every finding of the template would lose its line.
    helpers = (
        '{{- define "affinity.pods" -}}\n{{- if eq .type "soft" }}\npreferredDuringSchedulingIgnoredDuringExecution:\n'
        "  - weight: 1\n    podAffinityTerm:\n      topologyKey: kubernetes.io/hostname\n{{- end }}\n{{- end -}}\n"
    )
    chart = write_chart(
        tmp_path / "preset",
        {
            "_helpers.tpl": helpers,
            "deploy.yaml": (
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  selector:\n    matchLabels: {app: a}\n"
                "  template:\n    metadata:\n      labels: {app: a}\n    spec:\n      affinity:\n        podAntiAffinity:\n"
                '          {{- include "affinity.pods" (dict "type" .Values.preset "context" $) | nindent 10 }}\n'
                "      containers:\n        - name: app\n          image: {{ .Values.image }}\n"
            ),
        },
        values="preset: soft\nimage: ghcr.io/acme/app:latest\n",
    )
    findings = _lint(chart)
    unpinned = [(f.file, f.line, f.approximate) for f in findings if f.rule == "image-tag-unpinned"]
    assert unpinned == [(str(chart / "values.yaml"), 2, False)]
    assert not [f for f in findings if f.approximate]


def test_lines_before_the_tracing_render_parts_from_helm_keep_their_sources(tmp_path: Path) -> None:
    # `with` hides the compared value from the template scan (`eq .` names no key), so the tracing
    # render takes the other branch in the second document: its lines are unproven (approximate);
    # the first document's, written before the render differs, keep their exact sources.
    chart = write_chart(
        tmp_path / "parted",
        {
            "both.yaml": (
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: first\nspec:\n  containers:\n    - name: app\n      image: {{ .Values.image }}\n"
                "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: second\n"
                '{{- with .Values.mode }}{{- if eq . "gpu" }}\n  labels:\n    accelerator: gpu\n{{- end }}{{- end }}\n'
                "spec:\n  containers:\n    - name: app\n      image: {{ .Values.image }}\n"
            ),
        },
        values="mode: gpu\nimage: ghcr.io/acme/app:latest\n",
    )
    unpinned = {f.object["name"]: (f.file, f.line, f.approximate) for f in _lint(chart) if f.rule == "image-tag-unpinned" and f.object}
    assert unpinned["first"] == (str(chart / "values.yaml"), 2, False)
    assert unpinned["second"][2] is True


def test_values_a_template_compares_through_a_variable_and_a_helper_are_not_marked(tmp_path: Path) -> None:
    # kube-state-metrics: `$active := include "ksm.collectors" $ | fromYamlArray`, then
    # `has "secrets" $active` writes each rule. Marking the collectors would drop every rule in
    # the tracing render, and the Role's findings would lose their lines.
    chart = write_chart(
        tmp_path / "ksm",
        {
            "_helpers.tpl": '{{- define "ksm.collectors" -}}\n{{- $collectors := .Values.collectors | default (list) }}\n{{- toYaml $collectors }}\n{{- end -}}\n',
            "role.yaml": (
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: ksm\n"
                '{{- $active := include "ksm.collectors" $ | fromYamlArray }}\nrules:\n'
                '{{- if has "pods" $active }}\n- apiGroups: [""]\n  resources: [pods]\n  verbs: ["list", "watch"]\n{{- end }}\n'
                '{{- if has "secrets" $active }}\n- apiGroups: [""]\n  resources: [secrets]\n  verbs: ["list", "watch"]\n{{- end }}\n'
            ),
        },
        values="collectors:\n  - pods\n  - secrets\n",
    )
    findings = [f for f in _lint(chart) if f.rule == "rbac-secrets-access"]
    assert [(f.file, f.line, f.approximate) for f in findings] == [(str(chart / "templates" / "role.yaml"), 15, False)]
    assert _line(chart / "templates" / "role.yaml", 15) == 'verbs: ["list", "watch"]'


def test_a_file_a_value_names_is_read_in_the_tracing_render_too(tmp_path: Path) -> None:
    # Volcano: `(.Files.Glob .Values.basic.admission_config_file).AsConfig`. Marking the path made the
    # glob match nothing: the tracing render lost the ConfigMap's lines and every later finding of
    # the template fell back to line 1. Nor is a value holding template actions marked: `tpl` renders it.
    chart = write_chart(
        tmp_path / "globbed",
        {
            "admission.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: admission\ndata:\n"
                "  {{- (.Files.Glob .Values.configFile).AsConfig | nindent 2 }}\n"
                "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n    - name: app\n      image: {{ .Values.image }}\n"
                "    - name: sidecar\n      image: {{ tpl .Values.sidecar . }}\n"
            ),
        },
        values='configFile: config/admission.conf\nimage: ghcr.io/acme/app:latest\nsidecar: "ghcr.io/acme/{{ .Release.Name }}:latest"\n',
    )
    (chart / "config").mkdir()
    (chart / "config" / "admission.conf").write_text("resourceGroups:\n- name: gpu\n  labels:\n    pool: gpu\n")
    findings = _lint(chart)
    unpinned = sorted((f.file, f.line, f.approximate) for f in findings if f.rule == "image-tag-unpinned")
    assert unpinned == [(str(chart / "templates" / "admission.yaml"), 17, False), (str(chart / "values.yaml"), 2, False)]
    assert not [f for f in findings if f.approximate]


def test_a_template_a_value_names_for_an_include_stays_in_the_tracing_render(tmp_path: Path) -> None:
    # NVIDIA's VSS blueprint: `include (print $.Template.BasePath "/" $item.templateFile) $` with the
    # file name in values. The file writes nothing itself; left out of the tracing render, the render
    # failed and all the chart's findings were approximate.
    chart = write_chart(
        tmp_path / "restarts",
        {
            "external_files.yaml": "{{- if .Values.neverTrue }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n{{- end }}\n",
            "pod.yaml": (
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  annotations:\n"
                '    checksum: {{ include (print $.Template.BasePath "/" .Values.watched) $ | sha256sum }}\n'
                "spec:\n  containers:\n    - name: app\n      image: {{ .Values.image }}\n"
            ),
        },
        values="watched: external_files.yaml\nimage: ghcr.io/acme/app:latest\n",
    )
    unpinned = [(f.file, f.line, f.approximate) for f in _lint(chart) if f.rule == "image-tag-unpinned"]
    assert unpinned == [(str(chart / "values.yaml"), 2, False)]


def test_a_long_value_toyaml_folds_keeps_the_lines_after_it(tmp_path: Path) -> None:
    # go-yaml (toYaml) breaks a string at a space past column 80; a marker has no space, so marking
    # the long init command put every later line of the template one line off (approximate).
    command = "until nc -z -w 2 milvus-milvus-deployment-milvus-service 19530; do echo waiting for milvus; sleep 2; done"
    chart = write_chart(
        tmp_path / "folded",
        {
            "pod.yaml": (
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  initContainers:\n    - name: wait\n      image: busybox:1.37\n"
                "      command:\n        {{- toYaml .Values.waitCommand | nindent 8 }}\n"
                "  containers:\n    - name: app\n      image: {{ .Values.image }}\n"
            ),
        },
        values=f"waitCommand:\n  - sh\n  - -c\n  - {command}\nimage: ghcr.io/acme/app:latest\n",
    )
    findings = _lint(chart)
    assert [(f.file, f.line) for f in findings if f.rule == "image-tag-unpinned"] == [(str(chart / "values.yaml"), 5)]
    assert not [f for f in findings if f.approximate]


def test_a_template_that_writes_nothing_but_is_included_by_its_file_name_stays_traced(tmp_path: Path) -> None:
    # config.yaml is gated off, yet the pod's checksum includes it by path (a common chart idiom):
    # the tracing render, which leaves out templates that wrote nothing, must keep this one.
    chart = write_chart(
        tmp_path / "checksum",
        {
            "config.yaml": "{{- if .Values.config }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n{{- end }}\n",
            "pod.yaml": (
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  annotations:\n"
                '    checksum: {{ include (print $.Template.BasePath "/config.yaml") . | sha256sum }}\n'
                "spec:\n  containers:\n    - name: app\n      image: {{ .Values.image }}\n"
            ),
        },
        values="config: false\nimage: ghcr.io/acme/app:latest\n",
    )
    findings = [f for f in _lint(chart) if f.rule == "image-tag-unpinned"]
    assert [(f.file, f.line, f.approximate) for f in findings] == [(str(chart / "values.yaml"), 2, False)]


def test_values_a_parent_imports_from_a_subchart_are_traced_without_helm_warnings(tmp_path: Path) -> None:
    # The tracing render does without the charts' values.yaml (it is given the merged values),
    # except where a dependency imports values: Helm reads those from the subchart's defaults.
    parent = write_chart(
        tmp_path / "parent",
        {"pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n    - name: app\n      image: {{ .Values.imported.image }}\n"},
        values="imported: {}\n",
    )
    (parent / "Chart.yaml").write_text(
        "apiVersion: v2\nname: parent\nversion: 0.1.0\ndependencies:\n  - name: sub\n    version: 0.1.0\n"
        "    import-values:\n      - child: exported\n        parent: imported\n"
    )
    write_chart(parent / "charts" / "sub", {}, values="exported:\n  image: ghcr.io/acme/app:latest\n")
    result = run_kgen("lint", str(parent), "--format", "json")
    unpinned = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "image-tag-unpinned"]
    assert [(f["file"], f["line"], f.get("approximate")) for f in unpinned] == [(str(parent / "templates" / "pod.yaml"), 8, None)]
    assert "ImportValues" not in result.stderr, result.stderr


def test_a_file_read_by_a_long_path_reaches_the_tracing_render(tmp_path: Path) -> None:
    # The tracing render loads the chart from an archive kgen writes: a path longer than a tar
    # header's name field (100 bytes) must arrive whole, or the trace differs and turns approximate.
    long_path = "files/" + "d" * 120 + "/image-é.txt"
    chart = write_chart(
        tmp_path / "files",
        {"pod.yaml": f'apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n    - name: app\n      image: {{{{ .Files.Get "{long_path}" | trim }}}}\n'},
    )
    (chart / long_path).parent.mkdir(parents=True)
    (chart / long_path).write_text("ghcr.io/acme/app:latest\n")
    findings = [f for f in _lint(chart) if f.rule == "image-tag-unpinned"]
    assert [(f.file, f.line, f.approximate) for f in findings] == [(str(chart / "templates" / "pod.yaml"), 8, False)]


def test_no_finding_is_approximate_on_the_fixture_charts() -> None:
    for chart in CHART_FIXTURES:
        assert not [f for f in _lint(chart) if f.approximate], chart


def test_objects_written_by_an_include_point_at_the_include_line(tmp_path: Path) -> None:
    chart = write_chart(
        tmp_path / "lib",
        {
            "_pod.tpl": '{{- define "lib.pod" -}}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n      image: a:1\n      securityContext: {privileged: true}\n{{- end }}\n',
            "pod.yaml": '# rendered by the library\n{{ include "lib.pod" . }}\n',
        },
    )
    result = run_kgen("lint", str(chart), "--format", "json")
    privileged = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "security-privileged"]
    # Everything comes from one include: the include's line, the only line that wrote it.
    assert [(f["file"], f["line"], f.get("approximate")) for f in privileged] == [(str(chart / "templates" / "pod.yaml"), 2, None)]


# --- rendering as Helm does ------------------------------------------------------------------


def test_kube_version_reaches_capabilities() -> None:
    # Pod-level resources exist from 1.32: the chart gates them, so 1.29 gets no schema error...
    assert not [f for f in _lint(SERVING, kube_version="1.29") if f.rule == "schema-invalid" and f.object and f.object["kind"] == "DaemonSet"]
    # ...which it would get if the render ignored the target version (Helm's default is newer).
    with helm_python.Chart.load(str(SERVING)) as chart:
        rendered = chart.render({}, name="serving")["serving/templates/node-agent.yaml"]
    flat = lint(load_text(rendered, "node-agent.yaml"), apply_lint_options(load_policy(None), kube_version="1.29"))
    assert [f for f in flat.findings if f.rule == "schema-invalid"]


def test_release_name_and_namespace_as_helm_template(tmp_path: Path) -> None:
    findings = _lint(SERVING, release_name="prod", namespace="ml")
    assert {f.object["name"] for f in findings if f.rule == "secret-env-literal" and f.object} == {"prod-ranker", "prod-embedder", "prod-reranker"}
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: kgen.dev/v1alpha1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec:\n"
        "  namespaces:\n    ml:\n      quota: {requests.cpu: '1'}\n"
    )
    in_ml = run_kgen("lint", str(SERVING), "--namespace", "ml", "--policy", str(policy), "--format", "json")
    elsewhere = run_kgen("lint", str(SERVING), "--namespace", "web", "--policy", str(policy), "--format", "json")
    assert "quota-exceeded" in {f["rule"] for f in json.loads(in_ml.stdout)["findings"]}
    assert "quota-exceeded" not in {f["rule"] for f in json.loads(elsewhere.stdout)["findings"]}


def test_missing_dependency_is_a_render_failed_finding_with_helms_message() -> None:
    result = run_kgen("lint", str(CHARTS), "--format", "json")
    findings = json.loads(result.stdout)["findings"]
    failed = [f for f in findings if f["rule"] == "render-failed"]
    chart_yaml = CHARTS / "missing-dependency" / "Chart.yaml"
    assert result.returncode == 1 and [(f["file"], f["line"]) for f in failed] == [(str(chart_yaml), 5)]
    assert "found in Chart.yaml, but missing in charts/ directory: redis" in failed[0]["message"]
    assert "helm dependency build" in failed[0]["message"]
    # The other chart of the folder is still linted.
    assert any(f["object"] and f["object"]["name"] == "serving-embedder" for f in findings)


def test_a_template_error_is_a_render_failed_finding_at_the_template_line(tmp_path: Path) -> None:
    chart = tmp_path / "broken"
    shutil.copytree(SERVING, chart)
    (chart / "templates" / "broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ required \"set name\" .Values.nope }}\n")
    result = run_kgen("lint", str(chart), "--format", "json")
    failed = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "render-failed"]
    assert result.returncode == 1 and [(f["file"], f["line"]) for f in failed] == [(str(chart / "templates" / "broken.yaml"), 4)]
    assert "set name" in failed[0]["message"]


def test_a_fail_message_of_several_lines_is_reported_on_one_line(tmp_path: Path) -> None:
    # NVIDIA's device plugin refuses the default namespace with a `fail` text of four lines.
    chart = write_chart(tmp_path / "guarded", {"guard.yaml": '{{- if eq .Release.Namespace "default" }}\n{{- fail "\\nNot in default.\\nUse --namespace." }}\n{{- end }}\n'})
    result = run_kgen("lint", str(chart))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Not in default. Use --namespace.  render-failed" in result.stdout and "\\x0a" not in result.stdout


def test_a_chart_archive_and_an_archived_dependency(tmp_path: Path) -> None:
    chart = tmp_path / "serving"
    shutil.copytree(SERVING, chart)
    shutil.rmtree(chart / "charts" / "metrics")
    helm_python.package(str(SERVING / "charts" / "metrics"), destination=str(chart / "charts"))
    archive = helm_python.package(str(chart), destination=str(tmp_path))
    from_dir, from_archive = _lint(chart), _lint(archive)
    assert _keys(from_dir) == _keys(from_archive) == _keys(_lint(SERVING))
    exporter = [f for f in from_dir if f.object and f.object["name"] == "serving-metrics" and f.rule == "image-tag-unpinned"]
    assert [(f.file, f.line) for f in exporter] == [(str(chart / "values.yaml"), 38)]
    models = [f for f in from_archive if f.rule == "gpu-toleration-missing"]
    assert [(f.file, f.line) for f in models] == [(f"{archive}#serving/templates/models.yaml", 14)]


def test_skip_schema_validation(tmp_path: Path) -> None:
    chart = tmp_path / "serving"
    shutil.copytree(SERVING, chart)
    (chart / "values.schema.json").write_text(json.dumps({"$ref": "https://example.com/values.schema.json"}))
    blocked = run_kgen("lint", str(chart), "--format", "json")
    assert [f["rule"] for f in json.loads(blocked.stdout)["findings"]] == ["render-failed"]
    skipped = run_kgen("lint", str(chart), "--skip-schema-validation", "--format", "json")
    assert _rows(json.loads(skipped.stdout)["findings"]) == _rows([f.to_json() for f in _lint(SERVING)])


def _rows(findings: list[dict]) -> set[tuple]:
    return {(f["rule"], json.dumps(f["object"], sort_keys=True), f["path"]) for f in findings}


def _keys(findings: list[Finding]) -> set[tuple]:
    return {(f.rule, json.dumps(f.object, sort_keys=True), f.path) for f in findings}


# --- walks -----------------------------------------------------------------------------------


def test_a_folder_without_objects_is_exit_2_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("replicas: 2\n")
    result = run_kgen("lint", str(tmp_path))
    assert result.returncode == 2 and "nothing to lint: no Kubernetes object found" in result.stderr
    templates = {"x.yaml": "{{- if .Values.enabled }}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n{{- end }}\n"}
    chart = write_chart(tmp_path / "empty", templates)
    result = run_kgen("lint", str(chart))
    assert result.returncode == 2 and "the chart rendered no Kubernetes object" in result.stderr
    write_chart(chart, templates, chart_type="library")
    result = run_kgen("lint", str(chart))
    assert result.returncode == 2 and "a library chart (type: library) renders nothing on its own" in result.stderr


def test_an_unparsable_file_in_a_walk_is_a_finding_and_the_rest_is_linted(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "rules" / "security-privileged" / "fail.yaml", tmp_path / "good.yaml")
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x\n")
    (tmp_path / "binary.yaml").write_bytes(b"\x00\x01")
    result = run_kgen("lint", str(tmp_path), "--format", "json")
    findings = json.loads(result.stdout)["findings"]
    assert result.returncode == 1
    assert {(Path(f["file"]).name, f["rule"]) for f in findings if f["rule"] == "yaml-invalid"} == {("bad.yaml", "yaml-invalid"), ("binary.yaml", "yaml-invalid")}
    assert "security-privileged" in {f["rule"] for f in findings}


def test_kustomize_overlay_retags_and_patches_point_at_what_set_the_value() -> None:
    findings = _lint(GPU_API)  # a walk: the base is included by the overlay, the patch is no object
    overlay = GPU_API / "overlays" / "prod"
    assert {f.object["name"] for f in findings if f.object} == {"prod-api"}
    assert not [f for f in findings if f.rule in ("yaml-invalid", "schema-invalid")]
    assert _at(findings, "image-tag-unpinned", "prod-api") == [(str(overlay / "kustomization.yaml"), 8)]
    assert _line(overlay / "kustomization.yaml", 8) == "- name: ghcr.io/acme/api"
    patch = overlay / "patches" / "tolerations.yaml"
    assert _at(findings, "gpu-toleration-missing", "prod-api") == [(str(patch), 8)]
    assert _at(findings, "security-readonly-rootfs", "prod-api") == [(str(patch), 14)]


def test_a_kustomization_with_a_duplicate_key_still_maps_findings_to_their_sources(tmp_path: Path) -> None:
    # aibrix's gpu-optimizer overlay writes `apiVersion:` twice; Kustomize builds it, and kgen's own
    # reading of it (resources, patches) refused it: every finding fell to the kustomization's 1:1.
    base = tmp_path / "base"
    base.mkdir()
    (base / "kustomization.yaml").write_text("resources:\n- deployment.yaml\n")
    (base / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  selector:\n    matchLabels: {app: api}\n"
        "  template:\n    metadata:\n      labels: {app: api}\n    spec:\n      containers:\n        - name: api\n          image: busybox\n"
    )
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamePrefix: acme-\nresources:\n- ../base\n"
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
    )
    findings = [f for f in _lint(overlay) if f.rule == "image-tag-unpinned"]
    assert [(f.file, f.line, f.approximate) for f in findings] == [(str(base / "deployment.yaml"), 14, False)]


def test_a_sidecar_a_patch_puts_first_moves_no_finding_of_the_container_after_it(tmp_path: Path) -> None:
    # kubebuilder's kube-rbac-proxy patch (kaito): a strategic merge puts a sidecar before the
    # manager, the base's first container. Each finding stays with its own container: the
    # manager's at the base's lines (were approximate), the sidecar's at the patch's (were the manager's).
    base = tmp_path / "manager"
    base.mkdir()
    (base / "kustomization.yaml").write_text("resources:\n- manager.yaml\n")
    (base / "manager.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: controller\nspec:\n  selector:\n    matchLabels: {app: c}\n"
        "  template:\n    metadata:\n      labels: {app: c}\n    spec:\n      containers:\n      - name: manager\n"
        "        image: ghcr.io/acme/manager:v1.0.0\n        securityContext:\n          allowPrivilegeEscalation: false\n"
        "        livenessProbe:\n          httpGet:\n            path: /healthz\n            port: 8081\n"
    )
    overlay = tmp_path / "default"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources:\n- ../manager\npatches:\n- path: proxy_patch.yaml\n")
    (overlay / "proxy_patch.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: controller\nspec:\n  template:\n    spec:\n      containers:\n"
        "      - name: proxy\n        image: ghcr.io/acme/proxy:v0.14.1\n        securityContext:\n          allowPrivilegeEscalation: false\n"
    )
    findings = _lint(overlay)
    readonly = sorted((f.path, Path(f.file).name, f.line, f.approximate) for f in findings if f.rule == "security-readonly-rootfs")
    assert readonly == [
        ("spec.template.spec.containers[0].securityContext", "proxy_patch.yaml", 11, False),
        ("spec.template.spec.containers[1].securityContext", "manager.yaml", 15, False),
    ]
    port = [(Path(f.file).name, f.line, f.approximate) for f in findings if f.rule == "probe-port-undeclared"]
    assert port == [("manager.yaml", 20, False)]


def test_a_base_two_roots_build_reports_its_finding_once(tmp_path: Path) -> None:
    # Argo Workflows' quick-start base is built by five roots of the manifests tree: one finding at
    # the base's line, for one object and path, is one finding (it was reported five times).
    base = tmp_path / "base"
    base.mkdir()
    (base / "kustomization.yaml").write_text("resources:\n- secret.yaml\n")
    (base / "secret.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: minio-cred\nstringData:\n  secretkey: hunter2hunter2\n")
    for name in ("minimal", "postgres"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "kustomization.yaml").write_text("resources:\n- ../base\n")
    committed = [(f.file, f.line) for f in _lint(tmp_path) if f.rule == "secret-object-committed"]
    assert committed == [(str(base / "secret.yaml"), 5)]


def test_kgen_build_output_lints_each_environment_once_and_passes(tmp_path: Path) -> None:
    spec = tmp_path / "kgen.yaml"
    assert run_kgen("init", str(spec)).returncode == 0
    assert run_kgen("build", str(spec), "-o", str(tmp_path / "deploy")).returncode == 0
    result = run_kgen("lint", str(tmp_path / "deploy"), "--format", "json")
    document = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout
    keys = [(f["rule"], json.dumps(f["object"]), f["path"]) for f in document["findings"]]
    assert len(keys) == len(set(keys)) and not [f for f in document["findings"] if f["rule"] == "yaml-invalid"]
    for target in ("kustomize", "helm"):
        one = run_kgen("lint", str(tmp_path / "deploy" / target), "--format", "json")
        assert one.returncode == 0 and json.loads(one.stdout)["summary"]["objects"] == document["summary"]["objects"], target


# --- nothing lost: the flat render of `helm template` finds the same ---------------------------

@pytest.mark.parametrize("chart", CHART_FIXTURES, ids=lambda p: p.name)
def test_chart_lint_keeps_every_finding_of_the_flat_render(chart: Path) -> None:
    policy = apply_lint_options(load_policy(None), kube_version="1.35")
    flat = lint(load_text(helm_template(str(chart), "1.35"), "helm-template.yaml"), policy).findings
    assert flat
    assert _keys(_lint(chart, kube_version="1.35")) == _keys(flat)


def test_a_value_set_with_set_points_at_the_template_not_at_the_file_it_overrides() -> None:
    findings = _lint(SERVING, set_values=["metrics.image=ghcr.io/acme/exporter"])
    exporter = SERVING / "charts" / "metrics" / "templates" / "exporter.yaml"
    assert _at(findings, "image-tag-unpinned", "serving-metrics") == [(str(exporter), 17)]
    assert _line(exporter, 17) == "image: {{ .Values.image }}"


@pytest.mark.parametrize("root", [GPU_API / "overlays" / "prod", FIXTURES / "inputs" / "kustomize" / "overlays" / "prod"], ids=lambda p: p.parent.parent.name)
def test_kustomize_lint_keeps_every_finding_of_the_flat_build(root: Path) -> None:
    import subprocess

    from kgen.kustomize import kustomize_command

    command = kustomize_command()
    assert command is not None
    built = subprocess.run([*command, str(root)], capture_output=True, text=True, check=True).stdout
    policy = load_policy(None)
    flat = lint(load_text(built, "kustomize-build.yaml"), policy).findings
    assert flat
    assert _keys(lint(load_inputs([str(root)]), policy).findings) == _keys(flat)


def test_a_chart_folder_named_otherwise_than_the_chart(tmp_path: Path) -> None:
    chart = tmp_path / "serving-src"
    shutil.copytree(SERVING, chart)
    findings = _lint(chart)
    assert _at(findings, "gpu-toleration-missing", "serving-embedder") == [(str(chart / "templates" / "models.yaml"), 14)]
    assert not [f for f in findings if f.approximate]
