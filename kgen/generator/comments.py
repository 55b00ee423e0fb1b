"""The spec's comments, carried into the Helm values files that use its words.

A comment belongs to the key it precedes (full comment lines directly above,
at the key's indentation) or ends the line of (``key: value  # why``). They are
collected by spec path, moved to the path the same field has in the values
(``components.X...`` stays, ``defaults...`` applies to every component that
inherits it, ``metadata.labels`` becomes ``labels``), and written next to the
same key by ``dump_commented``, which otherwise writes what ``dump_yaml`` would.
"""

from __future__ import annotations

from typing import Any

import yaml

from kgen.generator.spec import AppSpec
from kgen.generator.text import dump_yaml

Path = tuple[Any, ...]
Comments = dict[Path, tuple[list[str], str | None]]  # path -> (lines above, end-of-line comment)


def spec_comments(spec: AppSpec) -> Comments:
    """Every commented key of the spec, by its path in the spec."""
    lines = spec.document.source.lines
    found: Comments = {}
    _walk(spec.document.node, (), lines, found)
    return found


def _walk(node: yaml.Node, path: Path, lines: list[str], found: Comments) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        key_path = (*path, key_node.value)
        above = _lines_above(lines, key_node.start_mark.line, key_node.start_mark.column)
        same_line = _line_end_comment(lines, key_node, value_node)
        if above or same_line:
            found[key_path] = (above, same_line)
        _walk(value_node, key_path, lines, found)


def _lines_above(lines: list[str], line: int, column: int) -> list[str]:
    out: list[str] = []
    index = line - 1
    while index >= 0:
        text = lines[index]
        stripped = text.lstrip()
        if not stripped.startswith("#") or len(text) - len(stripped) != column:
            break
        out.insert(0, stripped[1:].strip())
        index -= 1
    return out


def _line_end_comment(lines: list[str], key: yaml.Node, value: yaml.Node) -> str | None:
    """The comment ending the key's line: after the value when it ends there, else after ``key:``."""
    line = key.start_mark.line
    if value.end_mark.line == line:
        rest = lines[line][value.end_mark.column:]
    elif value.start_mark.line > line or isinstance(value, (yaml.MappingNode, yaml.SequenceNode)) and value.start_mark.line == line + 1:
        rest = lines[line][key.end_mark.column:].lstrip().removeprefix(":")
    else:
        return None
    rest = rest.strip()
    return rest[1:].strip() if rest.startswith("#") else None


def values_comments(found: Comments, values: dict, env: str | None) -> Comments:
    """The spec's comments (``spec_comments``) at their paths in ``values`` (``env``: an environment's values file)."""
    out: Comments = {}
    components = values.get("components") or {}
    for path, comment in found.items():
        if env is None and path[:2] == ("metadata", "labels"):
            out[("labels", *path[2:])] = comment
        elif env is None and path[:1] == ("defaults",) and len(path) > 1:
            for name in components:
                out.setdefault(_values_path(("components", name, *path[1:]), components), comment)
    for path, comment in found.items():
        if env is None and path[:1] == ("components",) and len(path) > 1:
            out[_values_path(path, components)] = comment
        elif env is not None and path[:4] == ("environments", env, "components", *path[3:4]) and len(path) > 3:
            out[_values_path(path[2:], components)] = comment
    return out


def _values_path(path: Path, components: dict) -> Path:
    """``components.X.ports.<name>...`` is ``components.X.ports.<index>...`` in the values."""
    if len(path) > 3 and path[2] == "ports":
        names = [p.get("name") for p in (components.get(path[1]) or {}).get("ports") or []]
        if path[3] in names:
            return (*path[:3], names.index(path[3]), *path[4:])
    return path


def dump_commented(data: Any, comments: Comments) -> str:
    """``dump_yaml(data)`` with the comments written at their keys."""
    if not comments:
        return dump_yaml(data)
    return "".join(_emit(data, (), 0, comments))


def _emit(data: Any, path: Path, indent: int, comments: Comments) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    items = list(data.items()) if isinstance(data, dict) else list(enumerate(data))
    for key, value in items:
        above, same_line = comments.get((*path, key), ([], None))
        out += [f"{pad}# {line}\n" if line else f"{pad}#\n" for line in above]
        nested = isinstance(value, (dict, list)) and value and any(p[: len(path) + 1] == (*path, key) and len(p) > len(path) + 1 for p in comments)
        if isinstance(data, list):
            body = _emit(value, (*path, key), indent + 2, comments) if nested else [_indent(dump_yaml([value]), indent)]
            if nested:
                body[0] = pad + "- " + body[0][indent + 2:]
            first = body[0].split("\n", 1)[0]
        elif nested:
            # lists are not indented under their key, as dump_yaml writes them
            inner = indent if isinstance(value, list) else indent + 2
            body = [_indent(dump_yaml({key: None}), indent).replace(" null", "", 1), *_emit(value, (*path, key), inner, comments)]
            first = body[0].split("\n", 1)[0]
        else:
            body = [_indent(dump_yaml({key: value}), indent)]
            first = body[0].split("\n", 1)[0]
        if same_line:
            body[0] = body[0].replace(first, f"{first}  # {same_line}", 1)
        out += body
    return out


def _indent(text: str, indent: int) -> str:
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))
