"""Secrets rules: literal env secrets, secrets in ConfigMaps, committed Secrets, token automount."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import lint_yaml, write_chart

GITHUB_TOKEN = "ghp_Kq7Zr2mX9vB4nL8wT1yH6cJ3dF5gA0sE2uPo"


def _policy(tmp_path: Path, secrets: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(f"apiVersion: kgen.dev/v1alpha1\nkind: ClusterPolicy\nmetadata: {{name: t}}\nspec:\n  secrets:\n{secrets}\n")
    return path


def _hits(text: str, rule: str, policy: Path | None = None) -> list:
    return [f for f in lint_yaml(text, policy).findings if f.rule == rule]


def _pod(env: str, extra: str = "") -> str:
    return (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n" + extra
        + "  containers:\n    - name: app\n      image: ghcr.io/acme/app:1.0.0\n      env:\n" + env
    )


def _configmap(data: str, field: str = "data") -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm}}\n{field}:\n{data}"


@pytest.mark.parametrize("name,value,flagged", [
    ("DB_PASSWORD", "changeme", True),
    ("DB_PASSWORD", "$(DB_PASSWORD)", False),
    ("DB_PASSWORD", "", False),
    ("TOKEN_FILE", "/var/run/secrets/token", False),
    ("GREETING", "hello", False),
    ("GREETING", GITHUB_TOKEN, True),
    ("DATABASE_URL", "postgres://app:hunter2@db/app", True),
    ("DATABASE_URL", "postgres://db/app", False),
    ("MAX_TOTAL_TOKENS", "2048", False),
])  # fmt: skip
def test_env_literal(name: str, value: str, flagged: bool) -> None:
    hits = _hits(_pod(f"        - name: {name}\n          value: '{value}'\n"), "secret-env-literal")
    assert bool(hits) is flagged
    for hit in hits:
        assert hit.path == "spec.containers[0].env[0].value" and hit.line == 10
        assert value not in hit.message  # never echo the secret


def test_env_value_from_is_not_a_literal() -> None:
    env = "        - name: token\n          valueFrom:\n            secretKeyRef: {name: s, key: token}\n"
    assert not _hits(_pod(env), "secret-env-literal")


def test_env_in_init_containers_and_unquoted_numbers() -> None:
    """Numbers and durations are never secrets, whatever the name (the app spec check agrees)."""
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers:\n    - name: init\n"
        "      env:\n        - name: PIN_PASSWORD\n          value: 123456\n        - name: DB_PASSWORD\n          value: 12ab34\n"
        "        - name: TOKEN\n          value: 30s\n  containers: []\n"
    )
    [hit] = _hits(text, "secret-env-literal")
    assert hit.path == "spec.initContainers[0].env[1].value"


def test_policy_name_patterns(tmp_path: Path) -> None:
    env = "        - name: SENTRY_DSN\n          value: abc\n"
    assert not _hits(_pod(env), "secret-env-literal")
    assert _hits(_pod(env), "secret-env-literal", _policy(tmp_path, "    namePatterns: ['_DSN$']"))


@pytest.mark.parametrize("env", [
    "        - null\n        - 3\n        - {name: null, value: x}\n        - {name: PASSWORD, value: null}\n        - {name: PASSWORD, value: [a]}\n        - {name: PASSWORD, value: true}\n",
    "        {PASSWORD: x}\n",
])  # fmt: skip
def test_malformed_env_does_not_crash(env: str) -> None:
    assert not _hits(_pod(env), "secret-env-literal")


def _args_pod(command: str, init: str = "") -> str:
    return (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n" + init
        + "  containers:\n    - name: app\n      image: ghcr.io/acme/app:1.0.0\n" + command
    )


def test_arg_literal_points_at_the_argument_and_redacts() -> None:
    text = _args_pod("      command: [/app]\n      args:\n        - --port=8080\n        - --api-key\n        - Xy7k2Lm9\n")
    [hit] = _hits(text, "secret-arg-literal")
    assert (hit.path, hit.line) == ("spec.containers[0].args[2]", 12)
    assert "--api-key" in hit.message and "Xy7k2Lm9" not in hit.message
    assert not _hits(text, "secret-env-literal")


def test_arg_literal_reads_command_and_args_as_one_command_line() -> None:
    # `mysql` in command, its password option in args; a token in an init container's command.
    text = _args_pod("      command: [mysql]\n      args: [-uroot, -pXy7k2Lm9]\n", f"  initContainers:\n    - name: init\n      command: [fetch, {GITHUB_TOKEN}]\n")
    hits = _hits(text, "secret-arg-literal")
    assert [h.path for h in hits] == ["spec.initContainers[0].command[1]", "spec.containers[0].args[1]"]
    assert "a GitHub token" in hits[0].message and GITHUB_TOKEN not in hits[0].message


def test_arg_literal_shell_script_and_references() -> None:
    script = "      command: [sh, -c]\n      args:\n        - |\n          export PGPASSWORD=Xy7k2Lm9\n          psql -h db -c 'select 1'\n"
    [hit] = _hits(_args_pod(script), "secret-arg-literal")
    assert hit.path == "spec.containers[0].args[0]" and "sets PGPASSWORD" in hit.message
    assert not _hits(_args_pod("      args: [--password=$(DB_PASSWORD), --token-path, /var/run/token, 3]\n"), "secret-arg-literal")


def test_arg_literal_policy_name_patterns(tmp_path: Path) -> None:
    text = _args_pod("      args: [--sentry-dsn=abc]\n")
    assert not _hits(text, "secret-arg-literal")
    assert _hits(text, "secret-arg-literal", _policy(tmp_path, "    namePatterns: ['dsn$']"))


def test_configmap_key_names_and_values() -> None:
    data = "  db_password: hunter2\n  db_user: app\n  token_file: /etc/token\n  enabled: true\n  port: 5432\n  aws: AKIAZ7QW3RTY5UIO9PLK\n"
    hits = _hits(_configmap(data), "secret-in-configmap")
    assert [h.path for h in hits] == ["data.db_password", "data.aws"]
    assert "an AWS access key ID" in hits[1].message and "AKIA" not in hits[1].message


def test_configmap_embedded_file_reports_line() -> None:
    data = "  app.ini: |\n    [db]\n    user = app\n    password = 'Xy7!k2Lm'\n"
    [hit] = _hits(_configmap(data), "secret-in-configmap")
    assert "line 3" in hit.message and "Xy7" not in hit.message


def test_configmap_documents_are_judged_by_content_not_by_their_key() -> None:
    # KServe's inferenceservice-config: `credentials` is a JSON document naming Secrets and their keys,
    # and an `_example` file shows it as a block (`credentials: |-`), the JSON below the header.
    naming = '{\n  "storageSpecSecretName": "storage-config",\n  "s3": {"s3SecretAccessKeyName": "AWS_SECRET_ACCESS_KEY"}\n}'
    data = "  credentials: |-\n" + "".join(f"    {line}\n" for line in naming.splitlines())
    data += "  _example: |-\n    credentials: |-\n      {\n        \"s3Endpoint\": \"\"\n      }\n"
    assert not _hits(_configmap(data), "secret-in-configmap")
    # A block whose first line is the value still sets it; a credentials file still shows its key.
    leaked = "  config.yaml: |\n    db:\n      password: |-\n        hunter2\n  credentials: |\n    [default]\n    aws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCY\n"
    hits = _hits(_configmap(leaked), "secret-in-configmap")
    assert [(h.path, "line" in h.message) for h in hits] == [("data['config.yaml']", True), ("data.credentials", True)]


def test_configmap_templates_and_ordinary_config_pass() -> None:
    data = (
        "  values.yaml: |\n    password: {{ .Values.password | quote }}\n    tokenSecretName: api-token\n"
        "  nginx.conf: |\n    ssl_certificate_key /etc/tls/tls.key;\n    proxy_pass http://backend;\n"
    )
    assert not _hits(_configmap(data), "secret-in-configmap")


def test_configmap_binary_data() -> None:
    assert _hits(_configmap("  private.key: AAAA\n", "binaryData"), "secret-in-configmap")
    assert not _hits(_configmap("  logo.png: iVBORw0KGgo=\n", "binaryData"), "secret-in-configmap")
    assert not _hits(_configmap("  broken: '%%%'\n", "binaryData"), "secret-in-configmap")


def test_configmap_malformed_does_not_crash() -> None:
    for text in (_configmap("  - a\n"), _configmap("  a: [1]\n  b: null\n  c: {d: e}\n"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: 3\n"):
        lint_yaml(text)


SECRET = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"


def test_secret_object_committed(tmp_path: Path) -> None:
    [hit] = _hits(SECRET + "data:\n  password: aHVudGVyMg==\n  user: ''\n  token: PHlvdXItdG9rZW4+\n", "secret-object-committed")
    assert hit.path == "data" and "password" in hit.message and "user" not in hit.message and "token" not in hit.message and "aHVu" not in hit.message
    allow = _policy(tmp_path, "    allowSecretObjects: true")
    assert not _hits(SECRET + "data:\n  password: aHVudGVyMg==\n", "secret-object-committed", allow)


@pytest.mark.parametrize("body", [
    "type: kubernetes.io/service-account-token\n",
    "data: {}\nstringData: null\n",
    "stringData:\n  password: '${DB_PASSWORD}'\n",
    "data: [1, 2]\n",
    "stringData:\n  hf_token: <your-hf-access-token-value>\n",  # KubeRay's LLM serving sample
    "data:\n  HF_TOKEN: <your_base64_encoded_huggingface_token>\n",  # kaito's examples: not base64 at all
    "data:\n  password: Y2hhbmdlbWU=\n",  # changeme
])  # fmt: skip
def test_secret_object_without_values(body: str) -> None:
    assert not _hits(SECRET + body, "secret-object-committed")


def _sa(name: str, automount: str = "", namespace: str = "") -> str:
    ns = f", namespace: {namespace}" if namespace else ""
    return f"apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {name}{ns}}}\n{automount}---\n"


def _deployment(pod_extra: str = "", namespace: str = "") -> str:
    ns = f", namespace: {namespace}" if namespace else ""
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d{ns}}}\nspec:\n  template:\n    spec:\n{pod_extra}"
        "      containers: [{name: app, image: ghcr.io/acme/app:1.0.0}]\n"
    )


@pytest.mark.parametrize("text,flagged", [
    (_deployment(), True),
    (_deployment("      automountServiceAccountToken: false\n"), False),
    (_deployment("      automountServiceAccountToken: true\n"), True),
    (_sa("default", "automountServiceAccountToken: false\n") + _deployment(), False),
    (_sa("api", "automountServiceAccountToken: false\n") + _deployment("      serviceAccountName: api\n"), False),
    (_sa("api", "automountServiceAccountToken: false\n") + _deployment("      serviceAccount: api\n"), False),
    (_sa("api", "automountServiceAccountToken: false\n", "other") + _deployment("      serviceAccountName: api\n", "shop"), True),
    (_sa("api", "automountServiceAccountToken: false\n", "shop") + _deployment("      serviceAccountName: api\n", "shop"), False),
    (_sa("api", "automountServiceAccountToken: false\n") + _deployment("      serviceAccountName: api\n      automountServiceAccountToken: true\n"), True),
    (_sa("api") + _deployment("      serviceAccountName: api\n"), True),
    (_deployment("      serviceAccountName: [api]\n"), True),
])  # fmt: skip
def test_serviceaccount_token_automount(text: str, flagged: bool) -> None:
    hits = _hits(text, "serviceaccount-token-automount")
    assert bool(hits) is flagged
    assert all(h.severity == "warning" for h in hits)


def _chart_with_secrets(root: Path) -> Path:
    """A chart modelled on admission-webhook and database charts: a CA and certificate generated at
    render time, a random password, and a user name written in values.yaml."""
    return write_chart(
        root / "chart",
        {
            "webhook-secret.yaml": (
                '{{- $ca := genCA "webhook-ca" 365 }}\n'
                '{{- $cert := genSignedCert "webhook.default.svc" nil nil 365 $ca }}\n'
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: webhook-tls\ntype: kubernetes.io/tls\ndata:\n"
                "  ca.crt: {{ $ca.Cert | b64enc }}\n  tls.crt: {{ $cert.Cert | b64enc }}\n  tls.key: {{ $cert.Key | b64enc }}\n"
            ),
            "db-secret.yaml": (
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n"
                "  password: {{ randAlphaNum 24 | b64enc | quote }}\n  username: {{ .Values.db.user | b64enc | quote }}\n"
            ),
        },
        values="db:\n  user: admin\n",
    )


def test_secret_values_generated_at_render_time_are_not_committed(tmp_path: Path) -> None:
    from kgen.inputs import load_inputs
    from kgen.policies.engine import lint
    from kgen.policies.policy import load_policy

    report = lint(load_inputs([str(_chart_with_secrets(tmp_path))]), load_policy(None))
    hits = [f for f in report.findings if f.rule == "secret-object-committed"]
    # The generated CA, certificate and password are silent; the user name from values.yaml still fires.
    assert [(f.object["name"], f.message.split("(")[1].split(")")[0]) for f in hits] == [("db", "username")]


def test_secret_values_a_helper_generates_are_not_committed(tmp_path: Path) -> None:
    """Modelled on Bitnami's charts: passwords made by a helper of the common chart (which calls
    randAlphaNum unless a value is given), one of them under a key the template computes; a
    token written in values.yaml through b64enc still fires, at its exact template line."""
    from kgen.inputs import load_inputs
    from kgen.policies.engine import lint
    from kgen.policies.policy import load_policy

    chart = write_chart(
        tmp_path / "db",
        {
            "_secrets.tpl": (
                '{{- define "common.passwords.manage" -}}\n{{- if .provided -}}\n{{- .provided | b64enc | quote -}}\n'
                '{{- else -}}\n{{- randAlphaNum 10 | b64enc | quote -}}\n{{- end -}}\n{{- end -}}\n'
                '{{- define "db.password" -}}\n{{- include "common.passwords.manage" (dict "provided" "") -}}\n{{- end -}}\n'
            ),
            "secret.yaml": (
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n"
                '  password: {{ include "db.password" . }}\n'
                "  {{- range $i := until 2 }}\n  {{- $key := printf \"replica-%d-password\" $i }}\n"
                '  {{ $key }}: {{ include "common.passwords.manage" (dict "provided" "") }}\n  {{- end }}\n'
            ),
            "token.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\ndata:\n  token: {{ .Values.token | b64enc | quote }}\n",
        },
        values="token: s3cr3t-t0ken\n",
    )
    report = lint(load_inputs([str(chart)]), load_policy(None))
    hits = [(f.object["name"], f.file, f.line, f.approximate) for f in report.findings if f.rule == "secret-object-committed"]
    assert hits == [("api", str(chart / "templates" / "token.yaml"), 5, False)]
