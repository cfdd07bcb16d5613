"""RFC 3339 timestamps: an offset is required, values become UTC, output carries a 'Z'."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.timestamps import format_rfc3339, format_seconds, parse_rfc3339

FAST = settings(max_examples=150, deadline=None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-11-05T14:03:22Z", datetime(2021, 11, 5, 14, 3, 22, tzinfo=UTC)),
        ("2021-11-05t14:03:22z", datetime(2021, 11, 5, 14, 3, 22, tzinfo=UTC)),
        ("2021-11-05 14:03:22Z", datetime(2021, 11, 5, 14, 3, 22, tzinfo=UTC)),
        ("2021-11-05T15:03:22+01:00", datetime(2021, 11, 5, 14, 3, 22, tzinfo=UTC)),
        ("2021-11-05T08:33:22-05:30", datetime(2021, 11, 5, 14, 3, 22, tzinfo=UTC)),
        ("2021-11-05T14:03:22.5Z", datetime(2021, 11, 5, 14, 3, 22, 500_000, tzinfo=UTC)),
        ("2021-11-05T14:03:22.123456789Z", datetime(2021, 11, 5, 14, 3, 22, 123_456, tzinfo=UTC)),
        ("  2021-11-05T14:03:22Z\n", datetime(2021, 11, 5, 14, 3, 22, tzinfo=UTC)),
    ],
)
def test_timestamps_with_an_offset_are_read_as_utc(text: str, expected: datetime) -> None:
    parsed = parse_rfc3339(text, "occurred_at")
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["2021-11-05T14:03:22", "2021-11-05T14:03:22.250", "2021-11-05 14:03:22"])
def test_naive_times_are_invalid(text: str) -> None:
    with pytest.raises(InvalidInput, match="naive") as raised:
        parse_rfc3339(text, "occurred_at")
    assert raised.value.field == "occurred_at"


@pytest.mark.parametrize(
    "text",
    [
        "2021-11-05",
        "14:03:22Z",
        "2021-11-05T14:03Z",
        "2021-02-30T00:00:00Z",
        "2021-11-05T24:00:00Z",
        "2021-11-05T14:03:60Z",
        "2021-11-05T14:03:22+25:00",
        "2021-11-05T14:03:22+0100",
        "2021-11-05T14:03:22 UTC",
        "1636121002",
        "0001-01-01T00:00:00+01:00",  # before the first representable instant in UTC
        "9999-12-31T23:59:59-01:00",  # after the last one
    ],
)
def test_malformed_or_impossible_timestamps_are_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_rfc3339(text, "occurred_at")
    assert raised.value.field == "occurred_at"
    assert "2026-11-05T14:03:22Z" in raised.value.problem or "valid date" in raised.value.problem


@pytest.mark.parametrize("value", [None, "", "  ", 1636121002, ["2021-11-05T14:03:22Z"]])
def test_a_missing_or_non_text_timestamp_is_reported_as_required(value: object) -> None:
    with pytest.raises(InvalidInput, match="is required"):
        parse_rfc3339(value, "occurred_at")


def test_output_is_utc_with_a_z_and_microseconds_only_when_there_are_any() -> None:
    plus_one = timezone(timedelta(hours=1))
    assert format_rfc3339(datetime(2021, 11, 5, 15, 3, 22, tzinfo=plus_one)) == "2021-11-05T14:03:22Z"
    assert format_rfc3339(datetime(2021, 11, 5, 14, 3, 22, 1, tzinfo=UTC)) == "2021-11-05T14:03:22.000001Z"


def test_the_seconds_form_drops_fractions() -> None:
    moment = datetime(2021, 11, 5, 9, 3, 22, 999_999, tzinfo=timezone(timedelta(hours=-5)))
    assert format_seconds(moment) == "2021-11-05T14:03:22Z"


@FAST
@given(st.datetimes(timezones=st.just(UTC)))
def test_formatted_timestamps_read_back_unchanged(moment: datetime) -> None:
    assert parse_rfc3339(format_rfc3339(moment), "occurred_at") == moment


@FAST
@given(
    st.one_of(
        st.text(),
        st.from_regex(
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}"
            r"(\.[0-9]{1,12})?([Zz]|[+-][0-9]{2}:[0-9]{2})?",
            fullmatch=True,
        ),
    )
)
def test_arbitrary_text_never_raises_anything_but_invalid_input(text: str) -> None:
    with contextlib.suppress(InvalidInput):
        parse_rfc3339(text, "occurred_at")


def test_years_before_1000_are_written_with_four_digits() -> None:
    moment = datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert format_rfc3339(moment) == "0999-01-02T03:04:05Z"
    assert format_seconds(moment) == "0999-01-02T03:04:05Z"
