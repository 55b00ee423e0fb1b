"""Cluster fit arithmetic: what a pod asks for, how many can run at once, namespace quota usage
at peak, and which node pools can host a pod. The quota and scheduling rules and
``kgen capacity`` (:mod:`kgen.capacity`) all read these numbers, so a finding and the report
never disagree; it sits below both (it reads only the inventory and the policy).

Semantics decided here (where Kubernetes leaves room or the input cannot say):

- **Container resources** as the API server sees them after admission: a missing request
  takes the container's limit (API defaulting), then LimitRange ``type: Container``
  defaults fill what is still missing (``Inventory.container_limits``).
- **Pod resources** as ``resourcehelper.PodRequests/PodLimits`` compute them (used by both
  quota and kube-scheduler): the sum of app containers and native sidecars, or the largest
  init step (an init container plus the sidecars started before it) if bigger; pod-level
  ``spec.resources`` (cpu, memory, hugepages) replace the sum; ``spec.overhead`` (or the
  ``overhead.podFixed`` of a RuntimeClass in the input) is added to requests, and to limits
  that exist. Ephemeral containers count for nothing.
- **Peak pods**: ``Inventory.max_replicas`` (autoscaler maximum, else replicas / Job
  parallelism), capped by Job ``completions``; a CronJob runs ``CRONJOB_ALLOW_RUNS`` jobs at
  once with ``concurrencyPolicy: Allow`` (the default), one with Forbid or Replace; a
  DaemonSet runs one pod per node of every pool it can land on (one pod without node pools).
- **Quotas**: every ResourceQuota of the input applies to its namespace (and rendered
  environment); ``namespaces.<ns>.quota`` of the policy stands for one more, unscoped,
  ResourceQuota. Each is enforced on its own, so the tightest one is the one that bites.
  ``cpu``/``memory``/``ephemeral-storage``/``hugepages-*`` mean ``requests.*``; ``count/pods``,
  ``count/services``... mean ``pods``, ``services``... Scopes (Terminating, NotTerminating,
  BestEffort, NotBestEffort, PriorityClass, CrossNamespacePodAffinity) and ``scopeSelector``
  are honoured; a scoped quota counts pods only.
- **Object counts** count the objects of the input, plus what controllers create from them:
  a Deployment keeps ``revisionHistoryLimit`` (10) old ReplicaSets beside the current one, a
  CronJob keeps its job history (3 successful + 1 failed) beside its running jobs, and a
  StatefulSet creates one PVC per volumeClaimTemplate and replica (``requests.storage`` too).
- **Node pools** have ``count`` nodes (default 1) with the pool's labels plus
  ``kubernetes.io/os: linux`` and ``kubernetes.io/arch: amd64`` unless the pool sets them. A
  pool taint without an effect is ``NoSchedule``; without a value its value is empty. cpu,
  memory, ephemeral-storage and pods missing from ``allocatable`` are not checked; any other
  resource missing is 0. Requests are rounded as the scheduler rounds them (cpu to 1m, the
  rest to whole units). DaemonSet pods get the tolerations the DaemonSet controller adds.
  A pod with ``spec.nodeName`` bypasses the scheduler and is not checked.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any, Iterable

from kgen.gpus import tolerates
from kgen.loader import JsonPath, KubeObject
from kgen.policies.inventory import Inventory, Scope, scope_of
from kgen.policies.cluster_policy import ClusterPolicy
from kgen.quantity import format_quantity, round_for_scheduler, try_quantity
from kgen.workloads import Container, PodTemplate, as_list, as_map

CRONJOB_ALLOW_RUNS = 2  # concurrencyPolicy Allow: the running job plus one that overlaps it
DEPLOYMENT_REVISION_HISTORY = 10
CRONJOB_HISTORY = (3, 1)  # successfulJobsHistoryLimit, failedJobsHistoryLimit defaults
IMPLIED_NODE_LABELS = {"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
UNCHECKED_IF_UNDECLARED = frozenset({"cpu", "memory", "ephemeral-storage", "pods"})
# Resources a quota may name without the ``requests.`` prefix.
_BARE_REQUESTS = ("cpu", "memory", "ephemeral-storage")
# Object-count quota names that have a bare form (``count/services`` == ``services``).
_BARE_COUNTS = frozenset({"pods", "services", "secrets", "configmaps", "persistentvolumeclaims", "replicationcontrollers", "resourcequotas"})
_POD_LEVEL = ("cpu", "memory")
# Tolerations the DaemonSet controller adds to every daemon pod.
_DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]
_QUOTA_VALIDATED = {"requests.cpu": ("requests", "cpu"), "limits.cpu": ("limits", "cpu"),
                    "requests.memory": ("requests", "memory"), "limits.memory": ("limits", "memory")}  # fmt: skip


def add_amounts(into: dict[str, Fraction], more: dict[str, Fraction]) -> None:
    """Sum ``more`` into ``into``, resource by resource."""
    for name, amount in more.items():
        into[name] = into.get(name, Fraction(0)) + amount


def _max_into(into: dict[str, Fraction], other: dict[str, Fraction]) -> None:
    for name, amount in other.items():
        if amount > into.get(name, Fraction(0)):
            into[name] = amount


def _quantities(raw: Any) -> dict[str, Fraction]:
    """The well-formed quantities of a resource map (malformed ones are other rules' business)."""
    out = {}
    for name, value in as_map(raw).items():
        amount = try_quantity(value)
        if isinstance(name, str) and amount is not None:
            out[name] = amount
    return out


def describe(amounts: dict[str, Fraction]) -> str:
    """``cpu 4, memory 16Gi, nvidia.com/gpu 2`` for messages and reports (cpu and memory first)."""
    order = sorted(amounts, key=lambda name: (name not in _POD_LEVEL, _POD_LEVEL.index(name) if name in _POD_LEVEL else 0, name))
    return ", ".join(f"{name} {format_quantity(amounts[name], name)}" for name in order if amounts[name])


# --- resources of one container and one pod ----------------------------------------------------


@dataclass(frozen=True)
class ContainerResources:
    """A container's requests and limits after API defaulting and LimitRange defaults."""

    container: Container
    requests: dict[str, Fraction]
    limits: dict[str, Fraction]

    def path_of(self, section: str, name: str) -> JsonPath:
        """Where the value is written: the field itself, else the container's resources."""
        if name in as_map(self.container.resources.get(section)):
            return self.container.at("resources", section, name)
        if section == "requests" and name in self.container.limits:
            return self.container.at("resources", "limits", name)
        return self.container.at("resources") if self.container.data.get("resources") is not None else self.container.path


def container_resources(container: Container, inventory: Inventory, obj: KubeObject) -> ContainerResources:
    """What admission leaves in the container: requests default to limits, then LimitRange defaults."""
    limits = _quantities(container.limits)
    requests = {**limits, **_quantities(container.requests)}
    for item in inventory.container_limits(obj):
        for defaults, target in ((item.default, limits), (item.default_request, requests)):
            for name, amount in _quantities(defaults).items():
                target.setdefault(name, amount)
    return ContainerResources(container, requests, limits)


@dataclass(frozen=True)
class PodResources:
    """One pod's effective requests and limits, and the containers they come from."""

    template: PodTemplate
    requests: dict[str, Fraction]
    limits: dict[str, Fraction]
    containers: list[ContainerResources]
    overhead: dict[str, Fraction]

    def biggest(self, section: str, name: str) -> ContainerResources | None:
        """The container with the most of ``name`` (to point a finding at)."""
        holders = [c for c in self.containers if getattr(c, section).get(name)]
        return max(holders, key=lambda c: getattr(c, section)[name]) if holders else None

    def path_of(self, section: str, name: str) -> JsonPath:
        holder = self.biggest(section, name)
        if holder is not None:
            return holder.path_of(section, name)
        if name in self.overhead:
            return self.template.at("overhead", name)
        return self.template.path

    @property
    def best_effort(self) -> bool:
        """QoS BestEffort: no cpu or memory request or limit in any container."""
        return not any(c.requests.get(n) or c.limits.get(n) for c in self.containers for n in _POD_LEVEL)


def _aggregate(containers: list[ContainerResources], section: str) -> dict[str, Fraction]:
    """PodRequests/PodLimits: max(largest init step, app containers + sidecars)."""
    running: dict[str, Fraction] = {}
    sidecars: dict[str, Fraction] = {}
    init_peak: dict[str, Fraction] = {}
    for c in containers:
        amounts = getattr(c, section)
        if c.container.is_sidecar:
            add_amounts(running, amounts)
            add_amounts(sidecars, amounts)
            _max_into(init_peak, sidecars)
        elif c.container.is_init:
            step = dict(amounts)
            add_amounts(step, sidecars)
            _max_into(init_peak, step)
        else:
            add_amounts(running, amounts)
    _max_into(running, init_peak)
    return running


# --- how many pods at once ----------------------------------------------------------------------


def _job_spec(template: PodTemplate) -> dict:
    spec = as_map(template.obj.data.get("spec"))
    return as_map(as_map(spec.get("jobTemplate")).get("spec")) if template.kind == "CronJob" else spec


def _cron_runs(template: PodTemplate) -> int:
    policy = as_map(template.obj.data.get("spec")).get("concurrencyPolicy") or "Allow"
    return CRONJOB_ALLOW_RUNS if policy == "Allow" else 1


def _whole(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


# --- quotas ---------------------------------------------------------------------------------------


def quota_key(name: str) -> str:
    """The canonical resource a quota name counts (``cpu`` -> ``requests.cpu``, ``count/pods`` -> ``pods``)."""
    if name in _BARE_REQUESTS or name.startswith("hugepages-"):
        return f"requests.{name}"
    if name.startswith("count/") and name[len("count/") :] in _BARE_COUNTS:
        return name[len("count/") :]
    if "/" in name and not name.startswith(("requests.", "limits.", "count/")) and ".storageclass." not in name:
        return f"requests.{name}"  # an extended resource: quota only knows requests for them
    return name


@dataclass(frozen=True)
class Quota:
    """One ResourceQuota of the input, or the policy's quota of a namespace."""

    scope: Scope
    hard: dict[str, Fraction]  # as written -> amount
    obj: KubeObject | None = None  # the ResourceQuota; None for the policy
    scopes: tuple[str, ...] = ()
    selector: tuple[dict, ...] = ()

    @property
    def namespace(self) -> str:
        return self.scope[1]

    @property
    def label(self) -> str:
        if self.obj is None:
            return f"the policy quota of namespace {self.namespace}"
        return f"ResourceQuota {self.obj.name}"

    @property
    def short(self) -> str:
        return f"ResourceQuota/{self.obj.name}" if self.obj is not None else "policy"

    @property
    def scoped(self) -> bool:
        return bool(self.scopes or self.selector)

    def matches(self, pod: PodResources) -> bool:
        """Whether the quota's scopes select this pod (unscoped quotas select every pod)."""
        spec = pod.template.spec
        checks = {
            "Terminating": lambda: _whole(spec.get("activeDeadlineSeconds"), -1) >= 0,
            "NotTerminating": lambda: _whole(spec.get("activeDeadlineSeconds"), -1) < 0,
            "BestEffort": lambda: pod.best_effort,
            "NotBestEffort": lambda: not pod.best_effort,
            "PriorityClass": lambda: bool(spec.get("priorityClassName")),
            "CrossNamespacePodAffinity": lambda: _cross_namespace_affinity(spec),
        }
        for name in self.scopes:
            check = checks.get(name)
            if check is None or not check():
                return False
        return all(_scope_expression(expr, spec, checks) for expr in self.selector)


def _scope_expression(expr: dict, spec: dict, checks: dict) -> bool:
    name, operator = expr.get("scopeName"), expr.get("operator")
    if name != "PriorityClass":
        check = checks.get(name)
        return bool(check and check()) == (operator != "DoesNotExist")
    value = spec.get("priorityClassName")
    values = [str(v) for v in as_list(expr.get("values"))]
    return {
        "In": value in values,
        "NotIn": value is None or value not in values,
        "Exists": bool(value),
        "DoesNotExist": not value,
    }.get(operator, False)


def _cross_namespace_affinity(spec: dict) -> bool:
    affinity = as_map(spec.get("affinity"))
    for kind in ("podAffinity", "podAntiAffinity"):
        section = as_map(affinity.get(kind))
        terms = as_list(section.get("requiredDuringSchedulingIgnoredDuringExecution"))
        terms += [as_map(t).get("podAffinityTerm") for t in as_list(section.get("preferredDuringSchedulingIgnoredDuringExecution"))]
        for term in terms:
            term = as_map(term)
            if as_list(term.get("namespaces")) or term.get("namespaceSelector") is not None:
                return True
    return False


@dataclass(frozen=True)
class Contribution:
    """What one object adds to a quota at peak: ``replicas`` x ``per_unit``, or a plain count."""

    obj: KubeObject
    amount: Fraction
    path: JsonPath
    replicas: int = 1
    per_unit: Fraction | None = None  # per pod; None for a count of objects
    unit: str = "pods"
    source: str = ""  # what sets the peak (an autoscaler...), when not the object's own replicas

    def detail(self, resource: str, *, source: bool = True) -> str:
        total = format_quantity(self.amount, resource)
        if self.per_unit is None or self.replicas == 1:
            return total
        why = f"; {self.source}" if self.source and source else ""
        return f"{total} ({self.replicas} {self.unit} x {format_quantity(self.per_unit, resource)}{why})"


@dataclass
class QuotaUsage:
    """One constrained resource of one quota: the peak use against the hard limit."""

    quota: Quota
    resource: str  # as the quota writes it
    hard: Fraction
    contributions: list[Contribution] = field(default_factory=list)

    @property
    def used(self) -> Fraction:
        return sum((c.amount for c in self.contributions), Fraction(0))

    @property
    def exceeded(self) -> bool:
        return self.used > self.hard

    @property
    def largest(self) -> list[Contribution]:
        return sorted(self.contributions, key=lambda c: (-c.amount, c.obj.kind, c.obj.name))


# --- node pools -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodePool:
    name: str
    count: int
    labels: dict[str, str]
    taints: tuple[dict, ...]
    allocatable: dict[str, Fraction]

    @property
    def supply(self) -> dict[str, Fraction]:
        return {name: amount * self.count for name, amount in self.allocatable.items()}


def node_pools(policy: ClusterPolicy) -> list[NodePool]:
    """The policy's node pools, with implied labels and defaulted taints."""
    pools = []
    for raw in policy.node_pools:
        raw = as_map(raw)
        labels = {**IMPLIED_NODE_LABELS, **{str(k): str(v) for k, v in as_map(raw.get("labels")).items()}}
        taints = tuple(
            {"key": str(t.get("key")), "value": str(t.get("value") or ""), "effect": t.get("effect") or "NoSchedule"}
            for t in map(as_map, as_list(raw.get("taints")))
        )
        pools.append(NodePool(str(raw.get("name")), _whole(raw.get("count"), 1), labels, taints, _quantities(raw.get("allocatable"))))
    return pools


@dataclass(frozen=True)
class Reason:
    """Why one pool cannot take a pod: ``kind`` is resources, selector, affinity or taints."""

    kind: str
    text: str
    path: JsonPath


def _match_expression(expr: dict, labels: dict[str, str]) -> bool:
    key, operator = expr.get("key"), expr.get("operator")
    values = [str(v) for v in as_list(expr.get("values"))]
    present = isinstance(key, str) and key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and len(values) == 1:
        try:
            have, bound = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > bound if operator == "Gt" else have < bound
    return False


def _match_term(term: dict, labels: dict[str, str]) -> bool:
    """All expressions of a term hold (matchFields on node names cannot be judged: assumed true)."""
    expressions = as_list(term.get("matchExpressions"))
    if not expressions and not as_list(term.get("matchFields")):
        return False  # an empty term selects no node
    return all(_match_expression(as_map(e), labels) for e in expressions)


def placement_reasons(template: PodTemplate, pool: NodePool) -> list[Reason]:
    """Labels and taints: why the scheduler would never consider this pool (empty: it would)."""
    spec = template.spec
    reasons = []
    for key, value in as_map(spec.get("nodeSelector")).items():
        have = pool.labels.get(str(key))
        if have != str(value):
            found = f"has {key}={have}" if have is not None else f"has no {key} label"
            reasons.append(Reason("selector", f"nodeSelector {key}={value} (pool {found})", template.at("nodeSelector", key)))
    required = as_map(as_map(as_map(spec.get("affinity")).get("nodeAffinity")).get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required:
        terms = as_list(required.get("nodeSelectorTerms"))
        if not any(_match_term(as_map(term), pool.labels) for term in terms):
            path = template.at("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
            reasons.append(Reason("affinity", "required node affinity matches none of its labels", path))
    tolerations = as_list(spec.get("tolerations")) + (_DAEMON_TOLERATIONS if template.site.daemon else [])
    for taint in pool.taints:
        if taint["effect"] in ("NoSchedule", "NoExecute") and not any(tolerates(t, taint) for t in tolerations):
            shown = f"{taint['key']}={taint['value']}:{taint['effect']}" if taint["value"] else f"{taint['key']}:{taint['effect']}"
            where = template.at("tolerations") if spec.get("tolerations") is not None else template.path
            reasons.append(Reason("taints", f"taint {shown} not tolerated", where))
    return reasons


def schedulable_requests(pod: PodResources) -> dict[str, Fraction]:
    """What the scheduler subtracts from a node for one pod (rounded as it rounds), ``pods`` included."""
    out = {name: round_for_scheduler(name, amount) for name, amount in pod.requests.items() if amount > 0}
    out["pods"] = Fraction(1)
    return out


def _available(pool: NodePool, name: str, reserved: dict[str, Fraction]) -> Fraction | None:
    """Per-node allocatable minus ``reserved``; None when the pool does not declare an unchecked resource."""
    if name not in pool.allocatable and name in UNCHECKED_IF_UNDECLARED:
        return None
    return pool.allocatable.get(name, Fraction(0)) - reserved.get(name, Fraction(0))


def resource_reasons(pod: PodResources, pool: NodePool) -> list[Reason]:
    """Requests one empty node of the pool cannot satisfy."""
    reasons = []
    for name, amount in schedulable_requests(pod).items():
        available = _available(pool, name, {})
        if available is not None and amount > available:
            have = format_quantity(available, name) if name in pool.allocatable else "none"
            text = f"needs {name} {format_quantity(amount, name)}, a node has {have}"
            reasons.append(Reason("resources", text, pod.path_of("requests", name)))
    return reasons


def pods_per_node(pod: PodResources, pool: NodePool, reserved: dict[str, Fraction] | None = None) -> int:
    """How many of these pods one node of the pool holds (after ``reserved``, e.g. daemon pods)."""
    fits: int | None = None
    for name, amount in schedulable_requests(pod).items():
        available = _available(pool, name, reserved or {})
        if available is None:
            continue
        room = max(int(available // amount), 0)
        fits = room if fits is None else min(fits, room)
    return fits if fits is not None else 0


@dataclass(frozen=True)
class PoolVerdict:
    pool: NodePool
    reasons: list[Reason]  # empty: one pod fits on an empty node

    @property
    def selected(self) -> bool:
        """The pool's labels and taints admit the pod (resources aside)."""
        return all(r.kind == "resources" for r in self.reasons)


# --- the whole analysis ---------------------------------------------------------------------------


class ClusterFit:
    """Every cluster-fit number of one input under one policy, computed once and shared."""

    def __init__(self, inventory: Inventory, policy: ClusterPolicy) -> None:
        self.inventory = inventory
        self.policy = policy
        self._pods: dict[int, PodResources] = {}

    @cached_property
    def pools(self) -> list[NodePool]:
        return node_pools(self.policy)

    @cached_property
    def templates(self) -> list[PodTemplate]:
        """Templates that run pods (not the runtimes and workflow templates other objects instantiate)."""
        return [t for t in self.inventory.templates if t.site.runs_pods]

    def pod(self, template: PodTemplate) -> PodResources:
        """The effective requests and limits of one pod of ``template`` (memoized)."""
        found = self._pods.get(id(template))
        if found is None:
            found = self._pods[id(template)] = self._compute_pod(template)
        return found

    def _compute_pod(self, template: PodTemplate) -> PodResources:
        containers = [container_resources(c, self.inventory, template.obj) for c in template.containers if c.field_name != "ephemeralContainers"]
        requests, limits = _aggregate(containers, "requests"), _aggregate(containers, "limits")
        pod_level = as_map(template.spec.get("resources"))
        for section, target in (("requests", requests), ("limits", limits)):
            for name, amount in _quantities(pod_level.get(section)).items():
                if name in _POD_LEVEL or name.startswith("hugepages-"):
                    target[name] = amount
        overhead = self._overhead(template)
        add_amounts(requests, overhead)
        add_amounts(limits, {name: amount for name, amount in overhead.items() if name in limits})
        return PodResources(template, requests, limits, containers, overhead)

    def _overhead(self, template: PodTemplate) -> dict[str, Fraction]:
        if template.spec.get("overhead") is not None:
            return _quantities(template.spec.get("overhead"))
        runtime = template.spec.get("runtimeClassName")
        for obj in self.inventory.of_kind("RuntimeClass"):
            if runtime and obj.name == runtime and obj.labels.get("environment") == template.obj.labels.get("environment"):
                return _quantities(as_map(obj.data.get("overhead")).get("podFixed"))
        return {}

    def verdicts(self, template: PodTemplate) -> list[PoolVerdict]:
        """Each pool, and why it cannot take one pod of ``template`` (empty reasons: it can)."""
        pod = self.pod(template)
        return [PoolVerdict(pool, placement_reasons(template, pool) + resource_reasons(pod, pool)) for pool in self.pools]

    def peak_replicas(self, template: PodTemplate) -> int:
        """The most pods of ``template`` that can exist at once (see the module notes)."""
        if template.site.daemon:
            if not self.pools:
                return 1
            return sum(v.pool.count for v in self.verdicts(template) if v.selected)
        replicas = self.inventory.max_replicas(template)
        if replicas is None:
            replicas = template.declared_replicas
        if template.obj.group == "batch" and template.kind in ("Job", "CronJob"):
            completions = _job_spec(template).get("completions")
            replicas = min(replicas, _whole(completions, replicas))
            if template.kind == "CronJob":
                replicas *= _cron_runs(template)
        return replicas

    @cached_property
    def _scalers(self) -> dict[tuple, list]:
        index: dict[tuple, list] = defaultdict(list)
        for ref in self.inventory.scalers:
            if ref.max_replicas is not None:
                index[(ref.scope, ref.kind, ref.name)].append(ref)
        return index

    def peak_source(self, template: PodTemplate) -> str:
        """What sets the peak, for messages: the autoscaler, the CronJob overlap or the node pools."""
        if template.site.daemon:
            return "one per node it runs on" if self.pools else "one pod (no node pools in the policy)"
        obj = template.obj
        scalers = self._scalers.get((scope_of(obj), obj.kind, obj.name))
        if scalers:
            top = max(scalers, key=lambda r: r.max_replicas or 0)
            field_name = "maxReplicaCount" if top.scaler_kind == "ScaledObject" else "maxReplicas"
            return f"{top.scaler_kind} {top.scaler_name} {field_name} {top.max_replicas}"
        if obj.group == "batch" and obj.kind == "CronJob" and _cron_runs(template) > 1:
            return f"concurrencyPolicy Allow: {CRONJOB_ALLOW_RUNS} overlapping runs"
        return ""

    # quotas

    @cached_property
    def quotas(self) -> list[Quota]:
        """Every quota that applies to the input: ResourceQuotas in it and the policy's namespaces."""
        found = []
        for obj in self.inventory.of_kind("ResourceQuota"):
            spec = as_map(obj.data.get("spec"))
            hard = _quantities(spec.get("hard"))
            selector = tuple(as_map(e) for e in as_list(as_map(spec.get("scopeSelector")).get("matchExpressions")))
            scopes = tuple(str(s) for s in as_list(spec.get("scopes")))
            if hard:
                found.append(Quota(scope_of(obj), hard, obj, scopes, selector))
        configured = {str(ns): _quantities(as_map(entry).get("quota")) for ns, entry in self.policy.namespaces.items()}
        scopes_seen = sorted({scope_of(obj) for obj in self.inventory.objects}, key=lambda s: (s[0] or "", s[1]))
        for scope in scopes_seen:
            if configured.get(scope[1]):
                found.append(Quota(scope, configured[scope[1]]))
        return found

    @cached_property
    def quotas_by_scope(self) -> dict[Scope, list[Quota]]:
        index: dict[Scope, list[Quota]] = defaultdict(list)
        for quota in self.quotas:
            index[quota.scope].append(quota)
        return index

    @cached_property
    def _templates_by_scope(self) -> dict[Scope, list[PodTemplate]]:
        index: dict[Scope, list[PodTemplate]] = defaultdict(list)
        for template in self.templates:
            index[scope_of(template.obj)].append(template)
        return index

    @cached_property
    def _objects_by_scope(self) -> dict[Scope, list[KubeObject]]:
        index: dict[Scope, list[KubeObject]] = defaultdict(list)
        for obj in self.inventory.objects:
            index[scope_of(obj)].append(obj)
        return index

    @cached_property
    def usages(self) -> list[QuotaUsage]:
        """Peak use of every resource every quota constrains."""
        out = []
        for quota in self.quotas:
            templates = [t for t in self._templates_by_scope.get(quota.scope, []) if quota.matches(self.pod(t))]
            objects = [] if quota.scoped else self._objects_by_scope.get(quota.scope, [])
            for resource, hard in quota.hard.items():
                key = quota_key(resource)
                usage = QuotaUsage(quota, resource, hard)
                usage.contributions.extend(self._pod_contributions(key, templates))
                if key != "pods":
                    usage.contributions.extend(self._object_contributions(key, objects))
                usage.contributions[:] = [c for c in usage.contributions if c.amount]
                out.append(usage)
        return out

    def _pod_contributions(self, key: str, templates: list[PodTemplate]) -> Iterable[Contribution]:
        section, _, name = key.partition(".")
        for template in templates:
            pod = self.pod(template)
            if key == "pods":
                per_pod, path = Fraction(1), template.replicas_path or template.path
            elif section in ("requests", "limits") and name:
                per_pod = getattr(pod, section).get(name, Fraction(0))
                path = pod.path_of(section, name)
            else:
                continue
            replicas = self.peak_replicas(template)
            yield Contribution(template.obj, per_pod * replicas, path, replicas, per_pod, source=self.peak_source(template))

    def _object_contributions(self, key: str, objects: list[KubeObject]) -> Iterable[Contribution]:
        storage_class, _, storage_key = key.partition(".storageclass.storage.k8s.io/")
        if storage_key:
            key = storage_key
        for obj in objects:
            if key in ("persistentvolumeclaims", "requests.storage"):
                yield from self._claims(obj, key, storage_class if storage_key else None)
            elif key == "services" and obj.kind == "Service" and not obj.group:
                yield Contribution(obj, Fraction(1), ("kind",))
            elif key.startswith("services.") and obj.kind == "Service" and not obj.group:
                yield from _service_contributions(obj, key)
            elif key.startswith("count/") or key in _BARE_COUNTS:
                yield from self._counted(obj, key.removeprefix("count/"))

    def _claims(self, obj: KubeObject, key: str, storage_class: str | None) -> Iterable[Contribution]:
        """PVCs of the input and those a StatefulSet creates (per replica), in count or storage."""
        if obj.kind == "PersistentVolumeClaim" and not obj.group:
            claims: list[tuple[dict, JsonPath, int]] = [(as_map(obj.data.get("spec")), ("spec",), 1)]
        elif obj.kind == "StatefulSet":
            templates = self.inventory.templates_of(obj)
            replicas = self.peak_replicas(templates[0]) if templates else 1
            items = as_list(as_map(obj.data.get("spec")).get("volumeClaimTemplates"))
            claims = [(as_map(as_map(c).get("spec")), ("spec", "volumeClaimTemplates", i, "spec"), replicas) for i, c in enumerate(items)]
        else:
            return
        for spec, path, replicas in claims:
            if storage_class is not None and spec.get("storageClassName") != storage_class:
                continue
            if key == "persistentvolumeclaims":
                yield Contribution(obj, Fraction(replicas), path, replicas, Fraction(1), "replicas")
            else:
                size = try_quantity(as_map(as_map(spec.get("resources")).get("requests")).get("storage")) or Fraction(0)
                yield Contribution(obj, size * replicas, (*path, "resources", "requests", "storage"), replicas, size, "replicas")

    def _counted(self, obj: KubeObject, resource: str) -> Iterable[Contribution]:
        """``count/<plural>.<group>``: the object itself, and the objects its controller keeps."""
        if self._resource_name(obj) == resource:
            yield Contribution(obj, Fraction(1), ("kind",))
        spec = as_map(obj.data.get("spec"))
        if obj.kind == "Deployment" and obj.group == "apps" and resource == "replicasets.apps":
            kept = _whole(spec.get("revisionHistoryLimit"), DEPLOYMENT_REVISION_HISTORY) + 1
            yield Contribution(obj, Fraction(kept), ("spec", "revisionHistoryLimit"))
        elif obj.kind == "CronJob" and obj.group == "batch" and resource == "jobs.batch":
            templates = self.inventory.templates_of(obj)
            kept = _whole(spec.get("successfulJobsHistoryLimit"), CRONJOB_HISTORY[0]) + _whole(spec.get("failedJobsHistoryLimit"), CRONJOB_HISTORY[1])
            running = _cron_runs(templates[0]) if templates else 1
            yield Contribution(obj, Fraction(kept + running), ("spec", "concurrencyPolicy"))

    @cached_property
    def _plurals(self) -> dict[tuple[str, str], str]:
        """Resource names of custom kinds, from the CustomResourceDefinitions of the input."""
        found = {}
        for crd in self.inventory.of_kind("CustomResourceDefinition"):
            spec = as_map(crd.data.get("spec"))
            names = as_map(spec.get("names"))
            if isinstance(names.get("kind"), str) and isinstance(names.get("plural"), str):
                found[(str(spec.get("group") or ""), names["kind"])] = names["plural"]
        return found

    def _resource_name(self, obj: KubeObject) -> str:
        """``deployments.apps``, ``services``: how ``count/`` quotas name the object's resource."""
        group = obj.group
        plural = self._plurals.get((group, obj.kind)) or plural_of(obj.kind)
        return f"{plural}.{group}" if group else plural

    # node pools

    @cached_property
    def daemon_reserved(self) -> dict[str, dict[str, Fraction]]:
        """Per pool, what the DaemonSets that run on it take from every node."""
        reserved: dict[str, dict[str, Fraction]] = defaultdict(dict)
        for template in self.templates:
            if template.site.daemon:
                for verdict in self.verdicts(template):
                    if verdict.selected:
                        add_amounts(reserved[verdict.pool.name], schedulable_requests(self.pod(template)))
        return reserved


def plural_of(kind: str) -> str:
    """The resource name Kubernetes gives a kind (``Ingress`` -> ``ingresses``, ``NetworkPolicy`` -> ``networkpolicies``)."""
    lower = kind.lower()
    if lower.endswith("endpoints"):
        return lower
    if lower.endswith(("s", "x", "ch", "sh")):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        return lower[:-1] + "ies"
    return lower + "s"


def _service_contributions(obj: KubeObject, key: str) -> Iterable[Contribution]:
    spec = as_map(obj.data.get("spec"))
    kind = spec.get("type") or "ClusterIP"
    if key == "services.loadbalancers" and kind == "LoadBalancer":
        yield Contribution(obj, Fraction(1), ("spec", "type"))
    elif key == "services.nodeports" and (kind == "NodePort" or (kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is not False)):
        ports = len(as_list(spec.get("ports")))
        if ports:
            yield Contribution(obj, Fraction(ports), ("spec", "ports"), ports, Fraction(1), "ports")


_CACHE: "weakref.WeakKeyDictionary[Inventory, tuple[ClusterPolicy, ClusterFit]]" = weakref.WeakKeyDictionary()


def cluster_fit(inventory: Inventory, policy: ClusterPolicy) -> ClusterFit:
    """The shared analysis of one lint run (rules of one run share the inventory and the policy)."""
    cached = _CACHE.get(inventory)
    if cached is not None and cached[0] is policy:
        return cached[1]
    fit = ClusterFit(inventory, policy)
    _CACHE[inventory] = (policy, fit)
    return fit


def missing_for_quota(pod: PodResources, quotas: list[Quota]) -> list[tuple[ContainerResources, str, Quota]]:
    """(container, ``requests.cpu``..., quota) for every cpu/memory value a matching quota needs and
    the container leaves unset: the API server rejects such pods (quota's container constraints)."""
    missing = []
    for c in pod.containers:
        seen: set[str] = set()
        for quota in quotas:
            if not quota.matches(pod):
                continue
            for resource in quota.hard:
                key = quota_key(resource)
                if key in _QUOTA_VALIDATED and key not in seen:
                    section, name = _QUOTA_VALIDATED[key]
                    if name not in getattr(c, section):
                        seen.add(key)
                        missing.append((c, key, quota))
    return missing
