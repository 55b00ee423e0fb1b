"""Human output: findings grouped by file, the source line with a caret, a summary line."""

from __future__ import annotations

from itertools import groupby

from kgen.findings import LintReport

_COLORS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m", "dim": "\033[2m", "bold": "\033[1m"}
_RESET = "\033[0m"


def render(report: LintReport, *, color: bool = False) -> str:
    def paint(text: str, style: str) -> str:
        return f"{_COLORS[style]}{text}{_RESET}" if color else text

    out: list[str] = []
    for file, findings in groupby(report.findings, key=lambda f: f.file):
        out.append(paint(file, "bold"))
        lines = report.sources.get(file, [])
        for f in findings:
            where = f"{f.object['kind']}/{f.object['name']}" if f.object else ""
            env = f" [{f.environment}]" if f.environment else ""
            out.append(
                f"  {f.line}:{f.column}  {paint(f.severity, f.severity)}  {f.message}  "
                f"{paint(f.rule, 'dim')}{env}" + (f"  {paint(where, 'dim')}" if where else "")
            )
            if 0 < f.line <= len(lines):
                source = lines[f.line - 1].expandtabs(1)
                out.append(f"    {source}")
                out.append("    " + " " * max(f.column - 1, 0) + paint("^", f.severity))
        out.append("")
    for entry in report.fixed_baseline:
        out.append(f"baseline entry no longer occurs: {entry['rule']} {entry['object']} {entry['path']}")
    counts = report.counts()
    problems = sum(counts.values())
    noun = "problem" if problems == 1 else "problems"
    summary = (
        f"{problems} {noun} ({counts['error']} errors, {counts['warning']} warnings, {counts['info']} info) "
        f"in {report.files} files, {report.objects} objects"
    )
    out.append(paint(summary, "bold") if problems else f"no problems in {report.files} files, {report.objects} objects")
    return "\n".join(out) + "\n"
