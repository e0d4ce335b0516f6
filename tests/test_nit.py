"""NIT validation: the DIAN modulo-11 check digit, normalization and clear refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from soporte.policy.nit import InvalidNit, check_digit, normalize_nit, validate_nit

# Real NITs of well-known Colombian companies, as published.
KNOWN = {
    "800197268-4": "DIAN",
    "860034313-7": "Banco Davivienda",
    "899999068-1": "Ecopetrol",
}


@pytest.mark.parametrize("nit", sorted(KNOWN))
def test_known_nits_have_the_published_check_digit(nit: str) -> None:
    base, digit = nit.split("-")
    assert check_digit(base) == int(digit)
    assert validate_nit(nit) == nit


def test_weights_start_at_the_rightmost_digit() -> None:
    # Only the rightmost base digit set: its weight is 3, so 1 * 3 = 3 -> 11 - 3 = 8.
    assert check_digit("000001") == 8
    # Only the leftmost of six digits set: its weight is 23 -> 23 % 11 = 1 -> 1.
    assert check_digit("100000") == 1
    # Remainder 0 and 1 are the digit itself.
    assert check_digit("000000") == 0
    assert check_digit("900123456") == 8


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("900.123.456-8", "900123456-8"),
        ("  800 197 268 - 4 ", "800197268-4"),
        ("860.034.313-7", "860034313-7"),
        ("899999068-1", "899999068-1"),
    ],
)
def test_normalization_drops_dots_and_spaces(raw: str, expected: str) -> None:
    assert normalize_nit(raw) == expected
    assert validate_nit(raw) == expected


def test_wrong_check_digit_names_the_expected_digit() -> None:
    with pytest.raises(InvalidNit) as caught:
        validate_nit("900123456-0")
    expected = "NIT 900123456-0 has check digit 0; the DIAN check digit for 900123456 is 8"
    assert str(caught.value) == expected
    assert caught.value.expected == 8


def test_wrong_check_digit_after_normalization_shows_the_clean_nit() -> None:
    with pytest.raises(InvalidNit, match=r"NIT 800197268-5 .* for 800197268 is 4"):
        validate_nit("800.197.268-5")


def test_invalid_nit_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        validate_nit("abc")


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("90012345A-8", "only digits"),
        ("NIT 900123456-8", "only digits"),
        ("900123456_8", "only digits"),
        ("9001234568", "no dash"),
        ("900123456", "no dash"),
        ("12345-6", "6 to 15 digits"),
        ("1-9", "6 to 15 digits"),
        ("1234567890123456-1", "6 to 15 digits"),
        ("900123456-", "one check digit"),
        ("900123456-88", "one check digit"),
        ("-8", "no base digits"),
        ("900-123-456-8", "more than one dash"),
        ("", "empty"),
        ("   ", "empty"),
        ("９００１２３４５６-8", "only digits"),  # fullwidth digits are not ASCII digits
    ],
)
def test_malformed_nits_are_refused_naming_the_rule(raw: str, rule: str) -> None:
    with pytest.raises(InvalidNit) as caught:
        validate_nit(raw)
    assert rule in str(caught.value)
    assert caught.value.expected is None


def test_non_text_is_refused() -> None:
    with pytest.raises(InvalidNit, match="must be text"):
        validate_nit(900123456)  # type: ignore[arg-type]


@pytest.mark.parametrize("base", ["", "12a", "1234567890123456", "١٢٣٤٥٦"])
def test_check_digit_refuses_bad_bases(base: str) -> None:
    with pytest.raises(InvalidNit):
        check_digit(base)


bases = st.integers(10**5, 10**15 - 1).map(str)  # no leading zero (see below)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0900111222-1", "900111222-1"),
        ("000.900.111.222-1", "900111222-1"),
        ("900111222-1", "900111222-1"),
    ],
)
def test_leading_zeros_are_dropped_before_the_check(raw: str, expected: str) -> None:
    assert check_digit("900111222") == 1
    assert validate_nit(raw) == expected


def test_a_base_short_without_its_zeros_is_refused() -> None:
    with pytest.raises(InvalidNit, match="has 3 digits"):
        validate_nit("000000123-1")


@given(base=bases, zeros=st.integers(1, 3))
def test_leading_zeros_never_make_another_nit(base: str, zeros: int) -> None:
    nit = f"{base}-{check_digit(base)}"
    assert validate_nit("0" * zeros + nit) == nit


@given(base=bases)
def test_round_trip_with_the_computed_digit(base: str) -> None:
    digit = check_digit(base)
    assert 0 <= digit <= 9
    assert validate_nit(f"{base}-{digit}") == f"{base}-{digit}"


@given(base=bases, data=st.data())
def test_any_other_digit_is_refused(base: str, data: st.DataObject) -> None:
    right = check_digit(base)
    wrong = data.draw(st.integers(0, 9).filter(lambda d: d != right), label="wrong digit")
    with pytest.raises(InvalidNit) as caught:
        validate_nit(f"{base}-{wrong}")
    assert caught.value.expected == right
    assert f"the DIAN check digit for {base} is {right}" in str(caught.value)


@given(base=bases)
def test_grouping_with_dots_does_not_change_the_result(base: str) -> None:
    grouped = ".".join(base[max(0, i - 3) : i] for i in range(len(base), 0, -3)[::-1])
    nit = f"{base}-{check_digit(base)}"
    assert validate_nit(f"{grouped}-{check_digit(base)}") == nit
