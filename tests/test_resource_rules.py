"""Resource rules: effective values after API defaulting, LimitRanges by namespace, exact quantities."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgen.findings import Finding
from kgen.policies.catalog import explain as _explain
from tests.conftest import lint_yaml


def _deployment(resources: str, namespace: str = "shop", extra: str = "") -> str:
    """A Deployment whose single container has the given ``resources:`` block (already indented)."""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: {namespace}
spec:
  template:
    spec:
{extra}      containers:
        - name: api
          image: ghcr.io/acme/api:1.0.0
{resources}
"""


def _hits(text: str, rule: str, policy: str | Path | None = None) -> list[Finding]:
    return [f for f in lint_yaml(text, policy).findings if f.rule == rule]


def _policy(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(f"apiVersion: kgen.dev/v1alpha1\nkind: ClusterPolicy\nmetadata: {{name: t}}\nspec:\n{body}")
    return path


LIMITS_ONLY = """\
          resources:
            limits: {cpu: 200m, memory: 1Gi}"""


def test_limits_only_container_is_not_missing_its_requests() -> None:
    """The API server copies a limit into the unset request: the rule agrees with `kgen explain`."""
    assert not _hits(_deployment(LIMITS_ONLY), "resources-requests-missing")
    assert not _hits(_deployment(LIMITS_ONLY), "resources-memory-limit-missing")
    assert "limits only, which become the requests" in " ".join(_explain("resources-requests-missing").split())


def test_a_resource_without_request_or_limit_is_still_missing() -> None:
    text = _deployment("          resources:\n            limits: {cpu: 200m}")
    [hit] = _hits(text, "resources-requests-missing")
    assert "has no memory request; set resources.requests.memory" in hit.message
    assert hit.path == "spec.template.spec.containers[0].resources.requests"


@pytest.mark.parametrize(
    "resources",
    [
        "          resources:",
        "          resources: []",
        "          resources: {requests: ~, limits: ~}",
        "          resources: {requests: [cpu], limits: oops}",
        "          resources: {requests: {cpu: ~, memory: ~}}",
    ],
)
def test_null_and_wrong_types_are_missing_values_not_crashes(resources: str) -> None:
    report = lint_yaml(_deployment(resources))
    found = {f.rule for f in report.findings}
    assert {"resources-requests-missing", "resources-memory-limit-missing", "resources-cpu-limit-missing"} <= found
    assert "resources-limit-below-request" not in found


def test_wrong_container_shapes_do_not_crash() -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [~, 3, [a]]\n  initContainers: ~\n"
    assert not [f for f in lint_yaml(text).findings if f.category == "resources"]


def test_init_containers_count_and_ephemeral_containers_are_skipped() -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - {name: init, image: busybox:1.36}
  containers:
    - name: app
      image: busybox:1.36
      resources:
        requests: {cpu: 100m, memory: 64Mi}
        limits: {cpu: 100m, memory: 64Mi}
  ephemeralContainers:
    - {name: debug, image: busybox:1.36}
"""
    hits = _hits(text, "resources-requests-missing")
    assert [h.path for h in hits] == ["spec.initContainers[0].resources.requests"]


def test_pod_level_resources_cover_the_containers() -> None:
    extra = "      resources:\n        requests: {cpu: '1', memory: 1Gi}\n        limits: {cpu: '2', memory: 2Gi}\n"
    text = _deployment("          ports: []", extra=extra)
    for rule in ("resources-requests-missing", "resources-memory-limit-missing", "resources-cpu-limit-missing"):
        assert not _hits(text, rule), rule


LIMIT_RANGE = """\
apiVersion: v1
kind: LimitRange
metadata:
  name: lr
  namespace: {namespace}
spec:
  limits:
    - type: Pod
      max: {{cpu: "1"}}
    - type: Container
      {items}
---
"""


def test_limit_range_defaults_apply_in_its_namespace_only() -> None:
    limit_range = LIMIT_RANGE.format(namespace="shop", items="default: {cpu: 500m, memory: 512Mi}")
    bare = "          ports: []"
    assert not _hits(limit_range + _deployment(bare), "resources-requests-missing")
    assert not _hits(limit_range + _deployment(bare), "resources-memory-limit-missing")
    assert _hits(limit_range + _deployment(bare, namespace="other"), "resources-requests-missing")
    assert _hits(limit_range + _deployment(bare, namespace="other"), "resources-memory-limit-missing")


def test_limit_range_without_namespace_is_the_default_namespace() -> None:
    limit_range = LIMIT_RANGE.format(namespace="default", items="min: {cpu: 50m, memory: 64Mi}").replace("  namespace: default\n", "")
    text = limit_range + _deployment("          ports: []", namespace="default")
    assert not _hits(text, "resources-requests-missing")  # min becomes the default request
    assert _hits(text, "resources-memory-limit-missing")  # but not a default limit


@pytest.mark.parametrize(
    "request_, limit, below",
    [
        ("1Gi", "1024Mi", False),
        ("0.1", "100m", False),
        ("1.001", "1000m", True),
        ("64Mi", "62500Ki", True),
        ("1e3", "1k", False),
        ("2", "1", True),
        ("1", "not-a-quantity", False),
    ],
)
def test_limit_below_request_compares_exact_quantities(request_: str, limit: str, below: bool) -> None:
    text = _deployment(f"          resources:\n            requests: {{cpu: '{request_}'}}\n            limits: {{cpu: '{limit}'}}")
    hits = _hits(text, "resources-limit-below-request")
    assert bool(hits) is below
    if below:
        assert hits[0].path.endswith("resources.limits.cpu") and hits[0].severity == "error"


def test_limit_below_request_for_extended_resources() -> None:
    text = _deployment("          resources:\n            requests: {nvidia.com/gpu: 2}\n            limits: {nvidia.com/gpu: 1}")
    [hit] = _hits(text, "resources-limit-below-request")
    assert "nvidia.com/gpu to 1, below its request of 2" in hit.message


def test_over_max_reports_the_tightest_maximum_once(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "  resources:\n    maxPerContainer: {cpu: '4', memory: 8Gi}\n")
    limit_range = LIMIT_RANGE.format(namespace="shop", items="max: {cpu: '2'}")
    container = "          resources:\n            requests: {cpu: '3', memory: 4Gi}\n            limits: {cpu: '5', memory: 16Gi}"
    hits = _hits(limit_range + _deployment(container), "resources-over-max", policy)
    messages = sorted((h.path.rsplit("resources.", 1)[1], h.message) for h in hits)
    assert [path for path, _ in messages] == ["limits.cpu", "limits.memory", "requests.cpu"]
    assert "maximum of 2 set by LimitRange 'lr'" in messages[0][1]
    assert "maximum of 8Gi set by the cluster policy" in messages[1][1]


def test_over_max_ignores_limit_ranges_of_other_namespaces_and_type_pod() -> None:
    limit_range = LIMIT_RANGE.format(namespace="other", items="max: {cpu: 100m}")
    container = "          resources:\n            requests: {cpu: '3'}"
    assert not _hits(limit_range + _deployment(container), "resources-over-max")


def test_cpu_limit_missing_is_info_by_default() -> None:
    text = _deployment("          resources:\n            requests: {cpu: 100m, memory: 64Mi}\n            limits: {memory: 64Mi}")
    assert [h.severity for h in _hits(text, "resources-cpu-limit-missing")] == ["info"]
