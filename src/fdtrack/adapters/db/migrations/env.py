"""Alembic environment: runs on the connection fdtrack hands over, inside its transaction."""

from __future__ import annotations

from alembic import context

from fdtrack.adapters.db.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
context.run_migrations()
