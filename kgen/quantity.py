"""Kubernetes resource quantities, parsed and compared exactly (as apimachinery does).

Semantics follow ``k8s.io/apimachinery/pkg/api/resource.ParseQuantity``:

- ``<sign?><digits>[.<digits>]`` (``1.``, ``.5`` allowed) followed by a binary suffix
  (``Ki``..``Ei``), a decimal suffix (``n u m "" k M G T P E``) or a decimal exponent
  (``e3``, ``E-2``; the exponent is an integer, ``1E`` is one exa);
- the magnitude is rounded *up* to a multiple of 1n (the smallest quantity), so a
  non-zero request never becomes zero;
- suffixed and plain values are capped at 2^63-1 (exponent-form values are not);
- YAML numbers (``2``, ``0.5``) are read as their decimal text, like the API server's
  JSON decoding does; surrounding whitespace is ignored for the same reason.

Stricter than Kubernetes in two corners on purpose: a bare sign, a bare ``.`` or a bare
suffix (``k``), which apimachinery reads as 0, are rejected, and exponents beyond
±4096 are "out of range" rather than numbers with thousands of digits.

Amounts are :class:`fractions.Fraction`, so sums and comparisons are exact.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache
from typing import Any

NANO = Fraction(1, 10**9)
MAX_INT64 = 2**63 - 1
_MAX_EXPONENT = 4096

_DECIMAL_SUFFIXES: dict[str, Fraction] = {
    "n": NANO,
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_BINARY_SUFFIXES: dict[str, Fraction] = {
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:[eE](?P<exponent>[+-]?[0-9]+)|(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)"
)


class QuantityError(ValueError):
    """A value that is not a Kubernetes quantity."""


def _round_up_to_nano(amount: Fraction) -> Fraction:
    """Away from zero to the next multiple of 1n, as ParseQuantity rounds (inf.RoundUp)."""
    if (amount / NANO).denominator == 1:
        return amount
    nanos = math.ceil(abs(amount) / NANO)
    return (nanos if amount > 0 else -nanos) * NANO


def parse_quantity(value: Any) -> Fraction:
    """Exact value of a quantity such as ``500m``, ``1.5Gi``, ``2e3`` or a YAML number."""
    if isinstance(value, bool) or value is None:
        raise QuantityError(f"{value!r} is not a quantity")
    if isinstance(value, int):
        return Fraction(max(-MAX_INT64, min(MAX_INT64, value)))
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise QuantityError(f"{value!r} is not a quantity")
        value = repr(value)  # the shortest text that reads back as this float, e.g. "0.1", "1e+20"
    if not isinstance(value, str):
        raise QuantityError(f"{value!r} is not a quantity")
    return _parse_text(value)


@lru_cache(maxsize=4096)
def _parse_text(value: str) -> Fraction:
    """Manifests repeat the same few quantities ("100m", "128Mi") thousands of times: parse each once."""
    match = _QUANTITY.fullmatch(value.strip())
    if not match:
        raise QuantityError(f"{value!r} is not a quantity")
    number, exponent = match.group("number"), match.group("exponent")
    amount = Fraction(number)
    if exponent is not None:
        power = int(exponent)
        if power > _MAX_EXPONENT:
            raise QuantityError(f"{value!r} is out of range")
        if power < -(9 + len(number)):  # certainly below 1n: rounds up to ±1n (or stays 0)
            return (1 if amount > 0 else -1 if amount < 0 else 0) * NANO
        return _round_up_to_nano(amount * Fraction(10) ** power)
    suffix = match.group("suffix") or ""
    scaled = _round_up_to_nano(amount * (_BINARY_SUFFIXES.get(suffix) or _DECIMAL_SUFFIXES[suffix]))
    return max(Fraction(-MAX_INT64), min(Fraction(MAX_INT64), scaled))


def try_quantity(value: Any) -> Fraction | None:
    """The quantity, or None when ``value`` is missing or malformed (other rules report that)."""
    try:
        return parse_quantity(value)
    except QuantityError:
        return None


def round_for_scheduler(resource: str, amount: Fraction) -> Fraction:
    """What the scheduler counts: cpu in whole millicores, anything else in whole units (rounded up).

    kube-scheduler sums ``MilliValue()`` for cpu and ``Value()`` otherwise, both of which round up.
    """
    step = Fraction(1, 1000) if resource == "cpu" else Fraction(1)
    return math.ceil(amount / step) * step


_BINARY = sorted(_BINARY_SUFFIXES.items(), key=lambda item: -item[1])
_DECIMAL = [(s, f) for s, f in sorted(_DECIMAL_SUFFIXES.items(), key=lambda item: -item[1]) if f > 1]
_FRACTIONAL = [("m", Fraction(1, 1000)), ("u", Fraction(1, 10**6)), ("n", NANO)]


def _byte_like(resource: str) -> bool:
    name = resource.rsplit(".", 1)[-1]
    return any(word in name for word in ("memory", "storage", "hugepages"))


def _count_like(resource: str) -> bool:
    """cpu, GPUs, extended resources and object counts read best as plain numbers."""
    return resource.endswith("cpu") or "/" in resource or resource in ("pods", "services") or "." in resource


def _with_suffix(whole: int, units: list[tuple[str, Fraction]]) -> str | None:
    for suffix, size in units:
        if whole % int(size) == 0:
            return f"{whole // int(size)}{suffix}"
    return None


def _exponent_form(amount: Fraction) -> str:
    mantissa, exponent = int(amount / NANO), -9
    while mantissa % 10 == 0:
        mantissa, exponent = mantissa // 10, exponent + 1
    return f"{mantissa}e{exponent}"


def format_quantity(amount: Fraction, resource: str = "") -> str:
    """An exact quantity text that parses back to ``amount`` (rounded up to 1n first, like Kubernetes).

    Memory-like resources use binary suffixes (then decimal ones) when exact, cpu and counts plain
    numbers, fractions the coarsest of m/u/n that is exact; other resources the shortest exact form.
    Beyond 2^63-1 (sums across a cluster) the exponent form, which Kubernetes does not cap.
    """
    amount = _round_up_to_nano(Fraction(amount))
    if abs(amount) > MAX_INT64:  # suffixed forms would be capped when read back; exponents are not
        return _exponent_form(amount)
    if amount.denominator != 1:
        for suffix, size in _FRACTIONAL:
            scaled = amount / size
            if scaled.denominator == 1:
                return f"{scaled.numerator}{suffix}"
    whole = amount.numerator
    if whole == 0:
        return "0"
    plain = str(whole)
    if _count_like(resource) and not _byte_like(resource):
        return plain
    binary = _with_suffix(whole, _BINARY)
    decimal = _with_suffix(whole, _DECIMAL)
    if _byte_like(resource):
        return binary or decimal or plain
    return min((text for text in (binary, decimal, plain) if text), key=len)
