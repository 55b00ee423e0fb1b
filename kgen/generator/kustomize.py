"""Kustomize output: a base from the spec without environments, one overlay per environment.

An overlay holds only what its environment changes: the namespace, image tags
and replica counts through Kustomize's own transformers, objects the
environment adds, ``$patch: delete`` for objects it removes, and one
strategic-merge patch per changed object that names the object and every
container, env var, volume or mount it touches (never a list index). Patches
are computed by diffing the base objects (after the transformers) against the
environment's objects, so the overlay builds to exactly what ``kgen render`` prints.
"""

from __future__ import annotations

import copy
from typing import Any

from kgen.generator.text import dump_documents, dump_yaml, header

KUSTOMIZATION = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
# Lists of a pod spec that Kubernetes' strategic merge matches by a key, not by position.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name", "volumeMounts": "mountPath"}
# Other lists Kubernetes merges by a key (Service and container ports, pull secrets): replaced whole.
REPLACED_MERGED_LISTS = ("ports", "imagePullSecrets")
Key = tuple[str, str, str]  # apiVersion, kind, name


def kustomize_files(base: list[dict], environments: dict[str, tuple[str | None, list[dict]]], spec_name: str) -> dict[str, str]:
    """``base``: objects of the base model; ``environments``: env -> (namespace, objects)."""
    files: dict[str, str] = {}
    top = header(spec_name)
    resources = []
    for obj in base:
        filename = _filename(obj)
        resources.append(filename)
        files[f"kustomize/base/{filename}"] = top + dump_documents([obj])
    files["kustomize/base/kustomization.yaml"] = top + dump_yaml({**KUSTOMIZATION, "resources": sorted(resources)})
    for env, (namespace, objects) in environments.items():
        for path, text in overlay(base, objects, namespace).items():
            files[f"kustomize/overlays/{env}/{path}"] = top + text
    return files


def overlay(base: list[dict], objects: list[dict], namespace: str | None) -> dict[str, str]:
    """The files of one overlay directory (without headers), relative to it."""
    before = {_key(o): o for o in base}
    after = {_key(o): _without_namespace(o) for o in objects}
    kustomization: dict[str, Any] = dict(KUSTOMIZATION)
    if namespace and any(o["kind"] == "Namespace" for o in [*base, *objects]):
        # `namespace:` would also rename every Namespace object to it; this transformer only sets the field
        kustomization["transformers"] = [dump_yaml({"apiVersion": "builtin", "kind": "NamespaceTransformer",
                                                    "metadata": {"name": "namespace", "namespace": namespace},
                                                    "fieldSpecs": [{"path": "metadata/namespace", "create": True}]})]
    elif namespace:
        kustomization["namespace"] = namespace
    files: dict[str, str] = {}
    resources = ["../../base"]
    for key in sorted(set(after) - set(before)):
        filename = _filename(after[key])
        resources.append(filename)
        files[filename] = dump_documents([after[key]])
    kustomization["resources"] = resources

    common = [key for key in before if key in after]
    images = _image_changes([before[k] for k in common], list(after.values()))
    if images:
        kustomization["images"] = [{"name": name, "newTag": tag} for name, tag in sorted(images.items())]
    replicas = {
        key[2]: after[key]["spec"]["replicas"]
        for key in common
        if key[1] == "Deployment" and "replicas" in before[key]["spec"] and "replicas" in after[key]["spec"]
        and before[key]["spec"]["replicas"] != after[key]["spec"]["replicas"]
    }
    if replicas:
        kustomization["replicas"] = [{"name": name, "count": count} for name, count in sorted(replicas.items())]

    patches = []
    for key in sorted(set(before) - set(after)):
        filename = f"patches/delete-{_filename(before[key])}"
        files[filename] = dump_yaml({"$patch": "delete", "apiVersion": key[0], "kind": key[1], "metadata": {"name": key[2]}})
        patches.append({"path": filename})
    for key in sorted(common):
        changes = strategic_merge_patch(_apply_transformers(before[key], images, replicas), after[key], _built_in(key[0]))
        if changes:
            filename = f"patches/{_filename(before[key])}"
            metadata = {"name": key[2], **changes.pop("metadata", {})}
            files[filename] = dump_yaml({"apiVersion": key[0], "kind": key[1], "metadata": metadata, **changes})
            patches.append({"path": filename})
    if patches:
        kustomization["patches"] = patches
    files["kustomization.yaml"] = dump_yaml(kustomization)
    return files


def _key(obj: dict) -> Key:
    return obj["apiVersion"], obj["kind"], obj["metadata"]["name"]


def _filename(obj: dict) -> str:
    return f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def _without_namespace(obj: dict) -> dict:
    """The overlay's ``namespace:`` sets it; the diff must not see it."""
    if "namespace" not in obj["metadata"]:
        return obj
    out = dict(obj)
    out["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "namespace"}
    return out


def _containers(obj: dict) -> list[dict]:
    spec = obj.get("spec") or {}
    template = spec.get("template") or ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    pod = template.get("spec") or {}
    return [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]


def _split_image(image: str) -> tuple[str, str | None]:
    if "@" in image:
        return image, None
    slash, colon = image.rfind("/"), image.rfind(":")
    return (image[:colon], image[colon + 1:]) if colon > slash else (image, None)


def _image_changes(common_base: list[dict], env_objects: list[dict]) -> dict[str, str]:
    """Image name -> new tag, where Kustomize's ``images:`` gives exactly the environment's images.

    The transformer rewrites every container with that image name in the whole
    overlay, so it is only used when every such container ends on the same tag.
    """
    final_tags: dict[str, set[str | None]] = {}
    for obj in env_objects:
        for container in _containers(obj):
            name, tag = _split_image(container["image"])
            final_tags.setdefault(name, set()).add(tag)
    changes: dict[str, str] = {}
    for obj in common_base:
        for container in _containers(obj):
            name, tag = _split_image(container["image"])
            targets = final_tags.get(name, set())
            if len(targets) == 1 and None not in targets and tag is not None and tag not in targets:
                changes[name] = next(iter(targets))  # type: ignore[arg-type]
    return changes


def _apply_transformers(obj: dict, images: dict[str, str], replicas: dict[str, int]) -> dict:
    """What Kustomize's images and replicas transformers make of a base object."""
    touched = obj["kind"] == "Deployment" and obj["metadata"]["name"] in replicas
    if not touched and not any(_split_image(c["image"])[0] in images for c in _containers(obj)):
        return obj
    out = copy.deepcopy(obj)
    for container in _containers(out):
        name, tag = _split_image(container["image"])
        if name in images and tag is not None:
            container["image"] = f"{name}:{images[name]}"
    if out["kind"] == "Deployment" and out["metadata"]["name"] in replicas:
        out["spec"]["replicas"] = replicas[out["metadata"]["name"]]
    return out


def strategic_merge_patch(before: dict, after: dict, built_in: bool = True) -> dict:
    """The strategic-merge patch turning ``before`` into ``after``: changed keys only, ``null`` deletes.

    In Kubernetes' own kinds, lists merged by a key (containers, env, volumes,
    mounts) are patched entry by entry, naming each entry; other merged lists
    (ports, pull secrets) are replaced with ``$patch: replace``; any other
    changed list, and every list of a custom resource (Kustomize knows no merge
    keys there), is simply written whole.
    """
    ops: dict = {}
    for key in before:
        if key not in after:
            ops[key] = None
    for key, value in after.items():
        if key not in before:
            ops[key] = value
        elif not same(before[key], value):
            ops[key] = _changed(key, before[key], value, built_in)
    return ops


def _changed(key: str, before: Any, after: Any, built_in: bool) -> Any:
    if isinstance(before, dict) and isinstance(after, dict):
        return strategic_merge_patch(before, after, built_in)
    if isinstance(before, list) and isinstance(after, list) and built_in:
        merge_key = MERGE_KEYS.get(key)
        if merge_key and _keyed(before, merge_key) and _keyed(after, merge_key):
            return _keyed_list_patch(before, after, merge_key)
        if key in REPLACED_MERGED_LISTS:
            return [{"$patch": "replace"}, *after]
    return after


def _built_in(api_version: str) -> bool:
    """Whether Kustomize knows the kind's schema (and so its lists' merge keys)."""
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def _keyed(items: list, merge_key: str) -> bool:
    keys = [item.get(merge_key) if isinstance(item, dict) else None for item in items]
    return None not in keys and len(set(keys)) == len(keys)


def _keyed_list_patch(before: list[dict], after: list[dict], merge_key: str) -> list[dict]:
    """Entries named by ``merge_key``: changed or new ones, deletions as ``$patch: delete``.

    Kustomize puts the entries a patch names first (in the patch's order) and the
    others after them (in the base's order), so the patch names the shortest
    prefix of ``after`` that makes that come out in ``after``'s order.
    """
    old = {item[merge_key]: item for item in before}
    new_keys = [item[merge_key] for item in after]
    changed = {item[merge_key] for item in after if item[merge_key] not in old or not same(old[item[merge_key]], item)}
    deleted = [k for k in old if k not in set(new_keys)]
    prefix = 0
    while prefix < len(after):
        named = set(new_keys[:prefix])
        if changed <= named and new_keys[prefix:] == [k for k in old if k not in named and k not in deleted]:
            break
        prefix += 1
    entries: list[dict] = []
    for item in after[:prefix]:
        k = item[merge_key]
        entries.append(item if k not in old else {merge_key: k, **strategic_merge_patch(old[k], item)})
    entries += [{merge_key: k, "$patch": "delete"} for k in deleted]
    return entries


def same(a: Any, b: Any) -> bool:
    """Equality that tells ``1`` from ``True`` and ``1.0``, as YAML does."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)


