"""Scheduling rules: can any node pool of the cluster policy ever run this pod?

Pool matching (labels, implied labels, taints, tolerations, node affinity) and the pod's
effective request live in :mod:`kgen.policies.fit`; see its module notes for the semantics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from kgen.loader import JsonPath
from kgen.policies.registry import RuleContext, Violation, rule
from kgen.workloads import PodTemplate

if TYPE_CHECKING:
    from kgen.policies.fit import PoolVerdict

def _explain(verdicts: list[PoolVerdict]) -> str:
    return "; ".join(f"{v.pool.name}: {', '.join(r.text for r in v.reasons)}" for v in verdicts)


def _where(verdicts: list[PoolVerdict], fallback: JsonPath) -> JsonPath:
    """The field to fix for the closest pool: the one with the fewest reasons (first in policy order)."""
    blocked = [v for v in verdicts if v.reasons]
    if not blocked:
        return fallback
    closest = min(blocked, key=lambda v: len(v.reasons))
    return closest.reasons[0].path


def _what(template: PodTemplate) -> str:
    role = f" ({template.role})" if template.role else ""
    return f"{template.kind}/{template.obj.name}{role}"


@rule(
    id="scheduling-no-fitting-pool",
    category="scheduling",
    severity="error",
    scope="workload",
    whole_input=True,
    summary="No node pool of the cluster policy can run one pod: resources, node selector/affinity or taints rule every pool out.",
    why="""The API server accepts a pod that no node can ever take; the scheduler then leaves it Pending
    forever (or until someone adds a node pool). GPU pods are the usual case: more GPUs per pod than a node
    has, a product selector no pool carries, or a GPU taint the pod does not tolerate.""",
    fix="""Read the reason given per pool: lower the request below a node's allocatable (the largest init
    container counts too), fix the nodeSelector / required node affinity to labels a pool has, or add the
    toleration for the pool's taint. If the cluster really has such nodes, add the pool to `nodePools`.""",
)
def no_fitting_pool(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    from kgen.policies.fit import cluster_fit, describe, schedulable_requests  # loads only for policies with node pools

    fit = cluster_fit(ctx.inventory, ctx.policy)
    if not fit.pools or not template.site.runs_pods or template.spec.get("nodeName"):
        return
    verdicts = fit.verdicts(template)
    asked = describe({n: a for n, a in schedulable_requests(fit.pod(template)).items() if n != "pods"}) or "no requests"
    if template.site.daemon:
        selected = [v for v in verdicts if v.selected]
        if not selected:
            yield Violation(_where(verdicts, template.path), f"{_what(template)} runs on no node pool: {_explain(verdicts)}")
            return
        misfits = [v for v in selected if v.reasons]
        if misfits:
            yield Violation(
                _where(misfits, template.path),
                f"a pod of {_what(template)} ({asked}) does not fit on every pool it runs on: {_explain(misfits)}",
            )
        return
    if any(not v.reasons for v in verdicts):
        return
    yield Violation(_where(verdicts, template.path), f"no node pool can run a pod of {_what(template)} ({asked}): {_explain(verdicts)}")
