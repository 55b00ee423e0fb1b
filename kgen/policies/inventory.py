"""Everything in one lint run, indexed for cross-object rules."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

from kgen.loader import RELEASE_NAMESPACE, JsonPath, KubeObject
from kgen.workloads import PodTemplate, as_list, as_map, pod_templates

DEFAULT_NAMESPACE = "default"
# KEDA's default when a ScaledObject sets no maxReplicaCount.
KEDA_DEFAULT_MAX_REPLICAS = 100

Scope = tuple[str | None, str]


def namespace_of(obj: KubeObject) -> str:
    """The namespace an object lands in: its own, else its Helm release's, else ``default``."""
    return obj.namespace or obj.labels.get(RELEASE_NAMESPACE) or DEFAULT_NAMESPACE


def scope_of(obj: KubeObject) -> Scope:
    """Objects only refer to each other within one namespace of one rendered environment."""
    return obj.labels.get("environment"), namespace_of(obj)


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@dataclass(frozen=True)
class ScaleRef:
    """An autoscaler (HPA or KEDA ScaledObject) and the workload it scales."""

    scaler: KubeObject
    kind: str
    name: str
    max_replicas: int | None  # None when the scaler's maximum is missing or invalid


@dataclass(frozen=True)
class ContainerLimits:
    """A LimitRange ``type: Container`` item, with the API server's defaulting applied.

    Unset ``default`` limits take ``max``; unset ``defaultRequest`` take ``default``, then ``min``.
    Values are raw quantities as written (parse them with kgen.quantity).
    """

    obj: KubeObject
    path: JsonPath
    max: dict
    min: dict
    default: dict
    default_request: dict


class Inventory:
    def __init__(self, objects: list[KubeObject]) -> None:
        self.objects = objects
        self.by_kind: dict[str, list[KubeObject]] = defaultdict(list)
        self._templates: dict[int, list[PodTemplate]] = {}
        for obj in objects:
            self.by_kind[obj.kind].append(obj)
            self._templates[id(obj)] = pod_templates(obj)

    def templates_of(self, obj: KubeObject) -> list[PodTemplate]:
        return self._templates.get(id(obj), [])

    @cached_property
    def templates(self) -> list[PodTemplate]:
        return [template for obj in self.objects for template in self._templates[id(obj)]]

    def of_kind(self, *kinds: str) -> list[KubeObject]:
        return [obj for kind in kinds for obj in self.by_kind.get(kind, [])]

    @cached_property
    def scalers(self) -> list[ScaleRef]:
        """Every HPA and ScaledObject of the input with its target (KEDA's kind defaults to Deployment)."""
        found = []
        for obj in self.of_kind("HorizontalPodAutoscaler", "ScaledObject"):
            spec = as_map(obj.data.get("spec"))
            target = as_map(spec.get("scaleTargetRef"))
            keda = obj.kind == "ScaledObject"
            kind = target.get("kind") or ("Deployment" if keda else None)
            name = target.get("name")
            if not isinstance(kind, str) or not isinstance(name, str) or not name:
                continue
            if keda:
                declared = spec.get("maxReplicaCount")
                maximum = KEDA_DEFAULT_MAX_REPLICAS if declared is None else _count(declared)
            else:
                maximum = _count(spec.get("maxReplicas"))
            found.append(ScaleRef(obj, kind, name, maximum))
        return found

    @cached_property
    def _scalers_by_target(self) -> dict[tuple[Scope, str, str], list[ScaleRef]]:
        index: dict[tuple[Scope, str, str], list[ScaleRef]] = defaultdict(list)
        for ref in self.scalers:
            index[(scope_of(ref.scaler), ref.kind, ref.name)].append(ref)
        return index

    def max_replicas(self, template: PodTemplate) -> int | None:
        """The most pods of ``template`` that can run at once: the autoscalers' maximum when one
        targets its object, else the declared replicas (Job parallelism) or the ceiling of the
        autoscaling written in the object (Ray, KServe, Knative); None for DaemonSets, whose size
        is the number of matching nodes."""
        if template.site.daemon:
            return None
        obj = template.obj
        maxima = [ref.max_replicas for ref in self._scalers_by_target.get((scope_of(obj), obj.kind, obj.name), [])]
        known = [m for m in maxima if m is not None]
        return template.pods_for(max(known)) if known else template.max_replicas

    @cached_property
    def _container_limits(self) -> dict[Scope, list[ContainerLimits]]:
        index: dict[Scope, list[ContainerLimits]] = defaultdict(list)
        for obj in self.of_kind("LimitRange"):
            for position, item in enumerate(as_list(as_map(obj.data.get("spec")).get("limits"))):
                item = as_map(item)
                if item.get("type") != "Container":
                    continue
                maximum, minimum = as_map(item.get("max")), as_map(item.get("min"))
                default = {**maximum, **as_map(item.get("default"))}
                default_request = {**minimum, **default, **as_map(item.get("defaultRequest"))}
                index[scope_of(obj)].append(
                    ContainerLimits(obj, ("spec", "limits", position), maximum, minimum, default, default_request)
                )
        return index

    def container_limits(self, obj: KubeObject) -> list[ContainerLimits]:
        """The LimitRange container items of the input that apply to pods of ``obj``."""
        return self._container_limits.get(scope_of(obj), [])

    @cached_property
    def _by_name(self) -> dict[tuple[str, str, str], KubeObject]:
        index: dict[tuple[str, str, str], KubeObject] = {}
        for obj in self.objects:
            index.setdefault((obj.kind, namespace_of(obj), obj.name), obj)
        return index

    def find(self, kind: str, namespace: str, name: str) -> KubeObject | None:
        """The first object of that kind, namespace and name in the input."""
        return self._by_name.get((kind, namespace, name))
