"""What counts as a GPU resource and whether a toleration admits a taint: facts shared by the GPU
rules (kgen.policies.gpu) and the cluster fit arithmetic (kgen.policies.fit), kept below both."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

from kgen.workloads import as_map

_REAL_GPU = re.compile(
    r"nvidia\.com/gpu(\.shared)?"
    r"|nvidia\.com/mig-(\d+c\.)?\d+g\.\d+gb(\.[a-z0-9]+)*"  # 1g.10gb, 1c.3g.20gb, 1g.10gb.me
    r"|amd\.com/gpu"
)


def is_known_gpu(name: str) -> bool:
    """A GPU resource name the device plugins publish, whatever the policy lists."""
    return bool(_REAL_GPU.fullmatch(name))


def is_gpu(name: str, patterns: list[str] | None) -> bool:
    """A resource that gives the container GPUs (a whole device, a MIG slice or a shared share)."""
    return is_known_gpu(name) or any(fnmatchcase(name, p) for p in patterns or ())


def tolerates(toleration: Any, taint: dict) -> bool:
    """Kubernetes' ToleratesTaint; a policy taint without value or effect matches any."""
    tol = as_map(toleration)
    key = tol.get("key") or ""
    operator = tol.get("operator") or "Equal"
    effect = tol.get("effect") or ""
    if effect and taint.get("effect") and effect != taint.get("effect"):
        return False
    if not key:
        return operator == "Exists"
    if key != taint.get("key"):
        return False
    if operator == "Exists":
        return True
    if operator != "Equal":
        return False
    wanted = taint.get("value")
    return wanted is None or str(tol.get("value") or "") == str(wanted)
