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


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def upgrade(engine: Engine) -> None:
    """Apply pending migrations under a lock; a no-op (one quick query) when already current."""
    heads = head_revisions()
    with engine.connect() as probe:
        if set(MigrationContext.configure(probe).get_current_heads()) == heads:
            return
    with engine.connect().execution_options(**WRITE) as connection, connection.begin():
        if engine.dialect.name == "postgresql":
            # A migration may rewrite whole tables: only its own transaction goes without the bounds.
            connection.execute(text("SET LOCAL statement_timeout = 0"))
            connection.execute(text("SET LOCAL lock_timeout = 0"))
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
