"""GPU rules: what counts as a GPU, tolerations, init containers, odd input and exact locations."""

from __future__ import annotations

import textwrap

import pytest

from kgen.findings import Finding
from kgen.loader import load_text
from kgen.policies.engine import lint
from kgen.gpus import is_gpu, tolerates
from kgen.policies.policy import ClusterPolicy

DEFAULT_PATTERNS = ["nvidia.com/gpu", "nvidia.com/gpu.shared", "nvidia.com/mig-*", "amd.com/gpu"]


def findings(text: str, rule_id: str, **gpu: object) -> list[Finding]:
    """Findings of one rule on ``text`` under the default policy with ``gpu`` overrides."""
    policy = ClusterPolicy.default()
    policy.spec["gpu"].update(gpu)
    for key in [k for k, v in gpu.items() if v is None]:
        del policy.spec["gpu"][key]
    report = lint(load_text(textwrap.dedent(text), "test.yaml"), policy)
    return [f for f in report.findings if f.rule == rule_id]


def pod(resources: str = "limits: {nvidia.com/gpu: 1}", spec: str = "", init: str = "") -> str:
    """A Pod with one container holding ``resources``; ``spec`` and ``init`` add pod-level YAML."""
    return (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        + textwrap.indent(textwrap.dedent(spec), "  ")
        + textwrap.indent(textwrap.dedent(init), "  ")
        + "  containers:\n    - name: app\n      image: vllm/vllm-openai:v0.6.3\n      resources:\n"
        + textwrap.indent(textwrap.dedent(resources), "        ")
    )


GPU_TOLERATION = "tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]\n"


# --- what is a GPU ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["nvidia.com/gpu", "nvidia.com/gpu.shared", "nvidia.com/mig-1g.10gb", "nvidia.com/mig-3g.40gb", "nvidia.com/mig-7g.80gb", "nvidia.com/mig-1c.3g.20gb", "amd.com/gpu"],
)
def test_gpu_resource_names(name: str) -> None:
    assert is_gpu(name, None) and is_gpu(name, DEFAULT_PATTERNS)


@pytest.mark.parametrize("name", ["nvidia.com/gpu.product", "nvidia.com/gpus", "nvidia.com/rdma_shared_device_a", "google.com/tpu", "cpu", "amd.com/gpu-foo"])
def test_not_gpu_resource_names(name: str) -> None:
    assert not is_gpu(name, ["nvidia.com/gpu", "amd.com/gpu"])


def test_policy_patterns_add_gpu_resources() -> None:
    assert is_gpu("gpu.intel.com/i915", ["gpu.intel.com/*"])
    assert not is_gpu("gpu.intel.com/i915", DEFAULT_PATTERNS)


# --- gpu-limit-missing / gpu-quantity-invalid --------------------------------------------------


def test_limit_only_is_fine_and_request_only_is_not() -> None:
    assert not findings(pod("limits: {nvidia.com/gpu: 2}"), "gpu-limit-missing")
    hits = findings(pod("requests: {amd.com/gpu: 1}"), "gpu-limit-missing")
    assert [h.path for h in hits] == ["spec.containers[0].resources.requests['amd.com/gpu']"]


def test_equal_quantities_in_different_spellings_match() -> None:
    assert not findings(pod('requests: {nvidia.com/gpu: "2"}\nlimits: {nvidia.com/gpu: 2}'), "gpu-limit-missing")
    assert findings(pod("requests: {nvidia.com/mig-1g.10gb: 1}\nlimits: {nvidia.com/mig-1g.10gb: 2}"), "gpu-limit-missing")


def test_any_nvidia_extended_resource_needs_a_limit() -> None:
    assert findings(pod("requests: {nvidia.com/rdma_shared_device_a: 1}"), "gpu-limit-missing")
    assert not findings(pod("requests: {example.com/foo: 1}"), "gpu-limit-missing")


@pytest.mark.parametrize("value,ok", [("1", True), (8, True), ("0.5", False), ("500m", False), (0, False), (-1, False), ("lots", False), ("1Ki", True)])
def test_gpu_quantities(value: object, ok: bool) -> None:
    hits = findings(pod(f"limits: {{nvidia.com/gpu: {value!r}}}" if isinstance(value, str) else f"limits: {{nvidia.com/gpu: {value}}}"), "gpu-quantity-invalid")
    assert bool(hits) != ok


def test_unrendered_placeholders_are_not_judged() -> None:
    text = pod('limits: {nvidia.com/gpu: "${GPUS}"}\nrequests: {nvidia.com/gpu: "${GPUS}"}')
    assert not findings(text, "gpu-quantity-invalid")


# --- gpu-over-max -------------------------------------------------------------------------------


def test_init_containers_count_as_max_not_sum() -> None:
    init = "initContainers:\n  - name: warm\n    resources: {limits: {nvidia.com/gpu: 8}}\n"
    assert not findings(pod("limits: {nvidia.com/gpu: 8}", init=init), "gpu-over-max")
    big_init = "initContainers:\n  - name: warm\n    resources: {limits: {nvidia.com/gpu: 9}}\n"
    hits = findings(pod("limits: {nvidia.com/gpu: 1}", init=big_init), "gpu-over-max")
    assert [h.path for h in hits] == ["spec.initContainers[0].resources.limits['nvidia.com/gpu']"]


def test_native_sidecars_add_to_the_app_containers() -> None:
    sidecar = "initContainers:\n  - name: proxy\n    restartPolicy: Always\n    resources: {limits: {nvidia.com/gpu: 2}}\n"
    hits = findings(pod("limits: {nvidia.com/gpu: 7}", init=sidecar), "gpu-over-max")
    assert len(hits) == 1 and "9 GPUs" in hits[0].message and hits[0].path == "spec.containers"


def test_max_per_pod_comes_from_the_policy() -> None:
    assert findings(pod("limits: {nvidia.com/gpu: 4}"), "gpu-over-max", maxPerPod=2)
    assert not findings(pod("limits: {nvidia.com/gpu: 16}"), "gpu-over-max", maxPerPod=None)


# --- gpu-resource-not-allowed --------------------------------------------------------------------


def test_mig_profile_not_offered() -> None:
    text = pod("limits: {nvidia.com/mig-2g.20gb: 1}")
    assert not findings(text, "gpu-resource-not-allowed")
    assert findings(text, "gpu-resource-not-allowed", resources=["nvidia.com/gpu", "nvidia.com/mig-1g.10gb"])


def test_node_label_used_as_resource_is_explained() -> None:
    (hit,) = findings(pod("limits: {nvidia.com/gpu.product: 1}"), "gpu-resource-not-allowed")
    assert "node label" in hit.message


def test_other_vendors_resources_are_left_alone() -> None:
    assert not findings(pod("limits: {nvidia.com/rdma_shared_device_a: 1, google.com/tpu: 4}"), "gpu-resource-not-allowed")


# --- tolerations --------------------------------------------------------------------------------

TAINT = {"key": "nvidia.com/gpu", "effect": "NoSchedule"}


@pytest.mark.parametrize(
    "toleration,ok",
    [
        ({"operator": "Exists"}, True),  # keyless Exists tolerates everything
        ({"operator": "Exists", "effect": "NoSchedule"}, True),
        ({"operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "nvidia.com/gpu", "operator": "Exists"}, True),  # empty effect: all effects
        ({"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}, True),  # Equal, policy has no value
        ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "PreferNoSchedule"}, False),
        ({"key": "gpu", "operator": "Exists"}, False),
        ({"key": "", "operator": "Equal"}, False),
        (None, False),
        ("nvidia.com/gpu", False),
    ],
)
def test_tolerates(toleration: object, ok: bool) -> None:
    assert tolerates(toleration, TAINT) is ok


def test_equal_toleration_must_match_a_policy_taint_value() -> None:
    taint = {**TAINT, "value": "present"}
    assert tolerates({"key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}, taint)
    assert not tolerates({"key": "nvidia.com/gpu", "value": "true"}, taint)


def test_toleration_missing_points_at_the_pod_spec() -> None:
    (hit,) = findings(pod(), "gpu-toleration-missing")
    assert (hit.line, hit.path) == (4, "spec")
    assert not findings(pod(spec=GPU_TOLERATION), "gpu-toleration-missing")
    assert not findings(pod(), "gpu-toleration-missing", taint=None)


def test_cpu_pods_need_no_gpu_toleration() -> None:
    assert not findings(pod("limits: {cpu: 1}"), "gpu-toleration-missing")


# --- gpu-product-selector-missing ---------------------------------------------------------------


def test_product_selector_only_when_required() -> None:
    assert not findings(pod(), "gpu-product-selector-missing")
    assert findings(pod(), "gpu-product-selector-missing", requireProductSelector=True)
    selected = pod(spec="nodeSelector: {nvidia.com/gpu.product: NVIDIA-L4}\n")
    assert not findings(selected, "gpu-product-selector-missing", requireProductSelector=True)


def test_product_selector_follows_the_policy_label() -> None:
    selected = pod(spec="nodeSelector: {cloud.google.com/gke-accelerator: nvidia-l4}\n")
    assert findings(selected, "gpu-product-selector-missing", requireProductSelector=True)
    assert not findings(selected, "gpu-product-selector-missing", requireProductSelector=True, productLabel="cloud.google.com/gke-accelerator")


def test_product_affinity_exists_does_not_pin_a_product() -> None:
    spec = """\
    affinity:
      nodeAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
            - matchExpressions: [{key: nvidia.com/gpu.product, operator: Exists}]
    """
    assert findings(pod(spec=spec), "gpu-product-selector-missing", requireProductSelector=True)


# --- gpu-node-without-gpu-request ---------------------------------------------------------------


def test_gpu_toleration_without_gpu_request() -> None:
    (hit,) = findings(pod("limits: {cpu: 1}", spec=GPU_TOLERATION), "gpu-node-without-gpu-request")
    assert hit.path == "spec.tolerations[0]" and hit.line == 5
    assert not findings(pod(spec=GPU_TOLERATION), "gpu-node-without-gpu-request")


def test_blanket_toleration_is_not_steering() -> None:
    assert not findings(pod("limits: {cpu: 1}", spec="tolerations: [{operator: Exists}]\n"), "gpu-node-without-gpu-request")


@pytest.mark.parametrize(
    "selector,fires",
    [
        ("nvidia.com/gpu.present: 'true'", True),
        ("nvidia.com/gpu.present: 'false'", False),
        ("cloud.google.com/gke-accelerator: nvidia-l4", True),
        ("cloud.google.com/gke-tpu-accelerator: tpu-v5-lite-podslice", False),
        ("pool: general", False),
    ],
)
def test_gpu_node_labels(selector: str, fires: bool) -> None:
    text = pod("limits: {cpu: 1}", spec=f"nodeSelector: {{{selector}}}\n")
    assert bool(findings(text, "gpu-node-without-gpu-request")) is fires


def test_node_agents_and_dra_pods_are_exempt() -> None:
    daemonset = """\
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: nvidia-device-plugin}
    spec:
      selector: {matchLabels: {app: dp}}
      template:
        metadata: {labels: {app: dp}}
        spec:
          tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
          containers: [{name: dp, image: "nvcr.io/nvidia/k8s-device-plugin:v0.15.0"}]
    """
    assert not findings(daemonset, "gpu-node-without-gpu-request")
    dra = pod("claims: [{name: gpu}]", spec=GPU_TOLERATION + "resourceClaims: [{name: gpu, resourceClaimTemplateName: all-gpus}]\n")
    assert not findings(dra, "gpu-node-without-gpu-request")


# --- robustness ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pod("null"),
        pod("limits: null\nrequests: null"),
        pod("limits: [1, 2]\nrequests: oops"),
        pod("limits: {nvidia.com/gpu: null, nvidia.com/mig-1g.10gb: [1]}\nrequests: {nvidia.com/gpu: {a: 1}}"),
        pod(spec="tolerations: [null, 3, {key: null}, {operator: Exists, effect: null}]\nnodeSelector: null\n"),
        pod(spec="tolerations: oops\nnodeSelector: [a]\naffinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [null, {matchExpressions: [null, {key: 1}, {key: nvidia.com/gpu.product, values: null}]}]}}}\n"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [null, 1, {name: a, resources: 2}]\n  initContainers: {a: 1}\n",
    ],
)
def test_odd_input_never_crashes(text: str) -> None:
    policy = ClusterPolicy.default()
    policy.spec["gpu"]["requireProductSelector"] = True
    lint(load_text(text, "odd.yaml"), policy)
