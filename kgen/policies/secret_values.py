"""Whether a value is a secret: the one judgment behind ``kgen lint``'s secrets rules and ``kgen build``'s spec check.

:mod:`kgen.policies.secret_patterns` recognises names and value formats; this module
combines that evidence per kind of place (a setting, a file's content, free text such as
an annotation) so that the lint rules and the spec check can never disagree. Nothing here
imports the lint engine, so the generator may use it. Every result says *what* was found,
never the value.
"""

from __future__ import annotations

import re
from typing import Iterable, Pattern

from kgen.policies.secret_patterns import LazyPattern, find_token, high_entropy_runs, is_benign_value, is_secret_name, secret_assignments

# Numbers and durations say how long or how many, whatever the setting is called (TOKEN_TTL: 3600).
_NUMBER = LazyPattern(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_DURATION = LazyPattern(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w))+")


def is_plain_value(value: str) -> bool:
    """A value that cannot hold a secret: empty, a switch, a reference, a path, a plain URL, a number, a duration."""
    text = value.strip()
    return is_benign_value(text) or bool(_NUMBER.fullmatch(text) or _DURATION.fullmatch(text))


# Values a chart ships for the user to replace: "<your-key>", "changeme", "REPLACE_ME". In a file's
# content they name a setting without holding a credential (env literals are judged stricter). A mask
# such as "xxxxx" is not one: it usually stands for a real value redacted from an example.
_PLACEHOLDER = LazyPattern(
    r"<[^<>]*>|\[[^\[\]]*\]|(?:change|replace|fill|set|put)[-_ ]?(?:me|it|this|here)\b.*"
    r"|(?:your|my|some|example|sample|dummy|placeholder|todo|tbd|none|null|nil|undefined)\b.*",
    re.IGNORECASE,
)


def is_placeholder(value: str) -> bool:
    """A value left for the user to fill in: ``<your-key>``, ``changeme``, ``REPLACE_ME``."""
    return _PLACEHOLDER.fullmatch(value.strip()) is not None


def setting_secret(name: str, value: str, extra: Iterable[Pattern[str]] = ()) -> str | None:
    """Why the setting ``name: value`` (an env var) holds a secret, or None.

    A known token format or a long random-looking run counts whatever the name; a
    secret-looking name counts unless the value is plain (:func:`is_plain_value`).
    """
    found = find_token(value)
    if found:
        return f"holds {found.label}"
    if is_secret_name(name, extra) and not is_plain_value(value):
        return "looks like a secret but has a literal value"
    for _, entropy in high_entropy_runs(value):
        return f"holds a random-looking token ({entropy:.1f} bits/char)"
    return None


def content_secret(key: str, value: str, extra: Iterable[Pattern[str]] = ()) -> str | None:
    """Why the file ``key`` with content ``value`` holds a secret, or None; the strongest evidence first."""
    patterns = tuple(extra)
    found = find_token(value)
    if found:
        return f"holds {found.label}" + (f" (line {found.line_in(value)})" if "\n" in value else "")
    # A file of several lines is judged by what it holds, not by its name: `credentials` in KServe's
    # config is a JSON document naming Secrets, and a real credentials file shows its key or assignment.
    document = "\n" in value.strip()
    if is_secret_name(key, patterns) and not document and not is_plain_value(value) and not is_placeholder(value):
        return "has a secret-looking name and a literal value"
    for line, setting in secret_assignments(value, patterns):
        return f"sets {setting} to a literal value on line {line}"
    for offset, entropy in high_entropy_runs(value):
        line = value.count("\n", 0, offset) + 1
        return f"holds a random-looking token on line {line} ({entropy:.1f} bits/char)"
    return None


def text_secret(value: str) -> str | None:
    """Why free text (an annotation or label value) holds a secret, or None: known formats only."""
    found = find_token(value)
    return f"holds {found.label}" if found else None
