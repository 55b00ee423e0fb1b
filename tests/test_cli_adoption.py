"""What a platform engineer meets in the first hour: one policy everywhere, the usual CLI
flags, exit codes that mean what DESIGN.md says, and CI outputs the platforms accept."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kgen.findings import Finding, LintReport
from kgen.kubeschemas import format_version, shipped_versions
from kgen.policies.catalog import all_rules
from kgen.report import render
from tests.conftest import FIXTURES, ROOT

FAIL = FIXTURES / "rules" / "security-privileged" / "fail.yaml"
POLICY_HEAD = "apiVersion: kgen.dev/v1alpha1\nkind: ClusterPolicy\nmetadata: {name: %s}\n"
RELAXED = POLICY_HEAD % "relaxed" + "spec:\n  rules:\n    security-privileged: {severity: warning}\n"


def kgen(*args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real command line in a new process, with a controlled environment."""
    base = {k: v for k, v in os.environ.items() if k not in ("KGEN_POLICY", "NO_COLOR", "FORCE_COLOR", "GITHUB_STEP_SUMMARY")}
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "kgen", *args], capture_output=True, text=True, cwd=cwd, env={**base, **(env or {})}
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A repository (a .git folder) with a manifest that has one error, in a subdirectory."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "deploy").mkdir()
    (root / "deploy" / "agent.yaml").write_text(FAIL.read_text())
    return root


# --- one policy everywhere -------------------------------------------------------------------


def test_policy_discovery_order(project: Path) -> None:
    assert "(built-in policy)" in kgen("lint", "agent.yaml", cwd=project / "deploy").stdout
    (project / ".kgen.yaml").write_text(RELAXED)
    found = kgen("lint", "agent.yaml", cwd=project / "deploy")
    assert found.returncode == 0 and "policy ../.kgen.yaml" in found.stdout  # walked up from deploy/
    strict = project / "strict.yaml"
    strict.write_text(POLICY_HEAD % "strict")
    from_env = kgen("lint", "agent.yaml", cwd=project / "deploy", env={"KGEN_POLICY": str(strict)})
    assert from_env.returncode == 1 and f"policy {strict}" in from_env.stdout
    flag = kgen("lint", "agent.yaml", "--policy", "../.kgen.yaml", cwd=project / "deploy", env={"KGEN_POLICY": str(strict)})
    assert flag.returncode == 0 and "policy ../.kgen.yaml" in flag.stdout


def test_discovery_stops_at_the_repository_root(project: Path) -> None:
    (project.parent / ".kgen.yaml").write_text(RELAXED)  # above the repository: not this project's
    result = kgen("lint", "deploy/agent.yaml", cwd=project)
    assert result.returncode == 1 and "(built-in policy)" in result.stdout


def test_capacity_uses_the_discovered_policy(project: Path) -> None:
    (project / "deploy" / "agent.yaml").unlink()
    (project / "deploy" / "workloads.yaml").write_text((FIXTURES / "capacity" / "workloads.yaml").read_text())
    with_file = kgen("capacity", "deploy", "--policy", str(FIXTURES / "capacity" / "policy.yaml"), cwd=project)
    (project / ".kgen.yaml").write_text((FIXTURES / "capacity" / "policy.yaml").read_text())
    discovered = kgen("capacity", ".", cwd=project / "deploy")
    assert discovered.returncode == with_file.returncode == 0
    assert discovered.stdout == with_file.stdout and "a100" in discovered.stdout


def test_policy_show_prints_the_effective_policy(project: Path) -> None:
    built_in = kgen("policy", "show", cwd=project)
    assert built_in.returncode == 0 and "kind: ClusterPolicy" in built_in.stdout
    (project / ".kgen.yaml").write_text(RELAXED)
    for args in (("policy", "show"), ("policy", "show", "--policy", ".kgen.yaml")):
        shown = kgen(*args, cwd=project)
        assert shown.returncode == 0 and "merged over the built-in default" in shown.stdout
        spec = yaml.safe_load(shown.stdout)["spec"]
        assert spec["rules"]["security-privileged"] == {"severity": "warning"} and spec["gpu"]["resources"]  # merged


@pytest.mark.parametrize(
    "text,line,fragment",
    [
        ("spec:\n  gpu: {maxPerPod: 2}\n", 1, "not a kgen policy: a policy starts with apiVersion: kgen.dev/v1alpha1 and kind: ClusterPolicy"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", 2, "found apiVersion: v1, kind: ConfigMap"),
        (POLICY_HEAD % "x" + "spec:\n  lint: {exclude: [3]}\n", 5, "spec.lint.exclude[0]"),
    ],
)
def test_policy_validate_names_file_line_and_problem(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    result = kgen("policy", "validate", str(path))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"kgen: error: {path}:{line}: ") and fragment in result.stderr, result.stderr


def test_policy_validate_accepts_a_good_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(RELAXED)
    result = kgen("policy", "validate", str(path))
    assert result.returncode == 0 and "valid ClusterPolicy 'relaxed'" in result.stdout


def test_excludes_from_the_policy_and_the_command_line(project: Path) -> None:
    (project / "deploy" / "vendor").mkdir()
    (project / "deploy" / "vendor" / "thirdparty.yaml").write_text(FAIL.read_text())
    (project / "deploy" / "agent.generated.yaml").write_text(FAIL.read_text())
    (project / ".kgen.yaml").write_text(POLICY_HEAD % "p" + "spec:\n  lint:\n    exclude: [deploy/vendor]\n")
    files = lambda result: sorted({f["file"] for f in json.loads(result.stdout)["findings"]})  # noqa: E731
    walked = kgen("lint", "deploy", "--format", "json", cwd=project)
    assert files(walked) == ["deploy/agent.generated.yaml", "deploy/agent.yaml"]
    from_sub = kgen("lint", ".", "--format", "json", "--exclude", "*.generated.yaml", cwd=project / "deploy")
    assert files(from_sub) == ["./agent.yaml"]  # the policy's glob is relative to the policy file


def test_fix_leaves_excluded_files_alone(project: Path) -> None:
    vendor = project / "vendor" / "agent.yaml"
    vendor.parent.mkdir()
    vendor.write_text(FAIL.read_text())
    (project / ".kgen.yaml").write_text(POLICY_HEAD % "p" + "spec:\n  lint:\n    exclude: [vendor]\n")
    kgen("fix", ".", cwd=project)
    assert vendor.read_text() == FAIL.read_text()
    assert (project / "deploy" / "agent.yaml").read_text() != FAIL.read_text()


def test_kgen_policy_in_a_walk_is_not_an_unknown_kind(project: Path) -> None:
    (project / "deploy" / "agent.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    (project / "deploy" / ".kgen.yaml").write_text(RELAXED)
    (project / "deploy" / "cluster-policy.yaml").write_text(RELAXED)
    result = kgen("lint", "deploy", "--fail-on", "info", cwd=project)
    assert result.returncode == 0 and result.stdout.startswith("no problems in 3 files, 1 object"), result.stdout


def test_target_version_outside_the_shipped_schemas_is_a_warning() -> None:
    newest = shipped_versions()[-1]
    result = kgen("lint", str(FAIL), "--kube-version", "1.99")
    assert result.returncode == 1
    assert "warning: Kubernetes 1.99 is outside the schemas kgen ships" in result.stderr
    assert f"validating against {format_version(newest)}" in result.stderr
    inside = kgen("lint", str(FAIL), "--kube-version", format_version(newest))
    assert "warning" not in inside.stderr


# --- CLI habits --------------------------------------------------------------------------------


def test_quiet_exit_zero_and_exit_codes_in_help(tmp_path: Path) -> None:
    quiet = kgen("lint", str(FAIL), "--quiet")
    assert quiet.returncode == 1 and "security-privileged" in quiet.stdout and "problem" not in quiet.stdout.splitlines()[-1]
    assert kgen("lint", str(FAIL), "--exit-zero").returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("spec: {}\n")
    assert kgen("lint", str(FAIL), "--exit-zero", "--policy", str(bad)).returncode == 2
    helped = kgen("lint", "--help")
    assert "Exit codes:" in helped.stdout and "2  kgen could not judge" in helped.stdout and "KGEN_POLICY" in helped.stdout


@pytest.mark.parametrize(
    "flag,env,colored",
    [
        ("always", {}, True),
        ("never", {"FORCE_COLOR": "1"}, False),
        ("auto", {}, False),  # not a terminal
        ("auto", {"FORCE_COLOR": "1"}, True),
        ("auto", {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
    ],
)
def test_color(flag: str, env: dict[str, str], colored: bool) -> None:
    result = kgen("lint", str(FAIL), "--color", flag, env=env)
    assert ("\033[" in result.stdout) is colored


def test_several_formats_in_one_run(tmp_path: Path) -> None:
    sarif, junit = tmp_path / "out" / "kgen.sarif", tmp_path / "kgen.xml"
    result = kgen("lint", str(FAIL), "--format", "github", "--format", f"sarif={sarif}", "--format", f"junit={junit}")
    assert result.returncode == 1 and result.stdout.startswith("::error ")
    assert json.loads(sarif.read_text())["runs"][0]["results"] and junit.read_text().startswith("<?xml")
    single = tmp_path / "one.json"
    assert kgen("lint", str(FAIL), "--format", "json", "-o", str(single)).returncode == 1 and json.loads(single.read_text())["findings"]


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--format", "json", "--format", "sarif"], "at most one format goes to stdout"),
        (["--format", "json", "--format", "sarif=x.sarif", "-o", "y"], "-o writes a single format"),
        (["--format", "xml=x.xml"], "'xml' is not one of"),
        (["--format", "json="], "give a file after '='"),
    ],
)
def test_format_usage_errors_exit_2_and_write_nothing(tmp_path: Path, args: list[str], fragment: str) -> None:
    result = kgen("lint", str(FAIL), *args, cwd=tmp_path)
    assert result.returncode == 2 and fragment in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_nothing_is_written_when_kgen_cannot_judge(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY_HEAD % "x" + "spec:\n  gpu: {maxPerPod: 0}\n")
    report, baseline = tmp_path / "report.json", tmp_path / "baseline.json"
    for extra in (["--policy", str(policy)], ["--baseline", str(policy)]):
        for output in (["--format", f"json={report}"], ["--write-baseline", str(baseline)]):
            result = kgen("lint", str(FAIL), *extra, *output)
            assert result.returncode == 2 and "Traceback" not in result.stderr
            assert not report.exists() and not baseline.exists()


def test_written_files_honour_the_umask(tmp_path: Path) -> None:
    script = (
        "import os, sys; os.umask(0o022); sys.argv = ['kgen', *sys.argv[1:]]; from kgen.cli import main; main()"
    )
    runs = [
        ["lint", str(FAIL), "--format", "sarif", "-o", str(tmp_path / "a.sarif")],
        ["lint", str(FAIL), "--write-baseline", str(tmp_path / "b.json")],
        ["init", str(tmp_path / "kgen.yaml")],
    ]
    for args in runs:
        subprocess.run([sys.executable, "-c", script, *args], capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in tmp_path.iterdir()}
    assert modes == {"a.sarif": 0o644, "b.json": 0o644, "kgen.yaml": 0o644}


def test_baseline_counts_hidden_findings_and_lists_gone_entries_readably(project: Path) -> None:
    kgen("lint", "deploy", "--write-baseline", "baseline.json", cwd=project)
    hidden = kgen("lint", "deploy", "--baseline", "baseline.json", cwd=project)
    count = len(json.loads((project / "baseline.json").read_text())["findings"])
    assert hidden.returncode == 0 and f"no problems in 1 file, 1 object ({count} baselined, built-in policy)" in hidden.stdout
    (project / "deploy" / "agent.yaml").write_text(FAIL.read_text().replace("privileged: true", "privileged: false"))
    fixed = kgen("lint", "deploy", "--baseline", "baseline.json", cwd=project)
    assert "baseline entry no longer occurs: security-privileged Deployment node-agent spec.template.spec.containers[0].securityContext.privileged" in fixed.stdout
    assert "{" not in fixed.stdout


def test_objects_are_named_kind_namespace_name(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(FAIL.read_text().replace("  name: node-agent\n", "  name: node-agent\n  namespace: infra\n"))
    assert "  Deployment infra/node-agent\n" in kgen("lint", str(path)).stdout


def test_readme_text_output_is_real_output() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("$ kgen lint fixtures/examples/\n")
    shown = readme[start : readme.index("```", start)].split("\n", 1)[1]
    assert kgen("lint", "fixtures/examples/", cwd=ROOT).stdout == shown


def test_shell_completion_as_documented() -> None:
    script = kgen(env={"_KGEN_COMPLETE": "bash_source"})
    assert script.returncode == 0 and "_kgen_completion()" in script.stdout
    words = kgen(env={"_KGEN_COMPLETE": "bash_complete", "COMP_WORDS": "kgen li", "COMP_CWORD": "1"})
    assert "lint" in words.stdout
    assert '"$(_KGEN_COMPLETE=bash_source kgen)"' in (ROOT / "README.md").read_text()


def test_starter_spec_header_names_an_environment_it_has(tmp_path: Path) -> None:
    kgen("init", str(tmp_path / "kgen.yaml"))
    text = (tmp_path / "kgen.yaml").read_text()
    named = re.findall(r"--env (\w+)", text)
    assert named and set(named) <= set(yaml.safe_load(text)["environments"])


# --- CI outputs ----------------------------------------------------------------------------------


def _sarif_uris(result: subprocess.CompletedProcess, path: Path) -> set[tuple[str, str]]:
    assert result.returncode == 1, result.stderr
    log = json.loads(path.read_text())
    return {
        (loc["physicalLocation"]["artifactLocation"]["uri"], loc["physicalLocation"]["artifactLocation"].get("uriBaseId", ""))
        for res in log["runs"][0]["results"]
        for loc in res["locations"]
    }


def test_sarif_uris_are_relative_to_the_repository_root(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "kgen.sarif"
    manifest = project / "deploy" / "agent.yaml"
    (project / "other").mkdir()
    runs = [
        kgen("lint", "deploy/agent.yaml", "--format", f"sarif={out}", cwd=project),
        kgen("lint", "agent.yaml", "--format", f"sarif={out}", cwd=project / "deploy"),
        kgen("lint", "../deploy/agent.yaml", "--format", f"sarif={out}", cwd=project / "other"),
        kgen("lint", str(manifest), "--format", f"sarif={out}", cwd=tmp_path),
        kgen("lint", str(project / "deploy"), "--format", f"sarif={out}", cwd="/"),
    ]
    for result in runs:
        assert _sarif_uris(result, out) == {("deploy/agent.yaml", "%SRCROOT%")}


def test_sarif_rules_carry_help_uri_and_security_severity() -> None:
    result = kgen("lint", str(FAIL), "--format", "sarif")
    rules = json.loads(result.stdout)["runs"][0]["tool"]["driver"]["rules"]
    assert all(rule["helpUri"].startswith("https://") for rule in rules)
    assert all(0 < float(rule["properties"]["security-severity"]) <= 10 for rule in rules)


def test_sarif_and_junit_name_the_environment() -> None:
    def finding(env: str) -> Finding:
        ref = {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"}
        return Finding("probe-liveness-missing", "probes", "warning", "no livenessProbe", "kgen.yaml", 7, 5, ref, "spec", env)

    report = LintReport([finding("prod"), finding("staging")], 1, 2, [all_rules()["probe-liveness-missing"]])
    results = json.loads(render(report, "sarif"))["runs"][0]["results"]
    assert [r["message"]["text"] for r in results] == ["no livenessProbe [prod]", "no livenessProbe [staging]"]
    assert len({r["partialFingerprints"]["kgenObjectPath/v1"] for r in results}) == 2
    assert "[prod]" in render(report, "junit") and "[staging]" in render(report, "junit")


def test_github_step_summary_is_appended(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    result = kgen("lint", str(FAIL), "--format", "github", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 1
    text = summary.read_text()
    assert text.startswith("earlier step\n## kgen lint\n")
    assert "| `security-privileged` | error | 1 |" in text
    assert "\n12 findings (1 error, 9 warnings, 2 info) in 1 file, 1 object\n" in text  # plurals as English has them
    rows = [line for line in text.splitlines() if line.startswith("| `") and ".yaml:" in line]
    assert rows[0].split(" | ")[1] == "error"
    assert kgen("lint", str(FAIL), env={"GITHUB_STEP_SUMMARY": str(summary)}).returncode == 1
    assert summary.read_text() == text  # only --format github writes the summary
