"""Rules: each rule is a declarative record plus one check function (the category modules
register theirs on import; kgen.policies.catalog imports them all).

A check function receives what its scope says and yields :class:`Violation`\\ s;
it never parses YAML, prints or decides severities. The engine locates each
violation, applies the policy and suppressions, and turns it into a finding.

Scopes:
- ``workload``: called once per pod template (any kind, see kgen.workloads);
- ``object``: called once per object whose kind is in ``kinds``;
- ``inventory``: called once with every object of the input (cross-object rules);
- ``loader``: produced by the loader itself (no check function).

A rule may also declare a fix with :func:`fixer`: a function that edits the object's data
in place for one violation (the path the check yielded) and says whether it changed
anything. kgen.fix turns those edits into minimal text changes of the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, Mapping

from kgen.findings import CATEGORIES, RuleMeta, Severity
from kgen.loader import JsonPath, KubeObject

if TYPE_CHECKING:
    from kgen.policies.inventory import Inventory
    from kgen.policies.cluster_policy import ClusterPolicy

Scope = Literal["workload", "object", "inventory", "loader"]



@dataclass(frozen=True)
class Violation:
    """One thing wrong, at ``path`` of ``obj`` (the object being checked when None).

    ``severity`` lets one case of a rule weigh less (or more) than the rule's default;
    a severity set in the policy still wins over both.
    """

    path: JsonPath
    message: str
    obj: KubeObject | None = None
    severity: Severity | None = None
    # A verdict that waits for the whole input (a Service in a later file may select the pod):
    # called once every file is read, with the complete inventory, it returns the violation as
    # the input decides it (its message and severity; the path stays this one; ``message`` may be
    # left empty here), or None when there is none after all. It must hold small facts (names,
    # labels, paths), never the object: a streaming lint frees the objects before it settles.
    settle: Callable[["Inventory"], "Violation | None"] | None = None


@dataclass(frozen=True)
class RuleContext:
    """What a check may consult besides its target: the policy, its params, the whole input."""

    policy: "ClusterPolicy"
    params: Mapping[str, Any]
    inventory: "Inventory"


CheckFn = Callable[[Any, RuleContext], Iterable[Violation]]
# (the object's data, to edit in place; the violation's path; the rule's context) -> changed?
FixFn = Callable[[dict, JsonPath, RuleContext], bool]


@dataclass(frozen=True)
class Rule(RuleMeta):
    scope: Scope = "object"
    kinds: frozenset[str] | None = None  # object scope: the kinds checked (None: every kind)
    params: Mapping[str, Any] = field(default_factory=dict)
    check: CheckFn | None = None
    fixer: FixFn | None = None
    # The context that keeps the rule quiet ("silent when ..."), for `kgen rules --json` and `kgen explain`.
    silent_when: str = ""
    # Cases reported at another severity than ``severity`` (case -> severity), shown by `kgen rules`/`explain`.
    case_severities: Mapping[str, Severity] = field(default_factory=dict)
    # A workload or object check that reads an analysis of the whole input (kgen.policies.fit), not
    # just the inventory's lookups: a streaming lint runs it once every file is read.
    whole_input: bool = False

    @property
    def severities(self) -> str:
        """The severities the rule reports under the default policy: ``error``, or ``error/warning``."""
        others = [s for s in dict.fromkeys(self.case_severities.values()) if s != self.severity]
        return "/".join([self.severity, *others])


RULES: dict[str, Rule] = {}


def _register(entry: Rule) -> None:
    if entry.category not in CATEGORIES:
        raise ValueError(f"rule {entry.id}: unknown category {entry.category!r}")
    if entry.id in RULES:
        raise ValueError(f"rule {entry.id} registered twice")
    RULES[entry.id] = entry


def _prose(text: str) -> str:
    """Docstring-style text as one line (reports and `kgen explain` wrap it themselves)."""
    return " ".join(text.split())


def rule(
    *,
    id: str,
    category: str,
    severity: Severity,
    summary: str,
    why: str,
    fix: str,
    scope: Scope = "object",
    kinds: Iterable[str] | None = None,
    params: Mapping[str, Any] | None = None,
    silent_when: str = "",
    case_severities: Mapping[str, Severity] | None = None,
    whole_input: bool = False,
) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated function as the check of a rule."""

    def register(check: CheckFn) -> CheckFn:
        _register(
            Rule(
                id=id,
                category=category,
                severity=severity,
                summary=_prose(summary),
                why=_prose(why),
                fix=_prose(fix),
                scope=scope,
                kinds=frozenset(kinds) if kinds is not None else None,
                params=dict(params or {}),
                check=check,
                silent_when=_prose(silent_when),
                case_severities={_prose(case): level for case, level in (case_severities or {}).items()},
                whole_input=whole_input,
            )
        )
        return check

    return register


def declare(*, id: str, category: str, severity: Severity, summary: str, why: str, fix: str) -> None:
    """Register a rule whose findings come from the loader, not from a check."""
    _register(Rule(id=id, category=category, severity=severity, summary=_prose(summary), why=_prose(why), fix=_prose(fix), scope="loader"))


def fixer(*ids: str) -> Callable[[FixFn], FixFn]:
    """Declare the decorated function as the automatic fix of already registered rules.

    A fixer only fills in what is missing or unambiguous; when the violation's case is not
    safe to fix (a value the user wrote, a choice to make) it returns False and the finding stays.
    """

    def register(fix: FixFn) -> FixFn:
        for rule_id in ids:
            if RULES[rule_id].fixer is not None:
                raise ValueError(f"rule {rule_id} has two fixers")
            RULES[rule_id] = replace(RULES[rule_id], fixable=True, fixer=fix)
        return fix

    return register
