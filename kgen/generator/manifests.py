"""Plain manifests: ``manifests/<env>.yaml``, which is also what ``kgen render`` prints."""

from __future__ import annotations

from kgen.generator.model import app_model
from kgen.generator.objects import build_objects
from kgen.generator.spec import AppSpec
from kgen.generator.text import dump_documents, header


def render(spec: AppSpec, env: str, spec_name: str) -> str:
    """Every object of ``env`` as one multi-document YAML stream."""
    return header(spec_name) + dump_documents(build_objects(app_model(spec, env)))


def manifest_files(spec: AppSpec, envs: list[str], spec_name: str) -> dict[str, str]:
    return {f"manifests/{env}.yaml": render(spec, env, spec_name) for env in envs}
