"""A day's partitions are due for ANALYZE at 1,000 events, then at each doubling; analyses run in the background."""

from __future__ import annotations

import logging
import threading
from datetime import date

import pytest

from fdtrack.adapters.db.statistics import FIRST_ANALYSIS_EVENTS, BackgroundAnalysis, WrittenPartitions

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


def test_an_analysis_runs_on_a_thread_of_its_own_while_the_writer_goes_on() -> None:
    held = threading.Event()
    ran: list[tuple[list[date], str]] = []

    def analyse(days: list[date]) -> None:
        held.wait(timeout=30)
        ran.append((days, threading.current_thread().name))

    background = BackgroundAnalysis(analyse)
    background.submit([MONDAY])  # returns although the analysis is still held
    background.submit([TUESDAY])
    assert ran == []
    held.set()
    background.wait()
    assert [days for days, _ in ran] == [[MONDAY], [TUESDAY]]  # one at a time, in order
    assert all(thread.startswith("fdtrack-statistics") for _, thread in ran)
    background.close()


def test_a_failed_analysis_is_logged_and_the_next_ones_still_run(caplog: pytest.LogCaptureFixture) -> None:
    ran: list[list[date]] = []

    def analyse(days: list[date]) -> None:
        if days == [MONDAY]:
            raise RuntimeError("server went away")
        ran.append(days)

    background = BackgroundAnalysis(analyse)
    with caplog.at_level(logging.ERROR, logger="fdtrack.store"):
        background.submit([MONDAY])
        background.submit([TUESDAY])
        background.close()
    assert ran == [[TUESDAY]]
    assert "statistics not refreshed" in caplog.text
    assert "server went away" in caplog.text
