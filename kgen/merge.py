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
