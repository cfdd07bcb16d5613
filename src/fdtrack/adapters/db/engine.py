"""Engines for SQLite and PostgreSQL with the connection settings each needs for safe concurrent writes."""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import PoolProxiedConnection

DEFAULT_DATABASE_URL = "sqlite:///fdtrack.db"
WRITE = {"fdtrack_write": True}
CONNECT_TIMEOUT_SECONDS = 5
# A server that stops answering (packets dropped, not refused) is found out by TCP itself: keepalive
# probes after 5 s of silence, 2 s apart, and any data left unacknowledged for 10 s, end the
# connection, so no query waits on a dead peer for the kernel's default of 15 minutes or more.
_TCP_SETTINGS = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
# Bounds inside the server: a statement or a wait for a lock that runs longer is cancelled there (a
# batch of ingestion that meets a lock timeout is retried; see store.py). Migrations, which may
# rewrite whole tables, lift the statement bound for their own transaction (migrate.py).
STATEMENT_TIMEOUT_MS = 60_000
LOCK_TIMEOUT_MS = 10_000
POOL_CHECKOUT_SECONDS = 5
SQLITE_BUSY_TIMEOUT_MS = 60_000  # a writer waits this long for another's lock before "database is locked"
# Connections each engine keeps open between uses; the web service runs at most this many blocking
# calls at once (app.py), so that under load it never opens one only to close it again.
POOL_SIZE = 10


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain PostgreSQL URLs, as operators write them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and explicit BEGIN IMMEDIATE for writers."""
    url = normalise_url(url)
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        # A database in memory lives on SQLAlchemy's one connection, which takes no pool size.
        in_memory = parsed.database in (None, "", ":memory:")
        pool = {} if in_memory else {"pool_size": POOL_SIZE}
        engine = create_engine(url, connect_args={"timeout": 60}, **pool)
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        # A server that does not answer fails a request within seconds instead of holding it: the
        # web service then answers 503 with Retry-After, and _configure_postgresql replaces dead
        # connections before they are handed out.
        engine = create_engine(
            url,
            pool_size=POOL_SIZE,
            max_overflow=20,
            pool_timeout=POOL_CHECKOUT_SECONDS,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS, **_TCP_SETTINGS},
        )
        _configure_postgresql(engine)
        return engine
    raise ValueError(f"database URL: unsupported database {backend!r}, expected sqlite:// or postgresql://")


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: object, _proxy: object) -> None:
        # A connection the server closed (a restart, a failover, a proxy between them cut) is never
        # handed out: the pool replaces it and tries again. SQLAlchemy's pre-ping would ask the server
        # with a round trip on every checkout, a tenth of a short look-up's cost (about 0.1 ms of
        # 1.4); a closed connection shows at once as a socket with something to read.
        if _closed_by_server(dbapi_connection):
            raise DisconnectionError("the database server closed this connection")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        # Sessions in UTC: psycopg then returns times with datetime.timezone.utc, which the store's
        # decoder takes as they are instead of converting each one from the server's zone.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
            # psycopg prepares repeated statements, and PostgreSQL may then keep one generic plan for
            # them. A plan made while today's partition was empty goes on scanning it whole once it
            # holds a million rows (seen: 13,000 events/s falling to 4,000 within a day). A plan per
            # execution sees the partition named by the parameters, as it is now.
            cursor.execute("SET plan_cache_mode = force_custom_plan")
            cursor.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
            cursor.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
        dbapi_connection.commit()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        # Take transaction control from pysqlite so writers can BEGIN IMMEDIATE (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cursor.execute("PRAGMA synchronous=NORMAL")  # in WAL mode still safe against process crashes
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: keeps index pages of large tables hot
        # Checkpoint the WAL every ~40 MiB instead of 4: an index page changed by many batches is
        # then copied back to the database once, not once per few batches.
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer takes the write lock up front: upgrading a read lock later can deadlock two
        # ingest processes, which SQLite reports at once as "database is locked".
        if connection.get_execution_options().get("fdtrack_write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


@contextmanager
def statement_reads(engine: Engine) -> Iterator[PoolProxiedConnection]:
    """A pooled driver connection for reads that need no transaction of their own (see `autocommit`)."""
    connection = engine.raw_connection()
    try:
        with autocommit(connection):
            yield connection
    finally:
        connection.close()


@contextmanager
def autocommit(connection: PoolProxiedConnection) -> Iterator[None]:
    """Reads on PostgreSQL without a transaction around them.

    Under READ COMMITTED every statement takes its own snapshot anyway, so a transaction around a few
    SELECTs only adds a BEGIN and a ROLLBACK: two of the round trips that make up most of a short
    look-up's cost (measured: 2.6 ms of CPU with them, 1.4 without). SQLite connections run without
    a driver transaction already (see _configure_sqlite)."""
    driver = connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        yield
        return
    driver.autocommit = True
    try:
        yield
    finally:
        if not driver.closed:
            # Back to the pool as it came: SQLAlchemy's users of this connection expect transactions.
            driver.autocommit = False


def _closed_by_server(connection: psycopg.Connection[Any]) -> bool:
    """Whether an idle connection was closed from the other end: it then has the server's goodbye or
    the end of the stream to read, where a live idle one has nothing."""
    if connection.closed:
        return True
    try:
        socket = connection.pgconn.socket
    except psycopg.OperationalError:
        return True
    poller = select.poll()
    poller.register(socket, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))
