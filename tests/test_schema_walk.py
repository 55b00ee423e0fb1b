"""The plain walk that spares a small input the compiled validator (kubeschemas.BuiltinKindSchema)
must never accept an object jsonschema-rs rejects, whatever is changed in it."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from kgen.kubeschemas import WALK_BUDGET, BuiltinKindSchema, BuiltinSchemas, builtin_schemas, shipped_versions, walk_accepts
from kgen.loader import load_text
from tests.conftest import ROOT, document_paths

DEPLOYMENT = load_text((ROOT / "benchmarks" / "deployment-60-lines.yaml").read_text(), "deployment.yaml").objects[0].data
NEWEST = shipped_versions()[-1]

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "web", "8080", "RuntimeDefault", "Always", "ALL", "TCP", "100m", "true"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(["name", "port", "type", "value", "image", "x"]), st.integers(0, 2)), inner, max_size=3),
    ),
    max_leaves=6,
)


_PLACES = document_paths(DEPLOYMENT)[1:]


def _mutated(data: dict, path: tuple, new_key: str | None, value: Any) -> dict:
    """``data`` with the value at ``path`` replaced, or a ``new_key`` added under it when a mapping."""
    mutated = copy.deepcopy(data)
    parent = mutated
    for part in path[:-1]:
        parent = parent[part]
    if new_key is not None and isinstance(parent[path[-1]], dict):
        parent[path[-1]][new_key] = value
    else:
        parent[path[-1]] = value
    return mutated


def _schema(strict: bool, version: tuple[int, int] = NEWEST) -> BuiltinKindSchema:
    schema = builtin_schemas(version, strict).schema("apps/v1", "Deployment")
    assert schema is not None
    return schema


def test_the_walk_vouches_for_a_valid_deployment_without_compiling() -> None:
    schemas = BuiltinSchemas(NEWEST, True)
    schema = schemas.schema("apps/v1", "Deployment")
    assert schema is not None and schema.is_valid(DEPLOYMENT)
    assert "compiled" not in schema.__dict__  # jsonschema-rs was not needed


def test_a_larger_input_is_left_to_the_compiled_validator() -> None:
    """Walking costs more per object than the compiled validator: only a run's first objects are walked."""
    schemas = BuiltinSchemas(NEWEST, True)
    schema = schemas.schema("apps/v1", "Deployment")
    assert schema is not None
    while schemas.walks_left:
        assert schema.is_valid(DEPLOYMENT) and "compiled" not in schema.__dict__
    assert schema.is_valid(DEPLOYMENT) and "compiled" in schema.__dict__


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    place=st.sampled_from(_PLACES),
    new_key=st.one_of(st.none(), st.sampled_from(["name", "port", "nmae", "replicas", "type", "runAsUser"])),
    value=_VALUES,
    strict=st.booleans(),
)
def test_the_walk_never_accepts_what_the_validator_rejects(place: tuple, new_key: str | None, value: Any, strict: bool) -> None:
    schema = _schema(strict)
    data = _mutated(DEPLOYMENT, place, new_key, value)
    try:
        valid = schema.compiled.validator.is_valid(data)
    except ValueError:  # a value jsonschema-rs cannot take (an integer key): the walk must not vouch for it
        valid = False
    assert valid or not walk_accepts(schema.definitions.definition(schema.name), data, schema.definitions)


def test_the_oldest_and_newest_definitions_are_walkable_for_a_deployment() -> None:
    """They use only keywords the walk models, so a valid Deployment never needs the validator."""
    for version in (shipped_versions()[0], NEWEST):
        schema = _schema(True, version)
        assert walk_accepts(schema.definitions.definition(schema.name), DEPLOYMENT, schema.definitions)


def test_an_object_larger_than_the_walk_is_worth_goes_to_the_validator() -> None:
    """Argo Workflows' CRDs hold ~90,000 mappings: walking one cost more than validating it."""
    schema = _schema(True, NEWEST)
    pod_spec = {**DEPLOYMENT["spec"]["template"]["spec"], "volumes": [{"name": f"v{index}", "emptyDir": {}} for index in range(WALK_BUDGET)]}
    large = {**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"], "template": {**DEPLOYMENT["spec"]["template"], "spec": pod_spec}}}
    assert not walk_accepts(schema.definitions.definition(schema.name), large, schema.definitions)
    assert schema.is_valid(large) and "compiled" in schema.__dict__
