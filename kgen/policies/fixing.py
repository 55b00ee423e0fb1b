"""What fixers share: finding the container or pod a violation points into, and adding only what is missing.

Fixers work on the object's plain data (dicts and lists, as loaded); kgen.fix turns the
difference into text edits. Nothing here overwrites or removes a value the user wrote.
"""

from __future__ import annotations

from typing import Any, Iterator

from kgen.loader import JsonPath
from kgen.workloads import as_map, get_path


def container_path(path: JsonPath) -> JsonPath:
    """The container of a violation at the container itself, its securityContext or below."""
    return path[: path.index("securityContext")] if "securityContext" in path else path


def enclosing(data: dict, path: JsonPath) -> Iterator[dict]:
    """Every mapping from the object down to ``path`` (the pod spec of a container among them)."""
    for depth in range(len(path) + 1):
        found = get_path(data, path[:depth])
        if isinstance(found, dict):
            yield found


def on_windows(data: dict, path: JsonPath) -> bool:
    """A Windows pod (``os.name: windows``): the API server forbids the Linux security fields there."""
    return any(as_map(mapping.get("os")).get("name") == "windows" for mapping in enclosing(data, path))


def set_missing(mapping: dict, keys: tuple[str, ...], value: Any) -> bool:
    """Set ``mapping[k1]...[kn] = value`` when it is unset, creating the mappings on the way.

    Returns False, changing nothing, when the field is written (even as null) or a step
    holds something other than a mapping.
    """
    node: Any = mapping
    for key in keys[:-1]:
        node = node.get(key, {})
        if not isinstance(node, dict):
            return False
    if keys[-1] in node:
        return False
    node = mapping
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return True


def copy_request_to_limit(container: dict, resource: str) -> bool:
    """``resources.limits[resource] = resources.requests[resource]`` when only the request is written."""
    request = as_map(as_map(container.get("resources")).get("requests")).get(resource)
    return request is not None and set_missing(container, ("resources", "limits", resource), request)
