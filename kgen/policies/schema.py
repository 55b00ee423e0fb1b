"""Validate every object against the Kubernetes JSON schema of the target version, offline.

Built-in kinds use the schemas shipped by kubernetes-validate; custom resources use the
CustomResourceDefinitions found in the input, then ``--schema-dir`` files. Each object is
validated once, when it is checked; three rules read the results:

- ``schema-invalid``: the object does not validate (strict: unknown fields are errors);
- ``yaml-ambiguous-value``: it does not validate because YAML 1.1 read an unquoted scalar
  (``on``, ``yes``, ``y``, ``0755``, ``8080``) as a boolean or number where Kubernetes wants a string
  (the loader reads ``y``/``n`` as kubectl does, see :func:`kgen.loader.resolve_like_kubectl`);
- ``schema-unknown-kind``: no schema at all for a kind (info, once per apiVersion/kind).

Schema settings live with ``schema-invalid`` (``strict``, ``schemaDirs``, ``skipKinds``) and
apply to all three; the CLI's ``--no-strict``, ``--schema-dir`` and ``--skip-kind`` set them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Iterator

import yaml

from kgen.kubeschemas import (
    BuiltinKindSchema,
    CompiledSchema,
    SchemaDirs,
    SchemaFileError,
    builtin_schemas,
    compile_crd_schema,
    format_version,
    schema_version,
    shipped_versions,
)
from kgen.loader import JsonPath, KubeObject
from kgen.policies.deprecation import deprecation_table, removal
from kgen.policies.cluster_policy import ClusterPolicy
from kgen.policies.inventory import CrdSchema, Inventory, Ordinal
from kgen.policies.registry import RuleContext, Violation, rule
from kgen.policies.schema_settings import SETTINGS_DEFAULTS, SchemaSettings

_BOOL_WORDS = {"yes", "no", "on", "off", "y", "n"}
_OCTAL = re.compile(r"^[-+]?0[0-7_]+$")
_JSON_TYPE = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object", type(None): "null"}


@dataclass
class SchemaResults:
    """What the schemas say about one object."""

    invalid: list[Violation] = field(default_factory=list)
    ambiguous: list[Violation] = field(default_factory=list)
    unknown: str | None = None  # why no schema is known for the object's apiVersion and kind


class _SchemaPass:
    """One lint run's schema lookups: built-in, then CRDs in the input, then --schema-dir.

    Objects are validated one at a time as they are checked; a CustomResourceDefinition the
    input holds further on is found by asking the inventory again once the input is complete.
    """

    def __init__(self, inventory: Inventory, settings: SchemaSettings) -> None:
        self.inventory = inventory
        self.settings = settings
        self.schema_version = schema_version(settings.target)
        self.builtin = builtin_schemas(self.schema_version, settings.strict)
        self.dirs = SchemaDirs(settings.schema_dirs)
        self._crd_compiled: dict[tuple[str, str], CompiledSchema | str] = {}
        self._last: tuple[KubeObject, SchemaResults] | None = None

    def results(self, obj: KubeObject) -> SchemaResults:
        """The object's results (the three schema rules ask in turn: it is validated once)."""
        if self._last is None or self._last[0] is not obj:
            results = SchemaResults()
            if not self.settings.skips(obj):
                self._check(obj, results)
            self._last = (obj, results)
        return self._last[1]

    def _check(self, obj: KubeObject, results: SchemaResults) -> None:
        key = (obj.api_version, obj.kind)
        compiled: CompiledSchema | BuiltinKindSchema | str | None = self.builtin.schema(*key)
        if compiled is None:
            compiled = self._crd_schema(key, self.inventory.ask(Inventory.crd_schema, *key))
        if compiled is None and self.settings.schema_dirs:
            try:
                compiled = self.dirs.schema(*key)
            except SchemaFileError as exc:
                compiled = f"cannot use schema file {exc}"
        if isinstance(compiled, str):
            results.invalid.append(Violation(("kind",), compiled))
        elif compiled is not None:
            self._validate(obj, compiled, results)
        else:
            self._no_schema(obj, results)

    def _crd_schema(self, key: tuple[str, str], found: CrdSchema | None) -> CompiledSchema | str | None:
        """The schema ``found`` (the first CustomResourceDefinition of the input so far for ``key``), compiled."""
        if found is None:
            return None
        if key not in self._crd_compiled:
            name, schema = found.name, found.schema
            try:
                self._crd_compiled[key] = compile_crd_schema(schema, self.settings.strict, f"CustomResourceDefinition {name}")
            except ValueError as exc:
                self._crd_compiled[key] = f"cannot validate {key[0]} {key[1]}: the schema of CustomResourceDefinition {name} does not compile: {str(exc).splitlines()[0]}"
        return self._crd_compiled[key]

    def _no_schema(self, obj: KubeObject, results: SchemaResults) -> None:
        api_version, kind = obj.api_version, obj.kind
        target = self.settings.target
        if removal(api_version, kind, target):
            return  # api-removed reports it; schema errors on top would only be noise
        if obj.group in self.builtin.groups and not self.builtin.api_versions_of(kind) and (api_version, kind) not in deprecation_table():
            results.invalid.append(Violation(("kind",), f"{api_version} has no kind {kind!r} in Kubernetes {format_version(self.schema_version)}"))
            return
        if target < shipped_versions()[0] and (api_version, kind) in deprecation_table():
            reason = f"schemas ship for Kubernetes {format_version(shipped_versions()[0])} and later, the target is {format_version(target)}"
        else:
            reason = f"not built into Kubernetes {format_version(self.schema_version)}, no CustomResourceDefinition in the input"
            reason += ", nothing in --schema-dir" if self.settings.schema_dirs else "; add one with --schema-dir"
        results.unknown = reason

    def _validate(self, obj: KubeObject, compiled: CompiledSchema | BuiltinKindSchema, results: SchemaResults) -> None:
        if compiled.is_valid(obj.data):
            return
        validator = compiled.validator
        import difflib  # for the hints of unknown fields: a valid input never needs it

        suffix = f" (per {compiled.source})" if compiled.source else ""
        for error in validator.iter_errors(obj.data):
            path: JsonPath = tuple(error.instance_path)
            name = error.kind.name
            if name == "additionalProperties":
                known = sorted(compiled.node_at(error).get("properties") or ())
                for unexpected in error.kind.as_dict()["unexpected"]:
                    close = difflib.get_close_matches(unexpected, known, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    results.invalid.append(Violation((*path, unexpected), f"unknown field {unexpected!r}{hint}{suffix}"))
            elif name == "type":
                expected = [t for t in error.kind.as_dict()["types"] if t != "null"]
                pitfall = _yaml_pitfall(obj, path, expected, error.instance)
                if pitfall:
                    results.ambiguous.append(Violation(path, pitfall))
                else:
                    message = f"expected {' or '.join(expected)}, got {_describe(error.instance)}{suffix}"
                    results.invalid.append(Violation(path, message))
            elif name == "required":
                missing = error.kind.as_dict()["property"]
                results.invalid.append(Violation(path, f"missing required field {missing!r}{suffix}"))
            else:
                results.invalid.append(Violation(path, error.message.splitlines()[0] + suffix))


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    kind = _JSON_TYPE.get(type(value), type(value).__name__)
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    text = json.dumps(value) if not isinstance(value, float) or value == value else "nan"
    return f"{kind} {text[:60]}"


def _yaml_pitfall(obj: KubeObject, path: JsonPath, expected: list[str], value: Any) -> str | None:
    """A message when a string was expected and YAML turned the unquoted text into something else."""
    if "string" not in expected:
        return None
    node = obj.node_at(path)
    if not isinstance(node, yaml.ScalarNode) or node.style or isinstance(value, str):  # plain style: None or ""
        return None
    raw = node.value
    fix = f'a string is expected here; quote it: "{raw}"'
    if isinstance(value, bool):
        if raw.lower() in _BOOL_WORDS:
            return f"YAML 1.1 reads unquoted {raw} as the boolean {json.dumps(value)}, but {fix}"
        return f"unquoted {raw} is a boolean, but {fix}"
    if isinstance(value, (int, float)):
        if _OCTAL.match(raw):
            return f"YAML 1.1 reads unquoted {raw} as the octal number {value}, but {fix}"
        read = "" if raw == json.dumps(value) else f" (read as {json.dumps(value)})"
        return f"unquoted {raw} is a number{read}, but {fix}"
    return None


_memo: tuple[Inventory, ClusterPolicy, _SchemaPass] | None = None


def schema_results(obj: KubeObject, ctx: RuleContext) -> SchemaResults:
    """The schemas' verdict on ``obj``; the lookups of one lint run are made once however many
    schema rules ask."""
    global _memo
    if _memo is None or _memo[0] is not ctx.inventory or _memo[1] is not ctx.policy:
        _memo = (ctx.inventory, ctx.policy, _SchemaPass(ctx.inventory, SchemaSettings.from_policy(ctx.policy)))
    return _memo[2].results(obj)


@rule(
    id="schema-invalid",
    category="schema",
    severity="error",
    scope="object",
    summary="The object does not validate against the Kubernetes JSON schema of the target version (strict: unknown fields are errors).",
    why="""The API server rejects objects with wrong types or missing required fields, and kubectl's strict
    field validation rejects unknown fields; a typo such as `contianers` or a field at the wrong level is
    otherwise silently dropped, so what runs is not what the file says. Custom resources are checked
    against the CustomResourceDefinitions in the input or the schemas in --schema-dir.""",
    fix="""Fix the field at the reported line: use the suggested name for unknown fields, the expected type,
    or add the missing field. Set `kubernetesVersion` (or `--kube-version`) to the version your cluster
    runs; `--no-strict` (policy: `schema-invalid: {strict: false}`) accepts unknown fields.""",
    params=SETTINGS_DEFAULTS,
)
def schema_invalid(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    yield from schema_results(obj, ctx).invalid


@rule(
    id="yaml-ambiguous-value",
    category="schema",
    severity="error",
    scope="object",
    summary="An unquoted value that YAML reads as a boolean or number where Kubernetes expects a string (on/off/yes/no/y/n, 0755, 8080).",
    why="""Kubernetes parses YAML 1.1: unquoted `on`, `off`, `yes`, `no`, `y` and `n` are booleans (kubectl
    reads `y` as true even where other YAML tools see a string), `0755` is the
    octal number 493, and `8080` is a number. Where the API wants a string (env values, labels,
    annotations, ConfigMap data) the object is rejected, or the value changes meaning.""",
    fix="Quote the value: `value: \"8080\"`, `enabled: \"on\"`, `mode: \"0755\"`.",
)
def yaml_ambiguous_value(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    yield from schema_results(obj, ctx).ambiguous


@rule(
    id="schema-unknown-kind",
    category="schema",
    severity="info",
    scope="object",
    summary="No schema is known for a kind (not built in, no CustomResourceDefinition in the input, nothing in --schema-dir); reported once per apiVersion and kind.",
    why="""Objects without a schema are not validated at all, so typos in them go unnoticed until the
    cluster rejects or ignores them.""",
    fix="""Lint the CustomResourceDefinition together with its resources, or pass its JSON schema with
    `--schema-dir DIR` (kubeconform naming: `{kind}_{version}.json` or `{kind}-{group}-{version}.json`);
    `--skip-kind KIND` silences this for kinds you do not want validated.""",
)
def schema_unknown_kind(obj: KubeObject, ctx: RuleContext) -> Iterator[Violation]:
    reason = schema_results(obj, ctx).unknown
    if reason is not None:
        key = (obj.api_version, obj.kind)
        yield Violation(("kind",), "", settle=partial(_unknown_verdict, key, reason, ctx.inventory.ordinal(obj)))


def _unknown_verdict(key: tuple[str, str], reason: str, ordinal: Ordinal, inventory: Inventory) -> Violation | None:
    """Said once per apiVersion and kind, at its first object, with the number of objects not validated."""
    if inventory.first_of(*key) != ordinal:
        return None
    count = inventory.count_of(*key)
    objects = f"{count} object{'s' if count != 1 else ''}"
    return Violation(("kind",), f"no schema for {key[0]} {key[1]} ({reason}); {objects} not validated")
