"""Rejected events: listing them and re-submitting them through ingestion (SPEC §5.2)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from fdtrack.services.ingest import IngestOptions, IngestSummary, RawEvent, ingest_batch
from fdtrack.services.inventory import INVENTORY_FORMATS, InventorySummary, RawDeviceEntry, import_inventory_batch
from fdtrack.services.ports import Store, StoredRejection

RESUBMIT_BATCH = 500
SOURCE_PREFIX = "rejected:"


@dataclass(slots=True)
class ResubmitSummary:
    ingest: IngestSummary
    resolved: int = 0
    devices: InventorySummary = field(default_factory=InventorySummary)  # refused inventory entries


def list_rejections(store: Store, *, include_resolved: bool = False, limit: int | None = 100) -> list[StoredRejection]:
    with store.read() as tx:
        return tx.rejections(include_resolved=include_resolved, limit=limit, ids=None)


def resubmit(
    store: Store,
    reread: Callable[[StoredRejection, str], Iterable[RawEvent]],
    options: IngestOptions,
    ids: Collection[int] | None = None,
    reread_devices: Callable[[StoredRejection, str], Iterable[RawDeviceEntry]] | None = None,
) -> ResubmitSummary:
    """Ingest kept rejections again; those that now go through are marked resolved. Refused device
    inventory entries go through the inventory import again (`reread_devices`), and are left open
    when it is not given.

    Events are stored before their rejection is resolved, so a crash in between leaves the
    rejection open and a second run finds its events duplicates and resolves it then.
    """
    summary = ResubmitSummary(IngestSummary())
    with store.read() as reader:
        pending: Iterator[StoredRejection] = reader.iter_rejections(ids=ids)
        while batch := list(islice(pending, RESUBMIT_BATCH)):
            events = [s for s in batch if s.rejection.format not in INVENTORY_FORMATS]
            entries = [s for s in batch if s.rejection.format in INVENTORY_FORMATS and reread_devices is not None]
            errors: list[tuple[str, str]] = []
            if events:
                raw_events = [raw for s in events for raw in reread(s, f"{SOURCE_PREFIX}{s.rejection_id}")]
                outcome = ingest_batch(store, raw_events, options)
                summary.ingest.add(outcome)
                errors.extend(outcome.errors)
            if entries and reread_devices is not None:
                raw_entries = [e for s in entries for e in reread_devices(s, f"{SOURCE_PREFIX}{s.rejection_id}")]
                imported = import_inventory_batch(store, raw_entries, options.clock())
                summary.devices.add(imported)
                errors.extend(imported.errors)
            # Rejected again for the same reason: the kept row is the same one and stays open. For
            # another reason a new row now holds it, so the old one is resolved as superseded.
            still_open = {(_rejection_id(source), reason) for source, reason in errors}
            solved = [
                s.rejection_id for s in (*events, *entries) if (s.rejection_id, s.rejection.reason) not in still_open
            ]
            with store.write() as tx:
                tx.resolve_rejections(solved, datetime.now(UTC))
            summary.resolved += len(solved)
    return summary


def _rejection_id(source: str) -> int:
    return int(source.removeprefix(SOURCE_PREFIX).split(":", 1)[0])
