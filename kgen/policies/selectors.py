"""Which pods a label selector picks: the labels pods of a template will carry, and selector matching.

Shared by the cross-object rules (Services, PDBs) and by rules that ask whether a pod receives
traffic (probe-readiness-missing), through :class:`kgen.policies.inventory.Inventory`.
"""

from __future__ import annotations

from typing import Mapping

from kgen.workloads import PodTemplate, as_list, as_map


def label_value(value: object) -> str:
    """A label value as the API server reads it (YAML may have turned ``true`` or ``1`` into non-strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def labels_of(mapping: dict) -> dict[str, str]:
    return {str(key): label_value(value) for key, value in mapping.items()}


# Labels controllers put on the pods they create, beyond the template's own; None: a value not known
# in advance (hashes, uids, generated Job names, StatefulSet pod names).
_ANY_UID = {"controller-uid": None, "batch.kubernetes.io/controller-uid": None, "batch.kubernetes.io/job-completion-index": None}
_CONTROLLER_LABELS: dict[str, dict[str, str | None]] = {
    "Deployment": {"pod-template-hash": None},
    "ReplicaSet": {"pod-template-hash": None},
    "StatefulSet": {"statefulset.kubernetes.io/pod-name": None, "apps.kubernetes.io/pod-index": None, "controller-revision-hash": None},
    "DaemonSet": {"controller-revision-hash": None, "pod-template-generation": None},
    "CronJob": {"job-name": None, "batch.kubernetes.io/job-name": None, **_ANY_UID},
}


def pod_labels(template: PodTemplate) -> dict[str, str | None]:
    """The labels pods of ``template`` will carry, controller-added ones included (None: any value)."""
    labels: dict[str, str | None] = {**labels_of(template.labels), **_CONTROLLER_LABELS.get(template.kind, {})}
    if template.kind == "Job":
        labels.update({"job-name": template.obj.name, "batch.kubernetes.io/job-name": template.obj.name, **_ANY_UID})
    return labels


def selector_matches(selector: dict, labels: Mapping[str, str | None]) -> bool:
    """Whether a LabelSelector (matchLabels + matchExpressions) selects pods with ``labels``.

    A label whose value is unknown (None) matches any value. An unknown operator or a malformed
    expression selects nothing, as the API server would reject it.
    """
    for key, value in labels_of(as_map(selector.get("matchLabels"))).items():
        if key not in labels or labels[key] not in (None, value):
            return False
    for expression in as_list(selector.get("matchExpressions")):
        expression = as_map(expression)
        key, operator = label_value(expression.get("key")), expression.get("operator")
        values = {label_value(v) for v in as_list(expression.get("values"))}
        if operator == "In":
            ok = key in labels and (labels[key] is None or labels[key] in values)
        elif operator == "NotIn":
            ok = key not in labels or labels[key] is None or labels[key] not in values
        elif operator == "Exists":
            ok = key in labels
        elif operator == "DoesNotExist":
            ok = key not in labels
        else:
            return False
        if not ok:
            return False
    return True


def service_selector(service: dict) -> dict[str, str] | None:
    """The pod labels a Service routes to; None when it selects no pods (ExternalName, no selector)."""
    spec = as_map(service.get("spec"))
    selector = as_map(spec.get("selector"))
    if spec.get("type") == "ExternalName" or not selector:
        return None
    return labels_of(selector)
