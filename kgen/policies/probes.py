"""Probe rules: containers that tell Kubernetes when they can take traffic and when they are stuck."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any, Iterator

from kgen.policies.inventory import Inventory, Scope, scope_of
from kgen.policies.registry import RuleContext, Violation, rule
from kgen.policies.selectors import pod_labels
from kgen.workloads import Container, PodTemplate, as_list, as_map

PROBES = ("readinessProbe", "livenessProbe", "startupProbe")
HANDLERS = ("httpGet", "tcpSocket", "exec", "grpc")
PORT_HANDLERS = ("httpGet", "tcpSocket", "grpc")
# Kubernetes defaults for unset (or 0) probe fields.
TIMING_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3, "initialDelaySeconds": 0}


def handler(probe: Any) -> tuple[str, dict] | None:
    """The probe's action (``httpGet``, ``tcpSocket``, ``exec`` or ``grpc``) and its settings."""
    for kind in HANDLERS:
        value = as_map(probe).get(kind)
        if value is not None:
            return kind, as_map(value)
    return None


def _unrendered(value: str) -> bool:
    """A placeholder envsubst or a template tool fills in later (``${PORT}``, ``{{ .Values.port }}``)."""
    return "${" in value or "{{" in value


def _declared_ports(c: Container) -> tuple[dict[str, Any], set[Any]]:
    """The container's named ports (name -> number) and declared port numbers."""
    named: dict[str, Any] = {}
    numbers: set[Any] = set()
    for port in as_list(c.data.get("ports")):
        port = as_map(port)
        number = port.get("containerPort")
        numbers.add(number)
        if isinstance(port.get("name"), str):
            named[port["name"]] = number
    return named, numbers


def _target(c: Container, probe: Any) -> tuple | None:
    """What a probe checks, with defaults filled in and named ports resolved, to compare probes."""
    found = handler(probe)
    if found is None:
        return None
    kind, action = found
    named, _ = _declared_ports(c)
    port = action.get("port")
    port = named.get(port, port) if isinstance(port, str) else port
    if kind == "httpGet":
        headers = sorted((str(as_map(h).get("name")).lower(), str(as_map(h).get("value"))) for h in as_list(action.get("httpHeaders")))
        path = action.get("path") or "/"
        return kind, port, str(path), action.get("host") or "", str(action.get("scheme") or "HTTP").upper(), tuple(headers)
    if kind == "tcpSocket":
        return kind, port, action.get("host") or ""
    if kind == "grpc":
        return kind, port, action.get("service") or ""
    return kind, tuple(str(arg) for arg in as_list(action.get("command")))


def _missing(template: PodTemplate, field: str, consequence: str) -> Iterator[Violation]:
    """Long-running containers of a serving workload that lack ``field`` (or whose probe has no handler)."""
    if template.batch:
        return
    for c in template.containers:
        if not c.long_running or field in c.probes_injected:
            continue  # the controller or runtime supplies it (KubeRay, Knative queue-proxy, KServe runtimes)
        probe = c.data.get(field)
        if isinstance(probe, dict) and probe and handler(probe) is None:
            yield Violation(c.at(field), f"container {c.name!r} has a {field} without httpGet, tcpSocket, exec or grpc; the API server rejects it")
        elif handler(probe) is None:
            yield Violation(c.path, f"container {c.name!r} has no {field}: {consequence}")


@rule(
    id="probe-readiness-missing",
    category="probes",
    severity="warning",
    scope="workload",
    summary="A long-running container has no readiness probe.",
    why="""Without a readiness probe a container counts as ready the moment it starts: Services send it
    traffic before it can serve (model servers can take minutes to load weights), and rolling updates move
    on before the new pods work. Jobs, CronJobs and init containers are exempt; native sidecars are not.""",
    fix="""Add a `readinessProbe` that succeeds only when the container can serve, e.g. `httpGet:
    {path: /ready, port: http}`.""",
    silent_when="""the input holds Services in the pod's namespace and none of them selects the pod (node
    agents, controllers, load generators receive no Service traffic); with no Service there in the input the
    rule applies to every long-running container. Also for probes the controller or runtime injects
    (KubeRay, Knative, KServe).""",
)
def readiness_missing(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    scope, labels = scope_of(template.obj), pod_labels(template)
    for violation in _missing(template, "readinessProbe", "Services send it traffic as soon as it starts; add a readinessProbe"):
        yield replace(violation, settle=partial(_unless_no_service_selects, violation, scope, labels))


def _unless_no_service_selects(violation: Violation, scope: Scope, labels: dict[str, str | None], inventory: Inventory) -> Violation | None:
    """The violation, unless the input holds Services in the pod's namespace and none selects the pod."""
    return None if inventory.receives_traffic(scope, labels) is False else violation


@rule(
    id="probe-liveness-missing",
    category="probes",
    severity="warning",
    scope="workload",
    summary="A long-running container has no liveness probe.",
    why="""A process that deadlocks or hangs without exiting is never restarted unless a liveness probe
    notices. Jobs, CronJobs and init containers are exempt; native sidecars are not.""",
    fix="""Add a `livenessProbe` that checks the process itself (not its dependencies), with a failure
    budget larger than the readiness probe's; give slow starters a `startupProbe`.""",
    silent_when="""the pod runs to completion (Job, CronJob, a batch step) or the controller or runtime injects the probe (KubeRay, KServe runtimes, LLMInferenceService presets).""",
)
def liveness_missing(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    yield from _missing(template, "livenessProbe", "a hung process is never restarted; add a livenessProbe")


@rule(
    id="probe-identical",
    category="probes",
    severity="warning",
    scope="workload",
    summary="A container's liveness and readiness probes check the same thing.",
    why="""Readiness answers "send me traffic?", liveness "restart me?". When both run the same check, a
    busy container that briefly fails readiness is restarted too, turning overload into a restart storm.
    Only the handler and its target are compared (timing differences do not make the checks different).""",
    fix="""Point the liveness probe at a cheap endpoint that only checks the process is alive (e.g.
    `/livez`), and keep dependency checks in the readiness probe.""",
)
def identical(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    for c in template.containers:
        readiness = _target(c, c.data.get("readinessProbe"))
        if readiness is not None and readiness == _target(c, c.data.get("livenessProbe")):
            yield Violation(
                c.at("livenessProbe"),
                f"container {c.name!r} has the same {readiness[0]} check for liveness and readiness; "
                "a failing readiness check would also restart it",
            )


@rule(
    id="probe-port-undeclared",
    category="probes",
    severity="warning",
    scope="workload",
    summary="A probe names a port its container does not declare (or writes a number as a string); an undeclared port number is info.",
    why="""A named probe port is resolved against the container's own `ports`; when no port has that
    name the kubelet cannot run the probe and it always fails (a liveness probe then restarts the
    container forever). A port number works whether or not it is declared (the process listens on it:
    controller-runtime health ports such as 8081, ingress-nginx's 10254), so an undeclared number is
    only reported as info: declaring it documents the port.""",
    fix="""Declare the port under the container's `ports` (`- name: http, containerPort: 8080`) and
    refer to it by that name in the probe.""",
    case_severities={"the probe's port is a number that no containerPort declares (the probe still works)": "info"},
)
def port_undeclared(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    for c in template.containers:
        named, numbers = _declared_ports(c)
        for field in PROBES:
            found = handler(c.data.get(field))
            if found is None or found[0] not in PORT_HANDLERS or found[1].get("host"):
                continue  # a probe of another host checks that host's ports
            kind, action = found
            port = action.get("port")
            where = c.at(field, kind, "port")
            if isinstance(port, str) and port.isdigit():
                yield Violation(where, f"container {c.name!r} {field} port {port!r} is a string, which Kubernetes reads as a port name and rejects; write {port} unquoted")
            elif isinstance(port, str) and port not in named and not _unrendered(port):
                yield Violation(
                    where,
                    f"container {c.name!r} {field} uses the port name {port!r}, which no port of the container declares; "
                    "Kubernetes cannot resolve it and the probe always fails",
                )
            elif isinstance(port, int) and not isinstance(port, bool) and port not in numbers:
                yield Violation(where, f"container {c.name!r} {field} probes port {port}, which is not a declared containerPort; declare it under ports to document it", severity="info")


def _timing(probe: dict, field: str) -> int | None:
    """A timing field with Kubernetes' default for unset or 0; None when not an integer."""
    value = probe.get(field)
    if value is None or value == 0:
        return TIMING_DEFAULTS[field]
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@rule(
    id="probe-timing-invalid",
    category="probes",
    severity="error",
    scope="workload",
    summary="A probe's timeoutSeconds exceeds its periodSeconds, a liveness/startup successThreshold is not 1, or a timing field is negative.",
    why="""The API server rejects a liveness or startup probe whose successThreshold is not 1, and any
    negative timing field. A timeout longer than the period means probes overlap their own schedule: the
    kubelet skips ticks, so the probe runs less often than written and takes longer to notice failures.
    Unset fields take Kubernetes' defaults (timeout 1s, period 10s, successThreshold 1).""",
    fix="""Keep `timeoutSeconds` at or below `periodSeconds`, and set `successThreshold: 1` (or leave it
    out) on liveness and startup probes.""",
    case_severities={"timeoutSeconds exceeds periodSeconds (the API server accepts it)": "warning"},
)
def timing_invalid(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    for c in template.containers:
        for field in PROBES:
            probe = c.data.get(field)
            if not isinstance(probe, dict):
                continue
            for name in TIMING_DEFAULTS:
                value = probe.get(name)
                if isinstance(value, int) and not isinstance(value, bool) and value < 0:
                    yield Violation(c.at(field, name), f"container {c.name!r} {field}.{name} is {value}; it must not be negative")
            timeout, period = _timing(probe, "timeoutSeconds"), _timing(probe, "periodSeconds")
            if timeout is not None and period is not None and period > 0 and timeout > period:
                where = "timeoutSeconds" if "timeoutSeconds" in probe else "periodSeconds"
                yield Violation(
                    c.at(field, where),
                    f"container {c.name!r} {field} has timeoutSeconds {timeout} above periodSeconds {period}; "
                    "lower the timeout or lengthen the period",
                    severity="warning",  # accepted by the API server, unlike the other cases
                )
            success = _timing(probe, "successThreshold")
            if field != "readinessProbe" and success is not None and success > 1:
                yield Violation(
                    c.at(field, "successThreshold"),
                    f"container {c.name!r} {field}.successThreshold is {success}; the API server only accepts 1 for {field}s",
                )
