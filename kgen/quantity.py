"""Kubernetes resource quantities, parsed and compared exactly (as apimachinery does)."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

_SUFFIXES: dict[str, Fraction] = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}
_QUANTITY = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)")


class QuantityError(ValueError):
    """A value that is not a Kubernetes quantity."""


def parse_quantity(value: Any) -> Fraction:
    """Exact value of a quantity such as ``500m``, ``1.5Gi``, ``2e3`` or a YAML number."""
    if isinstance(value, bool) or value is None:
        raise QuantityError(f"{value!r} is not a quantity")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise QuantityError(f"{value!r} is not a quantity")
        return Fraction(str(value))
    if not isinstance(value, str):
        raise QuantityError(f"{value!r} is not a quantity")
    match = _QUANTITY.fullmatch(value.strip())
    if not match:
        raise QuantityError(f"{value!r} is not a quantity")
    number, exponent, suffix = match.groups()
    amount = Fraction(number)
    if exponent:
        power = int(exponent[1:])
        if abs(power) > 100:
            raise QuantityError(f"{value!r} is out of range")
        return amount * Fraction(10) ** power
    return amount * _SUFFIXES[suffix or ""]


def try_quantity(value: Any) -> Fraction | None:
    """The quantity, or None when ``value`` is missing or malformed (other rules report that)."""
    try:
        return parse_quantity(value)
    except QuantityError:
        return None


_BINARY = [("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)]
_DECIMAL = [("E", 10**18), ("P", 10**15), ("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3)]


def format_quantity(amount: Fraction, resource: str = "") -> str:
    """A short, exact, human form: cpu in cores or millicores, memory in binary units."""
    if amount.denominator != 1:
        milli = amount * 1000
        if milli.denominator == 1:
            return f"{milli.numerator}m"
        return f"{float(amount):.6g}"
    whole = amount.numerator
    if whole == 0:
        return "0"
    units = _BINARY if ("memory" in resource or "storage" in resource) else _DECIMAL
    if resource.endswith("cpu") or "gpu" in resource or "/" in resource:
        units = []
    for suffix, size in units:
        if whole % size == 0:
            return f"{whole // size}{suffix}"
    return str(whole)
