"""The `fdtrack` command: translates arguments into service calls and results into output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from itertools import groupby
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from fdtrack.adapters import event_files, inventory_files
from fdtrack.adapters.csv_export import csv_chunks
from fdtrack.adapters.db.problems import DATABASE_ERRORS, describe_database_problem
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.duis import documents as duis_documents
from fdtrack.adapters.duis.decoder import DuisDecoder
from fdtrack.adapters.duis.schema_check import OperatorSchema, SchemaUnusable
from fdtrack.adapters.json_export import record_json
from fdtrack.cli_progress import Progress
from fdtrack.domain.errors import FdtrackError, InvalidInput, NothingToReset, RecordsNotFound
from fdtrack.domain.reset import ResetNeedsForce
from fdtrack.domain.retention import check_purge_moment
from fdtrack.domain.timestamps import format_rfc3339, parse_rfc3339
from fdtrack.services import lookup
from fdtrack.services import purge as purge_service
from fdtrack.services import rejects as rejects_service
from fdtrack.services.duis_ingest import DuisDocument, ingest_duis, reread_duis
from fdtrack.services.ingest import MAX_REPORTED_ERRORS, IngestOptions, IngestSummary, RawEvent
from fdtrack.services.ingest import ingest as ingest_events
from fdtrack.services.inventory import INVENTORY_DUIS, RawDeviceEntry
from fdtrack.services.ports import StoredRejection
from fdtrack.services.reset import reset_device
from fdtrack.settings import Settings
from fdtrack.simulator import SimulationConfig, Simulator

EXIT_NOTHING_DONE = 1
EXIT_USAGE = 2
EXIT_SOME_REJECTED = 3
F = TypeVar("F", bound=Callable[..., Any])

# Messages are never wrapped: piped into a log or another program, a line must stay one line.
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Context:
    """What every command needs: settings and, opened on first use, the migrated store."""

    def __init__(self, database_url: str | None) -> None:
        try:
            settings = Settings()
        except ValidationError as error:
            first = error.errors()[0]
            raise click.UsageError(f"FDTRACK_{str(first['loc'][0]).upper()}: {first['msg']}") from None
        self.settings = settings.model_copy(update={"database_url": database_url}) if database_url else settings
        self._store: SqlStore | None = None

    @property
    def store(self) -> SqlStore:
        if self._store is None:
            try:
                self._store = SqlStore.open(self.settings.database_url, self.settings.read_database_url)
            except ValueError as error:
                raise click.UsageError(str(error)) from None
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()

    def ingest_options(self) -> IngestOptions:
        return IngestOptions(tracked=self.settings.tracked, batch_size=self.settings.ingest_batch_size)


pass_context = click.make_pass_decorator(Context)


def reports_errors(command: F) -> F:
    """Map domain errors to messages and exit codes, in this one place for the whole command line."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InvalidInput as error:
            raise click.UsageError(str(error)) from None
        except ResetNeedsForce as error:
            err.print(error.explain("add --force"), markup=False)
            sys.exit(EXIT_NOTHING_DONE)
        except (NothingToReset, RecordsNotFound) as error:
            err.print(str(error), markup=False)
            sys.exit(EXIT_NOTHING_DONE)
        except event_files.UnreadableInput as error:
            err.print(f"error: {error}", markup=False)
            sys.exit(EXIT_USAGE)
        except FdtrackError as error:
            err.print(f"error: {error}", markup=False)
            sys.exit(EXIT_NOTHING_DONE)

    wrapper.__name__ = command.__name__
    wrapper.__doc__ = command.__doc__
    return wrapper  # type: ignore[return-value]


class FdtrackCommands(click.Group):
    """The command group; a database that cannot be reached or opened ends any command with one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DATABASE_ERRORS as error:
            context = ctx.find_object(Context)
            url = context.settings.database_url if context is not None else ""
            raise click.ClickException(describe_database_problem(error, url)) from None


@click.group(cls=FdtrackCommands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    envvar="FDTRACK_DATABASE_URL",
    help="sqlite:///path or postgresql://… (default sqlite:///fdtrack.db)",
)
@click.version_option(package_name="fdtrack")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """Firmware Distribution Tracking for GB smart metering."""
    ctx.obj = Context(database_url)
    ctx.call_on_close(ctx.obj.close)


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--format", "input_format", type=click.Choice(event_files.FORMATS), help="Default: from each file's extension."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help='DUIS: also list the messages ignored and the requests registered (JSON: a "notes" list).',
)
@click.option(
    "--schema",
    "schema_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="DUIS only: refuse messages that do not match this XML schema (e.g. the DUIS XSD).",
)
@pass_context
@reports_errors
def ingest(
    context: Context,
    paths: tuple[str, ...],
    input_format: str | None,
    as_json: bool,
    verbose: bool,
    schema_path: Path | None,
) -> None:
    """Ingest tracking events from files ('-' reads stdin); DUIS: XML files or directories of them."""
    formats = [(path, input_format or event_files.guess_format(path)) for path in paths]
    duis_paths = [path for path, fmt in formats if fmt == "duis"]
    if schema_path is not None and not duis_paths:
        raise click.UsageError("--schema applies to DUIS messages only")
    duis_documents.check_paths(duis_paths)
    decoder = DuisDecoder(_operator_schema(schema_path)) if duis_paths else None
    total = sum(Path(path).stat().st_size for path, fmt in formats if fmt != "duis" and Path(path).is_file())
    total += duis_documents.total_bytes(duis_paths)
    counter = event_files.ByteCounter()
    summary = IngestSummary()
    with Progress("Ingesting", total=total or None, unit="bytes", quiet=as_json) as progress:
        # Inputs are ingested in the order given, each run of DUIS paths through the DUIS use case.
        for is_duis, run in groupby(formats, key=lambda given: given[1] == "duis"):
            group = list(run)
            on_batch = partial(_show_progress, progress, counter)
            if is_duis and decoder is not None:
                documents = duis_documents.read_documents([path for path, _ in group], counter)
                registry = context.store.firmware_requests
                options = context.ingest_options()
                summary.add(ingest_duis(context.store, registry, decoder, documents, options, on_batch))
            else:
                raw_events = _raw_events(group, counter)
                summary.add(ingest_events(context.store, raw_events, context.ingest_options(), on_batch))
    _print_ingest_summary(summary, as_json, verbose)
    sys.exit(EXIT_SOME_REJECTED if summary.rejected else 0)


def _show_progress(progress: Progress, counter: event_files.ByteCounter, _batch: IngestSummary) -> None:
    progress.update_to(counter.consumed)


def _operator_schema(path: Path | None) -> OperatorSchema | None:
    if path is None:
        return None
    try:
        return OperatorSchema(path)
    except SchemaUnusable as error:
        raise click.UsageError(str(error)) from None


def _raw_events(formats: list[tuple[str, str]], counter: event_files.ByteCounter) -> Iterator[RawEvent]:
    for path, fmt in formats:
        stream, name = event_files.open_input(path)
        try:
            reader = event_files.read_csv if fmt == "csv" else event_files.read_ndjson
            yield from reader(stream, name, counter)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()


def _print_ingest_summary(summary: IngestSummary, as_json: bool, verbose: bool = False) -> None:
    if as_json:
        click.echo(json.dumps(summary.as_json(with_notes=verbose)))
        return
    click.echo(
        f"accepted {summary.accepted}, duplicates {summary.duplicates}, rejected {summary.rejected}, "
        f"ignored {summary.ignored}"
    )
    for source, error in summary.errors[:20]:
        click.echo(f"  {source}: {error}")
    if summary.rejected > 20:
        click.echo(f"  … and {summary.rejected - 20} more: see `fdtrack rejects list`")
    if verbose:
        for source, note in summary.notes:
            click.echo(f"  {source}: {note}")
        if len(summary.notes) == MAX_REPORTED_ERRORS:
            click.echo(f"  … only the first {MAX_REPORTED_ERRORS} notes are listed")


@main.command(name="lookup")
@click.option("--request", "request_id", help="Service Request ID")
@click.option("--device", "device_id", help="Device ID")
@click.option("--format", "output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@pass_context
@reports_errors
def lookup_command(context: Context, request_id: str | None, device_id: str | None, output: str) -> None:
    """Look up distribution records of all parties by request or by device."""
    if (request_id is None) == (device_id is None):
        raise click.UsageError("give exactly one of --request or --device")
    viewer = lookup.Viewer.everyone("operator")
    retention = context.settings.retention
    if request_id is not None:
        # The CSV shows no history: reading it for a 50,000-device request would be most of the work.
        records: Iterator[lookup.DistributionRecordView] = lookup.iter_records_by_request(
            context.store, viewer, request_id, retention, with_history=output != "csv"
        )
    else:
        records = iter(lookup.records_by_device(context.store, viewer, device_id or "", retention))
    if output == "csv":
        for chunk in csv_chunks(records):
            click.echo(chunk, nl=False)
    elif output == "json":
        click.echo(json.dumps({"records": [record_json(r) for r in records], "next_cursor": None}, indent=2))
    else:
        _print_table(records)


def terminal_safe(text: str) -> str:
    """Stored text as a terminal may show it: control and format characters (escape sequences, carriage
    returns, direction overrides) are written as escapes like \\x1b, so stored text cannot drive the terminal
    or disguise itself."""
    return "".join(
        character if character.isprintable() or character == " " else character.encode("unicode_escape").decode()
        for character in text
    )


def _print_table(records: Iterator[lookup.DistributionRecordView]) -> None:
    table = Table(show_lines=False)
    for column in (
        "Service Request ID",
        "Device ID",
        "Type",
        "Firmware",
        "Current Status",
        "Reason",
        "Updated (UTC)",
        "Completion",
    ):
        table.add_column(column)
    for record in records:
        cells = (
            record.service_request_id,
            record.device_id,
            record.device_type or "",
            record.firmware_version or "",
            record.current_status.value,
            record.current_status_reason,
            format_rfc3339(record.current_status_updated_at),
            record.completion_status.value,
        )
        # Text, not markup: a reason such as "[red]…" is shown as typed, never interpreted by rich.
        table.add_row(*(Text(terminal_safe(cell)) for cell in cells))
    Console(highlight=False, width=200 if not sys.stdout.isatty() else None).print(table)


@main.command()
@click.argument("device_id")
@click.option("--reason", required=True, help="Why the device is reset (1-512 characters).")
@click.option("--operator", required=True, help="Who resets it (recorded in the audit log).")
@click.option("--request", "request_id", help="Reset the record of this Service Request ID.")
@click.option(
    "--force",
    is_flag=True,
    help="Reset the --request record even though it is not In Progress (e.g. Complete); never a Reset by DCC one.",
)
@pass_context
@reports_errors
def reset(context: Context, device_id: str, reason: str, operator: str, request_id: str | None, force: bool) -> None:
    """Reset by DCC: mark a device's In Progress record (or the --request one) as reset so the User can re-send."""
    outcome = reset_device(context.store, device_id, reason, operator, request_id, force=force)
    forced = ", forced: it was not In Progress" if outcome.forced else ""
    click.echo(
        f"Reset device {outcome.device_id} in request {outcome.service_request_id} "
        f"(was {outcome.replaced_status.value}{forced}) at {format_rfc3339(outcome.reset_at)}"
    )


@main.command()
@click.option("--as-of", help="Apply retention as at this RFC 3339 time (default: now).")
@click.option("--force", is_flag=True, help="Allow an --as-of later than now.")
@click.option("--dry-run", is_flag=True, help="Print how many records would be deleted, and delete nothing.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@reports_errors
def purge(context: Context, as_of: str | None, force: bool, dry_run: bool, as_json: bool) -> None:
    """Delete records whose retention period has passed."""
    now = datetime.now(UTC)
    moment = parse_rfc3339(as_of, "--as-of") if as_of else now
    if not dry_run:
        check_purge_moment(moment, now, forced=force, field="--as-of", how_to_force="add --force to do so")
    retention = context.settings.retention
    expired = purge_service.count_expired(context.store, retention, moment)
    if dry_run:
        before = format_rfc3339(retention.cutoff(moment).replace(microsecond=0))
        summary = {"would_delete": expired, "last_received_before": before}
        click.echo(
            json.dumps(summary) if as_json else f"would delete {expired} records (last received before {before})"
        )
        return
    with Progress("Purging", total=expired or None, unit="records", quiet=as_json) as progress:
        deleted = purge_service.purge(context.store, retention, moment, "cli", on_progress=progress.advance)
    click.echo(json.dumps({"deleted": deleted}) if as_json else f"deleted {deleted} records")


@main.group()
def rejects() -> None:
    """Rejected events: list them, re-submit them."""


@rejects.command(name="list")
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved rejections.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_context
@reports_errors
def rejects_list(context: Context, include_resolved: bool, limit: int, as_json: bool) -> None:
    """List kept rejected events, oldest first."""
    kept = rejects_service.list_rejections(context.store, include_resolved=include_resolved, limit=limit)
    if as_json:
        rows = [
            {
                "id": s.rejection_id,
                "source": s.rejection.source,
                "format": s.rejection.format,
                "reason": s.rejection.reason,
                "raw": s.rejection.raw,
                "first_received_at": format_rfc3339(s.first_received_at),
                "last_received_at": format_rfc3339(s.last_received_at),
                "resolved_at": format_rfc3339(s.resolved_at) if s.resolved_at else None,
            }
            for s in kept
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for s in kept:
        state = f" (resolved {format_rfc3339(s.resolved_at)})" if s.resolved_at else ""
        click.echo(f"#{s.rejection_id} {s.rejection.source}: {s.rejection.reason}{state}")
        click.echo(f"    {s.rejection.raw[:200]!r}")
    if not kept:
        click.echo("no rejected events")


@rejects.command(name="resubmit")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Re-submit every unresolved rejection.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@reports_errors
def rejects_resubmit(context: Context, ids: tuple[int, ...], everything: bool, as_json: bool) -> None:
    """Re-submit kept rejections through ingestion; those that now pass are resolved."""
    if not ids and not everything:
        raise click.UsageError("name rejection ids or give --all")
    reread = partial(_reread, context)
    outcome = rejects_service.resubmit(
        context.store, reread, context.ingest_options(), ids or None, reread_devices=_reread_devices
    )
    devices = outcome.devices
    if as_json:
        body = {**outcome.ingest.as_json(), "resolved": outcome.resolved}
        if devices.imported or devices.rejected:
            body["devices"] = {"imported": devices.imported, "rejected": devices.rejected}
        click.echo(json.dumps(body))
    else:
        _print_ingest_summary(outcome.ingest, as_json=False)
        if devices.imported or devices.rejected:
            click.echo(f"device inventory: imported {devices.imported}, rejected {devices.rejected}")
        click.echo(f"resolved {outcome.resolved} rejections")
    sys.exit(EXIT_SOME_REJECTED if outcome.ingest.rejected or devices.rejected else 0)


def _reread(context: Context, stored: StoredRejection, source: str) -> Iterator[RawEvent]:
    raw = stored.rejection.raw
    if stored.rejection.format == "duis":
        registry = context.store.firmware_requests
        yield from reread_duis(context.store, registry, DuisDecoder(), raw, source, context.ingest_options().clock)
    elif stored.rejection.format == "csv":
        yield from event_files.parse_csv_document(raw, source)
    else:
        yield event_files.parse_ndjson_line(raw, source)


def _reread_devices(stored: StoredRejection, source: str) -> Iterator[RawDeviceEntry]:
    raw = stored.rejection.raw
    if stored.rejection.format == INVENTORY_DUIS:
        yield from inventory_files.read_inventory_responses([DuisDocument(source, raw.encode("utf-8"))])
    else:
        yield from inventory_files.parse_inventory_csv_document(raw, source)


@main.command()
@click.option("--output", "-o", default="-", show_default=True, help="NDJSON file to write ('-' is stdout).")
@click.option("--requests", type=click.IntRange(1), default=100, show_default=True)
@click.option("--max-devices", type=click.IntRange(1, 50_000), default=50_000, show_default=True)
@click.option("--devices-per-request", type=click.IntRange(1, 50_000), help="Fixed request size.")
@click.option("--records", type=click.IntRange(1), help="Stop after this many device records.")
@click.option(
    "--large-request",
    "large_requests",
    type=click.IntRange(1, 50_000),
    multiple=True,
    help="Add a request of this size.",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--end", help="Latest event time, RFC 3339 (default: now).")
@click.option(
    "--days", type=click.FloatRange(0.01), default=7.0, show_default=True, help="Span of request start times."
)
@click.option("--failure-scale", type=click.FloatRange(0), default=1.0, show_default=True, help="0: nothing fails.")
@click.option("--duplicate-rate", type=click.FloatRange(0, 1), default=0.01, show_default=True)
@click.option("--late-rate", type=click.FloatRange(0, 1), default=0.02, show_default=True)
@click.option("--unattached-rate", type=click.FloatRange(0, 1), default=0.3, show_default=True)
@click.option("--stuck-rate", type=click.FloatRange(0, 1), default=0.01, show_default=True)
@click.option("--complete", is_flag=True, help="Run every device through all stages, ignoring --end.")
@click.option("--originator", "originators", multiple=True, help="Originator User ID (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print counts as JSON on stderr when done.")
@reports_errors
def simulate(output: str, end: str | None, originators: tuple[str, ...], as_json: bool, **options: Any) -> None:
    """Write a realistic stream of tracking events as NDJSON."""
    config = SimulationConfig(
        end=parse_rfc3339(end, "--end") if end else datetime.now(UTC),
        originators=originators or SimulationConfig().originators,
        **options,
    )
    simulator = Simulator(config)
    expected = config.records or None
    quiet = as_json or output == "-"
    with _output(output) as stream, Progress("Simulating", total=expected, unit="records", quiet=quiet) as progress:
        for line in simulator.lines():
            stream.write(line + "\n")
            if simulator.events % 10_000 == 0:
                progress.update_to(simulator.records)
        progress.update_to(simulator.records)
    summary = {"records": simulator.records, "events": simulator.events}
    err.print(json.dumps(summary) if as_json else f"simulated {simulator.records} records, {simulator.events} events")


@contextmanager
def _output(path: str) -> Iterator[Any]:
    if path == "-":
        yield sys.stdout
        sys.stdout.flush()
    else:
        with Path(path).open("w", encoding="utf-8") as stream:
            yield stream


# The web commands (parties, accounts, serve, demo), the administrators' (tokens, audit), the
# device inventory's (devices import) and the operators' (backup, restore)
# register themselves on `main`; imported last because they import `main` from here.
from fdtrack import cli_admin, cli_devices, cli_operations, cli_web  # noqa: E402, F401

if __name__ == "__main__":  # pragma: no cover - `python -m fdtrack.cli`
    # Run as a script this module is `__main__`; the commands above registered on `fdtrack.cli`.
    from fdtrack.cli import main as registered_main

    registered_main()
