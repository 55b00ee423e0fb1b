"""The ``kgen capacity`` plan: quota usage at peak and each node pool's demand against its
supply. Every number comes from :mod:`kgen.policies.fit`, the arithmetic the quota and
scheduling rules use too; this module only places pods on pools for the report."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from kgen.gpus import is_gpu
from kgen.policies.fit import ClusterFit, NodePool, PoolVerdict, QuotaUsage, add_amounts, pods_per_node, schedulable_requests
from kgen.workloads import PodTemplate


@dataclass
class PoolWorkload:
    """A GPU workload that can run on a pool: how many of its pods the pool holds."""

    template: PodTemplate
    per_pod: dict[str, Fraction]
    peak: int
    placed: int
    per_node: int
    fit: int  # pods of it the whole pool holds (empty but for daemon pods)


@dataclass
class PoolCapacity:
    pool: NodePool
    demand: dict[str, Fraction]
    workloads: list[PoolWorkload]

    def resources(self, gpu: Any) -> list[str]:
        """cpu, memory, then every GPU/MIG resource the pool offers or is asked for."""
        names = [n for n in ("cpu", "memory") if n in self.pool.allocatable or n in self.demand]
        extra = sorted(n for n in {*self.pool.allocatable, *self.demand} if gpu(n) and n not in names)
        return names + extra


@dataclass
class Unplaced:
    template: PodTemplate
    replicas: int
    verdicts: list[PoolVerdict]


@dataclass
class CapacityReport:
    usages: list[QuotaUsage]
    pools: list[PoolCapacity]
    unplaced: list[Unplaced]
    gpu_patterns: list[str] | None

    def is_gpu(self, name: str) -> bool:
        return is_gpu(name, self.gpu_patterns)


def capacity_report(fit: ClusterFit) -> CapacityReport:
    """Quota usage at peak, and each pool's demand vs supply.

    Pods are placed pool by pool in policy order: daemon pods on every pool they select,
    then each workload's peak replicas on the first pools that can host them, as many as
    the pool's remaining capacity holds (summed over its nodes), the rest on the next
    pool; what no pool can hold stays on its first candidate, so that pool shows over 100%.
    """
    listed = fit.policy.gpu.get("resources")
    patterns = [p for p in listed if isinstance(p, str)] if isinstance(listed, list) else None
    demand: dict[str, dict[str, Fraction]] = {pool.name: {} for pool in fit.pools}
    remaining = {pool.name: dict(pool.supply) for pool in fit.pools}
    workloads: dict[str, list[PoolWorkload]] = defaultdict(list)
    unplaced: list[Unplaced] = []
    templates = sorted(fit.templates, key=lambda t: not t.site.daemon)
    for template in templates:
        pod = fit.pod(template)
        requests = schedulable_requests(pod)
        verdicts = fit.verdicts(template)
        if template.site.daemon:
            for verdict in verdicts:
                if verdict.selected:
                    _place(demand, remaining, verdict.pool, requests, verdict.pool.count)
            continue
        candidates = [v.pool for v in verdicts if not v.reasons]
        peak = fit.peak_replicas(template)
        if not candidates:
            if fit.pools:
                unplaced.append(Unplaced(template, peak, verdicts))
            continue
        left = peak
        placed: dict[str, int] = {}
        for pool in candidates:
            room = min((int(remaining[pool.name].get(n, amount) // amount) for n, amount in requests.items() if n in pool.supply), default=left)
            take = max(0, min(left, room))
            placed[pool.name] = take
            left -= take
        placed[candidates[0].name] += left
        gpus = {n: a for n, a in pod.requests.items() if is_gpu(n, patterns) and a}
        for pool in candidates:
            _place(demand, remaining, pool, requests, placed[pool.name])
            if gpus:
                per_node = pods_per_node(pod, pool, fit.daemon_reserved.get(pool.name))
                workloads[pool.name].append(PoolWorkload(template, gpus, peak, placed[pool.name], per_node, per_node * pool.count))
    pools = [PoolCapacity(pool, demand[pool.name], workloads[pool.name]) for pool in fit.pools]
    return CapacityReport(fit.usages, pools, unplaced, patterns)


def _place(demand: dict, remaining: dict, pool: NodePool, requests: dict[str, Fraction], pods: int) -> None:
    if pods <= 0:
        return
    total = {name: amount * pods for name, amount in requests.items()}
    add_amounts(demand[pool.name], total)
    for name, amount in total.items():
        if name in remaining[pool.name]:
            remaining[pool.name][name] -= amount
