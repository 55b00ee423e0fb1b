"""Write a change to YAML data as the smallest text edit, leaving every other character as it was.

Re-emitting a document, even with ruamel.yaml's round-trip mode, normalises what it does not
model: over the shared corpus only a third of the documents with containers come back
byte-for-byte (trailing spaces, padding inside flow sequences, whitespace-only lines in block
scalars and mixed list indentation are rewritten), and it takes ~40 s. So kgen compares the data
before and after an edit and writes only the difference, placed with the loader's node marks:
a new key after the last line of its mapping, a new item after the last of its list, a changed
scalar in place in the same quoting; indented like the object's other nested mappings and lists
(block or flow, like the collection it joins); a new string the object already writes (a request
copied to a limit) in the quotes of its nearest occurrence. Removals and type changes are not supported
(fixers never make them): they raise :class:`Unpatchable`, as does anything the caller's check
of the result rejects.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import yaml

from kgen.loader import read_plain


class Unpatchable(Exception):
    """A change that cannot be written without reformatting the file."""


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` by ``text``; of two inserts at one offset the deeper goes first."""

    start: int
    end: int
    text: str
    depth: int


@dataclass(frozen=True)
class _Layout:
    """How the file writes what an edit adds: its newline and its indentation habits."""

    source: str
    newline: str
    step: int  # a nested mapping's keys, relative to its parent key
    offset: int  # a block list's dashes, relative to its parent key
    written: dict[str, list[tuple[int, str | None]]]  # string values of the object: (offset, quote or None)
    near: int = 0  # where the edit being written goes


def text_edits(source: str, node: yaml.Node, old: Any, new: Any) -> list[Edit]:
    """The edits of ``source`` that turn ``node`` (read as ``old``) into ``new``."""
    step, offset = _indentation(node)
    layout = _Layout(source, _newline(source), step, offset, _written_strings(node))
    edits: list[Edit] = []
    _diff(old, new, node, 0, layout, edits)
    return edits


def _newline(source: str) -> str:
    """The file's line ending, so added lines match it: CRLF, CR alone (classic Mac) or LF."""
    if "\r\n" in source:
        return "\r\n"
    return "\r" if "\r" in source and "\n" not in source else "\n"


def apply_edits(source: str, edits: list[Edit]) -> str:
    parts: list[str] = []
    done = 0
    for edit in sorted(set(edits), key=lambda e: (e.start, -e.depth)):
        if edit.start < done:
            raise Unpatchable("two edits overlap")
        parts += [source[done : edit.start], edit.text]
        done = edit.end
    parts.append(source[done:])
    return "".join(parts)


def _diff(old: Any, new: Any, node: yaml.Node, depth: int, layout: _Layout, out: list[Edit]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict) and isinstance(node, yaml.MappingNode):
        if any(key not in new for key in old):
            raise Unpatchable("a key would be removed")
        for key, value in old.items():
            if value != new[key]:
                child = _value_node(node, key)
                if child is None:
                    raise Unpatchable(f"{key!r} is not written in this mapping (a merge key?)")
                _diff(value, new[key], child, depth + 1, layout, out)
        added = {key: value for key, value in new.items() if key not in old}
        if added:
            out.append(_add_entries(node, added, depth, layout))
    elif isinstance(old, list) and isinstance(new, list) and isinstance(node, yaml.SequenceNode):
        if len(new) < len(old) or len(node.value) != len(old):
            raise Unpatchable("a list item would be removed")
        for index, value in enumerate(old):
            _diff(value, new[index], node.value[index], depth + 1, layout, out)
        if len(new) > len(old):
            out.append(_add_items(node, new[len(old) :], depth, layout))
    elif isinstance(node, yaml.ScalarNode) and not isinstance(old, (dict, list)) and not isinstance(new, (dict, list)):
        out.append(Edit(node.start_mark.index, node.end_mark.index, _styled(new, node.style), depth))
    else:
        raise Unpatchable("a value would change its type")


def _value_node(node: yaml.MappingNode, key: Any) -> yaml.Node | None:
    """The value node of ``key`` written in this very mapping (the last duplicate, as in the data)."""
    for key_node, value_node in reversed(node.value):
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def _add_entries(node: yaml.MappingNode, added: dict, depth: int, layout: _Layout) -> Edit:
    layout = replace(layout, near=node.start_mark.index)
    if node.flow_style or not node.value:
        return _flow_insert(node, [f"{_scalar(key)}: {_flow(value, layout)}" for key, value in added.items()], depth)
    column = node.value[0][0].start_mark.column
    lines = [line for key, value in added.items() for line in _entry(key, value, column, layout)]
    return _after(_tail(node), lines, depth, layout)


def _add_items(node: yaml.SequenceNode, items: list, depth: int, layout: _Layout) -> Edit:
    layout = replace(layout, near=node.start_mark.index)
    if node.flow_style or not node.value:
        return _flow_insert(node, [_flow(item, layout) for item in items], depth)
    dash = node.start_mark.column
    lines = [line for item in items for line in _item(item, dash, layout)]
    return _after(_tail(node), lines, depth, layout)


def _flow_insert(node: yaml.Node, parts: list[str], depth: int) -> Edit:
    """Into ``{...}`` or ``[...]``: after the last entry, or just inside the opening bracket."""
    if not node.value:
        if not node.flow_style:
            raise Unpatchable("an empty collection that is not in flow style")
        return Edit(node.start_mark.index + 1, node.start_mark.index + 1, ", ".join(parts), depth)
    last = node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1]
    return Edit(last.end_mark.index, last.end_mark.index, ", " + ", ".join(parts), depth)


def _tail(node: yaml.Node) -> yaml.Node:
    """The node written last inside a block collection: new lines go after its line."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    return node


def _after(tail: yaml.Node, lines: list[str], depth: int, layout: _Layout) -> Edit:
    """Insert whole lines after the line where ``tail`` ends (a block scalar: its last content line)."""
    source = layout.source
    end = tail.end_mark.index
    if isinstance(tail, yaml.ScalarNode) and tail.style in ("|", ">"):
        while end > tail.start_mark.index and source[end - 1].isspace():
            end -= 1
    newline = source.find(layout.newline[-1], end)
    if newline < 0:  # the last line has no newline: keep it that way
        return Edit(len(source), len(source), layout.newline + layout.newline.join(lines), depth)
    return Edit(newline + 1, newline + 1, "".join(line + layout.newline for line in lines), depth)


def _entry(key: Any, value: Any, column: int, layout: _Layout) -> list[str]:
    """``key: value`` at ``column``: nested mappings and lists of mappings in block style, the rest in flow."""
    head = " " * column + _scalar(key) + ":"
    if isinstance(value, dict) and value:
        return [head, *(line for k, v in value.items() for line in _entry(k, v, column + layout.step, layout))]
    if isinstance(value, list) and any(isinstance(item, dict) and item for item in value):
        return [head, *(line for item in value for line in _item(item, column + layout.offset, layout))]
    return [f"{head} {_flow(value, layout)}"]


def _item(item: Any, dash: int, layout: _Layout) -> list[str]:
    if isinstance(item, dict) and item:
        lines = [line for key, value in item.items() for line in _entry(key, value, dash + 2, layout)]
        lines[0] = " " * dash + "- " + lines[0][dash + 2 :]
        return lines
    return [" " * dash + "- " + _flow(item, layout)]


def _flow(value: Any, layout: _Layout) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v, layout)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(item, layout) for item in value) + "]"
    copies = layout.written.get(value) if isinstance(value, str) else None
    if copies:  # most likely copied from the nearest one: keep its quotes
        return _styled(value, min(copies, key=lambda copy: abs(copy[0] - layout.near))[1])
    return _scalar(value)


def _written_strings(root: yaml.Node) -> dict[str, list[tuple[int, str | None]]]:
    """Every string value written in the object: its offset, and its quote character if quoted."""
    written: dict[str, list[tuple[int, str | None]]] = {}
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend(value for _, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif node.tag == _STR:
            quote = node.style if node.style in ('"', "'") else None
            written.setdefault(node.value, []).append((node.start_mark.index, quote))
    return written


_STR = "tag:yaml.org,2002:str"
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")


def _scalar(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    return text if _plain_safe(text) else json.dumps(text)


@lru_cache(maxsize=1024)
def _plain_safe(text: str) -> bool:
    """Reads back as this very string when unquoted, as kubectl reads it (not a number, boolean or null, no syntax)."""
    return bool(_PLAIN.fullmatch(text)) and read_plain(text) == text


def _styled(value: Any, style: str | None) -> str:
    """A replacement scalar in the quoting the old one had."""
    if style == '"' and isinstance(value, str):
        return json.dumps(value)
    if style == "'" and isinstance(value, str) and "\n" not in value:
        return "'" + value.replace("'", "''") + "'"
    if style in ("|", ">"):
        raise Unpatchable("a block scalar would be replaced")
    return _scalar(value)


def _indentation(root: yaml.Node) -> tuple[int, int]:
    """The object's nested-mapping step and list-dash offset, from the first of each written in block style."""
    step: int | None = None
    offset: int | None = None
    stack, seen = [root], set()
    while stack and (step is None or offset is None):
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode) and not node.flow_style:
            for key, value in node.value:
                block = not getattr(value, "flow_style", True) and bool(value.value)
                if block and isinstance(value, yaml.MappingNode) and step is None:
                    step = value.value[0][0].start_mark.column - key.start_mark.column
                elif block and isinstance(value, yaml.SequenceNode) and offset is None:
                    offset = value.start_mark.column - key.start_mark.column
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return (step if step and step > 0 else 2), (offset if offset is not None and offset >= 0 else 0)
