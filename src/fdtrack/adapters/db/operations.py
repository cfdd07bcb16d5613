"""Database reachability and record counts for health checks and metrics."""

from __future__ import annotations

import logging
import sqlite3

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from fdtrack.adapters.db.engine import SQLITE_BUSY_TIMEOUT_MS
from fdtrack.adapters.db.problems import storage_problem
from fdtrack.adapters.db.schema import distribution_records
from fdtrack.services.operations import DatabaseState

log = logging.getLogger("fdtrack.health")


class SqlOperationsProbe:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def database_state(self) -> DatabaseState:
        try:
            if self.engine.dialect.name == "sqlite":
                self._try_sqlite_write_lock()
                return DatabaseState.REACHABLE
            with self.engine.connect() as connection:
                read_only = connection.execute(
                    text("SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'")
                ).scalar_one()
                return DatabaseState.READ_ONLY if read_only else DatabaseState.REACHABLE
        except (SQLAlchemyError, sqlite3.Error) as error:
            if storage_problem(error) is not None:
                log.warning("database cannot store anything: %s", storage_problem(error))
                return DatabaseState.READ_ONLY
            # The URL (and any password in it) stays out of the log: only the driver's complaint.
            log.warning("database unreachable: %s", type(getattr(error, "orig", None) or error).__name__)
            return DatabaseState.UNREACHABLE

    def _try_sqlite_write_lock(self) -> None:
        """Write to SQLite and roll back at once: refused for a read-only file. A write lock held by
        a writer just now proves the file can be written, so the probe does not wait for it."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("PRAGMA busy_timeout=0")
            try:
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    # A write that changes nothing and is rolled back: a read-only file refuses even this.
                    cursor.execute("UPDATE alembic_version SET version_num = version_num")
                finally:
                    cursor.execute("ROLLBACK")
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
            finally:
                cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            connection.close()

    def records_by_completion(self) -> dict[str, int]:
        query = select(distribution_records.c.completion_status, func.count()).group_by(
            distribution_records.c.completion_status
        )
        with self.engine.connect() as connection:
            return {row[0]: row[1] for row in connection.execute(query)}
