"""Everything kgen generates passes kgen lint with the default policy: no error finding."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from kgen.generator.build import render_environments
from kgen.loader import load_text
from kgen.policies.engine import lint
from kgen.policies.policy import load_policy

from .conftest import SPEC_FILES

STARTER = Path(str(resources.files("kgen.generator").joinpath("starter.yaml")))
SPECS = [*SPEC_FILES, STARTER]


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_generated_manifests_have_no_error_finding(spec: Path) -> None:
    policy = load_policy(None)
    for env, text in render_environments(str(spec)):
        report = lint(load_text(text, f"{spec.name} [{env}]"), policy)
        errors = [f"{f.rule} {f.object} {f.path}: {f.message}" for f in report.findings if f.severity == "error"]
        assert not errors, f"{spec.name} [{env}]:\n" + "\n".join(errors)
