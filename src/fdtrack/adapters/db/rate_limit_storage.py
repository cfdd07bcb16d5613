"""A `limits` storage on the tracking database (SQLite or PostgreSQL), for servers without Redis."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import sqlalchemy.exc
from limits.storage import Storage
from sqlalchemy import Engine, delete, select, text

from fdtrack.adapters.db.engine import WRITE
from fdtrack.adapters.db.schema import rate_limit_counters

_C = rate_limit_counters
log = logging.getLogger("fdtrack.rate_limits")
SQLITE_WAIT_MS = 50
SQLITE_BUSY_TIMEOUT_MS = 60_000  # what adapters/db/engine.py sets on every SQLite connection
# One statement on both databases: a window that has ended starts again at this hit.
_INCREMENT = text(
    "INSERT INTO rate_limit_counters (key, hits, expires_at_ms) VALUES (:key, :amount, :expires) "
    "ON CONFLICT (key) DO UPDATE SET "
    "hits = CASE WHEN rate_limit_counters.expires_at_ms <= :now THEN :amount "
    "ELSE rate_limit_counters.hits + :amount END, "
    "expires_at_ms = CASE WHEN rate_limit_counters.expires_at_ms <= :now THEN :expires "
    "ELSE rate_limit_counters.expires_at_ms END "
    "RETURNING hits"
)


class SqlRateLimitStorage(Storage):
    """Fixed-window counters in the table `rate_limit_counters`, one row per key; shared by every process
    on the database. Expired rows are reused by the next hit and deleted by `delete_expired`."""

    STORAGE_SCHEME = None  # built by fdtrack itself, never from a URL

    def __init__(self, engine: Engine, wall_clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.engine = engine
        self._writer = engine.execution_options(**WRITE)
        self._wall_clock = wall_clock

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlalchemy.exc.SQLAlchemyError

    def _now_ms(self) -> int:
        return int(self._wall_clock() * 1000)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self._now_ms()
        values = {"key": key[:200], "amount": amount, "now": now, "expires": now + int(expiry * 1000)}
        if self.engine.dialect.name != "sqlite":
            with self._writer.begin() as connection:
                hits: int = connection.execute(_INCREMENT, values).scalar_one()
            return hits
        return self._sqlite_incr(values)

    def _sqlite_incr(self, values: dict[str, object]) -> int:
        """SQLite has one writer at a time, and ingesting a large batch holds the lock for seconds. A count
        is not worth a look-up waiting that long: if the lock is not had within SQLITE_WAIT_MS, this hit is
        not counted (the limit fails open for that moment) rather than holding the request."""
        with self._writer.connect() as connection:
            # On the driver's connection: through SQLAlchemy the PRAGMA would first begin the write
            # transaction, which is what must not wait.
            driver = connection.connection.driver_connection
            assert driver is not None
            driver.execute(f"PRAGMA busy_timeout={SQLITE_WAIT_MS}")
            try:
                with connection.begin():
                    hits: int = connection.execute(_INCREMENT, values).scalar_one()
            except sqlalchemy.exc.OperationalError as error:
                if "locked" not in str(error.orig) and "busy" not in str(error.orig):
                    raise
                log.info("rate-limit count skipped: the database is busy with a write")
                return 0
            finally:
                driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        return hits

    def get(self, key: str) -> int:
        with self.engine.connect() as connection:
            row = connection.execute(select(_C.c.hits, _C.c.expires_at_ms).where(_C.c.key == key[:200])).first()
        if row is None or row.expires_at_ms <= self._now_ms():
            return 0
        return int(row.hits)

    def get_expiry(self, key: str) -> float:
        with self.engine.connect() as connection:
            expires = connection.execute(select(_C.c.expires_at_ms).where(_C.c.key == key[:200])).scalar()
        now = self._now_ms()
        return (expires if expires is not None and expires > now else now) / 1000

    def check(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(select(1))
        except sqlalchemy.exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self._writer.begin() as connection:
            return connection.execute(delete(_C)).rowcount

    def clear(self, key: str) -> None:
        with self._writer.begin() as connection:
            connection.execute(delete(_C).where(_C.c.key == key[:200]))

    def delete_expired(self) -> int:
        """Counters whose window has ended: kept so far only to be reused; the hourly housekeeping drops them."""
        with self._writer.begin() as connection:
            return connection.execute(delete(_C).where(_C.c.expires_at_ms <= self._now_ms())).rowcount
