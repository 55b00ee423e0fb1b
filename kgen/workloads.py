"""One view of every pod template, whatever kind of object holds it.

Rules about pods and containers are written once against :class:`PodTemplate`
and :class:`Container`; which paths hold pod specs in which kinds is data, in
``TEMPLATE_SITES``. A ``*`` in a path stands for every item of a list (or every
value of a map, whose key then names the role).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterator

from kgen.loader import JsonPath, KubeObject, PathPart

CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True)
class TemplateSite:
    """Where one kind keeps a pod spec, and how many pods of it can run at once."""

    pod_spec: JsonPath
    metadata: JsonPath | None = None
    replicas: JsonPath | None = None
    default_replicas: int = 1
    batch: bool = False  # runs to completion: no readiness/liveness expected
    role_field: str | None = None  # in a ``*`` item, the field that names the role
    daemon: bool = False  # one pod per matching node


def _site(prefix: JsonPath, **kw: Any) -> TemplateSite:
    return TemplateSite(pod_spec=(*prefix, "spec"), metadata=(*prefix, "metadata"), **kw)


_TEMPLATE = ("spec", "template")
# Built-in kinds match by kind alone within the core API groups (old groups included).
BUILTIN_SITES: dict[str, tuple[TemplateSite, ...]] = {
    "Pod": (TemplateSite(pod_spec=("spec",), metadata=("metadata",)),),
    "PodTemplate": (_site(("template",)),),
    "Deployment": (_site(_TEMPLATE, replicas=("spec", "replicas")),),
    "ReplicaSet": (_site(_TEMPLATE, replicas=("spec", "replicas")),),
    "ReplicationController": (_site(_TEMPLATE, replicas=("spec", "replicas")),),
    "StatefulSet": (_site(_TEMPLATE, replicas=("spec", "replicas")),),
    "DaemonSet": (_site(_TEMPLATE, daemon=True),),
    "Job": (_site(_TEMPLATE, replicas=("spec", "parallelism"), batch=True),),
    "CronJob": (_site(("spec", "jobTemplate", "spec", "template"), replicas=("spec", "jobTemplate", "spec", "parallelism"), batch=True),),
}
BUILTIN_GROUPS = frozenset({"", "apps", "extensions", "batch"})

# Custom resources that embed pod specs, keyed by (API group, kind).
CUSTOM_SITES: dict[tuple[str, str], tuple[TemplateSite, ...]] = {}


@dataclass
class Container:
    """One container (init, regular or ephemeral) of a pod template."""

    data: dict
    path: JsonPath
    field_name: str  # initContainers | containers | ephemeralContainers
    index: int

    @property
    def name(self) -> str:
        name = self.data.get("name")
        return name if isinstance(name, str) and name else f"{self.field_name}[{self.index}]"

    @property
    def is_init(self) -> bool:
        return self.field_name == "initContainers"

    @property
    def is_sidecar(self) -> bool:
        """A native sidecar: an init container that keeps running (restartPolicy Always)."""
        return self.is_init and self.data.get("restartPolicy") == "Always"

    @property
    def long_running(self) -> bool:
        return self.field_name == "containers" or self.is_sidecar

    @property
    def resources(self) -> dict:
        return as_map(self.data.get("resources"))

    @property
    def requests(self) -> dict:
        return as_map(self.resources.get("requests"))

    @property
    def limits(self) -> dict:
        return as_map(self.resources.get("limits"))

    @property
    def security_context(self) -> dict:
        return as_map(self.data.get("securityContext"))

    def at(self, *parts: PathPart) -> JsonPath:
        return (*self.path, *parts)


@dataclass
class PodTemplate:
    """A pod spec inside some object, with the facts rules need about its owner."""

    obj: KubeObject
    spec: dict
    path: JsonPath
    site: TemplateSite
    metadata_path: JsonPath | None
    replicas_path: JsonPath | None
    role: str | None = None
    _containers: list[Container] | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return self.obj.kind

    @property
    def batch(self) -> bool:
        if self.site.batch:
            return True
        return self.obj.kind == "Pod" and self.spec.get("restartPolicy") in ("Never", "OnFailure")

    @property
    def metadata(self) -> dict:
        return as_map(get_path(self.obj.data, self.metadata_path)) if self.metadata_path else {}

    @property
    def labels(self) -> dict:
        return as_map(self.metadata.get("labels"))

    @property
    def declared_replicas(self) -> int:
        """Replicas written in the object (the site's default when absent or not a number)."""
        if self.replicas_path is None:
            return self.site.default_replicas
        value = get_path(self.obj.data, self.replicas_path)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        return self.site.default_replicas

    @property
    def security_context(self) -> dict:
        return as_map(self.spec.get("securityContext"))

    @cached_property
    def containers(self) -> list[Container]:
        """Every container, init and ephemeral included, in pod-spec order."""
        found: list[Container] = []
        for field_name in CONTAINER_FIELDS:
            items = self.spec.get(field_name)
            if not isinstance(items, list):
                continue
            for index, item in enumerate(items):
                if isinstance(item, dict):
                    found.append(Container(item, (*self.path, field_name, index), field_name, index))
        return found

    def main_containers(self) -> list[Container]:
        return [c for c in self.containers if c.field_name == "containers"]

    def at(self, *parts: PathPart) -> JsonPath:
        return (*self.path, *parts)


def as_map(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def get_path(data: Any, path: JsonPath) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(data, list) or not -len(data) <= part < len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[part] if isinstance(part, int) else data.get(part)
    return data


def _expand(data: Any, pattern: JsonPath, done: JsonPath = ()) -> Iterator[tuple[JsonPath, list[tuple[PathPart, Any]]]]:
    """Concrete paths matching ``pattern``; each with the (key, item) bound to every ``*``."""
    for position, part in enumerate(pattern):
        if part == "*":
            items: Any = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
            for key, item in items:
                for path, bound in _expand(item, pattern[position + 1 :], (*done, key)):
                    yield path, [(key, item), *bound]
            return
        if isinstance(part, int) or not isinstance(data, dict):
            return
        data = data.get(part)
        done = (*done, part)
    yield done, []


def _bind(pattern: JsonPath | None, concrete: JsonPath) -> JsonPath | None:
    """Substitute in ``pattern`` the keys that ``concrete`` chose for the shared ``*`` prefix."""
    if pattern is None:
        return None
    out: list[PathPart] = []
    for position, part in enumerate(pattern):
        out.append(concrete[position] if part == "*" and position < len(concrete) else part)
    return tuple(out)


def sites_for(obj: KubeObject) -> tuple[TemplateSite, ...]:
    group = obj.group
    custom = CUSTOM_SITES.get((group, obj.kind))
    if custom is not None:
        return custom
    if group in BUILTIN_GROUPS:
        return BUILTIN_SITES.get(obj.kind, ())
    return ()


def pod_templates(obj: KubeObject) -> list[PodTemplate]:
    """Every pod template ``obj`` holds (none for objects that run no pods)."""
    found: list[PodTemplate] = []
    for site in sites_for(obj):
        for path, bound in _expand(obj.data, site.pod_spec):
            spec = get_path(obj.data, path)
            if not isinstance(spec, dict):
                continue
            role = None
            if bound:
                key, item = bound[-1]
                named = as_map(item).get(site.role_field) if site.role_field else None
                role = str(named) if named else str(key)
            found.append(
                PodTemplate(
                    obj=obj,
                    spec=spec,
                    path=path,
                    site=site,
                    metadata_path=_bind(site.metadata, path),
                    replicas_path=_bind(site.replicas, path),
                    role=role,
                )
            )
    return found
