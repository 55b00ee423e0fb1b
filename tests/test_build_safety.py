"""kgen build never leaves a half-done or someone else's output: kills, locks, ownership, read-only paths.

The kill tests are the hard way: real build processes killed with SIGKILL at many seeded
points (at the Nth file-system step, and after random delays), each followed by the next
kgen run, after which the folder must hold exactly the old or exactly the new output.
"""

from __future__ import annotations

import builtins
import os
import random
import select
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import kgen.generator.build as build_module
import kgen.transaction as transaction
from kgen.errors import InputError
from kgen.generator.build import RECORD, build

from .conftest import FIXTURES, ROOT, run_kgen

WEB = FIXTURES / "specs" / "web.yaml"
KILL_POINTS = 40
_COUNTED_OS_CALLS = ("replace", "rename", "unlink", "rmdir", "mkdir", "fsync", "chmod")


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def generated(root: Path) -> dict[str, bytes]:
    return {name: data for name, data in tree(root).items() if name != RECORD}


@pytest.fixture()
def two_versions(tmp_path: Path) -> tuple[Path, Path]:
    """The web spec and a new version of it: new image tag (files change), staging renamed qa (files go and come)."""
    old = tmp_path / "old" / "web.yaml"
    new = tmp_path / "new" / "web.yaml"
    old.parent.mkdir()
    new.parent.mkdir()
    shutil.copy(WEB, old)
    new.write_text(WEB.read_text().replace("shop-api:1.8.0", "shop-api:1.8.1").replace("\n  staging:\n", "\n  qa:\n"))
    return old, new


def _expected_trees(tmp_path: Path, old: Path, new: Path) -> tuple[dict[str, bytes], dict[str, bytes]]:
    build(str(old), str(tmp_path / "expect-old"))
    build(str(new), str(tmp_path / "expect-new"))
    return generated(tmp_path / "expect-old"), generated(tmp_path / "expect-new")


def _build_in_child(step: int, spec: Path, out: Path) -> tuple[bool, int]:
    """Build in a forked process that SIGKILLs itself at its ``step``-th file-system change (0: never).

    Returns whether it was killed, and how many changes it made when it was not.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: count every mutating call, die at the chosen one
        try:
            os.close(read_end)
            count = [0]

            def counted(original):  # noqa: ANN001, ANN202
                def call(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
                    count[0] += 1
                    if count[0] == step:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return original(*args, **kwargs)
                return call

            for name in _COUNTED_OS_CALLS:
                setattr(os, name, counted(getattr(os, name)))
            writing_open = counted(builtins.open)
            transaction.open = lambda path, mode="r", *a, **k: (writing_open if "w" in mode else builtins.open)(path, mode, *a, **k)  # type: ignore[attr-defined]
            build(str(spec), str(out))
            os.write(write_end, str(count[0]).encode())
            os._exit(0)
        finally:
            os._exit(3)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_end) as report:
        steps = int(report.read() or 0)
    assert not os.WIFEXITED(status) or os.WEXITSTATUS(status) == 0, "the build failed instead of being killed"
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, steps


def _settled(out: Path, old: Path, new: Path, old_tree: dict, new_tree: dict) -> str:
    """Run kgen once more (a --check), then say which complete output the folder holds."""
    build(str(new), str(out), check=True)  # the next kgen invocation completes or rolls back
    assert not transaction.leftovers(str(out)), "staging or journal survived the next run"
    now = generated(out)
    assert now in (old_tree, new_tree), "mixed output: " + ", ".join(sorted(n for n in set(now) | set(new_tree) if now.get(n) not in (old_tree.get(n), new_tree.get(n))))
    state, spec = ("new", new) if now == new_tree else ("old", old)
    check = build(str(spec), str(out), check=True)
    assert not check.stale and not check.edited, f"the ownership record does not match the {state} output"
    return state


def test_sigkill_at_every_kind_of_file_system_step_leaves_old_or_new(tmp_path: Path, two_versions: tuple[Path, Path]) -> None:
    old, new = two_versions
    old_tree, new_tree = _expected_trees(tmp_path, old, new)
    probe = tmp_path / "probe"
    shutil.copytree(tmp_path / "expect-old", probe, symlinks=True)
    _, steps = _build_in_child(0, new, probe)
    assert steps > 50  # staging, journal, renames, removals, clean-up
    chosen = sorted(random.Random(15).sample(range(1, steps + 1), min(KILL_POINTS, steps)))
    outcomes = {"old": 0, "new": 0}
    for step in chosen:
        out = tmp_path / f"out-{step}"
        shutil.copytree(tmp_path / "expect-old", out, symlinks=True)
        killed, _ = _build_in_child(step, new, out)
        assert killed
        outcomes[_settled(out, old, new, old_tree, new_tree)] += 1
        shutil.rmtree(out)
    print(f"kill points: {len(chosen)} of {steps} steps -> {outcomes}")
    assert outcomes["old"] and outcomes["new"]  # kills landed on both sides of the commit point


def test_sigkill_of_real_build_processes_after_random_delays(tmp_path: Path, two_versions: tuple[Path, Path]) -> None:
    old, new = two_versions
    old_tree, new_tree = _expected_trees(tmp_path, old, new)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "out"
    build(str(old), str(out))
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "kgen", "build", str(new), "-o", str(tmp_path / "timing")], env=env, check=True, capture_output=True)
    whole = time.monotonic() - started
    rng = random.Random(1515)
    outcomes = {"old": 0, "new": 0}
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-m", "kgen", "build", str(new), "-o", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.4, 1.1) * whole)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        outcomes[_settled(out, old, new, old_tree, new_tree)] += 1
        build(str(old), str(out))  # back to the old output for the next round
    print(f"timed kills: 12 -> {outcomes}")


def test_interrupted_leftovers_are_completed_or_removed_by_check(tmp_path: Path, two_versions: tuple[Path, Path]) -> None:
    old, _ = two_versions
    out = tmp_path / "out"
    build(str(old), str(out))
    (out / ".kgen-stage-x1").mkdir()
    (out / ".kgen-stage-x1" / "0").write_text("half")
    shutil.copytree(out / "manifests", out / ".kgen-build-abc123" / "manifests")  # left by kgen before the journal
    result = run_kgen("build", str(old), "-o", str(out), "--check")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [RECORD, "helm", "kustomize", "manifests"]


def test_a_second_build_waits_for_the_lock(tmp_path: Path, two_versions: tuple[Path, Path]) -> None:
    old, new = two_versions
    out = tmp_path / "out"
    build(str(old), str(out))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with transaction.locked(str(out)):
        proc = subprocess.Popen([sys.executable, "-m", "kgen", "build", str(new), "-o", str(out)], env=env, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        ready, _, _ = select.select([proc.stderr], [], [], 120)
        assert ready, "the second build neither waited nor said so"
        assert "waiting for another kgen build to finish" in proc.stderr.readline()
        assert proc.poll() is None and (out / "manifests" / "staging.yaml").exists()  # it writes nothing while waiting
    assert proc.wait(120) == 0
    assert not (out / "manifests" / "staging.yaml").exists() and (out / "manifests" / "qa.yaml").exists()


def test_concurrent_builds_leave_one_complete_output(tmp_path: Path, two_versions: tuple[Path, Path]) -> None:
    old, new = two_versions
    old_tree, new_tree = _expected_trees(tmp_path, old, new)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "kgen", "build", str(spec), "-o", str(out)], env=env, stderr=subprocess.PIPE)
             for spec in (old, new, old, new)]
    assert [p.wait(300) for p in procs] == [0, 0, 0, 0], [p.stderr.read() for p in procs if p.stderr]
    assert generated(out) in (old_tree, new_tree)


def _other_app(tmp_path: Path, envs: str) -> Path:
    spec = yaml.safe_load(WEB.read_text())
    spec["metadata"]["name"] = "billing"
    spec["environments"] = {env: {"namespace": f"billing-{env}"} for env in envs.split()}
    path = tmp_path / "billing" / "kgen.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(spec))
    return path


def test_two_specs_share_an_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    billing = _other_app(tmp_path, "qa perf")
    assert run_kgen("build", str(WEB), "-o", str(out), "--target", "helm,manifests").returncode == 0
    shop = generated(out)
    result = run_kgen("build", str(billing), "-o", str(out), "--target", "helm,manifests")
    assert result.returncode == 0 and "0 removed" in result.stderr
    both = generated(out)
    assert {n: d for n, d in both.items() if n in shop} == shop and (out / "manifests" / "qa.yaml").exists()
    # the shop drops an environment: only its own file goes
    fewer = tmp_path / "shop" / "web.yaml"
    fewer.parent.mkdir()
    fewer.write_text(WEB.read_text().replace("\n  staging:\n", "\n  perf2:\n"))
    result = run_kgen("build", str(fewer), "-o", str(out), "--target", "helm,manifests")
    assert result.returncode == 0, result.stderr
    assert not (out / "manifests" / "staging.yaml").exists() and (out / "manifests" / "perf.yaml").exists()
    assert all((out / name).read_bytes() == data for name, data in both.items() if name.startswith(("helm/billing/", "manifests/qa", "manifests/perf.")))


def test_another_specs_files_are_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(str(WEB), str(out))
    before = tree(out)
    result = run_kgen("build", str(_other_app(tmp_path, "dev")), "-o", str(out))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "refusing to overwrite kustomize/base/kustomization.yaml (generated from another spec: app 'shop' (web.yaml))" in result.stderr
    assert tree(out) == before


def test_read_only_paths_are_refused_up_front(tmp_path: Path, two_versions: tuple[Path, Path]) -> None:
    old, new = two_versions
    out = tmp_path / "out"
    build(str(old), str(out))
    before = tree(out)
    values = out / "helm" / "shop" / "values.yaml"
    values.chmod(0o444)
    result = run_kgen("build", str(new), "-o", str(out))
    assert result.returncode == 2 and "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert "helm/shop/values.yaml (read-only file)" in result.stderr and tree(out) == before
    values.chmod(0o644)
    (out / "manifests").chmod(0o555)
    try:
        result = run_kgen("build", str(new), "-o", str(out))
        assert result.returncode == 2 and "manifests/ (read-only folder)" in result.stderr and tree(out) == before
    finally:
        (out / "manifests").chmod(0o755)


def test_a_symlink_at_a_generated_path_is_refused_before_anything_is_written(tmp_path: Path, two_versions: tuple[Path, Path]) -> None:
    old, new = two_versions
    out = tmp_path / "out"
    build(str(old), str(out))
    outside = tmp_path / "outside.yaml"
    outside.write_text("precious\n")
    (out / "manifests" / "prod.yaml").unlink()
    (out / "manifests" / "prod.yaml").symlink_to(outside)
    before = tree(out)
    result = run_kgen("build", str(new), "-o", str(out))
    assert result.returncode == 2 and "refusing to write manifests/prod.yaml: it resolves outside the output directory" in result.stderr
    assert tree(out) == before and outside.read_text() == "precious\n"


def test_a_symlink_inside_or_a_file_where_a_folder_goes_is_refused(tmp_path: Path, two_versions: tuple[Path, Path]) -> None:
    old, new = two_versions
    out = tmp_path / "out"
    build(str(old), str(out))
    (out / "manifests" / "prod.yaml").unlink()
    (out / "manifests" / "prod.yaml").symlink_to("dev.yaml")
    shutil.rmtree(out / "kustomize" / "overlays")
    (out / "kustomize" / "overlays").write_text("not a folder\n")
    before = tree(out)
    result = run_kgen("build", str(new), "-o", str(out), "--force")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "manifests/prod.yaml (not a regular file)" in result.stderr
    (out / "manifests" / "prod.yaml").unlink()
    result = run_kgen("build", str(new), "-o", str(out), "--force")
    assert result.returncode == 2 and "kustomize/overlays (not a folder, but kgen writes files inside it)" in result.stderr
    assert not transaction.leftovers(str(out))
    assert tree(out) == {name: data for name, data in before.items() if name != "manifests/prod.yaml"}


def test_modes_follow_the_umask_and_replaced_files_keep_theirs(tmp_path: Path, two_versions: tuple[Path, Path]) -> None:
    old, new = two_versions
    out = tmp_path / "out"
    previous = os.umask(0o027)
    try:
        build(str(old), str(out))
        values = out / "helm" / "shop" / "values.yaml"
        assert stat.S_IMODE(values.stat().st_mode) == 0o640
        (out / "manifests" / "prod.yaml").chmod(0o600)
        build(str(new), str(out))
    finally:
        os.umask(previous)
    assert stat.S_IMODE((out / "manifests" / "prod.yaml").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "manifests" / "qa.yaml").stat().st_mode) == 0o640


def test_output_with_a_lint_error_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last guard: should the generator ever emit an error-level object, nothing is written."""
    real = build_module.build_objects
    build(str(WEB), str(tmp_path / "current"))
    before = tree(tmp_path / "current")

    def privileged(model: dict) -> list[dict]:
        objects = real(model)
        for obj in objects:
            if obj["kind"] == "Deployment":
                obj["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
        return objects

    monkeypatch.setattr(build_module, "build_objects", privileged)
    with pytest.raises(InputError, match=r"the generated output would fail kgen lint .*\[dev\] Deployment/shop-api .*security-privileged"):
        build(str(WEB), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputError, match="the generated output would fail kgen lint"):
        build(str(WEB), str(tmp_path / "current"))
    assert tree(tmp_path / "current") == before
    assert build(str(WEB), str(tmp_path / "current"), check=True).stale  # --check reports the difference, writes nothing


def test_no_violation_is_more_severe_than_its_rule() -> None:
    """What lets the lint guard skip rules below error: checked on every rule's failing fixture."""
    from kgen.findings import SEVERITY_RANK
    from kgen.policies.catalog import all_rules

    from .conftest import RULE_FIXTURES, lint_files

    rules = all_rules()
    for fail in sorted(RULE_FIXTURES.glob("*/fail*.yaml")):
        for finding in lint_files(fail).findings:
            assert SEVERITY_RANK[finding.severity] <= SEVERITY_RANK[rules[finding.rule].severity], (fail, finding.rule)


def test_a_journal_that_cannot_complete_says_why_and_is_kept(tmp_path: Path, two_versions: tuple[Path, Path]) -> None:
    old, new = two_versions
    out = tmp_path / "out"
    build(str(old), str(out))
    stage = out / ".kgen-stage-t1"
    stage.mkdir()
    (stage / "0").write_text("new\n")
    (out / "manifests").rename(out / "saved")
    (out / "manifests").write_text("a file where the journal needs a folder\n")
    (out / transaction.JOURNAL).write_text('{"stage": ".kgen-stage-t1", "moves": [["0", "manifests/dev.yaml"]], "removals": []}')
    result = run_kgen("build", str(old), "-o", str(out))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot complete the interrupted build recorded in .kgen-journal.json" in result.stderr
    assert (out / transaction.JOURNAL).exists() and (stage / "0").exists()
    (out / "manifests").unlink()
    (out / "saved").rename(out / "manifests")
    assert run_kgen("build", str(old), "-o", str(out), "--check").returncode == 1  # completed: dev.yaml now holds "new"
    assert (out / "manifests" / "dev.yaml").read_text() == "new\n" and not transaction.leftovers(str(out))
