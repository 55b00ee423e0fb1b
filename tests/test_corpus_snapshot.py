"""Nothing regresses: the whole corpus gives exactly the pinned findings (tests/corpus_snapshot.py
says how to regenerate the pin when a rule change is meant to change them)."""

from __future__ import annotations

import difflib

from tests.conftest import CORPUS, lint_files, needs_shared
from tests.corpus_snapshot import SNAPSHOT, snapshot_lines


def test_corpus_findings_match_the_pinned_snapshot() -> None:
    needs_shared(CORPUS)
    expected = SNAPSHOT.read_text(encoding="utf-8").splitlines()
    actual = snapshot_lines(lint_files(CORPUS), CORPUS)
    if actual != expected:
        diff = list(difflib.unified_diff(expected, actual, "pinned", "now", lineterm="", n=0))
        raise AssertionError(f"{len(diff)} lines of difference; first ones:\n" + "\n".join(diff[:40]))
