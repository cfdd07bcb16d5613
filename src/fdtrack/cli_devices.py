"""`fdtrack devices import`: load a device inventory (CSV or DUIS SR 8.2 responses) for the scope rules of SPEC §3."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import click

from fdtrack.adapters import event_files, inventory_files
from fdtrack.adapters.duis import documents as duis_documents
from fdtrack.cli import EXIT_SOME_REJECTED, Context, main, pass_context, reports_errors
from fdtrack.cli_progress import Progress
from fdtrack.services.inventory import InventorySummary, RawDeviceEntry, import_inventory

FORMATS = ("csv", "duis")


@main.group()
def devices() -> None:
    """The device inventory: what each device is (type, SMETS/CHTS version, model)."""


@devices.command(name="import")
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "input_format", type=click.Choice(FORMATS), help="Default: from each file's extension.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_context
@reports_errors
def import_command(context: Context, paths: tuple[str, ...], input_format: str | None, as_json: bool) -> None:
    """Import a device inventory: CSV files with the header Device ID,Device Type,SMETS/CHTS Version,Device
    Model, or DUIS 8.2 Read Inventory responses (XML files or directories of them). '-' reads stdin.
    A device imported again takes its latest entry."""
    formats = [(path, input_format or _guess_format(path)) for path in paths]
    duis_documents.check_paths([path for path, _ in formats])
    total = sum(
        duis_documents.total_bytes([path]) if fmt == "duis" else Path(path).stat().st_size
        for path, fmt in formats
        if path != "-"
    )
    counter = event_files.ByteCounter()
    with Progress("Importing", total=total or None, unit="bytes", quiet=as_json) as progress:
        summary = import_inventory(
            context.store,
            _entries(formats, counter),
            batch_size=context.settings.ingest_batch_size,
            on_batch=partial(_show_progress, progress, counter),
        )
    if as_json:
        click.echo(json.dumps(summary.as_json()))
    else:
        click.echo(f"imported {summary.imported} devices, rejected {summary.rejected}")
        for source, error in summary.errors[:20]:
            click.echo(f"  {source}: {error}")
        if summary.rejected > 20:
            click.echo(f"  … and {summary.rejected - 20} more: see `fdtrack rejects list`")
    sys.exit(EXIT_SOME_REJECTED if summary.rejected else 0)


def _guess_format(path: str) -> str:
    if path == "-":
        raise event_files.UnreadableInput("-: give --format csv or duis to read a device inventory from stdin")
    found = event_files.guess_format(path)
    if found not in FORMATS:
        raise event_files.UnreadableInput(f"{path}: a device inventory is CSV (.csv) or DUIS 8.2 responses (.xml)")
    return found


def _entries(formats: list[tuple[str, str]], counter: event_files.ByteCounter) -> Iterator[RawDeviceEntry]:
    for path, fmt in formats:
        if fmt == "duis":
            yield from inventory_files.read_inventory_responses(duis_documents.read_documents([path], counter))
            continue
        stream, name = event_files.open_input(path)
        try:
            yield from inventory_files.read_inventory_csv(stream, name, counter)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()


def _show_progress(progress: Progress, counter: event_files.ByteCounter, _batch: InventorySummary) -> None:
    progress.update_to(counter.consumed)
