"""The app spec: load it with positions, validate it, resolve its environments.

Validation has three passes, each reporting ``file:line: spec.path: message``:
the JSON Schema on what the user wrote (nothing required inside components, so
partial overrides validate where they are written), the schema again on every
merged component (now with its required fields), and the semantic rules no
schema can say. Errors found on a merged component are attributed to the place
that wrote the value: the environment override, the component, or ``defaults``.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

from kgen.errors import InputError
from kgen.generator.checks import RedactedMessage, app_problems, component_problems, cron_problem
from kgen.loader import JsonPath, KubeObject, SourceFile, format_path, parse_source, read_source
from kgen.merge import deep_merge
from kgen.quantity import QuantityError, parse_quantity

API_VERSION = "kgen.dev/v1alpha1"
KIND = "App"
DEFAULT_ENVIRONMENT = "default"
WORKLOAD_KINDS = ("service", "worker")  # the kinds that become Deployments
REPLICATED_KINDS = (*WORKLOAD_KINDS, "statefulset")  # long-running kinds with a replica count
SERVICE_KINDS = ("service", "statefulset")  # kinds whose ports get a Service (and may get an Ingress)
RWO_MODES = ("ReadWriteOnce", "ReadWriteOncePod")
SHM_VOLUME, CONFIG_VOLUME, FILES_VOLUME = "dshm", "config", "files"  # volume names kgen adds itself


@dataclass(frozen=True)
class SpecProblem:
    """One error, addressed by spec path and line."""

    path: JsonPath
    message: str
    line: int

    def format(self, file: str) -> str:
        where = format_path(self.path) or "(document)"
        return f"{file}:{self.line}: {where}: {self.message}"

    @property
    def secret_value(self) -> bool:
        """The problem is a secret value written in the spec (its line must not be quoted)."""
        return isinstance(self.message, RedactedMessage)


class SpecError(InputError):
    """An invalid spec: every problem, one per line, so the user fixes them in one go."""

    def __init__(self, file: str, problems: list[SpecProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.format(file) for p in problems))

    def __str__(self) -> str:
        return self.message


@dataclass
class AppSpec:
    """A loaded (not yet validated) spec and the node tree that locates its fields."""

    data: dict
    document: KubeObject
    file: str

    @property
    def name(self) -> str:
        return self.data["metadata"]["name"]

    def line(self, path: Iterable[Any]) -> int:
        return self.document.locate(path)[0]

    def has(self, path: JsonPath) -> bool:
        return self.document.node_at(path) is not None

    def environment_names(self) -> list[str]:
        """Environments in the order written; a spec without any has ``default``."""
        envs = self.data.get("environments") or {}
        return list(envs) if envs else [DEFAULT_ENVIRONMENT]

    def environment(self, env: str) -> dict:
        return (self.data.get("environments") or {}).get(env) or {}

    def namespace(self, env: str | None) -> str | None:
        if env is None:
            return None
        return self.environment(env).get("namespace") or self.data["metadata"].get("namespace")

    def components(self, env: str | None) -> dict[str, dict]:
        """Every component of ``env`` (``None``: the base) with defaults and overrides merged."""
        defaults = self.data.get("defaults") or {}
        overrides = (self.environment(env).get("components") or {}) if env else {}
        resolved: dict[str, dict] = {}
        for name, component in (self.data.get("components") or {}).items():
            merged = deep_merge(defaults, component or {})
            if name in overrides:
                if overrides[name] is None:
                    continue  # `name: null` removes the component from this environment
                merged = deep_merge(merged, overrides[name])
            resolved[name] = _strip_nulls(merged)  # a null that deleted nothing is no value either
        return resolved

    def own_fields(self, name: str, env: str | None) -> dict:
        """What the component and its override wrote themselves (no defaults)."""
        own = copy.deepcopy((self.data.get("components") or {}).get(name) or {})
        if env:
            override = (self.environment(env).get("components") or {}).get(name)
            if override:
                own = deep_merge(own, override)
        return own


def load_spec(path: str) -> AppSpec:
    """Read and parse ``path``; a file that is not one App document is an InputError."""
    return parse_spec(read_source(path))


def parse_spec(source: SourceFile) -> AppSpec:
    loaded = parse_source(source)
    if loaded.problems:
        problem = loaded.problems[0]
        raise InputError(problem.message, problem.file, problem.line)
    apps = [obj for obj in loaded.objects if obj.api_version == API_VERSION and obj.kind == KIND]
    if len(apps) != 1 or len(loaded.objects) != 1:
        raise InputError(f"a spec file holds exactly one document with apiVersion: {API_VERSION} and kind: {KIND}", source.name)
    return AppSpec(apps[0].data, apps[0], source.name)


def validate(spec: AppSpec) -> list[SpecProblem]:
    """The spec on its own: schema errors first; the semantic pass only runs on a schema-valid
    spec. What needs the generated objects (extraObjects collisions) is checked above the
    object builders, in :mod:`kgen.generator.validation`."""
    problems = _schema_problems(spec) + _overrides_name_components(spec)
    if problems:
        return sorted_problems(problems)
    for env in [None, *([] if not spec.data.get("environments") else spec.environment_names())]:
        components = spec.components(env)
        for name, component in components.items():
            found = _merged_problems(spec, env, name, component, components)
            problems.extend(_attribute(spec, env, name, path, message) for path, message in found)
        problems.extend(_environment_problems(spec, env, components))
    problems.extend(SpecProblem(path, message, spec.line(path)) for path, message in app_problems(spec.data))
    return sorted_problems(problems)


def sorted_problems(problems: list[SpecProblem]) -> list[SpecProblem]:
    """In file order, each problem once (a base problem shows up in every environment)."""
    unique = {(p.path, p.message): p for p in problems}
    return sorted(unique.values(), key=lambda p: (p.line, format_path(p.path), p.message))


# --- schema ------------------------------------------------------------------------------------


class _Checker:
    """A fast yes/no (jsonschema-rs) and, only for invalid input, readable errors (jsonschema)."""

    def __init__(self, schema: dict) -> None:
        import jsonschema
        import jsonschema_rs

        self._fast = jsonschema_rs.validator_for(schema)
        self._explaining = jsonschema.Draft202012Validator(schema)

    def iter_errors(self, data: Any) -> Iterable[Any]:
        return () if self._fast.is_valid(data) else self._explaining.iter_errors(data)


@lru_cache(maxsize=1)
def _validators() -> tuple[_Checker, _Checker]:
    """(partial, full): the spec schema without ``required`` inside components, and one component."""
    from kgen.schemas import load_schema

    schema = load_schema("app-spec.schema.json")
    partial = copy.deepcopy(schema)
    partial["$defs"]["component"] = _without_required(partial["$defs"]["component"])
    component = {"$defs": schema["$defs"], **schema["$defs"]["component"]}
    return _Checker(partial), _Checker(component)


def _without_required(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_required(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [_without_required(v) for v in node]
    return node


def _strip_nulls(data: Any) -> Any:
    """Inside components ``null`` means "delete": valid anywhere, so the schema never sees it."""
    if isinstance(data, dict):
        return {k: _strip_nulls(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_strip_nulls(v) for v in data]
    return data


def _schema_problems(spec: AppSpec) -> list[SpecProblem]:
    partial, _ = _validators()
    data = copy.deepcopy(spec.data)
    for section in ("defaults",):
        if isinstance(data.get(section), dict):
            data[section] = _strip_nulls(data[section])
    for name, component in (data.get("components") or {}).items() if isinstance(data.get("components"), dict) else ():
        data["components"][name] = _strip_nulls(component)
    for env in (data.get("environments") or {}).values() if isinstance(data.get("environments"), dict) else ():
        if isinstance(env, dict) and isinstance(env.get("components"), dict):
            env["components"] = {k: _strip_nulls(v) for k, v in env["components"].items()}
    problems = []
    for error in partial.iter_errors(data):
        path, message = _explain(error)
        problems.append(SpecProblem(path, message, spec.line(path)))
    return problems


def _merged_problems(spec: AppSpec, env: str | None, name: str, component: dict, components: dict[str, dict]) -> list[tuple[JsonPath, str]]:
    """The merged component's schema problems, else its semantic ones (which assume the schema's shapes)."""
    return _merged_schema_problems(component) or _component_problems(spec, env, name, component, components)


def _merged_schema_problems(component: dict) -> list[tuple[JsonPath, str]]:
    _, full = _validators()
    return [_explain(error) for error in full.iter_errors(component)]


def _explain(error: Any) -> tuple[JsonPath, str]:
    """A jsonschema error as (path, short message), pointing at the key the user wrote."""
    path: JsonPath = tuple(error.absolute_path)
    validator, value = error.validator, error.validator_value
    if validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        extra = [k for k in extra if not k.startswith("x-")]
        key = extra[0] if extra else ""
        close = difflib.get_close_matches(key, sorted(error.schema.get("properties", {})), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return (*path, key), f"unknown key {key!r} ({hint}keys starting with x- are free-form)"
    if validator == "required":
        missing = [k for k in value if k not in error.instance]
        return path, f"{missing[0] if missing else value[0]!r} is required"
    if "propertyNames" in error.schema_path:
        # jsonschema reports a bad key as an error on the key itself, at the parent's path
        if error.schema.get("description"):  # names that are not DNS labels say what they are
            return (*path, error.instance), f"{error.instance!r} is not a valid name: {error.schema['description']}"
        rule = f"at most {value} characters" if validator == "maxLength" else f"must match {value}" if validator == "pattern" else error.message
        return (*path, error.instance), f"{error.instance!r} is not a valid name: {rule} (lowercase letters, digits and '-')"
    if validator in ("minimum", "exclusiveMinimum"):
        return path, f"must be >= {value}"
    if validator in ("maximum", "exclusiveMaximum"):
        return path, f"must be <= {value}"
    if validator == "type":
        kinds = value if isinstance(value, list) else [value]
        return path, f"must be {' or '.join(_article(k) for k in kinds)}"
    if validator == "enum":
        return path, "must be one of: " + ", ".join(repr(v) for v in value)
    if validator == "const":
        return path, f"must be {value!r}"
    if validator == "pattern":
        return path, f"{error.instance!r} does not match {value}"
    if validator == "maxLength":
        return path, f"must be at most {value} characters"
    if validator in ("minLength", "minItems", "minProperties"):
        return path, "must not be empty"
    if validator in ("oneOf", "anyOf"):
        # the alternative that got furthest into the value says best what is wrong
        deepest = max(error.context or (), key=lambda sub: len(sub.absolute_path), default=None)
        if deepest is not None and len(deepest.absolute_path) > len(path):
            return _explain(deepest)
        return path, "must be a plain value or a {secretRef|configMapRef|fieldRef} reference" if "secretRef" in str(value) else "does not match any allowed form"
    return path, error.message


def _article(kind: str) -> str:
    return {"object": "a mapping", "array": "a list", "integer": "an integer", "null": "null"}.get(kind, f"a {kind}")


# --- semantics -----------------------------------------------------------------------------------


def _attribute(spec: AppSpec, env: str | None, name: str, path: JsonPath, message: str) -> SpecProblem:
    """Point a merged-component problem at whoever wrote the value (override, component, defaults)."""
    candidates: list[JsonPath] = []
    if env:
        candidates.append(("environments", env, "components", name, *path))
    candidates += [("components", name, *path), ("defaults", *path)]
    chosen = next((c for c in candidates if spec.has(c)), ("components", name, *path))
    if env and chosen[0] != "environments":
        base = spec.components(None).get(name)
        if base is None or message not in {m for _, m in _merged_problems(spec, None, name, base, spec.components(None))}:
            message = f"{message} (in environment {env})"
    return SpecProblem(chosen, message, spec.line(chosen))


def _overrides_name_components(spec: AppSpec) -> list[SpecProblem]:
    components, environments = spec.data.get("components"), spec.data.get("environments")
    if not isinstance(components, dict) or not isinstance(environments, dict):
        return []
    known = set(components)
    problems = []
    for env, body in environments.items():
        for section in ("components", "imageTag"):
            named = body.get(section) if isinstance(body, dict) else None
            for name in named if isinstance(named, dict) else ():
                if name not in known:
                    path = ("environments", env, section, name)
                    problems.append(SpecProblem(path, f"no component named {name!r} (known: {', '.join(sorted(known))})", spec.line(path)))
    return problems


def _component_problems(spec: AppSpec, env: str | None, name: str, c: dict, components: dict[str, dict]) -> list[tuple[JsonPath, str]]:
    out: list[tuple[JsonPath, str]] = []
    kind = c.get("kind", "service")
    ports = c.get("ports") or {}
    resources = c.get("resources") or {}
    scaled = "autoscaling" in c or "keda" in c

    if "autoscaling" in c and "keda" in c:
        out.append((("keda",), "autoscaling (HPA) and keda are exclusive: choose one"))
    if scaled and kind not in REPLICATED_KINDS:
        out.append((("autoscaling" if "autoscaling" in c else "keda",), f"a {kind} cannot be autoscaled"))
    for key in ("autoscaling", "keda"):
        block = c.get(key) or {}
        low = block.get("min", 0 if key == "keda" else 1)
        if "max" in block and low > block["max"]:
            out.append(((key, "min"), f"must be <= {key}.max ({block['max']})"))
    hpa = c.get("autoscaling") or {}
    serving = c.get("serving", "deployment")
    if serving == "deployment":
        if "autoscaling" in c and hpa.get("min", 1) < 1:
            out.append((("autoscaling", "min"), "must be >= 1"))
        if "target" in hpa:
            out.append((("autoscaling", "target"), "a concurrency target needs serving: knative or kserve (the HPA scales on cpu and memory)"))
        if "autoscaling" in c and "cpu" not in hpa and "memory" not in hpa:
            out.append((("autoscaling",), "needs a target: cpu and/or memory utilization (percent)"))
        for metric in ("cpu", "memory"):
            if metric in hpa and metric not in resources:
                out.append((("autoscaling", metric), f"{metric} autoscaling needs a {metric} request: set resources.{metric}"))
    out.extend(_kind_problems(c, kind))
    if kind == "cronjob":
        schedule = c.get("schedule")
        if schedule is None:
            out.append(((), "a cronjob needs a schedule (five fields, e.g. '0 2 * * *')"))
        elif cron_problem(schedule):
            out.append((("schedule",), cron_problem(schedule)))
        for key in ("ports", "ingress"):
            if key in c:
                out.append(((key,), f"a cronjob has no {key}"))
    elif "schedule" in c:
        out.append((("schedule",), "only a cronjob has a schedule"))
    if kind == "service" and not ports:
        out.append(((), "a service needs at least one port (or use kind: worker)"))
    numbers = [p["port"] for p in ports.values()]
    if len(set(numbers)) != len(numbers):
        out.append((("ports",), "port numbers must be unique"))
    ingress = c.get("ingress")
    if ingress is not None:
        if kind not in SERVICE_KINDS or c.get("serving", "deployment") != "deployment":
            out.append((("ingress",), "an ingress needs a kind: service (serving: deployment) or statefulset component"))
        elif not ports:
            out.append((("ingress",), "an ingress needs a port"))
        elif ingress.get("port") and ingress["port"] not in ports:
            out.append((("ingress", "port"), f"no port named {ingress['port']!r}"))
        if "path" in ingress and "paths" in ingress:
            out.append((("ingress", "paths"), "path and paths are exclusive"))
        tls = ingress.get("tls")
        if tls is not None and "issuer" in tls and "secretName" in tls:
            out.append((("ingress", "tls"), "tls.issuer and tls.secretName are exclusive"))
        elif tls is not None and not tls:
            out.append((("ingress", "tls"), "tls needs issuer (cert-manager) or secretName"))
    for probe_name, probe in (c.get("probes") or {}).items():
        handlers = [h for h in ("http", "tcp", "grpc", "exec") if h in probe]
        if len(handlers) != 1:
            out.append((("probes", probe_name), "needs exactly one of http, tcp, grpc, exec"))
            continue
        port = (probe[handlers[0]] or {}).get("port")
        if isinstance(port, str) and port not in ports:
            out.append((("probes", probe_name, handlers[0], "port"), f"no port named {port!r}"))
        if port is None and handlers[0] in ("http", "tcp", "grpc") and not ports:
            out.append((("probes", probe_name, handlers[0]), "needs a port (the component has none)"))
    out.extend(_storage_problems(c, kind, scaled))
    out.extend(_gpu_problems(spec, env, name, c))
    out.extend(component_problems(c, spec.data, name, env))
    out.extend(_container_problems(name, c, ports))
    out.extend(_file_problems(c))
    out.extend(_override_problems(c))
    for target in (c.get("networkPolicy") or {}).get("allowComponents", []):
        if target not in components:
            out.append((("networkPolicy", "allowComponents"), f"no component named {target!r}"))
    for direction in ("ingressFrom", "egressTo"):
        for index, peer in enumerate((c.get("networkPolicy") or {}).get(direction) or []):
            at = ("networkPolicy", direction, index)
            if len([k for k in ("component", "namespace", "cidr") if k in peer]) != 1:
                out.append((at, "needs exactly one of component, namespace or cidr"))
            elif "component" in peer and peer["component"] not in components:
                out.append(((*at, "component"), f"no component named {peer['component']!r}"))
            if "except" in peer and "cidr" not in peer:
                out.append(((*at, "except"), "except only applies to a cidr"))
    for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component", "app.kubernetes.io/managed-by"):
        if key in (c.get("labels") or {}):
            out.append((("labels", key), f"{key} is set by kgen (selectors rely on it)"))
    return out


def _storage_problems(c: dict, kind: str, scaled: bool) -> list[tuple[JsonPath, str]]:
    out: list[tuple[JsonPath, str]] = []
    for vol, body in (c.get("storage") or {}).items():
        if vol in (SHM_VOLUME, CONFIG_VOLUME) or vol.startswith(FILES_VOLUME):
            out.append((("storage", vol), f"{vol!r} is the name of a volume kgen adds itself: choose another"))
        sources = [k for k in ("size", "existingClaim", "emptyDir") if k in body]
        if len(sources) != 1:
            out.append((("storage", vol), "needs exactly one of size (a new claim), existingClaim or emptyDir"))
            continue
        if "emptyDir" in body and ("accessMode" in body or "storageClass" in body):
            out.append((("storage", vol), "accessMode and storageClass only apply to claims"))
        if body.get("perReplica"):
            if kind != "statefulset":
                out.append((("storage", vol, "perReplica"), "only a statefulset has per-replica claims"))
            elif "size" not in body:
                out.append((("storage", vol, "perReplica"), "a per-replica claim needs a size (kgen creates one claim per pod)"))
            continue
        mode = body.get("accessMode", "ReadWriteOnce")
        if "emptyDir" not in body and mode in RWO_MODES and kind == "training" and c.get("nodes", 1) > 1:
            out.append((("storage", vol, "accessMode") if "accessMode" in body else ("storage", vol),
                        f"a {mode} volume attaches to one node: {c['nodes']} training nodes need ReadWriteMany (or perReplica storage on a statefulset)"))
        if "emptyDir" not in body and mode in RWO_MODES and kind in REPLICATED_KINDS:
            most = (c.get("autoscaling") or c.get("keda") or {}).get("max", 1) if scaled else c.get("replicas", 1)
            if most > 1:
                out.append((("storage", vol, "accessMode") if "accessMode" in body else ("storage", vol),
                            f"a {mode} volume allows one pod: at most 1 replica (found {most}); use ReadWriteMany or drop the extra replicas"))
    return out


def _gpu_problems(spec: AppSpec, env: str | None, name: str, c: dict) -> list[tuple[JsonPath, str]]:
    gpu = c.get("gpu")
    if gpu is None:
        return []
    out: list[tuple[JsonPath, str]] = []
    if "mig" in gpu and gpu.get("sharing"):
        out.append((("gpu",), "gpu.mig and gpu.sharing are exclusive"))
    own = spec.own_fields(name, env).get("resources") or {}
    for key in ("cpu", "memory"):
        if key not in own:
            out.append((("resources",), f"a GPU component must declare resources.{key} itself (defaults do not count)"))
    memory = (c.get("resources") or {}).get("memoryLimit") or (c.get("resources") or {}).get("memory")
    shm = gpu.get("shm")
    if shm is not None and memory is not None:
        try:
            if parse_quantity(shm) >= parse_quantity(memory):
                out.append((("gpu", "shm"), f"/dev/shm ({shm}) counts against the memory limit ({memory}): make it smaller"))
        except QuantityError as exc:
            out.append((("gpu", "shm"), str(exc)))
    return out


def _ingress_paths(ingress: dict) -> list[str]:
    """The paths an ingress routes: ``paths``, else ``path`` (default ``/``)."""
    return list(ingress.get("paths") or [ingress.get("path", "/")])


def _environment_problems(spec: AppSpec, env: str | None, components: dict[str, dict]) -> list[SpecProblem]:
    """Components may share a host on distinct paths; the same host and path twice is ambiguous."""
    seen: dict[tuple[str, str], str] = {}
    hosts: dict[str, tuple[str, dict]] = {}
    problems = []
    for name, c in components.items():
        ingress = c.get("ingress")
        if ingress is None:
            continue
        first, other = hosts.setdefault(ingress["host"], (name, ingress))
        for key, what in (("className", "ingress class"), ("tls", "TLS")):
            if (key in ingress) != (key in other) or (key == "className" and ingress.get(key) != other.get(key)):
                message = f"host {ingress['host']!r} is shared with component {first!r}: both need the same {what}"
                problems.append(_attribute(spec, env, name, ("ingress", key) if key in ingress else ("ingress",), message))
        for path in _ingress_paths(ingress):
            where = (ingress["host"], path)
            if where in seen:
                message = f"host {ingress['host']!r} path {path!r} is already used by component {seen[where]!r}"
                problems.append(_attribute(spec, env, name, ("ingress", "paths" if "paths" in ingress else "host"), message))
            else:
                seen[where] = name
    problems.extend(_extra_object_problems(spec, env))
    return problems


def _extra_object_problems(spec: AppSpec, env: str | None) -> list[SpecProblem]:
    """Raw objects land in the environment's namespace: Kustomize would overwrite any other."""
    base = ("environments", env) if env else ()
    body = spec.environment(env) if env else spec.data
    problems = []
    for index, obj in enumerate(body.get("extraObjects") or []):
        at = (*base, "extraObjects", index)
        if "namespace" in (obj.get("metadata") or {}):
            path = (*at, "metadata", "namespace")
            problems.append(SpecProblem(path, "kgen sets the environment's namespace: remove it", spec.line(path)))
        for path, message in kube_schema_problems(obj) or ():
            where = (*at, *path)
            problems.append(SpecProblem(where, f"{message} (Kubernetes {obj['apiVersion']} {obj['kind']})", spec.line(where)))
    return problems


# --- workload kinds, containers, files and overrides (turn 2 additions) ------------------------

KIND_ONLY_FIELDS = {
    "podManagementPolicy": ("statefulset",),
    "nodes": ("training",),
    "operator": ("training",),
    "rendezvousPort": ("training",),
    "serving": ("service",),
}
# What kgen's rendezvous env sets (model.py) and what the Kubeflow operator sets on its container.
RENDEZVOUS_ENV = frozenset({"MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "NNODES", "NODE_RANK",
                            "PET_MASTER_ADDR", "PET_MASTER_PORT", "PET_NNODES", "PET_NODE_RANK", "PET_NPROC_PER_NODE"})
KUBEFLOW_ENV = frozenset({"MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK"})
PORTLESS_SERVING = ("knative", "kserve")  # the platform routes requests itself: one port, no Service of ours


def _kind_problems(c: dict, kind: str) -> list[tuple[JsonPath, str]]:
    out: list[tuple[JsonPath, str]] = []
    for key, kinds in KIND_ONLY_FIELDS.items():
        if key in c and kind not in kinds:
            allowed = kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"
            out.append(((key,), f"only applies to kind {allowed} (this is a {kind})"))
    if kind == "training":
        if "nodes" not in c:
            out.append(((), "a training component needs nodes (pods in the gang, one per node)"))
        if c.get("operator") == "kubeflow" and "podFailurePolicy" in c:
            out.append((("podFailurePolicy",), "a PyTorchJob has no podFailurePolicy: use operator none or jobset"))
        operator = c.get("operator", "none")
        setter, names = ("the training operator", KUBEFLOW_ENV) if operator == "kubeflow" else ("kgen", RENDEZVOUS_ENV)
        for var in sorted(names.intersection(c.get("env") or {})):
            out.append((("env", var), f"{setter} sets {var} for the gang (operator {operator}): remove it"))
    if "podFailurePolicy" in c and c.get("restartPolicy", "Never") != "Never":
        out.append((("restartPolicy",), "a podFailurePolicy needs restartPolicy: Never"))
    serving = c.get("serving", "deployment")
    if serving in PORTLESS_SERVING:
        if len(c.get("ports") or {}) != 1:
            out.append((("ports",), f"serving: {serving} routes to exactly one port"))
        for key in ("keda", "replicas"):
            if key in c:
                out.append(((key,), f"serving: {serving} scales pods itself: use autoscaling (min, max, target)"))
        for key in ("preStop", "terminationGracePeriodSeconds"):
            if key in c:
                out.append(((key,), f"serving: {serving} (Knative underneath) rejects it: the queue-proxy drains requests before the pod stops"))
        for vol, body in (c.get("storage") or {}).items():
            if "emptyDir" not in body:
                out.append((("storage", vol), f"serving: {serving} takes no claims from kgen: use emptyDir (or the platform's model storage)"))
        for metric in ("cpu", "memory"):
            if metric in (c.get("autoscaling") or {}):
                out.append((("autoscaling", metric), f"serving: {serving} scales on concurrency: use autoscaling.target"))
        if serving == "kserve" and (c.get("autoscaling") or {}).get("min", 1) < 1:
            out.append((("autoscaling", "min"), "KServe needs serverless mode for scale to zero: use serving: knative, or min >= 1"))
    return out


def _container_problems(name: str, c: dict, ports: dict) -> list[tuple[JsonPath, str]]:
    out: list[tuple[JsonPath, str]] = []
    seen = {name}
    for section in ("initContainers", "sidecars"):
        for index, container in enumerate(c.get(section) or []):
            if container["name"] in seen:
                out.append(((section, index, "name"), f"container name {container['name']!r} is used twice"))
            seen.add(container["name"])
            if section == "initContainers" and "probes" in container:
                out.append(((section, index, "probes"), "an init container runs to completion: only sidecars take probes"))
            for probe_name, probe in (container.get("probes") or {}).items():
                handlers = [h for h in ("http", "tcp", "grpc", "exec") if h in probe]
                if len(handlers) != 1:
                    out.append(((section, index, "probes", probe_name), "needs exactly one of http, tcp, grpc, exec"))
                    continue
                port = (probe[handlers[0]] or {}).get("port")
                if isinstance(port, str) and port not in (container.get("ports") or {}):
                    out.append(((section, index, "probes", probe_name, handlers[0], "port"), f"no port named {port!r} in this sidecar"))
                elif port is None and handlers[0] != "exec" and not container.get("ports"):
                    out.append(((section, index, "probes", probe_name, handlers[0]), "needs a port (the sidecar has none)"))
    pre_stop = c.get("preStop")
    if pre_stop is not None:
        if len([k for k in ("sleep", "exec", "http") if k in pre_stop]) != 1:
            out.append((("preStop",), "needs exactly one of sleep, exec, http"))
        port = (pre_stop.get("http") or {}).get("port")
        if isinstance(port, str) and port not in ports:
            out.append((("preStop", "http", "port"), f"no port named {port!r}"))
        if "http" in pre_stop and port is None and not ports:
            out.append((("preStop", "http"), "needs a port (the component has none)"))
    return out


# File names that hold credentials: such content belongs in a Secret, whatever it looks like.
SECRET_FILE = re.compile(r"(?i)(\.(key|pem|p12|pfx|jks|keystore)$|id_rsa|id_ed25519|\.netrc$|\.pgpass$|passw(or)?d|secret|token|api[_-]?key|credential)")


def file_key(path: str) -> str:
    """The ConfigMap or volume key of a file: its base name."""
    return path.rsplit("/", 1)[-1]


def _file_problems(c: dict) -> list[tuple[JsonPath, str]]:
    out: list[tuple[JsonPath, str]] = []
    keys: dict[str, str] = {}
    for path, body in (c.get("files") or {}).items():
        sources = [k for k in ("content", "secret", "configMap") if k in body]
        if len(sources) != 1:
            out.append((("files", path), "needs exactly one of content, secret or configMap"))
            continue
        if sources[0] == "content":
            if "key" in body:
                out.append((("files", path, "key"), "key only applies to a secret or configMap reference"))
            if SECRET_FILE.search(file_key(path)):
                out.append((("files", path), "looks like a secret file: ConfigMaps are not secret; use {secret: NAME, key: KEY}"))
            key = file_key(path)
            if key in keys:
                out.append((("files", path), f"same file name as {keys[key]!r}: content files need distinct names"))
            keys[key] = path
            if key in ((c.get("config") or {}).get("data") or {}):
                out.append((("files", path), f"config.data already has a key {key!r}"))
        elif "key" not in body:
            out.append((("files", path), f"a {sources[0]} reference needs the key to mount"))
    return out


KUBE_SCHEMA_VERSION = (1, 35)  # the default policy's target Kubernetes version


def kube_schema_problems(obj: dict) -> list[tuple[JsonPath, str]] | None:
    """``obj`` checked against the strict built-in schema of its kind: (path in obj, message) per
    problem, or None when Kubernetes has no such built-in kind (a custom resource)."""
    from kgen.kubeschemas import builtin_schemas, schema_version

    schema = builtin_schemas(schema_version(KUBE_SCHEMA_VERSION), True).schema(str(obj.get("apiVersion")), str(obj.get("kind")))
    if schema is None:
        return None
    out: list[tuple[JsonPath, str]] = []
    for error in () if schema.validator.is_valid(obj) else schema.validator.iter_errors(obj):
        path = tuple(error.instance_path)
        if error.kind.name == "additionalProperties":
            out.extend(((*path, unexpected), f"unknown field {unexpected!r}") for unexpected in error.kind.as_dict()["unexpected"])
        else:
            out.append((path, error.message.splitlines()[0]))
    return out


def _override_problems(c: dict) -> list[tuple[JsonPath, str]]:
    """podOverrides / containerOverrides: Kubernetes PodSpec / Container fields (strict schema), never
    the fields kgen's other objects rely on (the main container's name, the container list)."""
    out: list[tuple[JsonPath, str]] = []
    pod, container = c.get("podOverrides") or {}, c.get("containerOverrides") or {}
    if "containers" in pod:
        out.append((("podOverrides", "containers"), "use containerOverrides for the main container, sidecars for others"))
    if "name" in container:
        out.append((("containerOverrides", "name"), "the main container's name is the component's"))
    if out or not (pod or container):
        return out
    probe = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "override"},
             "spec": {**pod, "containers": [{"name": "main", "image": "image", **container}]}}
    for path, message in kube_schema_problems(probe) or ():
        inner = path[1:]  # below spec
        if inner[:2] == ("containers", 0):
            out.append((("containerOverrides", *inner[2:]), f"{message} (Kubernetes Container)"))
        else:
            out.append((("podOverrides", *inner), f"{message} (Kubernetes PodSpec)"))
    return out
