"""Cross-object rules: references between objects of the input that cannot work as written.

Objects only refer to each other within one namespace of one rendered environment
(kgen.policies.inventory.scope_of). "Missing target" rules stay silent when the input holds no
workload at all: a file of Services or autoscalers linted on its own (a pre-commit run on one
changed file) says nothing about where the workloads are defined.
"""

from __future__ import annotations

import math
import re
from functools import partial
from typing import Iterator

from kgen.loader import KubeObject
from kgen.policies.inventory import Inventory, PodFacts, ScaleRef, Scope, scale_target, scope_of
from kgen.policies.registry import RuleContext, Violation, rule
from kgen.policies.selectors import service_selector
from kgen.workloads import as_map

_PERCENT = re.compile(r"\s*([0-9]+)\s*%\s*")


def _show(selector: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in selector.items())


def _describe(pods: PodFacts) -> str:
    return f"{pods.kind} {pods.obj_name!r}"


@rule(
    id="hpa-target-missing",
    category="reliability",
    severity="warning",
    scope="object",
    kinds=["HorizontalPodAutoscaler", "ScaledObject"],
    summary="A HorizontalPodAutoscaler or KEDA ScaledObject targets a workload that is not in the input.",
    why="""An autoscaler whose scaleTargetRef names no existing workload scales nothing: the workload you
    meant runs at its fixed replica count and the autoscaler only logs errors. The usual causes are a
    renamed Deployment, a wrong kind, or a different namespace. The rule looks for the target among the
    linted objects of the same namespace (KEDA's kind defaults to Deployment); it stays silent when the
    input holds no workload at all.""",
    fix="""Make `spec.scaleTargetRef` name the workload's kind and name exactly, in the autoscaler's
    namespace, and lint the autoscaler together with the manifests of its workload.""",
    silent_when="""the input holds no workload at all (a file of autoscalers linted on its own). A workload whose pod template has labels but no pod spec counts as a workload.""",
)
def hpa_target_missing(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    ref = scale_target(obj)
    if ref is not None:
        yield Violation(("spec", "scaleTargetRef"), "", settle=partial(_target_missing, ref))


def _target_missing(ref: ScaleRef, inventory: Inventory) -> Violation | None:
    if not inventory.workload_count or inventory.holds(ref.scope, ref.kind, ref.name):
        return None
    message = f"{ref.scaler_kind} scales {ref.kind} {ref.name!r}, which is not in namespace {ref.scope[1]!r} of the input"
    other = inventory.last_scope(ref.kind, ref.name)
    if other is not None:
        message += f" (one is in namespace {other[1]!r}; an autoscaler only scales its own namespace)"
    return Violation(("spec", "scaleTargetRef"), message + "; fix scaleTargetRef")


@rule(
    id="service-selector-no-match",
    category="reliability",
    severity="warning",
    scope="object",
    kinds=["Service"],
    summary="A Service's selector matches no pod template in the input.",
    why="""A Service routes to the pods its selector matches in its own namespace. When no pod has those
    labels the Service has no endpoints and every request to it fails, usually because of a typo or a
    label changed on one side only. Labels that controllers add (`job-name`, `pod-template-hash`,
    `statefulset.kubernetes.io/pod-name`...) count, and a selector value naming a custom resource of the
    namespace is taken to select the pods its operator creates. Services without a selector (endpoints
    managed by hand) and ExternalName Services are not checked. Only the linted input is searched, so
    lint a Service together with its workloads; the rule stays silent when the input holds no workload
    at all.""",
    fix="""Make `spec.selector` a subset of the pod template labels of the workload (metadata.labels of
    the Pod, spec.template.metadata.labels of a controller), in the Service's namespace.""",
    silent_when="""the Service has no selector or is ExternalName, a selector value names a custom resource of the namespace (its operator creates the pods), or the input holds no workload at all. A workload whose pod template has labels but no pod spec counts.""",
)
def service_selector_no_match(service: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    wanted = service_selector(service.data)
    if wanted is not None:
        yield Violation(("spec", "selector"), "", settle=partial(_selects_nothing, scope_of(service), wanted))


def _selects_nothing(scope: Scope, wanted: dict[str, str], inventory: Inventory) -> Violation | None:
    scopes = inventory.pod_scopes()
    if not scopes or inventory.first_pod_matching(scope, wanted) is not None:
        return None
    if inventory.custom_resource_names(scope) & set(wanted.values()):
        return None  # selects the pods an operator creates for a custom resource of the input
    message = f"Service selects {_show(wanted)} but no pod template in namespace {scope[1]!r} of the input has these labels"
    elsewhere = next((pods for other in scopes if other != scope for pods in [inventory.first_pod_matching(other, wanted)] if pods is not None), None)
    if elsewhere is not None:
        message += f" ({_describe(elsewhere)} in namespace {elsewhere.scope[1]!r} does, but a Service only selects pods of its own namespace)"
    return Violation(("spec", "selector"), message + "; fix the selector or the pod labels")


def _int_or_percent(value: object) -> tuple[int, bool] | None:
    """(amount, is_percent) of an IntOrString budget field; None when missing or malformed."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value, False
    match = _PERCENT.fullmatch(value) if isinstance(value, str) else None
    return (int(match.group(1)), True) if match else None


def _blocked_by_size(scope: Scope, selector: dict, min_available: tuple[int, bool], inventory: Inventory) -> Violation | None:
    """Why ``minAvailable`` can never be exceeded by the selected pods, or None when it can (or is unknown)."""
    selected = inventory.pods_selected(scope, selector)
    sizes = [inventory.max_pods(pods) for pods in selected]
    if not selected or None in sizes:
        return None  # nothing selected in the input, or a DaemonSet whose size depends on the nodes
    most = sum(s for s in sizes if s is not None)
    amount, percent = min_available
    needed = math.ceil(amount * most / 100) if percent else amount
    if most == 0 or needed < most:
        return None
    shown = f"{amount}%" if percent else str(amount)
    workloads = ", ".join(_describe(pods) for pods in selected)
    return Violation(
        ("spec", "minAvailable"),
        f"minAvailable {shown} needs {needed} pods available, but the pods it selects ({workloads}) number at most {most}"
        " (replicas, or an autoscaler's maximum), so no pod can ever be evicted; lower minAvailable below"
        f" {most}, use maxUnavailable: 1, or run more replicas",
    )


@rule(
    id="pdb-blocks-eviction",
    category="reliability",
    severity="warning",
    scope="object",
    kinds=["PodDisruptionBudget"],
    summary="A PodDisruptionBudget can never allow a voluntary eviction.",
    why="""A PDB that allows zero disruptions (`maxUnavailable: 0`, `minAvailable: 100%`, or a
    minAvailable at or above the most replicas the selected workloads can ever have) makes every node
    drain hang: cluster upgrades, autoscaler scale-downs and node maintenance stall until someone deletes
    the PDB by hand. The most replicas is the HPA's or ScaledObject's maximum when one targets the
    workload, else `replicas` (default 1). A PDB that selects no workload of the input is only checked
    for the always-blocking values.""",
    fix="""Use `maxUnavailable: 1` (or a percentage), or a minAvailable below the workload's replica count
    (raise `replicas` / `minReplicas` to at least 2 for a highly available service).""",
)
def pdb_blocks_eviction(pdb: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    spec = as_map(pdb.data.get("spec"))
    max_unavailable = _int_or_percent(spec.get("maxUnavailable"))
    min_available = _int_or_percent(spec.get("minAvailable"))
    if max_unavailable is not None and max_unavailable[0] == 0:
        yield Violation(
            ("spec", "maxUnavailable"),
            "maxUnavailable 0 never allows a pod to be evicted, so node drains hang; use maxUnavailable: 1",
        )
    if min_available is None:
        return
    amount, percent = min_available
    if percent and amount >= 100:
        yield Violation(
            ("spec", "minAvailable"),
            f"minAvailable {amount}% never allows a pod to be evicted, so node drains hang; use maxUnavailable: 1 or a lower percentage",
        )
        return
    # policy/v1: an empty selector selects every pod of the namespace, a missing one none;
    # policy/v1beta1: an empty selector selects none.
    selector = spec.get("selector")
    if isinstance(selector, dict) and (selector or pdb.api_version == "policy/v1"):
        yield Violation(("spec", "minAvailable"), "", settle=partial(_blocked_by_size, scope_of(pdb), selector, min_available))
