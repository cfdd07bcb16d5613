"""Whole numbers typed into addresses: only ASCII digits within bounds, never an exception."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fdtrack.web.numbers import whole_number


@pytest.mark.parametrize(("text", "expected"), [("1", 1), ("0042", 42), ("1000", 1000)])
def test_digits_within_bounds_are_the_number(text: str, expected: int) -> None:
    assert whole_number(text, 1, 1000) == expected


@pytest.mark.parametrize("text", ["", "0", "1001", "²", "١٢", "1.0", "-1", "+1", " 1", "1e3", "9" * 5_000, "0x10"])
def test_anything_else_is_not_a_whole_number(text: str) -> None:
    assert whole_number(text, 1, 1000) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_any_text_is_a_number_in_bounds_or_none(text: str) -> None:
    number = whole_number(text, 1, 10**6)
    assert number is None or (1 <= number <= 10**6 and str(number) == text.lstrip("0"))
