"""Escaping user-controlled text (object names, paths, messages, source lines) per output format.

A manifest is written by whoever opened the pull request, and kgen's output is read by a terminal,
a CI log and CI dashboards. Nothing in the input may steer them: no terminal escape sequences
(ANSI colours, OSC titles and hyperlinks), no line breaks that start a GitHub workflow command
(``::error ...``), no character that makes an XML report unreadable.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, zero-width and bidirectional controls (text that reads differently than it
# is), lone surrogates (unencodable) and the two XML-forbidden non-characters.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def _code(match: re.Match[str]) -> str:
    point = ord(match.group(0))
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"


def visible(text: str) -> str:
    """``text`` on one line with every control character shown as an escape (``\\x1b``, ``\\n``)."""
    return _UNSAFE.sub(_code, text)


def text_line(text: str) -> str:
    """``visible`` text that also cannot start a GitHub workflow command when printed at a line start."""
    escaped = visible(text)
    return "\\x3a" + escaped[1:] if escaped.startswith("::") else escaped


def github_data(text: str) -> str:
    """The message part of a workflow command: GitHub's own escapes for ``%``, CR and LF, the rest visible."""
    escaped = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return visible(escaped)


def github_property(text: str) -> str:
    """A workflow-command property value (file, title): as data, and ``:`` and ``,`` escaped."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def xml_text(text: str) -> str:
    """Text that XML 1.0 can hold (it forbids most controls and lone surrogates), on one line: CI
    dashboards print test names and failure messages into logs, where a line break could start
    a workflow command."""
    return visible(text)


SOURCE_WIDTH = 200  # characters of an echoed source line kept around the column


def source_excerpt(line: str, column: int, width: int = SOURCE_WIDTH) -> tuple[str, int]:
    """(excerpt, caret offset): at most ``width`` characters of ``line`` around the 1-based ``column``,
    ``...`` marking what was cut, made ``visible``; the offset is where the caret goes under it."""
    line = line.expandtabs(1)
    index = min(max(column - 1, 0), len(line))
    start = max(0, min(index - width // 2, len(line) - width))
    end = min(len(line), start + width)
    head = ("..." if start > 0 else "") + visible(line[start:index])
    tail = visible(line[index:end]) + ("..." if end < len(line) else "")
    return head + tail, len(head)


_KEY = re.compile(r"^\s*(?:-\s+)?\{?\s*[\"']?[\w.\-/]{1,256}[\"']?\s*[:=]\s*")


def redacted(line: str) -> str:
    """The line with its value hidden, as findings about secrets word their messages: the leading key
    (``password:``, ``DB_PASSWORD=``, ``- {name:``) stays, the rest becomes ``(redacted)``."""
    match = _KEY.match(line)
    keep = match.group(0) if match else line[: len(line) - len(line.lstrip())]
    return keep + "(redacted)" if line[len(keep) :].strip() else line
