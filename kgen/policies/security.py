"""Security context and image rules: what a compromised container could do to its node."""

from __future__ import annotations

from typing import Iterator

from kgen.loader import JsonPath
from kgen.policies.fixing import container_path, enclosing, on_windows, set_missing
from kgen.policies.registry import RuleContext, Violation, fixer, rule
from kgen.workloads import Container, PodTemplate, as_list, as_map, get_path

DANGEROUS_CAPABILITIES = [
    "ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "SYS_RAWIO",
    "SYS_BOOT", "BPF", "PERFMON", "DAC_READ_SEARCH", "SYS_TIME",
]  # fmt: skip


def _effective(container: Container, template: PodTemplate, field: str) -> object:
    """A container security setting, falling back to the pod's (for fields both levels have)."""
    value = container.security_context.get(field)
    return template.security_context.get(field) if value is None else value


@rule(
    id="security-privileged",
    category="security",
    severity="error",
    scope="workload",
    summary="A container runs privileged.",
    why="""A privileged container has every capability and all host devices: escaping to the node is
    trivial, and with it every other pod's secrets on that node.""",
    fix="""Remove `securityContext.privileged: true`. Add only the capabilities the process needs; GPU
    access goes through the device plugin's resource, not privileged mode.""",
)
def privileged(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    for c in template.containers:
        if c.security_context.get("privileged") is True:
            yield Violation(c.at("securityContext", "privileged"), f"container {c.name!r} runs privileged; remove securityContext.privileged")


@rule(
    id="security-privilege-escalation",
    category="security",
    severity="warning",
    scope="workload",
    summary="A container may gain more privileges than its parent process (allowPrivilegeEscalation not false).",
    why="""Unless allowPrivilegeEscalation is false, setuid binaries and file capabilities can raise a
    process' privileges inside the container; the restricted Pod Security Standard forbids it.""",
    fix="Set `securityContext.allowPrivilegeEscalation: false` on every container.",
)
def privilege_escalation(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    for c in template.containers:
        value = c.security_context.get("allowPrivilegeEscalation")
        if value is True:
            yield Violation(c.at("securityContext", "allowPrivilegeEscalation"), f"container {c.name!r} allows privilege escalation; set allowPrivilegeEscalation: false")
        elif value is None:
            where = c.at("securityContext") if c.data.get("securityContext") is not None else c.path
            yield Violation(where, f"container {c.name!r} does not set securityContext.allowPrivilegeEscalation: false")


def _linux_container(data: dict, path: JsonPath) -> dict | None:
    """The container a security violation points into, unless it runs on Windows (no Linux security fields)."""
    cpath = container_path(path)
    container = get_path(data, cpath)
    return container if isinstance(container, dict) and not on_windows(data, cpath) else None


@fixer("security-privilege-escalation")
def fix_privilege_escalation(data: dict, path: JsonPath, ctx: RuleContext) -> bool:
    """Only where it is unset (an explicit true is a decision), and never beside privileged or an
    added CAP_SYS_ADMIN: the API server rejects allowPrivilegeEscalation: false with those."""
    container = _linux_container(data, path)
    if container is None:
        return False
    context = as_map(container.get("securityContext"))
    added = {_cap(name) for name in as_list(as_map(context.get("capabilities")).get("add"))}
    if context.get("privileged") is True or added & {"SYS_ADMIN", "ALL"}:
        return False
    return set_missing(container, ("securityContext", "allowPrivilegeEscalation"), False)


@rule(
    id="security-run-as-root",
    category="security",
    severity="warning",
    scope="workload",
    summary="A container may run as root (runAsNonRoot not true and no non-zero runAsUser, or runAsUser 0).",
    why="""Root in a container is root on the node's kernel: one kernel or runtime bug away from the host.
    Images often default to root without saying so.""",
    fix="""Set `runAsNonRoot: true` (pod or container securityContext) and, if the image has no numeric
    USER, a `runAsUser` above 0.""",
)
def run_as_root(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    for c in template.containers:
        user = _effective(c, template, "runAsUser")
        non_root = _effective(c, template, "runAsNonRoot")
        if user == 0:
            where = c.at("securityContext", "runAsUser") if c.security_context.get("runAsUser") is not None else template.at("securityContext", "runAsUser")
            yield Violation(where, f"container {c.name!r} runs as root (runAsUser: 0); use a non-zero user")
        elif non_root is not True and not (isinstance(user, int) and not isinstance(user, bool) and user > 0):
            where = c.at("securityContext") if c.data.get("securityContext") is not None else c.path
            yield Violation(where, f"container {c.name!r} may run as root; set runAsNonRoot: true")


@fixer("security-run-as-root")
def fix_run_as_root(data: dict, path: JsonPath, ctx: RuleContext) -> bool:
    """runAsNonRoot: true on the container, unless runAsUser: 0 or runAsNonRoot: false is written for it
    (in the container or the pod): a contradiction the user has to resolve."""
    container = _linux_container(data, path)
    if container is None or path[-1:] == ("runAsUser",):
        return False
    for mapping in enclosing(data, container_path(path)):
        context = as_map(mapping.get("securityContext"))
        if context.get("runAsUser") == 0 or context.get("runAsNonRoot") is False:
            return False
    return set_missing(container, ("securityContext", "runAsNonRoot"), True)


def _cap(name: object) -> str:
    return str(name).upper().removeprefix("CAP_")


@rule(
    id="security-capabilities",
    category="security",
    severity="warning",
    scope="workload",
    summary="A container does not drop ALL capabilities, or adds a dangerous one (SYS_ADMIN, NET_ADMIN, ...).",
    why="""The default capability set lets a process change file ownership, bind raw sockets and more.
    Dropping ALL and adding back only what is needed removes most privilege escalation paths.""",
    fix="""Set `securityContext.capabilities.drop: [ALL]` and add back only specific, harmless capabilities
    (e.g. NET_BIND_SERVICE).""",
    params={"dangerous": DANGEROUS_CAPABILITIES},
)
def capabilities(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    dangerous = {_cap(name) for name in ctx.params["dangerous"]}
    for c in template.containers:
        caps = as_map(c.security_context.get("capabilities"))
        for index, added in enumerate(as_list(caps.get("add"))):
            if _cap(added) in dangerous:
                yield Violation(c.at("securityContext", "capabilities", "add", index), f"container {c.name!r} adds the dangerous capability {added}")
        if "ALL" not in {_cap(name) for name in as_list(caps.get("drop"))}:
            if caps:
                where = c.at("securityContext", "capabilities")
            elif c.data.get("securityContext") is not None:
                where = c.at("securityContext")
            else:
                where = c.path
            yield Violation(where, f"container {c.name!r} does not drop ALL capabilities; add capabilities.drop: [ALL]")


@fixer("security-capabilities")
def fix_capabilities(data: dict, path: JsonPath, ctx: RuleContext) -> bool:
    """Adds ALL to capabilities.drop; a dangerous added capability is the user's to remove."""
    container = _linux_container(data, path)
    if container is None or path[-2:-1] == ("add",):
        return False
    drop = as_map(as_map(container.get("securityContext")).get("capabilities")).get("drop")
    if isinstance(drop, list):
        if "ALL" in {_cap(name) for name in drop}:
            return False
        drop.append("ALL")
        return True
    return set_missing(container, ("securityContext", "capabilities", "drop"), ["ALL"])


@rule(
    id="security-host-namespaces",
    category="security",
    severity="error",
    scope="workload",
    summary="The pod shares the node's network, PID or IPC namespace (hostNetwork/hostPID/hostIPC).",
    why="""Host namespaces let a pod see and talk to every process and socket on the node, sniff traffic
    and bypass network policies.""",
    fix="Remove hostNetwork, hostPID and hostIPC unless this is a node agent that truly needs them (then suppress the rule on it).",
)
def host_namespaces(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if template.spec.get(field) is True:
            yield Violation(template.at(field), f"pod sets {field}: true and shares the node's namespace")


@rule(
    id="security-host-path",
    category="security",
    severity="warning",
    scope="workload",
    summary="The pod mounts a directory of the node (hostPath volume).",
    why="""hostPath volumes expose the node's filesystem; writable ones (or the container runtime socket)
    are a direct path to taking over the node.""",
    fix="Use a PersistentVolumeClaim, emptyDir, ConfigMap or CSI volume instead of hostPath.",
)
def host_path(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    for index, volume in enumerate(as_list(template.spec.get("volumes"))):
        host = as_map(volume).get("hostPath")
        if host is not None:
            path = as_map(host).get("path", "?")
            yield Violation(template.at("volumes", index, "hostPath"), f"volume {as_map(volume).get('name')!r} mounts the node path {path}")


@rule(
    id="security-readonly-rootfs",
    category="security",
    severity="info",
    scope="workload",
    summary="A container's root filesystem is writable (readOnlyRootFilesystem not true).",
    why="""A read-only root filesystem stops an attacker from dropping tools or changing binaries, and
    makes writes to unexpected places fail loudly.""",
    fix="Set `securityContext.readOnlyRootFilesystem: true` and mount an emptyDir where the process must write.",
)
def readonly_rootfs(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    for c in template.containers:
        if c.security_context.get("readOnlyRootFilesystem") is not True:
            where = c.at("securityContext") if c.data.get("securityContext") is not None else c.path
            yield Violation(where, f"container {c.name!r} has a writable root filesystem; set readOnlyRootFilesystem: true")


CONFINING_SECCOMP = ("RuntimeDefault", "Localhost")


def _seccomp_type(security_context: dict) -> object:
    return as_map(security_context.get("seccompProfile")).get("type")


@rule(
    id="security-seccomp-missing",
    category="security",
    severity="warning",
    scope="workload",
    summary="Neither the pod nor a container sets a seccomp profile (RuntimeDefault or Localhost), or one sets Unconfined.",
    why="""Without a seccomp profile the container may call every system call of the node's kernel, the
    raw material of most container escapes; the runtime's default profile blocks the rarely needed,
    dangerous ones (keyctl, unshare, mount...). The restricted Pod Security Standard requires
    RuntimeDefault or Localhost, and Kubernetes does not apply one unless the kubelet is told to.""",
    fix="""Set `securityContext.seccompProfile: {type: RuntimeDefault}` on the pod (it covers every
    container), or a Localhost profile for a process that needs more.""",
    silent_when="""the pod runs Windows (os.name: windows), where seccomp does not exist.""",
)
def seccomp_missing(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    if as_map(template.spec.get("os")).get("name") == "windows":
        return
    pod = _seccomp_type(template.security_context)
    if pod is not None and pod not in CONFINING_SECCOMP:
        yield Violation(template.at("securityContext", "seccompProfile", "type"), f"the pod sets seccompProfile type {pod!r}; use RuntimeDefault or Localhost")
    uncovered = []
    for c in template.containers:
        own = _seccomp_type(c.security_context)
        if own is not None and own not in CONFINING_SECCOMP:
            yield Violation(c.at("securityContext", "seccompProfile", "type"), f"container {c.name!r} sets seccompProfile type {own!r}; use RuntimeDefault or Localhost")
        elif own is None and pod is None:
            uncovered.append(c.name)
    if uncovered:
        where = template.at("securityContext") if template.spec.get("securityContext") is not None else template.path
        names = ", ".join(repr(name) for name in uncovered)
        yield Violation(where, f"no seccomp profile for container{'s' if len(uncovered) > 1 else ''} {names}; set securityContext.seccompProfile.type: RuntimeDefault on the pod")


@fixer("security-seccomp-missing")
def fix_seccomp_missing(data: dict, path: JsonPath, ctx: RuleContext) -> bool:
    """seccompProfile RuntimeDefault on the pod where no profile is set; an explicit Unconfined is a
    decision the user made."""
    pod = get_path(data, path[:-1] if path[-1:] == ("securityContext",) else path)
    if not isinstance(pod, dict) or as_map(pod.get("os")).get("name") == "windows":
        return False
    return set_missing(pod, ("securityContext", "seccompProfile"), {"type": "RuntimeDefault"})


def image_tag(image: str) -> str | None:
    """The tag of an image reference (None when it has none), or ``@`` when pinned by digest."""
    if "@" in image:
        return "@"
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


@rule(
    id="image-tag-unpinned",
    category="security",
    severity="warning",
    scope="workload",
    summary="A container image has no tag or uses `latest`.",
    why="""Without a fixed tag (or digest) the image changes under you: rollouts and rollbacks are not
    reproducible and nodes may run different code for the same manifest.""",
    fix="Pin the image to a version tag, or better to a digest (`image@sha256:...`).",
)
def image_unpinned(template: PodTemplate, ctx: RuleContext) -> Iterator[Violation]:
    for c in template.containers:
        image = c.data.get("image")
        if not isinstance(image, str) or not image:
            continue
        tag = image_tag(image)
        if tag is None:
            yield Violation(c.at("image"), f"container {c.name!r} image {image!r} has no tag; pin a version or digest")
        elif tag == "latest":
            yield Violation(c.at("image"), f"container {c.name!r} image {image!r} uses the latest tag; pin a version or digest")
