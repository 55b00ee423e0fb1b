"""Namespace quota rules: will the workloads still be admitted at their peak?

The arithmetic (effective pod resources, peak replicas, which quotas apply, object counts)
lives in :mod:`kgen.policies.fit`, shared with ``kgen capacity``; see its module notes for the
semantics chosen where Kubernetes leaves room.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from kgen.policies.inventory import Inventory, scope_of
from kgen.policies.registry import RuleContext, Violation, rule
from kgen.quantity import format_quantity
from kgen.workloads import PodTemplate

if TYPE_CHECKING:
    from kgen.policies.fit import QuotaUsage

_SHOWN = 3


def _tightest_exceeded(usages: list[QuotaUsage]) -> list[QuotaUsage]:
    """Per namespace, resource and quota scope, the exceeded quota with the lowest limit.

    Every quota is enforced on its own; when a ResourceQuota and the policy both cap a
    resource, the tighter one is the one to fix first, and one finding says enough.
    """
    from kgen.policies.fit import quota_key

    groups: dict[tuple, QuotaUsage] = {}
    for usage in usages:
        if not usage.exceeded:
            continue
        quota = usage.quota
        key = (quota.scope, quota_key(usage.resource), quota.scopes, repr(quota.selector))
        best = groups.get(key)
        if best is None or usage.hard < best.hard:
            groups[key] = usage
    return list(groups.values())


def _ref(obj: object) -> str:
    return f"{obj.kind}/{obj.name}"  # type: ignore[attr-defined]


@rule(
    id="quota-exceeded",
    category="quota",
    severity="error",
    scope="inventory",
    summary="The workloads of a namespace need more than its quota at their peak (requests or limits x maximum replicas, pods, object counts).",
    why="""ResourceQuota is enforced when a pod or object is created: the deploy may pass at its initial
    size and then fail when the HPA or KEDA scales out, a Job fans out or a CronJob overlaps, exactly when
    the capacity is needed. The API server rejects the pods that go over; nothing queues.""",
    fix="""Lower the requests, the autoscaler's maxReplicas / maxReplicaCount or the parallelism of the
    largest contributors named in the message, or raise the quota (ResourceQuota `spec.hard`, or
    `namespaces.<ns>.quota` in the cluster policy) to cover the peak.""",
)
def quota_exceeded(inventory: Inventory, ctx: RuleContext) -> Iterator[Violation]:
    from kgen.policies.fit import cluster_fit  # the arithmetic loads only for inputs that have quotas

    fit = cluster_fit(inventory, ctx.policy)
    for usage in _tightest_exceeded(fit.usages):
        resource = usage.resource
        largest = usage.largest
        shown = ", ".join(f"{_ref(c.obj)} {c.detail(resource, source=False)}" for c in largest[:_SHOWN])
        more = f" and {len(largest) - _SHOWN} more" if len(largest) > _SHOWN else ""
        head = (
            f"{resource} in namespace {usage.quota.namespace} reaches {format_quantity(usage.used, resource)} at peak, "
            f"over the {format_quantity(usage.hard, resource)} of {usage.quota.label}"
        )
        for contribution in largest:
            yield Violation(
                contribution.path,
                f"{head}; {_ref(contribution.obj)} adds {contribution.detail(resource)} (largest: {shown}{more})",
                obj=contribution.obj,
            )


@rule(
    id="quota-requests-required",
    category="quota",
    severity="error",
    scope="workload",
    whole_input=True,
    summary="A ResourceQuota constrains cpu or memory requests/limits but a container leaves that value unset (after LimitRange defaults).",
    why="""When a quota in the namespace tracks requests.cpu, limits.memory and so on, the API server rejects
    every pod with a container that does not set the value (LimitRange defaults count as set). The
    Deployment is accepted, but its ReplicaSet never gets a pod: the failure only shows in events.""",
    fix="""Set the named request or limit on every container, init containers included, or add a
    LimitRange with `default` / `defaultRequest` for the namespace.""",
)
def quota_requests_required(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    from kgen.policies.fit import cluster_fit, missing_for_quota

    fit = cluster_fit(ctx.inventory, ctx.policy)
    quotas = fit.quotas_by_scope.get(scope_of(template.obj))
    if not quotas or not template.site.runs_pods:
        return
    for c, key, quota in missing_for_quota(fit.pod(template), quotas):
        section, _, name = key.partition(".")
        kind = "request" if section == "requests" else "limit"
        yield Violation(
            c.path_of(section, name),
            f"container {c.container.name!r} sets no {name} {kind}, but {quota.label} constrains {key}: "
            f"the API server rejects the pod; set resources.{section}.{name} (or a LimitRange default)",
        )

