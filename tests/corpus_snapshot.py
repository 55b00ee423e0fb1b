"""The corpus finding set, pinned: what tests/test_corpus_snapshot.py compares a lint run with.

Each line is one finding: rule, file (relative to the corpus), line, column, object
(apiVersion kind namespace/name), path and message, tab-separated and sorted. A loader,
engine or speed change must leave it unchanged; a rule change that is meant to change
findings regenerates it, and the diff of the file is the review of what changed:

    PYTHONPATH=. KGEN_SHARED=/work/shared python -m tests.corpus_snapshot
"""

from __future__ import annotations

from pathlib import Path

from kgen.findings import LintReport

SNAPSHOT = Path(__file__).parent / "data" / "corpus-findings.tsv"


def snapshot_lines(report: LintReport, corpus: Path) -> list[str]:
    """The report's findings as sorted snapshot lines, files relative to ``corpus``."""
    prefix = str(corpus).rstrip("/") + "/"
    lines = []
    for finding in report.findings:
        ref = finding.object or {}
        obj = f"{ref.get('apiVersion')} {ref.get('kind')} {ref.get('namespace') or ''}/{ref.get('name')}" if ref else "-"
        file = finding.file[len(prefix) :] if finding.file.startswith(prefix) else finding.file
        fields = (finding.rule, file, str(finding.line), str(finding.column), obj, finding.path or "-", finding.message)
        lines.append("\t".join(" ".join(field.split()) for field in fields))
    return sorted(lines)


def main() -> None:
    from tests.conftest import CORPUS, lint_files

    lines = snapshot_lines(lint_files(CORPUS), CORPUS)
    SNAPSHOT.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    print(f"wrote {len(lines)} findings to {SNAPSHOT}")


if __name__ == "__main__":
    main()
