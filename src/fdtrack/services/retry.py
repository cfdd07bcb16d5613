"""Retrying a transaction that lost a race with another writer (deadlock, serialisation, concurrent insert)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from fdtrack.services.ports import RetryBatch

T = TypeVar("T")
MAX_ATTEMPTS = 20


def run_with_retries(attempt: Callable[[], T]) -> T:
    """Run a transactional attempt; adapters turn transient contention into RetryBatch."""
    for number in range(1, MAX_ATTEMPTS + 1):
        try:
            return attempt()
        except RetryBatch:
            if number == MAX_ATTEMPTS:
                raise
            # Jittered back-off so two writers that collided do not collide again in lock-step.
            time.sleep(random.uniform(0, 0.02 * number))
    raise AssertionError("unreachable")
