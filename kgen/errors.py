"""The one exception type that reaches the user as a one-line message (exit 2)."""

from __future__ import annotations


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
