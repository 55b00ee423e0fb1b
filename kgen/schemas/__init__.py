"""JSON Schemas shipped as package data (app spec, cluster policy)."""

from __future__ import annotations

import json
from functools import lru_cache

from kgen.packagedata import read_package_text


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """A schema by file name, e.g. ``cluster-policy.schema.json``."""
    return json.loads(read_package_text(__file__, name))
