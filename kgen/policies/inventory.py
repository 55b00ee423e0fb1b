"""Everything in one lint run, indexed for cross-object rules."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

from kgen.loader import RELEASE_NAMESPACE, JsonPath, KubeObject
from kgen.policies.selectors import labels_of, pod_labels, selector_matches, service_selector
from kgen.workloads import PodTemplate, as_list, as_map, pod_templates

DEFAULT_NAMESPACE = "default"
# KEDA's default when a ScaledObject sets no maxReplicaCount.
KEDA_DEFAULT_MAX_REPLICAS = 100

Scope = tuple[str | None, str]
PodsByScope = dict[Scope, list[tuple[PodTemplate, dict[str, str | None]]]]


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
class Binding:
    """A RoleBinding or ClusterRoleBinding: the role it grants and the ServiceAccounts it grants it to."""

    obj: KubeObject
    role_kind: str  # Role | ClusterRole
    role_name: str
    accounts: tuple[tuple[str, str], ...]  # (namespace, name) of every ServiceAccount subject

    def grants(self, role: KubeObject) -> bool:
        """Whether this binding grants ``role`` (a Role only from a RoleBinding of its own namespace)."""
        if (role.kind, role.name) != (self.role_kind, self.role_name):
            return False
        return role.kind == "ClusterRole" or namespace_of(role) == namespace_of(self.obj)


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
        self._label_only: list[PodTemplate] = []
        for obj in objects:
            self.by_kind[obj.kind].append(obj)
            found = pod_templates(obj, spec_required=False)
            self._templates[id(obj)] = [t for t in found if t.has_spec]
            self._label_only.extend(t for t in found if not t.has_spec)

    def templates_of(self, obj: KubeObject) -> list[PodTemplate]:
        return self._templates.get(id(obj), [])

    @cached_property
    def templates(self) -> list[PodTemplate]:
        return [template for obj in self.objects for template in self._templates[id(obj)]]

    @cached_property
    def workloads(self) -> list[PodTemplate]:
        """Templates for cross-object rules: every pod template, and those that write labels but no pod spec."""
        return [*self.templates, *self._label_only]

    @cached_property
    def pods_by_scope(self) -> PodsByScope:
        """Workload templates that run pods, with the labels of their pods, by scope (a PodTemplate
        object only stores a template)."""
        found: PodsByScope = defaultdict(list)
        for template in self.workloads:
            if template.kind != "PodTemplate":
                found[scope_of(template.obj)].append((template, pod_labels(template)))
        return found

    @cached_property
    def _service_selectors(self) -> dict[Scope, list[dict[str, str]]]:
        found: dict[Scope, list[dict[str, str]]] = defaultdict(list)
        for service in self.of_kind("Service"):
            selector = service_selector(service.data)
            if selector is not None:
                found[scope_of(service)].append(selector)
        return found

    @cached_property
    def _service_selectors_by_first_label(self) -> dict[Scope, dict[str, dict[str, list[dict[str, str]]]]]:
        """The selectors of each scope by their first label's key and value: a selector can only
        match pods that carry its first label, so a template is matched against a few selectors,
        not every Service of its namespace (which grew with the square of a monorepo)."""
        found: dict[Scope, dict[str, dict[str, list[dict[str, str]]]]] = {}
        for scope, selectors in self._service_selectors.items():
            index: dict[str, dict[str, list[dict[str, str]]]] = defaultdict(lambda: defaultdict(list))
            for selector in selectors:
                key, value = next(iter(labels_of(selector).items()), ("", ""))
                index[key][value].append(selector)
            found[scope] = index
        return found

    def receives_traffic(self, template: PodTemplate) -> bool | None:
        """Whether a Service of the input selects pods of ``template``; None when the input holds no
        Service that selects pods in its namespace (a Service only selects its own namespace's pods, so
        then nothing is known about its traffic)."""
        if not self._service_selectors.get(scope_of(template.obj)):
            return None
        labels = pod_labels(template)
        index = self._service_selectors_by_first_label[scope_of(template.obj)]
        candidates = [s for selectors in index.get("", {}).values() for s in selectors]  # empty selectors
        for key, value in labels.items():
            by_value = index.get(key, {})
            if value is None:  # a label whose value is not known in advance matches any value
                candidates += [s for selectors in by_value.values() for s in selectors]
            else:
                candidates += by_value.get(value, [])
        return any(selector_matches({"matchLabels": s}, labels) for s in candidates)

    @cached_property
    def bindings(self) -> list[Binding]:
        """Every RoleBinding and ClusterRoleBinding of the input that names a role."""
        found = []
        for obj in self.of_kind("RoleBinding", "ClusterRoleBinding"):
            ref = as_map(obj.data.get("roleRef"))
            kind, name = ref.get("kind"), ref.get("name")
            if kind not in ("Role", "ClusterRole") or not isinstance(name, str):
                continue
            accounts = []
            for subject in as_list(obj.data.get("subjects")):
                subject = as_map(subject)
                # A ClusterRoleBinding subject must name its namespace; a RoleBinding's defaults to its own.
                namespace = subject.get("namespace") or (namespace_of(obj) if obj.kind == "RoleBinding" else None)
                if subject.get("kind") == "ServiceAccount" and isinstance(subject.get("name"), str) and isinstance(namespace, str):
                    accounts.append((namespace, subject["name"]))
            found.append(Binding(obj, kind, name, tuple(accounts)))
        return found

    @cached_property
    def _bindings_by_account(self) -> dict[tuple[str, str], list[Binding]]:
        index: dict[tuple[str, str], list[Binding]] = defaultdict(list)
        for binding in self.bindings:
            for account in dict.fromkeys(binding.accounts):
                index[account].append(binding)
        return index

    def bindings_of_account(self, namespace: str, account: str) -> list[Binding]:
        """The bindings of the input that grant a role to the ServiceAccount: its pods call the API."""
        return self._bindings_by_account.get((namespace, account), [])

    @cached_property
    def _bindings_by_role(self) -> dict[tuple[str, str], list[Binding]]:
        index: dict[tuple[str, str], list[Binding]] = defaultdict(list)
        for binding in self.bindings:
            index[(binding.role_kind, binding.role_name)].append(binding)
        return index

    def bindings_of_role(self, role: KubeObject) -> list[Binding]:
        return [b for b in self._bindings_by_role.get((role.kind, role.name), []) if b.grants(role)]

    @cached_property
    def _templates_by_account(self) -> dict[tuple[str, str], list[PodTemplate]]:
        index: dict[tuple[str, str], list[PodTemplate]] = defaultdict(list)
        for template in self.templates:
            index[(namespace_of(template.obj), template.service_account)].append(template)
        return index

    def templates_running_as(self, namespace: str, account: str) -> list[PodTemplate]:
        """Pod templates of the input whose pods run as the ServiceAccount."""
        return self._templates_by_account.get((namespace, account), [])

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
