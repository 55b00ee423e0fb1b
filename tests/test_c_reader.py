"""The C reader (_kgen_yaml) against PyYAML's: the same documents, values, problems and positions.

Every test reads the same text both ways; where the C reader is not built there is nothing to
compare and they skip, but not in CI (the last test)."""

from __future__ import annotations

import os
from typing import Any, Iterator

import pytest
import yaml
from hypothesis import given, seed, settings, strategies as st

from kgen import loader
from kgen.loader import JsonPath, LoadResult, SourceFile, parse_source, read_source
from tests.conftest import CORPUS
from tests.test_loader import PLAIN_WORDS, yaml_values

needs_c = pytest.mark.skipif(loader._fast is None, reason="the C reader (_kgen_yaml) is not built")


def _read(text: str, fast: bool) -> LoadResult:
    saved = loader._fast
    loader._fast = saved if fast else None
    try:
        return parse_source(SourceFile("f.yaml", text))
    finally:
        loader._fast = saved


def _paths(value: Any, prefix: JsonPath = ()) -> Iterator[JsonPath]:
    """Every path into ``value``, and one missing key or index below each collection."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
        yield (*prefix, "no-such-key", "below")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))
        yield (*prefix, len(value))
        yield (*prefix, "not-an-index")


def _assert_same(text: str) -> LoadResult:
    """Both readers agree on ``text``; returns the C reader's result."""
    fast, pure = _read(text, True), _read(text, False)
    assert fast.documents == pure.documents
    assert fast.problems == pure.problems
    assert repr([obj.data for obj in fast.objects]) == repr([obj.data for obj in pure.objects])  # True is not 1
    for mine, theirs in zip(fast.objects, pure.objects):
        assert (mine._start, mine.first_line(), mine.doc_index) == (theirs._start, theirs.first_line(), theirs.doc_index)
        for path in _paths(mine.data):
            assert mine.locate(path) == theirs.locate(path), path
    return fast


def _read_by_c(text: str) -> bool:
    try:
        loader._fast.load(text)
    except loader._fast.Fallback:
        return False
    return True


POD = """\
# a comment
apiVersion: v1
kind: Pod
metadata:
  name: "wéb-ü"   # columns count characters, not bytes
  labels: {app: web, tier: 'front', on: yes, n: N, port: 0755, time: 1:30, none: ~, ratio: .5}
  annotations:
    note: |
      a literal
      block
    folded: >-
      folded
      text
spec:
  containers:
    - name: app
      image: nginx:1.27
      args: [--port, "8080", 8080, -1, 1e3, 0x1F, .inf, true, 2024-01-01]
      resources:
        limits: {memory: 1Gi, nvidia.com/gpu: 1}
    -   name: side
        image: busybox
  empty:
  "": empty key
  1: number key
  true: boolean key
  null: null key
"""


@needs_c
def test_a_plain_pod_is_read_by_c_as_pyyaml_reads_it() -> None:
    assert _read_by_c(POD)
    result = _assert_same(POD)
    pod = result.objects[0]
    assert pod.data["metadata"]["labels"] == {"app": "web", "tier": "front", "true": True, "false": False, "port": 493, "time": "1:30", "none": None, "ratio": 0.5}
    assert pod.locate(("spec", "containers", 1, "image")) == (22, 9)
    assert pod.locate(("metadata", "labels", "tier")) == (6, 22)


@needs_c
def test_documents_lists_and_odd_documents() -> None:
    text = (
        "---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- 3\n"
        "- apiVersion: v1\n  kind: Secret\n  metadata: {name: b}\n---\n[1, 2]\n---\nplain\n---\n"
        "apiVersion: 1\nkind: Pod\n---\napiVersion: v1\nkind: Pod\nmetadata: {labels: [a]}\n---\nkind: Kustomization\n...\n"
    )
    assert _read_by_c(text)
    result = _assert_same(text)
    assert [obj.name for obj in result.objects] == ["a", "b"]
    # A List item that is no mapping, a list, a plain value, two objects of a bad shape:
    assert [problem.line for problem in result.problems] == [7, 12, 14, 16, 21]


@needs_c
@pytest.mark.parametrize(
    "text",
    [
        "a: &x {b: 1}\nc: *x\n",  # anchors and aliases
        "a: &x [*x]\n",  # an alias inside its own anchor
        "apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: x, labels: {<<: *m}}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: !!map {a: b}\n",  # tags
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: ! 1}\n",
        "base: &b {x: 1}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, <<: *b}\n",  # merge keys
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {<<: {x: 1}}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, name: y}\n",  # duplicate keys
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {[a]: b}\n",  # complex keys
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: [x}\n",  # errors
        "a: b\n\tc: d\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: !!int abc, b: !!float '', c: 1}\n",  # no such number
        "apiVersion: v1\nkind: ConfigMap\ndata: " + "[" * 300 + "]" * 300 + "\n",  # nesting deeper than the C reader goes
    ],
)
def test_what_the_c_reader_leaves_to_pyyaml(text: str) -> None:
    assert not _read_by_c(text)
    _assert_same(text)


@needs_c
@pytest.mark.parametrize("text", ["\ufeffb", "\ufeffapiVersion: v1\nkind: Pod\nmetadata: {name: x}\n", "a: 1\n---\n\ufeffb: 2\n"])
def test_a_byte_order_mark_moves_no_column(text: str) -> None:
    """libyaml skips a BOM it detects, but counts one it meets after being told the encoding."""
    _assert_same(text)


@needs_c
def test_a_merge_key_word_as_a_value_is_a_string() -> None:
    assert _read_by_c("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: <<, b: =}\n")
    assert _assert_same("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: <<, b: =}\n").objects[0].data["data"] == {"a": "<<", "b": "="}


@needs_c
def test_positions_are_read_again_after_a_drop_and_trees_are_pyyaml_s() -> None:
    obj = _read(POD, True).objects[0]
    where = obj.locate(("spec", "containers", 0, "resources", "limits", "nvidia.com/gpu"))
    obj.drop_tree()
    assert obj._positions is None
    assert obj.locate(("spec", "containers", 0, "resources", "limits", "nvidia.com/gpu")) == where == (20, 31)
    assert isinstance(obj.node, yaml.MappingNode) and obj.node.start_mark.line == 1  # composed by PyYAML on demand
    assert obj.node_at(("spec", "containers", 1, "name")).value == "side"


@needs_c
@seed(23)
@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:- \n\t{}[]&*!|>'\"#%@`,?0.~<=yN\u00e9")), max_size=120))
def test_arbitrary_text_is_read_alike(text: str) -> None:
    _assert_same("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n" + text)
    _assert_same(text)


@needs_c
@seed(29)
@settings(max_examples=200, deadline=None)
@given(yaml_values, st.sampled_from([None, True, False]), st.sampled_from([None, '"', "'", "|"]))
def test_arbitrary_data_in_every_style_is_read_alike(value: object, flow: bool | None, style: str | None) -> None:
    document = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": value}
    text = yaml.safe_dump(document, default_flow_style=flow, default_style=style, allow_unicode=True)
    _assert_same(text)


@needs_c
@seed(31)
@settings(max_examples=300, deadline=None)
@given(st.lists(PLAIN_WORDS, min_size=1, max_size=6))
def test_plain_words_mean_the_same_as_values_and_as_keys(words: list[str]) -> None:
    body = "".join(f"  k{index}: {word}\n  {word}: v{index}\n" for index, word in enumerate(words))
    _assert_same(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata:\n{body}")
    _assert_same("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nitems:\n" + "".join(f"- {word}\n" for word in words))


def _corpus_files() -> list[str]:
    found = []
    for root, dirs, files in os.walk(CORPUS):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [os.path.join(root, name) for name in sorted(files) if name.endswith((".yaml", ".yml"))]
    return found


@needs_c
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside the project")
def test_every_corpus_file_is_read_alike() -> None:
    read_by_c = 0
    for path in _corpus_files():
        try:
            text = read_source(path).text
        except Exception:  # binary or undecodable: refused before either reader
            continue
        read_by_c += _read_by_c(text)
        _assert_same(text)
    assert read_by_c > 1500  # the C reader reads nearly all of it (22 files fall back today)


def _assert_same_mapping(text: str) -> None:
    """loader.read_mapping (the C reader, where it reads the file) gives compose_mapping's mapping,
    positions and errors (a kustomization: duplicate keys allowed)."""
    from kgen.errors import InputError
    from kgen.loader import compose_mapping, position_in, read_mapping

    source = SourceFile("kustomization.yaml", text)
    try:
        expected, tree = compose_mapping(source, duplicate_keys=True)
    except InputError as error:
        with pytest.raises(InputError) as raised:
            read_mapping(source, duplicate_keys=True)
        assert (raised.value.message, raised.value.line) == (error.message, error.line)
        return
    data, where = read_mapping(source, duplicate_keys=True)
    assert repr(data) == repr(expected) and (where is None) == (tree is None)
    for path in _paths(data) if tree is not None else ():
        assert position_in(where, path) == position_in(tree, path), path


@needs_c
@pytest.mark.parametrize(
    "text",
    ["", "# only a comment\n", "---\n", "resources: [a.yaml]\nimages:\n- name: app\n  newTag: '2'\n", "- a list\n", "plain\n",
     "a: 1\na: 2\n", "resources: &r [x.yaml]\nbases: *r\n", "patches:\n- patch: |-\n    - op: add\n      path: /x\n  target: {kind: Deployment}\n",
     "a: [\n", "a: 1\n---\nb: [\n"],
)  # fmt: skip
def test_a_kustomization_is_read_by_c_as_compose_mapping_reads_it(text: str) -> None:
    _assert_same_mapping(text)


@needs_c
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside the project")
def test_every_corpus_kustomization_is_read_alike() -> None:
    from kgen.fsutil import KUSTOMIZATION_FILES

    kustomizations = [path for path in _corpus_files() if os.path.basename(path) in KUSTOMIZATION_FILES]
    assert len(kustomizations) > 100
    for path in kustomizations:
        _assert_same_mapping(read_source(path).text)


def test_ci_builds_the_c_reader() -> None:
    """The install goes on without a C compiler or libyaml's headers; CI must not (every test
    above would skip)."""
    if os.environ.get("CI") and loader._fast is None:
        pytest.fail("the C reader (_kgen_yaml) was not built: install libyaml's headers (Debian: libyaml-dev) and a C compiler")


def test_the_longest_typed_words_are_what_the_regex_engine_says() -> None:
    """The C reader takes a plain scalar longer than these for a string without asking the
    resolver: each bound must be the widest match of the expressions registered for it."""
    try:
        from re import _parser as regex_parser  # type: ignore[attr-defined]
    except ImportError:  # Python 3.10
        import sre_parse as regex_parser  # type: ignore[no-redef]

    bounds = loader._longest_typed()
    assert bounds["t"] == bounds["N"] == 5 and bounds["~"] == 4 and bounds["1"] == -1
    for first, resolvers in loader._Loader.yaml_implicit_resolvers.items():
        if first and bounds[first] >= 0:
            assert bounds[first] == max(regex_parser.parse(regexp.pattern, regexp.flags).getwidth()[1] for _, regexp in resolvers), first


_PIECES = ["a", ":", " ", "\n", "- ", "{", "}", "[", "]", ",", "&x ", "*x", "!t ", "|", ">", "'", '"', "#", "<<", "~", "1.5", "yes", "y", "\t", "---\n", "é", "\ufeff", "key: ", "  ", "!!int ", "0x1f", "1:30", "=", "\r\n", "\n\ufeff", "&x [*x]"]


@needs_c
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside the project")
def test_mutated_corpus_files_are_read_alike() -> None:
    """Real files with a few random edits (pieces of YAML syntax inserted, spans deleted or
    repeated): how the BOM column and the recursive-alias crash were found."""
    import random

    rng = random.Random(5)
    texts = [read_source(path).text for path in _corpus_files()[::7]]
    for _ in range(3000):
        chars = list(rng.choice(texts)[:3000])
        for _ in range(rng.randint(1, 6)):
            at = rng.randint(0, len(chars))
            edit = rng.random()
            if edit < 0.5:
                chars[at:at] = rng.choice(_PIECES)
            elif edit < 0.8:
                del chars[at : at + rng.randint(1, 20)]
            else:
                chars[at:at] = chars[max(0, at - 40) : at]
        _assert_same("".join(chars))
