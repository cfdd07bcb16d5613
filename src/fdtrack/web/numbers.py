"""Whole numbers typed into addresses (page, limit, entry number): ASCII digits, bounded before conversion."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]{1,18}")  # isdigit() also passes "²", which int() refuses, as it does 5,000 digits


def whole_number(text: str, low: int, high: int) -> int | None:
    """The number, or None when the text is not a whole number from low to high."""
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if low <= number <= high else None
