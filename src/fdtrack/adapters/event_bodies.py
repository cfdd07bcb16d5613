"""Tracking events sent in an HTTP body: NDJSON (as in files) or a JSON array of event objects."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

from fdtrack.adapters.event_files import UnreadableInput, read_ndjson
from fdtrack.services.ingest import RawEvent


def ndjson_body_events(body: bytes, source: str) -> Iterator[RawEvent]:
    """One event per non-blank line; a bad line is rejected on its own, the rest still count."""
    return read_ndjson(io.BytesIO(body), source)


def json_array_events(body: bytes, source: str) -> list[RawEvent]:
    """Each element of the array is an event; a body that is not a JSON array is unusable as a whole."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as error:
        problem = error.msg if isinstance(error, json.JSONDecodeError) else "it cannot be decoded"
        raise UnreadableInput(f"the body is not valid JSON ({problem})") from None
    if not isinstance(value, list):
        raise UnreadableInput("a JSON body must be an array of event objects (or send NDJSON)")
    events = []
    for number, element in enumerate(value, start=1):
        # Kept as one NDJSON line, so `fdtrack rejects resubmit` reads a rejected element back as it came.
        raw = json.dumps(element, ensure_ascii=False, separators=(",", ":"))
        if isinstance(element, dict):
            events.append(RawEvent(f"{source}:{number}", "ndjson", raw, fields=element))
        else:
            events.append(RawEvent(f"{source}:{number}", "ndjson", raw, read_error="element is not a JSON object"))
    return events
