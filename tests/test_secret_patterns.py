"""The secret detectors on their own: formats they must catch, and look-alikes they must leave alone."""

from __future__ import annotations

import random
import re
import string

import pytest
from hypothesis import example, given, seed, settings
from hypothesis import strategies as st

from kgen.policies.secret_patterns import (
    compile_name_patterns,
    find_token,
    high_entropy_runs,
    is_benign_value,
    is_secret_name,
    name_words,
    secret_arguments,
    secret_assignments,
    shannon_entropy,
)

# Fake credentials in the real formats (random-looking, never issued).
TOKENS = {
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----": "a private key block",
    "-----BEGIN OPENSSH PRIVATE KEY-----": "a private key block",
    "-----BEGIN PGP PRIVATE KEY BLOCK-----": "a private key block",
    "---BEGIN OPENSSH PRIVATE KEY---\nxxxxx": "a private key block",  # Polaris' sloppy fixture
    "aws_access_key_id = AKIAZ7QW3RTY5UIO9PLK": "an AWS access key ID",
    "ASIAZ7QW3RTY5UIO9PLK": "an AWS access key ID",
    "ghp_Kq7Zr2mX9vB4nL8wT1yH6cJ3dF5gA0sE2uPo": "a GitHub token",
    "github_pat_11ABCDEFG0123456789abc_Kq7Zr2mX9vB4nL8wT1yH6cJ3dF5gA0sE2uPoQw": "a GitHub token",
    "glpat-Kq7Zr2mX9vB4nL8wT1yH": "a GitLab token",
    "xoxb-123456789012-1234567890123-Kq7Zr2mX9vB4nL8wT1yH6cJ3": "a Slack token",
    "https://hooks.slack.com/services/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": "a Slack webhook URL",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJrZ2VuIn0.Kq7Zr2mX9vB4nL8wT1yH6cJ3dF5gA0sE": "a JSON Web Token",
    "AIzaSyKq7Zr2mX9vB4nL8wT1yH6cJ3dF5gA0sE2": "a Google API key",
    "sk_live_Kq7Zr2mX9vB4nL8wT1yH6cJ3": "a Stripe secret key",
    "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": "a Hugging Face token",
    "sk-proj-Kq7Zr2mX9vB4nL8wT1yHT3BlbkFJ6cJ3dF5gA0sE2uPoQwEr": "an OpenAI API key",
    "DefaultEndpointsProtocol=https;AccountName=kgen;AccountKey=Kq7Zr2mX9vB4nL8wT1yH6cJ3dF5gA0sE2uPoQwErTyUi==": "an Azure storage account key",
    "mongodb://admin:Kq7Zr2mX@mongo:27017/app": "a URL with an embedded password",
    '{"kty": "RSA", "n": "0vx7agoebGc", "d": "X4cTteJY_gn4FYPsXB8rdXix5vwsg1FLN45"}': "a private JSON Web Key",
}


@pytest.mark.parametrize("text,label", TOKENS.items())
def test_known_token_formats(text: str, label: str) -> None:
    found = find_token(text)
    assert found is not None and found.label == label


NOT_TOKENS = [
    "AKIAIOSFODNN7EXAMPLE",  # AWS' documentation key
    "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2g\n-----END CERTIFICATE-----",
    "-----BEGIN PUBLIC KEY-----",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq7Zr2mX9vB4nL8wT1yH6cJ3dF5gA0sE2uPo user@host",
    "postgres://app@db:5432/app",
    "postgres://app:$(DB_PASSWORD)@db:5432/app",
    "redis://:${REDIS_PASSWORD}@redis:6379",
    "https://user:{{ .Values.password }}@example.com",
    "ghp_short",
    "sk_live_",
    "eyJhbGciOiJIUzI1NiJ9",  # a JWT header alone is not a token
    "mistralai/Mixtral-8x7B-Instruct-v0.1",
]


@pytest.mark.parametrize("text", NOT_TOKENS)
def test_not_tokens(text: str) -> None:
    assert find_token(text) is None


def test_found_reports_the_line_not_the_value() -> None:
    text = "a: 1\nb: 2\nkey: ghp_Kq7Zr2mX9vB4nL8wT1yH6cJ3dF5gA0sE2uPo\n"
    found = find_token(text)
    assert found is not None and found.line_in(text) == 3
    assert "ghp_" not in repr(found)


@pytest.mark.parametrize("name,words", [
    ("AWS_SECRET_ACCESS_KEY", ["aws", "secret", "access", "key"]),
    ("awsSecretAccessKey", ["aws", "secret", "access", "key"]),
    ("APIKey", ["api", "key"]),
    ("spring.datasource.password", ["spring", "datasource", "password"]),
    ("OAUTH2_PROXY-cookie.secret", ["oauth2", "proxy", "cookie", "secret"]),
])  # fmt: skip
def test_name_words(name: str, words: list[str]) -> None:
    assert list(name_words(name)) == words


SECRET_NAMES = [
    "password", "DB_PASSWORD", "my_password", "MYSQL_ROOT_PASSWORD", "db_pass", "SMTP_PASSWD", "pwd",
    "passphrase", "token", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "GITHUB_TOKEN", "authToken",
    "secret", "CLIENT_SECRET", "OAUTH2_PROXY_COOKIE_SECRET", "SECRET_KEY_BASE", "apiKey", "API_KEY",
    "x-api-key", "AZURE_BATCH_KEY", "OCI_CLI_KEY_CONTENT", "AWS_SECRET_ACCESS_KEY", "MINIO_ACCESS_KEY",
    "privateKey", "tls.key", "credentials", "AZURE_STORAGE_CONNECTION_STRING", "requirepass",
    "PASSWORD_HASH", "JWT_SIGNING_KEY", "ENCRYPTION_KEY", "license_key", "PGPASSWORD",
]  # fmt: skip


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


NOT_SECRET_NAMES = [
    # names of, paths to and facts about secrets
    "TOKEN_FILE", "PASSWORD_PATH", "SECRET_NAME", "DB_SECRET_REF", "TLS_RELAY_CLIENT_KEY_FILE",
    "GOOGLE_APPLICATION_CREDENTIALS_FILE", "SECRET_ID", "SECRET_VERSION", "TOKEN_TTL", "TOKEN_URL",
    "PASSWORD_MIN_LENGTH", "AUTH_TOKEN_HEADER", "secretEnv", "keys_path", "bearer_token_file",
    "PILOT_JWT_PUB_KEY_REFRESH_INTERVAL", "ALLOYDB_SECRET_NAME", "KMS_KEY_ARN", "password-stdin",
    # switches and sizes
    "MYSQL_ALLOW_EMPTY_PASSWORD", "ALLOW_EMPTY_PASSWORD", "MYSQL_RANDOM_ROOT_PASSWORD", "enablePasswordDB",
    "MAX_TOTAL_TOKENS", "MAX_BATCH_PREFILL_TOKENS", "max_tokens", "MAX_TOKEN", "TOKENIZERS_PARALLELISM",
    # other meanings of key and pass
    "key", "a_key", "PUBLIC_KEY", "CACHE_KEY_PREFIX", "SORT_KEY", "partitionKey", "idempotency-key",
    "timeKey", "levelKey", "messageKey", "stacktraceKey",  # zap encoder fields (Knative config-logging)
    "TOKEN_LIMIT", "OUTPUT_TOKEN_LIMIT", "TOKEN_BUDGET", "AIBRIX_ROUTER_VTC_TOKEN_TRACKER_TIME_UNIT",  # LLM token counting
    "AIBRIX_KV_CACHE_OL_META_SERVICE_CLUSTER_META_KEY",
    "PASS_DEVICE_SPECS", "passwd", "BYPASS_CACHE", "KEYCLOAK_URL", "monkey", "SECRETARY",
]  # fmt: skip


@pytest.mark.parametrize("name", NOT_SECRET_NAMES)
def test_not_secret_names(name: str) -> None:
    assert not is_secret_name(name)


def test_policy_name_patterns_add_names() -> None:
    extra = compile_name_patterns([r"_dsn$", "(unclosed", 42])
    assert is_secret_name("SENTRY_DSN", extra)
    assert not is_secret_name("SENTRY_DSN")


@pytest.mark.parametrize("value", [
    "", "  ", "true", "False", "yes", "1", "$(DB_PASSWORD)", "${DB_PASSWORD}", "$DB_PASSWORD",
    "{{ .Values.password }}", "{% raw %}", "/var/run/secrets/kubernetes.io/serviceaccount/token",
    "./secrets/token", "https://auth.example.com/token", "s3://bucket/creds.json",
    "arn:aws:kms:eu-west-1:123456789012:key/abcd", "projects/p/secrets/s/versions/latest",
])  # fmt: skip
def test_benign_values(value: str) -> None:
    assert is_benign_value(value)


@pytest.mark.parametrize("value", [
    "changeme", "xxx", "<Client Secret>", "admin", "hunter2", "abc123", "https://u:p4ss@example.com",
    "SECRET", "correct horse battery staple",
])  # fmt: skip
def test_placeholders_and_words_are_literals(value: str) -> None:
    assert not is_benign_value(value)


def test_entropy() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == 2.0


def test_random_tokens_are_high_entropy() -> None:
    # 40-character tokens are caught practically always; 32-character ones nearly always.
    # Seeded, so the test judges the detector and not the luck of the draw.
    draw = random.Random(20261130)
    alphabet = string.ascii_letters + string.digits + "-_"
    tokens = ["".join(draw.choice(alphabet) for _ in range(40)) for _ in range(200)]
    caught = sum(1 for token in tokens if list(high_entropy_runs("value: " + token)))
    assert caught >= 195
    assert list(high_entropy_runs("pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok"))


@pytest.mark.parametrize("text", [
    "image: ghcr.io/acme/api@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "uid: 8a3c1f0e-2b4d-4e6f-9a1b-3c5d7e9f1a2b",
    "model: RedHatAI/NVIDIA-Nemotron-3-Ultra-550B-A55B-FP8-block",
    "path: //BUCKET_NAME/pytorch/gemma-7b-it/final/bf16/",
    "metric: APIServiceOpenAPIAggregationControllerQueue1_unfinished_work_seconds",
    "class: io.strimzi.kafka.oauth.client.JaasClientOauthLoginCallbackHandler",
    "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIUQ3mZ8o5Yb2x7K9kq0fB3hJ1X2pMwCgYIKoZIzj0EAwIw\n-----END CERTIFICATE-----",
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDKq7Zr2mX9vB4nL8wT1yH6cJ3dF5gA0sE2uPo user",
    '{"kty": "RSA", "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc"}',
    "integrity: sha512-Kq7Zr2mX9vB4nL8wT1yH6cJ3dF5gA0sE2uPoQwErTyUiOp",
    "logo: data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg",
    "payload: " + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0123456789" * 10,  # inline data, not a credential
    # a model revision (kaito's supported models): the random part is a commit digest
    "version: https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/commit/0e9e39f249a16976918f6564b8830bc894c89659",
])  # fmt: skip
def test_not_high_entropy(text: str) -> None:
    assert not list(high_entropy_runs(text))


def test_secret_assignments_find_literals_in_config_files() -> None:
    text = "\n".join([
        "spring.datasource.password=Xy7!k2Lm",
        'token: "somerandomtoken"',
        "  signing_key: CHANGEME00000000",
        '"client_secret": "abc123",',
        "requirepass foobared",
        "[section]",
    ])  # fmt: skip
    assert [line for line, _ in secret_assignments(text)] == [1, 2, 3, 4, 5]


def test_secret_assignments_skip_non_literals() -> None:
    text = "\n".join([
        "password: ${DB_PASSWORD}",
        "password = os.environ['DB_PASSWORD']",
        "token = args.token",
        "api_key = None",
        "passwd:         compat",
        "bearer_token_file: /var/run/secrets/kubernetes.io/serviceaccount/token",
        'password: "{{ .Values.password }}"',
        "password:",
        "password: |",
        "enablePasswordDB: true",
        "secretEnv: OIDC_CLIENT_SECRET",
        "token = token",
        "requirepass $REDIS_PASSWORD",
        "the password reset link expires",
    ])  # fmt: skip
    assert list(secret_assignments(text)) == []


_CONFIG_LINES = [
    "spring.datasource.password=Xy7!k2Lm", 'token: "somerandomtoken"', "  signing_key: CHANGEME00000000",
    '"client_secret": "abc123",', "requirepass foobared", "DB_PASS=hunter22x", "aws.secret-access.KEY = AKIA1234",
    '"datasource": "$datasource",', "[section]", "", "   ", "apiKey: Zx81Qw", "kEy: qualifier-less", "ConnectionString: srv=1",
    "name: web", "password: ${DB_PASSWORD}", "BEARER x", "\u212aey: x",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@seed(17)
@given(st.lists(st.sampled_from(_CONFIG_LINES) | st.text(max_size=30), max_size=12), st.sampled_from(["\n", "\r\n", "\n\n", "\x85"]))
def test_secret_assignments_only_look_at_lines_naming_secrets_as_if_at_every_line(lines: list[str], newline: str) -> None:
    # A policy name pattern that never matches makes secret_assignments read every line.
    text = newline.join(lines)
    assert list(secret_assignments(text)) == list(secret_assignments(text, [re.compile("(?!)")]))


_SCRIPT_WORDS = [
    "sh", "-c", "mysql", "-pS3cr3tPw", "redis-cli", "-a", "hunter22", "export", "DB_PASSWORD=Xy7k2Lm9", "--api-key",
    "k8Zq", "&&", ";", "|", "echo", "$(VAR)", "'", '"', "\\", "p\\ass", "pa'ss'word=x9Y", "TOKEN", "=", "MySQL", "--secret-name",
    "x", "\n", "\t", "#", "CONN", "connectionString=Server=a;Pwd=b",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@seed(23)
@given(st.lists(st.lists(st.sampled_from(_SCRIPT_WORDS) | st.text(max_size=8), max_size=10).map(" ".join), min_size=1, max_size=3))
@example(["sh", "-c", "mysql -pS3cr3tPw db && redis-cli -a hunter22 ping"])
@example(["sh", "-c", "export DB_PA'SS'WORD=Xy7k2Lm9; run"])
def test_secret_arguments_split_only_scripts_that_can_pass_a_secret_as_if_every_one(argv: list[str]) -> None:
    # A policy name pattern that never matches makes secret_arguments split every script.
    assert list(secret_arguments(argv)) == list(secret_arguments(argv, [re.compile("(?!)")]))


PASSWORD = "Xy7k2Lm9"


@pytest.mark.parametrize("argv,found", [
    (["--password=" + PASSWORD], [(0, "passes --password a literal value")]),
    (["--api-key", PASSWORD, "--port", "8080"], [(1, "passes --api-key a literal value")]),
    (["java", "-Djavax.net.ssl.keyStorePassword=" + PASSWORD], [(1, "passes -Djavax.net.ssl.keyStorePassword a literal value")]),
    (["redis-server", "--requirepass", PASSWORD], [(2, "passes --requirepass a literal value")]),
    (["mysql", "-uroot", "-p" + PASSWORD], [(2, "passes -p a literal value")]),
    (["redis-cli", "-a", PASSWORD, "ping"], [(2, "passes -a a literal value")]),
    (["sh", "-c", f"DB_PASSWORD={PASSWORD} ./run.sh"], [(2, "runs a shell command that sets DB_PASSWORD to a literal value")]),
    (["sh", "-c", f"set -e; mysql -uroot -p'{PASSWORD}' app < /dump.sql"], [(2, "runs a shell command that passes -p a literal value")]),
    (["serve", "--model", "m", "--hf", "ghp_Kq7Zr2mX9vB4nL8wT1yH6cJ3dF5gA0sE2uPo"], [(4, "holds a GitHub token")]),
    (["--db=postgres://app:" + PASSWORD + "@db/app"], [(0, "holds a URL with an embedded password")]),
])  # fmt: skip
def test_secret_arguments(argv: list[str], found: list[tuple[int, str]]) -> None:
    assert list(secret_arguments(argv)) == found
    assert all(PASSWORD not in what for _, what in found)


@pytest.mark.parametrize("argv", [
    ["--token=$(TOKEN)", "--password", "$(DB_PASSWORD)", "--api-key=${API_KEY}"],
    ["--password-file=/etc/x", "--token-path", "/var/run/token", "--secret-name=foo", "--enable-token-auth"],
    ["--tls-private-key-file", "/etc/tls/tls.key", "--kubeconfig", "/etc/kubeconfig", "--authentication-token-webhook=true"],
    ["--disable-token-auth", "--max-total-tokens=3072", "--password", "--verbose", "--token"],
    ["docker", "login", "--username", "ci", "--password-stdin", "registry.example.com"],
    ["mysql", "-p", "appdb"],  # a bare -p prompts; appdb is the database
    ["-p", "8080"],
    ["sh", "-c", 'mysql -uroot -p"$MYSQL_ROOT_PASSWORD" -e "select 1"; curl --password=$(cat /run/pw) http://x'],
    ["sh", "-c", "export API_TOKEN=$(cat /var/run/secrets/token) # PASSWORD=example\nexec /app"],
    ["sh", "-c", "echo 'unbalanced"],
])  # fmt: skip
def test_not_secret_arguments(argv: list[str]) -> None:
    assert not list(secret_arguments(argv))


@seed(17)
@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab=-./*?~_:$@!%{},+ \t\n'\"\\#;&|()<>") + ["\x0b", "\xa0", "\u2003", "é"]), max_size=16))
def test_command_lines_split_as_shlex_splits_them(script: str) -> None:
    import shlex

    from kgen.policies.secret_patterns import _words

    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        expected = list(lexer)
    except ValueError:
        expected = script.split()
    assert _words(script) == expected
