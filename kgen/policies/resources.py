"""Container requests and limits: what the scheduler reserves and what the kernel enforces.

Values are judged as the API server will see them after defaulting: a limit without a request
becomes the request, and a LimitRange of the same namespace in the input fills what is unset.
Ephemeral containers cannot have resources and are skipped; init containers are scheduled and
count. Malformed quantities are left to schema validation.
"""

from __future__ import annotations

from fractions import Fraction
from functools import partial
from typing import Iterator

from kgen.policies.inventory import Inventory, Scope, scope_of
from kgen.loader import JsonPath
from kgen.policies.fixing import copy_request_to_limit
from kgen.policies.registry import RuleContext, Violation, fixer, rule
from kgen.quantity import format_quantity, try_quantity
from kgen.workloads import Container, PodTemplate, as_map, get_path

COMPUTE = ("cpu", "memory")


def _sized(template: PodTemplate) -> list[Container]:
    """The containers whose resources the scheduler and kubelet honour (all but ephemeral ones)."""
    return [c for c in template.containers if c.field_name != "ephemeralContainers"]


def _has_default(scope: Scope, field: str, resource: str, inventory: Inventory) -> bool:
    """Whether a LimitRange of ``scope`` in the input defaults ``resource`` (``default`` or ``default_request``)."""
    return any(getattr(item, field).get(resource) is not None for item in inventory.limit_ranges(scope))


def _pod_level(template: PodTemplate, field: str, resource: str) -> bool:
    """Pod-level resources (``spec.resources``, Kubernetes 1.32+) cover containers that set none."""
    return as_map(as_map(template.spec.get("resources")).get(field)).get(resource) is not None


def _writes_request(c: Container, template: PodTemplate, resource: str) -> bool:
    """Written in the container (a limit alone counts: the API server copies it into the unset
    request) or at pod level; a LimitRange default of the namespace counts too (see _requests_verdict)."""
    if c.requests.get(resource) is not None or c.limits.get(resource) is not None:
        return True
    return _pod_level(template, "requests", resource) or _pod_level(template, "limits", resource)


def _writes_limit(c: Container, template: PodTemplate, resource: str) -> bool:
    return c.limits.get(resource) is not None or _pod_level(template, "limits", resource)


@rule(
    id="resources-requests-missing",
    category="resources",
    severity="warning",
    scope="workload",
    summary="A container has no cpu or no memory request.",
    why="""The scheduler places pods by their requests: without them a pod is BestEffort, lands on
    overcommitted nodes and is the first evicted under memory pressure, and autoscalers have no baseline
    for utilisation. A container that sets only a limit is not missing its request: the API server
    copies the limit into the unset request (Guaranteed QoS when cpu and memory both are). Pod-level
    `spec.resources` and a LimitRange default in the same namespace of the input count too.""",
    fix="""Set `resources.requests.cpu` and `resources.requests.memory` to what the container uses under
    normal load (or set limits only, which become the requests).""",
    silent_when="""the container sets a limit for the resource (it becomes the request), or pod-level
    resources or a LimitRange default of the namespace in the input supply it.""",
)
def requests_missing(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    scope = scope_of(template.obj)
    for c in _sized(template):
        unwritten = [r for r in COMPUTE if not _writes_request(c, template, r)]
        if unwritten:
            path = c.at("resources", "requests")
            yield Violation(path, "", settle=partial(_requests_verdict, path, c.name, unwritten, scope))


def _requests_verdict(path: JsonPath, container: str, unwritten: list[str], scope: Scope, inventory: Inventory) -> Violation | None:
    """The requests the container leaves unset that no LimitRange of the input defaults either."""
    missing = [r for r in unwritten if not _has_default(scope, "default_request", r, inventory)]
    if not missing:
        return None
    fields = " and ".join(f"resources.requests.{r}" for r in missing)
    return Violation(path, f"container {container!r} has no {' or '.join(missing)} request; set {fields}")


def _limit_missing(resource: str, template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    scope = scope_of(template.obj)
    for c in _sized(template):
        if not _writes_limit(c, template, resource):
            path = c.at("resources", "limits")
            message = f"container {c.name!r} has no {resource} limit; set resources.limits.{resource}"
            yield Violation(path, message, settle=partial(_unless_defaulted, Violation(path, message), scope, resource))


def _unless_defaulted(violation: Violation, scope: Scope, resource: str, inventory: Inventory) -> Violation | None:
    """The missing limit, unless a LimitRange of the input defaults it."""
    return None if _has_default(scope, "default", resource, inventory) else violation


@rule(
    id="resources-memory-limit-missing",
    category="resources",
    severity="warning",
    scope="workload",
    summary="A container has no memory limit.",
    why="""Without a memory limit a leaking container grows until the node runs out of memory, and the
    kernel's OOM killer then picks victims among its neighbours too. Memory cannot be throttled, so the
    limit is the only bound.""",
    fix="""Set `resources.limits.memory`, usually equal to the memory request so the pod's usage is
    predictable (or add a LimitRange default for the namespace).""",
)
def memory_limit_missing(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    yield from _limit_missing("memory", template, ctx)


@fixer("resources-memory-limit-missing")
def fix_memory_limit_missing(data: dict, path: JsonPath, ctx: RuleContext) -> bool:
    """limits.memory = requests.memory; without a request in the container there is no value to choose."""
    container = get_path(data, path[:-2]) if path[-2:] == ("resources", "limits") else None
    return isinstance(container, dict) and copy_request_to_limit(container, "memory")


@rule(
    id="resources-cpu-limit-missing",
    category="resources",
    severity="info",
    scope="workload",
    summary="A container has no cpu limit.",
    why="""Without a cpu limit a busy container can use every idle core of its node. That is often what
    you want (cpu is throttled, not killed, and limits cause latency through CFS throttling), which is
    why this is advice only; multi-tenant clusters and Guaranteed QoS need it.""",
    fix="""Set `resources.limits.cpu` (equal to the request for Guaranteed QoS), or disable this rule in
    the cluster policy if you deliberately run without cpu limits.""",
)
def cpu_limit_missing(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    yield from _limit_missing("cpu", template, ctx)


@rule(
    id="resources-limit-below-request",
    category="resources",
    severity="error",
    scope="workload",
    summary="A container's limit is lower than its request for the same resource.",
    why="""A request is what the container is guaranteed and a limit what it may never exceed; a limit
    below the request is a contradiction the API server rejects ("must be less than or equal to ...
    limit"), so the workload never starts.""",
    fix="Raise the limit to at least the request, or lower the request.",
)
def limit_below_request(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    for c in _sized(template):
        for key, raw_limit in c.limits.items():
            resource = str(key)
            limit, request = try_quantity(raw_limit), try_quantity(c.requests.get(key))
            if limit is not None and request is not None and limit < request:
                yield Violation(
                    c.at("resources", "limits", resource),
                    f"container {c.name!r} limits {resource} to {format_quantity(limit, resource)}, below its request "
                    f"of {format_quantity(request, resource)}; raise the limit or lower the request",
                )


def _maxima(template: PodTemplate, ctx: RuleContext) -> dict[str, tuple[Fraction, str]]:
    """Per resource, the tightest maximum from the policy and the namespace's LimitRanges, and its source."""
    candidates = [
        (str(resource), raw, "the cluster policy's resources.maxPerContainer")
        for resource, raw in as_map(ctx.policy.section("resources").get("maxPerContainer")).items()
    ]
    for item in ctx.inventory.container_limits(template.obj):
        candidates.extend((str(resource), raw, f"LimitRange {item.name!r}") for resource, raw in item.max.items())
    tightest: dict[str, tuple[Fraction, str]] = {}
    for resource, raw, source in candidates:
        amount = try_quantity(raw)
        if amount is not None and (resource not in tightest or amount < tightest[resource][0]):
            tightest[resource] = (amount, source)
    return tightest


@rule(
    id="resources-over-max",
    category="resources",
    severity="error",
    scope="workload",
    summary="A container requests or limits more than the per-container maximum of the policy or a LimitRange.",
    why="""A LimitRange `max` in the namespace makes the API server reject any pod whose container
    request or limit exceeds it; the cluster policy's `resources.maxPerContainer` states the same bound
    for clusters that enforce it elsewhere (admission policy, node size). Either way the pod would not
    run as written.""",
    fix="""Lower the container's request and limit to the maximum, split the work over more replicas, or
    raise the maximum (policy `resources.maxPerContainer`, LimitRange `max`) if the cluster allows it.""",
)
def over_max(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    maxima = _maxima(template, ctx)
    if not maxima:
        return
    for c in _sized(template):
        for field, values in (("requests", c.requests), ("limits", c.limits)):
            for resource, (maximum, source) in maxima.items():
                amount = try_quantity(values.get(resource))
                if amount is not None and amount > maximum:
                    yield Violation(
                        c.at("resources", field, resource),
                        f"container {c.name!r} {field}.{resource} is {format_quantity(amount, resource)}, above the "
                        f"per-container maximum of {format_quantity(maximum, resource)} set by {source}; lower it",
                    )
