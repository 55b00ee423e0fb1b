"""`kgen capacity` output: a CapacityReport as aligned tables (bars on a terminal) or JSON.

Formatting only; every number comes from :mod:`kgen.capacity` and :mod:`kgen.policies.fit`.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from typing import Any

from kgen.capacity import CapacityReport, PoolCapacity
from kgen.loader import KubeObject
from kgen.policies.fit import QuotaUsage, describe
from kgen.policies.inventory import namespace_of
from kgen.quantity import format_quantity
from kgen.report.escape import text_line
from kgen.workloads import PodTemplate

_BAR = 20
_RED, _YELLOW, _GREEN, _BOLD, _RESET = "\033[31m", "\033[33m", "\033[32m", "\033[1m", "\033[0m"


def _float(amount: Fraction) -> float:
    """``amount`` as a float, clamped: quantities such as ``1e400`` or huge node counts exceed the float range."""
    try:
        return float(amount)
    except OverflowError:
        return sys.float_info.max if amount > 0 else -sys.float_info.max


def _percent(used: Fraction, limit: Fraction) -> float | None:
    if limit <= 0:
        return None if used > 0 else 0.0
    return round(_float(used * 100 / limit), 1)


def _where(scope: tuple[str | None, str]) -> str:
    env, namespace = scope
    return f"{namespace} [{env}]" if env else namespace


def _workload(template: PodTemplate) -> str:
    role = f" ({template.role})" if template.role else ""
    return f"{template.kind}/{template.obj.name}{role}"


# --- text -------------------------------------------------------------------------------------

_READABLE = [("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)]


def _readable(amount: Fraction, resource: str) -> str:
    """The exact quantity when it is short, else one decimal in the largest fitting unit (text only)."""
    exact = format_quantity(amount, resource)
    if len(exact) <= 6:
        return exact
    if "memory" in resource or "storage" in resource:
        for suffix, size in _READABLE:
            if abs(amount) >= size:
                return f"{_float(amount / size):.1f}{suffix}"
    return f"{_float(amount):.1f}"



def _safe(row: list[str]) -> list[str]:
    """Cells of names and reasons from the input, escaped before any colour of ours is added."""
    return [text_line(cell) for cell in row]


def _visible(cell: str) -> int:
    """Width on screen: colour codes take none."""
    for code in (_RED, _YELLOW, _GREEN, _BOLD, _RESET):
        cell = cell.replace(code, "")
    return len(cell)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Left-aligned columns, two spaces apart."""
    widths = [max(_visible(cell) for cell in column) for column in zip(header, *rows)]
    return [
        "  ".join(cell + " " * (width - _visible(cell)) for cell, width in zip(row, widths)).rstrip()
        for row in [header, *rows]
    ]


def _bar(used: Fraction, limit: Fraction) -> str:
    share = 1.0 if limit <= 0 else min(_float(used / limit), 1.0)
    filled = round(share * _BAR)
    color = _RED if used > limit else _YELLOW if share >= 0.8 else _GREEN
    return f"{color}{'█' * filled}{_RESET}{'░' * (_BAR - filled)}"


def _use(used: Fraction, limit: Fraction) -> str:
    percent = _percent(used, limit)
    text = "-" if percent is None else f"{percent:g}%"
    return f"{text} OVER" if used > limit else text


def _ordered(usages: list[QuotaUsage]) -> list[QuotaUsage]:
    """By namespace, then quota (input order of resources kept within a quota)."""
    return sorted(usages, key=lambda u: (u.quota.namespace, u.quota.scope[0] or "", u.quota.short))


def _quota_rows(usages: list[QuotaUsage], color: bool) -> list[str]:
    rows: list[list[str]] = []
    bars: list[str] = []
    for u in _ordered(usages):
        scope = ",".join(u.quota.scopes) or ("scopeSelector" if u.quota.selector else "")
        rows.append(_safe([
            _where(u.quota.scope), u.quota.short + (f" ({scope})" if scope else ""), u.resource,
            _readable(u.used, u.resource), _readable(u.hard, u.resource), _use(u.used, u.hard),
            ", ".join(f"{c.obj.kind}/{c.obj.name} {c.detail(u.resource, source=False)}" for c in u.largest[:2]),
        ]))  # fmt: skip
        bars.append(_bar(u.used, u.hard) if color else "")
    header = ["NAMESPACE", "QUOTA", "RESOURCE", "PEAK", "HARD", "USE", "LARGEST"]
    if color:  # bars go before the free-text LARGEST column
        header.insert(6, "")
        rows = [row[:6] + [bar] + row[6:] for row, bar in zip(rows, bars)]
    return _table(header, rows) if rows else []


def _pool_rows(pools: list[PoolCapacity], report: CapacityReport, color: bool) -> list[str]:
    rows = []
    for p in pools:
        supply = p.pool.supply
        for name in p.resources(report.is_gpu):
            demand, have = p.demand.get(name, Fraction(0)), supply.get(name, Fraction(0))
            row = _safe([p.pool.name, str(p.pool.count), name, _readable(demand, name), _readable(have, name), _use(demand, have)])
            rows.append(row + ([_bar(demand, have)] if color else []))
    header = ["POOL", "NODES", "RESOURCE", "DEMAND", "SUPPLY", "USE"] + ([""] if color else [])
    return _table(header, rows) if rows else []


def _gpu_rows(pools: list[PoolCapacity]) -> list[str]:
    rows = [
        _safe([p.pool.name, _workload(w.template), _where((w.template.obj.labels.get("environment"), namespace_of(w.template.obj))),
               describe(w.per_pod), str(w.peak), str(w.placed), str(w.per_node), str(w.fit)])
        for p in pools for w in p.workloads
    ]  # fmt: skip
    header = ["POOL", "WORKLOAD", "NAMESPACE", "PER POD", "PEAK", "PLACED", "PER NODE", "FIT"]
    return _table(header, rows) if rows else []


def render_text(report: CapacityReport, *, color: bool = False) -> str:
    def title(text: str) -> str:
        return f"{_BOLD}{text}{_RESET}" if color else text

    out = [title("Namespace quotas: usage at peak (requests/limits x most replicas) vs hard limit")]
    out += _quota_rows(report.usages, color) or ["  no quotas: add namespaces.<ns>.quota to the policy, or ResourceQuota objects to the input"]
    out += ["", title("Node pools: demand at peak vs supply (nodes x allocatable)")]
    out += _pool_rows(report.pools, report, color) or ["  no node pools in the policy (nodePools)"]
    gpu = _gpu_rows(report.pools)
    if gpu:
        out += ["", title("GPU workloads: replicas that fit on each pool they can run on (FIT = per node x nodes)")] + gpu
    if report.unplaced:
        out += ["", title("Workloads no pool can run (see scheduling-no-fitting-pool)")]
        rows = [
            _safe([_workload(u.template), namespace_of(u.template.obj), str(u.replicas),
                   "; ".join(f"{v.pool.name}: {', '.join(r.text for r in v.reasons)}" for v in u.verdicts)])
            for u in report.unplaced
        ]  # fmt: skip
        out += _table(["WORKLOAD", "NAMESPACE", "PEAK", "WHY"], rows)
    return "\n".join(out) + "\n"


# --- json -------------------------------------------------------------------------------------


def _ref(obj: KubeObject, role: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = dict(obj.ref())
    if role:
        ref["role"] = role
    return ref


def _quota_json(u: QuotaUsage) -> dict[str, Any]:
    return {
        "quota": u.quota.short,
        "scopes": list(u.quota.scopes),
        "resource": u.resource,
        "peak": format_quantity(u.used, u.resource),
        "hard": format_quantity(u.hard, u.resource),
        "percent": _percent(u.used, u.hard),
        "exceeded": u.exceeded,
        "contributors": [
            {"object": _ref(c.obj), "amount": format_quantity(c.amount, u.resource), "replicas": c.replicas,
             "perUnit": None if c.per_unit is None else format_quantity(c.per_unit, u.resource)}
            for c in u.largest
        ],
    }  # fmt: skip


def render_json(report: CapacityReport) -> str:
    namespaces: dict[tuple, dict[str, Any]] = {}
    for u in _ordered(report.usages):
        env, namespace = u.quota.scope
        entry = namespaces.setdefault(u.quota.scope, {"namespace": namespace, "environment": env, "quotas": []})
        entry["quotas"].append(_quota_json(u))
    pools = []
    for p in report.pools:
        supply = p.pool.supply
        pools.append({
            "name": p.pool.name,
            "count": p.pool.count,
            "resources": [
                {"resource": n, "demand": format_quantity(p.demand.get(n, Fraction(0)), n), "supply": format_quantity(supply.get(n, Fraction(0)), n),
                 "percent": _percent(p.demand.get(n, Fraction(0)), supply.get(n, Fraction(0)))}
                for n in p.resources(report.is_gpu)
            ],
            "gpuWorkloads": [
                {"object": _ref(w.template.obj, w.template.role), "perPod": {n: format_quantity(a, n) for n, a in w.per_pod.items()},
                 "peak": w.peak, "placed": w.placed, "perNode": w.per_node, "fit": w.fit}
                for w in p.workloads
            ],
        })  # fmt: skip
    unplaced = [
        {"object": _ref(u.template.obj, u.template.role), "peak": u.replicas,
         "reasons": {v.pool.name: [r.text for r in v.reasons] for v in u.verdicts}}
        for u in report.unplaced
    ]  # fmt: skip
    document = {"namespaces": list(namespaces.values()), "nodePools": pools, "unschedulable": unplaced}
    return json.dumps(document, indent=2) + "\n"
