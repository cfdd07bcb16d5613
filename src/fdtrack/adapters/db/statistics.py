"""When the partitions being written need fresh planner statistics: fdtrack keeps them itself, autovacuum or not."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import date

# A partition's statistics are first taken once this many events were written to it, then each time
# the events written since have doubled. Without statistics PostgreSQL guesses that a list of 100
# record ids matches half the table and reads today's events partition whole for every page of a
# request (seen: 20 ms at 100,000 events, growing with the day); autovacuum, where it runs, analyses
# only after 10% growth and a minute's nap, which a partition filling from empty outruns.
FIRST_ANALYSIS_EVENTS = 1_000
# Those counts are this process's alone: when one comes due, a table is analysed only if it has no
# statistics yet or has grown since them by this factor, whoever wrote to it (a doubling of rows
# gives about twice the pages; one and a half leaves room for pages not yet full).
DOUBLING_GROWTH = 1.5
# After a bulk load, what autovacuum would analyse after its nap: a table grown by a tenth.
BULK_LOAD_GROWTH = 1.1
log = logging.getLogger("fdtrack.store")


class WrittenPartitions:
    """Events this process wrote to each day's partitions, and which days are due for ANALYZE.

    Shared by the threads of one process (the web server writes from several), hence the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._written: dict[date, int] = {}  # events written to the day since this process began
        self._next_analysis: dict[date, int] = {}  # the count at which the day is next due
        self._since_refresh: set[date] = set()  # days written to since refresh_statistics

    def add(self, day: date, events: int) -> None:
        with self._lock:
            self._written[day] = self._written.get(day, 0) + events
            self._since_refresh.add(day)

    def due(self) -> list[date]:
        """The days whose events have reached their next analysis; each is then due again at twice the count."""
        with self._lock:
            days = [
                day
                for day, written in self._written.items()
                if written >= self._next_analysis.get(day, FIRST_ANALYSIS_EVENTS)
            ]
            for day in days:
                self._next_analysis[day] = 2 * self._written[day]
            return sorted(days)

    def since_refresh(self) -> list[date]:
        """The days written to since the last call (a full refresh after a bulk load)."""
        with self._lock:
            days, self._since_refresh = sorted(self._since_refresh), set()
            return days

    def forget(self, day: date) -> None:
        """A dropped partition's day: nothing more to analyse there."""
        with self._lock:
            self._written.pop(day, None)
            self._next_analysis.pop(day, None)
            self._since_refresh.discard(day)


class BackgroundAnalysis:
    """Runs the due analyses one at a time on a thread of its own, so that no writer waits for one.

    ANALYZE of a day's partitions reads a sample of them: tenths of a second, which a batch that
    crossed a doubling mark would otherwise add to its caller's answer. The thread starts with the
    first analysis, so a process that never writes never has one."""

    def __init__(self, analyse: Callable[[list[date]], None]) -> None:
        self._analyse = analyse
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []

    def submit(self, days: list[date]) -> None:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fdtrack-statistics")
            self._pending = [future for future in self._pending if not future.done()]
            future = self._executor.submit(self._analyse, days)
            future.add_done_callback(_log_failure)
            self._pending.append(future)

    def wait(self) -> None:
        """Return once every analysis submitted so far has run."""
        with self._lock:
            pending = list(self._pending)
        wait(pending)

    def close(self) -> None:
        """Finish the analyses already submitted, then stop the thread."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


def _log_failure(future: Future[None]) -> None:
    # Nobody waits for the result of an analysis: an unexpected failure must at least be seen in the log.
    error = None if future.cancelled() else future.exception()
    if error is not None:
        log.error("statistics not refreshed", exc_info=error)
