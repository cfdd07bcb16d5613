"""Process settings for long-running fdtrack processes (the web service) that keep latency steady."""

from __future__ import annotations

import gc

YOUNG_GENERATION_THRESHOLD = 20_000  # CPython's default of 700 collects every few look-ups


def steady_latency() -> None:
    """Freeze what start-up allocated and collect the young generation less often.

    A look-up builds a few thousand short-lived objects; with CPython's defaults that triggers
    collections that scan every long-lived object (settings, templates, SQLAlchemy metadata),
    and those pauses, not the queries, make the slowest 1% of look-ups several times slower.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
