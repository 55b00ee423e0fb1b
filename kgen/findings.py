"""What a lint run produces; shared by the engine (which judges) and the reporters (which print)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from kgen.loader import JsonPath, KubeObject, SourceFile

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}
CATEGORIES = (
    "schema",
    "deprecation",
    "gpu",
    "probes",
    "resources",
    "quota",
    "scheduling",
    "ingress",
    "secrets",
    "security",
    "reliability",
)


@dataclass(frozen=True)
class RuleMeta:
    """What `kgen explain` shows and reports embed (SARIF rule metadata)."""

    id: str
    category: str
    severity: Severity
    summary: str
    why: str
    fix: str
    fixable: bool = False


def describe_object(ref: dict | None) -> str:
    """An object as kubectl users read it: ``Kind namespace/name`` (``Kind name`` when cluster-scoped)."""
    if not ref:
        return ""
    name = f"{ref['namespace']}/{ref['name']}" if ref.get("namespace") else str(ref.get("name") or "")
    return f"{ref.get('kind') or ''} {name}".strip()


@dataclass(frozen=True, slots=True)  # slots: a monorepo's report holds tens of thousands
class Finding:
    rule: str
    category: str
    severity: Severity
    message: str
    file: str
    line: int
    column: int
    object: dict | None
    path: str
    environment: str | None = None
    # No line could be proven (a rendered chart object): the finding points at the object's first line.
    approximate: bool = False
    # Where the violation is, for `kgen fix`: the object as loaded and the unformatted path.
    # Not part of the JSON report, nor of equality.
    owner: KubeObject | None = field(default=None, compare=False, repr=False)
    node_path: JsonPath = field(default=(), compare=False, repr=False)
    # The object's place in the input (its identity once the object itself is freed).
    subject: int | None = field(default=None, compare=False, repr=False)
    # Set while the verdict waits for the whole input (the engine settles it: Violation.settle).
    settle: Callable[[Any], Any] | None = field(default=None, compare=False, repr=False)

    def sort_key(self) -> tuple:
        return (self.file, self.line, self.column, self.rule, self.message, self.path, _object_key(self.object), self.environment or "")

    def identity(self) -> tuple:
        """What makes two findings the same: rule, object, path, environment (and message).

        Never the line: a chart template stamps many objects, a values line feeds many paths,
        and each of them is its own finding. The object is the loaded object itself, by its place
        in the input (two copies of one name in two files are two objects); findings about no
        object are told apart by where they are.
        """
        where: object = (self.file, self.line, self.column)
        if self.subject is not None:
            where = self.subject
        elif self.owner is not None:
            where = id(self.owner)
        return (self.rule, where, _object_key(self.object), self.path, self.environment, self.message)

    def to_json(self) -> dict:
        out = {
            "rule": self.rule,
            "category": self.category,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "object": self.object,
            "path": self.path,
        }
        if self.environment is not None:
            out["environment"] = self.environment
        if self.approximate:
            out["approximate"] = True
        return out


def _object_key(ref: dict | None) -> tuple:
    if not ref:
        return ()
    return tuple(str(ref.get(key) or "") for key in ("apiVersion", "kind", "namespace", "name"))


@dataclass
class LintReport:
    findings: list[Finding]
    files: int
    objects: int
    rules: list[RuleMeta]
    # Files as read, by display name, so text output can quote the offending line.
    sources: dict[str, SourceFile] = field(default_factory=dict)
    # Baseline entries that no longer occur (only with --baseline).
    fixed_baseline: list[dict] = field(default_factory=list)
    # Findings the baseline hid (only with --baseline).
    baselined: int = 0
    # Where the policy came from: a file name, or "<built-in policy>".
    policy: str = ""
    # Objects a rule skipped because it could not check their shape (said on stderr, never dropped).
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = {severity: 0 for severity in SEVERITIES}
        for finding in self.findings:
            counts[finding.severity] += 1
        return counts

    def summary(self) -> dict[str, int]:
        return {"files": self.files, "objects": self.objects, **self.counts()}
