"""kgen fix: golden files, one test per fix, the cases left alone, the corpus, the command line."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from kgen.fix import fixable_rules, plan_fixes, write_fixes
from kgen.inputs import InputOptions, load_inputs
from kgen.loader import load_text
from kgen.policies.engine import lint
from kgen.policies.policy import apply_lint_options, load_policy
from kgen.policies.catalog import all_rules
from tests.conftest import CORPUS, FIXTURES, lint_yaml, needs_shared, rules_found, run_kgen

GOLDEN = FIXTURES / "fix"


def fix_text(text: str, rules: tuple[str, ...] = (), kube_version: str | None = None) -> str:
    loaded = load_text(text, "test.yaml")
    policy = apply_lint_options(load_policy(None), kube_version=kube_version)
    return plan_fixes(loaded, policy, fixable_rules(rules)).text_of(loaded.files[0])


# --- golden files: byte-for-byte outside the edited nodes ---------------------------------------


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.iterdir()))
def test_golden(case: str) -> None:
    source = (GOLDEN / case / "input.yaml").read_text(encoding="utf-8")
    expected = (GOLDEN / case / "expected.yaml").read_text(encoding="utf-8")
    assert fix_text(source) == expected
    assert fix_text(expected) == expected  # idempotent


def test_golden_cases_keep_every_original_line() -> None:
    """Fixes only add lines or change a scalar in place (apiVersion, flow collections)."""
    for case in GOLDEN.iterdir():
        before = (case / "input.yaml").read_text(encoding="utf-8").splitlines()
        after = (case / "expected.yaml").read_text(encoding="utf-8").splitlines()
        changed = [line for line in before if line not in after]
        assert all("apiVersion" in line or "{" in line for line in changed), (case.name, changed)


# --- one test per fix: lint no longer reports it, and fixing again changes nothing -------------

POD = """apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: app
      image: app:1.0
"""

CASES: dict[str, tuple[str, str | None]] = {
    "gpu-limit-missing": (POD + "      resources:\n        requests:\n          nvidia.com/gpu: 2\n", None),
    "gpu-toleration-missing": (POD + "      resources:\n        limits: {nvidia.com/gpu: 1}\n", None),
    "serviceaccount-token-automount": (POD, None),
    "security-privilege-escalation": (POD, None),
    "security-capabilities": (POD + "      securityContext:\n        capabilities:\n          add: [NET_BIND_SERVICE]\n", None),
    "security-run-as-root": (POD + "      securityContext:\n        readOnlyRootFilesystem: true\n", None),
    "resources-memory-limit-missing": (POD + "      resources:\n        requests: {memory: 256Mi}\n", None),
    "security-seccomp-missing": (POD, None),
    "gpu-shm-missing": (POD + "      resources:\n        limits: {nvidia.com/gpu: 2}\n", None),
    "ingress-host-not-covered": ((GOLDEN / "ingress-tls-hosts" / "input.yaml").read_text(encoding="utf-8"), None),
    "api-removed": ("apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec:\n  maxUnavailable: 1\n", None),
    "api-deprecated": ("apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec:\n  maxUnavailable: 1\n", "1.23"),
}


def test_every_fixable_rule_has_a_case() -> None:
    assert set(CASES) == {rule.id for rule in all_rules().values() if rule.fixable}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_fix_removes_the_finding(rule_id: str) -> None:
    text, kube_version = CASES[rule_id]
    policy = apply_lint_options(load_policy(None), kube_version=kube_version)
    before = lint(load_text(text, "test.yaml"), policy)
    assert rule_id in rules_found(before)
    fixed = fix_text(text, (rule_id,), kube_version)
    after = lint(load_text(fixed, "test.yaml"), policy)
    assert rule_id not in rules_found(after), fixed
    assert fix_text(fixed, (rule_id,), kube_version) == fixed
    # --rule applies that fix only: the findings other fixes would remove stay.
    others = set(CASES) - {rule_id}
    assert Counter(f.rule for f in before.findings if f.rule in others) == Counter(f.rule for f in after.findings if f.rule in others)


def test_memory_limit_copies_the_request_and_gpu_limit_the_gpu_request() -> None:
    fixed = fix_text(CASES["gpu-limit-missing"][0] + "          memory: 1Gi\n")
    assert "        limits:\n          memory: 1Gi\n          nvidia.com/gpu: 2\n" in fixed


def test_copied_string_keeps_its_quotes_and_stays_a_string() -> None:
    """A GPU request written '1' is the string "1": its copy must not turn into the number 1."""
    text = POD + "      resources:\n        requests:\n          nvidia.com/gpu: '1'\n"
    fixed = fix_text(text, ("gpu-limit-missing",))
    assert fixed == text + "        limits:\n          nvidia.com/gpu: '1'\n"
    [obj] = load_text(fixed).objects
    assert obj.data["spec"]["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": "1"}


# --- what is left to the user ---------------------------------------------------------------


def _unchanged(text: str, rule_id: str) -> None:
    assert rule_id in rules_found(lint_yaml(text))
    assert fix_text(text, (rule_id,)) == text


def test_privilege_escalation_not_added_beside_privileged_or_sys_admin() -> None:
    _unchanged(POD + "      securityContext:\n        privileged: true\n", "security-privilege-escalation")
    _unchanged(POD + "      securityContext:\n        capabilities: {add: [SYS_ADMIN]}\n", "security-privilege-escalation")


def test_written_values_are_never_overwritten() -> None:
    _unchanged(POD + "      securityContext:\n        allowPrivilegeEscalation: true\n", "security-privilege-escalation")
    _unchanged(POD.replace("spec:\n", "spec:\n  automountServiceAccountToken: true\n", 1), "serviceaccount-token-automount")
    _unchanged(POD.replace("spec:\n", "spec:\n  securityContext: {runAsNonRoot: false}\n", 1), "security-run-as-root")
    _unchanged(POD + "      securityContext:\n        runAsUser: 0\n", "security-run-as-root")
    _unchanged(POD + "      resources:\n        requests: {nvidia.com/gpu: 2}\n        limits: {nvidia.com/gpu: 1}\n", "gpu-limit-missing")


def test_windows_pods_get_no_linux_security_fields() -> None:
    windows = POD.replace("spec:\n", "spec:\n  os: {name: windows}\n", 1)
    for rule_id in ("security-privilege-escalation", "security-capabilities"):
        _unchanged(windows, rule_id)


def test_seccomp_unconfined_is_left_to_the_user() -> None:
    _unchanged(POD + "      securityContext:\n        seccompProfile: {type: Unconfined}\n", "security-seccomp-missing")


def test_shm_fix_reuses_a_memory_volume_and_leaves_another_shm_mount_alone() -> None:
    gpus = POD + "      resources:\n        limits: {nvidia.com/gpu: 2}\n"
    memory = gpus.replace("spec:\n", "spec:\n  volumes: [{name: scratch, emptyDir: {medium: Memory}}]\n", 1)
    fixed = fix_text(memory, ("gpu-shm-missing",))
    assert fixed.count("emptyDir") == 1 and "name: scratch" in fixed and 'mountPath: "/dev/shm"' in fixed
    disk = gpus.replace("spec:\n", "spec:\n  volumes: [{name: shm, emptyDir: {}}]\n", 1)
    _unchanged(disk + "      volumeMounts: [{name: shm, mountPath: /dev/shm}]\n", "gpu-shm-missing")


def test_token_kept_for_service_accounts_rbac_grants_rights() -> None:
    """lint and fix agree: a ServiceAccount the input binds to a role is not reported, so not fixed."""
    binding = "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, namespace: default}\n"
    binding += "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\nsubjects: [{kind: ServiceAccount, name: default}]\n"
    assert "serviceaccount-token-automount" not in rules_found(lint_yaml(POD + binding))
    assert fix_text(POD + binding, ("serviceaccount-token-automount",)) == POD + binding


def test_ingress_host_left_alone_when_two_certificates_could_cover_it() -> None:
    text = CASES["ingress-host-not-covered"][0].replace(
        "      secretName: shop-tls\n", "      secretName: shop-tls\n    - hosts: [www.example.com]\n      secretName: www-tls\n"
    )
    _unchanged(text, "ingress-host-not-covered")


def test_api_version_not_rewritten_when_the_object_would_not_validate() -> None:
    text = "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: i}\nspec:\n  backend: {serviceName: s, servicePort: 80}\n"
    _unchanged(text, "api-removed")


# --- text details ---------------------------------------------------------------------------


def test_block_scalar_tail_crlf_and_no_final_newline() -> None:
    text = POD + "      args:\n        - |\n          run --fast\n\n"
    added = "      securityContext:\n        allowPrivilegeEscalation: false\n"
    assert fix_text(text, ("security-privilege-escalation",)) == text[:-1] + added + "\n"  # before the blank line
    crlf = POD.replace("\n", "\r\n").rstrip()
    assert fix_text(crlf, ("security-privilege-escalation",)) == crlf + "\r\n" + added.replace("\n", "\r\n").rstrip()


def test_shared_anchor_is_edited_once_for_both_users() -> None:
    text = POD + "      resources: &res\n        requests: {memory: 1Gi}\n    - name: side\n      image: side:1\n      resources: *res\n"
    fixed = fix_text(text, ("resources-memory-limit-missing",))
    assert fixed.count("limits: {memory: 1Gi}") == 0 and fixed.count("memory: 1Gi") == 2
    assert "resources-memory-limit-missing" not in rules_found(lint_yaml(fixed))


def test_edit_that_cannot_be_written_in_place_leaves_the_file_untouched() -> None:
    # The second container ends with an alias: its last line is elsewhere, so the edit would land
    # in the wrong place; reading the result back catches it.
    text = POD + "      env: &env\n        - {name: A, value: b}\n    - name: side\n      image: side:1\n      env: *env\n"
    loaded = load_text(text, "test.yaml")
    plan = plan_fixes(loaded, load_policy(None), fixable_rules(("security-privilege-escalation",)))
    assert plan.text_of(loaded.files[0]) == text
    assert plan.files[0].problem and "left untouched" in plan.files[0].problem
    assert any("security-privilege-escalation" == f.rule for f in plan.remaining)


# --- the shared corpus ----------------------------------------------------------------------

SCHEMA_RULES = {"schema-invalid", "yaml-ambiguous-value", "yaml-invalid"}
FIX_WALK = InputOptions(render_roots=False)  # as kgen fix walks: the files it can edit


def test_corpus_fix_removes_fixed_findings_and_adds_no_schema_errors(tmp_path: Path) -> None:
    needs_shared(CORPUS)
    copy = tmp_path / "corpus"
    shutil.copytree(CORPUS, copy)
    policy = load_policy(None)
    loaded = load_inputs([str(copy)], FIX_WALK)
    plan = plan_fixes(loaded, policy, fixable_rules())  # the dry run: no crash
    changed = [file for file in plan.files if file.changed]
    assert len(changed) > 500 and not [file.problem for file in plan.files if file.problem and "YAML errors" not in file.problem]
    assert not write_fixes(plan, [str(copy)])
    after = lint(load_inputs([str(copy)], FIX_WALK), policy)
    fixable = set(plan.rule_ids)
    remaining = Counter(f.rule for f in after.findings if f.rule in fixable)
    assert remaining == Counter(f.rule for f in plan.remaining)
    # What stays is what the fixers decline by design, or is in a file with YAML errors.
    invalid = {problem.file for problem in loaded.problems}
    assert remaining["gpu-toleration-missing"] == 0
    assert all("adds the dangerous capability" in f.message or f.file in invalid for f in after.findings if f.rule == "security-capabilities")
    before = lint(load_inputs([str(CORPUS)], FIX_WALK), policy)
    schema_before = {(f.rule, os.path.relpath(f.file, CORPUS), f.message) for f in before.findings if f.rule in SCHEMA_RULES}
    schema_after = {(f.rule, os.path.relpath(f.file, copy), f.message) for f in after.findings if f.rule in SCHEMA_RULES}
    assert schema_after <= schema_before
    again = plan_fixes(load_inputs([str(copy)], FIX_WALK), policy, fixable_rules())
    assert not [file for file in again.files if file.changed]  # idempotent


# --- the command line, in a new process -------------------------------------------------------


def _manifest(tmp_path: Path, name: str = "app.yaml", case: str = "multi-document") -> Path:
    target = tmp_path / name
    shutil.copy(GOLDEN / case / "input.yaml", target)
    return target


def test_cli_fix_writes_keeps_the_mode_and_is_idempotent(tmp_path: Path) -> None:
    target = _manifest(tmp_path)
    os.chmod(target, 0o640)
    result = run_kgen("fix", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_text(encoding="utf-8") == (GOLDEN / "multi-document" / "expected.yaml").read_text(encoding="utf-8")
    assert os.stat(target).st_mode & 0o777 == 0o640
    assert "fixed 9 findings" in result.stderr
    again = run_kgen("fix", str(target))
    assert again.returncode == 0 and "nothing to fix" in again.stderr


def test_cli_fix_exit_1_when_findings_remain(tmp_path: Path) -> None:
    target = _manifest(tmp_path, case="unfixable")
    result = run_kgen("fix", str(target))
    assert result.returncode == 1
    assert "cannot be fixed automatically" in result.stderr


def test_cli_diff_and_dry_run_write_nothing(tmp_path: Path) -> None:
    target = _manifest(tmp_path)
    original = target.read_text(encoding="utf-8")
    diff = run_kgen("fix", "--diff", str(target))
    assert diff.returncode == 1
    assert '+          limits:\n+            memory: "512Mi"\n' in diff.stdout and diff.stdout.startswith("--- a/")
    dry = run_kgen("fix", "--dry-run", "--rule", "api-removed", str(target))
    assert dry.returncode == 1 and dry.stdout == f"{target}: would fix 1 finding (api-removed 1)\n"
    assert target.read_text(encoding="utf-8") == original


def test_cli_fix_stdin_prints_the_fixed_text() -> None:
    source = (GOLDEN / "list" / "input.yaml").read_text(encoding="utf-8")
    result = run_kgen("fix", "-", stdin=source)
    assert result.stdout == (GOLDEN / "list" / "expected.yaml").read_text(encoding="utf-8")
    clean = run_kgen("fix", "-", stdin=result.stdout)
    assert clean.returncode == 0 and clean.stdout == result.stdout


def test_cli_lint_fix_reports_what_remains(tmp_path: Path) -> None:
    target = _manifest(tmp_path)
    result = run_kgen("lint", "--fix", "--format", "json", str(target))
    assert "fixed 9 findings" in result.stderr
    remaining = {f["rule"] for f in json.loads(result.stdout)["findings"]}
    assert remaining and not remaining & {"security-capabilities", "api-removed", "serviceaccount-token-automount"}
    assert run_kgen("lint", "--fix", "-", stdin="").returncode == 2


def test_cli_refuses_rendered_inputs_and_unknown_rules(tmp_path: Path) -> None:
    chart = run_kgen("fix", str(FIXTURES / "inputs" / "helm" / "webapp"))
    assert chart.returncode == 2 and "Helm chart" in chart.stderr
    assert run_kgen("fix", "--rule", "security-privileged", str(_manifest(tmp_path))).returncode == 2


def test_cli_rules_and_explain_say_what_is_fixable() -> None:
    table = run_kgen("rules").stdout
    assert any(line.startswith("security-capabilities") and " yes " in line for line in table.splitlines())
    assert any(line.startswith("security-privileged ") and " - " in line for line in table.splitlines())
    assert "fixable by kgen fix" in run_kgen("explain", "gpu-limit-missing").stdout
