"""Daily partitions of the tracking tables on PostgreSQL: created ahead, detached and dropped when expired."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import Connection, Engine, text

PARTITIONED_TABLES = ("distribution_records", "status_events")
DAYS_AHEAD = 3  # partitions ready before they are needed, so ingestion never waits to create one
_NAME_FORMAT = "%Y%m%d"
_LOCK = 0x6664_7470  # advisory lock key: one process at a time changes the set of partitions
DROP_LOCK = 0x6664_7464  # advisory lock key held by the one purge that drops partitions


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day.strftime(_NAME_FORMAT)}"


def partition_days(connection: Connection, parent: str = PARTITIONED_TABLES[0]) -> set[date]:
    """The days that have a partition of the records table (the events table always has the same)."""
    rows = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:parent AS regclass)"
        ),
        {"parent": parent},
    )
    prefix = f"{PARTITIONED_TABLES[0]}_p"
    return {date.fromisoformat(name[len(prefix) :]) for (name,) in rows}


def create_partitions(
    connection: Connection, days: Iterable[date], parents: tuple[str, str] = PARTITIONED_TABLES
) -> list[date]:
    """Create the partitions missing for `days` in the caller's transaction; the days created.

    Partitions are named after the tables in PARTITIONED_TABLES even when attached to `parents`
    of other names (a migration builds the partitioned tables beside the ones they replace).

    ATTACH PARTITION takes a lock that lets reads and writes of the other partitions go on, where
    CREATE TABLE … PARTITION OF would block them; the new table is empty, so attaching is instant."""
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    existing = partition_days(connection, parents[0])
    created = []
    for day in sorted(set(days) - existing):
        bounds = f"FOR VALUES FROM ('{day.isoformat()}') TO ('{(day + timedelta(days=1)).isoformat()}')"
        for table, parent in zip(PARTITIONED_TABLES, parents, strict=True):
            name = partition_name(table, day)
            # Records are updated as events arrive: room on each page lets PostgreSQL do it in place.
            storage = " WITH (fillfactor = 80)" if table == "distribution_records" else ""
            connection.execute(text(f"CREATE TABLE {name} (LIKE {parent} INCLUDING DEFAULTS){storage}"))
            connection.execute(text(f"ALTER TABLE {parent} ATTACH PARTITION {name} {bounds}"))
        created.append(day)
    return created


def ensure_partitions(engine: Engine, days: Iterable[date]) -> list[date]:
    """Create missing partitions in a short transaction of their own."""
    with engine.begin() as connection:
        return create_partitions(connection, days)


def drop_partition(engine: Engine, day: date) -> None:
    """Detach one day's partitions without blocking look-ups, then drop them.

    DETACH … CONCURRENTLY waits for queries already using the partition instead of locking the
    whole table; it cannot run in a transaction block, hence the autocommit connection. A detach
    interrupted half-way is finished with FINALIZE."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in reversed(PARTITIONED_TABLES):
            name = partition_name(table, day)
            state = connection.execute(
                text(
                    "SELECT i.inhdetachpending FROM pg_inherits i "
                    "WHERE i.inhrelid = to_regclass(:name) AND i.inhparent = CAST(:parent AS regclass)"
                ),
                {"name": name, "parent": table},
            ).scalar_one_or_none()
            if state is not None:
                mode = "FINALIZE" if state else "CONCURRENTLY"
                connection.execute(text(f"ALTER TABLE {table} DETACH PARTITION {name} {mode}"))
            connection.execute(text(f"DROP TABLE IF EXISTS {name}"))


def days_around(today: date) -> list[date]:
    """Today's partition and the ones kept ready ahead of it."""
    return [today + timedelta(days=offset) for offset in range(DAYS_AHEAD + 1)]
