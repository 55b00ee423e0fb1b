"""Everything in one lint run, indexed for cross-object rules."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, NamedTuple, TypeVar

from kgen.loader import RELEASE_NAMESPACE, JsonPath, KubeObject
from kgen.policies.selectors import labels_of, pod_labels, selector_matches, service_selector
from kgen.workloads import PodTemplate, as_list, as_map, pod_templates

DEFAULT_NAMESPACE = "default"
# KEDA's default when a ScaledObject sets no maxReplicaCount.
KEDA_DEFAULT_MAX_REPLICAS = 100

T = TypeVar("T")
_Ref = TypeVar("_Ref", "Binding", "ScaleRef")
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

    def grants(self, role: RoleRef) -> bool:
        """Whether this binding grants ``role`` (a Role only from a RoleBinding of its own namespace)."""
        if (role.kind, role.name) != (self.role_kind, self.role_name):
            return False
        return role.kind == "ClusterRole" or role.namespace == namespace_of(self.obj)


class RoleRef(NamedTuple):
    """A Role or ClusterRole as bindings name it (what a verdict waiting for the bindings keeps)."""

    kind: str
    name: str
    namespace: str

    @classmethod
    def of(cls, role: KubeObject) -> "RoleRef":
        return cls(role.kind, role.name, namespace_of(role))


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
    """The objects of one lint run, indexed as they are added.

    A streaming lint adds one file (or chart, or Kustomize root) at a time and checks it at
    once, against what was added so far; while ``consulted`` is a list, every question a
    check asks is written down with its answer, so that :meth:`changed_answers` can tell, once
    the whole input is in, which checks would now be answered otherwise (and must run again).
    """

    def __init__(self, objects: Iterable[KubeObject] = ()) -> None:
        self.objects: list[KubeObject] = []
        self.by_kind: dict[str, list[KubeObject]] = defaultdict(list)
        self.templates: list[PodTemplate] = []
        self._bindings: list[Binding] = []
        self._scalers: list[ScaleRef] = []
        self.consulted: list[Consultation] | None = None
        self._templates: dict[int, list[PodTemplate]] = {}
        self._label_only: list[PodTemplate] = []
        self._service_selectors: dict[Scope, list[dict[str, str]]] = defaultdict(list)
        # The selectors of each scope by their first label's key and value: a selector can only
        # match pods that carry its first label, so a template is matched against a few selectors,
        # not every Service of its namespace (which grew with the square of a monorepo).
        self._selectors_by_first_label: dict[Scope, dict[str, dict[str, list[dict[str, str]]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list))
        )
        self._bindings_by_account: dict[tuple[str, str], list[Binding]] = defaultdict(list)
        self._bindings_by_role: dict[tuple[str, str], list[Binding]] = defaultdict(list)
        self._templates_by_account: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        self._scalers_by_target: dict[tuple[Scope, str, str], list[ScaleRef]] = defaultdict(list)
        self._container_limits: dict[Scope, list[ContainerLimits]] = defaultdict(list)
        self._by_name: dict[tuple[str, str, str], KubeObject] = {}
        self._ordinals: dict[int, int] = {}
        self._first_of: dict[tuple[str, str], int] = {}
        self._count_of: dict[tuple[str, str], int] = defaultdict(int)
        self.add(objects)

    def add(self, objects: Iterable[KubeObject]) -> None:
        """Index more objects (they come after those already added)."""
        for obj in objects:
            ordinal = self._ordinals[id(obj)] = len(self.objects)
            self._first_of.setdefault((obj.api_version, obj.kind), ordinal)
            self._count_of[(obj.api_version, obj.kind)] += 1
            self.objects.append(obj)
            self.by_kind[obj.kind].append(obj)
            self._by_name.setdefault((obj.kind, namespace_of(obj), obj.name), obj)
            found = pod_templates(obj, spec_required=False)
            templates = self._templates[id(obj)] = [t for t in found if t.has_spec]
            self._label_only.extend(t for t in found if not t.has_spec)
            for template in templates:
                self.templates.append(template)
                self._templates_by_account[(namespace_of(obj), template.service_account)].append((template.kind, obj.name))
            if obj.kind == "Service":
                self._add_service(obj)
            elif obj.kind in ("RoleBinding", "ClusterRoleBinding"):
                self._add_binding(obj)
            elif obj.kind in ("HorizontalPodAutoscaler", "ScaledObject"):
                self._add_scaler(obj)
            elif obj.kind == "LimitRange":
                self._add_limit_range(obj)

    def ordinal(self, obj: KubeObject) -> int:
        """The object's place in the input (0 for the first object added)."""
        return self._ordinals[id(obj)]

    def first_of(self, api_version: str, kind: str) -> int | None:
        """The ordinal of the input's first object of that apiVersion and kind."""
        return self._first_of.get((api_version, kind))

    def count_of(self, api_version: str, kind: str) -> int:
        """How many objects of that apiVersion and kind the input holds."""
        return self._count_of.get((api_version, kind), 0)

    def templates_of(self, obj: KubeObject) -> list[PodTemplate]:
        return self._templates.get(id(obj), [])

    @property
    def workloads(self) -> list[PodTemplate]:
        """Templates for cross-object rules: every pod template, and those that write labels but no pod spec."""
        return [*self.templates, *self._label_only]

    @property
    def pods_by_scope(self) -> PodsByScope:
        """Workload templates that run pods, with the labels of their pods, by scope (a PodTemplate
        object only stores a template)."""
        found: PodsByScope = defaultdict(list)
        for template in self.workloads:
            if template.kind != "PodTemplate":
                found[scope_of(template.obj)].append((template, pod_labels(template)))
        return found

    def _add_service(self, service: KubeObject) -> None:
        selector = service_selector(service.data)
        if selector is not None:
            scope = scope_of(service)
            self._service_selectors[scope].append(selector)
            key, value = next(iter(labels_of(selector).items()), ("", ""))
            self._selectors_by_first_label[scope][key][value].append(selector)

    def receives_traffic(self, scope: Scope, labels: dict[str, str | None]) -> bool | None:
        """Whether a Service of the input selects pods with ``labels`` in ``scope``; None when the input
        holds no Service that selects pods there (a Service only selects its own namespace's pods, so
        then nothing is known about their traffic)."""
        if not self._service_selectors.get(scope):
            return None
        index = self._selectors_by_first_label[scope]
        candidates = [s for selectors in index.get("", {}).values() for s in selectors]  # empty selectors
        for key, value in labels.items():
            by_value = index.get(key, {})
            if value is None:  # a label whose value is not known in advance matches any value
                candidates += [s for selectors in by_value.values() for s in selectors]
            else:
                candidates += by_value.get(value, [])
        return any(selector_matches({"matchLabels": s}, labels) for s in candidates)

    def _add_binding(self, obj: KubeObject) -> None:
        """A RoleBinding or ClusterRoleBinding that names a role."""
        ref = as_map(obj.data.get("roleRef"))
        kind, name = ref.get("kind"), ref.get("name")
        if kind not in ("Role", "ClusterRole") or not isinstance(name, str):
            return
        accounts = []
        for subject in as_list(obj.data.get("subjects")):
            subject = as_map(subject)
            # A ClusterRoleBinding subject must name its namespace; a RoleBinding's defaults to its own.
            namespace = subject.get("namespace") or (namespace_of(obj) if obj.kind == "RoleBinding" else None)
            if subject.get("kind") == "ServiceAccount" and isinstance(subject.get("name"), str) and isinstance(namespace, str):
                accounts.append((namespace, subject["name"]))
        binding = Binding(obj, kind, name, tuple(accounts))
        self._bindings.append(binding)
        for account in dict.fromkeys(binding.accounts):
            self._bindings_by_account[account].append(binding)
        self._bindings_by_role[(kind, name)].append(binding)

    @property
    def bindings(self) -> list[Binding]:
        """Every RoleBinding, then every ClusterRoleBinding, of the input that names a role."""
        return _by_kind(self._bindings, "RoleBinding")

    def bindings_of_account(self, namespace: str, account: str) -> list[Binding]:
        """The bindings of the input that grant a role to the ServiceAccount: its pods call the API."""
        return _by_kind(self._bindings_by_account.get((namespace, account), []), "RoleBinding")

    def bindings_of_role(self, role: RoleRef) -> list[Binding]:
        """The bindings of the input that grant the role (a Role only by RoleBindings of its namespace)."""
        return [b for b in _by_kind(self._bindings_by_role.get((role.kind, role.name), []), "RoleBinding") if b.grants(role)]

    def templates_running_as(self, namespace: str, account: str) -> list[tuple[str, str]]:
        """(kind, object name) of the pod templates of the input whose pods run as the ServiceAccount."""
        return list(self._templates_by_account.get((namespace, account), []))

    def of_kind(self, *kinds: str) -> list[KubeObject]:
        return [obj for kind in kinds for obj in self.by_kind.get(kind, [])]

    @property
    def scalers(self) -> list[ScaleRef]:
        """Every HPA, then every ScaledObject, of the input with its target."""
        return _by_kind(self._scalers, "HorizontalPodAutoscaler")

    def _add_scaler(self, obj: KubeObject) -> None:
        """An HPA or ScaledObject with its target (KEDA's kind defaults to Deployment)."""
        spec = as_map(obj.data.get("spec"))
        target = as_map(spec.get("scaleTargetRef"))
        keda = obj.kind == "ScaledObject"
        kind = target.get("kind") or ("Deployment" if keda else None)
        name = target.get("name")
        if not isinstance(kind, str) or not isinstance(name, str) or not name:
            return
        if keda:
            declared = spec.get("maxReplicaCount")
            maximum = KEDA_DEFAULT_MAX_REPLICAS if declared is None else _count(declared)
        else:
            maximum = _count(spec.get("maxReplicas"))
        ref = ScaleRef(obj, kind, name, maximum)
        self._scalers.append(ref)
        self._scalers_by_target[(scope_of(obj), kind, name)].append(ref)

    def max_replicas(self, template: PodTemplate) -> int | None:
        """The most pods of ``template`` that can run at once: the autoscalers' maximum when one
        targets its object, else the declared replicas (Job parallelism) or the ceiling of the
        autoscaling written in the object (Ray, KServe, Knative); None for DaemonSets, whose size
        is the number of matching nodes."""
        return self.ask(self._max_replicas, template)

    def _max_replicas(self, template: PodTemplate) -> int | None:
        if template.site.daemon:
            return None
        obj = template.obj
        maxima = [ref.max_replicas for ref in self._scalers_by_target.get((scope_of(obj), obj.kind, obj.name), [])]
        known = [m for m in maxima if m is not None]
        return template.pods_for(max(known)) if known else template.max_replicas

    def _add_limit_range(self, obj: KubeObject) -> None:
        for position, item in enumerate(as_list(as_map(obj.data.get("spec")).get("limits"))):
            item = as_map(item)
            if item.get("type") != "Container":
                continue
            maximum, minimum = as_map(item.get("max")), as_map(item.get("min"))
            default = {**maximum, **as_map(item.get("default"))}
            default_request = {**minimum, **default, **as_map(item.get("defaultRequest"))}
            self._container_limits[scope_of(obj)].append(
                ContainerLimits(obj, ("spec", "limits", position), maximum, minimum, default, default_request)
            )

    def container_limits(self, obj: KubeObject) -> list[ContainerLimits]:
        """The LimitRange container items of the input that apply to pods of ``obj``."""
        return self.ask(self._container_limits_of, obj)

    def _container_limits_of(self, obj: KubeObject) -> list[ContainerLimits]:
        return list(self._container_limits.get(scope_of(obj), []))

    def find(self, kind: str, namespace: str, name: str) -> KubeObject | None:
        """The first object of that kind, namespace and name in the input."""
        return self.ask(self._find, kind, namespace, name)

    def _find(self, kind: str, namespace: str, name: str) -> KubeObject | None:
        return self._by_name.get((kind, namespace, name))

    def ask(self, question: Callable[..., T], *args: Any) -> T:
        """``question(*args)``, a question about the input (so far), written down while recording."""
        answer = question(*args)
        if self.consulted is not None:
            self.consulted.append(Consultation(question, args, _digest(answer)))
        return answer

    def changed_answers(self, consulted: list[Consultation]) -> bool:
        """Whether any of these questions, asked again now, gets another answer."""
        return any(_digest(c.question(*c.args)) != c.answer for c in consulted)


class Consultation(NamedTuple):
    """A question a check asked the inventory (a bound query and its arguments) and the answer it got."""

    question: Callable[..., Any]
    args: tuple
    answer: object


def _by_kind(items: list[_Ref], first: str) -> list[_Ref]:
    """``items`` (bindings or scalers, in input order) with those of kind ``first`` before the
    others, as a lookup by kind lists them."""
    return sorted(items, key=lambda item: item.scaler.kind != first if isinstance(item, ScaleRef) else item.obj.kind != first)


def _digest(answer: object) -> object:
    """An answer in a form that compares equal exactly when the answer is the same (objects by identity)."""
    if isinstance(answer, list):
        return tuple(_digest(item) for item in answer)
    if isinstance(answer, (Binding, ContainerLimits)):
        return id(answer.obj), getattr(answer, "path", None)
    if isinstance(answer, (str, int, float, type(None))):
        return answer
    return id(answer)  # an object of the input, or a compiled schema, each made once
