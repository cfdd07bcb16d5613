"""Rate limits with the `limits` library: its Redis storage when FDTRACK_REDIS_URL is set, else the database."""

from __future__ import annotations

import time
from collections.abc import Callable

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Engine

from fdtrack.adapters.db.rate_limit_storage import SqlRateLimitStorage
from fdtrack.domain.rate_limits import RateRule

KEY_PREFIX = "fdtrack"


class LimitsRateLimiter:
    """Fixed windows: one counter per key and window, which every storage updates in one atomic step."""

    def __init__(self, storage: Storage, wall_clock: Callable[[], float] = time.time) -> None:
        self.storage = storage
        self._limiter = FixedWindowRateLimiter(storage)
        self._wall_clock = wall_clock

    def hit(self, rule: RateRule, key: str) -> float | None:
        item = _item(rule)
        if self._limiter.hit(item, KEY_PREFIX, rule.name, key):
            return None
        return self._wait(item, rule, key)

    def exhausted(self, rule: RateRule, key: str) -> float | None:
        item = _item(rule)
        if self._limiter.test(item, KEY_PREFIX, rule.name, key):
            return None
        return self._wait(item, rule, key)

    def clear(self, rule: RateRule, key: str) -> None:
        self._limiter.clear(_item(rule), KEY_PREFIX, rule.name, key)

    def forget_expired(self) -> int:
        if isinstance(self.storage, SqlRateLimitStorage):
            return self.storage.delete_expired()
        return 0  # Redis expires its keys by itself

    def _wait(self, item: RateLimitItem, rule: RateRule, key: str) -> float:
        reset_at = self._limiter.get_window_stats(item, KEY_PREFIX, rule.name, key).reset_time
        return max(1.0, reset_at - self._wall_clock())


def _item(rule: RateRule) -> RateLimitItem:
    return RateLimitItemPerSecond(rule.amount, rule.seconds)


def rate_limiter_for(engine: Engine, redis_url: str | None) -> LimitsRateLimiter:
    """Counts every server process shares: Redis when configured, else the tracking database itself."""
    if redis_url:
        # A Redis that stops answering must not hang sign-in or the API any more than the database may.
        # wrap_exceptions: a Redis that is down raises limits' StorageError, which the web answers with 503.
        storage = storage_from_string(redis_url, wrap_exceptions=True, socket_timeout=2, socket_connect_timeout=2)
        assert isinstance(storage, Storage)  # a redis:// URL gives the synchronous storage
        return LimitsRateLimiter(storage)
    return LimitsRateLimiter(SqlRateLimitStorage(engine))
