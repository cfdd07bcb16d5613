"""Device inventory import: entries validated, the refused kept like rejected events, the rest stored in batches."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.inventory import InventoryDevice, parse_inventory_device
from fdtrack.services.ingest import DEFAULT_BATCH_SIZE, MAX_REPORTED_ERRORS
from fdtrack.services.ports import Rejection, Store
from fdtrack.services.retry import run_with_retries

# How the rejected-events store labels refused inventory input: one row (a CSV document of its header
# and the row, whatever it was read from) or a whole DUIS 8.2 response that could not be read.
INVENTORY_CSV = "inv-csv"
INVENTORY_DUIS = "inv-duis"
INVENTORY_FORMATS = frozenset({INVENTORY_CSV, INVENTORY_DUIS})


@dataclass(frozen=True, slots=True)
class RawDeviceEntry:
    """One inventory entry as read from an input, before validation: its fields, or why they could not be read."""

    source: str
    format: str  # INVENTORY_CSV or INVENTORY_DUIS
    raw: str
    fields: Mapping[str, object] | None = None
    read_error: str | None = None


@dataclass(slots=True)
class InventorySummary:
    """What an inventory import did: devices imported, entries rejected, and the first errors."""

    imported: int = 0
    rejected: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def add(self, other: InventorySummary) -> None:
        self.imported += other.imported
        self.rejected += other.rejected
        room = MAX_REPORTED_ERRORS - len(self.errors)
        self.errors.extend(other.errors[: max(room, 0)])

    def as_json(self) -> dict[str, object]:
        return {
            "imported": self.imported,
            "rejected": self.rejected,
            "errors": [{"source": source, "error": error} for source, error in self.errors],
        }


def import_inventory(
    store: Store,
    entries: Iterable[RawDeviceEntry],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_batch: Callable[[InventorySummary], None] | None = None,
) -> InventorySummary:
    """Import a stream of entries in batches, each in one transaction with its rejections. A device named
    again, later in the stream or in a later import, takes the later entry: the last import wins."""
    total = InventorySummary()
    iterator = iter(entries)
    while batch := list(islice(iterator, batch_size)):
        outcome = import_inventory_batch(store, batch, clock())
        total.add(outcome)
        if on_batch is not None:
            on_batch(outcome)
    return total


def import_inventory_batch(store: Store, batch: list[RawDeviceEntry], now: datetime) -> InventorySummary:
    """Validate and store one batch of entries in one transaction."""
    devices: list[tuple[InventoryDevice, str]] = []
    rejections: list[Rejection] = []
    for entry in batch:
        try:
            devices.append((validate_entry(entry), entry.source))
        except InvalidInput as error:
            rejections.append(Rejection(entry.source, entry.format, entry.raw, str(error)))

    def attempt() -> None:
        with store.write() as tx:
            tx.import_devices(devices, now)
            tx.add_rejections(rejections, now)

    run_with_retries(attempt)
    return InventorySummary(
        imported=len(devices), rejected=len(rejections), errors=[(r.source, r.reason) for r in rejections]
    )


def validate_entry(entry: RawDeviceEntry) -> InventoryDevice:
    """The entry's device, or InvalidInput naming the field at fault ("entry" when it could not be read)."""
    if entry.fields is None:
        raise InvalidInput("entry", entry.read_error or "could not be read")
    return parse_inventory_device(entry.fields)
