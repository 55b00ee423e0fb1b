"""Where each rendered line of a Helm template came from, learnt from Helm's own rendering.

One extra render builds the source map; it is never a text search over the output:

- the *line trace*: every template file carries a marker before each newline of its literal
  text. Markers never add or remove whitespace, so the traced output has the very lines of
  the real output; the first marker at or after a position names the template line whose
  text or action wrote it.
- the *values trace*: the same render gets every single-line string value replaced by a
  marker; a rendered value that carries one marker, and reads as the real value once the
  marker is put back, came from that values entry (also through ``toYaml .Values.x``).

Both are proofs, checked against the real render; where a check fails the caller falls back
to the object's first line and says the location is approximate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import yaml

from kgen.loader import JsonPath

# A line marker: never whitespace, never template syntax, never in real output.
_LINE_MARK = re.compile("\x1e(\\d+)\x1f")
# A value marker: letters and digits only, so it survives quote, lower/upper and DNS names.
_VALUE_MARK = re.compile(r"kgm(\d+)x", re.IGNORECASE)
# A YAML merge key (``<<: *defaults``), whose mapping lends its keys.
_MERGE = "tag:yaml.org,2002:merge"

# One action: a comment (groups 1, 2: its trim markers), or code (group 3: its left trim marker,
# group 4: its keyword) up to the first `}}` outside a "string", 'char' or `raw string`.
# Written as runs of plain characters between the special ones, so the engine takes a run in
# one step (one step per character was 3x slower).
_ACTION = re.compile(
    r"""\{\{(?:(-[ \t\r\n]|)/\*.*?\*/([ \t\r\n]-|)\}\}"""
    r"""|(-(?=[ \t\r\n])|)[ \t\r\n]*([A-Za-z]*)"""
    r"""[^}"'`]*(?:(?:"[^"\\\n]*(?:\\.[^"\\\n]*)*"|'[^'\\]*(?:\\.[^'\\]*)*'|`[^`]*`|\}(?!\}))[^}"'`]*)*\}\})""",
    re.S,
)
_OPENS = ("if", "range", "with", "define", "block")
_CAPTURES = ("define", "block")
_GO_SPACE = " \t\r\n"


def instrument_template(text: str) -> str:
    """The template with a line marker before each newline Helm copies to the output.

    Newlines inside actions, inside ``define``/``block`` bodies (captured by ``include``,
    where a marker could change what the chart computes) and whitespace trimmed by ``{{-``
    or ``-}}`` get none, so the output keeps its exact lines.
    """
    out: list[str] = []
    position = 0
    blocks: list[bool] = []  # one entry per open block: is it a define/block?
    captured = 0  # how many of them are
    trims_next = False  # the previous action was `-}}`
    line = 1  # the template line ``position`` is on
    for match in _ACTION.finditer(text):
        start, end = match.span()
        comment_left, comment_right, code_left, keyword = match.group(1, 2, 3, 4)
        if keyword is None:  # a comment
            left, right, keyword = bool(comment_left), bool(comment_right), ""
        else:
            left, right = bool(code_left), text[end - 3] == "-" and text[end - 4] in _GO_SPACE
        if start != position:
            segment = text[position:start]
            as_is = captured or not (trims_next or left or "\n" in segment)  # nothing to mark
            out.append(segment if as_is else _mark_segment(line, segment, trims_next, left))
            line += segment.count("\n")
        action = match.group()
        out.append(action)
        line += action.count("\n")
        if keyword in _OPENS:
            blocks.append(keyword in _CAPTURES)
            captured += blocks[-1]
        elif keyword == "end" and blocks:
            captured -= blocks.pop()
        trims_next = right
        position = end
    segment = text[position:]
    out.append(segment if captured else _mark_segment(line, segment, trims_next, False))
    return "".join(out)


def _mark_segment(line: int, segment: str, trimmed_before: bool, trimmed_after: bool) -> str:
    """One literal text segment starting on template ``line``, its copied newlines marked."""
    kept_start = len(segment) - len(segment.lstrip(_GO_SPACE)) if trimmed_before else 0
    kept_end = len(segment.rstrip(_GO_SPACE)) if trimmed_after else len(segment)
    if kept_end < kept_start:  # all whitespace, all trimmed
        return segment
    head, tail = segment[:kept_start], segment[kept_end:]  # what the trim markers remove
    line += head.count("\n")
    lines = segment[kept_start:kept_end].split("\n")
    marked = "".join([f"{text}\x1e{line + index}\x1f\n" for index, text in enumerate(lines[:-1])]) + lines[-1]
    before = _mark(line) if "\n" in head else ""  # the text now follows the action's line
    after = _mark(line + len(lines) - 1) if tail else ""
    return head + before + marked + after + tail


def _mark(line: int) -> str:
    return f"\x1e{line}\x1f"


class LineTrace:
    """Output position -> template line, for one rendered template file.

    ``traced`` is the traced render (None: there is none): line markers, and value markers
    ``unmark`` puts back. Lines are compared and read when a finding asks for them.
    """

    def __init__(self, real: str, traced: str | None, unmark: Callable[[str], str]) -> None:
        self._real = real.split("\n")
        self._traced = traced.split("\n") if traced is not None else []
        self._unmark = unmark
        # Per output line read so far: [(column in the real line, template line)], and whether it matches.
        self._lines: dict[int, tuple[list[tuple[int, int]], bool]] = {}
        # The output lines the trace can speak for: all when it has as many as the real output, else
        # those before the first that differs (a marked value took another branch further on: the
        # lines after it no longer face the lines that wrote them).
        self._proven = len(self._real) if len(self._real) == len(self._traced) else self._first_difference()

    def _first_difference(self) -> int:
        for index in range(min(len(self._real), len(self._traced))):
            if not self._line(index)[1]:
                return index
        return min(len(self._real), len(self._traced))

    def _line(self, index: int) -> tuple[list[tuple[int, int]], bool]:
        if index not in self._lines:
            traced_line = self._traced[index]
            marks: list[tuple[int, int]] = []
            real_column = 0
            position = 0
            for match in _LINE_MARK.finditer(traced_line):
                real_column += len(self._unmark(traced_line[position : match.start()]))
                marks.append((real_column, int(match.group(1))))
                position = match.end()
            self._lines[index] = (marks, self._unmark(_LINE_MARK.sub("", traced_line)) == self._real[index])
        return self._lines[index]

    def template_line(self, line: int, column: int) -> int | None:
        """The template line that wrote the output at 0-based (line, column), or None if unproven."""
        if not (0 <= line < self._proven):
            return None
        marks, same = self._line(line)
        if not same:
            return None
        for mark_column, template_line in marks:
            if mark_column >= column:
                return template_line
        for traced_line in self._traced[line + 1 : self._proven]:  # the first marker after it: its line number only
            later = _LINE_MARK.search(traced_line)
            if later:
                return int(later.group(1))
        return None

    def marks_values(self, first: int, last: int) -> bool:
        """Whether traced lines ``first`` to ``last`` (0-based) hold a value marker."""
        return any(_VALUE_MARK.search(text) for text in self._traced[first : last + 1])

    def marked_text(self, line: int, count: int, column: int) -> str | None:
        """``count`` traced lines from 0-based (line, column), without line markers: a document with
        marked values; None when some of them are past the lines the trace speaks for."""
        if line + count > self._proven:
            return None
        lines = [_LINE_MARK.sub("", text) for text in self._traced[line : line + count]]
        if lines:
            lines[0] = lines[0][column:]
        return "\n".join(lines)


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
        self._paths: list[tuple[str, ...]] = []  # marker number -> the values path it stands for
        self._originals: list[str] = []
        self._merged = merged
        self._locate = locate
        self._decisive = decisive_keys
        self.marked = self._mark(merged, ())

    def _mark(self, value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, dict):
            return {key: self._mark(item, (*path, str(key))) for key, item in value.items()}
        if isinstance(value, list):
            return [self._mark(item, (*path, str(index))) for index, item in enumerate(value)]
        # Multi-line strings stay as they are: a marker must not change the output's lines; so do
        # strings `toYaml` may fold (go-yaml breaks a line at a space past column 80, and a marker
        # has no space) and strings holding template actions, which `tpl` would render.
        if isinstance(value, str) and value and "\n" not in value and not _foldable(value) and "{{" not in value and not self._decides(path):
            self._paths.append(path)
            self._originals.append(value)
            return f"kgm{len(self._paths) - 1}x"
        return value

    def _decides(self, path: tuple[str, ...]) -> bool:
        """Whether a template decides on the string at ``path``: its key, or for a list item the list's, is decisive."""
        if not path:
            return False
        return path[-1] in self._decisive or len(path) > 1 and path[-1].isdigit() and path[-2] in self._decisive

    def source(self, real: yaml.Node, marked: yaml.Node, real_data: Any, marked_text: str) -> ValuePoint | None:
        """The values entry the real node came from, when the marked node proves it.

        ``marked_text``: the document ``marked`` was composed from.
        """
        if isinstance(real, yaml.ScalarNode) and isinstance(marked, yaml.ScalarNode):
            found = _VALUE_MARK.findall(marked.value)
            if len(found) == 1 and self.unmark(marked.value) == real.value:
                return self._point_of(self._paths[int(found[0])])
            return None
        start, end = marked.start_mark.index, marked.end_mark.index
        if "#" in marked_text[start:end]:  # a comment may hold markers: only the scalars count
            indices = [int(index) for scalar in _scalars(marked) for index in _VALUE_MARK.findall(scalar.value)]
        else:  # the markers in the node's text are its scalars' markers, found in one scan
            indices = [int(index) for index in _VALUE_MARK.findall(marked_text, start, end)]
        if not indices:
            return None
        prefix = _common_prefix([self._paths[index] for index in indices])
        while prefix:
            if _values_at(self._merged, prefix) == real_data:  # cheap, and rarely true: checked first
                return self._point_of(prefix) if self._same_shape(real, marked) else None
            prefix = prefix[:-1]
        return None

    def _point_of(self, path: tuple[str, ...]) -> ValuePoint | None:
        """Where a values file writes ``path`` (None for a --set value: no file to point at)."""
        where = self._locate(path)
        return ValuePoint(path, *where) if where is not None else None

    def unmark(self, text: str) -> str:
        """``text`` with every value marker put back to the value it stands for."""
        if "kgm" not in text.lower():
            return text
        return _VALUE_MARK.sub(lambda match: self._originals[int(match.group(1))], text)

    def _same_shape(self, real: yaml.Node, marked: yaml.Node) -> bool:
        if isinstance(real, yaml.ScalarNode) and isinstance(marked, yaml.ScalarNode):
            return self.unmark(marked.value) == real.value
        if isinstance(real, yaml.SequenceNode) and isinstance(marked, yaml.SequenceNode):
            return len(real.value) == len(marked.value) and all(self._same_shape(a, b) for a, b in zip(real.value, marked.value))
        if isinstance(real, yaml.MappingNode) and isinstance(marked, yaml.MappingNode):
            return len(real.value) == len(marked.value) and all(
                self._same_shape(ka, kb) and self._same_shape(va, vb) for (ka, va), (kb, vb) in zip(real.value, marked.value)
            )
        return False


# Template functions whose result depends on a string's content: a marked value there would
# change what the chart renders (which branch, how many items), not only the text it writes; and
# those whose output hides their input (a digest, base64): a marker cannot be read back through
# them, and marking the value would only make the traced line differ from Helm's.
_DECIDING = re.compile(r"\b(?:eq|ne|lt|le|gt|ge|hasPrefix|hasSuffix|contains|semverCompare|regexMatch|mustRegexMatch|regexFind|"
                       r"split|splitList|splitn|trunc|substr|int|int64|atoi|float64|until|index|get|dig|ternary|has|mustHas|"
                       r"b64enc|b64dec|b32enc|b32dec|sha1sum|sha256sum|sha512sum|adler32sum|htpasswd|encryptAES|derivePassword|"
                       r"Glob|Get|GetBytes|Lines|AsConfig|AsSecrets)\b")  # .Files: a marked path reads another file
_FIELD = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)")
_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# `$name := expression` or `$name = expression`, within one action (actions are NUL-separated).
_ASSIGNED = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\s*:?=([^\0]*)")
_INCLUDED = re.compile(r'\b(?:include|template)\s+"([^"]+)"')
_BLOCK_KEYWORD = re.compile(r"\{\{-?\s*(if|range|with|define|block|end)\b")
_DEFINE = re.compile(r'\{\{-?\s*define\s+"([^"]+)"')
# A named argument handed to a helper: `dict "type" .Values.master.podAntiAffinityPreset` (group 1:
# the name the helper reads, group 2: the key of the value it is given).
_NAMED_ARGUMENT = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"\s+\(?\$?[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\.([A-Za-z_][A-Za-z0-9_]*)\b(?![."])')


def decisive_keys(templates: list[str]) -> set[str]:
    """Value keys the templates compare, split or count: their values are never marked (nor the
    strings of a list under such a key).

    Read from the template sources (helpers included) only to choose what to mark; a wrong
    choice cannot misplace a finding, as every traced value is checked against the real render.
    """
    keys: set[str] = set()
    variables: set[str] = set()
    arguments: list[tuple[str, str]] = []
    assignments: dict[str, list[str]] = {}
    for text in templates:
        # The actions alone, NUL-separated: a search of them all is one scan, not one per action.
        actions = "\0".join(map(re.Match.group, _ACTION.finditer(text)))
        end = 0
        for word in _DECIDING.finditer(actions):
            if word.start() >= end:  # not in the action just read
                start = actions.rfind("\0", 0, word.start()) + 1
                end = actions.find("\0", word.end())
                end = len(actions) if end == -1 else end
                keys.update(_FIELD.findall(actions, start, end))
                variables.update(_VARIABLE.findall(actions, start, end))
        if "dict" in actions:
            arguments += _NAMED_ARGUMENT.findall(actions)
        for name, expression in _ASSIGNED.findall(actions):
            assignments.setdefault(name, []).append(expression)
    _keys_behind(variables, assignments, templates, keys)
    # A helper that compares its argument `.type` decides on whatever value a caller hands it as "type"
    # (Bitnami's common chart: `dict "type" .Values.master.podAntiAffinityPreset`).
    while True:
        handed = {key for name, key in arguments if name in keys} - keys
        if not handed:
            return keys
        keys |= handed


def _keys_behind(variables: set[str], assignments: dict[str, list[str]], templates: list[str], keys: set[str]) -> None:
    """Add to ``keys`` the value keys behind compared ``variables``: those their assignments read,
    directly or through a helper they include (kube-state-metrics: `$collectors := include
    "kube-state-metrics.collectors" $ | fromYamlArray`, then `has "configmaps" $collectors`)."""
    pending, seen, helpers = set(variables), set(), set()
    while pending:
        variable = pending.pop()
        seen.add(variable)
        for expression in assignments.get(variable, ()):
            keys.update(_FIELD.findall(expression))
            pending.update(set(_VARIABLE.findall(expression)) - seen)
            for helper in set(included_templates(expression)) - helpers:
                helpers.add(helper)
                for body in _helper_bodies(templates, helper):
                    keys.update(_FIELD.findall(body))


def included_templates(text: str) -> list[str]:
    """The named templates ``text`` (a template, an action) includes or calls by name."""
    return _INCLUDED.findall(text)


def named_templates(text: str) -> Iterator[tuple[str, str]]:
    """(name, body) of each ``define`` in a template file, the body up to its own ``end``."""
    for define in _DEFINE.finditer(text):
        depth = 1
        for block in _BLOCK_KEYWORD.finditer(text, define.end()):
            depth += -1 if block.group(1) == "end" else 1
            if depth == 0:
                yield define.group(1), text[define.end() : block.start()]
                break


def _helper_bodies(templates: list[str], name: str) -> Iterator[str]:
    """The text of each ``define`` of ``name``."""
    return (body for text in templates if name in text for defined, body in named_templates(text) if defined == name)


# Past this length a string with a space may reach column 80 where `toYaml` writes it, nested.
FOLDABLE_LENGTH = 24


def _foldable(value: str) -> bool:
    """Whether ``toYaml`` may break ``value`` over lines (NVIDIA's VSS blueprint: a long `until ...;
    do ...; done` init command in values wrapped in two, and every later line of the template moved)."""
    return len(value) > FOLDABLE_LENGTH and (" " in value or "\t" in value)


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


def _mapping_value(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    """The value of ``key`` (the last one written wins), else the value a ``<<`` merge brings."""
    found = next((value for item, value in reversed(node.value) if isinstance(item, yaml.ScalarNode) and item.value == key), None)
    if found is not None:
        return found
    for item, value in node.value:
        if item.tag == _MERGE:
            for merged in value.value if isinstance(value, yaml.SequenceNode) else [value]:
                found = _mapping_value(merged, key) if isinstance(merged, yaml.MappingNode) else None
                if found is not None:
                    return found
    return None


def node_along(root: yaml.Node | None, path: JsonPath) -> tuple[yaml.Node | None, JsonPath]:
    """The value node at ``path`` or at its nearest existing parent, and the path it is at."""
    node = root
    for depth, part in enumerate(path):
        child = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            child = _mapping_value(node, part)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            child = node.value[part]
        if child is None:
            return node, path[:depth]
        node = child
    return node, path


class _NodesOnly(getattr(yaml, "CBaseLoader", yaml.BaseLoader)):  # type: ignore[misc]
    """Node trees without types: the traces walk them by key text and compare scalar text, and
    resolving each node's type was a third of composing a document. ``<<`` keeps its meaning,
    so a path through a merge key is still found."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        return _MERGE if kind is yaml.ScalarNode and value == "<<" and implicit[0] else ""

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass



def compose_nodes(text: str) -> yaml.Node | None:
    """A YAML document (a rendered one, marked or not, or a values file) as a node tree to walk
    by key text; None when it does not parse."""
    try:
        return yaml.compose(text, Loader=_NodesOnly)
    except yaml.YAMLError:
        return None
