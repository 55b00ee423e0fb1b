"""GPU rules: device resources the API server accepts, and GPU nodes used only by GPU pods.

What counts as a GPU:
- ``nvidia.com/gpu``, ``nvidia.com/gpu.shared`` (time-slicing / MPS renamed resource),
  ``nvidia.com/mig-<g>g.<mem>gb`` (MIG slices, with the ``.me`` and ``<c>c.`` variants),
  ``amd.com/gpu``, and every name matching a ``gpu.resources`` glob of the policy;
- names that *look* like one of those (``nvidia.com/gpus``, ``nvidia.com/GPU``,
  ``nvidia.com/gpu.product``) are not GPUs: they are typos or node labels, and
  ``gpu-resource-not-allowed`` reports them;
- every ``nvidia.com/*`` extended resource (RDMA, host devices...) follows the same API
  rules as GPUs (whole numbers, request == limit), so the two API rules cover them too.

Pods that claim devices through Dynamic Resource Allocation (``spec.resourceClaims``) may get
GPUs without any GPU resource name; kgen does not follow the claims, so the "requests no GPU"
rule stays silent for them. Unrendered placeholders (``${GPUS}``, ``{{ .Values.gpus }}``) are
decided later by the tool that fills them in and are not judged as quantities.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from functools import lru_cache
from fractions import Fraction
from typing import Any, Iterable, Iterator, NamedTuple

from kgen.gpus import is_gpu, is_known_gpu, tolerates
from kgen.loader import JsonPath
from kgen.policies.fixing import copy_request_to_limit
from kgen.policies.registry import RuleContext, Violation, fixer, rule
from kgen.quantity import format_quantity, try_quantity
from kgen.workloads import Container, PodTemplate, as_list, as_map, get_path

# Names a user may have meant as a GPU resource; any such name that is not offered is reported.
_GPU_SHAPED = re.compile(r"(nvidia\.com/(gpu|mig)|amd\.com/gpu)", re.IGNORECASE)
# Node labels GPU Feature Discovery / NFD publish; as a resource name they are a mistake.
_NODE_LABEL_HINT = re.compile(r"(nvidia\.com/(gpu|mig)\.[a-z0-9.-]+|amd\.com/gpu\.[a-z0-9.-]+)")
# Node labels that only GPU nodes carry (selecting one steers a pod onto GPU nodes).
GPU_NODE_LABELS = frozenset({
    "nvidia.com/gpu", "amd.com/gpu", "cloud.google.com/gke-accelerator", "cloud.google.com/gke-gpu",
    "cloud.google.com/gke-gpu-driver-version", "karpenter.k8s.aws/instance-gpu-name",
    "karpenter.k8s.aws/instance-gpu-count", "karpenter.k8s.aws/instance-gpu-manufacturer",
    "karpenter.k8s.aws/instance-gpu-memory", "feature.node.kubernetes.io/pci-10de.present",
})  # fmt: skip
GPU_NODE_LABEL_PREFIXES = ("nvidia.com/gpu.", "nvidia.com/mig.", "amd.com/gpu.")
# Taint keys GPU node pools carry besides the policy's (GKE, AKS and EKS all use these).
GPU_TAINT_KEYS = frozenset({"nvidia.com/gpu", "amd.com/gpu"})
_STEERING_OPERATORS = ("In", "Exists", "Gt")


# --- what is a GPU -------------------------------------------------------------------------


def gpu_patterns(ctx: RuleContext) -> list[str] | None:
    """The policy's GPU resource globs; None when the policy does not list them (anything goes)."""
    listed = ctx.policy.gpu.get("resources")
    if not isinstance(listed, list):
        return None
    return [p for p in listed if isinstance(p, str)]


def is_device_resource(name: str, patterns: list[str] | None) -> bool:
    """A vendor device resource: must be a whole number and have request == limit."""
    return name.startswith("nvidia.com/") or bool(_GPU_SHAPED.match(name)) or is_gpu(name, patterns)


def is_placeholder(value: Any) -> bool:
    """A value still to be filled in by envsubst, Helm or a similar template tool."""
    return isinstance(value, str) and ("${" in value or "{{" in value)


def _resource_names(container: Container) -> list[str]:
    """Every resource name of a container, limits first, each once."""
    names = [n for n in container.limits if isinstance(n, str)]
    return names + [n for n in container.requests if isinstance(n, str) and n not in container.limits]


def _resource_path(container: Container, name: str) -> JsonPath:
    """Where a resource is written, the limit preferred (it is what the GPU is allocated by)."""
    section = "limits" if name in container.limits else "requests"
    return container.at("resources", section, name)


def container_gpus(container: Container, patterns: list[str] | None) -> dict[str, Fraction]:
    """GPUs per resource a container gets: the limit (the request defaults to it), else the request."""
    found: dict[str, Fraction] = {}
    for name in _resource_names(container):
        if not is_gpu(name, patterns):
            continue
        amount = try_quantity(container.limits.get(name))
        if amount is None:
            amount = try_quantity(container.requests.get(name))
        if amount is not None and amount > 0:
            found[name] = amount
    return found


def gpu_containers(template: PodTemplate, patterns: list[str] | None) -> list[tuple[Container, dict[str, Fraction]]]:
    """The containers that get a GPU (any kind): a pod with none is not a GPU pod."""
    return [(c, gpus) for c in template.containers if (gpus := container_gpus(c, patterns))]


class PodDemand(NamedTuple):
    """GPUs one pod holds at its peak, and the containers that make up that peak. (A named tuple:
    defining a dataclass costs a one-file lint ~0.3 ms.)"""

    total: Fraction
    shares: list[tuple[Container, Fraction]]

    @property
    def detail(self) -> str:
        return " + ".join(f"{c.name!r}: {format_quantity(amount, 'gpu')}" for c, amount in self.shares)


_NONE = Fraction(0)


def pod_gpu_demand(template: PodTemplate, patterns: list[str] | None) -> PodDemand:
    """The effective pod GPU request, as the scheduler computes it.

    Init containers run one at a time before the app containers, next to the native sidecars
    started before them; the pod needs max(any init step, app containers + sidecars).
    """

    amounts = {id(c): sum(gpus.values(), _NONE) for c, gpus in gpu_containers(template, patterns)}
    if not amounts:
        return PodDemand(_NONE, [])  # most pods: no Fraction arithmetic (a third of the GPU rules' time)

    def share(c: Container) -> Fraction:
        return amounts.get(id(c), _NONE)

    steps: list[list[tuple[Container, Fraction]]] = []
    sidecars: list[tuple[Container, Fraction]] = []
    for c in template.containers:
        if c.is_sidecar:
            sidecars.append((c, share(c)))
        elif c.is_init:
            steps.append([(c, share(c)), *sidecars])
    steps.append([*sidecars, *((c, share(c)) for c in template.main_containers())])
    peak = max(reversed(steps), key=lambda step: sum(amount for _, amount in step))  # ties: the running pod
    shares = [(c, amount) for c, amount in peak if amount > 0]
    return PodDemand(sum((amount for _, amount in shares), Fraction(0)), shares)


# --- tolerations and node selection ------------------------------------------------------------


def policy_taint(ctx: RuleContext) -> dict | None:
    """The taint GPU nodes carry per the policy; None when the policy names none (rule off)."""
    taint = as_map(ctx.policy.gpu.get("taint"))
    return taint if isinstance(taint.get("key"), str) and taint["key"] else None


def _steers(value: Any) -> bool:
    """A selected label value that lands on GPU nodes (``"false"`` selects the other nodes)."""
    return str(value).lower() != "false"


def node_selections(template: PodTemplate) -> Iterator[tuple[JsonPath, str, str, list]]:
    """(path, label key, operator, values) of every hard node constraint of the pod."""
    for key, value in as_map(template.spec.get("nodeSelector")).items():
        yield template.at("nodeSelector", key), str(key), "In", [value]
    for _term, path, key, operator, values in _affinity_expressions(template):
        yield path, key, operator, values


def _affinity_terms(template: PodTemplate) -> tuple[JsonPath, list]:
    required = as_map(as_map(as_map(template.spec.get("affinity")).get("nodeAffinity")).get("requiredDuringSchedulingIgnoredDuringExecution"))
    path = template.at("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
    return path, as_list(required.get("nodeSelectorTerms"))


def _affinity_expressions(template: PodTemplate) -> Iterator[tuple[int, JsonPath, str, str, list]]:
    """(term index, path, key, operator, values) of every required node-affinity expression."""
    terms_path, terms = _affinity_terms(template)
    for t, term in enumerate(terms):
        for e, expr in enumerate(as_list(as_map(term).get("matchExpressions"))):
            expr = as_map(expr)
            if isinstance(expr.get("key"), str):
                path = (*terms_path, t, "matchExpressions", e)
                yield t, path, expr["key"], str(expr.get("operator")), as_list(expr.get("values"))


def is_gpu_label(key: str, product_label: str) -> bool:
    """A node label only GPU nodes carry: selecting it steers a pod onto GPU nodes."""
    return key == product_label or key in GPU_NODE_LABELS or key.startswith(GPU_NODE_LABEL_PREFIXES)


def _product_label(ctx: RuleContext) -> str:
    label = ctx.policy.gpu.get("productLabel")
    return label if isinstance(label, str) and label else "nvidia.com/gpu.product"


def _gpu_names(found: Iterable[tuple[Container, dict[str, Fraction]]]) -> str:
    return ", ".join(sorted({name for _, gpus in found for name in gpus}))


# --- rules -------------------------------------------------------------------------------------


@rule(
    id="gpu-limit-missing",
    category="gpu",
    severity="error",
    scope="workload",
    summary="A GPU/MIG (or other nvidia.com) resource is requested without a limit, or its request differs from its limit.",
    why="""Extended resources such as GPUs cannot be overcommitted: the API server rejects a pod whose
    GPU request has no matching limit or differs from it. A limit alone is fine (the request defaults
    to it).""",
    fix="""Set the GPU under `resources.limits` (e.g. `nvidia.com/gpu: 1`); if you also keep it under
    `requests`, use the same value.""",
)
def limit_missing(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    patterns = gpu_patterns(ctx)
    for c in template.containers:
        for name, requested in c.requests.items():
            if not isinstance(name, str) or not is_device_resource(name, patterns):
                continue
            if name not in c.limits:
                yield Violation(
                    c.at("resources", "requests", name),
                    f"container {c.name!r} requests {name}: {requested} without a limit; the API server rejects it, "
                    f"set resources.limits.{name}: {requested}",
                )
                continue
            want, have = try_quantity(requested), try_quantity(c.limits[name])
            if want is not None and have is not None and want != have:
                yield Violation(
                    c.at("resources", "limits", name),
                    f"container {c.name!r} has {name} request {requested} but limit {c.limits[name]}; "
                    "extended resources need request == limit (or only a limit)",
                )


@fixer("gpu-limit-missing")
def fix_limit_missing(data: dict, path: JsonPath, ctx: RuleContext) -> bool:
    """limit = request for a device requested without a limit; a limit that differs is a choice left to the user."""
    container = get_path(data, path[:-3]) if path[-3:-1] == ("resources", "requests") else None
    return isinstance(container, dict) and copy_request_to_limit(container, str(path[-1]))


@rule(
    id="gpu-quantity-invalid",
    category="gpu",
    severity="error",
    scope="workload",
    summary="A GPU quantity is not a positive whole number.",
    why="""A GPU is handed out as whole devices: the API server rejects fractional or negative amounts
    of an extended resource, and 0 asks for nothing (it still leaves the GPU runtime in charge of what
    the container sees).""",
    fix="""Request a whole number of GPUs (`nvidia.com/gpu: 1`). To share a GPU, use a MIG slice
    (`nvidia.com/mig-1g.10gb`) or time-slicing (`nvidia.com/gpu.shared`); drop an entry of 0.""",
)
def quantity_invalid(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    patterns = gpu_patterns(ctx)
    for c in template.containers:
        for section in ("limits", "requests"):
            for name, value in getattr(c, section).items():
                if not isinstance(name, str) or not is_device_resource(name, patterns):
                    continue
                amount = try_quantity(value)
                if amount is None and is_placeholder(value):
                    continue
                if amount is None:
                    problem = "is not a quantity"
                elif amount.denominator != 1:
                    problem = "is fractional; GPUs are whole devices (share one with MIG or nvidia.com/gpu.shared)"
                elif amount <= 0:
                    problem = "is not positive; remove the entry" if amount == 0 else "is negative"
                else:
                    continue
                yield Violation(c.at("resources", section, name), f"container {c.name!r} {section} {name}: {value!r} {problem}")


@rule(
    id="gpu-over-max",
    category="gpu",
    severity="error",
    scope="workload",
    summary="A pod needs more GPUs than the policy's gpu.maxPerPod.",
    why="""No node has more GPUs than `gpu.maxPerPod`: a pod asking for more stays Pending forever (and
    with it the rollout). Init containers run before the app containers, so the pod needs the larger of
    its biggest init step and the sum of its app containers.""",
    fix="""Lower the GPU count, or split the work across pods (e.g. tensor/pipeline parallelism over
    several replicas); raise `gpu.maxPerPod` only if the cluster has bigger nodes.""",
)
def over_max(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    limit = ctx.policy.gpu.get("maxPerPod")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        return
    patterns = gpu_patterns(ctx)
    demand = pod_gpu_demand(template, patterns)
    if demand.total <= limit:
        return
    if len(demand.shares) == 1:
        alone = demand.shares[0][0]
        path = _resource_path(alone, next(iter(container_gpus(alone, patterns))))
    else:
        path = template.at("containers")
    yield Violation(path, f"pod needs {format_quantity(demand.total, 'gpu')} GPUs ({demand.detail}), above gpu.maxPerPod {limit}; it can never be scheduled")


@rule(
    id="gpu-resource-not-allowed",
    category="gpu",
    severity="error",
    scope="workload",
    summary="A GPU/MIG resource name the cluster does not offer (not in the policy's gpu.resources).",
    why="""The scheduler only places a pod on a node that advertises every resource it asks for: a MIG
    profile the cluster is not partitioned into, a typo such as `nvidia.com/gpus`, or a node label used
    as a resource keeps the pod Pending forever.""",
    fix="""Use a resource name the cluster offers (see `kgen policy show`, gpu.resources), or add it to
    the policy if the cluster really has it.""",
)
def resource_not_allowed(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    patterns = gpu_patterns(ctx)
    for c in template.containers:
        for name in _resource_names(c):
            real = is_known_gpu(name)
            if not (real or _GPU_SHAPED.match(name)):
                continue
            if any(fnmatchcase(name, p) for p in patterns or ()) or (patterns is None and real):
                continue
            if real:
                hint = f"the cluster offers {', '.join(patterns or []) or 'no GPU resources'}"
            elif _NODE_LABEL_HINT.fullmatch(name):
                hint = "that is a node label, not a resource: select it with nodeSelector and request nvidia.com/gpu"
            else:
                hint = "it is not a GPU resource name (nvidia.com/gpu, nvidia.com/mig-<g>g.<mem>gb, nvidia.com/gpu.shared, amd.com/gpu)"
            yield Violation(_resource_path(c, name), f"container {c.name!r} asks for {name}, which no node offers: {hint}")


@rule(
    id="gpu-toleration-missing",
    category="gpu",
    severity="warning",
    scope="workload",
    summary="A GPU pod does not tolerate the GPU node taint of the policy.",
    why="""GPU nodes are tainted so that only GPU work lands on them. A GPU pod without the matching
    toleration fits no node and stays Pending, unless the cluster runs the ExtendedResourceToleration
    admission plugin (GKE does), which adds the toleration for you.""",
    fix="""Add `tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]` (the key and
    effect of the policy's gpu.taint).""",
)
def toleration_missing(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    taint = policy_taint(ctx)
    if taint is None:
        return
    found = gpu_containers(template, gpu_patterns(ctx))
    if not found:
        return
    tolerations = as_list(template.spec.get("tolerations"))
    if any(tolerates(t, taint) for t in tolerations):
        return
    effect = taint.get("effect") or "NoSchedule"
    where = template.at("tolerations") if template.spec.get("tolerations") is not None else template.path
    yield Violation(
        where,
        f"pod requests {_gpu_names(found)} but does not tolerate the GPU node taint {taint['key']}:{effect}; "
        f"add a toleration {{key: {taint['key']}, operator: Exists, effect: {effect}}}",
    )


@fixer("gpu-toleration-missing")
def fix_toleration_missing(data: dict, path: JsonPath, ctx: RuleContext) -> bool:
    """Adds the toleration the message names (the policy's taint key and effect, operator Exists)."""
    taint = policy_taint(ctx)
    spec = get_path(data, path[:-1] if path[-1:] == ("tolerations",) else path)
    if taint is None or not isinstance(spec, dict):
        return False
    toleration = {"key": taint["key"], "operator": "Exists", "effect": taint.get("effect") or "NoSchedule"}
    tolerations = spec.setdefault("tolerations", [])
    if not isinstance(tolerations, list) or any(tolerates(t, taint) for t in tolerations):
        return False
    tolerations.append(toleration)
    return True


@rule(
    id="gpu-product-selector-missing",
    category="gpu",
    severity="warning",
    scope="workload",
    summary="A GPU pod does not pin the GPU product (node selector/affinity on the product label) while the policy requires it.",
    why="""In a cluster with several GPU models a pod without a product selector lands on whichever GPU
    is free: a model sized for an 80 GB A100 runs out of memory on a 16 GB T4, and benchmarks become
    meaningless. Only checked when `gpu.requireProductSelector` is true.""",
    fix="""Add `nodeSelector: {nvidia.com/gpu.product: <product>}` (the policy's gpu.productLabel), or a
    required node affinity `In` expression on that label in every selector term.""",
)
def product_selector_missing(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    if ctx.policy.gpu.get("requireProductSelector") is not True:
        return
    found = gpu_containers(template, gpu_patterns(ctx))
    if not found:
        return
    label = _product_label(ctx)
    if label in as_map(template.spec.get("nodeSelector")):
        return
    terms_path, terms = _affinity_terms(template)
    pinned = {t for t, _, key, op, values in _affinity_expressions(template) if key == label and op == "In" and values}
    unpinned = [t for t in range(len(terms)) if t not in pinned]
    if terms and not unpinned:
        return
    if terms:
        where = (*terms_path, unpinned[0])
        what = f"node selector term {unpinned[0]} does not constrain {label}"
    else:
        where = template.at("nodeSelector") if template.spec.get("nodeSelector") is not None else template.path
        what = f"no nodeSelector or required node affinity on {label}"
    yield Violation(where, f"pod requests {_gpu_names(found)} but {what}; pin the GPU product, e.g. nodeSelector: {{{label}: <product>}}")


@rule(
    id="gpu-node-without-gpu-request",
    category="gpu",
    severity="warning",
    scope="workload",
    summary="A pod steers onto GPU nodes (tolerates the GPU taint or selects a GPU node label) but requests no GPU.",
    why="""GPU nodes are the most expensive capacity in the cluster. A pod that tolerates their taint or
    selects them without requesting a GPU takes their CPU and memory, can keep the autoscaler from
    removing them, and can block the GPU pods they exist for. DaemonSets are exempt: node agents (device
    plugin, DCGM exporter, feature discovery) must run on GPU nodes without requesting a GPU. A blanket
    toleration (`operator: Exists` without key) is not taken as steering: it is the node-agent pattern.""",
    fix="""Request the GPU the pod needs, or remove the GPU toleration and GPU node selector so the pod
    runs on general-purpose nodes.""",
    silent_when="""the pod is a DaemonSet (node agents), claims devices through Dynamic Resource Allocation
    (spec.resourceClaims), or only has a blanket toleration (operator: Exists without key).""",
)
def node_without_gpu_request(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    if template.site.daemon:
        return
    if gpu_containers(template, gpu_patterns(ctx)) or as_list(template.spec.get("resourceClaims")):
        return
    taint = policy_taint(ctx)
    for index, toleration in enumerate(as_list(template.spec.get("tolerations"))):
        key = as_map(toleration).get("key")
        if not key or not isinstance(key, str):
            continue
        if key in GPU_TAINT_KEYS or (taint is not None and tolerates(toleration, taint)):
            yield Violation(
                template.at("tolerations", index),
                f"pod tolerates the GPU node taint {key} but requests no GPU; request one or drop the toleration",
            )
            return
    label = _product_label(ctx)
    for path, key, operator, values in node_selections(template):
        if not is_gpu_label(key, label) or operator not in _STEERING_OPERATORS:
            continue
        if operator == "In" and not any(_steers(v) for v in values):
            continue
        yield Violation(path, f"pod selects GPU nodes ({key}) but requests no GPU; request one or select general-purpose nodes")
        return


# --- shared memory ----------------------------------------------------------------------------

SHM_PATH = "/dev/shm"
SHM_VOLUME = "dshm"
# Images that run several processes sharing tensors through /dev/shm (tensor-parallel serving,
# distributed training, data loader workers), matched against the image's repository.
MULTI_PROCESS_IMAGES = [
    r"vllm", r"sglang", r"tritonserver", r"text-generation-inference", r"lmdeploy", r"tensorrt-llm",
    r"deepspeed", r"megatron", r"nemo", r"pytorch", r"rayproject/ray",
]  # fmt: skip


def _memory_volumes(template: PodTemplate) -> set[str]:
    """Names of the pod's memory-backed emptyDir volumes."""
    names = (as_map(v).get("name") for v in as_list(template.spec.get("volumes")) if as_map(as_map(v).get("emptyDir")).get("medium") == "Memory")
    return {name for name in names if isinstance(name, str)}


def _has_memory_shm(container: Container, memory_volumes: set[str]) -> bool:
    mounts = [as_map(m) for m in as_list(container.data.get("volumeMounts"))]
    return any(str(m.get("mountPath", "")).rstrip("/") == SHM_PATH and str(m.get("name")) in memory_volumes for m in mounts)


@lru_cache(maxsize=8)
def _image_patterns(sources: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """The rule's image patterns, compiled once per policy (not once per pod template)."""
    return tuple(re.compile(source) for source in sources)


def _repository(image: object) -> str:
    return image.split("@", 1)[0].rsplit(":", 1)[0].lower() if isinstance(image, str) else ""


@rule(
    id="gpu-shm-missing",
    category="gpu",
    severity="warning",
    scope="workload",
    summary="""A pod with 2 or more GPUs, or a multi-process serving/training image (on a GPU, or serving),
    has no memory-backed /dev/shm.""",
    why="""Containers get a 64 MiB /dev/shm by default. NCCL (tensor-parallel inference, distributed
    training) and PyTorch data loader workers pass tensors through it: with the default they fail with
    "No space left on device" / bus errors, or fall back to slow paths. vLLM, Ray and Kubeflow runtimes
    with 2+ GPUs all need it.""",
    fix="""Mount a memory-backed emptyDir at /dev/shm: a volume `{name: dshm, emptyDir: {medium: Memory}}`
    (optionally with a sizeLimit; it counts against the container's memory limit) and a volumeMount
    `{name: dshm, mountPath: /dev/shm}` in the container. The images matched are the rule's `images`
    parameter (regexes on the image repository).""",
    params={"images": MULTI_PROCESS_IMAGES},
    silent_when="""the pod shares the node's IPC namespace (hostIPC), or its controller mounts shared
    memory itself (KubeRay for Ray pods, KServe's LLMInferenceService presets), or a container of a batch pod runs such an image without a
    GPU (a download or preparation step).""",
)
def shm_missing(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    if template.spec.get("hostIPC") is True or template.site.shm_injected:
        return
    patterns = gpu_patterns(ctx)
    images = _image_patterns(tuple(p for p in as_list(ctx.params["images"]) if isinstance(p, str)))
    gpus = {id(c): amount for c, amount in pod_gpu_demand(template, patterns).shares}
    many_gpus = bool(gpus) and sum(gpus.values(), _NONE) >= 2
    memory_volumes = _memory_volumes(template)
    for c in template.main_containers():
        image = _repository(c.data.get("image"))
        # A serving image always runs its workers; in a batch pod without a GPU it may only run a helper (a download).
        matched = (id(c) in gpus or not template.batch) and any(p.search(image) for p in images)
        if not ((many_gpus and id(c) in gpus) or matched) or _has_memory_shm(c, memory_volumes):
            continue
        reason = f"the pod holds {format_quantity(sum(gpus.values(), Fraction(0)), 'gpu')} GPUs" if many_gpus and id(c) in gpus else f"its image {image!r} runs multi-process workers"
        yield Violation(c.path, f"container {c.name!r} has no memory-backed /dev/shm but {reason}; mount an emptyDir with medium: Memory at /dev/shm")


@fixer("gpu-shm-missing")
def fix_shm_missing(data: dict, path: JsonPath, ctx: RuleContext) -> bool:
    """Adds the emptyDir Memory volume (or reuses a memory volume of the pod) and mounts it at /dev/shm;
    a /dev/shm mount of another volume is the user's to change."""
    container = get_path(data, path)
    pod = get_path(data, path[:-2] if path and isinstance(path[-1], int) else path[:-1])
    if not isinstance(container, dict) or not isinstance(pod, dict):
        return False
    mounts = container.get("volumeMounts")
    volumes = pod.get("volumes")
    if (mounts is not None and not isinstance(mounts, list)) or (volumes is not None and not isinstance(volumes, list)):
        return False
    if any(str(as_map(m).get("mountPath", "")).rstrip("/") == SHM_PATH for m in mounts or []):
        return False
    memory = [v["name"] for v in volumes or [] if isinstance(v, dict) and isinstance(v.get("name"), str) and as_map(v.get("emptyDir")).get("medium") == "Memory"]
    name = memory[0] if memory else SHM_VOLUME
    if not memory:
        if any(as_map(v).get("name") == SHM_VOLUME for v in volumes or []):
            return False
        pod.setdefault("volumes", []).append({"name": name, "emptyDir": {"medium": "Memory"}})
    container.setdefault("volumeMounts", []).append({"name": name, "mountPath": SHM_PATH})
    return True
