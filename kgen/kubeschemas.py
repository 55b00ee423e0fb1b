"""Kubernetes JSON schemas, offline: the built-in API of a version, CRDs and user schema dirs.

The built-in schemas are the files shipped by the ``kubernetes-validate`` package
(``kubernetes-json-schema/v1.X.0-local[-strict]/``). Every per-kind file there is a thin
wrapper around one entry of ``_definitions.json``, which holds every type of that version
with its group/version/kind; so we read that one file, index it by GVK and compile a
``{"$ref": ...}`` validator per kind, lazily, only for the kinds the input has.

Nothing is loaded at import time and nothing is ever fetched over the network: every
``$ref`` resolves from the registry or from a local ``--schema-dir`` file.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
import importlib.util
from typing import Any, BinaryIO, Iterable, Iterator

DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")
_SHIPPED = re.compile(r"^v(\d+)\.(\d+)\.0-local-strict$")

Version = tuple[int, int]


def parse_version(text: str) -> Version:
    """``1.33``, ``v1.33`` or ``1.33.2`` as (1, 33); ValueError for anything else."""
    version = _parse_version(str(text).strip())
    if version is None:
        raise ValueError(f"not a Kubernetes version (expected MAJOR.MINOR such as 1.33): {text!r}")
    return version


@lru_cache(maxsize=64)
def _parse_version(text: str) -> Version | None:
    """parse_version of a stripped text, remembered: rules ask for the policy's version per object."""
    match = _VERSION.match(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def format_version(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def _schema_root() -> str:
    """The schema folder of kubernetes-validate, found without importing the package
    (its __init__ imports jsonschema: 40 ms of start-up that a lint run never uses)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("kubernetes-validate is not installed (pip install kubernetes-validate)")
    return os.path.join(list(spec.submodule_search_locations)[0], "kubernetes-json-schema")


@lru_cache(maxsize=1)
def shipped_versions() -> tuple[Version, ...]:
    """The Kubernetes versions whose schemas are installed, oldest first."""
    found = []
    for name in os.listdir(_schema_root()):
        match = _SHIPPED.match(name)
        if match:
            found.append((int(match.group(1)), int(match.group(2))))
    return tuple(sorted(found))


def schema_version(target: Version) -> Version:
    """The schema set used for ``target``: the newest shipped one not newer than it.

    Targets older than the oldest shipped set use the oldest one (APIs added in between
    are then not flagged); targets newer than the newest use the newest.
    """
    shipped = shipped_versions()
    older = [version for version in shipped if version <= target]
    return older[-1] if older else shipped[0]


def api_version_of(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def split_api_version(api_version: str) -> tuple[str, str]:
    """(group, version); the core group is ''."""
    group, _, version = api_version.rpartition("/")
    return group, version


@dataclass
class CompiledSchema:
    """A validator plus what is needed to explain its errors (the schema documents by URI)."""

    validator: Any
    root: dict
    documents: dict[str, dict] = field(default_factory=dict)
    source: str = ""  # named in messages when not the built-in API

    def is_valid(self, data: Any) -> bool:
        return self.validator.is_valid(data)

    def node_at(self, error: Any) -> dict:
        """The schema object that holds the failing keyword of ``error``."""
        location = error.absolute_keyword_location
        if location and "#" in location:
            uri, _, pointer = location.partition("#")
            document = self.documents.get(uri)
            if document is not None:
                return _walk(document, [_unescape(p) for p in pointer.split("/")[1:-1]])
        return _walk(self.root, list(error.schema_path)[:-1])


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def _walk(node: Any, parts: Iterable[Any]) -> dict:
    for part in parts:
        if isinstance(node, dict):
            node = node.get(part if isinstance(part, str) else str(part), {})
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return {}
    return node if isinstance(node, dict) else {}


class BuiltinSchemas:
    """The built-in API of one Kubernetes version (strict or not), compiled on demand."""

    def __init__(self, version: Version, strict: bool) -> None:
        self.version = version
        self.strict = strict
        suffix = "-local-strict" if strict else "-local"
        path = os.path.join(_schema_root(), f"v{version[0]}.{version[1]}.0{suffix}", "_definitions.json")
        with open(path, "rb") as handle:
            self.definitions = _indexed_definitions(handle)
        self.index: dict[tuple[str, str], str] = {}
        for name, gvks in self.definitions.group_version_kinds():
            if len(gvks) == 1:  # DeleteOptions/WatchEvent list every group: not objects one writes
                gvk = gvks[0]
                self.index[(api_version_of(gvk["group"], gvk["version"]), gvk["kind"])] = name
        self.groups = {split_api_version(api)[0] for api, _ in self.index}
        self._compiled: dict[tuple[str, str], BuiltinKindSchema | None] = {}
        self.walks_left = WALKED_BEFORE_COMPILING  # see BuiltinKindSchema

    @cached_property
    def document(self) -> dict:
        """The whole definitions document (custom rules may refer to any definition)."""
        return self.definitions.whole()

    def has(self, api_version: str, kind: str) -> bool:
        return (api_version, kind) in self.index

    def api_versions_of(self, kind: str) -> list[str]:
        """Every apiVersion that serves ``kind`` in this version, stable ones first."""
        found = [api for api, k in self.index if k == kind]
        return sorted(found, key=_stability)

    def schema(self, api_version: str, kind: str) -> BuiltinKindSchema | None:
        key = (api_version, kind)
        if key not in self._compiled:
            name = self.index.get(key)
            self._compiled[key] = BuiltinKindSchema(self, name) if name else None
        return self._compiled[key]


class BuiltinKindSchema:
    """The schema of one built-in kind, compiled only when a plain walk cannot vouch for an object.

    Most objects are valid, and for those a walk of the object along the definitions it reaches
    (``type``, ``properties``, ``additionalProperties``, ``required``, ``enum``, ``items``,
    ``$ref``: all that kubernetes-validate's schemas assert) proves it, decoding only the
    definitions the object uses. Compiling a validator costs more than a one-file lint's checks
    (importing jsonschema-rs alone is ~8 ms), so the first objects of a run are walked (the few
    files of a pre-commit run); errors, anything the walk does not model and the objects of a
    larger input (where compiled validators, paid once, are cheaper per object) go to the
    compiled validator. The walk never accepts what the validator rejects.
    """

    source = ""  # the built-in API: messages name no schema file

    def __init__(self, schemas: BuiltinSchemas, name: str) -> None:
        self.schemas = schemas
        self.definitions = schemas.definitions
        self.name = name

    def is_valid(self, data: Any) -> bool:
        if "compiled" not in self.__dict__ and self.schemas.walks_left > 0:
            self.schemas.walks_left -= 1
            if walk_accepts(self.definitions.definition(self.name), data, self.definitions):
                return True
        return self.compiled.validator.is_valid(data)

    @cached_property
    def compiled(self) -> CompiledSchema:
        """A validator over the definitions the kind reaches only: a Deployment needs 120 of 735."""
        import jsonschema_rs

        document = self.definitions.closure(self.name)
        registry = jsonschema_rs.Registry([(DEFINITIONS_URI, document)])
        root = {"$ref": f"{DEFINITIONS_URI}#/$defs/{self.name}"}
        validator = jsonschema_rs.validator_for(root, registry=registry)
        return CompiledSchema(validator, root, {DEFINITIONS_URI: document})

    @property
    def validator(self) -> Any:
        return self.compiled.validator

    def node_at(self, error: Any) -> dict:
        return self.compiled.node_at(error)


WALKED_BEFORE_COMPILING = 16  # objects per run and schema version
# Mappings and lists a walk visits before it leaves an object to the validator: a Deployment has
# ~100, a CRD of Argo Workflows ~90,000 (walking it took longer than compiling and validating).
WALK_BUDGET = 4096
_walk_budget = [WALK_BUDGET]


class _TooLarge(Exception):
    """The object is larger than a walk is worth."""


def _spend() -> None:
    _walk_budget[0] -= 1
    if _walk_budget[0] < 0:
        raise _TooLarge


# What the plain walk models. Formats are annotations in draft 2020-12 (jsonschema-rs checks them
# only when asked), descriptions and x-kubernetes-* extensions say nothing about validity.
_ANNOTATIONS = frozenset({"description", "format"})
_REF_PREFIX = "#/$defs/"


def walk_accepts(schema: dict, value: Any, definitions: DefinitionsFile) -> bool:
    """True when the walk proves ``value`` valid against ``schema``; False when it is invalid, or
    nested deeper or larger than a walk is worth (the validator tells)."""
    _walk_budget[0] = WALK_BUDGET
    try:
        return _accepts(schema, value, definitions)
    except (RecursionError, _TooLarge):
        return False


def _accepts(schema: dict, value: Any, definitions: DefinitionsFile) -> bool:
    """True when ``value`` certainly validates against ``schema`` (a built-in definition or part
    of one); False when it does not, or when it takes more than this walk models to tell."""
    for keyword, expected in schema.items():
        if keyword == "type":
            if not (_has_type(value, expected) if isinstance(expected, str) else any(_has_type(value, t) for t in expected)):
                return False
        elif keyword == "$ref":
            if not (isinstance(expected, str) and expected.startswith(_REF_PREFIX)) or not _accepts(definitions.definition(_unescape(expected[len(_REF_PREFIX) :])), value, definitions):
                return False
        elif keyword == "enum":
            if not isinstance(value, str) or value not in expected:  # other values: JSON equality is not Python's
                return False
        elif keyword == "required":
            if isinstance(value, dict) and not all(name in value for name in expected):
                return False
        elif keyword in ("properties", "additionalProperties", "items"):
            pass  # below, once per value
        elif keyword not in _ANNOTATIONS and not keyword.startswith("x-kubernetes-"):
            return False
    if isinstance(value, dict):
        _spend()
        properties = schema.get("properties", {})
        other = schema.get("additionalProperties", True)
        for key, item in value.items():
            if not isinstance(key, str):
                return False  # jsonschema-rs refuses the whole object
            if not _accepts_below(properties.get(key, other), item, definitions):
                return False
        return True
    if isinstance(value, list):
        _spend()
        below = schema.get("items", True)
        return all(_accepts_below(below, item, definitions) for item in value)
    return _plain(value)


def _accepts_below(schema: Any, value: Any, definitions: DefinitionsFile) -> bool:
    """:func:`_accepts` for the schema of a member or item (``True``: anything; ``False``: nothing)."""
    if schema is True:
        return _plain(value)
    return isinstance(schema, dict) and _accepts(schema, value, definitions)


def _has_type(value: Any, name: str) -> bool:
    """JSON Schema's types of a decoded value (an integer-valued float is an integer)."""
    if name == "string":
        return isinstance(value, str)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return name == "number" and isinstance(value, (int, float))


def _plain(value: Any) -> bool:
    """``value`` is JSON jsonschema-rs takes as it is: string keys, finite numbers, no other types."""
    if isinstance(value, (str, bool, int)) or value is None:
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        _spend()
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    if isinstance(value, list):
        _spend()
        return all(_plain(item) for item in value)
    return False


def _indexed_definitions(handle: BinaryIO) -> DefinitionsFile:
    """The definitions file, with its index from kgen's cache when this very file was indexed
    before (scanning 1.3 MB for it is ~5% of a one-file lint), else indexed and kept there."""
    from kgen import buildcache

    if buildcache.cache_dir() is None:
        return DefinitionsFile(handle.read().decode("utf-8"))
    info = os.fstat(handle.fileno())
    key = f"definitions-{_INDEX_FORMAT}-{info.st_dev}-{info.st_ino}-{info.st_size}-{info.st_mtime_ns}"
    cached = buildcache.lookup("schemas", key)
    if cached is not None:
        try:
            return _MappedDefinitions(handle, json.loads(cached))
        except (ValueError, TypeError, KeyError, AttributeError, OSError):  # an entry not in this format: index again
            pass
    definitions = DefinitionsFile(handle.read().decode("utf-8"))
    index = definitions.index()
    if index is not None:
        buildcache.store("schemas", key, json.dumps(index))
    return definitions


_INDEX_FORMAT = 2


class DefinitionsFile:
    """kubernetes-validate's ``_definitions.json`` (1.5 MB), decoded one definition at a time.

    Decoding the whole file costs more than a one-file lint; the file is written by
    ``json.dump(indent=2)``, so a definition starts on a line indented by four spaces and
    its group/version/kind on a line indented by six. Each value is still decoded by the
    JSON decoder from its own offset; a file not laid out that way is decoded whole.
    """

    _DEFINITION = re.compile(r'\n    "([^"\n]+)": (?=\{)')
    _GVK = re.compile(r'\n      "x-kubernetes-group-version-kind": (?=\[)')
    _TOP_LEVEL = re.compile(r'\n  "([^"\n]+)": ')

    def __init__(self, text: str, index: dict | None = None) -> None:
        """``index``: what :meth:`index` said of this text before (checked, never trusted blindly)."""
        self.text = text
        self._empty()
        if index is not None:
            if index["length"] != len(text) or not all(text.startswith("{", at) for at in index["offsets"].values()):
                raise ValueError("the index is not of this text")
            self._take(index)
            return
        top = {match.group(1): match.end() for match in self._TOP_LEVEL.finditer(text)}
        if text.startswith('{\n  "$defs": {\n') and "$defs" in top:
            self.offsets = {match.group(1): match.end() for match in self._DEFINITION.finditer(text)}
            self.header = {key: self._value(at) for key, at in top.items() if key != "$defs"}
        if not self.offsets:
            self._whole = json.loads(text)
            self.header = {key: value for key, value in self._whole.items() if key != "$defs"}

    def _empty(self) -> None:
        self._decoder = json.JSONDecoder()
        self.offsets: dict[str, int] = {}
        self.header: dict[str, Any] = {}
        self._whole: dict | None = None
        self._cache: dict[str, dict] = {}
        self._refs_of: dict[str, tuple[str, ...]] = {}
        self._gvks: list[tuple[str, list[dict]]] | None = None

    def _take(self, index: dict) -> None:
        if not isinstance(index["header"], dict):
            raise ValueError("the index is not of this text")
        self.offsets, self.header = index["offsets"], index["header"]
        self._gvks = [(name, gvks) for name, gvks in index["gvks"]]

    def index(self) -> dict | None:
        """Where each definition starts, the top-level values and every group/version/kind: what
        reading this text again needs besides the text (None for a file decoded whole)."""
        if self._whole is not None:
            return None
        gvks = self._gvks = list(self.group_version_kinds())
        return {"length": len(self.text), "ascii": self.text.isascii(), "offsets": self.offsets, "header": self.header, "gvks": gvks}

    def _value(self, offset: int) -> Any:
        return self._decoder.raw_decode(self.text, offset)[0]

    def definition(self, name: str) -> dict:
        """One definition, with IntOrString and Quantity relaxed (see ``_RELAXED_UNIONS``)."""
        if name not in self._cache:
            relaxed = _RELAXED_UNIONS.get(name)
            if relaxed is not None:
                self._cache[name] = relaxed
            elif self._whole is not None:
                self._cache[name] = self._whole["$defs"][name]
            else:
                self._cache[name] = self._value(self.offsets[name])
        return self._cache[name]

    def whole(self) -> dict:
        """Every definition, decoded at once, with IntOrString and Quantity relaxed."""
        document = self._whole if self._whole is not None else json.loads(self.text)
        definitions = document["$defs"]
        definitions.update({name: schema for name, schema in _RELAXED_UNIONS.items() if name in definitions})
        return document

    def group_version_kinds(self) -> Iterator[tuple[str, list[dict]]]:
        """(definition name, its x-kubernetes-group-version-kind) for every definition that has one."""
        if self._gvks is not None:
            yield from self._gvks
            return
        if self._whole is not None:
            for name, definition in self._whole["$defs"].items():
                if "x-kubernetes-group-version-kind" in definition:
                    yield name, definition["x-kubernetes-group-version-kind"]
            return
        starts = sorted((offset, name) for name, offset in self.offsets.items())
        positions = [offset for offset, _ in starts]
        for match in self._GVK.finditer(self.text):
            owner = starts[bisect.bisect_right(positions, match.start()) - 1][1]
            yield owner, self._value(match.end())

    def closure(self, name: str) -> dict:
        """A schema document holding ``name`` and every definition it refers to, transitively."""
        found: dict[str, dict] = {}
        pending = [name]
        while pending:
            current = pending.pop()
            if current in found:
                continue
            found[current] = self.definition(current)
            pending.extend(self._references(current))
        return {"$defs": found, **self.header}

    def _references(self, name: str) -> tuple[str, ...]:
        """The definitions ``name`` refers to directly, found once (workload kinds share ~100)."""
        if name not in self._refs_of:
            self._refs_of[name] = tuple(_refs(self.definition(name)))
        return self._refs_of[name]


class _MappedDefinitions(DefinitionsFile):
    """A definitions file indexed before and all ASCII (as ``json.dump`` writes it), read through a
    memory map: each definition is decoded from its own bytes, where decoding the whole 1.5 MB
    as text cost a one-file lint ~2 ms."""

    def __init__(self, handle: BinaryIO, index: dict) -> None:
        import mmap

        self._bytes = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        starts = sorted(index["offsets"].values())
        if index["ascii"] is not True or index["length"] != len(self._bytes) or not all(self._bytes[at] == ord("{") for at in starts):
            raise ValueError("the index is not of this file")
        self._empty()
        self._take(index)
        self._ends = dict(zip(starts, [*starts[1:], len(self._bytes)]))

    @cached_property
    def text(self) -> str:  # type: ignore[override]  # only the whole document needs it
        return self._bytes[:].decode("ascii")

    def _value(self, offset: int) -> Any:
        return self._decoder.raw_decode(self._bytes[offset : self._ends[offset]].decode("ascii"))[0]


# IntOrString and Quantity are ``oneOf`` two nullable types, so ``null`` matches both and fails;
# Kubernetes reads null as "unset". One type list says the same and reads better.
_RELAXED_UNIONS: dict[str, dict] = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": ["string", "integer", "null"]},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": ["string", "number", "null"]},
}


def _refs(node: Any) -> Iterator[str]:
    """The definition names ``node`` refers to (``#/$defs/NAME``)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                yield _unescape(value[len("#/$defs/") :])
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


_API_LEVEL = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def _stability(api_version: str) -> tuple[int, int, int, str]:
    """Sort key: GA before beta before alpha, newest first (v1 > v1beta2 > v1beta1 > v1alpha3)."""
    match = _API_LEVEL.match(split_api_version(api_version)[1])
    if not match:
        return 3, 0, 0, api_version
    stage = {None: 0, "beta": 1, "alpha": 2}[match.group(2)]
    return stage, -int(match.group(1)), -int(match.group(3) or 0), api_version


@lru_cache(maxsize=4)
def builtin_schemas(version: Version, strict: bool) -> BuiltinSchemas:
    """The built-in schemas for a shipped version, loaded once per process."""
    return BuiltinSchemas(version, strict)


@lru_cache(maxsize=None)
def builtin_gvks(version: Version) -> frozenset[tuple[str, str]]:
    """(apiVersion, kind) pairs served by a shipped version (for cross-checks)."""
    return frozenset(builtin_schemas(version, True).index)


# --- CustomResourceDefinitions ------------------------------------------------------------


def crd_schemas(crd: dict) -> dict[tuple[str, str], dict]:
    """{(apiVersion, kind): openAPIV3Schema} for each version a CRD object defines."""
    spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
    group = spec.get("group")
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    kind = names.get("kind")
    if not isinstance(group, str) or not isinstance(kind, str):
        return {}
    shared = ((spec.get("validation") or {}) if isinstance(spec.get("validation"), dict) else {}).get("openAPIV3Schema")
    found: dict[tuple[str, str], dict] = {}
    versions = spec.get("versions") if isinstance(spec.get("versions"), list) else []
    if not versions and isinstance(spec.get("version"), str):
        versions = [{"name": spec["version"]}]
    for entry in versions:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        schema = ((entry.get("schema") or {}) if isinstance(entry.get("schema"), dict) else {}).get("openAPIV3Schema")
        schema = schema if isinstance(schema, dict) else shared
        if isinstance(schema, dict):
            found[(f"{group}/{entry['name']}", kind)] = schema
    return found


_OBJECT_HEADER = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    "metadata": {"type": "object"},
}


def crd_to_json_schema(schema: dict, strict: bool) -> dict:
    """A CRD's OpenAPI v3 structural schema as JSON Schema, with the API server's semantics:
    ``nullable``, ``x-kubernetes-int-or-string``, ``x-kubernetes-embedded-resource``, and
    (strict) unknown fields rejected unless ``x-kubernetes-preserve-unknown-fields``."""
    converted = _convert(schema, strict)
    properties = converted.setdefault("properties", {})
    for name, value in _OBJECT_HEADER.items():
        properties.setdefault(name, value)
    return converted


_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


def _convert(node: Any, strict: bool) -> Any:
    if not isinstance(node, dict):
        return node
    out: dict = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _null_pruned(_convert(sub, strict)) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = _convert(value, strict)
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [_convert(sub, strict) for sub in value]
        elif key.startswith("x-kubernetes-") or key in ("nullable", "description", "example", "default", "$schema", "$ref", "id", "externalDocs"):
            continue
        else:
            out[key] = value
    if isinstance(out.get("required"), list) and isinstance(node.get("properties"), dict):
        # The API server applies a structural schema's defaults before it validates: a required
        # field with a default is never missing (controller-gen's +kubebuilder:default).
        defaulted = {name for name, sub in node["properties"].items() if isinstance(sub, dict) and "default" in sub}
        out["required"] = [name for name in out["required"] if name not in defaulted]
    if node.get("x-kubernetes-int-or-string") is True:
        out["type"] = ["integer", "string"]
    if node.get("x-kubernetes-embedded-resource") is True:
        props = out.setdefault("properties", {})
        for name, value in _OBJECT_HEADER.items():
            props.setdefault(name, value)
    closed = (
        strict
        and out.get("type") == "object"
        and "properties" in out
        and "additionalProperties" not in out
        and node.get("x-kubernetes-preserve-unknown-fields") is not True
    )
    if closed:
        out["additionalProperties"] = False
    if node.get("nullable") is True and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
    return out


def _null_pruned(schema: Any) -> Any:
    """A field set to null is dropped by the API server when its schema is not nullable (and
    defaulted if it has a default), so null is accepted wherever a field may be given."""
    if isinstance(schema, dict) and "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if "null" not in types:
            schema["type"] = [*types, "null"]
    return schema


# CRD schemas compiled in this process, by the schema's identity (the schema is kept: its identity is
# not reused): a parallel lint's parent checks custom resources again, for the whole input, against
# the CRDs of a part it checked itself. The most recent only (dicts keep insertion order).
_COMPILED_CRDS: dict[tuple[int, bool, str], tuple[dict, CompiledSchema]] = {}
_COMPILED_CRDS_KEPT = 64


def compile_crd_schema(schema: dict, strict: bool, source: str) -> CompiledSchema:
    """A CRD's schema as a validator (kgen.policies.schema names the CRD in ``source``); raises
    ValueError when it does not compile."""
    key = (id(schema), strict, source)
    kept = _COMPILED_CRDS.get(key)
    if kept is not None and kept[0] is schema:
        return kept[1]
    import jsonschema_rs

    root = crd_to_json_schema(schema, strict)
    compiled = CompiledSchema(jsonschema_rs.validator_for(root, retriever=_no_retrieval), root, source=source)
    if len(_COMPILED_CRDS) >= _COMPILED_CRDS_KEPT:
        del _COMPILED_CRDS[next(iter(_COMPILED_CRDS))]
    _COMPILED_CRDS[key] = (schema, compiled)
    return compiled


def _no_retrieval(uri: str) -> dict:
    raise ValueError(f"kgen never fetches schemas ({uri}); use --schema-dir")


# --- --schema-dir ---------------------------------------------------------------------------


def schema_file_candidates(api_version: str, kind: str) -> list[str]:
    """Relative file names tried in a schema dir, kubeconform-style.

    ``{kind}_{version}.json`` (openapi2jsonschema), also under ``{group}/`` (the CRDs
    catalog layout); ``{kind}-{group}-{version}.json`` with the full group or its first
    label (kubeconform's own naming); ``{kind}-{version}.json`` for the core group.
    """
    group, version = split_api_version(api_version)
    kind = kind.lower()
    names = []
    if group:
        names += [
            os.path.join(group, f"{kind}_{version}.json"),
            f"{kind}-{group}-{version}.json",
            f"{kind}-{group.split('.')[0]}-{version}.json",
        ]
    else:
        names.append(f"{kind}-{version}.json")
    names.append(f"{kind}_{version}.json")
    return list(dict.fromkeys(names))


class SchemaDirs:
    """JSON schemas the user keeps on disk, found by kubeconform's file naming."""

    def __init__(self, directories: Iterable[str]) -> None:
        self.directories = [str(d) for d in directories]
        self._compiled: dict[tuple[str, str], CompiledSchema | None] = {}

    def schema(self, api_version: str, kind: str) -> CompiledSchema | None:
        key = (api_version, kind)
        if key not in self._compiled:
            self._compiled[key] = self._find(api_version, kind)
        return self._compiled[key]

    def _find(self, api_version: str, kind: str) -> CompiledSchema | None:
        for directory in self.directories:
            for name in schema_file_candidates(api_version, kind):
                path = os.path.join(directory, name)
                if os.path.isfile(path):
                    return _compile_file(path)
        return None


class SchemaFileError(Exception):
    """A --schema-dir file that is not a usable JSON schema."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path


def _compile_file(path: str) -> CompiledSchema:
    import jsonschema_rs

    documents: dict[str, dict] = {}
    base = "file://" + os.path.abspath(path)
    root = _read_json(path)
    documents[root.get("$id", base) if isinstance(root.get("$id"), str) else base] = root
    directory = os.path.dirname(os.path.abspath(path))

    def retrieve(uri: str) -> dict:
        """Local files beside the schema only: never the network."""
        if not uri.startswith("file://"):
            raise ValueError(f"kgen never fetches schemas over the network ({uri})")
        local = os.path.abspath(uri[len("file://") :].partition("#")[0])
        if os.path.commonpath([local, directory]) != directory:
            raise ValueError(f"{local} is outside the schema directory {directory}")
        document = _read_json(local)
        documents[uri.partition("#")[0]] = document
        return document

    try:
        validator = jsonschema_rs.validator_for(root, base_uri=base, retriever=retrieve)
    except (ValueError, jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError) as exc:
        raise SchemaFileError(path, f"not a usable JSON schema: {str(exc).splitlines()[0]}") from None
    return CompiledSchema(validator, root, documents, source=path)


def _read_json(path: str) -> dict:
    from kgen.errors import InputError
    from kgen.loader import read_source  # refuses FIFOs and devices instead of blocking on them

    try:
        document = json.loads(read_source(path).text)
    except InputError as exc:
        raise SchemaFileError(path, f"cannot read JSON schema: {exc.message}") from None
    except (ValueError, RecursionError) as exc:
        raise SchemaFileError(path, f"cannot read JSON schema: {exc}") from None
    if not isinstance(document, dict):
        raise SchemaFileError(path, "a JSON schema must be an object")
    return document
