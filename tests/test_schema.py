"""Schema validation: messages, lines, strictness, CRDs in the input, --schema-dir, --skip-kind,
target versions, and the shared corpus pinned per rule."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from kgen.findings import LintReport
from kgen.kubeschemas import crd_to_json_schema, parse_version, schema_file_candidates, schema_version, shipped_versions
from kgen.loader import load_text
from kgen.policies.engine import lint
from kgen.policies.policy import ClusterPolicy, apply_lint_options
from tests.conftest import CORPUS, lint_files, needs_shared, run_kgen

SCHEMA_RULES = ("schema-invalid", "schema-unknown-kind", "yaml-ambiguous-value", "api-removed", "api-deprecated")
CORPUS_COUNTS = Path(__file__).parent / "data" / "corpus-schema-findings.json"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27.0
%s
"""


def _lint(text: str, **options: object) -> LintReport:
    policy = apply_lint_options(ClusterPolicy.default(), **options)  # type: ignore[arg-type]
    return lint(load_text(text, "test.yaml"), policy)


def _found(report: LintReport, *rules: str) -> list[tuple[str, int, str, str]]:
    wanted = rules or SCHEMA_RULES
    return [(f.rule, f.line, f.path, f.message) for f in report.findings if f.rule in wanted]


def test_unknown_field_suggests_the_closest_known_one_on_its_line() -> None:
    report = _lint(DEPLOYMENT % "          imagePullPolcy: Always")
    assert _found(report) == [
        ("schema-invalid", 15, "spec.template.spec.containers[0].imagePullPolcy", "unknown field 'imagePullPolcy' (did you mean 'imagePullPolicy'?)")
    ]


def test_wrong_type_says_expected_and_got_and_missing_fields_are_named() -> None:
    text = DEPLOYMENT % "          ports:\n            - containerPort: http\n            - name: x"
    found = _found(report := _lint(text))
    assert ("schema-invalid", 16, "spec.template.spec.containers[0].ports[0].containerPort", 'expected integer, got string "http"') in found
    assert ("schema-invalid", 17, "spec.template.spec.containers[0].ports[1]", "missing required field 'containerPort'") in found
    assert all(f.severity == "error" and f.category == "schema" for f in report.findings if f.rule == "schema-invalid")


def test_no_strict_accepts_unknown_fields_but_not_wrong_types() -> None:
    text = DEPLOYMENT % "          imagePullPolcy: Always\n          stdin: maybe"
    assert [f[0] for f in _found(_lint(text))] == ["schema-invalid", "schema-invalid"]
    assert [f[3] for f in _found(_lint(text, strict=False))] == ['expected boolean, got string "maybe"']


def test_null_int_or_string_and_quantity_are_unset_not_errors() -> None:
    text = DEPLOYMENT % "          resources: {limits: {cpu: null, memory: 1Gi}, requests: {cpu: 0.5}}\n          ports: [{containerPort: 80}]"
    text += "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80, targetPort: null}, {port: 81, targetPort: http}]\n"
    assert _found(_lint(text)) == []


@pytest.mark.parametrize(
    "value,message",
    [
        ("on", 'YAML 1.1 reads unquoted on as the boolean true, but a string is expected here; quote it: "on"'),
        ("No", 'YAML 1.1 reads unquoted No as the boolean false, but a string is expected here; quote it: "No"'),
        # kubectl's go-yaml v2 reads y/Y/n/N as booleans too (PyYAML does not): the API server gets true.
        ("y", 'YAML 1.1 reads unquoted y as the boolean true, but a string is expected here; quote it: "y"'),
        ("N", 'YAML 1.1 reads unquoted N as the boolean false, but a string is expected here; quote it: "N"'),
        ("0755", 'YAML 1.1 reads unquoted 0755 as the octal number 493, but a string is expected here; quote it: "0755"'),
        ("8080", 'unquoted 8080 is a number, but a string is expected here; quote it: "8080"'),
        ("1.10", 'unquoted 1.10 is a number (read as 1.1), but a string is expected here; quote it: "1.10"'),
        ("true", 'unquoted true is a boolean, but a string is expected here; quote it: "true"'),
    ],
)
def test_yaml_11_pitfalls_are_explained_once_not_as_schema_errors(value: str, message: str) -> None:
    report = _lint(DEPLOYMENT % f"          env:\n            - name: X\n              value: {value}")
    assert _found(report) == [("yaml-ambiguous-value", 17, "spec.template.spec.containers[0].env[0].value", message)]


def test_quoted_values_and_octal_integers_are_fine() -> None:
    text = DEPLOYMENT % '          env: [{name: X, value: "on"}, {name: V, value: \'y\'}]\n      volumes: [{name: v, configMap: {name: c, defaultMode: 0644}}]'
    assert _found(_lint(text)) == []


CRD = """\
apiVersion: apiextensions.k8s.io/%s
kind: CustomResourceDefinition
metadata: {name: models.ml.example.com}
spec:
  group: ml.example.com
  scope: Namespaced
  names: {kind: Model, plural: models}
%s
"""
CRD_V1_VERSIONS = """\
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                replicas: {type: integer}
                labels: {type: object, additionalProperties: {type: string}}
                template: {type: object, x-kubernetes-embedded-resource: true, properties: {spec: {type: object}}}
"""
MODEL = "---\napiVersion: ml.example.com/v1\nkind: Model\nmetadata: {name: m}\nspec:\n%s\n"


def test_custom_resources_are_validated_against_the_crd_in_the_input() -> None:
    text = CRD % ("v1", CRD_V1_VERSIONS) + MODEL % "  replica: 2\n  labels: {tier: 1}\n  template: {apiVersion: v1, kind: Pod, spec: {}}"
    found = _found(_lint(text))
    assert ("schema-invalid", 28, "spec.replica", "unknown field 'replica' (did you mean 'replicas'?) (per CustomResourceDefinition models.ml.example.com)") in found
    assert [f[0] for f in found] == ["schema-invalid", "yaml-ambiguous-value"]
    assert _found(_lint(text, strict=False), "schema-invalid") == []


def test_legacy_v1beta1_crd_schema_is_used_too() -> None:
    legacy = "  version: v1\n  validation:\n    openAPIV3Schema:\n      type: object\n      properties:\n        spec: {type: object, properties: {replicas: {type: integer}}}"
    found = _found(_lint(CRD % ("v1beta1", legacy) + MODEL % "  replicas: two"))
    assert ("schema-invalid", 19, "spec.replicas", 'expected integer, got string "two" (per CustomResourceDefinition models.ml.example.com)') in found
    assert [f[0] for f in found] == ["api-removed", "schema-invalid"]


def test_crd_conversion_keeps_api_server_semantics() -> None:
    schema = crd_to_json_schema(
        {"type": "object", "properties": {"a": {"type": "string", "nullable": True}, "b": {"x-kubernetes-int-or-string": True}, "c": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {"d": {"type": "string"}}}}},
        strict=True,
    )
    assert schema["properties"]["a"]["type"] == ["string", "null"]
    assert schema["properties"]["b"]["type"] == ["integer", "string", "null"]  # a null field is pruned, not rejected
    assert "additionalProperties" not in schema["properties"]["c"]
    assert schema["additionalProperties"] is False and set(schema["properties"]) >= {"apiVersion", "kind", "metadata"}


def test_a_crd_schema_is_compiled_once_per_process_by_identity_not_by_content() -> None:
    """A parallel lint's parent checks custom resources again against the CRDs of a part it
    checked: the same schema object is not compiled again; an equal one read elsewhere (maybe
    changed since) is, and strict and lax validators are two."""
    from kgen.kubeschemas import compile_crd_schema

    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    first = compile_crd_schema(schema, True, "CustomResourceDefinition a.x.io")
    assert compile_crd_schema(schema, True, "CustomResourceDefinition a.x.io") is first
    assert compile_crd_schema(json.loads(json.dumps(schema)), True, "CustomResourceDefinition a.x.io") is not first
    lax = compile_crd_schema(schema, False, "CustomResourceDefinition a.x.io")
    assert lax is not first and lax.is_valid({"b": 1}) and not first.is_valid({"b": 1})


def test_a_required_crd_field_with_a_default_may_be_left_out() -> None:
    """The API server defaults before it validates (KubeRay's samples leave out minReplicas)."""
    versions = CRD_V1_VERSIONS.replace(
        "                replicas: {type: integer}\n",
        "                replicas: {type: integer, default: 1}\n                size: {type: integer}\n",
    ).replace("              properties:\n                replicas", "              required: [replicas, size]\n              properties:\n                replicas")
    found = _found(_lint(CRD % ("v1", versions) + MODEL % "  labels: {tier: a}"), "schema-invalid")
    assert [f[3] for f in found] == ["missing required field 'size' (per CustomResourceDefinition models.ml.example.com)"]


def test_a_null_crd_field_is_pruned_not_rejected() -> None:
    """The API server drops a null field whose schema is not nullable (`metadata:` left empty)."""
    text = CRD % ("v1", CRD_V1_VERSIONS) + MODEL % "  replicas: null\n  template: {apiVersion: v1, kind: Pod, spec: null}"
    assert _found(_lint(text), "schema-invalid") == []
    assert _found(_lint(CRD % ("v1", CRD_V1_VERSIONS) + MODEL % "  replicas: two"), "schema-invalid")


def test_unknown_kind_is_info_once_per_kind_and_skip_kind_silences_it() -> None:
    text = "".join(MODEL % f"  n: {i}" for i in range(3)) + "---\napiVersion: x.io/v1\nkind: Other\nmetadata: {name: o}\n"
    found = _found(report := _lint(text))
    assert [(f[0], f[1]) for f in found] == [("schema-unknown-kind", 3), ("schema-unknown-kind", 21)]
    assert "3 objects not validated" in found[0][3]
    assert {f.severity for f in report.findings if f.rule == "schema-unknown-kind"} == {"info"}
    assert _found(_lint(text, skip_kinds=("Model", "x.io/v1/Other"))) == []


def test_schema_dir_with_kubeconform_names_and_local_refs(tmp_path: Path) -> None:
    (tmp_path / "_definitions.json").write_text(json.dumps({"$defs": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}, "additionalProperties": False}}}))
    (tmp_path / "model_v1.json").write_text(json.dumps({"type": "object", "properties": {"spec": {"$ref": "_definitions.json#/$defs/spec"}}}))
    (tmp_path / "other-x-v2.json").write_text(json.dumps({"type": "object", "required": ["spec"]}))
    text = MODEL % "  sise: 1" + "---\napiVersion: x.io/v2\nkind: Other\nmetadata: {name: o}\n"
    found = _found(_lint(text, schema_dirs=(str(tmp_path),)))
    assert [(f[0], f[2]) for f in found] == [("schema-invalid", "spec.sise"), ("schema-invalid", "")]
    assert "did you mean 'size'?" in found[0][3] and "model_v1.json" in found[0][3]


def test_schema_dir_file_naming_follows_kubeconform() -> None:
    assert schema_file_candidates("monitoring.coreos.com/v1", "Prometheus") == [
        "monitoring.coreos.com/prometheus_v1.json",
        "prometheus-monitoring.coreos.com-v1.json",
        "prometheus-monitoring-v1.json",
        "prometheus_v1.json",
    ]
    assert schema_file_candidates("v1", "Pod") == ["pod-v1.json", "pod_v1.json"]


def test_schema_dir_never_fetches_remote_refs(tmp_path: Path) -> None:
    (tmp_path / "model_v1.json").write_text(json.dumps({"$ref": "https://example.com/schema.json"}))
    found = _found(_lint(MODEL % "  a: 1", schema_dirs=(str(tmp_path),)))
    assert len(found) == 1 and "never fetches" in found[0][3]


def test_target_version_picks_the_newest_shipped_schema_not_newer() -> None:
    oldest, newest = shipped_versions()[0], shipped_versions()[-1]
    assert oldest == (1, 25) and newest >= (1, 37)
    assert schema_version((1, 18)) == oldest
    assert schema_version((1, 99)) == newest
    assert schema_version((1, 30)) == (1, 30)
    assert parse_version("v1.30.2") == (1, 30)
    with pytest.raises(ValueError):
        parse_version("latest")


def test_objects_are_checked_against_the_target_version() -> None:
    claim = "apiVersion: resource.k8s.io/v1\nkind: ResourceClaim\nmetadata: {name: gpu}\nspec: {}\n"
    assert [f[0] for f in _found(_lint(claim, kube_version="1.33"))] == ["api-removed"]
    assert _found(_lint(claim, kube_version="1.34")) == []


def test_cli_flags_reach_the_rules(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(DEPLOYMENT % "          imagePullPolcy: Always" + MODEL % "  a: 1")
    strict = run_kgen("lint", str(manifest), "--format", "json", "--fail-on", "error")
    loose = run_kgen("lint", str(manifest), "--format", "json", "--no-strict", "--skip-kind", "Model", "--kube-version", "1.30")
    rules = lambda proc: Counter(f["rule"] for f in json.loads(proc.stdout)["findings"] if f["category"] == "schema")  # noqa: E731
    assert rules(strict) == {"schema-invalid": 1, "schema-unknown-kind": 1} and strict.returncode == 1
    assert rules(loose) == {}
    bad = run_kgen("lint", str(manifest), "--kube-version", "one")
    assert bad.returncode == 2 and "--kube-version" in bad.stderr and "Traceback" not in bad.stderr
    missing = run_kgen("lint", str(manifest), "--schema-dir", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "not a directory" in missing.stderr


def test_corpus_validates_without_a_crash_and_findings_per_rule_are_pinned() -> None:
    needs_shared(CORPUS)
    report = lint_files(CORPUS)
    counts = Counter(f.rule for f in report.findings if f.rule in SCHEMA_RULES)
    pinned = json.loads(CORPUS_COUNTS.read_text())
    assert {rule: counts.get(rule, 0) for rule in SCHEMA_RULES} == pinned, (
        f"schema/deprecation findings on the corpus changed; if intended, update {CORPUS_COUNTS.name}"
    )


def test_a_crd_whose_schema_does_not_compile_is_reported_not_a_crash() -> None:
    broken = CRD % ("v1", CRD_V1_VERSIONS.replace("replicas: {type: integer}", "replicas: {type: bogus}")) + MODEL % "  replicas: 1"
    found = _found(_lint(broken), "schema-invalid")
    assert len(found) == 1 and "does not compile" in found[0][3]
