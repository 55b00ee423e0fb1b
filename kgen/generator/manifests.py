"""Plain manifests: ``manifests/<env>.yaml``, which is also what ``kgen render`` prints."""

from __future__ import annotations

from kgen.generator.model import app_model
from kgen.generator.objects import build_objects
from kgen.generator.spec import AppSpec
from kgen.generator.text import dump_documents, header


def manifest_text(objects: list[dict], spec_name: str) -> str:
    """One environment's objects as a multi-document YAML stream under kgen's header."""
    return header(spec_name) + dump_documents(objects)


def render(spec: AppSpec, env: str, spec_name: str) -> str:
    """Every object of ``env``, as ``kgen render`` prints it."""
    return manifest_text(build_objects(app_model(spec, env)), spec_name)
