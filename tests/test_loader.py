"""The loader: values as Kubernetes reads them, positions for every path, bad input as problems."""

from __future__ import annotations

import yaml
from hypothesis import given, seed, settings, strategies as st

from kgen.errors import InputError
from kgen.loader import decode_source, format_path, load_text, read_plain, resolve_like_kubectl

POD = """\
# leading comment
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
    - name: app
      image: nginx:1.27
      resources:
        limits:
          memory: 1Gi
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
"""


def test_objects_and_positions() -> None:
    result = load_text(POD)
    pod, service = result.objects
    assert (pod.kind, pod.name, service.kind) == ("Pod", "web", "Service")
    assert pod.locate(("spec", "containers", 0, "resources", "limits")) == (12, 9)
    assert pod.locate(("spec", "containers", 0, "image")) == (10, 7)
    assert pod.locate(("spec", "containers", 0)) == (9, 7)
    # A missing field points at its nearest existing parent.
    assert pod.locate(("spec", "containers", 0, "resources", "requests", "cpu")) == (11, 7)
    assert pod.locate(("spec", "containers", 5)) == (8, 3)
    assert service.locate(("spec", "selector", "app")) == (19, 14)
    assert pod.first_line() == 2 and service.first_line() == 15


def test_values_follow_kubernetes_yaml() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  date: 2024-01-02\n  octal: 0755\n  on: yes\n  hex: 0x1F\n  time: 1:30\n"
    data = load_text(text).objects[0].data["data"]
    assert data["date"] == "2024-01-02"  # timestamps stay strings, as in Go
    assert data["octal"] == 493 and data["hex"] == 31
    assert data["time"] == "1:30"  # go-yaml v2 (kubectl) has no base-60 numbers, unlike PyYAML
    assert data["true"] is True  # YAML 1.1: the key `on` is a boolean, as sigs.k8s.io/yaml reads it


def test_y_and_n_are_booleans_as_kubectl_reads_them() -> None:
    """go-yaml v2 (kubectl, through sigs.k8s.io/yaml) resolves plain y/Y/n/N as booleans; PyYAML would not."""
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: y\n  b: N\n  c: 'y'\n  d: !!str n\n  e: yy\n  n: x\n"
    data = load_text(text).objects[0].data["data"]
    assert data == {"a": True, "b": False, "c": "y", "d": "n", "e": "yy", "false": "x"}
    assert read_plain("Y") is True and read_plain("n") is False and read_plain("512Mi") == "512Mi"


def test_duplicate_keys_are_problems_and_object_is_kept() -> None:
    result = load_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: '1'\n  a: '2'\n")
    assert [(p.line, p.column, p.message) for p in result.problems] == [(6, 3, "duplicate key 'a'")]
    assert result.objects[0].data["data"]["a"] == "2"


def test_merge_keys_resolve_values_and_positions() -> None:
    text = "base: &base\n  image: nginx:1.27\napiVersion: v1\nkind: Pod\nmetadata: {name: m}\nspec:\n  containers:\n    - <<: *base\n      name: app\n"
    obj = load_text(text).objects[0]
    assert obj.data["spec"]["containers"][0] == {"name": "app", "image": "nginx:1.27"}
    assert obj.locate(("spec", "containers", 0, "image")) == (2, 3)


def test_list_kind_yields_items_with_their_own_positions() -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: a}\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: b}\n"
    objects = load_text(text).objects
    assert [o.name for o in objects] == ["a", "b"]
    assert objects[1].locate(("metadata", "name")) == (9, 16)


def test_non_kubernetes_documents_are_skipped_not_errors() -> None:
    text = "resources: [a.yaml]\n---\nreplicaCount: 2\n---\n---\n# only a comment\n"
    result = load_text(text)
    assert result.objects == [] and result.problems == []


def test_non_mapping_documents_and_bad_shapes_are_problems() -> None:
    assert "a list" in load_text("- a\n- b\n").problems[0].message
    assert "plain value" in load_text("just text\n").problems[0].message
    problem = load_text("apiVersion: v1\nkind: Pod\nmetadata: [x]\n").problems[0]
    assert (problem.line, problem.message) == (3, "metadata must be a mapping")
    assert load_text("apiVersion: 1\nkind: Pod\n").problems[0].message == "apiVersion must be a non-empty string"


def test_malformed_yaml_keeps_earlier_documents() -> None:
    result = load_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\nkey: [unclosed\n")
    assert [o.name for o in result.objects] == ["ok"]
    assert result.problems[0].line >= 5 and result.problems[0].message.startswith("invalid YAML")


def test_alias_bomb_is_refused() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    result = load_text("\n".join(lines) + "\napiVersion: v1\nkind: ConfigMap\n")
    assert result.objects == []
    assert "alias bomb" in result.problems[0].message


def test_small_aliases_are_fine() -> None:
    text = "x: &r {cpu: 100m}\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - {name: a, resources: {requests: *r}}\n    - {name: b, resources: {requests: *r}}\n"
    obj = load_text(text).objects[0]
    assert obj.data["spec"]["containers"][1]["resources"]["requests"] == {"cpu": "100m"}


def test_decode_refuses_binary_and_bad_encodings() -> None:
    for raw, fragment in [(b"abc\x00def", "binary"), (b"a: \xc3\x28", "UTF-8")]:
        try:
            decode_source("f.yaml", raw)
        except InputError as exc:
            assert fragment in str(exc) and str(exc).startswith("f.yaml")
        else:
            raise AssertionError("expected InputError")
    assert decode_source("bom.yaml", "\ufeffa: 1".encode()).text == "a: 1"


def test_format_path() -> None:
    assert format_path(("spec", "containers", 0, "resources")) == "spec.containers[0].resources"
    assert format_path(("metadata", "annotations", "kgen.dev/ignore")) == "metadata.annotations['kgen.dev/ignore']"


# Arbitrary YAML-ish text and arbitrary data dumped to YAML: the loader never raises.
yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:- \n\t{}[]&*!|>'\"#%@`,?0.~<=")), max_size=120))
def test_loader_never_raises_on_arbitrary_text(text: str) -> None:
    result = load_text(text)
    for problem in result.problems:
        assert problem.line >= 1 and problem.column >= 1


@resolve_like_kubectl
class _KubectlDumper(yaml.SafeDumper):
    """Quotes what kubectl would not read back as a string (``y``), as kgen's own dumper does."""


@settings(max_examples=200, deadline=None)
@given(yaml_values)
def test_loader_round_trips_arbitrary_data(value: object) -> None:
    document = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": value}
    result = load_text(yaml.dump(document, Dumper=_KubectlDumper))
    assert result.problems == []
    assert result.objects[0].data["data"] == _as_kubernetes_reads(value)


def _as_kubernetes_reads(value: object) -> object:
    """Keys become strings (as sigs.k8s.io/yaml does); everything else is unchanged."""
    if isinstance(value, dict):
        return {_key(k): _as_kubernetes_reads(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_kubernetes_reads(v) for v in value]
    return value


def _key(key: object) -> str:
    return key if isinstance(key, str) else str(key)


PLAIN_WORDS = st.text(alphabet=st.sampled_from(list("ynoftrueaslNOYTF01239.+-_:e~<=x")), max_size=12)


@seed(17)
@settings(max_examples=400, deadline=None)
@given(st.lists(PLAIN_WORDS, min_size=1, max_size=8), st.booleans())
def test_the_fast_tag_resolution_answers_as_pyyaml_does(words: list[str], plain: bool) -> None:
    from kgen.loader import _Loader

    loader = _Loader("")
    for word in words * 2:  # the second time from memory
        for kind in (yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode):
            value = word if kind is yaml.ScalarNode else None
            expected = yaml.resolver.BaseResolver.resolve(loader, kind, value, (plain, True))
            assert loader.resolve(kind, value, (plain, True)) == expected
    loader.dispose()
