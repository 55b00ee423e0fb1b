"""The spec's comments in values files: placed at the same keys, never changing the data."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from kgen.generator.comments import dump_commented, spec_comments, values_comments
from kgen.generator.model import app_values
from kgen.generator.spec import load_spec

KEYS = st.sampled_from(["a", "b", "image", "ports", "x-y", "on", "1"])
LEAVES = st.one_of(st.integers(-5, 5), st.booleans(), st.text("ab: #\n'", max_size=6), st.none())
DATA = st.recursive(LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)), max_leaves=12)


def _paths(data: object, prefix: tuple = ()) -> list[tuple]:
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    out = []
    for key, value in items:
        out += [(*prefix, key), *_paths(value, (*prefix, key))]
    return out


@seed(1313)
@settings(max_examples=200, deadline=None)
@given(st.dictionaries(KEYS, DATA, min_size=1, max_size=4), st.data())
def test_comments_never_change_the_data(values: dict, data: st.DataObject) -> None:
    paths = _paths(values)
    chosen = data.draw(st.lists(st.sampled_from(paths), max_size=4, unique=True)) if paths else []
    comments = {p: (data.draw(st.lists(st.text("abc #:", max_size=5), max_size=2)), data.draw(st.none() | st.text("abc #", min_size=1, max_size=5)))
                for p in chosen}
    text = dump_commented(values, comments)
    assert yaml.safe_load(text) == values


def test_starter_comments_land_on_their_keys(tmp_path: Path) -> None:
    spec = load_spec(str(Path(__file__).parent.parent / "kgen" / "generator" / "starter.yaml"))
    values = app_values(spec, None)
    text = dump_commented(values, values_comments(spec_comments(spec), values, None))
    assert yaml.safe_load(text) == values
    assert "  team: my-team  # added to every object\n" in text
    assert "    - name: http  # the first port is the primary one (readiness probe, ingress)\n" in text
    assert "      # Secrets are references only; a literal value here would be rejected.\n      DATABASE_URL:\n" in text
