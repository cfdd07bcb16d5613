"""Hostile event input, read and validated as ingestion does: each item is accepted or refused with a reason
naming the field and the problem, the valid events around it survive, and only documented errors escape."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from fdtrack.adapters.event_bodies import json_array_events, ndjson_body_events
from fdtrack.adapters.event_files import UnreadableInput, read_csv, read_ndjson
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.events import FIELDS, TrackingEvent, validate_event
from fdtrack.domain.timestamps import parse_rfc3339
from fdtrack.services.ingest import RawEvent

FUZZ = settings(max_examples=200, deadline=None)
NOW = parse_rfc3339("2026-11-20T12:00:00Z", "now")
VALID = {
    "request_id": "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000",
    "device_id": "00-DB-12-34-56-78-90-A0",
    "status": "Accepted by DSP",
    "occurred_at": "2026-11-20T10:00:00Z",
    "reason": "ok",
    "firmware_version": "0A1B2C3D",
    "device_type": "ESME",
}
VALID_LINE = json.dumps(VALID).encode()
CSV_HEADER = ",".join(VALID).encode() + b"\r\n"
VALID_ROW = ",".join(VALID.values()).encode() + b"\r\n"

# Values that have crashed parsers elsewhere: control characters, lone surrogates, formula and markup
# starts, huge numbers, deep nesting, other scripts' digits, path tricks.
hostile_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "\ud800",
            "\udfff tail",
            "\u202e\u2066",
            "=1+1",
            "+cmd",
            "-2",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "<script>alert(1)</script>",
            "../../etc/passwd",
            "..%2F..%2F",
            "C:\\Windows\\system32",
            "9" * 5_000,
            "²",
            "٢٠٢٦-١١-٢٠T10:00:00Z",
            "2026-11-20T10:00:00",
            "2026-02-30T10:00:00Z",
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+23:59",
            "x" * 600,
        ]
    ),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), hostile_text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8,
)


def verdicts(raw_events: Iterable[RawEvent]) -> list[tuple[str, TrackingEvent | str]]:
    """(source, accepted event or rejection reason) for each item, as ingestion judges them."""
    judged: list[tuple[str, TrackingEvent | str]] = []
    for raw in raw_events:
        raw.raw.encode("utf-8", "surrogatepass")  # the kept raw text is text
        if raw.fields is None:
            assert raw.read_error, "an unreadable item says why"
            judged.append((raw.source, f"event: {raw.read_error}"))
            continue
        refused: InvalidInput | None = None
        try:
            judged.append((raw.source, validate_event(raw.fields, now=NOW)))
        except InvalidInput as error:
            refused = error
        if refused is not None:
            assert refused.field in FIELDS, refused
            assert refused.problem.strip(), "a rejection names the problem"
            judged.append((raw.source, str(refused)))
    for _source, verdict in judged:
        if isinstance(verdict, str):
            # Reasons go into JSON answers, pages and the rejected-events store: short, and encodable.
            verdict.encode("utf-8")
            assert len(verdict) < 1_000
    return judged


def accepted_sources(judged: list[tuple[str, TrackingEvent | str]]) -> set[str]:
    return {source for source, verdict in judged if isinstance(verdict, TrackingEvent)}


@FUZZ
@given(st.binary(max_size=500))
def test_any_ndjson_bytes_give_events_or_rejections_with_reasons(data: bytes) -> None:
    verdicts(read_ndjson(io.BytesIO(data), "events.ndjson"))


@FUZZ
@given(st.lists(st.one_of(st.just(VALID_LINE), st.binary(max_size=60), json_values.map(json.dumps)), max_size=8))
def test_valid_ndjson_lines_are_accepted_whatever_hostile_lines_surround_them(lines: list[object]) -> None:
    encoded = [line if isinstance(line, bytes) else str(line).encode("utf-8", "surrogatepass") for line in lines]
    encoded = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in encoded]
    judged = verdicts(ndjson_body_events(b"\n".join(encoded), "api:feeder"))
    expected = {f"api:feeder:{number}" for number, line in enumerate(encoded, start=1) if line == VALID_LINE}
    assert expected <= accepted_sources(judged)


@FUZZ
@given(field=st.sampled_from(sorted(VALID)), value=json_values)
def test_one_hostile_field_is_refused_by_its_own_name_or_accepted(field: str, value: object) -> None:
    event = {**VALID, field: value}
    [(_, verdict)] = verdicts(read_ndjson(io.BytesIO(json.dumps(event).encode()), "events.ndjson"))
    if isinstance(verdict, str):
        # A status may change what else is required (§5.3), so a changed status can fault request_id.
        assert verdict.startswith(f"{field}:") or (field == "status" and verdict.startswith("request_id:")), verdict


@FUZZ
@given(st.binary(max_size=500))
def test_any_csv_bytes_are_unreadable_as_a_whole_or_give_events_or_rejections(data: bytes) -> None:
    reason = ""
    try:
        verdicts(read_csv(io.BytesIO(data), "events.csv"))
    except UnreadableInput as unreadable:
        reason = str(unreadable)
    assert not reason or reason.startswith("events.csv: ")


@FUZZ
@given(st.lists(st.one_of(st.just(VALID_ROW), st.binary(max_size=60)), max_size=8))
def test_valid_csv_rows_are_accepted_whatever_hostile_rows_surround_them(rows: list[bytes]) -> None:
    # A hostile row may open a quote that swallows what follows; rows after a balanced one must survive.
    rows = [row.replace(b'"', b"").replace(b"\n", b" ").replace(b"\r", b" ") + b"\r\n" for row in rows]
    judged = verdicts(read_csv(io.BytesIO(CSV_HEADER + b"".join(rows)), "events.csv"))
    expected = {f"events.csv:{number}" for number, row in enumerate(rows, start=2) if row == VALID_ROW}
    assert expected <= accepted_sources(judged)


@FUZZ
@given(field=st.sampled_from(sorted(VALID)), value=hostile_text)
def test_one_hostile_csv_cell_is_refused_by_its_own_name_or_accepted(field: str, value: str) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([list(VALID), list({**VALID, field: value}.values())])
    data = out.getvalue().encode("utf-8", "surrogatepass")  # a lone surrogate becomes bytes that are not UTF-8
    [(_, verdict)] = verdicts(read_csv(io.BytesIO(data), "events.csv"))
    if isinstance(verdict, str):
        assert verdict.startswith((f"{field}:", "event:")) or field == "status", verdict


@FUZZ
@given(st.binary(max_size=400))
def test_any_json_body_is_unusable_as_a_whole_or_gives_events_or_rejections(body: bytes) -> None:
    reason = None
    try:
        verdicts(json_array_events(body, "api:feeder"))
    except UnreadableInput as unusable:
        reason = str(unusable)
    assert reason is None or reason.startswith(("the body is not valid JSON", "a JSON body must be an array"))


@FUZZ
@given(st.lists(st.one_of(st.just(VALID), json_values), max_size=6))
def test_valid_elements_of_a_json_array_are_accepted_whatever_surrounds_them(elements: list[object]) -> None:
    body = json.dumps(elements).encode()
    judged = verdicts(json_array_events(body, "api:feeder"))
    expected = {f"api:feeder:{number}" for number, element in enumerate(elements, start=1) if element == VALID}
    assert expected <= accepted_sources(judged)
