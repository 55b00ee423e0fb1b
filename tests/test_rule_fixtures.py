"""Every rule has a failing and a passing fixture, and each behaves as its name says.

Layout: fixtures/rules/<rule-id>/fail*.yaml must produce the rule, pass*.yaml must not;
a policy.yaml beside them is used for both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kgen.policies.catalog import all_rules
from tests.conftest import RULE_FIXTURES, lint_files

RULE_IDS = sorted(all_rules())
# Found only when rendering a chart or a Kustomize dir: tested in tests/test_charts.py.
RENDER_RULES = {"render-failed"}


def _cases() -> list[tuple[str, Path]]:
    cases = []
    for rule_dir in sorted(RULE_FIXTURES.iterdir()):
        for fixture in sorted(rule_dir.glob("*.yaml")):
            if fixture.name != "policy.yaml":
                cases.append((rule_dir.name, fixture))
    return cases


@pytest.mark.parametrize("rule_id", sorted(set(RULE_IDS) - RENDER_RULES))
def test_every_rule_has_pass_and_fail_fixtures(rule_id: str) -> None:
    rule_dir = RULE_FIXTURES / rule_id
    assert list(rule_dir.glob("fail*.yaml")), f"{rule_id} has no fixtures/rules/{rule_id}/fail*.yaml"
    assert list(rule_dir.glob("pass*.yaml")), f"{rule_id} has no fixtures/rules/{rule_id}/pass*.yaml"


def test_fixture_dirs_name_real_rules() -> None:
    unknown = sorted(d.name for d in RULE_FIXTURES.iterdir() if d.name not in RULE_IDS)
    assert not unknown, f"fixture folders for rules that do not exist: {unknown}"


@pytest.mark.parametrize("rule_id,fixture", _cases(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_fixture(rule_id: str, fixture: Path) -> None:
    policy = fixture.parent / "policy.yaml"
    report = lint_files(fixture, policy=policy if policy.exists() else None)
    hits = [f for f in report.findings if f.rule == rule_id]
    if fixture.name.startswith("fail"):
        assert hits, f"{fixture}: expected {rule_id}, got {[f.rule for f in report.findings]}"
        for finding in hits:
            assert finding.line >= 1 and finding.column >= 1
    else:
        assert not hits, f"{fixture}: unexpected {rule_id}: {[h.message for h in hits]}"
