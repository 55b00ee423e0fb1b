"""One view of every pod template, whatever kind of object holds it.

Rules about pods and containers are written once against :class:`PodTemplate`
and :class:`Container`; which paths hold pod specs in which kinds is data, in
``BUILTIN_SITES`` and ``CUSTOM_SITES``. A ``*`` in a path stands for every item
of a list (or every value of a map, whose key then names the role). Kinds that
do not embed a plain pod spec (a KServe predictor's shorthand ``model``, an Argo
template's ``container``) say where their containers are with
:class:`ContainerSlot`s, so rules never look at kinds. Pod fields an enclosing spec sets
for every pod (an Argo workflow's securityContext, volumes...) are merged into
``PodTemplate.spec`` (:class:`InheritedFields`), and ``PodTemplate.at`` points at where each
is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Iterator, Mapping

from kgen.loader import JsonPath, KubeObject, PathPart

CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")
DEFAULT_SERVICE_ACCOUNT = "default"
BOTH_PROBES = ("readinessProbe", "livenessProbe")


@dataclass(frozen=True)
class ContainerSlot:
    """Where a pod spec (or a kind's stand-in for one) keeps containers, and how rules should treat them."""

    path: JsonPath  # relative to the site's pod spec
    field_name: str  # initContainers | containers | ephemeralContainers: the pod field they become
    single: bool = False  # the path holds one container, not a list
    default_name: str | None = None  # the name the controller gives an unnamed container
    probes_injected: tuple[str, ...] = ()  # probe fields supplied elsewhere (e.g. by the KServe ServingRuntime)
    # (container field, the field the kind writes it as): TrainJob's trainer has ``resourcesPerNode``.
    renamed: tuple[tuple[str, str], ...] = ()


POD_CONTAINERS = tuple(ContainerSlot((name,), name) for name in CONTAINER_FIELDS)


@dataclass(frozen=True)
class InheritedFields:
    """Pod fields an enclosing spec sets for every pod of a site, unless the pod's own spec writes them."""

    source: JsonPath  # the enclosing spec (it may share the site's ``*``s)
    fields: tuple[str, ...]  # a value the pod writes replaces the inherited one whole
    by_name: tuple[str, ...] = ()  # lists of named items both add to; the pod's own item wins a name


@dataclass(frozen=True)
class TemplateSite:
    """Where one kind keeps a pod spec, and how many pods of it can run at once."""

    pod_spec: JsonPath
    metadata: JsonPath | None = None
    replicas: JsonPath | None = None
    default_replicas: int = 1
    batch: bool = False  # runs to completion: no readiness/liveness expected
    role_field: str | None = None  # in a ``*`` item, the field that names the role
    daemon: bool = False  # one pod per matching node
    role: str | None = None  # the role of a site without ``*`` (e.g. Ray "head")
    containers: tuple[ContainerSlot, ...] = POD_CONTAINERS
    only_with_containers: bool = False  # the path may hold something that runs no pod (Argo steps/dag)
    # The autoscaling ceiling: the first of these paths that holds a count, else ``default_max_replicas``.
    max_replicas: tuple[JsonPath, ...] = ()
    default_max_replicas: int | None = None
    pods_per_replica: JsonPath | None = None  # e.g. LeaderWorkerSet size, JobSet job parallelism
    # When this path holds something, one pod of every replica is built from it instead (the LWS leader).
    leader_elsewhere: JsonPath | None = None
    probes_injected: tuple[str, ...] = ()  # probe fields the controller adds when absent (Knative, KubeRay)
    shm_injected: bool = False  # the controller mounts a memory-backed /dev/shm itself (KubeRay, KServe LLM presets)
    runs_pods: bool = True  # False for templates other objects instantiate (runtimes, WorkflowTemplates)
    inherits: tuple[InheritedFields, ...] = ()  # nearest first (Argo: workflow-level pod settings)
    # The object only overrides the pod of a runtime that is linted on its own (Kubeflow TrainJob):
    # whatever it does not write comes from there, so findings about unwritten fields are not its own.
    overrides_runtime: bool = False


def _site(prefix: JsonPath, **kw: Any) -> TemplateSite:
    return TemplateSite(pod_spec=(*prefix, "spec"), metadata=(*prefix, "metadata"), **kw)


_TEMPLATE = ("spec", "template")
# Built-in kinds match by kind alone within the core API groups (old groups included).
BUILTIN_SITES: dict[str, tuple[TemplateSite, ...]] = {
    "Pod": (TemplateSite(pod_spec=("spec",), metadata=("metadata",)),),
    "PodTemplate": (_site(("template",)),),
    "Deployment": (_site(_TEMPLATE, replicas=("spec", "replicas")),),
    "ReplicaSet": (_site(_TEMPLATE, replicas=("spec", "replicas")),),
    "ReplicationController": (_site(_TEMPLATE, replicas=("spec", "replicas")),),
    "StatefulSet": (_site(_TEMPLATE, replicas=("spec", "replicas")),),
    "DaemonSet": (_site(_TEMPLATE, daemon=True),),
    "Job": (_site(_TEMPLATE, replicas=("spec", "parallelism"), batch=True),),
    "CronJob": (_site(("spec", "jobTemplate", "spec", "template"), replicas=("spec", "jobTemplate", "spec", "parallelism"), batch=True),),
}
BUILTIN_GROUPS = frozenset({"", "apps", "extensions", "batch"})



def _templates_only(sites: tuple[TemplateSite, ...]) -> tuple[TemplateSite, ...]:
    """The same sites in a kind that only serves as a template: linted, counted as no pods."""
    return tuple(replace(site, runs_pods=False) for site in sites)


def _ray_cluster(prefix: JsonPath) -> tuple[TemplateSite, ...]:
    """A RayCluster spec: one head pod and worker groups (KubeRay injects probes into both)."""
    group = (*prefix, "workerGroupSpecs", "*")
    return (
        _site((*prefix, "headGroupSpec", "template"), role="head", probes_injected=BOTH_PROBES, shm_injected=True),
        _site(
            (*group, "template"),
            replicas=(*group, "replicas"),
            max_replicas=((*group, "maxReplicas"),),
            pods_per_replica=(*group, "numOfHosts"),
            role_field="groupName",
            probes_injected=BOTH_PROBES,
            shm_injected=True,
        ),
    )


def _kubeflow_job(replica_specs: str) -> tuple[TemplateSite, ...]:
    """A Kubeflow training job (v1 operators): one pod template per role of ``spec.<replica_specs>``."""
    role = ("spec", replica_specs, "*")
    return (_site((*role, "template"), replicas=(*role, "replicas"), batch=True),)


def _jobset(spec: JsonPath) -> tuple[TemplateSite, ...]:
    """A JobSet spec: every replicated job runs ``replicas`` Jobs of ``parallelism`` pods."""
    job = (*spec, "replicatedJobs", "*")
    return (
        _site(
            (*job, "template", "spec", "template"),
            replicas=(*job, "replicas"),
            pods_per_replica=(*job, "template", "spec", "parallelism"),
            role_field="name",
            batch=True,
        ),
    )


_KSERVE_CONTAINER = "kserve-container"
# Predictor shorthands: each is one container whose image, args and probes come from a ServingRuntime.
_KSERVE_PREDICTOR_FORMATS = ("model", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface", "pmml", "lightgbm", "paddle")
_KSERVE_EXPLAINER_FORMATS = ("art", "alibi")


def _kserve_component(name: str, shorthands: tuple[str, ...] = ()) -> TemplateSite:
    """A KServe component: a pod spec with extra fields, its own labels and min/max replicas."""
    component = ("spec", name)
    slots = tuple(ContainerSlot((key,), "containers", single=True, default_name=_KSERVE_CONTAINER, probes_injected=BOTH_PROBES) for key in shorthands)
    return TemplateSite(
        pod_spec=component,
        metadata=component,
        replicas=(*component, "minReplicas"),
        max_replicas=((*component, "maxReplicas"),),
        role=name,
        containers=(*POD_CONTAINERS, *slots),
    )


_PREDICTOR = ("spec", "predictor")
_INFERENCE_SERVICE = (
    _kserve_component("predictor", _KSERVE_PREDICTOR_FORMATS),
    # Multi-node serving: pipelineParallelSize nodes per replica, the first being the predictor pod.
    TemplateSite(
        pod_spec=(*_PREDICTOR, "workerSpec"),
        metadata=_PREDICTOR,
        replicas=(*_PREDICTOR, "minReplicas"),
        pods_per_replica=(*_PREDICTOR, "workerSpec", "pipelineParallelSize"),
        leader_elsewhere=_PREDICTOR,
        role="predictor-worker",
    ),
    _kserve_component("transformer"),
    _kserve_component("explainer", _KSERVE_EXPLAINER_FORMATS),
)
_SERVING_RUNTIME = _templates_only(
    (
        TemplateSite(pod_spec=("spec",), metadata=("spec",), role="runtime"),
        TemplateSite(pod_spec=("spec", "workerSpec"), metadata=("spec",), role="runtime-worker"),
    )
)


def _llm_workload(prefix: JsonPath, role: str) -> tuple[TemplateSite, ...]:
    """An LLMInferenceService workload: ``template`` (the leader when multi-node) and ``worker``.

    Probes and a memory-backed /dev/shm come from the well-known LLMInferenceServiceConfig presets the
    service is merged with.
    The worker count per replica depends on parallelism arithmetic (data / dataLocal), so one
    worker per replica is counted: a floor, not a ceiling.
    """
    base = ("spec", *prefix)
    return tuple(
        TemplateSite(
            pod_spec=(*base, key),
            replicas=(*base, "replicas"),
            role=f"{role}-{key}" if key == "worker" else role,
            probes_injected=BOTH_PROBES,
            shm_injected=True,
        )
        for key in ("template", "worker")
    )


_LLM_INFERENCE_SERVICE = (
    *_llm_workload((), "decode"),
    *_llm_workload(("prefill",), "prefill"),
    TemplateSite(pod_spec=("spec", "router", "scheduler", "template"), role="scheduler", probes_injected=BOTH_PROBES),
)

_KNATIVE_SCALE = ("spec", "template", "metadata", "annotations")

_LWS = ("spec", "leaderWorkerTemplate")

# An Argo template runs a pod only with a container, a script or a container set; sidecars share it.
_ARGO_CONTAINERS = (
    ContainerSlot(("container",), "containers", single=True, default_name="main"),
    ContainerSlot(("script",), "containers", single=True, default_name="main"),
    ContainerSlot(("containerSet", "containers"), "containers"),
    ContainerSlot(("sidecars",), "containers"),
    ContainerSlot(("initContainers",), "initContainers"),
)


# Workflow-level pod settings every step pod gets unless its template writes its own (Argo's
# addSchedulingConstraints and setupServiceAccount); hostNetwork, DNS and pull secrets exist at workflow
# level only. Argo adds a workflow-level volume to the steps that mount it: every step is assumed to.
# podSpecPatch is not applied.
_ARGO_POD_FIELDS = (
    "securityContext", "nodeSelector", "tolerations", "affinity", "schedulerName", "serviceAccountName",
    "automountServiceAccountToken", "hostNetwork", "dnsPolicy", "dnsConfig", "imagePullSecrets",
)  # fmt: skip


def _argo(spec: JsonPath) -> tuple[TemplateSite, ...]:
    """An Argo workflow spec: every template that runs a container is one pod (a step)."""
    template = (*spec, "templates", "*")
    return (
        TemplateSite(
            pod_spec=template,
            metadata=(*template, "metadata"),
            role_field="name",
            batch=True,
            containers=_ARGO_CONTAINERS,
            only_with_containers=True,
            inherits=(InheritedFields(spec, _ARGO_POD_FIELDS, by_name=("volumes",)),),
        ),
    )


# A Kubeflow Trainer v2 TrainJob overrides the trainer container ("node") of its TrainingRuntime:
# image, command, args, env and resources, on numNodes pods. The rest of the pod is the runtime's.
_TRAIN_JOB = (
    TemplateSite(
        pod_spec=("spec",),
        replicas=("spec", "trainer", "numNodes"),
        batch=True,
        role="trainer",
        containers=(ContainerSlot(("trainer",), "containers", single=True, default_name="node", renamed=(("resources", "resourcesPerNode"),)),),
        overrides_runtime=True,
    ),
)


# Custom resources that embed pod specs, keyed by (API group, kind).
CUSTOM_SITES: dict[tuple[str, str], tuple[TemplateSite, ...]] = {
    ("serving.kserve.io", "InferenceService"): _INFERENCE_SERVICE,
    ("serving.kubeflow.org", "InferenceService"): _INFERENCE_SERVICE,
    ("serving.kserve.io", "ServingRuntime"): _SERVING_RUNTIME,
    ("serving.kserve.io", "ClusterServingRuntime"): _SERVING_RUNTIME,
    ("serving.kserve.io", "LLMInferenceService"): _LLM_INFERENCE_SERVICE,
    ("serving.kserve.io", "LLMInferenceServiceConfig"): _templates_only(_LLM_INFERENCE_SERVICE),
    ("serving.knative.dev", "Service"): (
        # The queue-proxy probes the container (TCP on its port) when no readiness probe is written.
        _site(
            _TEMPLATE,
            replicas=(*_KNATIVE_SCALE, "autoscaling.knative.dev/min-scale"),
            max_replicas=((*_KNATIVE_SCALE, "autoscaling.knative.dev/max-scale"), (*_KNATIVE_SCALE, "autoscaling.knative.dev/maxScale")),
            probes_injected=("readinessProbe",),
        ),
    ),
    ("ray.io", "RayCluster"): _ray_cluster(("spec",)),
    ("ray.io", "RayService"): _ray_cluster(("spec", "rayClusterConfig")),
    ("ray.io", "RayJob"): (
        *_ray_cluster(("spec", "rayClusterSpec")),
        _site(("spec", "submitterPodTemplate"), role="submitter", batch=True),
    ),
    ("kubeflow.org", "PyTorchJob"): _kubeflow_job("pytorchReplicaSpecs"),
    ("kubeflow.org", "TFJob"): _kubeflow_job("tfReplicaSpecs"),
    ("kubeflow.org", "MPIJob"): _kubeflow_job("mpiReplicaSpecs"),
    ("kubeflow.org", "XGBoostJob"): _kubeflow_job("xgbReplicaSpecs"),
    ("kubeflow.org", "PaddleJob"): _kubeflow_job("paddleReplicaSpecs"),
    ("kubeflow.org", "JAXJob"): _kubeflow_job("jaxReplicaSpecs"),
    ("kubeflow.org", "MXJob"): _kubeflow_job("mxReplicaSpecs"),
    ("kubeflow.org", "Notebook"): (_site(_TEMPLATE),),
    ("trainer.kubeflow.org", "TrainJob"): _TRAIN_JOB,
    ("trainer.kubeflow.org", "TrainingRuntime"): _templates_only(_jobset(("spec", "template", "spec"))),
    ("trainer.kubeflow.org", "ClusterTrainingRuntime"): _templates_only(_jobset(("spec", "template", "spec"))),
    ("jobset.x-k8s.io", "JobSet"): _jobset(("spec",)),
    ("leaderworkerset.x-k8s.io", "LeaderWorkerSet"): (
        _site((*_LWS, "leaderTemplate"), replicas=("spec", "replicas"), role="leader"),
        # Each group is ``size`` pods; without a leaderTemplate the leader is built from this one too.
        _site(
            (*_LWS, "workerTemplate"),
            replicas=("spec", "replicas"),
            pods_per_replica=(*_LWS, "size"),
            leader_elsewhere=(*_LWS, "leaderTemplate"),
            role="worker",
        ),
    ),
    ("keda.sh", "ScaledJob"): (
        _site(
            ("spec", "jobTargetRef", "template"),
            replicas=("spec", "minReplicaCount"),
            default_replicas=0,
            max_replicas=(("spec", "maxReplicaCount"),),
            default_max_replicas=100,  # KEDA's default maxReplicaCount
            pods_per_replica=("spec", "jobTargetRef", "parallelism"),
            batch=True,
        ),
    ),
    ("argoproj.io", "Workflow"): _argo(("spec",)),
    ("argoproj.io", "CronWorkflow"): _argo(("spec", "workflowSpec")),
    ("argoproj.io", "WorkflowTemplate"): _templates_only(_argo(("spec",))),
    ("argoproj.io", "ClusterWorkflowTemplate"): _templates_only(_argo(("spec",))),
    ("batch.volcano.sh", "Job"): (
        _site(("spec", "tasks", "*", "template"), replicas=("spec", "tasks", "*", "replicas"), role_field="name", batch=True),
    ),
}


@dataclass
class Container:
    """One container (init, regular or ephemeral) of a pod template."""

    data: dict
    path: JsonPath
    field_name: str  # initContainers | containers | ephemeralContainers
    index: int
    default_name: str | None = None  # what the controller names it when the manifest does not
    probes_injected: tuple[str, ...] = ()  # probe fields its controller or runtime supplies when absent
    renamed: Mapping[str, str] = field(default_factory=dict)  # container field -> the field written for it

    @property
    def name(self) -> str:
        name = self.data.get("name")
        if isinstance(name, str) and name:
            return name
        return self.default_name or f"{self.field_name}[{self.index}]"

    @property
    def is_init(self) -> bool:
        return self.field_name == "initContainers"

    @property
    def is_sidecar(self) -> bool:
        """A native sidecar: an init container that keeps running (restartPolicy Always)."""
        return self.is_init and self.data.get("restartPolicy") == "Always"

    @property
    def long_running(self) -> bool:
        return self.field_name == "containers" or self.is_sidecar

    # Read once (cached): the resource rules ask some 50,000 times on a corpus of 900 pod templates.
    @cached_property
    def resources(self) -> dict:
        return as_map(self.data.get("resources"))

    @cached_property
    def requests(self) -> dict:
        return as_map(self.resources.get("requests"))

    @cached_property
    def limits(self) -> dict:
        return as_map(self.resources.get("limits"))

    @cached_property
    def security_context(self) -> dict:
        return as_map(self.data.get("securityContext"))

    def at(self, *parts: PathPart) -> JsonPath:
        """The path of a container field where the manifest writes it (under its kind's name for it)."""
        if parts and parts[0] in self.renamed:
            parts = (self.renamed[parts[0]], *parts[1:])
        return (*self.path, *parts)


@dataclass
class PodTemplate:
    """A pod spec inside some object, with the facts rules need about its owner."""

    obj: KubeObject
    spec: dict
    path: JsonPath
    site: TemplateSite
    metadata_path: JsonPath | None
    replicas_path: JsonPath | None
    role: str | None = None
    # Where inherited parts of ``spec`` are written: ("securityContext",) or ("volumes", 2) -> a path of obj.
    origins: dict[JsonPath, JsonPath] = field(default_factory=dict)
    # False for a template that writes labels but no pod spec (``spec`` is then empty): see pod_templates.
    has_spec: bool = True
    _containers: list[Container] | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return self.obj.kind

    @property
    def batch(self) -> bool:
        if self.site.batch:
            return True
        return self.obj.kind == "Pod" and self.spec.get("restartPolicy") in ("Never", "OnFailure")

    @cached_property
    def metadata(self) -> dict:
        return as_map(get_path(self.obj.data, self.metadata_path)) if self.metadata_path else {}

    @property
    def labels(self) -> dict:
        return as_map(self.metadata.get("labels"))

    @property
    def declared_replicas(self) -> int:
        """Pods of this template the object asks for as written (the site's default when absent).

        For group kinds this is groups x pods per group (LeaderWorkerSet size, JobSet parallelism,
        Ray hosts); templates other objects instantiate count as none.
        """
        if not self.site.runs_pods:
            return 0
        return self.pods_for(self._groups())

    @property
    def max_replicas(self) -> int:
        """The most pods of this template the autoscaling written in the object can reach.

        An HPA or ScaledObject targeting the object is another object's business (see the inventory).
        """
        if not self.site.runs_pods:
            return 0
        groups = self._groups()
        if self.site.max_replicas or self.site.default_max_replicas is not None:
            ceilings = (self._count(self._bound(path)) for path in self.site.max_replicas)
            ceiling = next((n for n in ceilings if n is not None), self.site.default_max_replicas)
            groups = max(groups, ceiling or 0, 1)  # an autoscaled group serves at least one pod
        return self.pods_for(groups)

    def _groups(self) -> int:
        written = self._count(self.replicas_path)
        return self.site.default_replicas if written is None else written

    def pods_for(self, groups: int) -> int:
        """Pods of this template when its object runs ``groups`` replicas (e.g. an HPA's maximum)."""
        per_group = self._count(self._bound(self.site.pods_per_replica))
        per_group = 1 if per_group is None else per_group
        leader = self._bound(self.site.leader_elsewhere)
        if leader is not None and get_path(self.obj.data, leader) is not None:
            per_group -= 1
        return groups * max(per_group, 0)

    def _bound(self, pattern: JsonPath | None) -> JsonPath | None:
        return _bind(pattern, self.path)

    def _count(self, path: JsonPath | None) -> int | None:
        """A non-negative count at ``path``: an integer, or digits in a string (Knative annotations)."""
        value = get_path(self.obj.data, path) if path is not None else None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return None

    @cached_property
    def security_context(self) -> dict:
        return as_map(self.spec.get("securityContext"))

    @property
    def service_account(self) -> str:
        return service_account_name(self.spec)

    @cached_property
    def containers(self) -> list[Container]:
        """Every container, init and ephemeral included, in pod-spec order."""
        found: list[Container] = []
        for slot in self.site.containers:
            value = get_path(self.spec, slot.path)
            items = [(None, value)] if slot.single else enumerate(as_list(value))
            for index, item in items:
                if isinstance(item, dict):
                    path = (*self.path, *slot.path) if index is None else (*self.path, *slot.path, index)
                    injected = (*slot.probes_injected, *self.site.probes_injected)
                    renamed = dict(slot.renamed)
                    data = _renamed_view(item, renamed) if renamed else item
                    found.append(Container(data, path, slot.field_name, index or 0, slot.default_name, injected, renamed))
        return found

    def main_containers(self) -> list[Container]:
        return [c for c in self.containers if c.field_name == "containers"]

    def at(self, *parts: PathPart) -> JsonPath:
        """The path of a pod spec field where it is written: an inherited one where it is inherited from."""
        for length in (2, 1):
            origin = self.origins.get(parts[:length]) if len(parts) >= length else None
            if origin is not None:
                return (*origin, *parts[length:])
        return (*self.path, *parts)

    def owns(self, path: JsonPath) -> bool:
        """Whether a finding at ``path`` is the object's to fix.

        Always, unless the object only overrides a runtime's pod: then only findings on fields it writes
        are. Rules point a finding on a missing field at the pod or container holding it, or at the
        unwritten field itself.
        """
        if not self.site.overrides_runtime:
            return True
        roots = [c.path for c in self.containers] + [self.path]
        root = max((r for r in roots if path[: len(r)] == r), key=len, default=None)
        if root is None:
            return True  # not about the pod (metadata, another object)
        return len(path) > len(root) and get_path(self.obj.data, path[: len(root) + 1]) is not None


def _renamed_view(item: dict, renamed: Mapping[str, str]) -> dict:
    """A container as rules read it, from a kind that writes some of its fields under other names."""
    view = {key: value for key, value in item.items() if key not in renamed}
    view.update({name: item[written] for name, written in renamed.items() if written in item})
    return view


def _inherit(data: dict, own: dict, path: JsonPath, site: TemplateSite) -> tuple[dict, dict[JsonPath, JsonPath]]:
    """The effective pod spec at ``path``: its own fields, then what ``site.inherits`` adds; and origins."""
    spec = dict(own)
    origins: dict[JsonPath, JsonPath] = {}
    for layer in site.inherits:
        source_path = _bind(layer.source, path) or ()
        source = as_map(get_path(data, source_path))
        for name in layer.fields:
            if spec.get(name) is None and source.get(name) is not None:
                spec[name] = source[name]
                origins[(name,)] = (*source_path, name)
        for name in layer.by_name:
            items = list(as_list(spec.get(name)))
            taken = [as_map(item).get("name") for item in items]  # a list: a malformed name may be unhashable
            for index, item in enumerate(as_list(source.get(name))):
                if as_map(item).get("name") not in taken:
                    origins[(name, len(items))] = (*source_path, name, index)
                    items.append(item)
            if items:
                spec[name] = items
    return spec, origins


def service_account_name(pod_spec: dict) -> str:
    """The ServiceAccount pods of ``pod_spec`` run as (``serviceAccount`` is its deprecated alias)."""
    account = pod_spec.get("serviceAccountName") or pod_spec.get("serviceAccount")
    return account if isinstance(account, str) else DEFAULT_SERVICE_ACCOUNT


def as_map(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def get_path(data: Any, path: JsonPath) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(data, list) or not -len(data) <= part < len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[part] if isinstance(part, int) else data.get(part)
    return data


def _expand(data: Any, pattern: JsonPath, done: JsonPath = ()) -> Iterator[tuple[JsonPath, list[tuple[PathPart, Any]]]]:
    """Concrete paths matching ``pattern``; each with the (key, item) bound to every ``*``."""
    for position, part in enumerate(pattern):
        if part == "*":
            items: Any = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
            for key, item in items:
                for path, bound in _expand(item, pattern[position + 1 :], (*done, key)):
                    yield path, [(key, item), *bound]
            return
        if isinstance(part, int) or not isinstance(data, dict):
            return
        data = data.get(part)
        done = (*done, part)
    yield done, []


def _bind(pattern: JsonPath | None, concrete: JsonPath) -> JsonPath | None:
    """Substitute in ``pattern`` the keys that ``concrete`` chose for the shared ``*`` prefix."""
    if pattern is None:
        return None
    out: list[PathPart] = []
    for position, part in enumerate(pattern):
        out.append(concrete[position] if part == "*" and position < len(concrete) else part)
    return tuple(out)


def sites_for(obj: KubeObject) -> tuple[TemplateSite, ...]:
    group = obj.group
    custom = CUSTOM_SITES.get((group, obj.kind))
    if custom is not None:
        return custom
    if group in BUILTIN_GROUPS:
        return BUILTIN_SITES.get(obj.kind, ())
    return ()


def pod_templates(obj: KubeObject, *, spec_required: bool = True) -> list[PodTemplate]:
    """Every pod template ``obj`` holds (none for objects that run no pods).

    With ``spec_required=False`` a template that writes labels but no pod spec counts too, with an
    empty spec and ``has_spec`` False: no pod rule can judge it, but it is still a workload that
    Services select and autoscalers target (charts that leave the spec to an overlay or a controller).
    """
    found: list[PodTemplate] = []
    for site in sites_for(obj):
        for path, bound in _expand(obj.data, site.pod_spec):
            spec = get_path(obj.data, path)
            has_spec = isinstance(spec, dict)
            if not has_spec:
                metadata = as_map(get_path(obj.data, _bind(site.metadata, path))) if site.metadata else {}
                if spec_required or spec is not None or not as_map(metadata.get("labels")):
                    continue
                spec = {}
            spec, origins = _inherit(obj.data, spec, path, site) if site.inherits else (spec, {})
            role = site.role
            if bound:
                key, item = bound[-1]
                named = as_map(item).get(site.role_field) if site.role_field else None
                role = str(named) if named else str(key)
            template = PodTemplate(
                obj=obj,
                spec=spec,
                path=path,
                site=site,
                metadata_path=_bind(site.metadata, path),
                replicas_path=_bind(site.replicas, path),
                role=role,
                origins=origins,
                has_spec=has_spec,
            )
            if site.only_with_containers and not template.containers:
                continue
            found.append(template)
    return found
