"""Text no database can hold (NUL, lone surrogates): refused in data, replaced in kept evidence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.reset import validate_reset_reason
from fdtrack.domain.text import REPLACEMENT, require_storable, storable

FAST = settings(max_examples=200, deadline=None)


@pytest.mark.parametrize(
    ("value", "problem"), [("a\x00b", "NUL"), ("\ud800", "not valid Unicode"), ("x\udfff", "Unicode")]
)
def test_unstorable_text_is_refused_naming_the_field(value: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        require_storable(value, "reason")
    assert refused.value.field == "reason"
    assert problem in refused.value.problem


def test_a_reset_reason_with_a_nul_is_refused_as_the_reason() -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_reset_reason("stuck\x00")
    assert refused.value.field == "reason"


@FAST
@given(st.text())
def test_storable_text_encodes_as_utf_8_without_nul_and_keeps_everything_else(value: str) -> None:
    kept = storable(value)
    assert "\x00" not in kept
    kept.encode("utf-8")
    assert len(kept) == len(value)
    assert [a for a, b in zip(value, kept, strict=True) if a != b] == [
        char for char in value if char == "\x00" or "\ud800" <= char <= "\udfff"
    ]
    assert require_storable(kept, "raw") == kept
    assert set(kept) - set(value) <= {REPLACEMENT}
