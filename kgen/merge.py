"""The one override rule kgen uses everywhere (policies over the default, spec environments, Helm values)."""

from __future__ import annotations

import copy
from typing import Any


def deep_merge(base: Any, override: Any) -> Any:
    """Maps merge key by key; anything else in ``override`` replaces; ``None`` deletes."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = deep_merge(merged.get(key), value)
    return merged


def merge_patch(base: dict, target: dict) -> dict:
    """The smallest override with ``deep_merge(base, patch) == target``.

    Used to write only an environment's differences (Helm values files). Values
    must not contain ``None`` themselves, as ``None`` is the deletion marker.
    """
    patch: dict = {}
    for key, value in target.items():
        if key not in base:
            patch[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(base[key], dict):
            nested = merge_patch(base[key], value)
            if nested:
                patch[key] = nested
        elif value != base[key] or type(value) is not type(base[key]):
            patch[key] = copy.deepcopy(value)
    for key in base:
        if key not in target:
            patch[key] = None
    return patch
