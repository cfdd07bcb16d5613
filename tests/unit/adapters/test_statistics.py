"""A day's partitions are due for ANALYZE at 1,000 events written, then each time those double."""

from __future__ import annotations

from datetime import date

from fdtrack.adapters.db.statistics import FIRST_ANALYSIS_EVENTS, WrittenPartitions

MONDAY, TUESDAY = date(2026, 11, 23), date(2026, 11, 24)


def test_a_day_is_due_at_its_first_thousand_events_then_at_each_doubling() -> None:
    written = WrittenPartitions()
    written.add(MONDAY, FIRST_ANALYSIS_EVENTS - 1)
    assert written.due() == []
    written.add(MONDAY, 201)  # 1,200
    assert written.due() == [MONDAY]
    assert written.due() == []  # once per mark
    written.add(MONDAY, 1_199)  # 2,399: not yet twice 1,200
    assert written.due() == []
    written.add(MONDAY, 1)
    assert written.due() == [MONDAY]


def test_days_are_counted_apart_and_a_dropped_day_is_forgotten() -> None:
    written = WrittenPartitions()
    written.add(MONDAY, 5_000)
    written.add(TUESDAY, 10)
    assert written.due() == [MONDAY]
    written.forget(MONDAY)
    written.add(TUESDAY, 990)
    assert written.due() == [TUESDAY]
    assert written.since_refresh() == [TUESDAY]
    assert written.since_refresh() == []
