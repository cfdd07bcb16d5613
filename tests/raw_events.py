"""Input events for tests: the fields a client sends, as fdtrack's NDJSON reader hands them to ingestion."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from fdtrack.services.ingest import RawEvent


def ndjson_events(events: Iterable[Mapping[str, object]], source: str = "test") -> list[RawEvent]:
    """One RawEvent per event, numbered from 1 within `source` (as rejections name them)."""
    return [
        RawEvent(f"{source}:{number}", "ndjson", json.dumps(fields), fields=fields)
        for number, fields in enumerate(events, 1)
    ]
