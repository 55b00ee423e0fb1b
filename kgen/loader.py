"""Load YAML into Kubernetes objects that remember where every field was written.

PyYAML's C composer gives a node tree with marks; we build plain Python values
from it ourselves (which is what lets us see duplicate keys and alias bombs) and
keep the node tree, so any JSON path resolves to a line and column only when a
finding needs one.

Where kgen's C reader is built (``_kgen_yaml``, src/_kgen_yaml.c), it reads the plain files
instead, about three times faster: the same values, and a table of positions in C that
answers ``locate``; PyYAML's node tree is then composed only if a stage asks for a node. Any
file with an anchor, alias, tag, merge key, duplicate key or error is read by PyYAML, and the
C reader types plain scalars with this module's resolver, so the two cannot differ.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Protocol, TypeVar, Union

import yaml

from kgen.errors import InputError
from kgen.fsutil import read_at_most

PathPart = Union[str, int]
JsonPath = tuple[PathPart, ...]

MAX_FILE_BYTES = 64 * 1024 * 1024
# A document may expand aliases up to this many nodes; beyond it is an alias bomb.
MAX_EXPANDED_NODES = 2_000_000

_SAFE = yaml.constructor.SafeConstructor()
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
# kubectl and the API machinery read YAML with go-yaml v2 (through sigs.k8s.io/yaml), which takes
# unquoted y, Y, n and N for booleans, as YAML 1.1 says; PyYAML reads them as strings.
_GO_YAML_BOOL = re.compile(r"^(?:y|Y|n|N)$")
_TRUE_WORDS = frozenset({"y", "yes", "true", "on"})

_R = TypeVar("_R", bound="type[yaml.resolver.BaseResolver]")


def resolve_like_kubectl(cls: _R) -> _R:
    """Make a PyYAML loader or dumper class resolve plain scalars as kubectl does (``y`` is a boolean).

    A loader then sees the object kubectl would send; a dumper quotes the strings kubectl would misread.
    """
    cls.add_implicit_resolver(_BOOL, _GO_YAML_BOOL, list("yYnN"))
    return cls


@resolve_like_kubectl
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (the C one when built), reading plain scalars as kubectl does.

    The composer asks ``resolve`` for the tag of every node; PyYAML's answer tries each regular
    expression registered for the scalar's first character. Most scalars are keys and words
    that no expression can match, or repeat ("name", "true"): those are answered at once.
    """

    def resolve(self, kind: type[yaml.Node], value: str | None, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if not implicit[0] or (value and value[0] not in _RESOLVED_FIRST):
                return _STR
            tag = _PLAIN_TAGS.get(value)  # type: ignore[arg-type]
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(value) <= 32 and len(_PLAIN_TAGS) < 10_000:  # type: ignore[arg-type]
                    _PLAIN_TAGS[value] = tag  # type: ignore[index]
            return tag
        return _SEQ if kind is yaml.SequenceNode else _MAP

    # The composer calls these two around every node, for path resolvers, which kgen never
    # registers; PyYAML's methods then return at once. Builtins that accept the same arguments
    # and do nothing are cheaper than a Python call: 5% of the loader's time on the corpus.
    descend_resolver = staticmethod(slice)  # called as (parent node, index)
    ascend_resolver = staticmethod(tuple)  # called with no argument


# The first characters some implicit resolver is registered for (a plain scalar starting
# otherwise is a string), and the tags of plain scalars already resolved, by text.
_RESOLVED_FIRST = frozenset(key for key in _Loader.yaml_implicit_resolvers if key)
assert None not in _Loader.yaml_implicit_resolvers  # no resolver for every first character
assert not _Loader.yaml_path_resolvers  # descend_resolver and ascend_resolver may do nothing
_PLAIN_TAGS: dict[str, str] = {}

try:
    import _kgen_yaml as _fast
except ImportError:  # not built (no C compiler or libyaml headers): PyYAML reads everything
    _fast = None
if _fast is not None and getattr(_fast, "ABI", None) != 3:  # built for another kgen
    _fast = None

# What a plain scalar means, by text, for the C reader: (value, key text), the key text None
# for a merge key (<<). Bounded as _PLAIN_TAGS is.
_PLAIN_MEANINGS: dict[str, tuple[Any, str | None]] = {}
_RESOLVER: list[_Loader] = []


def _plain_meaning(text: str) -> tuple[Any, str | None]:
    """What ``text`` written unquoted means as a value and as a key, exactly as the PyYAML path
    reads it (the C reader's resolver)."""
    if not _RESOLVER:
        _RESOLVER.append(_Loader(""))
    tag = _RESOLVER[0].resolve(yaml.ScalarNode, text, (True, False))
    node = yaml.ScalarNode(tag, text)
    meaning = (_scalar(node), None if tag == _MERGE else _key_text(node))
    if len(text) <= 32 and len(_PLAIN_MEANINGS) < 10_000:
        _PLAIN_MEANINGS[text] = meaning
    return meaning


# An implicit resolver's expression that is a list of words (booleans, null, merge, value): its
# matches are no longer than its longest word.
_WORD_LIST = re.compile(r"\^\(\?:((?:\s*[A-Za-z~=<]*\s*\|)*\s*[A-Za-z~=<]*\s*)\)\$")


def _longest_typed() -> dict[str, int]:
    """For each first character some implicit resolver is registered for, the longest plain scalar
    its expressions can match (-1: any length), read from PyYAML's expressions themselves: a longer
    one is a string at once (the descriptions in CRDs start with T, N, O...)."""
    longest: dict[str, int] = {}
    for first, resolvers in _Loader.yaml_implicit_resolvers.items():
        if first:
            words = [_WORD_LIST.fullmatch(regexp.pattern.strip()) for _, regexp in resolvers]
            longest[first] = -1 if not all(words) else max(len(word.strip()) for match in words for word in match.group(1).split("|"))  # type: ignore[union-attr]
    return longest


if _fast is not None:
    _fast.configure(_longest_typed(), _PLAIN_MEANINGS, _plain_meaning)


class PositionTable(Protocol):
    """The C reader's positions of one node and what is below it (``_kgen_yaml.Positions``)."""

    start: int  # offset of the node in the text, in characters

    def locate(self, path: Iterable[PathPart]) -> tuple[int, int]: ...

    def at(self, path: Iterable[PathPart]) -> "PositionTable | None": ...


# Where a document's node was written: PyYAML's node (the composer's), or the C reader's table.
Where = Union[yaml.Node, PositionTable]


@dataclass
class SourceFile:
    """A file (or stdin, or rendered output) as the user wrote it."""

    name: str
    text: str
    _lines: list[str] | None = field(default=None, repr=False)
    # What later stages compute once per file (e.g. the engine's suppression comments), by key.
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines

    def line_text(self, line: int) -> str:
        lines = self.lines
        return lines[line - 1] if 0 < line <= len(lines) else ""


@dataclass(frozen=True)
class LoadProblem:
    """Input that is not valid YAML or not a Kubernetes object (yaml-invalid), or a chart or
    Kustomize dir that does not render (render-failed): a finding, never an abort."""

    file: str
    line: int
    column: int
    message: str
    rule: str = "yaml-invalid"
    secret_value: bool = False  # the problem is a secret value (its line is not to be quoted)


class SourcePoint(NamedTuple):
    """Where the user wrote what a rendered object holds; ``approximate`` when no line is proven."""

    file: str
    line: int
    column: int
    approximate: bool = False


class HelmTemplate(NamedTuple):
    """The Helm template an object was rendered from, as written, with the chart's files that define
    named templates (helpers) it may include: what rules read to tell a value generated at render
    time from a value written in the repository."""

    name: str
    text: str
    helpers: tuple[str, ...]


# The label the input stage sets on chart objects: the namespace `helm install -n` puts them in.
RELEASE_NAMESPACE = "release-namespace"


class KubeObject:
    """One Kubernetes object: its data, its source, and where its fields were written."""

    __slots__ = (
        "data", "_node", "_positions", "_start", "source", "doc_index", "labels", "origin", "api_version", "kind",
        "metadata", "name", "namespace", "annotations", "rendered_from", "__weakref__",
    )  # fmt: skip

    def __init__(self, data: dict, where: Where, source: SourceFile, doc_index: int) -> None:
        self.data = data
        # Read once: rules ask for these on every check (some 80,000 times on a corpus of 3,000
        # objects), and they never change after loading.
        self.api_version = _text(data.get("apiVersion"))
        self.kind = _text(data.get("kind"))
        metadata = data.get("metadata")
        self.metadata: dict = metadata if isinstance(metadata, dict) else {}
        self.name = _text(self.metadata.get("name")) or _text(self.metadata.get("generateName"))
        self.namespace: str | None = _text(self.metadata.get("namespace")) or None
        annotations = self.metadata.get("annotations")
        self.annotations: dict = annotations if isinstance(annotations, dict) else {}
        # Positions come from PyYAML's node tree or from the C reader's table (see the module
        # docstring); either is dropped after the checks and read again from ``source`` by offset.
        self._node: yaml.Node | None = where if isinstance(where, yaml.Node) else None
        self._positions = None if self._node is not None else where
        self._start = where.start_mark.index if self._node is not None else where.start
        self.source = source
        self.doc_index = doc_index
        # Free-form labels attached by the input stage (e.g. the environment of a spec).
        self.labels: dict[str, str] = {}
        # For rendered objects (Helm, Kustomize, app specs): maps a path to the
        # point the user wrote; None means ``source`` is that file.
        self.origin: Callable[[JsonPath], SourcePoint] | None = None
        # For objects rendered from a Helm template: that template and the chart's helpers, as written.
        self.rendered_from: HelmTemplate | None = None

    @property
    def node(self) -> yaml.Node:
        """The object's node tree (PyYAML's), composed from ``source`` if it was dropped or the C
        reader read the file."""
        if self._node is None:
            trees = self.source.memo.get(_TREES)
            if trees is None:
                trees = self.source.memo[_TREES] = {obj._start: obj.node for obj in parse_source(self.source, trees=True).objects}
            self._node = trees[self._start]
        return self._node

    def _where(self) -> Where:
        """What answers positions: the node tree if the object holds one, else the C reader's
        table; after a drop, read again from ``source`` once for all its objects (a table, or
        PyYAML's tree for a file the C reader leaves to PyYAML)."""
        if self._node is None and self._positions is None:
            found = self.source.memo.get(_REREAD)
            if found is None:
                found = self.source.memo[_REREAD] = {obj._start: obj._node if obj._node is not None else obj._positions for obj in parse_source(self.source).objects}
            where = found[self._start]
            if isinstance(where, yaml.Node):
                self._node = where
            else:
                self._positions = where
        return self._node if self._node is not None else self._positions  # type: ignore[return-value]

    def drop_tree(self) -> None:
        """Free the positions (a node tree is most of an object's memory) once its checks are
        done; they are read again from the source text if a later stage needs one."""
        self._node = None
        self._positions = None
        self.source.memo.pop(_TREES, None)
        self.source.memo.pop(_REREAD, None)

    @property
    def group(self) -> str:
        api = self.api_version
        return api.rpartition("/")[0] if "/" in api else ""

    def ref(self) -> dict[str, str | None]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }

    def locate(self, path: Iterable[PathPart]) -> tuple[int, int]:
        """1-based line and column of ``path`` in ``source``, or of its nearest existing parent."""
        return position_in(self._where(), path)

    def node_at(self, path: Iterable[PathPart]) -> yaml.Node | None:
        """The exact node at ``path`` (the value, not the key), or None if absent."""
        node: yaml.Node | None = self.node
        for part in path:
            node = _child(node, part)
            if node is None:
                return None
            node = node[1]
        return node

    def first_line(self) -> int:
        return self.locate(())[0]

    def __repr__(self) -> str:
        return f"<{self.kind} {self.namespace or ''}/{self.name} {self.source.name}:{self.first_line()}>"


# SourceFile.memo keys: what a source's objects that dropped their positions (or never had a
# tree) read again: their node trees, their positions (tables or trees); and (weakly) the
# objects parsed from it.
_TREES = "node trees"
_REREAD = "positions"
_PARSED = "parsed objects"


def drop_trees(source: SourceFile) -> None:
    """:meth:`KubeObject.drop_tree` for every object parsed from ``source`` that is still alive
    (including those only the origins of rendered objects hold: the sources of a Kustomize build)."""
    for ref in source.memo.get(_PARSED, ()):
        obj = ref()
        if obj is not None:
            obj.drop_tree()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _child(node: yaml.Node | None, part: PathPart) -> tuple[yaml.Node, yaml.Node] | None:
    """(anchor node, value node) of one path step; the anchor is the key for maps."""
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        found = None
        merges = False
        for key_node, value_node in node.value:
            tag = key_node.tag
            if tag == _STR and key_node.__class__ is yaml.ScalarNode:
                if key_node.value == part:
                    found = (key_node, value_node)  # the last duplicate wins, as in the data
            elif tag == _MERGE:
                merges = True
            elif isinstance(key_node, yaml.ScalarNode) and _key_text(key_node) == part:
                found = (key_node, value_node)
        if found is not None or not merges:
            return found
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                for source in (value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]):
                    hit = _child(source, part)
                    if hit is not None:
                        return hit
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        if 0 <= part < len(node.value):
            item = node.value[part]
            return item, item
    return None


def locate_node(root: yaml.Node, path: Iterable[PathPart]) -> yaml.Node:
    """The node a finding on ``path`` points at: the key of a map entry, the item of a list."""
    anchor = root
    node: yaml.Node = root
    for part in path:
        hit = _child(node, part)
        if hit is None:
            break
        anchor, node = hit
    return anchor


def node_position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def format_path(path: Iterable[PathPart]) -> str:
    """``spec.template.spec.containers[0].resources``; odd keys are bracket-quoted."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _PLAIN_KEY.fullmatch(part):
            out.append(f".{part}" if out else part)
        else:
            out.append(f"[{part!r}]")
    return "".join(out)


_PLAIN_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")


def _key_text(node: yaml.ScalarNode) -> str:
    tag = node.tag
    if tag == _BOOL:
        return "true" if _bool(node) else "false"
    if tag == _NULL:
        return "null"
    return node.value


class _Builder:
    """Turns one composed document into plain values; notes duplicate keys and bombs."""

    def __init__(self) -> None:
        self.problems: list[tuple[yaml.Node, str]] = []
        self.duplicate_keys: list[yaml.Node] = []  # also in problems; the last value written is kept
        self._done: dict[int, Any] = {}
        self._sizes: dict[int, int] = {}
        self.expanded = 0

    def build(self, node: yaml.Node) -> Any:
        if node.__class__ is yaml.ScalarNode:
            self.expanded += 1
            return _scalar(node)
        key = id(node)
        if key in self._done:
            if key not in self._sizes:  # `&x [*x]`: go-yaml refuses it ("value contains itself")
                raise _Refused(node, "invalid YAML: this anchored value contains an alias to itself")
            self.expanded += self._sizes[key]
            if self.expanded > MAX_EXPANDED_NODES:
                raise _Refused(node, "YAML aliases expand to too many nodes (an alias bomb?)")
            return self._done[key]
        before = self.expanded
        if node.__class__ is yaml.SequenceNode:
            value: Any = []
            self._done[key] = value
            self._sequence(node, value)
        else:
            value = {}
            self._done[key] = value
            self._mapping(node, value)
        self.expanded += 1
        self._sizes[key] = self.expanded - before
        return value

    # Below, a scalar is built in place (most nodes are strings): the same values and counts as
    # build(), without a call per node.

    def _sequence(self, node: yaml.SequenceNode, value: list) -> None:
        append = value.append
        for item in node.value:
            if item.__class__ is yaml.ScalarNode:
                self.expanded += 1
                append(item.value if item.tag == _STR else _scalar(item))
            else:
                append(self.build(item))

    def _mapping(self, node: yaml.MappingNode, value: dict) -> None:
        merged: dict = {}
        for key_node, value_node in node.value:
            key_tag = key_node.tag
            if key_tag == _MERGE:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in reversed(sources):
                    built = self.build(source)
                    if isinstance(built, dict):
                        merged.update(built)
                    else:
                        self.problems.append((source, "a merge key (<<) must refer to a mapping"))
                continue
            if key_node.__class__ is not yaml.ScalarNode:
                self.problems.append((key_node, "a mapping key must be a plain value, not a list or mapping"))
                continue
            key = key_node.value if key_tag == _STR else _key_text(key_node)
            if key in value:
                self.problems.append((key_node, f"duplicate key {key!r}"))
                self.duplicate_keys.append(key_node)
            if value_node.__class__ is yaml.ScalarNode:
                self.expanded += 1
                value[key] = value_node.value if value_node.tag == _STR else _scalar(value_node)
            else:
                value[key] = self.build(value_node)
        for key, merged_value in merged.items():
            value.setdefault(key, merged_value)


class _Refused(Exception):
    """A document kubectl refuses though it parses: an alias bomb, an alias inside its own anchor,
    a scalar tagged !!int or !!float whose text is no such number (``!!int abc``)."""

    def __init__(self, node: yaml.Node, message: str) -> None:
        self.node = node
        self.message = message


def _not_a(node: yaml.ScalarNode, what: str) -> _Refused:
    return _Refused(node, f"invalid YAML: !!{node.tag.rpartition(':')[2]} value {node.value[:60]!r} is not {what}")


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag
    if (tag == _INT or tag == _FLOAT) and ":" in node.value:
        return node.value  # base-60 (1:30): YAML 1.1 in PyYAML, a plain string to kubectl's go-yaml v2
    if tag == _INT:
        value = node.value
        if value.isdigit() and (value[0] != "0" or value == "0"):
            return int(value)  # plain decimal, most of them; PyYAML's reads signs, _, 0x, 0b and octal 0755
        try:
            return _SAFE.construct_yaml_int(node)
        except (ValueError, IndexError):  # only an explicit tag reaches here with such text
            raise _not_a(node, "an integer") from None
    if tag == _FLOAT:
        try:
            return _SAFE.construct_yaml_float(node)
        except (ValueError, IndexError):
            raise _not_a(node, "a number") from None
    if tag == _BOOL:
        return _bool(node)
    if tag == _NULL:
        return None
    # Strings, timestamps (Kubernetes keeps them as strings), binary, '=' and custom tags.
    return node.value


def _bool(node: yaml.ScalarNode) -> bool:
    return node.value.lower() in _TRUE_WORDS


def read_plain(text: str) -> Any:
    """What ``text`` means written unquoted, as kubectl reads it (``1`` a number, ``y`` a boolean)."""
    node = yaml.compose(text, Loader=_Loader)
    try:
        return None if node is None else _Builder().build(node)
    except _Refused:
        return text  # `!!int abc`, `&x [*x]`: no value kubectl reads; not the plain string either


@dataclass
class LoadResult:
    objects: list[KubeObject] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)
    files: list[SourceFile] = field(default_factory=list)
    documents: int = 0


def read_source(path: str) -> SourceFile:
    """Read a file (``-`` is stdin) as text, refusing binary, huge or undecodable input."""
    if path == "-":
        if sys.stdin is None:
            raise InputError("standard input is closed", "-")
        try:
            raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise InputError(exc.strerror or str(exc), "-") from None
        return decode_source("<stdin>", raw)
    return decode_source(path, read_bytes(path))


def read_bytes(path: str) -> bytes:
    """The bytes of a regular file (at most one byte past the size limit). FIFOs, devices and
    sockets are refused by name without being opened for reading: they would block or never end."""
    try:
        _refuse_special(os.stat(path).st_mode, path)
        # O_NONBLOCK: should the path be swapped for a FIFO after the check, opening still returns.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(fd)
            _refuse_special(info.st_mode, path)
            return read_at_most(handle, info.st_size, MAX_FILE_BYTES)
    except FileNotFoundError:
        raise InputError("no such file or directory", path) from None
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), path) from None


def _refuse_special(mode: int, path: str) -> None:
    if stat.S_ISDIR(mode):
        raise InputError("is a directory", path)
    if not stat.S_ISREG(mode):
        what = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file"
        raise InputError(f"not a regular file ({what}); refused", path)


def refuse_special_files(directory: str) -> None:
    """Refuse a directory holding a FIFO, device or socket (by name, unopened) before a tool such as
    kustomize reads it: the tool would block on it forever."""
    list_files(directory)


def list_files(directory: str) -> list[str]:
    """The files below ``directory``, "/"-separated and relative, as os.walk lists them (folders
    starting with "." left out, links to folders not entered); a FIFO, device or socket is refused
    (see refuse_special_files). One scan: a regular file costs no stat call."""
    found: list[str] = []

    def walk(path: str, prefix: str) -> None:
        try:
            entries = list(os.scandir(path))
        except OSError:
            return  # unreadable: os.walk skips it too
        folders = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if not entry.name.startswith(".") and not entry.is_symlink():
                    folders.append(entry.name)
                continue
            try:
                regular = entry.is_file()
            except OSError:
                regular = False
            if not regular:
                try:
                    mode = os.stat(entry.path).st_mode
                except OSError:
                    mode = stat.S_IFREG  # a dangling link: the tool reports it if it needs it
                _refuse_special(mode, entry.path)
            found.append(prefix + entry.name)
        for name in sorted(folders):
            walk(os.path.join(path, name), f"{prefix}{name}/")

    walk(directory, "")
    return found


def decode_source(name: str, raw: bytes) -> SourceFile:
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", name)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return SourceFile(name, raw.decode("utf-16"))
        except UnicodeDecodeError:
            raise InputError("not valid UTF-16 text", name) from None
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise InputError("binary file (contains NUL bytes), not YAML", name, line)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError("not UTF-8 text", name, line) from None
    return SourceFile(name, text)


def parse_source(source: SourceFile, result: LoadResult | None = None, trees: bool = False) -> LoadResult:
    """Parse every document of ``source`` into objects; problems are collected, never raised.

    ``trees``: read it with PyYAML, so the objects hold node trees (not the C reader's tables)."""
    result = result if result is not None else LoadResult()
    result.files.append(source)
    if _fast is not None and not trees:
        try:
            documents = _fast.load(source.text)
        except _fast.Fallback:
            pass  # something only PyYAML reads (or an error it words): the whole file, below
        else:
            for doc_index, (data, positions) in enumerate(documents):
                result.documents += 1
                _add_value(data, positions, source, doc_index, result)
            return result
    loader = _Loader(source.text)
    doc_index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            result.documents += 1
            _add_document(node, source, doc_index, result)
            doc_index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        result.problems.append(LoadProblem(source.name, line, column, f"invalid YAML: {message}"))
    except yaml.YAMLError as exc:
        result.problems.append(LoadProblem(source.name, 1, 1, f"invalid YAML: {exc}"))
    except RecursionError:
        result.problems.append(LoadProblem(source.name, 1, 1, "invalid YAML: nesting is too deep"))
    finally:
        loader.dispose()
    return result


def compose_yaml(text: str) -> yaml.Node | None:
    """The node tree of the first document of ``text``, read as manifests are (raises yaml.YAMLError)."""
    return yaml.compose(text, Loader=_Loader)


def load_mapping(source: SourceFile) -> dict:
    """The first document of a plain YAML file (Helm values, not Kubernetes objects), read with
    the same semantics as manifests; an empty file is an empty mapping."""
    return compose_mapping(source)[0]


def compose_mapping(source: SourceFile, duplicate_keys: bool = False) -> tuple[dict, yaml.Node | None]:
    """:func:`load_mapping` and the node tree it was built from (None for an empty file).

    ``duplicate_keys``: a key written twice keeps its last value (as Kustomize reads a
    kustomization) instead of being an error."""
    loader = _Loader(source.text)
    try:
        node = loader.get_node() if loader.check_node() else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(f"invalid YAML: {exc.problem or exc.context}", source.name, mark.line + 1 if mark else None) from None
    finally:
        loader.dispose()
    if node is None:
        return {}, None
    builder = _Builder()
    try:
        data = builder.build(node)
    except _Refused as refused:
        raise InputError(refused.message, source.name, node_position(refused.node)[0]) from None
    for bad, message in builder.problems:
        if not (duplicate_keys and bad in builder.duplicate_keys):
            raise InputError(message, source.name, node_position(bad)[0])
    if data is None:
        return {}, node
    if not isinstance(data, dict):
        raise InputError("expected a mapping", source.name, node_position(node)[0])
    return data, node


def read_mapping(source: SourceFile, duplicate_keys: bool = False) -> tuple[dict, Where | None]:
    """:func:`compose_mapping` by the C reader where it reads the file: the document, and what
    answers :func:`position_in` it (a position table, else PyYAML's node tree)."""
    if _fast is not None:
        try:
            documents = _fast.load(source.text)
        except _fast.Fallback:
            pass  # duplicate keys, anchors, tags, errors: PyYAML, below
        else:
            if not documents:
                return {}, None
            data, positions = documents[0]
            if data is None:
                return {}, positions
            if not isinstance(data, dict):
                raise InputError("expected a mapping", source.name, positions.locate(())[0])
            return data, positions
    return compose_mapping(source, duplicate_keys)


def _add_document(node: yaml.Node | None, source: SourceFile, doc_index: int, result: LoadResult) -> None:
    if node is None:
        return
    builder = _Builder()
    try:
        data = builder.build(node)
    except _Refused as refused:
        result.problems.append(LoadProblem(source.name, *node_position(refused.node), refused.message))
        return
    for bad, message in builder.problems:
        line, column = node_position(bad)
        result.problems.append(LoadProblem(source.name, line, column, message))
    _add_value(data, node, source, doc_index, result)


def position_in(where: Where, path: JsonPath = ()) -> tuple[int, int]:
    """1-based line and column of ``path`` below ``where`` (a node tree or a position table: a
    document's, :func:`read_mapping`'s), or of its nearest existing parent."""
    return node_position(locate_node(where, path)) if isinstance(where, yaml.Node) else where.locate(path)


def _add_value(data: Any, where: Where, source: SourceFile, doc_index: int, result: LoadResult) -> None:
    """A document's value: an object (or a List's), or a problem if it is not a mapping."""
    if data is None:
        return
    if not isinstance(data, dict):
        line, column = position_in(where)
        what = "a list" if isinstance(data, list) else "a plain value"
        result.problems.append(
            LoadProblem(source.name, line, column, f"document is {what}, not a Kubernetes object (a mapping)")
        )
        return
    _add_mapping(data, where, source, doc_index, result)


def _item(where: Where, index: int) -> Where:
    """Where item ``index`` of a List's ``items`` was written."""
    if isinstance(where, yaml.Node):
        items_node = _child(where, "items")
        return items_node[1].value[index] if items_node else where
    return where.at(("items", index)) or where


def _add_mapping(data: dict, where: Where, source: SourceFile, doc_index: int, result: LoadResult) -> None:
    if "apiVersion" not in data or "kind" not in data:
        return  # Kustomizations, Helm values, app configs: not Kubernetes objects, not our business.
    problem = _shape_problem(data)
    if problem:
        field_name, message = problem
        line, column = position_in(where, field_name)
        result.problems.append(LoadProblem(source.name, line, column, message))
        return
    if data["kind"].endswith("List") and isinstance(data.get("items"), list):
        for index, item in enumerate(data["items"]):
            item_where = _item(where, index)
            if isinstance(item, dict):
                _add_mapping(item, item_where, source, doc_index, result)
            else:
                line, column = position_in(item_where)
                result.problems.append(
                    LoadProblem(source.name, line, column, "List item is not a Kubernetes object (a mapping)")
                )
        return
    obj = KubeObject(data, where, source, doc_index)
    result.objects.append(obj)
    source.memo.setdefault(_PARSED, []).append(weakref.ref(obj))


def _shape_problem(data: dict) -> tuple[tuple[str, ...], str] | None:
    """The minimum shape every object needs before any rule may look at it."""
    if not isinstance(data["apiVersion"], str) or not data["apiVersion"]:
        return ("apiVersion",), "apiVersion must be a non-empty string"
    if not isinstance(data["kind"], str) or not data["kind"]:
        return ("kind",), "kind must be a non-empty string"
    meta = data.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        return ("metadata",), "metadata must be a mapping"
    if isinstance(meta, dict):
        for key in ("labels", "annotations"):
            value = meta.get(key)
            if value is not None and not isinstance(value, dict):
                return ("metadata", key), f"metadata.{key} must be a mapping"
    return None


YAML_SUFFIXES = (".yaml", ".yml")


def walk_problem(error: OSError) -> LoadProblem:
    """A directory a walk could not list: a problem naming it, never a silent skip."""
    return LoadProblem(str(error.filename), 1, 1, f"cannot read directory: {error.strerror or error}")


def expand_paths(paths: Iterable[str], problems: list[LoadProblem] | None = None) -> Iterator[tuple[str, bool]]:
    """(path, named) for files as given and files found walking directories recursively for
    *.yaml/*.yml (sorted, no hidden dirs); directories that cannot be listed go to ``problems``."""
    unreadable = problems if problems is not None else []
    for path in paths:
        if path != "-" and os.path.isdir(path):
            for root, dirs, files in os.walk(path, onerror=lambda error: unreadable.append(walk_problem(error))):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.endswith(YAML_SUFFIXES):
                        yield os.path.join(root, name), False
        else:
            yield path, True


def load_paths(paths: Iterable[str]) -> LoadResult:
    """Load every file named or found below the given paths. A named file that cannot be read is
    an error; one found in a walk is a problem, so the rest is still loaded."""
    result = LoadResult()
    for path, named in expand_paths(paths, result.problems):
        try:
            source = read_source(path)
        except InputError as exc:
            if named:
                raise
            result.problems.append(LoadProblem(path, exc.line or 1, 1, exc.message))
            continue
        parse_source(source, result)
    return result


def load_text(text: str, name: str = "<string>") -> LoadResult:
    return parse_source(SourceFile(name, text))
