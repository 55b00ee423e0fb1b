"""Value checks on the app spec that no JSON Schema can say: what Kubernetes would reject, and secrets.

Run by :func:`kgen.generator.spec.validate` on every merged component (and once on the
app's metadata), so a build refuses before writing anything: label keys and values,
annotation keys, cron fields, IANA time zones, mount paths used twice, fields that do not
apply to the component's kind, limits below requests, and secret *values* anywhere the
spec writes text (the judgment of ``kgen lint``'s secrets rules, from
:mod:`kgen.policies.secret_values`). Each problem is ``(path in the component, message)``.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache
from typing import Any, Iterator

from kgen.loader import JsonPath
from kgen.policies.secret_patterns import secret_arguments
from kgen.policies.secret_values import content_secret as _content_secret, setting_secret as _setting_secret, text_secret
from kgen.quantity import QuantityError, parse_quantity

Problem = tuple[JsonPath, str]


class RedactedMessage(str):
    """A problem's message about a secret value it does not repeat: whoever quotes the spec line
    the problem points at (kgen lint's text report) must not show the value either."""

# Every environment repeats most values: judge each (name, value) once.
setting_secret = lru_cache(maxsize=4096)(_setting_secret)
content_secret = lru_cache(maxsize=1024)(_content_secret)

_NAME = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
LABEL_MAPS: tuple[JsonPath, ...] = (("labels",), ("podLabels",))
ANNOTATION_MAPS: tuple[JsonPath, ...] = (
    ("annotations",), ("podAnnotations",), ("serviceAnnotations",), ("serviceAccount", "annotations"), ("ingress", "annotations"),
)  # fmt: skip
CONTAINER_LISTS = ("initContainers", "sidecars")

# Fields that only mean something for some kinds; elsewhere kgen would drop them silently.
_DEPLOYMENTS = ("service", "worker", "statefulset")
_JOBS = ("job", "cronjob", "training")
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "replicas": _DEPLOYMENTS,
    "backoffLimit": _JOBS,
    "activeDeadlineSeconds": _JOBS,
    "ttlSecondsAfterFinished": _JOBS,
    "restartPolicy": _JOBS,
    "podFailurePolicy": _JOBS,
    "completions": ("job", "cronjob"),
    "parallelism": ("job", "cronjob"),
    "timeZone": ("cronjob",),
    "concurrencyPolicy": ("cronjob",),
    "suspend": ("cronjob",),
    "successfulJobsHistoryLimit": ("cronjob",),
    "failedJobsHistoryLimit": ("cronjob",),
    "startingDeadlineSeconds": ("cronjob",),
}
_KNOWN_KINDS = frozenset(kind for kinds in KIND_FIELDS.values() for kind in kinds)

# (name, lowest, highest, names allowed instead of numbers)
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
_CRON_MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_EVERY = re.compile(r"@every (?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+")  # Go durations, as Kubernetes' cron parser reads them


def component_problems(c: dict, data: dict, name: str, env: str | None) -> list[Problem]:
    """Problems of the merged component ``c`` named ``name`` in environment ``env`` of the spec ``data``."""
    kind = c.get("kind", "service")
    out = [*_kind_problems(kind, _own_keys(data, name, env)), *_metadata_problems(c), *_mount_problems(c), *_limit_problems(c), *_secret_problems(c)]
    if "timeZone" in c and kind == "cronjob":
        out.extend(timezone_problems(c["timeZone"], ("timeZone",)))
    return out


def app_problems(data: dict) -> list[Problem]:
    """Problems of the app's ``metadata`` labels and annotations (paths from the document root)."""
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    return [(("metadata", *path), message) for path, message in _metadata_problems(meta)]


def cron_problem(schedule: str) -> str | None:
    """What is wrong with a CronJob schedule (five fields with their ranges, or a macro), or None."""
    if schedule.strip().lower() in _CRON_MACROS or _EVERY.fullmatch(schedule.strip()):
        return None
    fields = schedule.split()
    if len(fields) != 5:
        return f"{schedule!r} is not a 5-field cron schedule (minute hour day month weekday)"
    for text, (name, low, high, names) in zip(fields, _CRON_FIELDS):
        for part in text.split(","):
            problem = _cron_part_problem(part, low, high, names)
            if problem:
                return f"{schedule!r}: the {name} field {text!r} {problem} (allowed {low}-{high})"
    return None


def _cron_part_problem(part: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    span, _, step = part.partition("/")
    if "/" in part and not (step.isdigit() and int(step) > 0):
        return "has an invalid step"
    if span in ("*", "?"):
        return None
    bounds = span.split("-")
    if len(bounds) > 2:
        return "is not a number, a range or *"
    values = []
    for bound in bounds:
        if bound.lower() in names:
            values.append(names.index(bound.lower()) + (1 if low == 1 else 0))
        elif bound.isdigit():
            values.append(int(bound))
        else:
            return "is not a number, a range or *"
    if any(v < low or v > high for v in values):
        return "is out of range"
    if len(values) == 2 and values[0] > values[1]:
        return "has a range that ends before it starts"
    return None


def timezone_problems(name: Any, path: JsonPath) -> list[Problem]:
    if not isinstance(name, str) or _is_timezone(name):
        return []
    return [(path, f"{name!r} is not an IANA time zone (e.g. Europe/Paris, America/New_York, Etc/UTC)")]


@lru_cache(maxsize=64)
def _is_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
        return True
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return not zoneinfo.available_timezones()  # no time zone database here: cannot tell, so do not refuse


def _own_keys(data: dict, name: str, env: str | None) -> set[str]:
    """The fields the component (and its environment override) set themselves: defaults apply to every kind."""
    own = {key for key, value in ((data.get("components") or {}).get(name) or {}).items() if value is not None}
    override = (((data.get("environments") or {}).get(env) or {}).get("components") or {}).get(name) if env else None
    for key, value in (override or {}).items():
        (own.add if value is not None else own.discard)(key)
    return own


def _kind_problems(kind: str, own: set[str]) -> Iterator[Problem]:
    if kind not in _KNOWN_KINDS:
        return
    for key, kinds in KIND_FIELDS.items():
        if key in own and kind not in kinds:
            yield (key,), f"{key} does not apply to a {kind} (only to: {', '.join(kinds)}); remove it"


def _metadata_problems(c: dict) -> Iterator[Problem]:
    for path in LABEL_MAPS:
        labels = _at(c, path)
        for key, value in labels.items() if isinstance(labels, dict) else ():
            problem = _key_problem(str(key))
            if problem:
                yield (*path, key), f"label key {key!r} {problem}"
            text = "" if value is None else str(value)
            found = text_secret(text)
            if text and not _NAME.fullmatch(text):
                yield (*path, key), (f"label value must be at most 63 characters (found {len(text)})" if len(text) > 63 else
                                     "label value must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit")
            elif found:
                yield (*path, key), RedactedMessage(f"{found} (value redacted): labels are not secret; keep credentials in a Secret")
    for path in ANNOTATION_MAPS:
        annotations = _at(c, path)
        for key, value in annotations.items() if isinstance(annotations, dict) else ():
            problem = _key_problem(str(key))
            if problem:
                yield (*path, key), f"annotation key {key!r} {problem}"
            found = text_secret(value) if isinstance(value, str) else None
            if found:
                yield (*path, key), RedactedMessage(f"{found} (value redacted): annotations are not secret; keep credentials in a Secret")


def _key_problem(key: str) -> str | None:
    """What makes ``key`` an invalid label or annotation key (``[prefix/]name``), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return "has an invalid prefix: a DNS subdomain (lowercase, at most 253 characters) before the '/'"
    if len(name) > 63:
        return f"is too long: the name after any prefix has at most 63 characters (found {len(name)})"
    if not _NAME.fullmatch(name):
        return "must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit (optionally prefix/)"
    return None


def _mount_problems(c: dict) -> Iterator[Problem]:
    """Two volumes on one path: the pod would be rejected."""
    mounts: list[tuple[str, JsonPath]] = []
    for vol, body in sorted((c.get("storage") or {}).items()):
        if isinstance(body, dict) and isinstance(body.get("mountPath"), str):
            mounts.append((body["mountPath"], ("storage", vol, "mountPath")))
    config = c.get("config") or {}
    if isinstance(config.get("mountPath"), str):
        mounts.append((config["mountPath"], ("config", "mountPath")))
    for file_path in c.get("files") or {}:
        mounts.append((str(file_path), ("files", file_path)))
    if c.get("gpu") is not None:
        mounts.append(("/dev/shm", ("gpu",)))
    seen: dict[str, JsonPath] = {}
    for mount_path, where in mounts:
        normal = mount_path.rstrip("/") or "/"
        if normal in seen:
            first = ".".join(str(p) for p in seen[normal])
            yield where, f"mount path {mount_path} is already used by {first}" + (" (GPU components get /dev/shm)" if where == ("gpu",) or seen[normal] == ("gpu",) else "")
        else:
            seen[normal] = where


def _limit_problems(c: dict) -> Iterator[Problem]:
    resources = c.get("resources") or {}
    for request_key, limit_key in (("memory", "memoryLimit"), ("cpu", "cpuLimit")):
        request, limit = resources.get(request_key), resources.get(limit_key)
        if request is None or limit is None:
            continue
        try:
            if parse_quantity(limit) < parse_quantity(request):
                yield ("resources", limit_key), f"{limit_key} ({limit}) is below the {request_key} request ({request}): the pod would be rejected"
        except QuantityError:
            continue  # the schema reports malformed quantities


def _secret_problems(c: dict) -> Iterator[Problem]:
    """Secret values wherever the spec writes text that reaches an output."""
    yield from _container_secrets(c, ())
    for list_name in CONTAINER_LISTS:
        for index, container in enumerate(c.get(list_name) or []):
            if isinstance(container, dict):
                yield from _container_secrets(container, (list_name, index))
    for key, value in ((c.get("config") or {}).get("data") or {}).items():
        reason = content_secret(str(key), str(value)) if not isinstance(value, bool) else None
        if reason:
            yield ("config", "data", key), RedactedMessage(f"{reason} (value redacted): ConfigMaps are not secret; {_USE_SECRET_FILE}")
    for file_path, body in (c.get("files") or {}).items():
        content = body.get("content") if isinstance(body, dict) else None
        reason = content_secret(str(file_path), content) if isinstance(content, str) else None
        if reason:
            yield ("files", file_path, "content"), RedactedMessage(f"{reason} (value redacted): {_USE_SECRET_FILE}")


_USE_SECRET_FILE = "put the file in a Secret and mount it (files: {PATH: {secret: NAME, key: KEY}})"


def _container_secrets(container: dict, at: JsonPath) -> Iterator[Problem]:
    env = container.get("env")
    for var, value in env.items() if isinstance(env, dict) else ():
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            reason = setting_secret(str(var), str(value))
            if reason:
                yield (*at, "env", var), RedactedMessage(f"{reason} (value redacted): a spec holds references only; put the value in a "
                                                         f"Secret and write {var}: {{secretRef: {{name: SECRET, key: KEY}}}}")
    argv_at = [(key, index) for key in ("command", "args") for index, _ in enumerate(container.get(key) or [])]
    argv = [str(container[key][index]) for key, index in argv_at]
    for position, what in secret_arguments(argv):
        key, index = argv_at[position]
        yield (*at, key, index), RedactedMessage(f"{what} (redacted): put the value in a Secret, add env: {{VAR: {{secretRef: "
                                                 f"{{name: SECRET, key: KEY}}}}}} and pass $(VAR), or mount it and pass the file's path")


def _at(data: dict, path: JsonPath) -> Any:
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data
