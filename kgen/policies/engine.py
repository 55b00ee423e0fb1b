"""Run the catalog over loaded objects: check -> locate -> policy -> suppress -> findings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from kgen.errors import RuleCrash
from kgen.findings import Finding, LintReport, SEVERITY_RANK
from kgen.loader import JsonPath, KubeObject, LoadResult, format_path
from kgen.policies.inventory import Inventory
from kgen.policies.policy import ClusterPolicy
from kgen.policies.registry import Rule, RuleContext, Violation, all_rules

IGNORE_ANNOTATION = "kgen.dev/ignore"
_IGNORE_COMMENT = re.compile(r"#\s*kgen:ignore\b([^#]*)")


@dataclass
class _Active:
    rule: Rule
    context: RuleContext
    severity: str | None  # set by the policy; None leaves it to the violation or the rule


def active_rules(policy: ClusterPolicy) -> list[Rule]:
    """The catalog plus the policy's custom rules, minus what the policy disables."""
    from kgen.policies.custom import custom_rules

    candidates = [*all_rules().values(), *custom_rules(policy)]
    return [rule for rule in candidates if policy.enabled(rule.id)]


def rule_context(rule: Rule, policy: ClusterPolicy, inventory: Inventory) -> RuleContext:
    """What the rule's check (and its fixer) may consult: the policy and its params for the rule."""
    return RuleContext(policy, policy.params(rule.id, dict(rule.params)), inventory)


def lint(load: LoadResult, policy: ClusterPolicy) -> LintReport:
    """Every finding for the loaded input under ``policy``."""
    rules = active_rules(policy)
    inventory = Inventory(load.objects)
    active = [_Active(rule, rule_context(rule, policy, inventory), policy.rule_setting(rule.id).get("severity")) for rule in rules]
    object_rules = [a for a in active if a.rule.scope == "object"]
    workload_rules = [a for a in active if a.rule.scope == "workload"]
    inventory_rules = [a for a in active if a.rule.scope == "inventory"]

    findings: list[Finding] = []
    for obj in load.objects:
        for entry in object_rules:
            if entry.rule.kinds is None or obj.kind in entry.rule.kinds:
                findings.extend(_run(entry, obj, obj))
        for template in inventory.templates_of(obj):
            for entry in workload_rules:
                findings.extend(_run(entry, template, obj, template.owns))
    for entry in inventory_rules:
        findings.extend(_run(entry, inventory, None))

    for problem in load.problems:
        input_rule = all_rules()[problem.rule]
        findings.append(
            Finding(problem.rule, input_rule.category, input_rule.severity, problem.message, problem.file, problem.line, problem.column, None, "")
        )

    unique = {f.identity(): f for f in findings}
    return LintReport(
        findings=sorted(unique.values(), key=Finding.sort_key),
        files=len(load.files),
        objects=len(load.objects),
        rules=sorted(rules, key=lambda r: r.id),
        sources={source.name: source for source in load.files},
    )


def _run(entry: _Active, target: object, obj: KubeObject | None, owns: Callable[[JsonPath], bool] | None = None) -> list[Finding]:
    """The findings of one check; ``owns`` drops violations the target's object does not answer for."""
    rule = entry.rule
    assert rule.check is not None
    try:
        violations = list(rule.check(target, entry.context))
    except Exception as exc:  # a bug in a rule must not read as a finding-free run
        where = f"{obj.source.name}:{obj.first_line()}: " if obj is not None else ""
        raise RuleCrash(rule.id, where) from exc
    out = []
    for violation in violations:
        owner = violation.obj or obj
        if owner is None or (owns is not None and violation.obj is None and not owns(violation.path)):
            continue
        # Suppression comments are read where the object was parsed (rendered text keeps them).
        line, column = owner.locate(violation.path)
        if not _suppressed(rule.id, owner, line):
            out.append(_finding(entry, violation, owner, line, column))
    return out


def _finding(entry: _Active, violation: Violation, obj: KubeObject, line: int, column: int) -> Finding:
    """The finding, placed in the file the user wrote (a template, a kustomize source, a spec)."""
    file, approximate = obj.source.name, False
    if obj.origin is not None:
        file, line, column, approximate = obj.origin(violation.path)
    return Finding(
        rule=entry.rule.id,
        category=entry.rule.category,
        severity=entry.severity or violation.severity or entry.rule.severity,  # type: ignore[arg-type]
        message=violation.message,
        file=file,
        line=line,
        column=column,
        object=obj.ref(),
        path=format_path(violation.path),
        environment=obj.labels.get("environment"),
        owner=obj,
        node_path=violation.path,
        approximate=approximate,
    )


def _ids(text: str) -> set[str]:
    ids = {part for part in re.split(r"[\s,]+", text.strip()) if part}
    return ids or {"all"}


def _suppressed(rule_id: str, obj: KubeObject, line: int) -> bool:
    """``kgen.dev/ignore`` on the object, or ``# kgen:ignore`` on the line or the object's head."""
    annotation = obj.annotations.get(IGNORE_ANNOTATION)
    if isinstance(annotation, str) and _matches(rule_id, _ids(annotation)):
        return True
    if "kgen:ignore" not in obj.source.text:
        return False  # the common case: no need to split the file into lines
    lines = obj.source.lines
    candidates = [line, *_head_lines(obj)]
    for number in candidates:
        match = _IGNORE_COMMENT.search(lines[number - 1]) if 0 < number <= len(lines) else None
        if match and _matches(rule_id, _ids(match.group(1))):
            return True
    return False


def _matches(rule_id: str, ids: set[str]) -> bool:
    return rule_id in ids or "all" in ids or "*" in ids


def _head_lines(obj: KubeObject) -> list[int]:
    """The object's first line and the comment lines right above it."""
    first = obj.first_line()
    head = [first]
    lines = obj.source.lines
    number = first - 1
    while number >= 1 and lines[number - 1].lstrip().startswith("#"):
        head.append(number)
        number -= 1
    return head


def fails(report: LintReport, fail_on: str) -> bool:
    threshold = SEVERITY_RANK[fail_on]
    return any(SEVERITY_RANK[f.severity] >= threshold for f in report.findings)
