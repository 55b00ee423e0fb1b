"""Where each rendered line of a Helm template came from, learnt from Helm's own rendering.

Two extra renders build the source map; neither is a text search over the output:

- the *line trace*: every template file is rendered once more with a marker written before
  each newline of its literal text. Markers never add or remove whitespace, so the traced
  output has the very lines of the real output; the first marker at or after a position
  names the template line whose text or action wrote it.
- the *values trace*: the chart is rendered with every non-empty string value replaced by a
  marker; a rendered value that carries one marker, and reads as the real value once the
  marker is put back, came from that values entry (also through ``toYaml .Values.x``).

Both are proofs, checked against the real render; where a check fails the caller falls back
to the object's first line and says the location is approximate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

import yaml

from kgen.loader import JsonPath, compose_yaml

# A line marker: never whitespace, never template syntax, never in real output.
_LINE_MARK = re.compile("\x1e(\\d+)\x1f")
# A value marker: letters and digits only, so it survives quote, lower/upper and DNS names.
_VALUE_MARK = re.compile(r"kgm(\d+)x", re.IGNORECASE)

_ACTION = re.compile(r"\{\{(-[ \t\r\n])?(.*?)([ \t\r\n]-)?\}\}", re.S)
_COMMENT = re.compile(r"\{\{(-[ \t\r\n])?/\*.*?\*/([ \t\r\n]-)?\}\}", re.S)
_OPENS = ("if", "range", "with", "define", "block")
_GO_SPACE = " \t\r\n"


def _actions(text: str) -> Iterator[tuple[int, int, bool, bool, str]]:
    """(start, end, trims left, trims right, keyword) of each ``{{ }}`` action, strings respected."""
    position = 0
    while True:
        start = text.find("{{", position)
        if start < 0:
            return
        comment = _COMMENT.match(text, start)
        if comment:
            yield start, comment.end(), bool(comment.group(1)), bool(comment.group(2)), ""
            position = comment.end()
            continue
        end = _action_end(text, start + 2)
        body = text[start + 2 : end - 2]
        left = body[:1] == "-" and body[1:2] in _GO_SPACE and body[1:2] != ""
        right = body[-1:] == "-" and body[-2:-1] in _GO_SPACE and body[-2:-1] != ""
        words = body.strip("-" + _GO_SPACE).split(None, 1)
        yield start, end, left, right, words[0] if words else ""
        position = end


def _action_end(text: str, position: int) -> int:
    """The index just past the ``}}`` closing an action, skipping quoted and raw strings."""
    while position < len(text):
        char = text[position]
        if char in "\"'":
            position += 1
            while position < len(text) and text[position] != char:
                position += 2 if text[position] == "\\" else 1
        elif char == "`":
            close = text.find("`", position + 1)
            position = len(text) if close < 0 else close
        elif text.startswith("}}", position):
            return position + 2
        position += 1
    return len(text)


def instrument_template(text: str) -> str:
    """The template with a line marker before each newline Helm copies to the output.

    Newlines inside actions, inside ``define``/``block`` bodies (captured by ``include``,
    where a marker could change what the chart computes) and whitespace trimmed by ``{{-``
    or ``-}}`` get none, so the output keeps its exact lines.
    """
    out: list[str] = []
    position = 0
    depth_defines: list[bool] = []  # one entry per open block: is it a define/block?
    trims_next = False  # the previous action was `-}}`
    for start, end, left, right, keyword in [*_actions(text), (len(text), len(text), False, False, "")]:
        segment = text[position:start]
        captured = any(depth_defines)
        out.append(segment if captured else _mark_segment(text, position, segment, trims_next, left))
        out.append(text[start:end])
        if keyword in _OPENS:
            depth_defines.append(keyword in ("define", "block"))
        elif keyword == "end" and depth_defines:
            depth_defines.pop()
        trims_next = right
        position = end
    return "".join(out)


def _mark_segment(text: str, offset: int, segment: str, trimmed_before: bool, trimmed_after: bool) -> str:
    kept_start = len(segment) - len(segment.lstrip(_GO_SPACE)) if trimmed_before else 0
    kept_end = len(segment.rstrip(_GO_SPACE)) if trimmed_after else len(segment)
    if kept_end < kept_start:  # all whitespace, all trimmed
        return segment
    line = text.count("\n", 0, offset) + 1
    pieces = [segment[:kept_start]]
    line += segment.count("\n", 0, kept_start)
    if trimmed_before and "\n" in segment[:kept_start]:
        pieces.append(_mark(line))  # the text now follows the action's line
    kept = segment[kept_start:kept_end]
    for part in kept.split("\n")[:-1]:
        pieces.append(part + _mark(line) + "\n")
        line += 1
    pieces.append(kept.rsplit("\n", 1)[-1])
    if trimmed_after and kept_end < len(segment):
        pieces.append(_mark(line))
    pieces.append(segment[kept_end:])
    return "".join(pieces)


def _mark(line: int) -> str:
    return f"\x1e{line}\x1f"


class LineTrace:
    """Output position -> template line, for one rendered template file."""

    def __init__(self, real: str, traced: str) -> None:
        real_lines = real.split("\n")
        traced_lines = traced.split("\n")
        self._usable = len(real_lines) == len(traced_lines)
        # Per output line: [(column in the real line, template line)], and whether it matches.
        self._marks: list[list[tuple[int, int]]] = []
        self._same: list[bool] = []
        if not self._usable:
            return
        for real_line, traced_line in zip(real_lines, traced_lines):
            marks: list[tuple[int, int]] = []
            removed = 0
            for match in _LINE_MARK.finditer(traced_line):
                marks.append((match.start() - removed, int(match.group(1))))
                removed += match.end() - match.start()
            self._marks.append(marks)
            self._same.append(_LINE_MARK.sub("", traced_line) == real_line)

    def template_line(self, line: int, column: int) -> int | None:
        """The template line that wrote the output at 0-based (line, column), or None if unproven."""
        if not self._usable or not (0 <= line < len(self._marks)) or not self._same[line]:
            return None
        for mark_column, template_line in self._marks[line]:
            if mark_column >= column:
                return template_line
        for marks in self._marks[line + 1 :]:
            if marks:
                return marks[0][1]
        return None


# --- values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValuePoint:
    """A values entry as written: its path in the merged values and where a file sets it."""

    path: tuple[str, ...]
    file: str
    line: int
    column: int


class ValuesTrace:
    """Marks string values, then reads the marks back out of a marked render."""

    def __init__(self, merged: dict, locate: Any, decisive_keys: set[str]) -> None:
        """``locate(path) -> (file, line, column) | None`` says which file sets a value;
        values under ``decisive_keys`` stay as they are (see ``decisive_keys``)."""
        self._points: list[ValuePoint] = []
        self._originals: list[str] = []
        self._merged = merged
        self._locate = locate
        self._decisive = decisive_keys
        self.marked = self._mark(merged, (), locate)

    def _mark(self, value: Any, path: tuple[str, ...], locate: Any) -> Any:
        if isinstance(value, dict):
            return {key: self._mark(item, (*path, str(key)), locate) for key, item in value.items()}
        if isinstance(value, list):
            return [self._mark(item, (*path, str(index)), locate) for index, item in enumerate(value)]
        if isinstance(value, str) and value and not (path and path[-1] in self._decisive):
            where = locate(path)
            if where is not None:
                self._points.append(ValuePoint(path, *where))
                self._originals.append(value)
                return f"kgm{len(self._points) - 1}x"
        return value

    def source(self, real: yaml.Node, marked: yaml.Node, real_data: Any) -> ValuePoint | None:
        """The values entry the real node came from, when the marked node proves it."""
        if isinstance(real, yaml.ScalarNode) and isinstance(marked, yaml.ScalarNode):
            found = _VALUE_MARK.findall(marked.value)
            if len(found) == 1 and self._unmark(marked.value) == real.value:
                return self._points[int(found[0])]
            return None
        indices = [int(index) for scalar in _scalars(marked) for index in _VALUE_MARK.findall(scalar.value)]
        if not indices or not self._same_shape(real, marked):
            return None
        prefix = _common_prefix([self._points[index].path for index in indices])
        while prefix:
            if _values_at(self._merged, prefix) == real_data:
                return self._point_of(prefix, indices)
            prefix = prefix[:-1]
        return None

    def _point_of(self, prefix: tuple[str, ...], indices: list[int]) -> ValuePoint | None:
        """Where the values entry ``prefix`` (a map or list holding marked values) is written."""
        where = self._locate(prefix)
        return ValuePoint(prefix, *where) if where is not None else None

    def _unmark(self, text: str) -> str:
        return _VALUE_MARK.sub(lambda match: self._originals[int(match.group(1))], text)

    def _same_shape(self, real: yaml.Node, marked: yaml.Node) -> bool:
        if isinstance(real, yaml.ScalarNode) and isinstance(marked, yaml.ScalarNode):
            return self._unmark(marked.value) == real.value
        if isinstance(real, yaml.SequenceNode) and isinstance(marked, yaml.SequenceNode):
            return len(real.value) == len(marked.value) and all(self._same_shape(a, b) for a, b in zip(real.value, marked.value))
        if isinstance(real, yaml.MappingNode) and isinstance(marked, yaml.MappingNode):
            return len(real.value) == len(marked.value) and all(
                self._same_shape(ka, kb) and self._same_shape(va, vb) for (ka, va), (kb, vb) in zip(real.value, marked.value)
            )
        return False


# Template functions whose result depends on a string's content: a marked value there would
# change what the chart renders (which branch, how many items), not only the text it writes.
_DECIDING = re.compile(r"\b(?:eq|ne|lt|le|gt|ge|hasPrefix|hasSuffix|contains|semverCompare|regexMatch|mustRegexMatch|regexFind|"
                       r"split|splitList|splitn|trunc|substr|int|int64|atoi|float64|until|index|get|dig|ternary|has|mustHas)\b")
_FIELD = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)")


def decisive_keys(templates: list[str]) -> set[str]:
    """Value keys the templates compare, split or count: their values are never marked.

    Read from the template sources (helpers included) only to choose what to mark; a wrong
    choice cannot misplace a finding, as every traced value is checked against the real render.
    """
    keys: set[str] = set()
    for text in templates:
        for start, end, _left, _right, _keyword in _actions(text):
            action = text[start:end]
            if _DECIDING.search(action):
                keys.update(_FIELD.findall(action))
    return keys


def _scalars(node: yaml.Node) -> Iterator[yaml.ScalarNode]:
    if isinstance(node, yaml.ScalarNode):
        yield node
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _scalars(item)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _scalars(key)
            yield from _scalars(value)


def _common_prefix(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    first = paths[0]
    length = len(first)
    for path in paths[1:]:
        length = min(length, len(path))
        for index in range(length):
            if path[index] != first[index]:
                length = index
                break
    return first[:length]


def _values_at(values: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if isinstance(values, dict):
            values = values.get(part)
        elif isinstance(values, list) and part.isdigit() and int(part) < len(values):
            values = values[int(part)]
        else:
            return None
    return values


def node_along(root: yaml.Node | None, path: JsonPath) -> tuple[yaml.Node | None, JsonPath]:
    """The value node at ``path`` or at its nearest existing parent, and the path it is at."""
    node = root
    for depth, part in enumerate(path):
        child = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            child = next((value for key, value in reversed(node.value) if isinstance(key, yaml.ScalarNode) and key.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            child = node.value[part]
        if child is None:
            return node, path[:depth]
        node = child
    return node, path


def compose_marked(text: str) -> yaml.Node | None:
    """A marked document as a node tree (None when the marked render does not parse)."""
    try:
        return compose_yaml(text)
    except yaml.YAMLError:
        return None
