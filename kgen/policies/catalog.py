"""The rule catalog: every category module's rules (importing a module registers its rules),
and the catalog as people read it: `kgen rules` and `kgen explain`."""

from __future__ import annotations

import json

from kgen.errors import InputError
# One module per category, in catalog order.
from kgen.policies import syntax, security, resources, reliability, gpu, probes, schema, deprecation, quota, scheduling, ingress, secrets, rbac
from kgen.policies.registry import RULES, Rule

RULE_MODULES = (syntax, security, resources, reliability, gpu, probes, schema, deprecation, quota, scheduling, ingress, secrets, rbac)


def all_rules() -> dict[str, Rule]:
    """Every built-in rule by id (the category modules registered them on import)."""
    return RULES


def catalog_table() -> str:
    rules = sorted(all_rules().values(), key=lambda r: (r.category, r.id))
    width = max(len(r.id) for r in rules)
    levels = max(len("SEVERITY"), *(len(r.severities) for r in rules))
    lines = [f"{'RULE':<{width}}  {'CATEGORY':<12} {'SEVERITY':<{levels}} FIX  SUMMARY"]
    for r in rules:
        lines.append(f"{r.id:<{width}}  {r.category:<12} {r.severities:<{levels}} {'yes' if r.fixable else '-':<4} {r.summary}")
    return "\n".join(lines) + "\n"


def catalog_json() -> str:
    rules = sorted(all_rules().values(), key=lambda r: r.id)
    data = [
        {
            "id": r.id,
            "category": r.category,
            "severity": r.severity,
            "caseSeverities": dict(r.case_severities),
            "fixable": r.fixable,
            "summary": r.summary,
            "why": r.why,
            "fix": r.fix,
            "silentWhen": r.silent_when,
            "params": dict(r.params),
        }
        for r in rules
    ]
    return json.dumps(data, indent=2) + "\n"


def explain(rule_id: str) -> str:
    import difflib
    import textwrap

    rules = all_rules()
    rule = rules.get(rule_id)
    if rule is None:
        close = difflib.get_close_matches(rule_id, list(rules), n=1)
        hint = f"; did you mean {close[0]}?" if close else "; `kgen rules` lists them"
        raise InputError(f"unknown rule {rule_id!r}{hint}")
    wrap = lambda text: textwrap.fill(text, 88, initial_indent="  ", subsequent_indent="  ")  # noqa: E731
    parts = [
        f"{rule.id}  ({rule.category}, default severity {rule.severity}{', fixable by kgen fix' if rule.fixable else ''})",
        "",
        wrap(rule.summary),
    ]
    if rule.case_severities:
        parts += ["", "Reported as:"] + [wrap(f"{level} when {case}") for case, level in rule.case_severities.items()]
    parts += ["", "Why:", wrap(rule.why)]
    if rule.silent_when:
        parts += ["", "Silent when:", wrap(rule.silent_when)]
    parts += ["", "How to fix:", wrap(rule.fix)]
    if rule.params:
        parts += ["", "Parameters (set under spec.rules." + rule.id + " in the cluster policy):"]
        parts += [f"  {key}: {json.dumps(value)}" for key, value in rule.params.items()]
    parts += ["", f"Silence it on one object with the annotation kgen.dev/ignore: \"{rule.id}\" or a comment # kgen:ignore {rule.id}."]
    return "\n".join(parts) + "\n"
