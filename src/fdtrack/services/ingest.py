"""Ingest use case: validate events, classify duplicates and conflicts, correlate, store atomically per batch."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from fdtrack.domain.derivation import RecordState, absorb
from fdtrack.domain.device_types import ALL_TRACKED, DeviceType
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.events import TrackingEvent, validate_event_with_digest
from fdtrack.domain.identifiers import ServiceRequestId
from fdtrack.domain.inventory import scope_refusal
from fdtrack.domain.reset import RecordSummary, record_for_device_alert
from fdtrack.services.ports import (
    RecordDelta,
    RecordKey,
    Rejection,
    RetryBatch,
    Store,
    WriteTransaction,
)
from fdtrack.services.read_ahead import read_ahead
from fdtrack.services.retry import run_with_retries

DEFAULT_BATCH_SIZE = 10_000  # events per transaction: fewer commits, and still flat memory (docs/benchmarks.md)
BULK_LOAD = 100_000  # events in one ingestion after which table statistics are refreshed
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
    """What an ingestion did: the counts of §8.1, the first errors with their sources, and the messages
    ignored as meaning nothing for tracking (DUIS), with the first notes on what was done or ignored."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    ignored: int = 0
    notes: list[tuple[str, str]] = field(default_factory=list)

    def add(self, other: IngestSummary) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.ignored += other.ignored
        room = MAX_REPORTED_ERRORS - len(self.errors)
        self.errors.extend(other.errors[: max(room, 0)])
        room = MAX_REPORTED_ERRORS - len(self.notes)
        self.notes.extend(other.notes[: max(room, 0)])

    def as_json(self, *, with_notes: bool = False) -> dict[str, object]:
        body: dict[str, object] = {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": [{"source": source, "error": error} for source, error in self.errors],
            "ignored": self.ignored,
        }
        if with_notes:
            body["notes"] = [{"source": source, "note": note} for source, note in self.notes]
        return body


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
    validated = _validated_batches(store, raw_events, options)
    # One batch ahead is enough to overlap validation with the database; more would only cost memory.
    # Validation reads the device inventory: where another thread would see another database (SQLite in
    # memory), it runs on this one.
    ahead = read_ahead(validated, depth=1) if store.reads_from_any_thread else nullcontext(validated)
    with ahead as batches:
        for batch in batches:
            outcome = _store_validated(store, batch)
            total.add(outcome)
            if on_batch is not None:
                on_batch(outcome)
    if total.accepted >= BULK_LOAD:
        # Query plans rest on table statistics; after a bulk load they are stale until the
        # database's own maintenance catches up, and look-ups could be planned badly meanwhile.
        store.refresh_statistics()
    return total


def ingest_batch(store: Store, batch: list[RawEvent], options: IngestOptions) -> IngestSummary:
    """Validate and store one batch in one transaction, retrying if a concurrent writer interferes."""
    return _store_validated(store, _validate_batch(store, batch, options))


@dataclass(frozen=True, slots=True)
class _ValidatedBatch:
    candidates: list[_Candidate]
    invalid: list[Rejection]
    validated_at: datetime
    refusals: dict[str, str]  # Device ID → why the inventory puts its untyped events out of scope


def _validated_batches(
    store: Store, raw_events: Iterable[RawEvent], options: IngestOptions
) -> Iterator[_ValidatedBatch]:
    iterator = iter(raw_events)
    while batch := list(islice(iterator, options.batch_size)):
        yield _validate_batch(store, batch, options)


def _validate_batch(store: Store, batch: list[RawEvent], options: IngestOptions) -> _ValidatedBatch:
    now = options.clock()
    candidates: list[_Candidate] = []
    invalid: list[Rejection] = []
    for raw in batch:
        try:
            event, digest = _validated(raw, now, options.tracked)
        except InvalidInput as error:
            invalid.append(Rejection(raw.source, raw.format, raw.raw, str(error)))
            continue
        candidates.append(_Candidate(raw, event, digest))
    return _ValidatedBatch(candidates, invalid, now, _scope_refusals(store, candidates, options.tracked))


def _store_validated(store: Store, batch: _ValidatedBatch) -> IngestSummary:
    def attempt() -> IngestSummary:
        with store.write() as tx:
            return _store_batch(tx, batch)

    return run_with_retries(attempt)


def _validated(raw: RawEvent, now: datetime, tracked: frozenset[DeviceType]) -> tuple[TrackingEvent, bytes]:
    if raw.fields is None:
        raise InvalidInput("event", raw.read_error or "could not be read")
    return validate_event_with_digest(raw.fields, now=now, tracked=tracked)


def _store_batch(tx: WriteTransaction, batch: _ValidatedBatch) -> IngestSummary:
    summary = IngestSummary()
    now = batch.validated_at
    rejections = list(batch.invalid)
    fresh, duplicates, conflicts = _classify(tx, batch.candidates)
    summary.duplicates = duplicates
    rejections.extend(conflicts)
    fresh = _in_scope(fresh, batch.refusals, rejections)

    correlation = _Correlation(tx, {c.event.device_id for c in fresh if c.event.request_id is None})
    deltas: dict[RecordKey, RecordState] = {}
    requests: dict[RecordKey, ServiceRequestId] = {}
    attached: list[tuple[RecordKey, TrackingEvent, bytes]] = []
    for candidate in fresh:
        event = candidate.event
        if event.request_id is None:
            chosen = correlation.open_record(event.device_id)
            if chosen is None:
                reason = f"no firmware distribution in progress for device {event.device_id}"
                rejections.append(_rejection(candidate, reason))
                continue
            event = event.attached_to(chosen)
        assert event.request_id is not None
        key = (str(event.request_id), event.device_id)
        correlation.absorb(key, event)
        deltas[key] = absorb(deltas.get(key), event)
        requests[key] = event.request_id
        attached.append((key, event, candidate.digest))

    record_ids = tx.merge_records([RecordDelta(requests[key], key[1], state, now) for key, state in deltas.items()])
    rows = sorted(((record_ids[key], event, digest) for key, event, digest in attached), key=lambda r: r[1].event_id)
    if tx.insert_events(rows, now) != len(rows):
        # Another writer stored one of these events since _classify looked: start the batch again.
        raise RetryBatch("an event of this batch was stored concurrently")
    tx.add_rejections(rejections, now)
    summary.accepted = len(rows)
    summary.rejected = len(rejections)
    summary.errors = [(r.source, r.reason) for r in rejections]
    return summary


def _classify(tx: WriteTransaction, candidates: list[_Candidate]) -> tuple[list[_Candidate], int, list[Rejection]]:
    """Split into fresh events, duplicates (same id, same content) and conflicts (same id, other content)."""
    stored = tx.stored_digests([c.event for c in candidates])
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


def _scope_refusals(store: Store, candidates: list[_Candidate], tracked: frozenset[DeviceType]) -> dict[str, str]:
    """SPEC §3 for events that carry no device type: the device inventory says what each device is, read
    in one query for the whole batch while the batch is validated (one batch ahead of the database's
    work, so ingestion does not wait for it). Devices it does not know are tracked."""
    untyped = {candidate.event.device_id for candidate in candidates if candidate.event.device_type is None}
    if not untyped:
        return {}
    suspects = store.inventory_out_of_scope(untyped, [device_type.value for device_type in tracked])
    return {device_id: reason for device_id, device in suspects.items() if (reason := scope_refusal(device, tracked))}


def _in_scope(candidates: list[_Candidate], refusals: dict[str, str], rejections: list[Rejection]) -> list[_Candidate]:
    """The candidates the inventory leaves in scope; the others are rejected with the reason, and kept for
    re-submission once the inventory says otherwise. Duplicates were counted before: sent again, an
    event stored before the inventory knew its device is still harmless."""
    if not refusals:
        return candidates
    kept: list[_Candidate] = []
    for candidate in candidates:
        event = candidate.event
        reason = refusals.get(event.device_id) if event.device_type is None else None
        if reason is None:
            kept.append(candidate)
        else:
            rejections.append(_rejection(candidate, reason))
    return kept


def _rejection(candidate: _Candidate, reason: str) -> Rejection:
    return Rejection(candidate.raw.source, candidate.raw.format, candidate.raw.raw, reason)


class _Correlation:
    """The states of the devices that have events without a request, kept current event by event in
    ingestion order: §5.3 attaches each to the device's latest open record at that moment."""

    def __init__(self, tx: WriteTransaction, devices: set[str]) -> None:
        self.devices = devices
        self.states: dict[RecordKey, RecordState] = {}
        self.requests: dict[RecordKey, ServiceRequestId] = {}
        self.by_device: dict[str, set[RecordKey]] = {}
        for record in tx.lock_device_records(devices):
            self._remember(record.key, record.request_id, record.state)

    def open_record(self, device_id: str) -> ServiceRequestId | None:
        summaries = [
            RecordSummary(self.requests[key], key[1], state.completion, state.started_at, state.current.status)
            for key in self.by_device.get(device_id, ())
            if (state := self.states[key])
        ]
        chosen = record_for_device_alert(summaries)
        return None if chosen is None else chosen.request_id

    def absorb(self, key: RecordKey, event: TrackingEvent) -> None:
        if event.device_id in self.devices and event.request_id is not None:
            self._remember(key, event.request_id, absorb(self.states.get(key), event))

    def _remember(self, key: RecordKey, request_id: ServiceRequestId, state: RecordState) -> None:
        self.states[key] = state
        self.requests[key] = request_id
        self.by_device.setdefault(key[1], set()).add(key)
