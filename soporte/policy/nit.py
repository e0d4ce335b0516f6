"""Colombian NIT (tax id) validation: pure, standard library only.

A NIT is written `800197268-4`: 6 to 15 base digits, a dash, and the DIAN check
digit. The check digit is computed modulo 11: the base digits are weighted
3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71 starting from the
rightmost base digit (rightmost x 3, the next x 7, ...); with r the remainder of
the weighted sum divided by 11, the check digit is r when r is 0 or 1, else 11 - r.
"""

from __future__ import annotations

import re

__all__ = [
    "BASE_MAX_DIGITS",
    "BASE_MIN_DIGITS",
    "EXAMPLE",
    "InvalidNit",
    "check_digit",
    "normalize_nit",
    "validate_nit",
]

WEIGHTS: tuple[int, ...] = (3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71)
BASE_MIN_DIGITS = 6
BASE_MAX_DIGITS = len(WEIGHTS)  # 15
EXAMPLE = "800197268-4"  # the DIAN's own NIT

_FORMAT = f"the base digits, a dash and the DIAN check digit, e.g. {EXAMPLE}"
_DIGITS = re.compile(r"[0-9]+")
_SEPARATORS = re.compile(r"[\s.]+")
_ALLOWED = re.compile(r"[0-9.\s-]+")


class InvalidNit(ValueError):
    """A NIT that breaks a rule; the message names the rule (and the expected digit)."""

    def __init__(self, message: str, *, expected: int | None = None) -> None:
        super().__init__(message)
        self.expected = expected


def check_digit(base: str) -> int:
    """The DIAN check digit of `base`, the NIT's digits before the dash."""
    if not isinstance(base, str) or not _DIGITS.fullmatch(base):
        raise InvalidNit(f"NIT base {base!r} must be digits only (0-9)")
    if len(base) > BASE_MAX_DIGITS:
        raise InvalidNit(
            f"NIT base {base} has {len(base)} digits; a NIT base has at most "
            f"{BASE_MAX_DIGITS} digits"
        )
    # Fewer base digits than weights is the rule, hence strict=False.
    pairs = zip(reversed(base), WEIGHTS, strict=False)
    total = sum(int(digit) * weight for digit, weight in pairs)
    remainder = total % 11
    return remainder if remainder in (0, 1) else 11 - remainder


def normalize_nit(raw: str) -> str:
    """`900.123.456 - 8` -> `900123456-8`: dots, spaces and leading zeros dropped, the
    shape checked. `0900123456-8` is `900123456-8` (zeros on the left weigh nothing in
    the check digit), so one company never registers twice.

    Checks the shape only (digits, one dash, one check digit, base length of the base
    without its leading zeros); `validate_nit` also checks the check digit.
    """
    if not isinstance(raw, str):
        raise InvalidNit(f"NIT must be text like {EXAMPLE}, not {type(raw).__name__}")
    text = raw.strip()
    if not text:
        raise InvalidNit(f"NIT is empty; write {_FORMAT}")
    if not _ALLOWED.fullmatch(text):
        raise InvalidNit(
            f"NIT {text!r} may contain only digits, dots, spaces and one dash; write {_FORMAT}"
        )
    compact = _SEPARATORS.sub("", text)
    parts = compact.split("-")
    if len(parts) == 1:
        raise InvalidNit(f"NIT {text!r} has no dash before the check digit; write {_FORMAT}")
    if len(parts) > 2:
        raise InvalidNit(f"NIT {text!r} has more than one dash; write {_FORMAT}")
    written_base, digit = parts
    if not written_base:
        raise InvalidNit(f"NIT {text!r} has no base digits before the dash; write {_FORMAT}")
    base = written_base.lstrip("0")
    if len(digit) != 1:
        raise InvalidNit(
            f"NIT {text!r} must have exactly one check digit after the dash, "
            f"found {len(digit)}; write {_FORMAT}"
        )
    if not BASE_MIN_DIGITS <= len(base) <= BASE_MAX_DIGITS:
        raise InvalidNit(
            f"NIT base {base} has {len(base)} digits; a NIT base has "
            f"{BASE_MIN_DIGITS} to {BASE_MAX_DIGITS} digits"
        )
    return f"{base}-{digit}"


def validate_nit(raw: str) -> str:
    """The normalized NIT if its shape and DIAN check digit are right, else `InvalidNit`."""
    nit = normalize_nit(raw)
    base, written = nit.split("-")
    expected = check_digit(base)
    if int(written) != expected:
        raise InvalidNit(
            f"NIT {nit} has check digit {written}; the DIAN check digit for {base} is {expected}",
            expected=expected,
        )
    return nit
