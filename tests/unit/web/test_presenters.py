"""How results are laid out: the stacked bar's segments, UTC labels and the Completion Status filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.statuses import CompletionStatus
from fdtrack.web.presenters import BAR_WIDTH, bar_segments, format_utc, parse_completion


def test_segments_fill_the_bar_in_proportion_and_skip_empty_statuses() -> None:
    segments = bar_segments([("A", 1, "#000"), ("B", 0, "#111"), ("C", 3, "#222")])
    assert [s.label for s in segments] == ["A", "C"]
    assert segments[0].x == 0
    assert segments[0].width == BAR_WIDTH / 4
    assert segments[1].x == BAR_WIDTH / 4
    assert segments[1].x + segments[1].width == BAR_WIDTH
    assert [s.percent for s in segments] == ["25.0%", "75.0%"]


def test_a_tiny_share_is_still_visible_in_the_percentages() -> None:
    segments = bar_segments([("rare", 1, "#000"), ("common", 49_999, "#111")])
    assert segments[0].percent == "<0.1%"


def test_times_are_shown_in_utc_and_say_so() -> None:
    moment = datetime(2021, 11, 5, 15, 3, 22, tzinfo=timezone(timedelta(hours=1)))
    assert format_utc(moment) == "2021-11-05 14:03:22 UTC"
    assert format_utc(moment.astimezone(UTC)) == "2021-11-05 14:03:22 UTC"


def test_the_completion_filter_reads_slugs() -> None:
    assert parse_completion("in-progress") is CompletionStatus.IN_PROGRESS
    assert parse_completion("") is None
    with pytest.raises(InvalidInput, match="completion"):
        parse_completion("done")
