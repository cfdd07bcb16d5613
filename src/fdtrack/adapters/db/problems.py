"""What went wrong with the database, said in one line an operator can act on (never a traceback)."""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from fdtrack.adapters.db.migrate import UnknownSchemaRevision

# Any of these ends a command with one line (cli.py) instead of a traceback.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    SQLAlchemyError,
    psycopg.Error,
    sqlite3.Error,
    UnknownSchemaRevision,
)

# SQLite reports disk and file problems only in its message; these need the operator, not a retry.
_SQLITE_STORAGE = (
    ("database or disk is full", "the disk holding the database is full"),
    ("readonly database", "the database file is read-only"),
    ("disk i/o error", "the disk holding the database reported an I/O error"),
)
# (what the driver says, what the operator is told); {where} is the database, {reason} the driver's words.
_KNOWN = (
    ("unable to open database file", "cannot open the SQLite database {where}: check that its folder exists and "
     "may be written to"),
    ("file is not a database", "{where} is not an SQLite database"),
    ("does not exist", "cannot open {where}: {reason}"),
    ("connection", "cannot reach the database {where}: {reason}"),
)  # fmt: skip


def storage_problem(error: BaseException) -> str | None:
    """'disk full' or 'read-only' when that is what an SQLite error says; None otherwise."""
    text = str(getattr(error, "orig", None) or error).lower()
    return next((problem for marker, problem in _SQLITE_STORAGE if marker in text), None)


def describe_database_problem(error: BaseException, database_url: str) -> str:
    """One line: what failed, against which database (its password never shown)."""
    where = _shown(database_url)
    if isinstance(error, UnknownSchemaRevision):
        return (
            f"the database {where} is at schema revision {error.revision!r}, which this version of fdtrack does "
            "not know: a newer fdtrack upgraded it; run that version, or restore a backup made by this one"
        )
    if isinstance(error, ArgumentError):
        return f"database URL: {error}"
    if (storage := storage_problem(error)) is not None:
        return f"{storage}: {where}"
    cause = getattr(error, "orig", None) if isinstance(error, DBAPIError) else error
    message = _first_line(cause or error)
    # libpq ends its message with the reason, after the last "failed:"
    reason = message.rsplit("failed:", 1)[-1].strip().removeprefix("FATAL:").strip() or message
    for marker, template in _KNOWN:
        if marker in message.lower():
            return template.format(where=where, reason=reason)
    return f"database error on {where}: {message}"


def _shown(database_url: str) -> str:
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(database_url)


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
