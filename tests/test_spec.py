"""The app spec: schema and semantic errors with lines, environment merging, derived objects."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from kgen.errors import InputError
from kgen.generator.model import app_model, fit_name
from kgen.generator.objects import build_objects
from kgen.generator.spec import SpecError, load_spec
from kgen.generator.validation import spec_problems, validated_spec
from kgen.merge import deep_merge, merge_patch
from tests.conftest import SHOP_SPEC as BASE


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "kgen.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def errors(tmp_path: Path, text: str) -> list[str]:
    spec = load_spec(write(tmp_path, text))
    return [p.format("kgen.yaml") for p in spec_problems(spec)]


def objects(tmp_path: Path, text: str, env: str | None = None) -> dict[tuple[str, str], dict]:
    spec = validated_spec(write(tmp_path, text))
    env = env or spec.environment_names()[0]
    return {(o["kind"], o["metadata"]["name"]): o for o in build_objects(app_model(spec, env))}


def test_the_base_spec_is_valid(tmp_path: Path) -> None:
    assert errors(tmp_path, BASE) == []


def test_schema_error_names_line_and_path(tmp_path: Path) -> None:
    text = BASE + "    autoscaling: {min: 0, max: 4, cpu: 70}\n"
    assert errors(tmp_path, text) == ["kgen.yaml:11: components.api.autoscaling.min: must be >= 1"]


def test_unknown_keys_are_errors_except_x_keys(tmp_path: Path) -> None:
    assert errors(tmp_path, BASE + "    replica: 2\n") == [
        "kgen.yaml:11: components.api.replica: unknown key 'replica' (did you mean 'replicas'? keys starting with x- are free-form)"
    ]
    assert errors(tmp_path, BASE + "    x-owner: team-a\n") == []


def test_required_fields_are_checked_after_merging(tmp_path: Path) -> None:
    text = BASE.replace("    image: ghcr.io/acme/api:1.0.0\n", "")
    assert errors(tmp_path, text) == ["kgen.yaml:6: components.api: 'image' is required"]
    # an image from defaults is enough
    assert errors(tmp_path, text.replace("components:\n", "defaults: {image: ghcr.io/acme/x:1}\ncomponents:\n")) == []


def test_invalid_names(tmp_path: Path) -> None:
    found = errors(tmp_path, BASE.replace("  api:", "  Api_1:"))
    assert found and found[0].startswith("kgen.yaml:6: components.Api_1: 'Api_1' is not a valid name")
    found = errors(tmp_path, BASE.replace("name: shop", "name: " + "a" * 41))
    assert found == ["kgen.yaml:4: metadata.name: must be at most 40 characters"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("    autoscaling: {max: 4, cpu: 70}\n    keda: {max: 3, triggers: [{type: cpu, metadata: {value: '50'}}]}\n",
         "components.api.keda: autoscaling (HPA) and keda are exclusive"),
        ("    autoscaling: {max: 4}\n", "components.api.autoscaling: needs a target"),
        ("    autoscaling: {min: 5, max: 4, cpu: 60}\n", "components.api.autoscaling.min: must be <= autoscaling.max (4)"),
        ("    ingress: {host: shop.example.com, port: admin}\n", "components.api.ingress.port: no port named 'admin'"),
        ("    ingress: {host: shop.example.com, tls: {issuer: le, secretName: shop-tls}}\n",
         "components.api.ingress.tls: tls.issuer and tls.secretName are exclusive"),
        ("    storage: {data: {mountPath: /data, size: 1Gi}}\n    replicas: 2\n",
         "components.api.storage.data: a ReadWriteOnce volume allows one pod: at most 1 replica (found 2)"),
        ("    env: {DB_PASSWORD: hunter2}\n", "components.api.env.DB_PASSWORD: looks like a secret but has a literal value (value redacted): a spec holds references only; put the value in a Secret and write DB_PASSWORD: {secretRef: {name: SECRET, key: KEY}}"),
        ("    gpu: {count: 1}\n    schedule: '0 1 * * *'\n", "components.api.schedule: only a cronjob has a schedule"),
        ("    probes: {readiness: {http: {path: /x}, tcp: {}}}\n", "components.api.probes.readiness: needs exactly one of http, tcp, grpc, exec"),
        ("    storage: {dshm: {mountPath: /x, emptyDir: {}}}\n", "components.api.storage.dshm: 'dshm' is the name of a volume kgen adds itself"),
        ("    labels: {app.kubernetes.io/component: x}\n", "is set by kgen (selectors rely on it)"),
        ("    networkPolicy: {allowComponents: [nope]}\n", "components.api.networkPolicy.allowComponents: no component named 'nope'"),
    ],
)
def test_semantic_errors(tmp_path: Path, extra: str, expected: str) -> None:
    found = errors(tmp_path, BASE + extra)
    assert any(expected in line for line in found), found


def test_cpu_autoscaling_needs_an_explicit_cpu_request(tmp_path: Path) -> None:
    text = BASE.replace("    resources: {cpu: 100m, memory: 128Mi}\n", "") + "    autoscaling: {max: 4, cpu: 70}\n"
    assert errors(tmp_path, text) == [
        "kgen.yaml:10: components.api.autoscaling.cpu: cpu autoscaling needs a cpu request: set resources.cpu"
    ]


def test_cronjob_rules(tmp_path: Path) -> None:
    text = BASE.replace("    image:", "    kind: cronjob\n    schedule: '0 2 * *'\n    image:")
    found = errors(tmp_path, text)
    assert "kgen.yaml:8: components.api.schedule: '0 2 * *' is not a 5-field cron schedule (minute hour day month weekday)" in found
    assert any("components.api.ports: a cronjob has no ports" in line for line in found)
    assert any("a cronjob cannot be autoscaled" in line for line in errors(tmp_path, text.replace("'0 2 * *'", "'0 2 * * *'") + "    autoscaling: {max: 2, cpu: 50}\n"))


def test_gpu_component_must_declare_cpu_and_memory_itself(tmp_path: Path) -> None:
    text = BASE.replace("    resources: {cpu: 100m, memory: 128Mi}\n", "    gpu: {count: 1}\n").replace(
        "components:\n", "defaults: {resources: {cpu: 1, memory: 1Gi}}\ncomponents:\n")
    found = errors(tmp_path, text)
    assert any("a GPU component must declare resources.cpu itself" in line for line in found), found


def test_environment_problems_point_at_the_override(tmp_path: Path) -> None:
    text = BASE + textwrap.dedent("""\
        environments:
          prod:
            components:
              api:
                replicas: -1
              worker: {replicas: 2}
        """)
    found = errors(tmp_path, text)
    assert "kgen.yaml:15: environments.prod.components.api.replicas: must be >= 0" in found
    assert found[-1].startswith("kgen.yaml:16: environments.prod.components.worker: no component named 'worker'")


def test_semantic_error_only_in_one_environment_says_which(tmp_path: Path) -> None:
    text = BASE + "    ingress: {host: a.example.com}\n  web:\n    image: x/web:1\n    ports: {http: {port: 80}}\n    ingress: {host: b.example.com}\n" + textwrap.dedent("""\
        environments:
          prod:
            components:
              web: {ingress: {host: a.example.com}}
        """)
    # the override wrote the value: its path says which environment
    assert errors(tmp_path, text) == [
        "kgen.yaml:19: environments.prod.components.web.ingress.host: host 'a.example.com' path '/' is already used by component 'api'"
    ]
    text = BASE + "    storage: {data: {mountPath: /data, size: 1Gi}}\n" + textwrap.dedent("""\
        environments:
          dev: {}
          prod:
            components:
              api: {replicas: 3}
        """)
    # the base wrote the volume, the environment the replicas: the message names the environment
    assert errors(tmp_path, text) == [
        "kgen.yaml:11: components.api.storage.data: a ReadWriteOnce volume allows one pod: at most 1 replica (found 3); "
        "use ReadWriteMany or drop the extra replicas (in environment prod)"
    ]


def test_spec_error_lists_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "    replicas: -1\n    foo: 1\n")
    with pytest.raises(SpecError) as caught:
        validated_spec(path)
    assert len(caught.value.problems) == 2
    assert str(caught.value).count("\n") == 1


def test_not_a_spec(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="exactly one document"):
        load_spec(write(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"))
    with pytest.raises(InputError) as caught:
        load_spec(write(tmp_path, "apiVersion: kgen.dev/v1alpha1\nkind: App\nmetadata: {name: [\n"))
    assert caught.value.line


def test_environment_merge_and_deletion(tmp_path: Path) -> None:
    text = BASE + textwrap.dedent("""\
          worker:
            kind: worker
            image: ghcr.io/acme/worker:1.0.0
            env: {MODE: fast, LEVEL: 2}
        environments:
          dev:
            imageTag: "2.0"
            components:
              api: {replicas: 3, resources: {memory: 256Mi}}
              worker: null
          prod:
            components:
              worker: {env: {MODE: null, EXTRA: "yes"}}
        """)
    dev = objects(tmp_path, text, "dev")
    api = dev[("Deployment", "shop-api")]
    assert api["spec"]["replicas"] == 3
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/acme/api:2.0"
    assert container["resources"] == {"limits": {"memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "256Mi"}}
    assert ("Deployment", "shop-worker") not in dev
    prod = objects(tmp_path, text, "prod")
    env = prod[("Deployment", "shop-worker")]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "EXTRA", "value": "yes"}, {"name": "LEVEL", "value": "2"}]  # sorted by name


def test_safe_defaults(tmp_path: Path) -> None:
    found = objects(tmp_path, BASE.replace("    resources: {cpu: 100m, memory: 128Mi}\n", ""))
    deployment = found[("Deployment", "shop-api")]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"] == {"limits": {"memory": "128Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}
    assert container["readinessProbe"] == {"tcpSocket": {"port": "http"}}
    assert "livenessProbe" not in container
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["automountServiceAccountToken"] is False
    assert found[("ServiceAccount", "shop-api")]["automountServiceAccountToken"] is False
    assert deployment["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "shop", "app.kubernetes.io/instance": "shop", "app.kubernetes.io/component": "api",
    }
    assert ("PodDisruptionBudget", "shop-api") not in found  # one replica


def test_autoscaled_workload_has_no_replicas_and_gets_a_pdb(tmp_path: Path) -> None:
    found = objects(tmp_path, BASE + "    replicas: 5\n    autoscaling: {min: 2, max: 8, cpu: 70}\n")
    assert "replicas" not in found[("Deployment", "shop-api")]["spec"]
    hpa = found[("HorizontalPodAutoscaler", "shop-api")]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 8)
    assert found[("PodDisruptionBudget", "shop-api")]["spec"]["maxUnavailable"] == 1


def test_rwo_volume_forces_recreate(tmp_path: Path) -> None:
    found = objects(tmp_path, BASE + "    storage: {data: {mountPath: /data, size: 1Gi}}\n")
    assert found[("Deployment", "shop-api")]["spec"]["strategy"] == {"type": "Recreate"}
    assert found[("PersistentVolumeClaim", "shop-api-data")]["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_configuration_change_renames_the_config_map(tmp_path: Path) -> None:
    one = objects(tmp_path, BASE + "    config: {data: {A: '1'}}\n")
    two = objects(tmp_path, BASE + "    config: {data: {A: '2'}}\n")
    name_one = next(n for k, n in one if k == "ConfigMap")
    name_two = next(n for k, n in two if k == "ConfigMap")
    assert name_one != name_two and name_one.startswith("shop-api-")
    env_from = one[("Deployment", "shop-api")]["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert env_from == [{"configMapRef": {"name": name_one}}]


GPU = BASE.replace("    resources: {cpu: 100m, memory: 128Mi}\n", "    resources: {cpu: '4', memory: 16Gi}\n")


@pytest.mark.parametrize(
    ("gpu", "resource"),
    [("{count: 2}", "nvidia.com/gpu"), ("{mig: 1g.10gb}", "nvidia.com/mig-1g.10gb"), ("{sharing: true}", "nvidia.com/gpu.shared")],
)
def test_gpu_resources(tmp_path: Path, gpu: str, resource: str) -> None:
    pod = objects(tmp_path, GPU + f"    gpu: {gpu}\n")[("Deployment", "shop-api")]["spec"]["template"]["spec"]
    resources = pod["containers"][0]["resources"]
    assert resources["limits"][resource] == resources["requests"][resource] == (2 if "count" in gpu else 1)
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]


def test_gpu_placement_shm_and_startup_budget(tmp_path: Path) -> None:
    text = GPU + "    gpu: {product: NVIDIA-L4, minMemoryMiB: 20000, shm: 2Gi, runtimeClassName: nvidia}\n"
    pod = objects(tmp_path, text)[("Deployment", "shop-api")]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "nvidia.com/gpu.memory", "operator": "Gt", "values": ["19999"]}]}]
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}} in pod["volumes"]
    container = pod["containers"][0]
    assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600
    assert pod["runtimeClassName"] == "nvidia"


def test_long_names_are_shortened_by_a_stable_hash(tmp_path: Path) -> None:
    long = "a-component-with-a-really-quite-long-descriptive-name"
    assert fit_name("x" * 63) == "x" * 63
    short = fit_name("shop-" + long, 52)
    assert len(short) <= 52 and short == fit_name("shop-" + long, 52) and short != fit_name("shop-" + long + "s", 52)
    text = BASE.replace("  api:", f"  {long}:") + "    keda: {max: 3, triggers: [{type: cpu, metadata: {value: '50'}}]}\n"
    text = text.replace("name: shop", "name: storefront-recommendations")
    for (kind, name), _ in objects(tmp_path, text).items():
        assert len(name) <= (54 if kind == "ScaledObject" else 63), (kind, name)


JSON = st.recursive(
    st.one_of(st.integers(), st.text(max_size=3), st.booleans(), st.lists(st.integers(), max_size=2)),
    lambda children: st.dictionaries(st.text("abc", max_size=2), children, max_size=3),
    max_leaves=12,
)
MAPS = st.dictionaries(st.text("abc", max_size=2), JSON, max_size=4)


@settings(max_examples=300, deadline=None)
@given(MAPS, MAPS)
def test_merge_patch_inverts_deep_merge(base: dict, target: dict) -> None:
    """values-<env>.yaml = merge_patch(base, env) must give the environment back under Helm's merge."""
    assert deep_merge(base, merge_patch(base, target)) == target


@settings(max_examples=300, deadline=None)
@given(MAPS, MAPS)
def test_deep_merge_semantics(base: dict, override: dict) -> None:
    merged = deep_merge(base, override)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            assert merged[key] == deep_merge(base[key], value)
        else:
            assert merged[key] == value  # lists and scalars replace
    for key in base.keys() - override.keys():
        assert merged[key] == base[key]
    deleting = {key: None for key in base}
    assert deep_merge(base, deleting) == {}


def test_image_tag_for_every_component_or_for_some(tmp_path: Path) -> None:
    text = BASE + "  cache:\n    kind: worker\n    image: docker.io/library/redis:7.2\n" + textwrap.dedent("""\
        environments:
          all: {imageTag: "2.0"}
          some: {imageTag: {api: "2.0"}}
        """)
    images = {env: {n: o["spec"]["template"]["spec"]["containers"][0]["image"] for (k, n), o in objects(tmp_path, text, env).items() if k == "Deployment"}
              for env in ("all", "some")}
    assert images["all"] == {"shop-api": "ghcr.io/acme/api:2.0", "shop-cache": "docker.io/library/redis:2.0"}
    assert images["some"] == {"shop-api": "ghcr.io/acme/api:2.0", "shop-cache": "docker.io/library/redis:7.2"}
    found = errors(tmp_path, text.replace("{api: \"2.0\"}", "{apu: \"2.0\"}"))
    assert found == ["kgen.yaml:16: environments.some.imageTag.apu: no component named 'apu' (known: api, cache)"]
