"""Ingest use case for DUIS messages: remember Update Firmware requests, turn the rest into tracking events."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from fdtrack.domain.identifiers import ServiceRequestId
from fdtrack.services.ingest import IngestOptions, IngestSummary, RawEvent, ingest
from fdtrack.services.ports import (
    DecodedMessage,
    FirmwareRequest,
    FirmwareRequestRegistry,
    MessageDecoder,
    PerDeviceOutcome,
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
    """Ingest DUIS messages in order; every message that cannot be used is kept with its reason."""
    options = options or IngestOptions()
    translator = DuisTranslator(registry, decoder, options.clock)
    return ingest(store, translator.raw_events(documents), options, on_batch)


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
    registry: FirmwareRequestRegistry, decoder: MessageDecoder, raw: str, source: str, clock: Callable[[], datetime]
) -> list[RawEvent]:
    """The events of a kept DUIS message, for re-submission (`fdtrack rejects resubmit`)."""
    translator = DuisTranslator(registry, decoder, clock)
    return list(translator.raw_events([DuisDocument(source, raw.encode("utf-8"))]))


class DuisTranslator:
    """Turns documents into RawEvents in order, remembering requests as it meets them."""

    def __init__(
        self, registry: FirmwareRequestRegistry, decoder: MessageDecoder, clock: Callable[[], datetime]
    ) -> None:
        self._registry = registry
        self._decoder = decoder
        self._clock = clock

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
            if message.request is not None:
                yield from self._remember(document, message.request)
                continue
            yield from _standalone_events(document, message)
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

    def _remember(self, document: DuisDocument, request: FirmwareRequest) -> Iterator[RawEvent]:
        if not self._registry.remember(request, self._clock()):
            yield refused(
                document,
                f"Service Request ID {request.request_id} already names an Update Firmware request with "
                "another firmware version or device list",
            )


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
