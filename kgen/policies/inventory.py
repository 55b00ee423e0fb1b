"""Everything in one lint run, indexed for cross-object rules.

The index keeps facts (selectors, bindings, autoscaler targets, LimitRange items, the labels
and replica counts of pod templates...), small enough to keep for a whole monorepo, so that a
streaming lint can free each file once it is checked. The objects themselves are kept too
unless the run says not to (``keep_objects``): the cluster-fit analysis (kgen.policies.fit),
``kgen capacity`` and ``kgen fix`` read them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterable, NamedTuple, TypeVar

from kgen.kubeschemas import crd_schemas
from kgen.loader import RELEASE_NAMESPACE, JsonPath, KubeObject
from kgen.policies.selectors import labels_of, pod_labels, selector_matches, service_selector
from kgen.workloads import PodTemplate, as_list, as_map, pod_templates

DEFAULT_NAMESPACE = "default"
# KEDA's default when a ScaledObject sets no maxReplicaCount.
KEDA_DEFAULT_MAX_REPLICAS = 100

T = TypeVar("T")
Scope = tuple[str | None, str]
PodsByScope = dict[Scope, list[tuple[PodTemplate, dict[str, str | None]]]]
PodIndex = dict[Scope, dict[tuple[str, str | None], list["PodFacts"]]]
# An object's place in the input: (its unit's place, its place in the unit). A process that checks
# a part of the input numbers its objects as the whole input does without knowing the other parts.
Ordinal = tuple[int, int]
# Index factories that pickle (a worker sends its part's facts: kgen.parallel).
_lists = partial(defaultdict, list)
_lists_by_key = partial(defaultdict, _lists)


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

    scaler_kind: str
    scaler_name: str
    scope: Scope
    kind: str
    name: str
    max_replicas: int | None  # None when the scaler's maximum is missing or invalid


@dataclass(frozen=True)
class Binding:
    """A RoleBinding or ClusterRoleBinding: the role it grants and the ServiceAccounts it grants it to."""

    kind: str  # RoleBinding | ClusterRoleBinding
    name: str
    namespace: str
    role_kind: str  # Role | ClusterRole
    role_name: str
    accounts: tuple[tuple[str, str], ...]  # (namespace, name) of every ServiceAccount subject

    def grants(self, role: RoleRef) -> bool:
        """Whether this binding grants ``role`` (a Role only from a RoleBinding of its own namespace)."""
        if (role.kind, role.name) != (self.role_kind, self.role_name):
            return False
        return role.kind == "ClusterRole" or role.namespace == self.namespace


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

    name: str  # of the LimitRange
    path: JsonPath
    max: dict
    min: dict
    default: dict
    default_request: dict


@dataclass(frozen=True)
class PodFacts:
    """What cross-object rules need of a pod template once its object is gone: where its pods run,
    their labels, and how many of them there can be."""

    scope: Scope
    kind: str  # the template's kind (kgen.workloads.PodTemplate.kind)
    obj_kind: str
    obj_name: str
    labels: dict[str, str | None]
    daemon: bool
    pods_per_replica: int  # pods for one replica of the object (a group's size)
    max_replicas: int  # the most pods the object's own settings allow (no autoscaler)

    @classmethod
    def of(cls, template: PodTemplate) -> "PodFacts":
        obj = template.obj
        daemon = template.site.daemon
        return cls(
            scope_of(obj), template.kind, obj.kind, obj.name, pod_labels(template), daemon,
            0 if daemon else template.pods_for(1), 0 if daemon else template.max_replicas,
        )  # fmt: skip


def scale_target(obj: KubeObject) -> ScaleRef | None:
    """An HPA or ScaledObject with its target (KEDA's kind defaults to Deployment); None when it names none."""
    spec = as_map(obj.data.get("spec"))
    target = as_map(spec.get("scaleTargetRef"))
    keda = obj.kind == "ScaledObject"
    kind = target.get("kind") or ("Deployment" if keda else None)
    name = target.get("name")
    if not isinstance(kind, str) or not isinstance(name, str) or not name:
        return None
    if keda:
        declared = spec.get("maxReplicaCount")
        maximum = KEDA_DEFAULT_MAX_REPLICAS if declared is None else _count(declared)
    else:
        maximum = _count(spec.get("maxReplicas"))
    return ScaleRef(obj.kind, obj.name, scope_of(obj), kind, name, maximum)


class CrdSchema(NamedTuple):
    """The schema a CustomResourceDefinition of the input gives a kind, and which object it is."""

    name: str
    schema: dict
    ordinal: Ordinal


class Inventory:
    """The objects of one lint run, indexed as they are added.

    A streaming lint adds one file (or chart, or Kustomize root) at a time and checks it at
    once, against what was added so far; while ``consulted`` is a list, every question a
    check asks through :meth:`ask` is written down with its answer, so that
    :meth:`changed_answers` can tell, once the whole input is in, which checks would now be
    answered otherwise (and must run again). Verdicts that wait for the whole input read the
    facts at the end (``Violation.settle``).
    """

    def __init__(self, objects: Iterable[KubeObject] | None = None, keep_objects: bool = True, first_unit: int = 0) -> None:
        self.keep_objects = keep_objects
        # Kept only with keep_objects:
        self.objects: list[KubeObject] = []
        self.by_kind: dict[str, list[KubeObject]] = _lists()
        self.templates: list[PodTemplate] = []
        self._label_only: list[PodTemplate] = []
        self._templates: dict[int, list[PodTemplate]] = {}
        # Facts:
        self.consulted: list[Consultation] | None = None
        self.workload_count = 0
        self._count = 0
        self._first_unit = first_unit
        self._units = first_unit  # the place of the next unit added
        self._ordinals: dict[int, Ordinal] = {}
        self._first_of: dict[tuple[str, str], Ordinal] = {}
        self._count_of: dict[tuple[str, str], int] = defaultdict(int)
        self._present: set[tuple[Scope, str, str]] = set()
        self._last_scope: dict[tuple[str, str], Scope] = {}
        self._custom_resource_names: dict[Scope, set[str]] = defaultdict(set)
        # Pod templates by scope, and by scope and label, those with a pod spec apart from those
        # that only write labels: lookups list the former first (as kgen.workloads finds them).
        self._pods: tuple[dict[Scope, list[PodFacts]], dict[Scope, list[PodFacts]]] = (_lists(), _lists())
        self._pods_by_label: tuple[PodIndex, PodIndex] = (_lists_by_key(), _lists_by_key())
        self._service_selectors: dict[Scope, list[dict[str, str]]] = _lists()
        # The selectors of each scope by their first label's key and value: a selector can only
        # match pods that carry its first label, so a template is matched against a few selectors,
        # not every Service of its namespace (which grew with the square of a monorepo).
        self._selectors_by_first_label: dict[Scope, dict[str, dict[str, list[dict[str, str]]]]] = defaultdict(_lists_by_key)
        self._bindings: list[Binding] = []
        self._bindings_by_account: dict[tuple[str, str], list[Binding]] = _lists()
        self._bindings_by_role: dict[tuple[str, str], list[Binding]] = _lists()
        self._templates_by_account: dict[tuple[str, str], list[tuple[str, str]]] = _lists()
        self._accounts: dict[tuple[str, str], bool] = {}
        self._scalers: list[ScaleRef] = []
        self._scalers_by_target: dict[tuple[Scope, str, str], list[ScaleRef]] = _lists()
        self._container_limits: dict[Scope, list[ContainerLimits]] = _lists()
        self._crd_schemas: dict[tuple[str, str], CrdSchema] = {}
        if objects is not None:  # the first unit
            self.add(objects)

    def add(self, objects: Iterable[KubeObject]) -> None:
        """Index more objects (they come after those already added). Without keep_objects, only
        the pod templates and ordinals of the objects added last are kept, for their checks."""
        self.let_unit_go()
        unit, self._units = self._units, self._units + 1
        for position, obj in enumerate(objects):
            self._add(obj, (unit, position))

    def readmit(self, objects: list[KubeObject], unit: int) -> None:
        """Take back the objects of the unit at place ``unit``, read again (to be checked anew at
        the end), without counting their facts twice."""
        self.let_unit_go()
        for position, obj in enumerate(objects):
            self._ordinals[id(obj)] = (unit, position)
            self._templates[id(obj)] = [t for t in pod_templates(obj, spec_required=False) if t.has_spec]

    def let_unit_go(self) -> None:
        """Without keep_objects: forget the pod templates and ordinals of the unit added last (its checks are done)."""
        if not self.keep_objects:
            self._templates, self._ordinals = {}, {}

    @property
    def units(self) -> int:
        """How many units were added (with the first unit's place: the place of the next one)."""
        return self._units

    @property
    def count(self) -> int:
        """How many objects were added."""
        return self._count

    def _add(self, obj: KubeObject, ordinal: Ordinal) -> None:
        self._ordinals[id(obj)] = ordinal
        self._count += 1
        key = (obj.api_version, obj.kind)
        self._first_of.setdefault(key, ordinal)
        self._count_of[key] += 1
        scope = scope_of(obj)
        self._present.add((scope, obj.kind, obj.name))
        self._last_scope[(obj.kind, obj.name)] = scope
        if "." in obj.group and not obj.group.endswith(".k8s.io") and obj.name:
            # Operators (databases, Prometheus, LeaderWorkerSet...) create pods from custom
            # resources that carry the resource's name in a label.
            self._custom_resource_names[scope].add(obj.name)
        found = pod_templates(obj, spec_required=False)
        templates = [t for t in found if t.has_spec]
        self.workload_count += len(found)
        for template in templates:
            self._templates_by_account[(scope[1], template.service_account)].append((template.kind, obj.name))
        for template in found:
            if template.kind != "PodTemplate":  # a PodTemplate object only stores a template
                self._add_pods(PodFacts.of(template), 0 if template.has_spec else 1)
        if self.keep_objects:
            self.objects.append(obj)
            self.by_kind[obj.kind].append(obj)
            self._templates[id(obj)] = templates
            self.templates.extend(templates)
            self._label_only.extend(t for t in found if not t.has_spec)
        else:
            self._templates[id(obj)] = templates
        if obj.kind == "Service":
            self._add_service(obj)
        elif obj.kind in ("RoleBinding", "ClusterRoleBinding"):
            self._add_binding(obj)
        elif obj.kind == "ServiceAccount":
            self._accounts.setdefault((scope[1], obj.name), obj.data.get("automountServiceAccountToken") is False)
        elif obj.kind in ("HorizontalPodAutoscaler", "ScaledObject"):
            self._add_scaler(obj)
        elif obj.kind == "LimitRange":
            self._add_limit_range(obj)
        elif obj.kind == "CustomResourceDefinition":
            for key, schema in crd_schemas(obj.data).items():
                self._crd_schemas.setdefault(key, CrdSchema(obj.name, schema, ordinal))

    def merge(self, part: "Inventory") -> None:
        """Take in the facts of the units that come next, indexed by another process (kgen.parallel:
        ``part`` began at this inventory's next unit), as if they had been added here."""
        assert not self.keep_objects and not part.keep_objects, "objects do not cross processes"
        assert part._first_unit == self._units, "parts are taken in input order"
        self.let_unit_go()
        self._units = part._units
        self._count += part._count
        self.workload_count += part.workload_count
        for key, ordinal in part._first_of.items():
            self._first_of.setdefault(key, ordinal)
        for key, count in part._count_of.items():
            self._count_of[key] += count
        self._present |= part._present
        self._last_scope.update(part._last_scope)
        for scope, names in part._custom_resource_names.items():
            self._custom_resource_names[scope] |= names
        for index, pods_by_scope in enumerate(part._pods):
            for pods_of_scope in pods_by_scope.values():
                for pods in pods_of_scope:
                    self._add_pods(pods, index)
        for scope, selectors in part._service_selectors.items():
            for selector in selectors:
                self._index_selector(scope, selector)
        for binding in part._bindings:
            self._index_binding(binding)
        for account, running in part._templates_by_account.items():
            self._templates_by_account[account] += running
        for account, turned_off in part._accounts.items():
            self._accounts.setdefault(account, turned_off)
        for ref in part._scalers:
            self._index_scaler(ref)
        for scope, items in part._container_limits.items():
            self._container_limits[scope] += items
        for key, crd in part._crd_schemas.items():
            self._crd_schemas.setdefault(key, crd)

    def ordinal(self, obj: KubeObject) -> Ordinal:
        """The object's place in the input."""
        return self._ordinals[id(obj)]

    def first_of(self, api_version: str, kind: str) -> Ordinal | None:
        """The ordinal of the input's first object of that apiVersion and kind."""
        return self._first_of.get((api_version, kind))

    def count_of(self, api_version: str, kind: str) -> int:
        """How many objects of that apiVersion and kind the input holds."""
        return self._count_of.get((api_version, kind), 0)

    def holds(self, scope: Scope, kind: str, name: str) -> bool:
        """Whether the input holds an object of that kind and name in ``scope``."""
        return (scope, kind, name) in self._present

    def last_scope(self, kind: str, name: str) -> Scope | None:
        """The scope of the input's last object of that kind and name, in any namespace."""
        return self._last_scope.get((kind, name))

    def custom_resource_names(self, scope: Scope) -> set[str]:
        """Names of the custom resources of ``scope`` (whose operators create pods)."""
        return self._custom_resource_names.get(scope, set())

    def templates_of(self, obj: KubeObject) -> list[PodTemplate]:
        """The pod templates of ``obj`` (with keep_objects False: of the object last added)."""
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

    def _add_pods(self, pods: PodFacts, part: int) -> None:
        self._pods[part][pods.scope].append(pods)
        index = self._pods_by_label[part][pods.scope]
        for key, value in pods.labels.items():
            index[(key, value)].append(pods)

    def pods_selected(self, scope: Scope, selector: dict) -> list[PodFacts]:
        """The pod templates of ``scope`` whose labels ``selector`` matches."""
        return [p for part in self._pods for p in part.get(scope, []) if selector_matches(selector, p.labels)]

    def first_pod_matching(self, scope: Scope, wanted: dict[str, str]) -> PodFacts | None:
        """The first pod template of ``scope`` whose labels a non-empty ``matchLabels`` selector
        matches, or None. The first is all a Service check needs: collecting every match made
        many copies of one set of labels cost the square of their number."""
        key, value = next(iter(wanted.items()))
        selector = {"matchLabels": wanted}
        for labels in ((key, value), (key, None)):
            for part in self._pods_by_label:
                for pods in part.get(scope, {}).get(labels, ()):
                    if selector_matches(selector, pods.labels):
                        return pods
        return None

    def pod_scopes(self) -> list[Scope]:
        """The scopes that hold pod templates, those with a pod spec first."""
        return list(dict.fromkeys([*self._pods[0], *self._pods[1]]))

    def _add_service(self, service: KubeObject) -> None:
        selector = service_selector(service.data)
        if selector is not None:
            self._index_selector(scope_of(service), selector)

    def _index_selector(self, scope: Scope, selector: dict[str, str]) -> None:
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
        self._index_binding(Binding(obj.kind, obj.name, namespace_of(obj), kind, name, tuple(accounts)))

    def _index_binding(self, binding: Binding) -> None:
        self._bindings.append(binding)
        for account in dict.fromkeys(binding.accounts):
            self._bindings_by_account[account].append(binding)
        self._bindings_by_role[(binding.role_kind, binding.role_name)].append(binding)

    @property
    def bindings(self) -> list[Binding]:
        """Every RoleBinding, then every ClusterRoleBinding, of the input that names a role."""
        return _rolebindings_first(self._bindings)

    def bindings_of_account(self, namespace: str, account: str) -> list[Binding]:
        """The bindings of the input that grant a role to the ServiceAccount: its pods call the API."""
        return _rolebindings_first(self._bindings_by_account.get((namespace, account), []))

    def bindings_of_role(self, role: RoleRef) -> list[Binding]:
        """The bindings of the input that grant the role (a Role only by RoleBindings of its namespace)."""
        return [b for b in _rolebindings_first(self._bindings_by_role.get((role.kind, role.name), [])) if b.grants(role)]

    def templates_running_as(self, namespace: str, account: str) -> list[tuple[str, str]]:
        """(kind, object name) of the pod templates of the input whose pods run as the ServiceAccount."""
        return list(self._templates_by_account.get((namespace, account), []))

    def account_turns_token_off(self, namespace: str, account: str) -> bool | None:
        """Whether the input's (first) ServiceAccount of that name sets automountServiceAccountToken:
        false; None when the input holds no such ServiceAccount."""
        return self._accounts.get((namespace, account))

    def of_kind(self, *kinds: str) -> list[KubeObject]:
        return [obj for kind in kinds for obj in self.by_kind.get(kind, [])]

    @property
    def scalers(self) -> list[ScaleRef]:
        """Every HPA, then every ScaledObject, of the input with its target."""
        return sorted(self._scalers, key=lambda ref: ref.scaler_kind != "HorizontalPodAutoscaler")

    def _add_scaler(self, obj: KubeObject) -> None:
        ref = scale_target(obj)
        if ref is not None:
            self._index_scaler(ref)

    def _index_scaler(self, ref: ScaleRef) -> None:
        self._scalers.append(ref)
        self._scalers_by_target[(ref.scope, ref.kind, ref.name)].append(ref)

    def max_replicas(self, template: PodTemplate) -> int | None:
        """The most pods of ``template`` that can run at once: the autoscalers' maximum when one
        targets its object, else the declared replicas (Job parallelism) or the ceiling of the
        autoscaling written in the object (Ray, KServe, Knative); None for DaemonSets, whose size
        is the number of matching nodes."""
        return self.max_pods(PodFacts.of(template))

    def max_pods(self, pods: PodFacts) -> int | None:
        """:meth:`max_replicas` from a template's facts."""
        if pods.daemon:
            return None
        maxima = [ref.max_replicas for ref in self._scalers_by_target.get((pods.scope, pods.obj_kind, pods.obj_name), [])]
        known = [m for m in maxima if m is not None]
        return max(known) * pods.pods_per_replica if known else pods.max_replicas

    def _add_limit_range(self, obj: KubeObject) -> None:
        for position, item in enumerate(as_list(as_map(obj.data.get("spec")).get("limits"))):
            item = as_map(item)
            if item.get("type") != "Container":
                continue
            maximum, minimum = as_map(item.get("max")), as_map(item.get("min"))
            default = {**maximum, **as_map(item.get("default"))}
            default_request = {**minimum, **default, **as_map(item.get("defaultRequest"))}
            self._container_limits[scope_of(obj)].append(
                ContainerLimits(obj.name, ("spec", "limits", position), maximum, minimum, default, default_request)
            )

    def container_limits(self, obj: KubeObject) -> list[ContainerLimits]:
        """The LimitRange container items of the input (so far) that apply to pods of ``obj``."""
        return self.ask(Inventory.limit_ranges, scope_of(obj))

    def limit_ranges(self, scope: Scope) -> list[ContainerLimits]:
        """The LimitRange container items of the input that apply to pods of ``scope``."""
        return list(self._container_limits.get(scope, []))

    def crd_schema(self, api_version: str, kind: str) -> CrdSchema | None:
        """The OpenAPI schema of the input's first CustomResourceDefinition serving that apiVersion and kind."""
        return self._crd_schemas.get((api_version, kind))

    def ask(self, question: Callable[..., T], *args: Any) -> T:
        """``question(self, *args)``, a question about the input (so far; ``question`` is a method
        of this class, so that it can be asked again elsewhere), written down while recording."""
        answer = question(self, *args)
        if self.consulted is not None:
            self.consulted.append(Consultation(question, args, _digest(answer)))
        return answer

    def changed_answers(self, consulted: list[Consultation]) -> bool:
        """Whether any of these questions, asked again now, gets another answer."""
        return any(_digest(c.question(self, *c.args)) != c.answer for c in consulted)


class Consultation(NamedTuple):
    """A question a check asked the inventory (a method of Inventory and its small arguments) and
    the answer it got: plain data, so that a worker process can hand it to the parent."""

    question: Callable[..., Any]
    args: tuple
    answer: object


def _rolebindings_first(bindings: list[Binding]) -> list[Binding]:
    """``bindings`` (in input order) with the RoleBindings before the ClusterRoleBindings, as a lookup by kind lists them."""
    return sorted(bindings, key=lambda binding: binding.kind != "RoleBinding")


def _digest(answer: object) -> object:
    """An answer in a form that compares equal exactly when the answer is the same."""
    if isinstance(answer, list):
        return tuple(_digest(item) for item in answer)
    if isinstance(answer, ContainerLimits):
        return answer.name, answer.path  # lists of them only grow: a new item changes the length
    if isinstance(answer, CrdSchema):
        return answer.ordinal
    if isinstance(answer, (str, int, float, type(None))):
        return answer
    raise TypeError(f"no digest for {type(answer).__name__}")
