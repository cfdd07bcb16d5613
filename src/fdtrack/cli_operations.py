"""`fdtrack backup` and `fdtrack restore`: whole-database copies for operators (docs/operations.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from fdtrack.adapters.db.backup import BackupFailed, backup, restore
from fdtrack.adapters.db.engine import make_engine
from fdtrack.adapters.db.migrate import upgrade
from fdtrack.cli import EXIT_NOTHING_DONE, Context, err, main, pass_context


@main.command(name="backup")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@pass_context
def backup_command(context: Context, destination: Path) -> None:
    """Write a consistent copy of the database to DESTINATION while it stays in use."""
    if destination.exists():
        raise click.UsageError(f"{destination} exists already; choose a new file")
    try:
        backup(context.settings.database_url, destination)
    except BackupFailed as error:
        err.print(f"error: {error}", markup=False)
        sys.exit(EXIT_NOTHING_DONE)
    click.echo(f"backed up to {destination}")


@main.command(name="restore")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Confirm that the database's current content is replaced.")
@pass_context
def restore_command(context: Context, source: Path, yes: bool) -> None:
    """Replace the database's content with the backup SOURCE."""
    if not yes:
        raise click.UsageError("restoring replaces everything in the database; add --yes to confirm")
    try:
        restore(context.settings.database_url, source)
    except BackupFailed as error:
        err.print(f"error: {error}", markup=False)
        sys.exit(EXIT_NOTHING_DONE)
    engine = make_engine(context.settings.database_url)
    upgrade(engine)  # a backup from an older release is brought up to this one's schema
    engine.dispose()
    click.echo(f"restored from {source}")
