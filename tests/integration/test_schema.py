"""The migrations are the schema: they match the table definitions and keep the audit log append-only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from fdtrack.adapters.db.engine import make_engine
from fdtrack.adapters.db.schema import metadata
from fdtrack.adapters.db.store import SqlStore
from fdtrack.services.ports import AuditEntry


def test_migrations_create_exactly_the_tables_the_code_defines(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []


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
    with store.write() as tx:
        tx.append_audit(AuditEntry("alice", "login", "alice", {}), datetime.now(UTC))
    store.refresh_statistics()
    with store.engine.connect() as connection:
        if store.dialect == "postgresql":
            query = "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'distribution_records'"
        else:
            query = "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
        assert connection.execute(sa.text(query)).scalar_one()
