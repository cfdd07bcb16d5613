"""Bring the schema to the newest Alembic revision; every command does this before anything else."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from fdtrack.adapters.db.engine import WRITE

_SCRIPT_LOCATION = "fdtrack.adapters.db:migrations"
_PG_MIGRATION_LOCK = 0x6664_7472  # advisory lock key, so two processes never migrate at once


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", _SCRIPT_LOCATION)
    return config


class UnknownSchemaRevision(Exception):
    """The database was migrated by a newer fdtrack: its schema revision is not among this one's."""

    def __init__(self, revision: str) -> None:
        super().__init__(revision)
        self.revision = revision


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def upgrade(engine: Engine) -> None:
    """Apply pending migrations under a lock; a no-op (one quick query) when already current."""
    heads = head_revisions()
    with engine.connect() as probe:
        current = set(MigrationContext.configure(probe).get_current_heads())
    if current == heads:
        return
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    for revision in sorted(current - known):
        raise UnknownSchemaRevision(revision)
    with engine.connect().execution_options(**WRITE) as connection, connection.begin():
        if engine.dialect.name == "postgresql":
            # A migration may rewrite whole tables: only its own transaction goes without the bounds.
            connection.execute(text("SET LOCAL statement_timeout = 0"))
            connection.execute(text("SET LOCAL lock_timeout = 0"))
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
