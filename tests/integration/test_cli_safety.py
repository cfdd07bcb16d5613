"""Operator commands fail safely: one line for a database that cannot be used, purges that cannot slip."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from fdtrack.adapters.db.problems import describe_database_problem
from fdtrack.cli import main

REQUEST = "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000"
DEVICE = "00-DB-12-34-56-78-90-A0"


def fdtrack(database_url: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--database-url", database_url, *args], input=stdin)


def one_line_error(result: Result) -> str:
    """The command failed with one line saying why (after click's usage hint, for a usage error), and
    no traceback."""
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    if result.exit_code == 2 and lines and lines[0].startswith("Usage:"):
        lines = lines[2:]  # "Usage: …" and "Try '… --help' for help."
    assert len(lines) == 1, result.output
    return lines[0]


def event_line(status: str, occurred_at: datetime) -> str:
    fields = {"request_id": REQUEST, "device_id": DEVICE, "status": status, "occurred_at": occurred_at.isoformat()}
    return json.dumps(fields) + "\n"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://postgres:secret@127.0.0.1:1/fdtrack", "cannot reach the database postgresql://postgres:***@"),
        ("sqlite:////no/such/folder/fdtrack.db", "cannot open the SQLite database sqlite:////no/such/folder"),
        ("mysql://root@127.0.0.1/fdtrack", "unsupported database 'mysql'"),
    ],
)
@pytest.mark.parametrize("command", [["lookup", "--device", DEVICE], ["purge"], ["rejects", "list"], ["audit"]])
def test_a_database_that_cannot_be_reached_or_opened_is_one_line_and_a_non_zero_exit(
    url: str, expected: str, command: list[str]
) -> None:
    assert expected in one_line_error(fdtrack(url, *command))


def test_a_file_that_is_not_a_database_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are notes, not a database\n" * 100)
    assert one_line_error(fdtrack(f"sqlite:///{path}", "purge")).endswith("is not an SQLite database")


def test_a_schema_revision_from_a_newer_version_is_named_and_nothing_is_changed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    assert fdtrack(url, "purge").exit_code == 0
    with sqlite3.connect(tmp_path / "newer.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0999_from_the_future'")
    message = one_line_error(fdtrack(url, "lookup", "--device", DEVICE))
    assert "schema revision '0999_from_the_future'" in message
    assert "newer fdtrack" in message


def test_restore_refuses_a_file_that_is_not_an_fdtrack_backup_and_keeps_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    now = datetime.now(UTC)
    assert fdtrack(url, "ingest", "-", stdin=event_line("Accepted by DSP", now)).exit_code == 0
    stranger = tmp_path / "other.db"
    with sqlite3.connect(stranger) as connection:
        connection.execute("CREATE TABLE t (x)")
    for source in (stranger, tmp_path / "live.db-missing"):
        assert one_line_error(fdtrack(url, "restore", "--yes", str(source))).startswith("error: ")
    assert fdtrack(url, "lookup", "--device", DEVICE).exit_code == 0


def test_a_read_only_sqlite_database_is_reported_as_read_only(tmp_path: Path) -> None:
    path = tmp_path / "fdtrack.db"
    assert fdtrack(f"sqlite:///{path}", "purge").exit_code == 0
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    message = one_line_error(fdtrack(read_only, "ingest", "-", stdin=event_line("Accepted by DSP", datetime.now(UTC))))
    assert message.startswith("Error: the database file is read-only")


def test_a_full_sqlite_database_is_reported_as_full(tmp_path: Path) -> None:
    path = tmp_path / "full.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE filler (x TEXT)")
        # The file may not grow by a single page more: SQLite then fails as on a disk with no space left.
        pages = connection.execute("PRAGMA page_count").fetchone()
        assert pages is not None
        connection.execute(f"PRAGMA max_page_count = {pages[0]}")
        with pytest.raises(sqlite3.OperationalError) as full:
            connection.executemany("INSERT INTO filler VALUES (?)", [("x" * 4000,)] * 10)
    message = describe_database_problem(full.value, f"sqlite:///{path}")
    assert message == f"the disk holding the database is full: sqlite:///{path}"


def test_purge_refuses_an_as_of_later_than_now_unless_forced(database_url: str) -> None:
    later = (datetime.now(UTC) + timedelta(days=400)).isoformat()
    refused = fdtrack(database_url, "purge", "--as-of", later)
    assert refused.exit_code == 2
    assert "is later than now" in refused.output
    assert "add --force" in refused.output
    assert fdtrack(database_url, "purge", "--as-of", later, "--force").exit_code == 0


def test_purge_dry_run_says_what_it_would_delete_and_deletes_nothing(database_url: str) -> None:
    old = datetime.now(UTC) - timedelta(days=1)
    assert fdtrack(database_url, "ingest", "-", stdin=event_line("Accepted by DSP", old)).exit_code == 0
    later = (datetime.now(UTC) + timedelta(days=31)).isoformat()
    dry = fdtrack(database_url, "purge", "--as-of", later, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["would_delete"] == 1
    assert fdtrack(database_url, "lookup", "--device", DEVICE).exit_code == 0  # still there
    audit = json.loads(fdtrack(database_url, "audit", "--action", "purge", "--format", "json").output)
    assert audit == []  # a dry run is not a purge


def test_the_purge_audit_entry_records_when_it_ran_and_the_as_of_time(database_url: str) -> None:
    earlier = datetime(2026, 1, 1, tzinfo=UTC)
    before = datetime.now(UTC)
    assert fdtrack(database_url, "purge", "--as-of", earlier.isoformat()).exit_code == 0
    [entry] = json.loads(fdtrack(database_url, "audit", "--action", "purge", "--format", "json").output)
    assert entry["detail"]["as_of"] == "2026-01-01T00:00:00+00:00"
    ran_at = datetime.fromisoformat(entry["occurred_at"].replace("Z", "+00:00"))
    assert ran_at >= before - timedelta(seconds=1)


def test_ingest_from_stdin_reads_ndjson_without_a_format(database_url: str) -> None:
    result = fdtrack(database_url, "ingest", "--json", "-", stdin=event_line("Accepted by DSP", datetime.now(UTC)))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["accepted"] == 1


def test_messages_are_not_wrapped_when_piped(database_url: str, tmp_path: Path) -> None:
    long_name = tmp_path / ("x" * 150 + ".txt")
    long_name.write_text("")
    result = fdtrack(database_url, "ingest", str(long_name))
    assert result.exit_code == 2
    [message] = [line for line in result.output.splitlines() if line]
    assert message.endswith("give --format ndjson, csv or duis")
