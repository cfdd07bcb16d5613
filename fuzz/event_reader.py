"""Coverage-guided fuzzing of the event readers and validation: the first byte picks NDJSON, CSV or a JSON
array body; every item is accepted or refused by field, and only UnreadableInput refuses a whole input."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

import atheris

with atheris.instrument_imports(include=["fdtrack"]):
    from fdtrack.adapters.event_bodies import json_array_events
    from fdtrack.adapters.event_files import UnreadableInput, read_csv, read_ndjson
    from fdtrack.domain.errors import InvalidInput
    from fdtrack.domain.events import FIELDS, validate_event
    from fdtrack.services.ingest import RawEvent

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def judge(raw_events: Iterable[RawEvent]) -> None:
    for raw in raw_events:
        if raw.fields is None:
            assert raw.read_error, "an unreadable item says why"
            continue
        try:
            validate_event(raw.fields, now=NOW)
        except InvalidInput as invalid:
            assert invalid.field in FIELDS, invalid
            assert len(str(invalid)) < 1_000, "a rejection never echoes a whole value"
            str(invalid).encode("utf-8")  # reasons travel in JSON answers and pages


def test_one_input(data: bytes) -> None:
    if not data:
        return
    kind, body = data[0] % 3, data[1:]
    try:
        if kind == 0:
            judge(read_ndjson(io.BytesIO(body), "fuzz.ndjson"))
        elif kind == 1:
            judge(read_csv(io.BytesIO(body), "fuzz.csv"))
        else:
            judge(json_array_events(body, "api:fuzz"))
    except UnreadableInput as unreadable:
        assert str(unreadable).strip(), "an unreadable input says why"


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
