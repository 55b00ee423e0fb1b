"""Run the catalog over loaded objects: check -> locate -> policy -> suppress -> findings."""

from __future__ import annotations

import dataclasses
import heapq
import os
import re
import zlib
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Callable, Container, Iterable, Iterator, Optional

from kgen.errors import RuleCrash
from kgen.findings import (
    SEVERITY_RANK,
    Finding,
    FindingRows,
    LintReport,
    Row,
    RowFindings,
    StoredFindings,
    decode_rows,
    encode_findings,
    encode_rows,
    finding_row,
    row_finding,
    row_identity,
    row_sort_key,
)
from kgen.loader import JsonPath, KubeObject, LoadProblem, LoadResult, SourceFile, drop_trees as drop_source_trees, format_path
from kgen.policies.inventory import Consultation, Inventory
from kgen.policies.cluster_policy import ClusterPolicy
from kgen.policies.catalog import all_rules
from kgen.policies.registry import Rule, RuleContext, Violation
from kgen.workloads import PodTemplate, as_map

IGNORE_ANNOTATION = "kgen.dev/ignore"
# A streaming lint holds at most about this many findings as objects (some 600 bytes each); the
# others wait encoded (some 30 bytes each: kgen.findings.encode_findings), so that its memory
# does not grow with a monorepo's findings.
HELD_FINDINGS = 16384
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
    run = LintRun(policy)
    run.add(load)
    return run.report()


# Reads the units of the input again, those at the given places (all: None); the others come empty.
Reread = Callable[[Optional[Container[int]]], Iterable[LoadResult]]


def lint_stream(units: Iterable[LoadResult], policy: ClusterPolicy, reread: Reread, quote: bool = True) -> LintReport:
    """:func:`lint` of the input ``units`` make up (kgen.inputs.stream_inputs), checked one unit at
    a time and then freed: memory holds facts about the input, its texts and the findings, not its
    objects. ``reread`` gives units again, for the few verdicts that need objects read before the
    facts that decide them (a custom resource before its CRD, a LimitRange after the workloads of
    its namespace) and, when the input holds a ResourceQuota, for the quota analysis. ``quote``:
    keep what the report needs to quote the lines of findings (the text format does)."""
    run = LintRun(policy, reread, quote)
    for unit in units:
        run.add(unit)
    return run.report()


@dataclass(slots=True)  # slots: one per unit of a monorepo's input
class _Checked:
    """A unit of input as checked when it was added (its findings are in the run's FindingLog)."""

    unit: int  # its place in the input
    notes: tuple[str, ...]
    # The questions its checks asked the inventory: if one gets another answer once the input
    # is complete, the unit is read again and checked anew.
    asked: tuple[Consultation, ...]


class FindingLog:
    """The findings of the units of a run, in input order, each with its unit's place. In a
    streaming run, beyond HELD_FINDINGS they are encoded (kgen.findings.encode_findings, their
    waiting verdicts included), in blocks decoded one at a time as the report reads them."""

    BLOCK = 2048

    def __init__(self, encode: bool) -> None:
        self.encode = encode
        self.blocks: list[tuple[list[tuple[int, int]], bytes]] = []  # (unit, count) pairs, findings
        self.held: list[tuple[int, list[Finding]]] = []
        self.held_count = 0

    def add(self, unit: int, findings: list[Finding]) -> None:
        if findings:
            self.held.append((unit, findings))
            self.held_count += len(findings)
            if self.encode and self.held_count > HELD_FINDINGS:
                self.encode_held()

    def extend(self, later: "FindingLog") -> None:
        """Take in the findings of the units that come after these."""
        if later.blocks:
            self.encode_held()
            self.blocks += later.blocks
        self.held += later.held
        self.held_count += later.held_count

    def encode_held(self) -> None:
        """Encode the findings held as objects (in blocks of BLOCK)."""
        units: list[tuple[int, int]] = []
        block: list[Finding] = []
        for unit, findings in self.held:
            units.append((unit, len(findings)))
            block += findings
            if len(block) >= self.BLOCK:
                self.blocks.append((units, encode_findings(block)))
                units, block = [], []
        if block:
            self.blocks.append((units, encode_findings(block)))
        self.held, self.held_count = [], 0

    def units(self) -> Iterator[tuple[int, list[Finding] | _Rows]]:
        """(unit, its findings) for each unit with findings, in input order: those encoded as rows
        (kgen.findings.Row) with their waiting verdicts by place."""
        for units, data in self.blocks:
            rows, settles = decode_rows(data)
            waiting = iter(sorted(settles.items()))
            place, settle = next(waiting, (len(rows), None))
            start = 0
            for unit, count in units:
                end = start + count
                found = _Rows(rows[start:end], {})
                while place < end:
                    found.settles[place - start] = settle
                    place, settle = next(waiting, (len(rows), None))
                yield unit, found
                start = end
        yield from self.held


@dataclass
class _Rows:
    """Findings as rows, and the verdicts some wait for (Violation.settle), by place."""

    rows: list[Row]
    settles: dict[int, Callable]


class _ReportOrder:
    """The findings of a report, unique (Finding.identity) and sorted (Finding.sort_key), as the
    run settles them. Beyond HELD_FINDINGS (a streaming run), they are sorted in runs kept
    encoded, merged at the end into StoredFindings."""

    def __init__(self, encode: bool, as_rows: bool) -> None:
        self.encode = encode
        # Rows (what the runs hold) rather than findings: when many of them come as rows already.
        self.as_rows = as_rows
        self.held: list = []  # findings, or rows
        self.runs: list[list[bytes]] = []

    def add(self, findings: list[Finding]) -> None:
        self._add(list(map(finding_row, findings)) if self.as_rows else findings)

    def add_rows(self, rows: list[Row]) -> None:
        self._add(rows if self.as_rows else list(map(row_finding, rows)))

    def _add(self, held: list) -> None:
        self.held += held
        if self.encode and len(self.held) >= HELD_FINDINGS:
            self._encode_run()

    def _encode_run(self) -> None:
        rows = self.held if self.as_rows else list(map(finding_row, self.held))
        # Each row with its sort key (stored: the merge compares them again), stable: equal keys stay in input order.
        keyed = sorted(zip(map(row_sort_key, rows), rows), key=itemgetter(0))
        block = FindingLog.BLOCK
        self.runs.append([encode_rows(keyed[start : start + block]) for start in range(0, len(keyed), block)])
        self.held = []

    def findings(self) -> list[Finding] | FindingRows:
        if not self.runs:
            if self.as_rows:
                unique_rows = {row_identity(row): row for row in self.held}
                return RowFindings(sorted(unique_rows.values(), key=row_sort_key))
            unique = {f.identity(): f for f in self.held}
            return sorted(unique.values(), key=Finding.sort_key)
        if self.held:
            self._encode_run()
        # Runs are in input order and the merge keeps equal keys in run order: the order of one
        # sort of every finding. Two findings with one identity have one sort key (same rule,
        # object or place, path and message), so duplicates are neighbours.
        keyed = [(pair for data in run for pair in decode_rows(data)[0]) for run in self.runs]
        merged = heapq.merge(*keyed, key=itemgetter(0))
        return StoredFindings(row for _, group in groupby(merged, key=itemgetter(0)) for row in _unique([row for _, row in group]))


def _unique(rows: list[Row]) -> Iterable[Row]:
    """One finding per identity, at the place of the first, as the last (what a dict by identity keeps)."""
    if len(rows) == 1:
        return rows
    return {row_identity(row): row for row in rows}.values()


class LintRun:
    """One lint: units of input are added and checked in turn, then :meth:`report` settles what
    depends on the whole input.

    The per-object checks of a unit run when it is added, against the inventory of what was
    added so far; verdicts that depend on the rest of the input wait in their findings
    (``Violation.settle``) and the inventory writes down the other questions checks ask. At the
    end an object whose questions get another answer from the complete inventory is checked
    again, and the rules that read the cluster-fit analysis of the whole input (quotas, node
    pools: ``Rule.whole_input`` and quota-exceeded) run once. The findings are those of checking
    the whole input at once, whatever the order or the cut of the units.

    With ``reread`` (a streaming run) a unit's objects are freed once checked: the inventory
    keeps facts only, unless the policy's node pools or namespace quotas make the cluster fit
    matter, in which case it keeps the objects (without their trees) for that analysis.

    A streaming run that keeps no object can also be cut: runs of consecutive parts of the input
    (``first_unit``: the place of a part's first unit) in other processes give their
    :meth:`part`, which the run of the whole input takes in input order (kgen.parallel).
    """

    def __init__(self, policy: ClusterPolicy, reread: Reread | None = None, quote: bool = True, first_unit: int = 0) -> None:
        self.policy = policy
        self.reread = reread
        self.rules = active_rules(policy)
        self.fit_in_policy = bool(policy.node_pools) or any(as_map(entry).get("quota") for entry in policy.namespaces.values())
        self.inventory = Inventory(keep_objects=reread is None or self.fit_in_policy, first_unit=first_unit)
        active = [_Active(rule, rule_context(rule, policy, self.inventory), policy.rule_setting(rule.id).get("severity")) for rule in self.rules]
        self.active = {a.rule.id: a for a in active}
        self.checks = ObjectChecks(
            [a for a in active if a.rule.scope == "object" and not a.rule.whole_input],
            [a for a in active if a.rule.scope == "workload" and not a.rule.whole_input],
            self.inventory,
            keep_owners=reread is None,
        )
        self.fit_rules = [a.rule for a in active if a.rule.whole_input or a.rule.scope == "inventory"]
        self.quota_in_input = False
        self.fit_files: list[SourceFile] = []  # read again for the cluster-fit analysis
        self.checked: list[_Checked] = []
        self.findings = FindingLog(encode=reread is not None)
        self.rechecked: dict[int, list[Finding]] = {}  # findings of units checked again, by place
        self.files: list[SourceFile] = []  # as read, unless only quoted lines are kept (see quoted)
        self.file_count = 0
        # A streaming run that keeps no object keeps the files its findings point at compressed
        # (the text report quotes their lines): file name -> text, zlib-compressed.
        self.quoting = reread is not None and not self.inventory.keep_objects
        self.quote = quote
        self.quoted: dict[str, bytes] = {}
        self.problems: list[LoadProblem] = []
        self.suppressions: list[Finding] = []
        self.known = {*all_rules(), *(str(rule.get("id")) for rule in policy.custom_rules)}  # disabled ones too
        self._asked: dict[Consultation, Consultation] = {}

    def add(self, unit: LoadResult) -> None:
        """Check ``unit`` now (and free it, in a streaming run)."""
        checked = _Checked(self.inventory.units, (), ())
        notes: list[str] = []
        asked: list[Consultation] = []
        self.inventory.add(unit.objects)
        self._take(unit)
        self.quota_in_input = self.quota_in_input or any(obj.kind == "ResourceQuota" for obj in unit.objects)
        if self.reread is not None:
            self.inventory.consulted = asked
        try:
            findings = self.checks(unit.objects, notes)
        finally:
            self.inventory.consulted = None
        if notes:
            checked.notes = tuple(notes)
        checked.asked = self._shared_questions(asked)
        suppressions = _unknown_suppressions(unit.files, unit.objects, self.inventory, self.policy, self.known)
        self.suppressions += suppressions
        if self.reread is not None:
            if self.quoting:
                self._quote(unit.files, [*findings, *unit.problems, *suppressions])
            _free(unit, keep_origins=self.inventory.keep_objects)
        self.checked.append(checked)
        self.findings.add(checked.unit, findings)

    def _shared_questions(self, asked: list[Consultation]) -> tuple[Consultation, ...]:
        """``asked`` once each (the workloads of a namespace ask the same), each question one
        object for the whole run (so do the units of a monorepo)."""
        return tuple(self._asked.setdefault(question, question) for question in dict.fromkeys(asked))

    @property
    def parts_cross_processes(self) -> bool:
        """Whether what :meth:`part` gives is plain data: a streaming run that keeps no object."""
        return self.reread is not None and not self.inventory.keep_objects

    def part(self) -> "RunPart":
        """What this run (of a part of the input, in a worker process: kgen.parallel) found, as
        plain data for the run of the whole input to :meth:`take`."""
        assert self.parts_cross_processes
        self.inventory.let_unit_go()  # its pod templates refer to its objects
        # Units whose questions the rest of the part answers otherwise (a custom resource before its
        # CRD) are checked again here, in the worker, not one after the other in the run of the whole.
        unsettled = self._unsettled()
        if unsettled:
            self._read_again(unsettled, whole=False)
            self.inventory.let_unit_go()
        # Sent encoded (marshal): pickling thousands of Finding objects cost the worker and the
        # run of the whole ~100 ms of CPU on the corpus, encoded rows ~30 ms; the report is the same.
        self.findings.encode_held()
        return RunPart(
            self.inventory, self.checked, self.findings, self.rechecked, self.problems, self.suppressions, self.quoted, self.file_count, self.quota_in_input
        )

    def take(self, part: "RunPart") -> None:
        """The units of ``part`` (those right after the units of this run) as if added here."""
        self.inventory.merge(part.inventory)
        self.checked += part.checked
        self.findings.extend(part.findings)
        self.rechecked.update(part.rechecked)
        self.problems += part.problems
        self.suppressions += part.suppressions
        self.file_count += part.file_count
        self.quota_in_input = self.quota_in_input or part.quota_in_input
        for name, text in part.quoted.items():
            self.quoted.setdefault(name, text)

    def _take(self, unit: LoadResult) -> None:
        self.problems += unit.problems
        self.file_count += len(unit.files)
        if not self.quoting:
            self.files += unit.files

    def _quote(self, files: list[SourceFile], findings: list[Finding] | list[Finding | LoadProblem]) -> None:
        """Keep (compressed) the files of ``files`` that ``findings`` (or problems) point at."""
        if not self.quote:
            return
        wanted = {where.file for where in findings}
        for source in files:
            if source.name in wanted and source.name not in self.quoted:
                self.quoted[source.name] = zlib.compress(source.text.encode("utf-8", "surrogatepass"), 1)

    def report(self) -> LintReport:
        """The findings of the whole input, once every unit is in."""
        unsettled = self._unsettled()
        fit_needed = bool(self.fit_rules) and (self.fit_in_policy or self.quota_in_input)
        fit_inventory = self.inventory
        if unsettled or (fit_needed and not self.inventory.keep_objects):
            fit_inventory = self._read_again(unsettled, whole=fit_needed and not self.inventory.keep_objects)
        ordered = _ReportOrder(encode=self.reread is not None, as_rows=bool(self.findings.blocks))
        for findings in self._unit_findings():
            if isinstance(findings, _Rows):
                ordered.add_rows(_settled_rows(findings, self.inventory, self.active))
            else:
                ordered.add(_settled(findings, self.inventory, self.active))
        notes: list[str] = [note for checked in self.checked for note in checked.notes]
        if fit_needed:
            fit_findings = self._fit_findings(fit_inventory, notes)
            if self.quoting:
                self._quote(self.fit_files, fit_findings)
            ordered.add(_settled(fit_findings, self.inventory, self.active))
        problems = []
        for problem in self.problems:
            input_rule = all_rules()[problem.rule]
            problems.append(
                Finding(
                    problem.rule, input_rule.category, input_rule.severity, problem.message, problem.file, problem.line, problem.column, None, "",
                    secret_value=problem.secret_value,
                )
            )
        ordered.add(problems)
        ordered.add(self.suppressions)
        return LintReport(
            findings=ordered.findings(),
            files=self.file_count,
            objects=self.inventory.count,
            rules=sorted(self.rules, key=lambda r: r.id),
            sources=self._sources(),
            notes=notes,
            policy=self.policy.source,
        )

    def _unit_findings(self) -> Iterator[list[Finding] | _Rows]:
        """The findings of each unit, in input order: as checked when added, or checked again."""
        rechecked = sorted(self.rechecked.items())
        at = 0
        for unit, findings in self.findings.units():
            while at < len(rechecked) and rechecked[at][0] < unit:
                yield rechecked[at][1]
                at += 1
            if at < len(rechecked) and rechecked[at][0] == unit:
                yield rechecked[at][1]
                at += 1
            else:
                yield findings
        for _, findings in rechecked[at:]:
            yield findings

    def _sources(self) -> dict[str, SourceFile]:
        """The files of the report by name: as read, or (streaming) the lines findings quote."""
        sources = {source.name: source for source in self.files}
        for name, text in self.quoted.items():
            sources[name] = SourceFile(name, zlib.decompress(text).decode("utf-8", "surrogatepass"))
        return sources

    def _unsettled(self) -> dict[int, _Checked]:
        """The units (by place) whose questions the input read so far answers otherwise than when
        they were checked."""
        return {checked.unit: checked for checked in self.checked if checked.asked and self.inventory.changed_answers(checked.asked)}

    def _check_again(self, checked: _Checked, unit: LoadResult) -> None:
        """Check a unit read again, now that the input read so far (the whole, or a part's) answers its questions."""
        self.inventory.readmit(unit.objects, checked.unit)
        notes: list[str] = []
        asked: list[Consultation] = []
        self.inventory.consulted = asked  # a part's run hands its questions on (see part)
        try:
            findings = self.rechecked[checked.unit] = self.checks(unit.objects, notes)
        finally:
            self.inventory.consulted = None
        checked.notes = tuple(notes)
        checked.asked = self._shared_questions(asked)
        if self.quoting:
            self._quote(unit.files, findings)

    def _read_again(self, units: dict[int, _Checked], whole: bool) -> Inventory:
        """Read the input again: check ``units`` (by place) anew, and (``whole``) index every
        object for the cluster-fit analysis. Returns the inventory that analysis reads."""
        assert self.reread is not None
        fit_inventory = Inventory() if whole else self.inventory
        for place, unit in enumerate(self.reread(None if whole else units)):
            if whole:
                fit_inventory.add(unit.objects)
                self.fit_files += unit.files
            if place in units:
                self._check_again(units[place], unit)
            _free(unit, keep_origins=whole)
        return fit_inventory

    def _fit_findings(self, inventory: Inventory, notes: list[str]) -> list[Finding]:
        """The findings of the rules that read the cluster fit of the whole input."""
        entries = [_Active(rule, rule_context(rule, self.policy, inventory), self.active[rule.id].severity) for rule in self.fit_rules]
        keep = self.reread is None
        checks = ObjectChecks(
            [a for a in entries if a.rule.scope == "object"], [a for a in entries if a.rule.scope == "workload"], inventory, keep
        )
        findings = [f for obj in inventory.objects for f in checks.one(obj, notes)]
        findings += [f for entry in entries if entry.rule.scope == "inventory" for f in _run(entry, inventory, None, notes, keep_owner=keep)]
        return findings


@dataclass
class RunPart:
    """What a :class:`LintRun` of some units found (:meth:`LintRun.part`): their facts, how they
    were checked (findings whose verdicts still wait, the questions asked) and what the report
    needs of their files."""

    inventory: Inventory
    checked: list[_Checked]
    findings: FindingLog
    rechecked: dict[int, list[Finding]]
    problems: list[LoadProblem]
    suppressions: list[Finding]
    quoted: dict[str, bytes]
    file_count: int
    quota_in_input: bool


def _free(unit: LoadResult, keep_origins: bool = False) -> None:
    """Let a checked unit go: its node trees now (they are read again if a position is asked), its
    objects as soon as nothing refers to them. The origin of a rendered object refers back to the
    object, a cycle the disabled garbage collector would never free: it is cut unless the objects
    stay for the cluster-fit analysis (whose findings it places)."""
    for obj in unit.objects:
        obj.drop_tree()
        if not keep_origins:
            obj.origin = None
    for source in unit.files:
        drop_source_trees(source)


@dataclass
class ObjectChecks:
    """The object- and workload-scope checks of one run: each object is checked on its own
    (consulting the inventory), so any split of the objects gives the same findings and notes."""

    object_rules: list[_Active]
    workload_rules: list[_Active]
    inventory: Inventory
    # Findings keep the object they are about (kgen fix edits it); a streaming run frees objects.
    keep_owners: bool = True

    def __call__(self, objects: list[KubeObject], notes: list[str]) -> list[Finding]:
        return [finding for obj in objects for finding in self.one(obj, notes)]

    def one(self, obj: KubeObject, notes: list[str]) -> list[Finding]:
        """The findings of one object (its object checks, then its pod templates' checks)."""
        findings: list[Finding] = []
        for entry in self.object_rules:
            if entry.rule.kinds is None or obj.kind in entry.rule.kinds:
                findings.extend(_run(entry, obj, obj, notes, keep_owner=self.keep_owners))
        for template in self.inventory.templates_of(obj):
            for entry in self.workload_rules:
                findings.extend(_run(entry, template, obj, notes, template.owns, self.keep_owners))
        return findings


def _run(
    entry: _Active, target: object, obj: KubeObject | None, notes: list[str], owns: Callable[[JsonPath], bool] | None = None, keep_owner: bool = True
) -> list[Finding]:
    """The findings of one check; ``owns`` drops violations the target's object does not answer for.

    A rule that meets a shape it does not expect (hostile or odd input, or a kgen bug) skips this
    object, with a note naming both; it never ends the run for every other object.
    """
    rule = entry.rule
    assert rule.check is not None
    try:
        violations = list(rule.check(target, entry.context))
    except Exception as exc:
        if os.environ.get("KGEN_DEBUG"):
            raise RuleCrash(rule.id, _where(obj)) from exc
        what = f"{obj.kind}/{obj.name}" if obj is not None else "the inventory"
        notes.append(f"{_where(obj)}rule {rule.id} skipped {what}: it could not check this shape ({type(exc).__name__}: {str(exc)[:200]})")
        return []
    if not violations:
        return []  # most checks: nothing to place, so no annotation to read
    out = []
    template_ignored = _template_ignores(rule.id, target)
    for violation in violations:
        owner = violation.obj or obj
        if owner is None or (owns is not None and violation.obj is None and not owns(violation.path)):
            continue
        if template_ignored and violation.obj is None:
            continue
        # Suppression comments are read where the object was parsed (rendered text keeps them).
        line, column = owner.locate(violation.path)
        if not _suppressed(rule.id, owner, line):
            out.append(_finding(entry, violation, owner, line, column, keep_owner))
    return out


def _settled(findings: list[Finding], inventory: Inventory, active: dict[str, _Active]) -> list[Finding]:
    """Findings whose verdict waited for the whole input (``Violation.settle``), as it decides them."""
    out = []
    for finding in findings:
        if finding.settle is None:
            out.append(finding)
            continue
        violation = finding.settle(inventory)
        if violation is not None:
            severity = _severity(active[finding.rule], violation)
            out.append(dataclasses.replace(finding, message=violation.message, severity=severity, settle=None))  # type: ignore[arg-type]
    return out


def _settled_rows(found: _Rows, inventory: Inventory, active: dict[str, _Active]) -> list[Row]:
    """:func:`_settled` of findings as rows."""
    if not found.settles:
        return found.rows
    out = []
    for place, row in enumerate(found.rows):
        settle = found.settles.get(place)
        if settle is None:
            out.append(row)
            continue
        violation = settle(inventory)
        if violation is not None:
            out.append((*row[:2], _severity(active[row[0]], violation), violation.message, *row[4:]))
    return out


def _severity(entry: _Active, violation: Violation) -> str:
    """A finding's severity: the policy's for the rule, else the violation's own, else the rule's."""
    return entry.severity or violation.severity or entry.rule.severity


def _where(obj: KubeObject | None) -> str:
    return f"{obj.source.name}:{obj.first_line()}: " if obj is not None else ""


def _finding(entry: _Active, violation: Violation, obj: KubeObject, line: int, column: int, keep_owner: bool = True) -> Finding:
    """The finding, placed in the file the user wrote (a template, a kustomize source, a spec)."""
    file, approximate = obj.source.name, False
    if obj.origin is not None:
        file, line, column, approximate = obj.origin(violation.path)
    return Finding(
        rule=entry.rule.id,
        category=entry.rule.category,
        severity=_severity(entry, violation),  # type: ignore[arg-type]
        message=_shared(violation.message),
        file=file,
        line=line,
        column=column,
        object=_ref(obj),
        path=_formatted(violation.path),
        environment=obj.labels.get("environment"),
        owner=obj if keep_owner else None,
        node_path=violation.path if keep_owner else (),
        approximate=approximate,
        settle=violation.settle,
        secret_value=entry.rule.category == "secrets",  # what the secrets rules find is a secret value
    )


# Messages and paths of findings, one string for each text: a monorepo's findings say the same
# things of many objects. Bounded: emptied when full.
_TEXTS: dict[str, str] = {}
_PATHS: dict[JsonPath, str] = {}
_MAX_TEXTS = 8192


def _shared(text: str) -> str:
    if len(_TEXTS) >= _MAX_TEXTS:
        _TEXTS.clear()
    return _TEXTS.setdefault(text, text)


def _formatted(path: JsonPath) -> str:
    """``format_path(path)``, one string for each path."""
    text = _PATHS.get(path)
    if text is None:
        if len(_PATHS) >= _MAX_TEXTS:
            _PATHS.clear()
        text = _PATHS[path] = format_path(path)
    return text


_last_ref: tuple[KubeObject, dict[str, str | None]] | None = None


def _ref(obj: KubeObject) -> dict[str, str | None]:
    """``obj.ref()``, one dict for the findings of one object in a row (a monorepo's report holds
    tens of thousands; nothing changes them)."""
    global _last_ref
    if _last_ref is None or _last_ref[0] is not obj:
        _last_ref = (obj, obj.ref())
    return _last_ref[1]


def _ids(text: str) -> set[str]:
    ids = {part for part in re.split(r"[\s,]+", text.strip()) if part}
    return ids or {"all"}


def _suppressed(rule_id: str, obj: KubeObject, line: int) -> bool:
    """``kgen.dev/ignore`` on the object, or ``# kgen:ignore`` on the line or the object's head."""
    annotation = obj.annotations.get(IGNORE_ANNOTATION)
    if isinstance(annotation, str) and _matches(rule_id, _ids(annotation)):
        return True
    comments = _IgnoreComments.of(obj.source)
    if not comments.by_line:
        return False  # the common case, answered without looking at the text again
    at_line = comments.by_line.get(line)
    return bool(at_line and _matches(rule_id, at_line)) or _matches(rule_id, comments.head(obj.first_line()))


def _template_ignores(rule_id: str, target: object) -> bool:
    """``kgen.dev/ignore`` in a pod template's annotations (what most charts let users set)."""
    if not isinstance(target, PodTemplate):
        return False
    annotation = as_map(target.metadata.get("annotations")).get(IGNORE_ANNOTATION)
    return isinstance(annotation, str) and _matches(rule_id, _ids(annotation))


def _matches(rule_id: str, ids: set[str]) -> bool:
    return rule_id in ids or "all" in ids or "*" in ids


class _IgnoreComments:
    """A file's ``# kgen:ignore`` comments, found in one pass, so that suppression costs the same
    per finding whatever the size of the file (a rescan per finding made big files quadratic)."""

    def __init__(self, source: SourceFile) -> None:
        self.by_line: dict[int, set[str]] = {}
        # The lines, when there are comments (kept in the source's memo: never the source itself,
        # a cycle that would keep every file's text with the collector disabled).
        self.lines: list[str] = []
        if "kgen:ignore" in source.text:
            self.lines = source.lines
            for number, text in enumerate(self.lines, start=1):
                match = _IGNORE_COMMENT.search(text) if "kgen:ignore" in text else None
                if match:
                    self.by_line[number] = _ids(match.group(1))
        self._heads: dict[int, set[str]] = {}

    @classmethod
    def of(cls, source: SourceFile) -> "_IgnoreComments":
        found = source.memo.get(cls)
        if found is None:
            found = source.memo[cls] = cls(source)
        return found

    def head(self, first: int) -> set[str]:
        """The ids ignored on an object's first line and the comment lines right above it."""
        if first not in self._heads:
            ids = set(self.by_line.get(first, ()))
            lines = self.lines
            number = first - 1
            while number >= 1 and lines[number - 1].lstrip().startswith("#"):
                ids |= self.by_line.get(number, set())
                number -= 1
            self._heads[first] = ids
        return self._heads[first]


SUPPRESSION_UNKNOWN_RULE = "suppression-unknown-rule"
_WILDCARDS = {"all", "*"}


def _unknown_suppressions(files: list[SourceFile], objects: list[KubeObject], inventory: Inventory, policy: ClusterPolicy, known: set[str]) -> list[Finding]:
    """A misspelt id in ``# kgen:ignore`` or ``kgen.dev/ignore`` silences nothing: report it where it is written."""
    if not policy.enabled(SUPPRESSION_UNKNOWN_RULE):
        return []
    rule = all_rules()[SUPPRESSION_UNKNOWN_RULE]
    severity = policy.rule_setting(rule.id).get("severity") or rule.severity

    def finding(rule_id: str, file: str, line: int, column: int, obj: KubeObject | None) -> Finding:
        import difflib

        close = difflib.get_close_matches(rule_id, sorted(known), n=1)
        hint = f"did you mean {close[0]}?" if close else "see `kgen rules`"
        message = f"suppression names unknown rule {rule_id!r}, so it silences nothing ({hint})"
        return Finding(rule.id, rule.category, severity, message, file, line, column, obj.ref() if obj else None, "")  # type: ignore[arg-type]

    out = []
    for source in files:
        for number, ids in _IgnoreComments.of(source).by_line.items():
            text = source.lines[number - 1]
            for rule_id in sorted(ids - known - _WILDCARDS):
                out.append(finding(rule_id, source.name, number, text.find(rule_id, text.find("kgen:ignore")) + 1, None))
    annotated = [(obj, obj.annotations, ("metadata",)) for obj in objects]
    # Pod templates' annotations suppress too (a Pod's own metadata is its template's: counted once).
    templates = [t for obj in objects for t in inventory.templates_of(obj)]
    annotated += [(t.obj, as_map(t.metadata.get("annotations")), t.metadata_path) for t in templates if t.metadata_path not in (None, ("metadata",))]
    for obj, object_annotations, metadata_path in annotated:
        annotation = object_annotations.get(IGNORE_ANNOTATION)
        if not isinstance(annotation, str):
            continue
        for rule_id in sorted(_ids(annotation) - known - _WILDCARDS):
            path = (*metadata_path, "annotations", IGNORE_ANNOTATION)
            file, (line, column) = obj.source.name, obj.locate(path)
            if obj.origin is not None:
                file, line, column = obj.origin(path)
            out.append(finding(rule_id, file, line, column, obj))
    return out


def fails(report: LintReport, fail_on: str) -> bool:
    threshold = SEVERITY_RANK[fail_on]
    return any(count and SEVERITY_RANK[severity] >= threshold for severity, count in report.counts().items())
