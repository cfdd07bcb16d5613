"""Ports the use cases need from storage, declared as Protocols that adapters implement."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from fdtrack.domain.derivation import RecordState
from fdtrack.domain.events import TrackingEvent
from fdtrack.domain.identifiers import ServiceRequestId
from fdtrack.domain.inventory import InventoryDevice
from fdtrack.domain.statuses import ProcessingStatus

RecordKey = tuple[str, str]  # (canonical Service Request ID, Device ID)


class RetryBatch(Exception):
    """Another writer got there first (a record or event appeared concurrently); redo the batch."""


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A distribution record as stored: its identity, derived state and newest receipt."""

    record_id: int
    request_id: ServiceRequestId
    device_id: str
    state: RecordState
    last_received_at: datetime

    @property
    def key(self) -> RecordKey:
        return (str(self.request_id), self.device_id)


@dataclass(frozen=True, slots=True)
class RecordDelta:
    """The state some new events give a record on their own; storage merges it into the stored state."""

    request_id: ServiceRequestId
    device_id: str
    state: RecordState
    last_received_at: datetime


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of a record's history as users see it."""

    status: ProcessingStatus
    reason: str
    occurred_at: datetime
    received_at: datetime


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An accepted event as kept in a record's history."""

    event: TrackingEvent
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Rejection:
    """An event fdtrack refused, kept so an operator can see and re-submit it."""

    source: str
    format: str
    raw: str
    reason: str


@dataclass(frozen=True, slots=True)
class StoredRejection:
    """A kept rejection with its identity and bookkeeping."""

    rejection_id: int
    rejection: Rejection
    first_received_at: datetime
    last_received_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class Share:
    """Part `index` of `parts` disjoint parts of the stored records, which together hold them all:
    workers side by side, each on a part of its own, never take the same records."""

    index: int = 0
    parts: int = 1


WHOLE = Share()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the append-only audit log."""

    actor: str
    action: str
    subject: str
    detail: dict[str, object]


class WriteTransaction(Protocol):
    """One atomic unit of writes; concurrent writers are serialised per record by the adapter."""

    def stored_digests(self, events: Collection[TrackingEvent]) -> dict[str, bytes]:
        """Content digests of those of `events` already stored, by event_id. The request or device
        each event names lets the adapter look only where such an event can be."""
        ...

    def lock_device_records(self, device_ids: Collection[str]) -> list[StoredRecord]: ...

    def merge_records(self, deltas: Sequence[RecordDelta]) -> dict[RecordKey, int]: ...

    def insert_events(self, events: Sequence[tuple[int, TrackingEvent, bytes]], received_at: datetime) -> int: ...

    def add_rejections(self, rejections: Sequence[Rejection], received_at: datetime) -> None: ...

    def resolve_rejections(self, rejection_ids: Collection[int], resolved_at: datetime) -> None: ...

    def delete_expired(self, cutoff: datetime, limit: int, share: Share = WHOLE) -> int:
        """Delete up to `limit` expired records of `share` with their events; how many went."""
        ...

    def append_audit(self, entry: AuditEntry, at: datetime) -> None: ...

    def import_devices(self, devices: Sequence[tuple[InventoryDevice, str]], imported_at: datetime) -> None:
        """Add or replace inventory entries, each with the source it was read from: the last import wins."""
        ...


class ReadTransaction(Protocol):
    """Consistent reads for look-ups."""

    def records_by_request(
        self,
        request_id: ServiceRequestId,
        originators: frozenset[str] | None,
        after_device_id: str | None,
        limit: int | None,
        completion: str | None = None,
    ) -> list[StoredRecord]: ...

    def records_by_device(self, device_id: str, originators: frozenset[str] | None) -> list[StoredRecord]: ...

    def history_entries(self, record_ids: Collection[int]) -> dict[int, list[HistoryEntry]]: ...

    def request_summary(
        self, request_id: ServiceRequestId, originators: frozenset[str] | None
    ) -> dict[tuple[str, str], int]: ...

    def request_firmware_versions(self, request_id: ServiceRequestId) -> dict[str | None, int]: ...

    def count_expired(self, cutoff: datetime) -> int: ...

    def has_records_of_others(self, originators: frozenset[str]) -> bool:
        """Whether any record was requested by a User ID outside `originators`."""
        ...

    def rejections(
        self, *, include_resolved: bool, limit: int | None, ids: Collection[int] | None
    ) -> list[StoredRejection]: ...

    def iter_rejections(self, *, ids: Collection[int] | None) -> Iterator[StoredRejection]: ...

    def inventory_devices(self, device_ids: Collection[str]) -> dict[str, InventoryDevice]: ...


class Store(Protocol):
    """Where distribution records live; hands out transactions."""

    def write(self) -> AbstractContextManager[WriteTransaction]: ...

    def read(self) -> AbstractContextManager[ReadTransaction]: ...

    def refresh_statistics(self) -> None: ...

    @property
    def writes_side_by_side(self) -> bool:
        """Whether writers can work at once without waiting for each other (SQLite writes one at a time)."""
        ...

    def inventory_out_of_scope(
        self, device_ids: Collection[str], tracked: Collection[str]
    ) -> dict[str, InventoryDevice]:
        """The inventory entries of those of `device_ids` that may be out of scope, in one query on the
        primary database (ingestion depends on it, so never on a replica that may lag): a device
        type outside `tracked`, or a SMETS/CHTS version that may name SMETS1 (domain.inventory.SMETS1_LIKE).
        A superset: domain.inventory.scope_refusal decides. Entries in scope are not even read, so a batch
        of devices the inventory has in scope costs index probes alone."""
        ...

    @property
    def reads_from_any_thread(self) -> bool:
        """Whether every thread reads the same database (not so for SQLite in memory: one per thread)."""
        ...

    def prepare_storage(self, today: date) -> None:
        """Make ready the storage the coming days' events will need (partitions, where used)."""
        ...

    def drop_expired_storage(self, cutoff: datetime) -> int:
        """Remove whole units of storage whose every record has expired (partitions, where used);
        how many records went with them. Expired records elsewhere are left to delete_expired."""
        ...


# --- DUIS ingestion (SPEC §8.5): decoding upstream messages and remembering Update Firmware requests ---


class UnusableMessage(Exception):
    """An upstream message that cannot be turned into tracking events; the text tells an operator why."""


@dataclass(frozen=True, slots=True)
class FirmwareRequest:
    """An Update Firmware request (SR 11.1 / 11.4), remembered so its response can be told device by device."""

    request_id: ServiceRequestId
    service_reference: str
    firmware_version: str
    device_ids: tuple[str, ...]
    device_type: str | None = None  # PPMID for 11.4; an 11.1 does not say

    @property
    def originator(self) -> str:
        return self.request_id.originator


@dataclass(frozen=True, slots=True)
class PerDeviceOutcome:
    """A response about every device of a remembered request: listed devices get their own status."""

    request_id: ServiceRequestId
    occurred_at: str  # RFC 3339
    status: str
    reason: str
    listed: Mapping[str, tuple[str, str]]  # Device ID → (status, reason)


@dataclass(frozen=True, slots=True)
class ActivationRequest:
    """An Activate Firmware request (SR 11.3), remembered so its acknowledgement and failures can be told."""

    request_id: ServiceRequestId
    device_id: str
    execution_at: datetime | None  # future-dated: when the device is to activate its image


@dataclass(frozen=True, slots=True)
class ActivationFollowUp:
    """An event about a remembered 11.3 that holds only when that 11.3 is known (and, if `needs_schedule`,
    future-dated); its reason may name {execution_at}. Otherwise the message is ignored with `otherwise`."""

    request_id: ServiceRequestId
    event: Mapping[str, object]
    needs_schedule: bool
    otherwise: str


@dataclass(frozen=True, slots=True)
class RunningVersion:
    """A device's report of the firmware it runs (None: only that it changed). It confirms activation of the
    record an event without a request would attach to, with `event`, when it matches that record."""

    device_id: str
    version: str | None
    event: Mapping[str, object]
    source: str  # what reported it, for the note when it confirms nothing


@dataclass(frozen=True, slots=True)
class DecodedMessage:
    """What one upstream message means for tracking: a request to remember, events, a per-device outcome,
    or, when it means nothing for tracking, a note saying why it is ignored."""

    kind: str
    request: FirmwareRequest | None = None
    events: tuple[Mapping[str, object], ...] = ()
    per_device: PerDeviceOutcome | None = None
    activation: ActivationRequest | None = None
    follow_up: ActivationFollowUp | None = None
    running_version: RunningVersion | None = None
    note: str = ""

    @property
    def ignored(self) -> bool:
        """Nothing to store: no event, no request to remember, nothing that depends on stored data."""
        return not (
            self.events or self.request or self.per_device or self.activation or self.follow_up or self.running_version
        )


class MessageDecoder(Protocol):
    """Turns one upstream document (e.g. a DUIS message) into what it means; raises UnusableMessage."""

    def decode(self, document: bytes) -> DecodedMessage: ...


class FirmwareRequestRegistry(Protocol):
    """Remembered Update Firmware requests, kept as long as their records (retention, SPEC §6), and
    remembered Activate Firmware requests, kept for the retention period."""

    def remember(self, request: FirmwareRequest, received_at: datetime) -> bool:
        """Keep a request; False when its Service Request ID already names a request with other content."""
        ...

    def recall(self, request_id: ServiceRequestId) -> FirmwareRequest | None: ...

    def remember_activation(self, request: ActivationRequest, received_at: datetime) -> None:
        """Keep an 11.3; one sent again under the same Service Request ID changes nothing."""
        ...

    def recall_activation(self, request_id: ServiceRequestId) -> ActivationRequest | None: ...

    def forget_expired(self, cutoff: datetime, limit: int) -> int:
        """Forget up to `limit` requests received before `cutoff` that no longer have any record
        (11.3 requests never have one of their own)."""
        ...


@runtime_checkable
class RemembersFirmwareRequests(Protocol):
    """A store that also keeps Update Firmware requests, which purging must forget with retention."""

    @property
    def firmware_requests(self) -> FirmwareRequestRegistry: ...
