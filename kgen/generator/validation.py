"""Whole-spec validation: the spec on its own (:func:`kgen.generator.spec.validate`), then,
on a valid spec, what only the generated objects show: an extraObjects entry with the
identity of a generated object or of another extra. It sits above the object builders,
which it runs, so the spec module needs nothing above it."""

from __future__ import annotations

from kgen.generator.model import app_model
from kgen.generator.objects import build_objects
from kgen.generator.spec import AppSpec, SpecError, SpecProblem, load_spec, sorted_problems, validate


def validated_spec(path: str) -> AppSpec:
    """Load and fully validate; raises SpecError listing every problem."""
    spec = load_spec(path)
    problems = spec_problems(spec)
    if problems:
        raise SpecError(spec.file, problems)
    return spec


def spec_problems(spec: AppSpec) -> list[SpecProblem]:
    """Every problem of the spec, in file order: the spec's own, else the objects' collisions
    (the objects are only built from a valid spec)."""
    return validate(spec) or sorted_problems(_extra_object_collisions(spec))


def _extra_object_collisions(spec: AppSpec) -> list[SpecProblem]:
    """An extra object with the identity of a generated one (or of another extra) would be applied twice."""
    if not spec.data.get("extraObjects") and not any((e or {}).get("extraObjects") for e in (spec.data.get("environments") or {}).values()):
        return []
    problems = []
    for env in [None, *([] if not spec.data.get("environments") else spec.environment_names())]:
        model = app_model(spec, env)
        extras = model.pop("extraObjects", [])
        taken = {(o["apiVersion"], o["kind"], o["metadata"]["name"]): "kgen generates it" for o in build_objects(model)}
        sources = [("extraObjects", i) for i in range(len(spec.data.get("extraObjects") or []))]
        if env:
            sources += [("environments", env, "extraObjects", i) for i in range(len(spec.environment(env).get("extraObjects") or []))]
        for path, obj in zip(sources, extras):
            identity = (obj["apiVersion"], obj["kind"], obj["metadata"]["name"])
            if identity in taken:
                where = (*path, "metadata", "name")
                problems.append(SpecProblem(where, f"{identity[1]} {identity[2]!r} is already in the output ({taken[identity]})", spec.line(where)))
            taken[identity] = f"extraObjects entry at line {spec.line(path)}"
    return problems
