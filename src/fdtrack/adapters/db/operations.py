"""Database reachability and record counts for health checks and metrics."""

from __future__ import annotations

import logging

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from fdtrack.adapters.db.schema import distribution_records

log = logging.getLogger("fdtrack.health")


class SqlOperationsProbe:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def database_reachable(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            # The URL (and any password in it) stays out of the log: only the driver's complaint.
            log.warning("database unreachable: %s", type(getattr(error, "orig", None) or error).__name__)
            return False
        return True

    def records_by_completion(self) -> dict[str, int]:
        query = select(distribution_records.c.completion_status, func.count()).group_by(
            distribution_records.c.completion_status
        )
        with self.engine.connect() as connection:
            return {row[0]: row[1] for row in connection.execute(query)}
