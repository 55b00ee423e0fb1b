"""`kgen lint` and the catalog commands, run as a user would: a new process, exit codes, stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kgen.report.paths import repository_path
from tests.conftest import FIXTURES, ROOT, run_kgen

FAIL = str(FIXTURES / "rules" / "security-privileged" / "fail.yaml")
CLEAN = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
"""


def test_clean_input_exits_0() -> None:
    result = run_kgen("lint", "-", stdin=CLEAN)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no problems in 1 file, 1 object" in result.stdout


def test_errors_exit_1_and_fail_on_controls_the_threshold() -> None:
    assert run_kgen("lint", FAIL).returncode == 1
    readonly = str(FIXTURES / "rules" / "security-readonly-rootfs" / "fail.yaml")
    assert run_kgen("lint", readonly, "--fail-on", "error").returncode in (0, 1)
    assert run_kgen("lint", readonly, "--fail-on", "info").returncode == 1


def test_directories_are_walked_for_yaml(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "ns.yml").write_text(CLEAN)
    (tmp_path / "a" / "notes.txt").write_text("not yaml")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.yaml").write_text("- broken: [\n")
    result = run_kgen("lint", str(tmp_path), "--format", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["summary"]["files"] == 1


def test_output_file_is_written(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "kgen.sarif"
    result = run_kgen("lint", FAIL, "--format", "sarif", "-o", str(out))
    assert result.returncode == 1 and result.stdout == ""
    assert json.loads(out.read_text())["version"] == "2.1.0"


@pytest.mark.parametrize(
    "content,fragment",
    [
        (b"\x00\x01binary", "binary file"),
        (b"a: \xff\xfe\xfa", "not UTF-8"),
    ],
)
def test_unreadable_input_is_a_finding_and_the_rest_is_linted(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    (tmp_path / "ns.yaml").write_text(CLEAN)
    result = run_kgen("lint", str(tmp_path), "--format", "json")
    assert result.returncode == 1 and result.stderr == ""
    document = json.loads(result.stdout)
    [finding] = document["findings"]
    assert (finding["rule"], finding["file"]) == ("yaml-invalid", str(path)) and fragment in finding["message"]
    assert document["summary"]["objects"] == 1


def test_missing_file_and_bad_policy_exit_2(tmp_path: Path) -> None:
    result = run_kgen("lint", str(tmp_path / "nope.yaml"))
    assert (result.returncode, result.stderr.count("\n")) == (2, 1)
    assert "no such file" in result.stderr
    policy = tmp_path / "p.yaml"
    policy.write_text("apiVersion: kgen.dev/v1alpha1\nkind: ClusterPolicy\nspec:\n  gpu: {maxPerPod: 0}\n")
    result = run_kgen("lint", FAIL, "--policy", str(policy))
    assert result.returncode == 2 and f"{policy}:4: spec.gpu.maxPerPod" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: x\n", "invalid YAML"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: '1', a: '2'}\n", "duplicate key"),
        ("- just\n- a list\n", "not a Kubernetes object"),
    ],
)
def test_malformed_yaml_is_a_located_finding_and_exit_1(text: str, fragment: str) -> None:
    result = run_kgen("lint", "-", "--format", "json", stdin=text)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    findings = json.loads(result.stdout)["findings"]
    invalid = [f for f in findings if f["rule"] == "yaml-invalid"]
    assert invalid and fragment in invalid[0]["message"] and invalid[0]["file"] == "<stdin>" and invalid[0]["line"] >= 1


def test_usage_errors_exit_2() -> None:
    assert run_kgen("lint").returncode == 2
    assert run_kgen("lint", FAIL, "--format", "xml").returncode == 2


def test_rules_explain_and_policy_show() -> None:
    listing = run_kgen("rules")
    assert listing.returncode == 0 and "security-privileged" in listing.stdout
    catalog = json.loads(run_kgen("rules", "--format", "json").stdout)
    assert all(entry["why"] and entry["fix"] and entry["summary"] for entry in catalog)
    explained = run_kgen("explain", "security-privileged")
    assert explained.returncode == 0 and "How to fix:" in explained.stdout
    typo = run_kgen("explain", "security-priviliged")
    assert typo.returncode == 2 and "did you mean security-privileged" in typo.stderr
    shown = run_kgen("policy", "show")
    assert shown.returncode == 0 and "kind: ClusterPolicy" in shown.stdout


def test_rules_and_explain_show_the_severities_reported_and_the_context_used() -> None:
    """probe-timing-invalid reports warnings for a timeout above the period: the catalog must say so."""
    rows = {line.split()[0]: line.split()[2] for line in run_kgen("rules").stdout.splitlines()[1:]}
    assert rows["probe-timing-invalid"] == "error/warning" and rows["ingress-tls-missing"] == "warning/error"
    assert rows["probe-port-undeclared"] == "warning/info" and rows["security-privileged"] == "error"
    catalog = {entry["id"]: entry for entry in json.loads(run_kgen("rules", "--format", "json").stdout)}
    assert catalog["probe-timing-invalid"]["caseSeverities"] == {"timeoutSeconds exceeds periodSeconds (the API server accepts it)": "warning"}
    assert "RoleBinding" in catalog["serviceaccount-token-automount"]["silentWhen"]
    explained = " ".join(run_kgen("explain", "probe-readiness-missing").stdout.split())
    assert "Silent when: the input holds Services in the pod's namespace and none of them selects the pod" in explained
    timing = " ".join(run_kgen("explain", "probe-timing-invalid").stdout.split())
    assert "Reported as: warning when timeoutSeconds exceeds periodSeconds" in timing


def test_github_format_annotates_each_finding_for_actions() -> None:
    result = run_kgen("lint", FAIL, "--format", "github")
    lines = result.stdout.splitlines()
    assert result.returncode == 1 and lines
    privileged = [line for line in lines if "title=kgen security-privileged" in line]
    assert privileged == [
        f"::error file={repository_path(FAIL) or FAIL},line=16,col=13,title=kgen security-privileged::container 'agent' runs privileged; remove securityContext.privileged"
    ]
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)


def test_ctrl_c_after_the_report_is_aborted_without_a_traceback(tmp_path: Path) -> None:
    """An interrupt that lands while the output is flushed (the lint has returned) is still one line, exit 2."""
    script = (
        "import sys\nimport kgen.cli as cli\n"
        "def flush():\n    raise KeyboardInterrupt\n"
        f"sys.stdout.flush = flush\nsys.argv = ['kgen', 'lint', {str(FIXTURES / 'examples')!r}]\ncli.main()\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and result.stderr.endswith("kgen: aborted\n") and "Traceback" not in result.stderr, result.stderr
