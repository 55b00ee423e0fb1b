"""Hostile input (issue 18): every reported input, reproduced. No traceback, no hang, no false pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, lint_yaml, run_kgen

TRITON = (FIXTURES / "specs" / "triton.yaml").read_text()
CAPACITY_POLICY = FIXTURES / "capacity" / "policy.yaml"


def assert_clean_failure(result, code: int = 2) -> None:
    """Exit ``code``, no Python traceback, and the error in a few lines (not a stack)."""
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    assert result.returncode == code, (result.returncode, result.stderr)


# --- 1. no traceback: null-robust spec validation ------------------------------------------------

SPEC_EDITS = {
    "readiness probe null": ("      readiness: {http: {path: /v2/health/ready}}", "      readiness: null", None),
    "storage volume null": ("      models: {mountPath: /models, existingClaim: model-store, accessMode: ReadOnlyMany, readOnly: true}", "      models: null", None),
    "port null": ("      metrics: {port: 8002}", "      metrics: null", None),
    "port without port": ("      metrics: {port: 8002}", "      metrics: {protocol: TCP}", "components.triton.ports.metrics: 'port' is required"),
    "autoscaling max null": ("    replicas: 2\n", "    replicas: 2\n    autoscaling: {min: 1, max: null, cpu: 80}\n", "components.triton.autoscaling: 'max' is required"),
    "allowComponents null": ("    replicas: 2\n", "    replicas: 2\n    networkPolicy: {allowComponents: null}\n", None),
}


@pytest.mark.parametrize("case", sorted(SPEC_EDITS))
def test_null_in_a_spec_component_is_a_located_error_or_a_deletion(case: str, tmp_path: Path) -> None:
    before, after, error = SPEC_EDITS[case]
    spec = tmp_path / "kgen.yaml"
    spec.write_text(TRITON.replace(before, after, 1))
    from kgen.generator.spec import SpecError
    from kgen.generator.validation import validated_spec

    if error is None:
        validated_spec(str(spec))  # null deletes the field: still a valid spec
        from kgen.generator.build import render_environments

        assert len(list(render_environments(str(spec)))) == 2
    else:
        with pytest.raises(SpecError) as raised:
            validated_spec(str(spec))
        assert error in str(raised.value)
        assert str(raised.value).startswith(f"{spec}:")


def test_a_broken_spec_in_a_linted_directory_is_a_finding_and_the_rest_is_linted(tmp_path: Path) -> None:
    (tmp_path / "kgen.yaml").write_text(TRITON.replace("      metrics: {port: 8002}", "      metrics: {protocol: TCP}"))
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: 'nginx:1.2'}\n")
    result = run_kgen("lint", str(tmp_path), "--format", "json")
    assert_clean_failure(result, 1)  # a per-file problem is a finding (DESIGN.md exit codes)
    findings = json.loads(result.stdout)["findings"]
    spec_problem = next(f for f in findings if f["file"].endswith("kgen.yaml"))
    assert spec_problem["rule"] == "yaml-invalid" and spec_problem["line"] == 15
    assert "'port' is required" in spec_problem["message"]
    assert any(f["file"].endswith("pod.yaml") for f in findings)


# --- 1. no traceback: rules meeting unexpected shapes ----------------------------------------------

ODD_SHAPES = """\
apiVersion: v1
kind: Pod
metadata: {name: odd, namespace: ns}
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - {key: [a], operator: In, values: [x]}
  containers:
  - name: c
    image: nginx:1.2
    ports:
    - containerPort: [80]
---
apiVersion: v1
kind: Pod
metadata: {name: fine, namespace: ns}
spec:
  containers:
  - {name: c, image: 'nginx:1.2'}
"""


def test_a_rule_crash_skips_the_object_with_a_note_and_the_run_completes() -> None:
    from kgen.policies.catalog import all_rules

    report = lint_yaml(ODD_SHAPES)
    rule = all_rules()["probe-readiness-missing"]
    original = rule.check

    def exploding(target, context):
        if getattr(target, "obj", None) is not None and target.obj.name == "odd":
            raise TypeError("unhashable type: 'list'")
        return original(target, context)

    try:
        object.__setattr__(rule, "check", exploding)
        crashed = lint_yaml(ODD_SHAPES)
    finally:
        object.__setattr__(rule, "check", original)
    assert any("rule probe-readiness-missing skipped Pod/odd" in note for note in crashed.notes)
    # Every other rule and object is still judged: only the crashing rule's findings on `odd` are gone.
    expected = {(f.rule, f.object["name"]) for f in report.findings} - {("probe-readiness-missing", "odd")}
    assert {(f.rule, f.object["name"]) for f in crashed.findings} == expected


def test_odd_shapes_never_end_lint_or_capacity(tmp_path: Path) -> None:
    manifest = tmp_path / "odd.yaml"
    manifest.write_text(ODD_SHAPES)
    result = run_kgen("lint", str(manifest), "--format", "json")
    assert_clean_failure(result, 1)
    assert {f["object"]["name"] for f in json.loads(result.stdout)["findings"]} == {"odd", "fine"}
    capacity = run_kgen("capacity", str(manifest), "--policy", str(CAPACITY_POLICY))
    assert_clean_failure(capacity, 0)


def test_capacity_survives_quantities_and_counts_beyond_float(tmp_path: Path) -> None:
    manifest = tmp_path / "huge.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: huge, namespace: ml}\nspec:\n  containers:\n  - name: c\n    image: x:1\n"
        "    resources:\n      requests: {cpu: '1e400', memory: '1e400'}\n      limits: {cpu: '1e400', memory: '1e400'}\n"
    )
    policy = tmp_path / "policy.yaml"
    policy.write_text(CAPACITY_POLICY.read_text().replace("count: 4", "count: " + "9" * 400))
    for fmt in ("text", "json"):
        result = run_kgen("capacity", str(manifest), "--policy", str(policy), "--format", fmt)
        assert_clean_failure(result, 0)
    json.loads(result.stdout)  # strict JSON: no Infinity


# --- 1. no traceback: policies, --set, baselines, environment faults -------------------------------

POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\nspec:\n  containers:\n  - {name: c, image: 'nginx:1.2'}\n"
RULE_SCHEMAS = {
    "type banana": ("{properties: {metadata: {type: banana}}}", "schema.properties.metadata.type: not a usable JSON schema"),
    "bad pattern": ("{properties: {metadata: {properties: {name: {pattern: '('}}}}}", 'not a "regex"'),
    "unresolvable ref": ("{$ref: '#/$defs/nope'}", "/$defs/nope"),
    "http ref": ("{properties: {spec: {$ref: 'http://127.0.0.1:9/x.json'}}}", "schema.properties.spec.$ref: $ref 'http://127.0.0.1:9/x.json'"),
    "file ref": ("{properties: {spec: {$ref: 'file:///etc/passwd'}}}", "$ref 'file:///etc/passwd'"),
    "relative ref": ("{properties: {spec: {$ref: 'other.json'}}}", "$ref 'other.json'"),
    "foreign meta-schema": ("{$schema: 'http://127.0.0.1:9/meta', type: object}", "$schema"),
}


def _policy_with_rule(tmp_path: Path, schema: str) -> Path:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: kgen.dev/v1alpha1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec:\n  customRules:\n"
        f"  - id: my-rule\n    message: bad\n    schema: {schema}\n"
    )
    return policy


@pytest.mark.parametrize("case", sorted(RULE_SCHEMAS))
def test_an_unusable_custom_rule_schema_is_a_located_policy_error(case: str, tmp_path: Path) -> None:
    from kgen.errors import InputError
    from kgen.policies.policy import load_policy

    schema, expected = RULE_SCHEMAS[case]
    with pytest.raises(InputError) as raised:
        load_policy(str(_policy_with_rule(tmp_path, schema)))
    assert expected in str(raised.value) and raised.value.line == 8


def test_a_custom_rule_may_refer_to_the_shipped_kubernetes_definitions(tmp_path: Path) -> None:
    schema = "{properties: {spec: {properties: {containers: {items: {$ref: 'https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.api.core.v1.Container'}}}}}}"
    report = lint_yaml(POD.replace("image: 'nginx:1.2'", "image: 7"), policy=_policy_with_rule(tmp_path, schema))
    assert any(f.rule == "my-rule" for f in report.findings)


@pytest.mark.parametrize("pair", ["a..b=1", ".=1", "a[-1]=1", "a[99999999]=1", "=5", "a[0=1", "a=1,,b=2"])
def test_a_malformed_set_is_a_one_line_error(pair: str) -> None:
    from kgen.errors import InputError
    from kgen.inputs import _chart_values

    with pytest.raises(InputError) as raised:
        _chart_values([], [pair])
    assert str(raised.value).startswith(f"--set {pair!r}: ") and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "document",
    [
        '{"version": 1, "findings": [{"rule": "x", "object": "str", "path": "p"}]}',
        '{"version": 1, "findings": [{"rule": ["x"], "object": {}, "path": "p"}]}',
        '{"version": 1, "findings": [' + "[" * 100_000 + "]" * 100_000 + "]}",
        '{"version": 1, "findings": [{"rule": "x", "path": "p", "object": ' + '{"a":' * 100_000 + "1" + "}" * 100_000 + "}]}",
    ],
    ids=["object-string", "rule-list", "deep-array", "deep-object"],
)
def test_a_malformed_baseline_is_a_one_line_error(document: str, tmp_path: Path) -> None:
    from kgen.baseline import read_baseline
    from kgen.errors import InputError

    baseline = tmp_path / "baseline.json"
    baseline.write_text(document)
    with pytest.raises(InputError) as raised:
        read_baseline(str(baseline))
    assert str(raised.value).startswith(str(baseline))


def test_environment_faults_are_one_line_errors(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD)
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    for args in (
        ["lint", str(manifest), "-o", str(not_a_dir / "report.json")],
        ["lint", str(manifest), "--write-baseline", str(not_a_dir / "baseline.json")],
        ["init", str(not_a_dir / "kgen.yaml")],
    ):
        result = run_kgen(*args)
        assert_clean_failure(result, 2)
        assert f"kgen: error: {not_a_dir}" in result.stderr
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "kgen", "lint", str(manifest)], stdout=full, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 2 and "No space left on device" in proc.stderr and "Traceback" not in proc.stderr
    closed = subprocess.run([sys.executable, "-m", "kgen", "lint", "-"], stdin=subprocess.DEVNULL, capture_output=True, text=True, preexec_fn=lambda: __import__("os").close(0))
    assert closed.returncode == 2 and "standard input is closed" in closed.stderr and "Traceback" not in closed.stderr


# --- 2. no hang, no silent pass ---------------------------------------------------------------------


def test_fifos_and_devices_are_refused_by_name_without_blocking(tmp_path: Path) -> None:
    import os

    (tmp_path / "ok.yaml").write_text(POD)
    os.mkfifo(tmp_path / "fifo.yaml")
    os.mkdir(tmp_path / "sub")
    os.mkfifo(tmp_path / "sub" / "deep.yml")
    walked = run_kgen("lint", str(tmp_path), "--format", "json")  # a blocking open would hang the test run here
    assert_clean_failure(walked, 1)  # FIFOs met in a walk are findings (DESIGN.md exit codes)
    refused = {f["file"]: f["message"] for f in json.loads(walked.stdout)["findings"] if f["rule"] == "yaml-invalid"}
    assert refused == {str(tmp_path / "fifo.yaml"): "not a regular file (a FIFO); refused", str(tmp_path / "sub" / "deep.yml"): "not a regular file (a FIFO); refused"}
    assert any(f["file"].endswith("ok.yaml") for f in json.loads(walked.stdout)["findings"])
    for args in (["lint", str(tmp_path / "fifo.yaml")], ["lint", "/dev/zero"], ["validate", str(tmp_path / "fifo.yaml")],
                 ["lint", str(tmp_path / "ok.yaml"), "--baseline", str(tmp_path / "fifo.yaml")],
                 ["lint", str(tmp_path / "ok.yaml"), "--policy", str(tmp_path / "fifo.yaml")], ["capacity", str(tmp_path)], ["fix", str(tmp_path)]):  # fmt: skip
        result = run_kgen(*args)
        assert_clean_failure(result, 2)
        assert "not a regular file" in result.stderr


def test_a_fifo_below_a_kustomization_is_refused_for_every_root_that_reads_it(tmp_path: Path) -> None:
    import os

    from kgen.errors import InputError
    from kgen.kustomize import read_root

    base = tmp_path / "app" / "base"
    base.mkdir(parents=True)
    (base / "kustomization.yaml").write_text("resources: []\n")
    (tmp_path / "app" / "kustomization.yaml").write_text("resources: [base]\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "kustomization.yaml").write_text("resources: [../app/base]\n")
    (tmp_path / "clean").mkdir()
    (tmp_path / "clean" / "kustomization.yaml").write_text("resources: [../app]\n")
    os.mkfifo(base / "pipe")
    for root in ("app", "other", "clean", "app"):  # a refusal is not remembered as a folder searched
        with pytest.raises(InputError, match="not a regular file"):
            read_root(str(tmp_path / root))


def test_an_unreadable_directory_in_a_walk_is_a_finding_never_a_silent_pass(tmp_path: Path, monkeypatch) -> None:
    import os

    from kgen.inputs import load_inputs
    from kgen.loader import load_paths

    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "pod.yaml").write_text(POD)
    real_scandir = os.scandir

    def scandir(path):  # tests run as root, where chmod 000 cannot lock anyone out
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    for loaded in (load_inputs([str(tmp_path)]), load_paths([str(tmp_path)])):
        assert not loaded.objects
        assert [(p.file, p.message) for p in loaded.problems] == [(str(tmp_path / "locked"), "cannot read directory: Permission denied")]


# --- 6. fix stays inside what it was given ---------------------------------------------------------

UNFIXED = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: c\n    image: nginx:1.2\n    securityContext:\n      privileged: false\n"


def test_fix_never_writes_through_a_symlink_out_of_the_named_directory(tmp_path: Path) -> None:
    import os

    outside, walked = tmp_path / "outside", tmp_path / "walked"
    outside.mkdir()
    walked.mkdir()
    (outside / "target.yaml").write_text(UNFIXED)
    os.symlink(outside / "target.yaml", walked / "link.yaml")
    (walked / "own.yaml").write_text(UNFIXED)
    (walked / "broken.yaml").write_text("a: [\n")
    result = run_kgen("fix", str(walked))
    assert_clean_failure(result, 2)
    assert (outside / "target.yaml").read_text() == UNFIXED
    assert os.path.islink(walked / "link.yaml") and (walked / "own.yaml").read_text() != UNFIXED
    assert f"{walked / 'link.yaml'}: a symlink to {outside / 'target.yaml'}, outside the paths given; left untouched" in result.stderr
    assert f"{walked / 'broken.yaml'}:2: invalid YAML" in result.stderr
    assert "in 1 file;" in result.stderr  # the link is not counted as fixed


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_fix_keeps_each_files_line_endings(newline: str, tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_bytes(UNFIXED.replace("\n", newline).encode())
    result = run_kgen("fix", str(manifest))
    assert_clean_failure(result, 1)  # the memory limit is left for the user
    fixed = manifest.read_bytes().decode()
    assert "allowPrivilegeEscalation: false" in fixed
    other_endings = {"\n": ["\r"], "\r\n": ["\r\r", "\n\n"], "\r": ["\n"]}[newline]
    assert not any(ending in fixed for ending in other_endings)
    assert fixed.count(newline) == len(fixed.splitlines())


# --- 3. linear time -------------------------------------------------------------------------------

# Values that made a secret pattern backtrack catastrophically (seconds to minutes each). The test
# asserts what is found; the time each takes is a figure of benchmarks/bench_hostile.py. A pattern
# that regresses to quadratic makes this test run for minutes instead of milliseconds.
ADVERSARIAL_STRINGS = {
    "190 KB of PEM BEGIN lines": "-----BEGIN X-----\n" * 10_600,
    "280 KB of JWK-like members": '{"kty": "RSA", ' + '"kty": "RSA", "n": "AQAB", ' * 10_000 + "}",
    "200 KB run of dashes before PRIVATE KEY": "-" * 200_000 + " PRIVATE KEY",
    "100 KB of BEGIN label without PRIVATE": "-----BEGIN " + "A" * 100_000 + " PRIVATE KEY",
    "200 KB of URL-ish words": "a." * 100_000 + "://user:pass",
    "200 KB of repeated schemes": "x://" * 50_000 + "@",
    "200 KB of template openers": "{{" * 100_000,
    "200 KB of ${ openers": "${" * 100_000,
    "200 KB of JWT prefixes": "eyJ" + "a" * 200_000,
    "200 KB of repeated JWT heads": "eyJaaaaaaaaaa." * 15_000,
    "200 KB of GitLab prefixes": "glpat-" * 35_000,
    "200 KB of OpenAI prefixes": ("sk-" + "a" * 30) * 6_000 + "T3BlbkFJ",
    "100 KB upper-case name": "A" * 100_000,
    "200 KB single config line": "password = " + "a" * 200_000 + " ;x",
    "200 KB of Stripe prefixes": "sk_live_" * 25_000,
    "200 KB of AWS-like ids": "AKIA" * 50_000,
    "200 KB of digits, then a letter": "1" * 200_000 + "x",
    "200 KB of durations, then a letter": "1m" * 100_000 + "x",
    "100 KB of angle brackets": "<" * 100_000,
}

# What find_token reports on each (None for the rest): the adversarial prefix hides nothing.
FOUND_IN = {"200 KB of repeated JWT heads": "a JSON Web Token", "200 KB of GitLab prefixes": "a GitLab token",
            "190 KB of PEM BEGIN lines, then a key": "a private key block", "200 KB of URL-ish words, then a URL": "a URL with an embedded password"}  # fmt: skip
ADVERSARIAL_STRINGS["190 KB of PEM BEGIN lines, then a key"] = ADVERSARIAL_STRINGS["190 KB of PEM BEGIN lines"] + "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n"
ADVERSARIAL_STRINGS["200 KB of URL-ish words, then a URL"] = ADVERSARIAL_STRINGS["200 KB of URL-ish words"] + " postgres://app:s3cretpw@db:5432/app"


@pytest.mark.parametrize("name", sorted(ADVERSARIAL_STRINGS))
def test_secret_patterns_on_adversarial_strings(name: str) -> None:
    from kgen.policies.secret_patterns import find_token, high_entropy_runs, is_benign_value, is_secret_name, secret_assignments

    text = ADVERSARIAL_STRINGS[name]
    found = find_token(text)
    assert (found.label if found else None) == FOUND_IN.get(name)
    assert list(high_entropy_runs(text)) == []
    assert list(secret_assignments(text)) == []
    is_secret_name(text)
    is_benign_value(text)
    from kgen.policies.secret_values import content_secret, is_placeholder, setting_secret

    setting_secret("DB_PASSWORD", text)
    content_secret("app.conf", text)
    is_placeholder(text)


def test_the_linear_rewrites_find_what_the_patterns_found() -> None:
    from kgen.policies.secret_patterns import find_token, high_entropy_runs, is_reference

    assert [is_reference(v) for v in ("$(VAR)", "${VAR}", "{{ .Values.x }}", "{% if a %}", "$VAR", "x {{ y", "a\n}}{{", "{{ a\n }}")] == [True] * 5 + [False] * 3
    jwk = '"d": "abcdefghijklmnopqrstu"'
    assert find_token('{"kty": "RSA", "n": "x", ' + jwk + "}").label == "a private JSON Web Key"
    assert find_token("{" + jwk + ', "kty": "EC"}').label == "a private JSON Web Key"
    assert find_token('{"kty": "RSA"}, {' + jwk + "}") is None  # two objects: a public key beside something else
    assert find_token("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----").label == "a private key block"
    secret = "Zx8kQ2mN7pL4vR9tY3wB6cF1hJ5sD0gA"
    certificate = f"-----BEGIN CERTIFICATE-----\n{secret}\n-----END CERTIFICATE-----\n"
    assert not list(high_entropy_runs(certificate)) and list(high_entropy_runs(certificate + secret))


def test_suppression_comments_are_indexed_once_per_file() -> None:
    """A finding's suppression check must not rescan the file: the index is built once and reused."""
    from kgen.loader import load_text
    from kgen.policies.engine import _IgnoreComments, lint
    from kgen.policies.policy import ClusterPolicy

    documents = [POD.replace("name: p,", f"name: p{n},") for n in range(50)]
    documents[30] = "# kgen:ignore probe-liveness-missing\n" + documents[30]
    loaded = load_text("---\n".join(documents), "many.yaml")
    built = []
    original = _IgnoreComments.__init__

    def counting(self, source):
        built.append(source.name)
        original(self, source)

    _IgnoreComments.__init__ = counting
    try:
        report = lint(loaded, ClusterPolicy.default())
    finally:
        _IgnoreComments.__init__ = original
    assert built == ["many.yaml"]
    liveness = {f.object["name"] for f in report.findings if f.rule == "probe-liveness-missing"}
    assert "p30" not in liveness and len(liveness) == 49


def test_text_output_caps_the_echoed_line_around_the_column() -> None:
    from kgen.report.escape import source_excerpt

    line = "x" * 5000 + "HERE" + "y" * 5000
    excerpt, caret = source_excerpt(line, 5001)
    assert len(excerpt) <= 206 and excerpt.startswith("...") and excerpt.endswith("...")
    assert excerpt[caret : caret + 4] == "HERE"
    assert source_excerpt("short: line", 8) == ("short: line", 7)


def test_a_huge_single_line_pod_gives_a_bounded_text_report() -> None:
    pod = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x", "args": ["' + "a" * 1_000_000 + '"]}]}}\n'
    from kgen.report import render

    report = lint_yaml(pod)
    out = render(report, "text")
    assert len(report.findings) > 5 and len(out) < 600 * len(report.findings)


# --- 4. offline for real ----------------------------------------------------------------------------


def test_kustomize_is_never_let_onto_the_network(tmp_path: Path) -> None:
    """Remote bases (a URL, a git repository) would make Kustomize fetch: kgen builds offline and says so."""
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n- https://example.com/manifests.yaml\n- github.com/example/app/config/default?ref=v1\n"
    )
    result = run_kgen("lint", str(tmp_path), "--format", "json")
    assert result.returncode == 1, result.stderr
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "render-failed" and finding["line"] == 1
    assert "remote resources are not fetched" in finding["message"]
    assert "127.0.0.1:9" in finding["message"]  # the HTTP fetch went to the closed loopback port, not out


def test_no_lint_input_opens_a_network_connection(monkeypatch, tmp_path: Path) -> None:
    """Every fixture kgen lints, custom rules referring to the shipped definitions included, with sockets gone."""
    import socket

    from kgen.errors import InputError
    from kgen.inputs import is_chart, kustomization_file, load_inputs
    from kgen.loader import LoadResult
    from kgen.policies.engine import lint
    from kgen.policies.policy import load_policy

    def no_network(*args, **kwargs):
        raise AssertionError(f"kgen opened a network connection: {args!r}")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    schema = "{properties: {spec: {properties: {containers: {items: {$ref: 'https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.api.core.v1.Container'}}}}}}"
    policies = [None, str(_policy_with_rule(tmp_path, schema)), *(str(p) for p in sorted((FIXTURES / "policies").glob("*.yaml")))]
    inputs = [str(p) for p in sorted(FIXTURES.rglob("*.y*ml")) if "policies" not in p.parts and not any(is_chart(str(parent)) for parent in p.parents)]
    inputs += [str(d) for d in sorted(FIXTURES.rglob("*")) if d.is_dir() and (is_chart(str(d)) or kustomization_file(str(d)))]
    everything = LoadResult()
    for path in inputs:
        try:
            loaded = load_inputs([path])
        except InputError:  # fixtures of bad input: their error is the point
            continue
        everything.objects += loaded.objects
        everything.files += loaded.files
    assert len(everything.objects) > 300
    for policy_file in policies:
        try:
            policy = load_policy(policy_file)
        except InputError:
            continue
        assert lint(everything, policy).findings


# --- 5. output that cannot be turned against its reader ----------------------------------------------

EVIL_NAME = "x\x1b]0;pwned\x07\x1b[31m\n::error file=a.yaml,line=1::pwned\u202e\x85"
EVIL = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: " + json.dumps(EVIL_NAME) + "}\nspec:\n  containers:\n"
    "  - name: c\n    image: nginx:1.2\n    env:\n    - {name: DB_PASSWORD, value: hunter2-s3cret}\n"
)


def _rendered(fmt: str) -> str:
    from kgen.report import render

    return render(lint_yaml(EVIL.replace("test.yaml", "x")), fmt)


@pytest.mark.parametrize("fmt", ["text", "github", "junit"])
def test_input_cannot_inject_workflow_commands_or_terminal_escapes(fmt: str) -> None:
    out = _rendered(fmt)
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\x85" not in out
    kgen_commands = ("::error file=test.yaml", "::warning file=test.yaml", "::notice file=test.yaml")
    assert all(not line.startswith("::") or line.startswith(kgen_commands) for line in out.splitlines())
    assert "pwned" in out or fmt == "github"  # shown, made harmless, not dropped (github shows no object names)


def test_junit_stays_valid_xml_with_control_characters_in_names() -> None:
    from xml.dom import minidom

    minidom.parseString(_rendered("junit").encode())


def test_text_file_headers_and_stderr_cannot_start_a_workflow_command(tmp_path: Path) -> None:
    from kgen.report.escape import text_line

    assert text_line("::error file=x::y") == "\\x3a:error file=x::y"
    evil_dir = tmp_path / "x\n::error file=a::pwned"
    evil_dir.mkdir()
    (evil_dir / "pod.yaml").write_text(EVIL)
    result = run_kgen("lint", str(evil_dir))
    assert_clean_failure(result, 1)
    for stream in (result.stdout, result.stderr):
        assert not any(line.startswith("::") for line in stream.splitlines())
    missing = run_kgen("lint", str(evil_dir / "nope\n::error::x.yaml"))
    assert_clean_failure(missing, 2)
    assert not any(line.startswith("::") for line in missing.stderr.splitlines())


def test_the_echoed_source_line_of_a_secret_is_redacted_like_the_message() -> None:
    out = _rendered("text")
    assert "hunter2" not in out and "s3cret" not in out
    assert "    - {name: (redacted)\n" in out


def test_a_spec_holding_a_secret_is_echoed_redacted_like_its_message(tmp_path: Path) -> None:
    """The spec check's error says "(value redacted)": the echoed spec line must not show the value either."""
    spec = tmp_path / "kgen.yaml"
    spec.write_text(
        "apiVersion: kgen.dev/v1alpha1\nkind: App\nmetadata: {name: hello, namespace: hello}\n"
        "components:\n  hello:\n    image: ghcr.io/acme/hello:1.0.0\n"
        '    env: {DATABASE_URL: "postgres://shop:S3cr3tPass@db:5432/shop"}\n'
    )
    result = run_kgen("lint", str(spec))
    assert result.returncode == 1 and "value redacted" in result.stdout
    assert "S3cr3tPass" not in result.stdout and "    env: (redacted)\n" in result.stdout


def test_a_fifo_in_a_kustomize_or_chart_directory_is_refused_not_waited_on(tmp_path: Path) -> None:
    import os
    import shutil

    from kgen.kustomize import kustomize_command

    kustomization = tmp_path / "kz"
    kustomization.mkdir()
    (kustomization / "kustomization.yaml").write_text("resources: [pod.yaml, fifo.yaml]\n")
    (kustomization / "pod.yaml").write_text(POD)
    os.mkfifo(kustomization / "fifo.yaml")
    chart = tmp_path / "chart"
    shutil.copytree(FIXTURES / "inputs" / "helm" / "webapp", chart)
    os.mkfifo(chart / "templates" / "fifo.yaml")
    os.mkfifo(tmp_path / "values.yaml")
    cases = [["lint", str(chart)], ["lint", str(chart), "-f", str(tmp_path / "values.yaml")]]
    if kustomize_command() is not None:
        cases.append(["lint", str(kustomization)])
    for args in cases:
        result = run_kgen(*args)  # kustomize and Helm would block reading the FIFO
        assert_clean_failure(result, 2)
        assert "fifo.yaml" in result.stderr or "values.yaml" in result.stderr


def test_a_report_written_to_a_fifo_or_device_goes_into_it_and_never_replaces_it(tmp_path: Path) -> None:
    import os
    import stat

    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD)
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader is waiting, as `-o >(cat)` would have
    try:
        for args in (["-o", str(fifo), "--format", "json"], ["--write-baseline", str(fifo)]):
            result = run_kgen("lint", str(manifest), *args)
            assert "Traceback" not in result.stderr
            assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # not swapped for a regular file by an atomic rename
            assert b'"findings"' in os.read(reader, 1 << 20)
    finally:
        os.close(reader)


def test_capacity_text_escapes_names_from_the_input(tmp_path: Path) -> None:
    manifest = tmp_path / "evil.yaml"
    manifest.write_text(ODD_SHAPES.replace("name: odd, namespace: ns", 'name: "odd\\e[31m\\n::error::x", namespace: "::ns"'))
    result = run_kgen("capacity", str(manifest), "--policy", str(CAPACITY_POLICY))
    assert_clean_failure(result, 0)
    assert "\x1b" not in result.stdout and not any(line.startswith("::") for line in result.stdout.splitlines())
    assert "odd\\x1b[31m\\x0a::error::x" in result.stdout


def test_custom_rule_refs_never_reach_a_listening_server() -> None:
    """jsonschema-rs fetches in Rust, out of reach of a socket monkeypatch: listen for real instead."""
    import socket

    from kgen.policies.custom import RuleSchemaError, compile_rule_schema

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    url = f"http://127.0.0.1:{server.getsockname()[1]}/schema.json"
    try:
        for schema in ({"$ref": url}, {"$id": url, "properties": {"a": {"$ref": "other.json"}}}, {"$schema": url}):
            with pytest.raises(RuleSchemaError):
                compile_rule_schema(schema, "1.31")
        with pytest.raises(socket.timeout):
            server.accept()
    finally:
        server.close()


def test_a_number_tag_on_other_text_or_a_recursive_alias_is_a_finding_not_a_traceback(tmp_path: Path) -> None:
    """`!!int abc` (kubectl: cannot decode as !!int) crashed the loader with PyYAML's ValueError,
    `&x [*x]` (go-yaml: the anchor's value contains itself) with a KeyError."""
    (tmp_path / "tagged.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: !!int abc\n  b: !!float ''\n")
    (tmp_path / "recursive.yaml").write_text("apiVersion: v1\nkind: List\nitems: &x\n- *x\n")
    (tmp_path / "values.yaml").write_text("replicas: !!int ''\n")
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: 'nginx:1.2'}\n")
    result = run_kgen("lint", str(tmp_path), "--format", "json")
    assert_clean_failure(result, 1)
    findings = json.loads(result.stdout)["findings"]
    tagged = [f for f in findings if f["file"].endswith("tagged.yaml")]
    assert [(f["rule"], f["line"], f["message"]) for f in tagged] == [("yaml-invalid", 5, "invalid YAML: !!int value 'abc' is not an integer")]
    recursive = [(f["rule"], f["line"], f["message"]) for f in findings if f["file"].endswith("recursive.yaml")]
    assert recursive == [("yaml-invalid", 3, "invalid YAML: this anchored value contains an alias to itself")]
    assert any(f["file"].endswith("pod.yaml") for f in findings)
