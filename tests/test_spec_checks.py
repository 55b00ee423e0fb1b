"""Spec value checks: secrets by value (the judgment kgen lint uses), and values Kubernetes would reject."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from kgen.generator.checks import cron_problem
from kgen.generator.spec import load_spec, validate

from .conftest import SHOP_SPEC as BASE, lint_yaml, run_kgen

JOB = """\
  migrate:
    kind: job
    image: ghcr.io/acme/migrate:1.0.0
    resources: {cpu: 100m, memory: 128Mi}
"""
PASSWORD = "S3cr3tPass"  # noqa: S105 - a fixture value the checks must never echo
OPENAI_KEY = "sk-proj-" + "Ab3dE6gH9jK2mN5pQ8sT1vW4" + "T3BlbkFJ" + "yZ7bC0eF3hJ6kM9nP2rS5uX8"


def errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "kgen.yaml"
    path.write_text(textwrap.dedent(text))
    return [p.format("kgen.yaml") for p in validate(load_spec(str(path)))]


@pytest.mark.parametrize(("extra", "expected"), [
    (f"    env: {{DATABASE_URL: 'postgres://shop:{PASSWORD}@db.internal:5432/shop'}}\n",
     "kgen.yaml:11: components.api.env.DATABASE_URL: holds a URL with an embedded password (value redacted): a spec holds references only; "
     "put the value in a Secret and write DATABASE_URL: {secretRef: {name: SECRET, key: KEY}}"),
    (f"    env: {{REDIS_URL: 'redis://:{PASSWORD}@redis:6379/0'}}\n", "kgen.yaml:11: components.api.env.REDIS_URL: holds a URL with an embedded password"),
    (f"    env:\n      MODEL_BACKEND: {OPENAI_KEY}\n", "kgen.yaml:12: components.api.env.MODEL_BACKEND: holds an OpenAI API key"),
    ("    env: {LLM_KEY_ID: sk-proj-Zk3xQ9mLp2Rt7Vw4Yb8Nc1Hd6Gf0Js5Ka3Ue9Xo2Iq7Wm4}\n", "components.api.env.LLM_KEY_ID: holds a random-looking token"),
    ("    args: [--port=8080, --db-password=hunter2]\n",
     "kgen.yaml:11: components.api.args[1]: passes --db-password a literal value (redacted): put the value in a Secret, add env: {VAR: {secretRef: {name: SECRET, key: KEY}}} and pass $(VAR)"),
    ("    command: [sh, -c, 'export PGPASSWORD=hunter2; psql -h db']\n", "components.api.command[2]: runs a shell command that sets PGPASSWORD to a literal value"),
    ("    config:\n      data:\n        app.ini: |\n          [db]\n          password = hunter2\n",
     "kgen.yaml:13: components.api.config.data['app.ini']: sets password to a literal value on line 2 (value redacted): ConfigMaps are not secret; put the file in a Secret"),
    ("    config:\n      data: {seed: 'Zk3xQ9mLp2Rt7Vw4Yb8Nc1Hd6Gf0Js5Ka3Ue9Xo2Iq7'}\n", "components.api.config.data.seed: holds a random-looking token on line 1"),
    ("    podAnnotations: {example.com/hook: 'https://hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D/abcdefghijklmnopqrstuvwx'}\n",
     "components.api.podAnnotations['example.com/hook']: holds a Slack webhook URL (value redacted): annotations are not secret"),
    ("    labels: {token: ghp_Kq7Zr2mX9vB4nL8wT1yH6cJ3dF5gA0sE2uPo}\n", "components.api.labels.token: holds a GitHub token (value redacted): labels are not secret"),
])  # fmt: skip
def test_secret_values_are_refused_with_the_line_and_how_to_reference_a_secret(tmp_path: Path, extra: str, expected: str) -> None:
    found = errors(tmp_path, BASE + extra)
    assert any(expected in line for line in found), found
    assert not any(secret in line for line in found for secret in (PASSWORD, "hunter2", OPENAI_KEY, "abcdefghijklmnop"))


@pytest.mark.parametrize("env", [
    "PASSWORD_MIN_LENGTH: 12", "TOKEN_TTL: 3600", "PASSWORD_FILE: /run/secrets/pw", "HF_TOKEN: ''",
    "API_TOKEN: 3600", "DB_PASSWORD: '90s'", "SESSION_SECRET_TIMEOUT: 1h30m", "AUTH_TOKEN: '${AUTH_TOKEN}'",
    "DATABASE_URL: postgres://db.internal:5432/shop", "REDIS_PASSWORD: ''", "OAUTH_CLIENT_ID: shop-frontend",
])  # fmt: skip
def test_clearly_non_secret_values_pass_whatever_the_name(tmp_path: Path, env: str) -> None:
    assert errors(tmp_path, BASE + f"    env: {{{env}}}\n") == []


@pytest.mark.parametrize(("name", "value"), [
    ("DB_PASSWORD", "hunter2"), ("DB_PASSWORD", "12345"), ("PASSWORD_MIN_LENGTH", "12"), ("GITHUB", "ghp_Kq7Zr2mX9vB4nL8wT1yH6cJ3dF5gA0sE2uPo"),
    ("DSN", f"mysql://root:{PASSWORD}@db/app"), ("API_KEY", "changeme"), ("API_KEY", "/etc/key"), ("TOKEN", ""), ("AWS", "AKIAZ7QW3RTY5UIO9PLK"),
    ("CACHE_KEY", "user-profile"), ("ID", "Zk3xQ9mLp2Rt7Vw4Yb8Nc1Hd6Gf0Js5Ka3Ue9X"), ("SECRET_NAME", "shop-db"), ("LOG_LEVEL", "debug"),
])  # fmt: skip
def test_the_spec_check_and_lint_agree_on_env_values(tmp_path: Path, name: str, value: str) -> None:
    """One detector: a literal the spec refuses is exactly one that lint flags in a manifest."""
    refused = bool(errors(tmp_path, BASE + f"    env: {{{name}: '{value}'}}\n"))
    manifest = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: app\n      image: a:1\n"
        f"      env:\n        - name: {name}\n          value: '{value}'\n"
    )
    flagged = any(f.rule == "secret-env-literal" for f in lint_yaml(manifest).findings)
    assert refused == flagged


@pytest.mark.parametrize(("extra", "expected"), [
    ("    labels: {'bad key!': x}\n", "kgen.yaml:11: components.api.labels['bad key!']: label key 'bad key!' must be letters, digits"),
    ("    labels: {team: " + "x" * 75 + "}\n", "kgen.yaml:11: components.api.labels.team: label value must be at most 63 characters (found 75)"),
    ("    labels: {Example.COM/team: a}\n", "label key 'Example.COM/team' has an invalid prefix"),
    ("    podAnnotations: {'-bad': x}\n", "components.api.podAnnotations['-bad']: annotation key '-bad' must be letters"),
    ("    storage:\n      a: {mountPath: /data, emptyDir: {}}\n      b: {mountPath: /data/, emptyDir: {}}\n",
     "kgen.yaml:13: components.api.storage.b.mountPath: mount path /data/ is already used by storage.a.mountPath"),
    ("    storage: {cache: {mountPath: /etc/app, emptyDir: {}}}\n    config: {mountPath: /etc/app, data: {a: b}}\n", "components.api.config.mountPath: mount path /etc/app is already used by storage.cache.mountPath"),
    ("    resources: {cpu: 100m, memory: 512Mi, memoryLimit: 256Mi}\n", "components.api.resources.memoryLimit: memoryLimit (256Mi) is below the memory request (512Mi)"),
    ("    resources: {cpu: '2', memory: 128Mi, cpuLimit: 500m}\n", "components.api.resources.cpuLimit: cpuLimit (500m) is below the cpu request (2)"),
])  # fmt: skip
def test_values_kubernetes_would_reject(tmp_path: Path, extra: str, expected: str) -> None:
    text = BASE.replace("    resources: {cpu: 100m, memory: 128Mi}\n", "") if "resources:" in extra else BASE
    found = errors(tmp_path, text + extra)
    assert any(expected in line for line in found), found


def test_app_metadata_labels_and_annotations(tmp_path: Path) -> None:
    text = BASE.replace("  name: shop\n", "  name: shop\n  labels: {'bad key!': x}\n  annotations: {ok.example.com/a: 'ghp_Kq7Zr2mX9vB4nL8wT1yH6cJ3dF5gA0sE2uPo'}\n")
    assert errors(tmp_path, text) == [
        "kgen.yaml:5: metadata.labels['bad key!']: label key 'bad key!' must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit (optionally prefix/)",
        "kgen.yaml:6: metadata.annotations['ok.example.com/a']: holds a GitHub token (value redacted): annotations are not secret; keep credentials in a Secret",
    ]


@pytest.mark.parametrize(("schedule", "message"), [
    ("0 25 * * *", "'0 25 * * *': the hour field '25' is out of range (allowed 0-23)"),
    ("0 2 * * 8", "the day of week field '8' is out of range"),
    ("0 2 31-1 * *", "the day of month field '31-1' has a range that ends before it starts"),
    ("*/0 * * * *", "the minute field '*/0' has an invalid step"),
    ("0 2 * * * *", "is not a 5-field cron schedule"),
    ("0 2 * foo *", "the month field 'foo' is not a number, a range or *"),
    ("0 0 L * *", "the day of month field 'L' is not a number, a range or *"),  # Quartz, not Kubernetes
    ("@every 1 hour", "is not a 5-field cron schedule"),
])  # fmt: skip
def test_cron_fields_and_ranges(tmp_path: Path, schedule: str, message: str) -> None:
    text = BASE + JOB.replace("migrate", "nightly").replace("kind: job", f"kind: cronjob\n    schedule: '{schedule}'")
    assert any(message in line and "components.nightly.schedule" in line for line in errors(tmp_path, text))


@pytest.mark.parametrize("schedule", ["0 2 * * *", "*/15 9-17 * * mon-fri", "0 0 1,15 jan-jun 0", "@daily", "30 3 ? * 7", "@every 1h30m", "0 9-17/2 * * MON-FRI"])
def test_valid_cron_schedules(schedule: str) -> None:
    assert cron_problem(schedule) is None


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.integers(0, 99), min_size=5, max_size=5))
def test_cron_numbers_are_accepted_exactly_within_their_ranges(numbers: list[int]) -> None:
    highs = (59, 23, 31, 12, 7)
    lows = (0, 0, 1, 1, 0)
    inside = all(low <= n <= high for n, low, high in zip(numbers, lows, highs))
    assert (cron_problem(" ".join(map(str, numbers))) is None) == inside


def test_time_zones(tmp_path: Path) -> None:
    cron = JOB.replace("migrate", "nightly").replace("kind: job", "kind: cronjob\n    schedule: '0 2 * * *'\n    timeZone: ZONE")
    assert errors(tmp_path, BASE + cron.replace("ZONE", "Europe/Paris")) == []
    assert errors(tmp_path, BASE + cron.replace("ZONE", "Mars/Olympus")) == [
        "kgen.yaml:14: components.nightly.timeZone: 'Mars/Olympus' is not an IANA time zone (e.g. Europe/Paris, America/New_York, Etc/UTC)"
    ]
    assert "is not an IANA time zone" in errors(tmp_path, BASE + cron.replace("ZONE", "../../etc/passwd"))[0]


def test_fields_that_do_not_apply_to_the_kind(tmp_path: Path) -> None:
    assert errors(tmp_path, BASE + JOB + "    replicas: 3\n") == [
        "kgen.yaml:15: components.migrate.replicas: replicas does not apply to a job (only to: service, worker, statefulset); remove it"
    ]
    assert "backoffLimit does not apply to a service" in errors(tmp_path, BASE + "    backoffLimit: 2\n")[0]
    assert "timeZone does not apply to a job" in errors(tmp_path, BASE + JOB + "    timeZone: Etc/UTC\n")[0]
    # defaults apply to every component: a default replica count does not make a job invalid
    with_defaults = BASE.replace("components:\n", "defaults: {replicas: 2}\ncomponents:\n") + JOB
    assert errors(tmp_path, with_defaults) == []


def test_build_refuses_a_secret_value_and_writes_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "kgen.yaml"
    spec.write_text(BASE + f"    env: {{DATABASE_URL: 'postgres://shop:{PASSWORD}@db/shop'}}\n")
    result = run_kgen("build", str(spec), "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "kgen.yaml:11: components.api.env.DATABASE_URL: holds a URL with an embedded password" in result.stderr
    assert PASSWORD not in result.stderr and not (tmp_path / "out").exists()
