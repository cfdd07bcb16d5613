"""Ingest use case: validate events, classify duplicates and conflicts, correlate, store atomically per batch."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from fdtrack.domain.derivation import RecordState, absorb
from fdtrack.domain.device_types import ALL_TRACKED, DeviceType
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.events import TrackingEvent, validate_event
from fdtrack.domain.identifiers import ServiceRequestId
from fdtrack.domain.reset import RecordSummary, latest_in_progress
from fdtrack.services.ports import (
    NewRecord,
    RecordKey,
    Rejection,
    RetryBatch,
    Store,
    StoredRecord,
    WriteTransaction,
)
from fdtrack.services.retry import run_with_retries

DEFAULT_BATCH_SIZE = 5_000
MAX_REPORTED_ERRORS = 1_000  # the rest stay in the rejected-events store; keeps memory flat on huge files


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One event as read from an input, before validation: its fields, or why they could not be read."""

    source: str
    format: str
    raw: str
    fields: Mapping[str, object] | None = None
    read_error: str | None = None


@dataclass(slots=True)
class IngestSummary:
    """What an ingestion did: the counts of §8.1 and the first errors with their sources."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def add(self, other: IngestSummary) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        room = MAX_REPORTED_ERRORS - len(self.errors)
        self.errors.extend(other.errors[: max(room, 0)])

    def as_json(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": [{"source": source, "error": error} for source, error in self.errors],
        }


@dataclass(frozen=True, slots=True)
class _Candidate:
    raw: RawEvent
    event: TrackingEvent
    digest: bytes  # of the content as sent, before correlation attaches a request


@dataclass(frozen=True)
class IngestOptions:
    """Settings that shape validation and batching."""

    tracked: frozenset[DeviceType] = ALL_TRACKED
    batch_size: int = DEFAULT_BATCH_SIZE
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


def ingest(
    store: Store,
    raw_events: Iterable[RawEvent],
    options: IngestOptions | None = None,
    on_batch: Callable[[IngestSummary], None] | None = None,
) -> IngestSummary:
    """Ingest a stream in batches; each batch is stored atomically, so a crash loses only unfinished batches."""
    options = options or IngestOptions()
    total = IngestSummary()
    iterator = iter(raw_events)
    while batch := list(islice(iterator, options.batch_size)):
        outcome = ingest_batch(store, batch, options)
        total.add(outcome)
        if on_batch is not None:
            on_batch(outcome)
    return total


def ingest_batch(store: Store, batch: list[RawEvent], options: IngestOptions) -> IngestSummary:
    """Validate and store one batch in one transaction, retrying if a concurrent writer interferes."""
    now = options.clock()
    candidates: list[_Candidate] = []
    invalid: list[Rejection] = []
    for raw in batch:
        try:
            event = _validated(raw, now, options.tracked)
        except InvalidInput as error:
            invalid.append(Rejection(raw.source, raw.format, raw.raw, str(error)))
            continue
        candidates.append(_Candidate(raw, event, event.content_digest))

    def attempt() -> IngestSummary:
        with store.write() as tx:
            return _store_batch(tx, candidates, invalid, now)

    return run_with_retries(attempt)


def _validated(raw: RawEvent, now: datetime, tracked: frozenset[DeviceType]) -> TrackingEvent:
    if raw.fields is None:
        raise InvalidInput("event", raw.read_error or "could not be read")
    return validate_event(raw.fields, now=now, tracked=tracked)


def _store_batch(
    tx: WriteTransaction, candidates: list[_Candidate], invalid: list[Rejection], now: datetime
) -> IngestSummary:
    summary = IngestSummary()
    rejections = list(invalid)
    fresh, duplicates, conflicts = _classify(tx, candidates)
    summary.duplicates = duplicates
    rejections.extend(conflicts)

    correlation = _Correlation(tx, fresh)
    attached: list[tuple[RecordKey, _Candidate]] = []
    for candidate in fresh:
        event = candidate.event
        if event.request_id is None:
            chosen = correlation.in_progress_record(event.device_id)
            if chosen is None:
                rejections.append(
                    _rejection(candidate, f"no firmware distribution in progress for device {event.device_id}")
                )
                continue
            event = event.attached_to(chosen)
        key = (str(event.request_id), event.device_id)
        correlation.absorb(key, event, now)
        attached.append((key, _Candidate(candidate.raw, event, candidate.digest)))

    new_ids = tx.insert_records(correlation.new_records())
    record_ids = {key: record.record_id for key, record in correlation.existing.items()} | new_ids
    rows = sorted(((record_ids[key], c.event, c.digest) for key, c in attached), key=lambda row: row[1].event_id)
    if tx.insert_events(rows, now) != len(rows):
        raise RetryBatch("an event of this batch was stored concurrently")
    tx.update_records(correlation.changed_records())
    tx.add_rejections(rejections, now)
    summary.accepted = len(rows)
    summary.rejected = len(rejections)
    summary.errors = [(r.source, r.reason) for r in rejections[:MAX_REPORTED_ERRORS]]
    return summary


def _classify(tx: WriteTransaction, candidates: list[_Candidate]) -> tuple[list[_Candidate], int, list[Rejection]]:
    """Split into fresh events, duplicates (same id, same content) and conflicts (same id, other content)."""
    stored = tx.stored_digests({c.event.event_id for c in candidates})
    seen: dict[str, bytes] = {}
    fresh: list[_Candidate] = []
    duplicates = 0
    conflicts: list[Rejection] = []
    for candidate in candidates:
        event_id = candidate.event.event_id
        known = stored.get(event_id, seen.get(event_id))
        if known is None:
            seen[event_id] = candidate.digest
            fresh.append(candidate)
        elif known == candidate.digest:
            duplicates += 1
        else:
            conflicts.append(_rejection(candidate, "event_id: reused with different content"))
    return fresh, duplicates, conflicts


def _rejection(candidate: _Candidate, reason: str) -> Rejection:
    return Rejection(candidate.raw.source, candidate.raw.format, candidate.raw.raw, reason)


class _Correlation:
    """The batch's view of the records it touches, updated event by event in ingestion order."""

    def __init__(self, tx: WriteTransaction, fresh: list[_Candidate]) -> None:
        keys = {(str(c.event.request_id), c.event.device_id) for c in fresh if c.event.request_id is not None}
        unattached_devices = {c.event.device_id for c in fresh if c.event.request_id is None}
        self.existing: dict[RecordKey, StoredRecord] = {}
        # Lock the devices' records first, then the named ones, always in one order (fewer deadlocks).
        for record in tx.lock_device_records(unattached_devices):
            self.existing[record.key] = record
        self.existing.update(tx.lock_records(keys - self.existing.keys()))
        self.states: dict[RecordKey, RecordState] = {key: r.state for key, r in self.existing.items()}
        self.received: dict[RecordKey, datetime] = {key: r.last_received_at for key, r in self.existing.items()}
        self.requests = {key: r.request_id for key, r in self.existing.items()}
        self.by_device: dict[str, set[RecordKey]] = {}
        for key in self.existing:
            self.by_device.setdefault(key[1], set()).add(key)
        self.touched: set[RecordKey] = set()

    def in_progress_record(self, device_id: str) -> ServiceRequestId | None:
        summaries = [
            RecordSummary(self.requests[key], key[1], state.completion, state.started_at, state.current.status)
            for key in self.by_device.get(device_id, ())
            if (state := self.states[key])
        ]
        chosen = latest_in_progress(summaries)
        return None if chosen is None else chosen.request_id

    def absorb(self, key: RecordKey, event: TrackingEvent, received_at: datetime) -> None:
        assert event.request_id is not None
        self.states[key] = absorb(self.states.get(key), event)
        self.received[key] = max(self.received.get(key, received_at), received_at)
        self.requests[key] = event.request_id
        self.by_device.setdefault(key[1], set()).add(key)
        self.touched.add(key)

    def new_records(self) -> list[NewRecord]:
        return [
            NewRecord(self.requests[key], key[1], self.states[key], self.received[key])
            for key in sorted(self.touched - self.existing.keys())
        ]

    def changed_records(self) -> list[StoredRecord]:
        return [
            StoredRecord(record.record_id, record.request_id, record.device_id, self.states[key], self.received[key])
            for key, record in self.existing.items()
            if key in self.touched
        ]
