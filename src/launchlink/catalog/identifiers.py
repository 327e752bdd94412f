"""Release identifiers: UPC/EAN barcodes (with check digits) and ISRCs."""

from __future__ import annotations

import re

_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{2}[0-9]{5}$")


class IdentifierError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def gtin_check_digit(body: str) -> int:
    """GS1 check digit for the digits before it (UPC-A, EAN-13 and GTIN-14 alike)."""
    total = 0
    for index, char in enumerate(reversed(body)):
        total += int(char) * (3 if index % 2 == 0 else 1)
    return (10 - total % 10) % 10


def normalize_upc(value: str) -> str:
    """Validate a UPC-A (12), EAN-13 (13) or GTIN-14 (14) barcode; returns its digits.

    Spaces and hyphens are tolerated; the check digit must be right, because a wrong
    UPC means the release is never found on release day.
    """
    digits = re.sub(r"[\s-]", "", value)
    if not digits.isdigit() or not digits.isascii():
        raise IdentifierError("a UPC has digits only")
    if len(digits) not in (12, 13, 14):
        raise IdentifierError(f"a UPC has 12 (UPC-A), 13 (EAN) or 14 digits, not {len(digits)}")
    expected = gtin_check_digit(digits[:-1])
    if int(digits[-1]) != expected:
        raise IdentifierError(
            f"UPC check digit is wrong: {digits[-1]} given, {expected} expected; check for a typo"
        )
    return digits


def normalize_isrc(value: str) -> str:
    """Validate an ISRC (CC-XXX-YY-NNNNN); hyphens and spaces are tolerated."""
    compact = re.sub(r"[\s-]", "", value).upper()
    if not _ISRC.match(compact):
        raise IdentifierError(
            "an ISRC is 12 characters: country (2 letters), registrant (3), year (2 digits), "
            "designation (5 digits), e.g. USRC17607839"
        )
    return compact
