"""What a lint run produces; shared by the engine (which judges) and the reporters (which print)."""

from __future__ import annotations

import marshal
import pickle
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, overload

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
    # Set while the verdict waits for the whole input (the engine settles it: Violation.settle).
    settle: Callable[[Any], Any] | None = field(default=None, compare=False, repr=False)
    # About a secret value (a secrets rule, a spec holding a credential): a report that quotes
    # the finding's source line must not show the value. Not part of the JSON report.
    secret_value: bool = field(default=False, compare=False, repr=False)

    def sort_key(self) -> tuple:
        return (self.file, self.line, self.column, self.rule, self.message, self.path, _object_key(self.object), self.environment or "")

    def identity(self) -> tuple:
        """What makes two findings the same: rule, object, path, environment (and message), where
        the user wrote it.

        A chart template stamps many objects and a values line feeds many paths: each of them is
        its own finding (another object or path). Two copies of one name in two files are two
        objects (two places); one base object that several Kustomize roots of a walk build is one,
        and its finding at the base's line is reported once, not once per root.
        """
        return (self.rule, (self.file, self.line, self.column), _object_key(self.object), self.path, self.environment, self.message)

    def to_json(self) -> dict:
        return row_json(finding_row(self))


# A finding of a streaming lint as plain data (it refers to no object: no ``owner``, no
# ``node_path``): rule, category, severity, message, file, line, column, object, path,
# environment, approximate, secret_value.
Row = tuple


def finding_row(finding: Finding) -> Row:
    f = finding
    return (f.rule, f.category, f.severity, f.message, f.file, f.line, f.column, f.object, f.path, f.environment, f.approximate, f.secret_value)


def row_finding(row: Row) -> Finding:
    return Finding(*row[:11], secret_value=row[11])


def row_sort_key(row: Row) -> tuple:
    """``Finding.sort_key`` of the row's finding."""
    return (row[4], row[5], row[6], row[0], row[3], row[8], _object_key(row[7]), row[9] or "")


def row_json(row: Row) -> dict:
    """``Finding.to_json`` of the row's finding."""
    out = {"rule": row[0], "category": row[1], "severity": row[2], "message": row[3], "file": row[4], "line": row[5], "column": row[6], "object": row[7], "path": row[8]}
    if row[9] is not None:
        out["environment"] = row[9]
    if row[10]:
        out["approximate"] = True
    return out


def row_identity(row: Row) -> tuple:
    """``Finding.identity`` of the row's finding."""
    return (row[0], (row[4], row[5], row[6]), _object_key(row[7]), row[8], row[9], row[3])


def encode_rows(rows: Sequence[Row], settles: Sequence[tuple[int, Any]] = ()) -> bytes:
    """Rows (or tuples of rows and their sort keys), and the waiting verdicts of some by place, as
    compressed bytes, some 30 bytes a row.
    Values shared between rows (an object reference, a file name) stay shared once decoded."""
    return zlib.compress(marshal.dumps((rows, pickle.dumps(settles) if settles else b"")), 1)


def encode_findings(findings: Sequence[Finding]) -> bytes:
    """``findings`` (of a streaming lint) as :func:`encode_rows`; a verdict that waits
    (Violation.settle) is plain data but not marshal's: pickled."""
    settles = [(index, f.settle) for index, f in enumerate(findings) if f.settle is not None]
    return encode_rows([finding_row(f) for f in findings], settles)


def decode_rows(data: bytes) -> tuple[list[Row], dict[int, Any]]:
    """The rows :func:`encode_rows` encoded, and the waiting verdicts by place."""
    rows, settles = marshal.loads(zlib.decompress(data))
    return rows, dict(pickle.loads(settles)) if settles else {}


class FindingRows(Sequence[Finding]):
    """A report's findings kept as rows (:data:`Row`), a Finding made only when one is read: a
    JSON report reads the rows (:meth:`iter_rows`), the exit code the counts (``severities``)."""

    severities: dict[str, int]  # LintReport.counts, known without a Finding

    def iter_rows(self) -> Iterator[Row]:
        raise NotImplementedError

    def _row(self, index: int) -> Row:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Finding]:
        return map(row_finding, self.iter_rows())

    @overload
    def __getitem__(self, index: int) -> Finding: ...

    @overload
    def __getitem__(self, index: slice) -> list[Finding]: ...

    def __getitem__(self, index: int | slice) -> Finding | list[Finding]:
        if isinstance(index, slice):
            return [row_finding(row) for row in list(self.iter_rows())[index]]
        if not -len(self) <= index < len(self):
            raise IndexError("finding index out of range")
        return row_finding(self._row(index % len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} findings)"


class RowFindings(FindingRows):
    """The findings of a streaming lint held as the rows its parts sent (making thousands of
    Findings cost a corpus lint 9 ms)."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows
        self.severities = {severity: 0 for severity in SEVERITIES}
        for row in rows:
            self.severities[row[2]] += 1

    def iter_rows(self) -> Iterator[Row]:
        return iter(self.rows)

    def _row(self, index: int) -> Row:
        return self.rows[index]

    def __len__(self) -> int:
        return len(self.rows)


class StoredFindings(FindingRows):
    """The findings of a streaming lint kept as encoded rows in blocks, decoded a block at a time
    as they are read: a monorepo's report holds tens of thousands of findings, which as objects
    would take some 600 bytes each."""

    BLOCK = 2048

    def __init__(self, rows: Iterable[Row]) -> None:
        self._blocks: list[bytes] = []
        self.severities = {severity: 0 for severity in SEVERITIES}
        block: list[Row] = []
        for row in rows:
            block.append(row)
            self.severities[row[2]] += 1
            if len(block) == self.BLOCK:
                self._blocks.append(encode_rows(block))
                block = []
        if block:
            self._blocks.append(encode_rows(block))
        self._count = sum(self.severities.values())

    def iter_rows(self) -> Iterator[Row]:
        for data in self._blocks:
            yield from decode_rows(data)[0]

    def _row(self, index: int) -> Row:
        return decode_rows(self._blocks[index // self.BLOCK])[0][index % self.BLOCK]

    def __len__(self) -> int:
        return self._count


def _object_key(ref: dict | None) -> tuple:
    if not ref:
        return ()
    get = ref.get  # spelt out, not a generator: sorting a monorepo's report asks for tens of thousands
    return (str(get("apiVersion") or ""), str(get("kind") or ""), str(get("namespace") or ""), str(get("name") or ""))


@dataclass
class LintReport:
    findings: list[Finding] | FindingRows  # a streaming lint's as rows (RowFindings), stored when too many to hold (StoredFindings)
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
        if isinstance(self.findings, FindingRows):
            return dict(self.findings.severities)
        counts = {severity: 0 for severity in SEVERITIES}
        for finding in self.findings:
            counts[finding.severity] += 1
        return counts

    def summary(self) -> dict[str, int]:
        return {"files": self.files, "objects": self.objects, **self.counts()}
