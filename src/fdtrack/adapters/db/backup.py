"""Backups of the whole database and restoring them: SQLite's online backup, pg_dump and pg_restore."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from fdtrack.adapters.db.engine import normalise_url
from fdtrack.adapters.db.schema import metadata


class BackupFailed(Exception):
    """A backup or restore could not be made; the message says why."""


def backup(database_url: str, destination: Path) -> None:
    """Write a consistent copy of the database to `destination`, while it stays in use."""
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() == "sqlite":
        # The backup API copies a consistent snapshot page by page; writers may go on meanwhile.
        with _sqlite(_sqlite_path(database_url)) as source, _sqlite(destination) as target:
            source.backup(target)
        return
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={destination}", "--dbname", _libpq(database_url)])


def restore(database_url: str, source: Path) -> None:
    """Replace the database's content with a backup made by `backup` (in one transaction)."""
    if not source.is_file():
        raise BackupFailed(f"{source}: no such backup file")
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() == "sqlite":
        with _sqlite(source) as backup_copy:
            _check_sqlite_backup(backup_copy, source)
            with _sqlite(_sqlite_path(database_url)) as target:
                backup_copy.backup(target)
        return
    # pg_restore --clean cannot drop the partitions' inherited keys, so psql first drops fdtrack's
    # own tables (partitions go with them) and then replays the dump, all in one transaction.
    script = _run(["pg_restore", "--no-owner", "--file=-", str(source)])
    _run(
        [
            "psql",
            "--quiet",
            "--no-psqlrc",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            "--dbname",
            _libpq(database_url),
            "--command",
            _DROP_FDTRACK_OBJECTS,
            "--file=-",
        ],
        stdin=script,
    )


_DROP_FDTRACK_OBJECTS = (
    "DROP TABLE IF EXISTS "
    + ", ".join(["alembic_version", *(table.name for table in metadata.sorted_tables)])
    + " CASCADE; DROP FUNCTION IF EXISTS audit_log_is_append_only() CASCADE;"
)


def _check_sqlite_backup(connection: sqlite3.Connection, source: Path) -> None:
    """Only a database fdtrack made may replace the current one: anything else would wipe it for nothing."""
    try:
        connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError as error:
        raise BackupFailed(f"{source} is not an fdtrack backup ({error})") from None


def _sqlite(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=60)
    connection.execute("PRAGMA busy_timeout=60000")
    return connection


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupFailed("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _libpq(database_url: str) -> str:
    """The URL as libpq's tools read it (no SQLAlchemy driver name)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str], stdin: str | None = None) -> str:
    if shutil.which(command[0]) is None:
        raise BackupFailed(f"{command[0]} is not installed (Debian: postgresql-client)")
    result = subprocess.run(  # noqa: S603 - fixed tools
        command, input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupFailed(f"{command[0]} failed: {result.stderr.strip()[-500:]}")
    return result.stdout
