"""The one exception type that reaches the user as a one-line message (exit 2)."""

from __future__ import annotations

import re

_LINE_BREAKS = re.compile(r"[ \t]*(?:\r?\n[ \t]*)+")


class InputError(Exception):
    """Bad or unreadable input: printed as ``file:line: message`` without a traceback."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return f"{where}{self.message}"


class RuleCrash(Exception):
    """A rule raised on some object: a kgen bug, reported with where it happened."""

    def __init__(self, rule_id: str, where: str) -> None:
        super().__init__(f"{where}internal error in rule {rule_id} (a kgen bug; please report it)")
        self.rule_id = rule_id


def tool_message(text: str) -> str:
    """A message from Helm or Kustomize on one line: a chart's `fail` text and Kustomize's quoted
    configs break lines, which a one-line report would otherwise show as escapes."""
    return _LINE_BREAKS.sub(" ", text.strip())
