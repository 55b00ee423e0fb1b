"""Kubernetes quantities: exact values, apimachinery's rounding and caps, exact formatting."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from kgen.quantity import (
    MAX_INT64,
    NANO,
    QuantityError,
    format_quantity,
    parse_quantity,
    round_for_scheduler,
    try_quantity,
)

KI = 2**10
SUFFIXES = {
    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18), "Ki": Fraction(KI), "Mi": Fraction(KI**2),
    "Gi": Fraction(KI**3), "Ti": Fraction(KI**4), "Pi": Fraction(KI**5), "Ei": Fraction(KI**6),
}  # fmt: skip
RESOURCES = ["", "cpu", "memory", "requests.memory", "limits.cpu", "nvidia.com/gpu", "ephemeral-storage", "pods", "hugepages-2Mi", "example.com/widget"]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("500m", Fraction(1, 2)),
        ("1", Fraction(1)),
        ("0", Fraction(0)),
        ("1.5Gi", Fraction(3 * 2**29)),
        ("128974848", Fraction(128974848)),
        ("129e6", Fraction(129 * 10**6)),
        ("129M", Fraction(129 * 10**6)),
        ("123Mi", Fraction(123 * 2**20)),
        ("2e3", Fraction(2000)),
        ("2E3", Fraction(2000)),  # E followed by digits is an exponent ...
        ("2E", Fraction(2 * 10**18)),  # ... alone it is exa
        ("1e-3", Fraction(1, 1000)),
        ("1e+3", Fraction(1000)),
        (".5", Fraction(1, 2)),
        ("1.", Fraction(1)),
        ("+1k", Fraction(1000)),
        ("-250m", Fraction(-1, 4)),
        ("100u", Fraction(1, 10**4)),
        ("7n", 7 * NANO),
        ("0.1n", NANO),  # rounded up to the smallest quantity, never to zero
        ("1e-12", NANO),
        ("-1e-12", -NANO),
        ("1.0000000001", Fraction(1) + NANO),
        ("0.0e-100", Fraction(0)),
        (" 2Gi ", Fraction(2 * 2**30)),
        ("9223372036854775808", Fraction(MAX_INT64)),  # suffixed and plain values are capped
        ("10Ei", Fraction(MAX_INT64)),
        ("1e30", Fraction(10**30)),  # exponent forms are not
        (3, Fraction(3)),
        (0.5, Fraction(1, 2)),
        (0.1, Fraction(1, 10)),
        (1e20, Fraction(10**20)),
        (2**70, Fraction(MAX_INT64)),
    ],
)
def test_parse_table(text: object, expected: Fraction) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", " ", "1e", "e3", "1.5.5", "Ki", "k", "-", ".", "1 Gi", "1ki", "1KI", "1K", "1mi", "abc", "1e1.5", "--1", "1Gi1", "0x10", "1_000", "∞"],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)
    assert try_quantity(text) is None


@pytest.mark.parametrize("value", [None, True, False, [], {}, float("nan"), float("inf")])
def test_parse_rejects_non_quantities(value: object) -> None:
    assert try_quantity(value) is None


def test_huge_exponent_is_out_of_range() -> None:
    with pytest.raises(QuantityError, match="out of range"):
        parse_quantity("1e5000")


@pytest.mark.parametrize(
    "amount,resource,text",
    [
        (Fraction(1, 2), "cpu", "500m"),
        (Fraction(2), "cpu", "2"),
        (Fraction(64), "requests.cpu", "64"),
        (Fraction(3 * 2**29), "memory", "1536Mi"),
        (Fraction(2**40), "requests.memory", "1Ti"),
        (Fraction(1500 * 10**6), "memory", "1500M"),
        (Fraction(1000), "memory", "1k"),
        (Fraction(1001), "memory", "1001"),
        (Fraction(8), "nvidia.com/gpu", "8"),
        (Fraction(2048), "nvidia.com/gpu", "2048"),
        (Fraction(110), "pods", "110"),
        (Fraction(1, 3), "cpu", "333333334n"),  # rounded up to 1n, as the API server would
        (Fraction(0), "memory", "0"),
        (Fraction(-1, 4), "cpu", "-250m"),
        (Fraction(2**30), "", "1Gi"),
        (Fraction(10**9), "", "1G"),
        (Fraction(50 * 2**30), "requests.storage", "50Gi"),
        (Fraction(2**63), "memory", "9223372036854775808e0"),
        (Fraction(10**30), "cpu", "1e30"),
        (Fraction(10**20) + Fraction(1, 2), "cpu", "1000000000000000000005e-1"),
    ],
)
def test_format_table(amount: Fraction, resource: str, text: str) -> None:
    assert format_quantity(amount, resource) == text


@pytest.mark.parametrize(
    "resource,amount,expected",
    [
        ("cpu", Fraction(1, 3), Fraction(334, 1000)),
        ("cpu", Fraction(1, 2), Fraction(1, 2)),
        ("memory", Fraction(1, 2), Fraction(1)),
        ("nvidia.com/gpu", Fraction(2), Fraction(2)),
    ],
)
def test_round_for_scheduler(resource: str, amount: Fraction, expected: Fraction) -> None:
    assert round_for_scheduler(resource, amount) == expected


# --- properties -----------------------------------------------------------------------------------

nanos = st.integers(min_value=-(10**24), max_value=10**24).map(lambda n: n * NANO)
digits = st.integers(min_value=0, max_value=10**12)
suffixes = st.sampled_from(sorted(SUFFIXES))
resources = st.sampled_from(RESOURCES)


def _ceil_nano(value: Fraction) -> Fraction:
    """Expected rounding, written independently: away from zero to a multiple of 1n."""
    scaled = abs(value) / NANO
    whole = scaled.numerator // scaled.denominator + (1 if scaled.denominator != 1 else 0)
    return whole * NANO * (1 if value >= 0 else -1)


@given(whole=digits, frac=st.text("0123456789", max_size=12), suffix=suffixes, negative=st.booleans())
def test_parse_is_exact(whole: int, frac: str, suffix: str, negative: bool) -> None:
    text = f"{'-' if negative else ''}{whole}{'.' + frac if frac else ''}{suffix}"
    exact = Fraction(f"{whole}.{frac or '0'}") * SUFFIXES[suffix] * (-1 if negative else 1)
    expected = max(Fraction(-MAX_INT64), min(Fraction(MAX_INT64), _ceil_nano(exact)))
    assert parse_quantity(text) == expected


@given(mantissa=st.integers(min_value=-(10**6), max_value=10**6), exponent=st.integers(min_value=-30, max_value=30))
def test_parse_exponent(mantissa: int, exponent: int) -> None:
    assert parse_quantity(f"{mantissa}e{exponent}") == _ceil_nano(Fraction(mantissa) * Fraction(10) ** exponent)


@given(amount=nanos, resource=resources)
def test_format_round_trips(amount: Fraction, resource: str) -> None:
    assert parse_quantity(format_quantity(amount, resource)) == amount


@given(amount=st.fractions(max_denominator=10**12), resource=resources)
def test_format_of_any_fraction_reads_back_rounded_up(amount: Fraction, resource: str) -> None:
    assert parse_quantity(format_quantity(amount, resource)) == _ceil_nano(amount)


@given(a=nanos, b=nanos, resource=resources)
def test_order_survives_formatting(a: Fraction, b: Fraction, resource: str) -> None:
    pa, pb = parse_quantity(format_quantity(a, resource)), parse_quantity(format_quantity(b, resource))
    assert (pa < pb) == (a < b) and (pa == pb) == (a == b)


@given(n=st.integers(min_value=0, max_value=10**9), s1=suffixes, s2=suffixes)
def test_order_follows_suffix_size(n: int, s1: str, s2: str) -> None:
    q1, q2 = parse_quantity(f"{n}{s1}"), parse_quantity(f"{n}{s2}")
    if n and SUFFIXES[s1] * n <= MAX_INT64 and SUFFIXES[s2] * n <= MAX_INT64:
        assert (q1 < q2) == (SUFFIXES[s1] < SUFFIXES[s2])


@given(items=st.lists(st.tuples(digits, suffixes), max_size=8))
def test_sums_are_exact(items: list[tuple[int, str]]) -> None:
    texts = [f"{n}{suffix}" for n, suffix in items]
    total = sum((parse_quantity(t) for t in texts), Fraction(0))
    assert total == sum((min(Fraction(MAX_INT64), n * SUFFIXES[s]) for n, s in items), Fraction(0))
    assert parse_quantity(format_quantity(total)) == total


def test_equal_across_units() -> None:
    assert parse_quantity("1Gi") == parse_quantity("1024Mi") == parse_quantity("1073741824") == parse_quantity("1.073741824G")
    assert parse_quantity("1k") < parse_quantity("1Ki")
    assert parse_quantity("1000m") == parse_quantity("1") == parse_quantity("1e0") == parse_quantity(1)
