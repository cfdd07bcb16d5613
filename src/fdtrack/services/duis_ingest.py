"""Ingest use case for DUIS messages: remember Update Firmware requests, turn the rest into tracking events."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from fdtrack.domain.identifiers import ServiceRequestId
from fdtrack.domain.reset import RecordSummary, record_for_device_alert
from fdtrack.domain.running_version import why_not_confirmed
from fdtrack.domain.timestamps import format_rfc3339
from fdtrack.services.ingest import MAX_REPORTED_ERRORS, IngestOptions, IngestSummary, RawEvent, ingest
from fdtrack.services.ports import (
    ActivationFollowUp,
    DecodedMessage,
    FirmwareRequest,
    FirmwareRequestRegistry,
    MessageDecoder,
    PerDeviceOutcome,
    RunningVersion,
    Store,
    UnusableMessage,
)

FORMAT = "duis"
MAX_KEPT_DOCUMENT = 256 * 1024  # a refused document is kept whole up to this size, then cut
MAX_DEFERRED = 10_000  # responses held back until the end of a run, waiting for their request


@dataclass(frozen=True, slots=True)
class DuisDocument:
    """One DUIS message as received: where it came from and its bytes."""

    source: str
    content: bytes


def ingest_duis(
    store: Store,
    registry: FirmwareRequestRegistry,
    decoder: MessageDecoder,
    documents: Iterable[DuisDocument],
    options: IngestOptions | None = None,
    on_batch: Callable[[IngestSummary], None] | None = None,
) -> IngestSummary:
    """Ingest DUIS messages in order; every message that cannot be used is kept with its reason, and every
    message that means nothing for tracking is counted as ignored with a note saying why."""
    options = options or IngestOptions()
    translator = DuisTranslator(registry, decoder, options.clock, store)
    summary = ingest(store, translator.raw_events(documents), options, on_batch)
    if translator.has_running_versions:
        # Compared with the records as stored once the rest of the run is in: a report of the running
        # version is judged against the record the run itself may have just brought to its HAN stage.
        summary.add(ingest(store, translator.confirmations(), options, on_batch))
    translator.annotate(summary)
    return summary


def ingest_duis_body(
    store: Store,
    registry: FirmwareRequestRegistry,
    decoder: MessageDecoder,
    body: bytes,
    source: str,
    options: IngestOptions | None = None,
) -> IngestSummary:
    """One DUIS message received whole, e.g. the body of an HTTP request."""
    return ingest_duis(store, registry, decoder, [DuisDocument(source, body)], options)


def reread_duis(
    store: Store,
    registry: FirmwareRequestRegistry,
    decoder: MessageDecoder,
    raw: str,
    source: str,
    clock: Callable[[], datetime],
) -> list[RawEvent]:
    """The events of a kept DUIS message, for re-submission (`fdtrack rejects resubmit`)."""
    translator = DuisTranslator(registry, decoder, clock, store)
    events = list(translator.raw_events([DuisDocument(source, raw.encode("utf-8"))]))
    return events + list(translator.confirmations())


class DuisTranslator:
    """Turns documents into RawEvents in order, remembering requests as it meets them and noting the
    messages it ignores; reports of a device's running version wait for `confirmations()`."""

    def __init__(
        self,
        registry: FirmwareRequestRegistry,
        decoder: MessageDecoder,
        clock: Callable[[], datetime],
        store: Store,
    ) -> None:
        self._registry = registry
        self._decoder = decoder
        self._clock = clock
        self._store = store
        self._running_versions: list[tuple[DuisDocument, RunningVersion]] = []
        self.ignored = 0
        self.notes: list[tuple[str, str]] = []

    @property
    def has_running_versions(self) -> bool:
        return bool(self._running_versions)

    def annotate(self, summary: IngestSummary) -> None:
        """Add the run's ignored messages and notes to its summary."""
        summary.ignored += self.ignored
        room = MAX_REPORTED_ERRORS - len(summary.notes)
        summary.notes.extend(self.notes[: max(room, 0)])

    def _note(self, document: DuisDocument, note: str, *, ignored: bool = False) -> None:
        self.ignored += ignored
        if len(self.notes) < MAX_REPORTED_ERRORS:
            self.notes.append((document.source, note))

    def raw_events(self, documents: Iterable[DuisDocument]) -> Iterator[RawEvent]:
        # A response can come before its request (files named out of order): hold it back until the
        # end of the run, so a request anywhere in the same run is found.
        deferred: list[tuple[DuisDocument, PerDeviceOutcome]] = []
        for document in documents:
            try:
                message = self._decoder.decode(document.content)
            except UnusableMessage as error:
                yield refused(document, str(error))
                continue
            yield from self._message_events(document, message)
            outcome = message.per_device
            if outcome is None:
                continue
            request = self._registry.recall(outcome.request_id)
            if request is not None:
                yield from _per_device_events(document, outcome, request)
            elif len(deferred) < MAX_DEFERRED:
                deferred.append((document, outcome))
            else:
                yield _unknown_request(document, outcome.request_id)
        for document, outcome in deferred:
            request = self._registry.recall(outcome.request_id)
            if request is None:
                yield _unknown_request(document, outcome.request_id)
            else:
                yield from _per_device_events(document, outcome, request)

    def _message_events(self, document: DuisDocument, message: DecodedMessage) -> Iterator[RawEvent]:
        """What a message says on its own (its per-device outcome aside): notes, requests, events."""
        if message.ignored:
            self._note(document, message.note, ignored=True)
            return
        if message.request is not None:
            yield from self._remember(document, message.request, message.note)
        if message.activation is not None:
            self._registry.remember_activation(message.activation, self._clock())
            self._note(document, message.note)
        yield from _standalone_events(document, message)
        if message.follow_up is not None:
            yield from self._follow_up(document, message.follow_up)
        if message.running_version is not None:
            if len(self._running_versions) < MAX_DEFERRED:
                self._running_versions.append((document, message.running_version))
            else:
                yield from self._confirmation(document, message.running_version)

    def confirmations(self) -> Iterator[RawEvent]:
        """The events of the run's running-version reports that confirm an activation, judged now."""
        reports, self._running_versions = self._running_versions, []
        for document, report in reports:
            yield from self._confirmation(document, report)

    def _remember(self, document: DuisDocument, request: FirmwareRequest, note: str) -> Iterator[RawEvent]:
        if not self._registry.remember(request, self._clock()):
            yield refused(
                document,
                f"Service Request ID {request.request_id} already names an Update Firmware request with "
                "another firmware version or device list",
            )
        else:
            self._note(document, note)

    def _follow_up(self, document: DuisDocument, follow_up: ActivationFollowUp) -> Iterator[RawEvent]:
        """An event about an 11.3, when that 11.3 is remembered (and future-dated, for an acknowledgement)."""
        activation = self._registry.recall_activation(follow_up.request_id)
        if activation is None or (follow_up.needs_schedule and activation.execution_at is None):
            self._note(document, follow_up.otherwise, ignored=True)
            return
        fields = dict(follow_up.event)
        if activation.execution_at is not None:
            fields["reason"] = str(fields["reason"]).replace("{execution_at}", format_rfc3339(activation.execution_at))
        yield from _standalone_events(document, DecodedMessage("follow-up", events=(fields,)))

    def _confirmation(self, document: DuisDocument, report: RunningVersion) -> Iterator[RawEvent]:
        """Firmware Activated on the device's open record when the report matches it; otherwise a note."""
        with self._store.read() as tx:
            stored = tx.records_by_device(report.device_id, None)
        summaries = [
            RecordSummary(r.request_id, r.device_id, r.state.completion, r.state.started_at, r.state.current.status)
            for r in stored
        ]
        chosen = record_for_device_alert(summaries)
        if chosen is None:
            self._note(
                document,
                f"{report.source}: confirms nothing (no firmware distribution in progress for device "
                f"{report.device_id})",
                ignored=True,
            )
            return
        record = next(r for r in stored if r.request_id == chosen.request_id)
        version = record.state.firmware_version.value if record.state.firmware_version else None
        why = why_not_confirmed(report.version, version, record.state.current.status)
        if why is not None:
            self._note(document, f"{report.source}: confirms nothing ({why})", ignored=True)
            return
        fields = {**report.event, "request_id": str(record.request_id)}
        yield from _standalone_events(document, DecodedMessage("confirmation", events=(fields,)))


def refused(document: DuisDocument, reason: str) -> RawEvent:
    """A document that yields no events, kept whole (or its start) with the reason so it can be re-submitted."""
    text = document.content[:MAX_KEPT_DOCUMENT].decode("utf-8", "replace").replace("\x00", "\ufffd")
    if len(document.content) > MAX_KEPT_DOCUMENT:
        text += "…"
    return RawEvent(document.source, FORMAT, text, read_error=f"DUIS message refused: {reason}")


def _unknown_request(document: DuisDocument, request_id: ServiceRequestId) -> RawEvent:
    return refused(
        document,
        f"response to Service Request {request_id}, whose Update Firmware request (11.1 / 11.4) has not been "
        "received; kept so it can be re-submitted once the request is ingested",
    )


def _standalone_events(document: DuisDocument, message: DecodedMessage) -> Iterator[RawEvent]:
    """Events a message states in full; a refused one is kept as its NDJSON event, re-submittable alone."""
    for fields in message.events:
        raw = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
        yield RawEvent(f"{document.source}:{fields['device_id']}", "ndjson", raw, fields=fields)


def _per_device_events(
    document: DuisDocument, outcome: PerDeviceOutcome, request: FirmwareRequest
) -> Iterator[RawEvent]:
    """One event per device of the request: its own status when listed, the response's status otherwise."""
    common: dict[str, object] = {"request_id": str(outcome.request_id), "occurred_at": outcome.occurred_at}
    if request.firmware_version:
        common["firmware_version"] = request.firmware_version
    if request.device_type:
        common["device_type"] = request.device_type
    # Raw text is built from a prefix encoded once: 50,000 json.dumps calls would dominate large responses.
    prefix = json.dumps(common, separators=(",", ":"), ensure_ascii=False)[:-1]
    default = (outcome.status, outcome.reason)
    encoded: dict[tuple[str, str], str] = {}
    for device_id in request.device_ids:
        status, reason = outcome.listed.get(device_id, default)
        tail = encoded.get((status, reason))
        if tail is None:
            tail = encoded[(status, reason)] = json.dumps(
                {"status": status, "reason": reason}, separators=(",", ":"), ensure_ascii=False
            )[1:]
        fields = {**common, "device_id": device_id, "status": status, "reason": reason}
        raw = f'{prefix},"device_id":"{device_id}",{tail}'
        yield RawEvent(f"{document.source}:{device_id}", "ndjson", raw, fields=fields)
