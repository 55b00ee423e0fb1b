"""Probe rules: which containers need probes, handler comparison, ports, timing, odd input."""

from __future__ import annotations

import textwrap

import pytest

from kgen.findings import Finding
from tests.conftest import lint_yaml


def findings(text: str, rule_id: str) -> list[Finding]:
    return [f for f in lint_yaml(textwrap.dedent(text)).findings if f.rule == rule_id]


def where(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first ``needle`` in ``text``: where a finding must point."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in text")


def pod(container: str, kind_head: str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n", extra: str = "") -> str:
    """A Pod whose first container has ``container`` (YAML at container level) added."""
    return (
        kind_head
        + textwrap.indent(textwrap.dedent(extra), "  ")
        + "  containers:\n    - name: app\n      image: ghcr.io/acme/app:1.0.0\n"
        + textwrap.indent(textwrap.dedent(container), "      ")
    )


BOTH = """\
ports: [{name: http, containerPort: 8080}]
readinessProbe: {httpGet: {path: /ready, port: http}}
livenessProbe: {httpGet: {path: /livez, port: http}}
"""


# --- probe-readiness-missing / probe-liveness-missing -------------------------------------------


def test_missing_probes_point_at_the_container() -> None:
    text = pod("ports: [{containerPort: 80}]\n")
    (ready,) = findings(text, "probe-readiness-missing")
    (live,) = findings(text, "probe-liveness-missing")
    assert ready.path == live.path == "spec.containers[0]"
    assert (ready.line, ready.column) == where(text, "name: app")
    assert not findings(pod(BOTH), "probe-readiness-missing") + findings(pod(BOTH), "probe-liveness-missing")


@pytest.mark.parametrize(
    "head",
    [
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n",
    ],
)
def test_jobs_and_cronjobs_are_exempt(head: str) -> None:
    depth = head.rstrip("\n").rsplit("\n", 1)[-1].index("spec:") + 2
    body = textwrap.indent("containers:\n  - name: batch\n    image: ghcr.io/acme/batch:1.0.0\n", " " * depth)
    text = head + body
    assert not findings(text, "probe-readiness-missing")
    assert not findings(text, "probe-liveness-missing")


def test_bare_pods_that_run_to_completion_are_exempt() -> None:
    assert not findings(pod("", extra="restartPolicy: Never\n"), "probe-readiness-missing")
    assert findings(pod("", extra="restartPolicy: Always\n"), "probe-readiness-missing")


def test_init_and_ephemeral_containers_are_exempt_but_sidecars_are_not() -> None:
    extra = """\
    initContainers:
      - {name: migrate, image: "ghcr.io/acme/app:1.0.0"}
      - {name: proxy, image: "envoyproxy/envoy:v1.30.2", restartPolicy: Always}
    ephemeralContainers:
      - {name: debug, image: "busybox:1.36"}
    """
    hits = findings(pod(BOTH, extra=extra), "probe-readiness-missing")
    assert [h.path for h in hits] == ["spec.initContainers[1]"]


def test_probe_without_handler_is_reported_on_the_probe() -> None:
    (hit,) = findings(pod("readinessProbe: {periodSeconds: 5}\n"), "probe-readiness-missing")
    assert hit.path == "spec.containers[0].readinessProbe" and "rejects" in hit.message


# --- probe-identical ----------------------------------------------------------------------------


def test_identical_ignores_timing_and_resolves_named_ports() -> None:
    text = pod(
        """\
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 5}
        livenessProbe: {httpGet: {path: /healthz, port: 8080, scheme: HTTP}, failureThreshold: 10}
        """
    )
    (hit,) = findings(text, "probe-identical")
    assert hit.path == "spec.containers[0].livenessProbe"
    assert (hit.line, hit.column) == where(text, "livenessProbe")


@pytest.mark.parametrize(
    "ready,live",
    [
        ("{httpGet: {path: /ready, port: 8080}}", "{httpGet: {path: /live, port: 8080}}"),
        ("{httpGet: {path: /h, port: 8080}}", "{httpGet: {path: /h, port: 8080, scheme: HTTPS}}"),
        ("{tcpSocket: {port: 8080}}", "{httpGet: {path: /, port: 8080}}"),
        ("{grpc: {port: 9090, service: ready}}", "{grpc: {port: 9090}}"),
        ("{exec: {command: [a, b]}}", "{exec: {command: [a, c]}}"),
        ("null", "null"),
        ("{}", "{}"),
    ],
)
def test_different_checks_are_not_identical(ready: str, live: str) -> None:
    text = pod(f"ports: [{{containerPort: 8080}}, {{containerPort: 9090}}]\nreadinessProbe: {ready}\nlivenessProbe: {live}\n")
    assert not findings(text, "probe-identical")


# --- probe-port-undeclared ----------------------------------------------------------------------


def test_port_name_must_resolve() -> None:
    text = pod("ports: [{name: http, containerPort: 8080}]\nlivenessProbe: {httpGet: {path: /, port: healthz}}\n")
    (hit,) = findings(text, "probe-port-undeclared")
    assert hit.path == "spec.containers[0].livenessProbe.httpGet.port" and "always fails" in hit.message
    assert (hit.line, hit.column) == where(text, "port: healthz")


def test_declared_ports_by_number_and_name_pass() -> None:
    text = pod(
        "ports: [{name: http, containerPort: 8080}, {containerPort: 9090}]\n"
        "readinessProbe: {httpGet: {port: http}}\nlivenessProbe: {tcpSocket: {port: 8080}}\nstartupProbe: {grpc: {port: 9090}}\n"
    )
    assert not findings(text, "probe-port-undeclared")


def test_undeclared_number_quoted_number_and_other_hosts() -> None:
    assert findings(pod("readinessProbe: {tcpSocket: {port: 8080}}\n"), "probe-port-undeclared")
    (quoted,) = findings(pod("ports: [{containerPort: 8080}]\nreadinessProbe: {httpGet: {port: '8080'}}\n"), "probe-port-undeclared")
    assert "string" in quoted.message
    assert not findings(pod("readinessProbe: {httpGet: {host: 10.0.0.1, port: 80}}\n"), "probe-port-undeclared")
    assert not findings(pod("readinessProbe: {exec: {command: [true]}}\n"), "probe-port-undeclared")


# --- probe-timing-invalid -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "probe,fires",
    [
        ("livenessProbe: {exec: {command: [x]}, timeoutSeconds: 10}", False),  # period defaults to 10
        ("livenessProbe: {exec: {command: [x]}, timeoutSeconds: 11}", True),
        ("readinessProbe: {exec: {command: [x]}, timeoutSeconds: 5, periodSeconds: 3}", True),
        ("readinessProbe: {exec: {command: [x]}, timeoutSeconds: 5, periodSeconds: 0}", False),  # 0 is the default 10
        ("readinessProbe: {exec: {command: [x]}, periodSeconds: 1}", False),  # timeout defaults to 1
        ("readinessProbe: {exec: {command: [x]}, successThreshold: 3}", False),
        ("livenessProbe: {exec: {command: [x]}, successThreshold: 2}", True),
        ("startupProbe: {exec: {command: [x]}, successThreshold: 2}", True),
        ("startupProbe: {exec: {command: [x]}, successThreshold: 1, failureThreshold: 60}", False),
        ("readinessProbe: {exec: {command: [x]}, failureThreshold: -1}", True),
        ("livenessProbe: {exec: {command: [x]}, timeoutSeconds: ten, periodSeconds: true}", False),
    ],
)
def test_timing(probe: str, fires: bool) -> None:
    assert bool(findings(pod(probe + "\n"), "probe-timing-invalid")) is fires


def test_timing_points_at_the_field() -> None:
    text = pod("livenessProbe:\n  exec: {command: [x]}\n  successThreshold: 2\n")
    (hit,) = findings(text, "probe-timing-invalid")
    assert hit.path == "spec.containers[0].livenessProbe.successThreshold"
    assert (hit.line, hit.column) == where(text, "successThreshold")


# --- robustness ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "container",
    [
        "readinessProbe: yes\nlivenessProbe: [1]\nports: null\n",
        "readinessProbe: {httpGet: null}\nlivenessProbe: {tcpSocket: 8080}\nports: [null, 3, {name: 1}]\n",
        "readinessProbe: {httpGet: {port: true, httpHeaders: [null, {name: X}]}}\nlivenessProbe: {exec: {command: null}}\n",
        "readinessProbe: {grpc: {port: null}}\nstartupProbe: {exec: 1, periodSeconds: -5}\n",
    ],
)
def test_odd_input_never_crashes(container: str) -> None:
    lint_yaml(pod(container))


def test_undeclared_port_number_is_info_and_undeclared_name_a_warning() -> None:
    """Numbers work without a declaration (controller-runtime :8081, ingress-nginx :10254); names do not."""
    text = pod("ports: [{name: http, containerPort: 8080}]\nlivenessProbe: {httpGet: {path: /healthz, port: 8081}}\nreadinessProbe: {httpGet: {path: /readyz, port: health}}\n")
    severities = {f.path.split(".")[2]: f.severity for f in findings(text, "probe-port-undeclared")}
    assert severities == {"livenessProbe": "info", "readinessProbe": "warning"}


def test_unrendered_port_placeholder_is_not_a_port_name() -> None:
    assert not findings(pod("readinessProbe: {grpc: {port: '${HEALTH_PORT:-9003}'}}\n"), "probe-port-undeclared")


SERVICE = "---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n"
LABELLED = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: %s}}\nspec:\n"


@pytest.mark.parametrize(
    "labels,service,expected",
    [
        ("web", SERVICE, True),  # a Service sends it traffic
        ("agent", SERVICE, False),  # Services exist, none selects it: a node agent or a controller
        ("agent", "", True),  # no Service in the input: nothing is known, today's behaviour
        ("agent", SERVICE.replace("selector: {app: web}", "type: ExternalName\n  externalName: db.example.com"), True),
        ("web", SERVICE.replace("name: s}", "name: s, namespace: other}"), True),  # no Service in the pod's namespace
    ],
)
def test_readiness_needed_only_by_pods_a_service_selects(labels: str, service: str, expected: bool) -> None:
    text = pod("livenessProbe: {exec: {command: [true]}}\n", kind_head=LABELLED % labels) + service
    assert bool(findings(text, "probe-readiness-missing")) is expected
