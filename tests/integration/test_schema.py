"""The migrations are the schema: they match the table definitions and keep the audit log append-only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from fdtrack.adapters.db.engine import make_engine
from fdtrack.adapters.db.partitions import PARTITIONED_TABLES
from fdtrack.adapters.db.schema import metadata
from fdtrack.adapters.db.store import SqlStore
from fdtrack.services.ingest import IngestOptions, ingest
from fdtrack.services.ports import AuditEntry
from raw_events import ndjson_events

_SAME_TYPE = {
    "BigInteger": {"BIGINT"},
    "Integer": {"INTEGER", "BIGINT"},
    "String": {"VARCHAR"},
    "Text": {"TEXT"},
    "Date": {"DATE"},
    "UtcDateTime": {"TIMESTAMP"},
    "LargeBinary": {"BYTEA"},
}


def _outside_partitioned_tables(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
    """PostgreSQL's partitioned tables differ from their SQLite shape by design (keys that include the
    partition day, no foreign key); test_partitioned_tables_have_the_defined_columns covers them."""
    table = obj if kind == "table" else getattr(obj, "table", None)
    table_name = getattr(table, "name", "") or ""
    return not any(table_name.startswith(partitioned) for partitioned in PARTITIONED_TABLES)


def test_migrations_create_exactly_the_tables_the_code_defines(database_url: str) -> None:
    engine = make_engine(database_url)
    options = {"include_object": _outside_partitioned_tables} if engine.dialect.name == "postgresql" else {}
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts=options), metadata)
    engine.dispose()
    assert differences == []


def test_partitioned_tables_have_the_defined_columns(postgresql_schema_url: str) -> None:
    engine = make_engine(postgresql_schema_url)
    inspector = sa.inspect(engine)
    for name in PARTITIONED_TABLES:
        reflected = {column["name"]: column for column in inspector.get_columns(name)}
        defined = metadata.tables[name].columns
        assert list(reflected) == [column.name for column in defined]
        for column in defined:
            assert reflected[column.name]["nullable"] == column.nullable, column.name
            assert type(reflected[column.name]["type"]).__name__ in _SAME_TYPE[type(column.type).__name__]
    with engine.connect() as connection:
        keys: dict[str, str] = dict(
            connection.execute(
                sa.text(
                    "SELECT c.relname, pg_get_partkeydef(c.oid) FROM pg_class c "
                    "WHERE c.relname IN ('distribution_records', 'status_events') AND c.relkind = 'p' "
                    "AND c.relnamespace = "
                    "(SELECT relnamespace FROM pg_class WHERE oid = 'distribution_records'::regclass)"
                )
            ).all()
        )
    engine.dispose()
    assert keys == {"distribution_records": "RANGE (bucket_day)", "status_events": "RANGE (bucket_day)"}


def test_opening_a_current_database_again_changes_nothing(database_url: str) -> None:
    SqlStore.open(database_url).dispose()
    SqlStore.open(database_url).dispose()


def test_the_audit_log_refuses_changes_and_deletions(store: SqlStore) -> None:
    with store.write() as tx:
        tx.append_audit(AuditEntry("alice", "login", "alice", {}), datetime.now(UTC))
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.engine.begin() as connection:
            connection.execute(sa.text(statement))
    with store.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT actor FROM audit_log")).scalars().all() == ["alice"]


def test_statistics_can_be_refreshed_for_the_query_planner(store: SqlStore) -> None:
    fields = {
        "request_id": "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000",
        "device_id": "00-DB-12-34-56-78-90-A0",
        "status": "Accepted by DSP",
        "occurred_at": "2026-11-20T10:00:00Z",
    }
    received = datetime(2026, 11, 20, 12, tzinfo=UTC)
    ingest(store, ndjson_events([fields]), IngestOptions(clock=lambda: received))
    store.refresh_statistics()
    with store.engine.connect() as connection:
        if store.dialect == "postgresql":
            # The partitions written to are analysed, not the whole window.
            # This test's own schema: other test runs on the same server have partitions of that name too.
            query = (
                "SELECT last_analyze FROM pg_stat_user_tables "
                "WHERE relname = 'status_events_p20261120' AND schemaname = current_schema()"
            )
        else:
            query = "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
        assert connection.execute(sa.text(query)).scalar_one()
