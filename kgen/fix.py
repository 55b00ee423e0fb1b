"""`kgen fix`: apply the fixes rules declare, changing only the text of the nodes they edit.

Lint once; hand every finding of a fixable rule to its fixer along with a copy of the object's
data; write the difference as text edits (kgen.yamledit); read the result back and keep it only
if it parses to exactly the intended objects; lint the result to know what is left. A file whose
edits cannot be written that way is left untouched, with a note. Objects rendered from Helm
charts, Kustomize directories or kgen specs are not fixed: their text is not what the user wrote.
"""

from __future__ import annotations

import codecs
import copy
import difflib
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from kgen.errors import InputError, RuleCrash
from kgen.findings import Finding, LintReport
from kgen.loader import KubeObject, LoadResult, SourceFile, decode_source, parse_source, read_bytes
from kgen.policies.engine import lint, rule_context
from kgen.policies.inventory import Inventory
from kgen.policies.cluster_policy import ClusterPolicy
from kgen.policies.catalog import all_rules
from kgen.policies.registry import Rule
from kgen.yamledit import Unpatchable, apply_edits, text_edits

STDIN = "<stdin>"  # the name kgen.loader gives standard input: fixed text goes to stdout


@dataclass
class FileFix:
    """One file's outcome: its fixed text, the findings fixed, or why it was left untouched."""

    source: SourceFile
    text: str
    fixed: list[Finding] = field(default_factory=list)
    problem: str | None = None

    @property
    def changed(self) -> bool:
        return self.text != self.source.text


@dataclass
class FixPlan:
    files: list[FileFix]
    after: LintReport  # the input as it is once the fixes are applied
    rule_ids: frozenset[str]  # the fixable rules this run applied
    notes: list[str] = field(default_factory=list)

    @property
    def fixed(self) -> list[Finding]:
        return [finding for file in self.files for finding in file.fixed]

    def text_of(self, source: SourceFile) -> str:
        """The source's text once fixed (as it was when nothing in it is fixed)."""
        return next((file.text for file in self.files if file.source is source), source.text)

    @property
    def remaining(self) -> list[Finding]:
        """Findings of the applied rules that are still there after fixing."""
        return [finding for finding in self.after.findings if finding.rule in self.rule_ids]


def refuse_rendered(paths: Iterable[str]) -> None:
    """A Helm chart or Kustomize directory named on the command line is rendered, not written: say so (exit 2)."""
    from kgen.inputs import is_chart, kustomization_file

    for path in paths:
        if path != "-" and os.path.isdir(path):
            what = "a Helm chart" if is_chart(path) else "a Kustomize directory" if kustomization_file(path) else None
            if what:
                raise InputError(
                    f"{what}: its objects are rendered, and kgen fix edits YAML as written; "
                    f"fix its templates or source files (kgen lint {path} shows the findings)",
                    path,
                )


def fixable_rules(only: Iterable[str] = ()) -> dict[str, Rule]:
    """The rules with a fix, or the ``--rule`` ones (each must exist and have a fix)."""
    catalog = all_rules()
    for rule_id in only:
        if rule_id not in catalog:
            raise InputError(f"unknown rule {rule_id!r}; `kgen rules` lists them")
        if catalog[rule_id].fixer is None:
            raise InputError(f"rule {rule_id} has no automatic fix; `kgen rules` shows which rules can be fixed")
    wanted = set(only)
    return {rule.id: rule for rule in catalog.values() if rule.fixer is not None and (not wanted or rule.id in wanted)}


def plan_fixes(loaded: LoadResult, policy: ClusterPolicy, rules: dict[str, Rule]) -> FixPlan:
    """What fixing would change in every file, without writing anything."""
    report = lint(loaded, policy)
    active = {rule.id for rule in report.rules}
    rules = {rule_id: rule for rule_id, rule in rules.items() if rule_id in active}
    inventory = Inventory(loaded.objects)
    contexts = {rule_id: rule_context(rule, policy, inventory) for rule_id, rule in rules.items()}
    by_source: dict[int, list[Finding]] = {}
    rendered = 0
    for finding in report.findings:
        if finding.rule in rules and finding.owner is not None:
            if finding.owner.origin is not None:
                rendered += 1
            else:
                by_source.setdefault(id(finding.owner.source), []).append(finding)
    invalid = {problem.file for problem in loaded.problems}
    files: list[FileFix] = []
    reread: dict[int, LoadResult] = {}
    for source in loaded.files:
        findings = by_source.get(id(source))
        if not findings:
            continue
        if source.name in invalid:
            files.append(FileFix(source, source.text, problem="has YAML errors (see kgen lint); left untouched"))
            continue
        file, result = _fix_file(source, findings, [o for o in loaded.objects if o.source is source], rules, contexts)
        files.append(file)
        if result is not None:
            reread[id(source)] = result
    notes = [f"{problem.file}:{problem.line}: {problem.message}; file left untouched" for problem in loaded.problems]
    notes += [f"{file.source.name}: {file.problem}" for file in files if file.problem and file.source.name not in invalid]
    if rendered:
        notes.append(
            f"{rendered} finding(s) in objects rendered from Helm charts, Kustomize directories or kgen specs "
            "were not fixed: kgen fix edits YAML as written; fix the templates, sources or spec"
        )
    after = report
    if reread:
        objects = [o for o in loaded.objects if id(o.source) not in reread] + [o for result in reread.values() for o in result.objects]
        sources = [reread[id(s)].files[0] if id(s) in reread else s for s in loaded.files]
        after = lint(LoadResult(objects, list(loaded.problems), sources, loaded.documents), policy)
    return FixPlan(files, after, frozenset(rules), notes)


def _fix_file(
    source: SourceFile, findings: list[Finding], objects: list[KubeObject], rules: dict[str, Rule], contexts: dict
) -> tuple[FileFix, LoadResult | None]:
    """The file with every fix its findings allow, checked by reading it back (and what was read)."""
    fixed_data: dict[int, dict] = {}
    fixed: list[Finding] = []
    for finding in findings:
        obj = finding.owner
        assert obj is not None
        if id(obj) not in fixed_data:
            fixed_data[id(obj)] = copy.deepcopy(obj.data)
        fix = rules[finding.rule].fixer
        assert fix is not None
        try:
            changed = fix(fixed_data[id(obj)], finding.node_path, contexts[finding.rule])
        except Exception as exc:  # a bug in a fixer must not pass for an unfixable finding
            raise RuleCrash(finding.rule, f"{source.name}:{finding.line}: fixing: ") from exc
        if changed:
            fixed.append(finding)
    if not fixed:
        return FileFix(source, source.text), None
    expected = [fixed_data.get(id(obj), obj.data) for obj in objects]
    try:
        edits = [edit for obj in objects if id(obj) in fixed_data for edit in text_edits(source.text, obj.node, obj.data, fixed_data[id(obj)])]
        text = apply_edits(source.text, edits)
        reread = parse_source(SourceFile(source.name, text))
        if reread.problems or [obj.data for obj in reread.objects] != expected:
            raise Unpatchable("the edited text does not read back as the fixed objects")
    except Unpatchable as exc:
        return FileFix(source, source.text, problem=f"cannot apply fixes without reformatting ({exc}); left untouched"), None
    return FileFix(source, text, fixed), reread


def summary(findings: Iterable[Finding]) -> str:
    """``3 findings (security-capabilities 2, api-removed 1)``."""
    counts = Counter(finding.rule for finding in findings)
    detail = ", ".join(f"{rule} {count}" for rule, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return _counted(sum(counts.values()), "finding") + (f" ({detail})" if detail else "")


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def unified_diff(file: FileFix) -> str:
    """The change as `diff -u` prints it (the end of a file without newline marked as such)."""
    lines = difflib.unified_diff(
        file.source.text.splitlines(keepends=True),
        file.text.splitlines(keepends=True),
        fromfile="a/" + file.source.name.lstrip("/"),
        tofile="b/" + file.source.name.lstrip("/"),
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def write_fixes(plan: FixPlan, named: Iterable[str]) -> list[FileFix]:
    """Rewrite every changed file atomically (stdin excluded); returns the files left alone.

    A file is rewritten only if it still holds what was linted, in the same encoding (a UTF-8
    byte order mark is kept; UTF-16 files are left alone), and only inside the ``named`` paths:
    a symlink found in a walk that points elsewhere is reported and left, never written through.
    """
    from kgen.fsutil import write_atomic

    roots = [os.path.realpath(path) for path in named if path != "-"]
    skipped = []
    for file in plan.files:
        name = file.source.name
        if not file.changed or name == STDIN:
            continue
        target = os.path.realpath(name)
        if not any(target == root or target.startswith(root.rstrip(os.sep) + os.sep) for root in roots):
            file.problem = f"a symlink to {target}, outside the paths given; left untouched"
            skipped.append(file)
            continue
        try:
            raw = read_bytes(name)
        except InputError as exc:
            file.problem = f"{exc.message}; left untouched"
            skipped.append(file)
            continue
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            file.problem = "UTF-16 text; left untouched"
        elif decode_source(name, raw).text != file.source.text:
            file.problem = "changed on disk while fixing; left untouched"
        else:
            bom = "\ufeff" if raw.startswith(codecs.BOM_UTF8) else ""
            write_atomic(target, bom + file.text)
            continue
        skipped.append(file)
    return skipped


def outcome(plan: FixPlan, applied: bool, skipped: Iterable[FileFix] = ()) -> str:
    """The one-line result: what was (or would be) fixed, and what is left for the user
    (files that writing left untouched are not counted as fixed)."""
    left = list(skipped)
    changed = [file for file in plan.files if file.changed and file not in left]
    if changed:
        fixed = [finding for file in changed for finding in file.fixed]
        line = f"{'fixed' if applied else 'would fix'} {summary(fixed)} in {_counted(len(changed), 'file')}"
    else:
        line = "nothing to fix"
    if plan.remaining:
        line += f"; {summary(plan.remaining)} cannot be fixed automatically (kgen lint shows them)"
    return line
