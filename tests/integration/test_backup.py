"""Backup and restore through the command line give back exactly the same database, on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from conftest import PG_BASE_URL, database_snapshot, require_postgresql
from fdtrack.adapters.db.engine import make_engine
from fdtrack.cli import main
from fdtrack.simulator import SimulationConfig, Simulator

OTHER_TABLES = ("audit_log", "rejected_events", "duis_firmware_requests")


def table_rows(url: str, table: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1"))]
    engine.dispose()
    return rows


def fdtrack(url: str, *args: str) -> str:
    result = CliRunner().invoke(main, ["--database-url", url, *args])
    assert result.exit_code in (0, 3), result.output
    return result.output


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Whole empty databases (a backup is of a whole database, not of a test's schema)."""
    created: list[str] = []

    def make() -> str:
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
        name = f"fdtrack_backup_{uuid.uuid4().hex[:12]}"
        engine = make_engine(PG_BASE_URL)
        with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as admin:
            admin.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        created.append(name)
        return PG_BASE_URL.rsplit("/", 1)[0] + f"/{name}"

    if request.param == "postgresql":
        require_postgresql()
    yield make
    if created:
        engine = make_engine(PG_BASE_URL)
        with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as admin:
            for name in created:
                admin.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def test_a_restored_backup_is_the_database_that_was_backed_up(
    empty_databases: Callable[[], str], tmp_path: Path
) -> None:
    original, restored = empty_databases(), empty_databases()
    events = tmp_path / "events.ndjson"
    config = SimulationConfig(requests=30, max_devices=40, seed=11, end=datetime.now(UTC) - timedelta(hours=1))
    events.write_text("".join(line + "\n" for line in Simulator(config).lines()))
    fdtrack(original, "ingest", str(events))
    fdtrack(original, "purge", "--as-of", "2000-01-01T00:00:00Z")  # an audit entry
    fdtrack(restored, "purge")  # the target exists and is migrated, with content of its own

    backup_file = tmp_path / "fdtrack.backup"
    assert "backed up" in fdtrack(original, "backup", str(backup_file))
    assert "restored" in fdtrack(restored, "restore", "--yes", str(backup_file))

    assert database_snapshot(restored) == database_snapshot(original)
    assert database_snapshot(original)  # the comparison is of something
    for table in OTHER_TABLES:
        assert table_rows(restored, table) == table_rows(original, table)


def test_restore_asks_for_confirmation_and_a_backup_must_not_overwrite(
    empty_databases: Callable[[], str], tmp_path: Path
) -> None:
    url = empty_databases()
    fdtrack(url, "purge")
    existing = tmp_path / "existing.backup"
    existing.write_text("")
    refused = CliRunner().invoke(main, ["--database-url", url, "backup", str(existing)])
    assert refused.exit_code == 2
    assert "exists already" in refused.output
    unconfirmed = CliRunner().invoke(main, ["--database-url", url, "restore", str(existing)])
    assert unconfirmed.exit_code == 2
    assert "--yes" in unconfirmed.output
