"""`kgen capacity` end to end, in a new process as a user runs it."""

from __future__ import annotations

import json

from tests.conftest import FIXTURES, ROOT, run_kgen

WORKLOADS = FIXTURES / "capacity" / "workloads.yaml"
POLICY = FIXTURES / "capacity" / "policy.yaml"


def test_text_report() -> None:
    result = run_kgen("capacity", str(WORKLOADS), "--policy", str(POLICY))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "\033[" not in out  # no colour or bars off a terminal
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("NAMESPACE"))
    assert header.split() == ["NAMESPACE", "QUOTA", "RESOURCE", "PEAK", "HARD", "USE", "LARGEST"]
    gpu_quota = next(line for line in lines if "requests.nvidia.com/gpu" in line)
    assert gpu_quota.split()[:6] == ["ml", "policy", "requests.nvidia.com/gpu", "36", "12", "300%"]
    assert gpu_quota.index("36") == header.index("PEAK")  # aligned columns
    pool_gpu = next(line for line in lines if line.startswith("a100") and "nvidia.com/gpu" in line and "Deployment" not in line)
    assert pool_gpu.split()[:6] == ["a100", "2", "nvidia.com/gpu", "20", "16", "125%"]
    llm = next(line for line in lines if "Deployment/llm" in line and line.startswith("a100"))
    assert llm.split()[-4:] == ["6", "6", "4", "8"]  # peak, placed, per node, fit
    assert "Pod/too-big" in out.split("Workloads no pool can run")[1]


def test_json_report() -> None:
    result = run_kgen("capacity", str(WORKLOADS), "--policy", str(POLICY), "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    ml = next(n for n in document["namespaces"] if n["namespace"] == "ml")
    cpu = next(q for q in ml["quotas"] if q["resource"] == "requests.cpu")
    assert (cpu["peak"], cpu["hard"], cpu["exceeded"], cpu["percent"]) == ("80", "64", True, 125.0)
    assert cpu["contributors"][0] == {
        "object": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "ml", "name": "llm"},
        "amount": "48", "replicas": 6, "perUnit": "8",
    }  # fmt: skip
    shop = next(n for n in document["namespaces"] if n["namespace"] == "shop")
    assert {q["quota"] for q in shop["quotas"]} == {"ResourceQuota/shop"}
    pools = {p["name"]: p for p in document["nodePools"]}
    general_cpu = next(r for r in pools["general"]["resources"] if r["resource"] == "cpu")
    assert (general_cpu["demand"], general_cpu["supply"]) == ("5", "64")  # 6 x 500m web + 4 x 500m agent
    fits = {w["object"]["name"]: (w["peak"], w["fit"]) for w in pools["a100"]["gpuWorkloads"]}
    assert fits == {"llm": (6, 8), "finetune": (1, 2)}
    assert [u["object"]["name"] for u in document["unschedulable"]] == ["too-big"]


def test_bad_input_is_one_line_and_exit_2(tmp_path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [unclosed\n")
    result = run_kgen("capacity", str(broken), "--policy", str(POLICY))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    missing = run_kgen("capacity", str(WORKLOADS), "--policy", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_without_policy_sections_says_what_is_missing() -> None:
    result = run_kgen("capacity", str(WORKLOADS))
    assert result.returncode == 0, result.stderr
    assert "no node pools in the policy" in result.stdout
    assert "ResourceQuota/shop" in result.stdout  # quotas in the input still count


def test_readme_excerpt_is_real_output() -> None:
    """Every line of the README's capacity excerpt stands in the real output, in that order."""
    readme = (ROOT / "README.md").read_text()
    command = "kgen capacity fixtures/examples --policy fixtures/policies/example-cluster.yaml\n```\n```\n"
    start = readme.index(command) + len(command)
    shown = [line for line in readme[start : readme.index("```", start)].splitlines() if line != "..."]
    printed = run_kgen("capacity", "fixtures/examples", "--policy", "fixtures/policies/example-cluster.yaml", cwd=ROOT).stdout.splitlines()
    positions = [printed.index(line) for line in shown]
    assert positions == sorted(positions)
