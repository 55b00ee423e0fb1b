"""Everything in one lint run, indexed for cross-object rules."""

from __future__ import annotations

from collections import defaultdict

from kgen.loader import KubeObject
from kgen.workloads import PodTemplate, pod_templates

DEFAULT_NAMESPACE = "default"


def namespace_of(obj: KubeObject) -> str:
    """The namespace an object lands in when applied without ``-n``."""
    return obj.namespace or DEFAULT_NAMESPACE


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

    @property
    def templates(self) -> list[PodTemplate]:
        return [template for obj in self.objects for template in self._templates[id(obj)]]

    def of_kind(self, *kinds: str) -> list[KubeObject]:
        return [obj for kind in kinds for obj in self.by_kind.get(kind, [])]

    def find(self, kind: str, namespace: str, name: str) -> KubeObject | None:
        for obj in self.by_kind.get(kind, []):
            if obj.name == name and namespace_of(obj) == namespace:
                return obj
        return None
