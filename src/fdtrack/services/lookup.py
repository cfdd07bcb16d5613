"""Look-up use cases: records by Service Request ID or Device ID, with access rules applied (SPEC §7)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from fdtrack.domain.errors import InvalidInput, RecordsNotFound
from fdtrack.domain.identifiers import canonical_eui64, parse_device_id, parse_service_request_id
from fdtrack.domain.inventory import InventoryDevice
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.domain.statuses import CompletionStatus, ProcessingStatus
from fdtrack.services.ports import HistoryEntry, Store, StoredRecord

MAX_PAGE = 1_000
DEFAULT_PAGE = 100


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: a party's User IDs limit what is visible; None means every party (service centre)."""

    name: str
    originators: frozenset[str] | None

    @classmethod
    def everyone(cls, name: str) -> Viewer:
        return cls(name, None)


class DeviceTypeOrigin(StrEnum):
    """Where a record's Device Type comes from."""

    EVENTS = "events"  # an event of the record carried it (SPEC §5.1 rule 4)
    INVENTORY = "inventory"  # no event did; the device inventory says what the device is
    NOT_KNOWN = "not known"  # neither: no event carried one and the device is not in the inventory


@dataclass(frozen=True, slots=True)
class DistributionRecordView:
    """A distribution record as every interface shows it."""

    service_request_id: str
    device_id: str
    device_type: str | None
    firmware_version: str | None
    current_status: ProcessingStatus
    current_status_reason: str
    current_status_updated_at: datetime
    completion_status: CompletionStatus
    started_at: datetime
    available_until: datetime
    history: tuple[HistoryEntry, ...]
    device_type_origin: DeviceTypeOrigin = DeviceTypeOrigin.EVENTS


@dataclass(frozen=True, slots=True)
class RecordsPage:
    records: list[DistributionRecordView]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class RequestOverview:
    """The head of a request's results: firmware version, device count and status counts."""

    service_request_id: str
    firmware_version: str | None
    device_count: int
    by_completion: dict[CompletionStatus, int]
    by_processing: dict[ProcessingStatus, int]


def not_found_message(search_by: str, term: str) -> str:
    """The one message for nothing found and nothing visible (§7)."""
    label = "Service Request ID" if search_by == "service_request_id" else "Device ID"
    return f"No firmware distribution records found for {label} {term.strip()[:100]}"


def records_by_request(
    store: Store,
    viewer: Viewer,
    request_id: str,
    retention: RetentionPolicy,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    completion: CompletionStatus | None = None,
    with_history: bool = True,
) -> RecordsPage:
    """One page of a request's records, in Device ID order (histories read unless not wanted)."""
    parsed = parse_service_request_id(request_id, "request_id")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("limit", f"must be between 1 and {MAX_PAGE}")
    after = decode_cursor(cursor) if cursor else None
    with store.read() as tx:
        records = tx.records_by_request(
            parsed, viewer.originators, after, limit + 1, completion.value if completion else None
        )
        if not records and after is None and completion is None:
            raise RecordsNotFound(not_found_message("service_request_id", request_id))
        more = len(records) > limit
        records = records[:limit]
        if with_history:
            views = _views(tx, records, retention)
        else:
            inventory = _inventory_of(tx, records)
            views = [record_view(r, retention, inventory=inventory.get(r.device_id)) for r in records]
    return RecordsPage(views, encode_cursor(records[-1].device_id) if more else None)


def iter_records_by_request(
    store: Store,
    viewer: Viewer,
    request_id: str,
    retention: RetentionPolicy,
    page_size: int = MAX_PAGE,
    *,
    with_history: bool = True,
) -> Iterator[DistributionRecordView]:
    """Every record of a request, page by page (each page its own short read, so a slow reader never
    holds a transaction open), in flat memory. The first page is read now: RecordsNotFound is raised
    here, before the caller commits to anything, not on the first iteration."""
    first = records_by_request(store, viewer, request_id, retention, limit=page_size, with_history=with_history)
    return _pages_from(first, store, viewer, request_id, retention, page_size, with_history)


def _pages_from(
    page: RecordsPage,
    store: Store,
    viewer: Viewer,
    request_id: str,
    retention: RetentionPolicy,
    page_size: int,
    with_history: bool,
) -> Iterator[DistributionRecordView]:
    while True:
        yield from page.records
        if page.next_cursor is None:
            return
        page = records_by_request(
            store, viewer, request_id, retention, limit=page_size, cursor=page.next_cursor, with_history=with_history
        )


class DeviceRecordReads(Protocol):
    """The reads a device look-up makes (a ReadTransaction has them; so has a leaner reader for the API)."""

    def records_by_device(self, device_id: str, originators: frozenset[str] | None) -> list[StoredRecord]: ...

    def history_entries(self, record_ids: Collection[int]) -> dict[int, list[HistoryEntry]]: ...

    def inventory_devices(self, device_ids: Collection[str]) -> dict[str, InventoryDevice]: ...


class DeviceRecordSource(Protocol):
    def read(self) -> AbstractContextManager[DeviceRecordReads]: ...


def records_by_device(
    store: DeviceRecordSource, viewer: Viewer, device_id: str, retention: RetentionPolicy
) -> list[DistributionRecordView]:
    """A device's visible records, newest first (by start)."""
    parsed = parse_device_id(device_id, "device_id")
    with store.read() as tx:
        records = tx.records_by_device(parsed, viewer.originators)
        if not records:
            raise RecordsNotFound(not_found_message("device_id", device_id))
        return _views(tx, records, retention)


def request_overview(store: Store, viewer: Viewer, request_id: str) -> RequestOverview:
    """Counts by Completion and Processing Status for a request the viewer may see."""
    parsed = parse_service_request_id(request_id, "request_id")
    with store.read() as tx:
        counts = tx.request_summary(parsed, viewer.originators)
        if not counts:
            raise RecordsNotFound(not_found_message("service_request_id", request_id))
        versions = tx.request_firmware_versions(parsed)
    by_completion = dict.fromkeys(CompletionStatus, 0)
    by_processing = dict.fromkeys(ProcessingStatus, 0)
    for (completion, status), count in counts.items():
        by_completion[CompletionStatus(completion)] += count
        by_processing[ProcessingStatus(status)] += count
    named = {version: count for version, count in versions.items() if version}
    firmware = max(named, key=lambda version: (named[version], version)) if named else None
    return RequestOverview(str(parsed), firmware, sum(counts.values()), by_completion, by_processing)


def encode_cursor(device_id: str) -> str:
    return base64.urlsafe_b64encode(device_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    device_id = canonical_eui64(text)
    if device_id is None or device_id != text:
        raise InvalidInput("cursor", "is not a cursor returned by a previous page")
    return device_id


def _views(
    tx: DeviceRecordReads, records: list[StoredRecord], retention: RetentionPolicy
) -> list[DistributionRecordView]:
    histories = tx.history_entries([record.record_id for record in records])
    inventory = _inventory_of(tx, records)
    return [
        record_view(record, retention, histories[record.record_id], inventory.get(record.device_id))
        for record in records
    ]


def _inventory_of(tx: DeviceRecordReads, records: Sequence[StoredRecord]) -> dict[str, InventoryDevice]:
    """The inventory entries of the records whose events named no device type: one query per page."""
    untyped = {record.device_id for record in records if record.state.device_type is None}
    return tx.inventory_devices(untyped) if untyped else {}


def record_view(
    record: StoredRecord,
    retention: RetentionPolicy,
    history: Sequence[HistoryEntry] = (),
    inventory: InventoryDevice | None = None,
) -> DistributionRecordView:
    """A stored record as every interface shows it (with its history when the caller read it). Its Device
    Type is its events' (SPEC §5.1 rule 4) or, when none carried one, the device inventory's."""
    state = record.state
    if state.device_type is not None:
        device_type: str | None = state.device_type.value
        origin = DeviceTypeOrigin.EVENTS
    elif inventory is not None:
        device_type, origin = inventory.device_type, DeviceTypeOrigin.INVENTORY
    else:
        device_type, origin = None, DeviceTypeOrigin.NOT_KNOWN
    return DistributionRecordView(
        service_request_id=str(record.request_id),
        device_id=record.device_id,
        device_type=device_type,
        firmware_version=state.firmware_version.value if state.firmware_version else None,
        current_status=state.current.status,
        current_status_reason=state.current.reason,
        current_status_updated_at=state.current.occurred_at,
        completion_status=state.completion,
        started_at=state.started_at,
        available_until=retention.available_until(record.last_received_at),
        history=tuple(history),
        device_type_origin=origin,
    )
