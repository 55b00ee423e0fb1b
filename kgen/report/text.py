"""Human output: findings grouped by file, the source line with a caret, a summary line."""

from __future__ import annotations

from itertools import groupby

from kgen.findings import LintReport, describe_object
from kgen.report.escape import redacted, source_excerpt, text_line, visible

_COLORS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m", "dim": "\033[2m", "bold": "\033[1m"}
_RESET = "\033[0m"


def render(report: LintReport, *, color: bool = False, quiet: bool = False) -> str:
    """``quiet`` leaves out everything but the findings (the summary, the baseline lines)."""
    def paint(text: str, style: str) -> str:
        return f"{_COLORS[style]}{text}{_RESET}" if color else text

    out: list[str] = []
    for file, findings in groupby(report.findings, key=lambda f: f.file):
        out.append(paint(text_line(file), "bold"))
        source = report.sources.get(file)
        lines = source.lines if source is not None else []
        for f in findings:
            where = visible(describe_object(f.object))
            env = f" [{visible(f.environment)}]" if f.environment else ""
            out.append(
                f"  {f.line}:{f.column}  {paint(f.severity, f.severity)}  {visible(f.message)}  "
                f"{paint(f.rule, 'dim')}{env}" + (f"  {paint(where, 'dim')}" if where else "")
            )
            if 0 < f.line <= len(lines):
                echoed = lines[f.line - 1]
                excerpt, caret = source_excerpt(redacted(echoed) if f.secret_value else echoed, f.column)
                out.append(f"    {excerpt}")
                out.append("    " + " " * caret + paint("^", f.severity))
        out.append("")
    if quiet:
        return "\n".join(out) + "\n" if out else ""
    for entry in report.fixed_baseline:
        where = describe_object(entry.get("object")) or "?"
        path = f" {entry['path']}" if entry.get("path") else ""
        env = f" [{entry['environment']}]" if entry.get("environment") else ""
        out.append(visible(f"baseline entry no longer occurs: {entry.get('rule')} {where}{path}{env}"))
    counts = report.counts()
    problems = sum(counts.values())
    scope = f"in {_plural(report.files, 'file')}, {_plural(report.objects, 'object')}"
    extras = [f"{report.baselined} baselined"] if report.baselined else []
    if report.policy:
        builtin = report.policy.startswith("<")  # "<built-in policy>"
        extras.append(report.policy.strip("<>") if builtin else f"policy {visible(report.policy)}")
    scope += f" ({', '.join(extras)})" if extras else ""
    if problems:
        detail = f"{_plural(counts['error'], 'error')}, {_plural(counts['warning'], 'warning')}, {counts['info']} info"
        out.append(paint(f"{_plural(problems, 'problem')} ({detail}) {scope}", "bold"))
    else:
        out.append(f"no problems {scope}")
    return "\n".join(out) + "\n"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
