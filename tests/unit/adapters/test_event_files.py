"""Reading event files (SPEC §5): NDJSON and CSV, where every unreadable line is kept with its reason."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fdtrack.adapters import event_files
from fdtrack.adapters.event_files import (
    MAX_LINE_BYTES,
    ByteCounter,
    UnreadableInput,
    guess_format,
    open_input,
    parse_csv_document,
    parse_ndjson_line,
    read_csv,
    read_ndjson,
)
from fdtrack.services.ingest import RawEvent

FAST = settings(max_examples=150, deadline=None)

EVENT = {"device_id": "00DB1234567890A0", "status": "Accepted by DSP", "occurred_at": "2026-11-20T10:00:00Z"}
EVENT_LINE = json.dumps(EVENT).encode()


def ndjson(data: bytes, name: str = "events.ndjson") -> list[RawEvent]:
    return list(read_ndjson(io.BytesIO(data), name))


def csv_events(data: bytes, name: str = "events.csv") -> list[RawEvent]:
    return list(read_csv(io.BytesIO(data), name))


def summary(events: list[RawEvent]) -> list[tuple[str, bool]]:
    """(source, read cleanly) for each event."""
    return [(e.source, e.read_error is None and e.fields is not None) for e in events]


def test_each_ndjson_line_is_one_event_with_its_file_and_line_as_source() -> None:
    events = ndjson(EVENT_LINE + b"\n" + EVENT_LINE + b"\n")
    assert [e.source for e in events] == ["events.ndjson:1", "events.ndjson:2"]
    assert all(e.fields == EVENT and e.read_error is None and e.format == "ndjson" for e in events)
    assert events[0].raw == EVENT_LINE.decode()


def test_blank_ndjson_lines_are_skipped_but_still_counted_for_line_numbers() -> None:
    events = ndjson(b"\n" + EVENT_LINE + b"\n   \n\t\r\n\n" + EVENT_LINE)
    assert [e.source for e in events] == ["events.ndjson:2", "events.ndjson:6"]


def test_crlf_line_endings_and_a_missing_final_newline_are_read() -> None:
    events = ndjson(EVENT_LINE + b"\r\n" + EVENT_LINE)
    assert [e.fields for e in events] == [EVENT, EVENT]
    assert events[0].raw == EVENT_LINE.decode()


@pytest.mark.parametrize(
    "line", [b"{not json}", b'{"device_id": "00DB1234567890A0"', b"{'a': 1}", b"NaN-ish", b'{"a": 1} trailing']
)
def test_invalid_json_becomes_an_event_with_a_read_error_and_the_lines_around_it_are_still_read(line: bytes) -> None:
    events = ndjson(EVENT_LINE + b"\n" + line + b"\n" + EVENT_LINE + b"\n")
    assert summary(events) == [("events.ndjson:1", True), ("events.ndjson:2", False), ("events.ndjson:3", True)]
    assert events[1].read_error is not None
    assert events[1].read_error.startswith("line is not valid JSON")
    assert events[1].raw == line.decode()
    assert events[1].fields is None


@pytest.mark.parametrize("line", [b"[1, 2]", b'"a string"', b"42", b"null", b"true", b'[{"device_id": "x"}]'])
def test_a_line_that_is_not_a_json_object_becomes_an_event_with_a_read_error(line: bytes) -> None:
    [event] = ndjson(line + b"\n")
    assert event.read_error == "line is not a JSON object"
    assert event.raw == line.decode()


def test_a_number_of_thousands_of_digits_is_a_read_error_not_a_crash() -> None:
    events = ndjson(b'{"counter": ' + b"9" * 5000 + b"}\n" + EVENT_LINE)
    assert summary(events) == [("events.ndjson:1", False), ("events.ndjson:2", True)]
    assert events[0].read_error is not None
    assert "not valid JSON" in events[0].read_error


def test_deeply_nested_json_is_a_read_error_not_a_crash() -> None:
    [event] = ndjson(b"[" * 100_000 + b"]" * 100_000)
    assert event.read_error is not None
    assert "not valid JSON" in event.read_error


def test_invalid_utf8_becomes_an_event_with_a_read_error_and_text_that_can_be_kept() -> None:
    events = ndjson(EVENT_LINE + b'\n{"reason": "caf\xe9"}\n' + EVENT_LINE + b"\n")
    assert summary(events) == [("events.ndjson:1", True), ("events.ndjson:2", False), ("events.ndjson:3", True)]
    assert events[1].read_error is not None
    assert "not valid UTF-8" in events[1].read_error
    assert events[1].raw.encode("utf-8")  # storable: the bad byte is replaced, not smuggled through
    assert events[1].raw.startswith('{"reason": "caf')


def test_an_over_long_line_is_a_read_error_and_the_next_line_keeps_its_number() -> None:
    long_line = b'{"reason": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}'
    events = ndjson(EVENT_LINE + b"\n" + long_line + b"\n" + EVENT_LINE + b"\n")
    assert summary(events) == [("events.ndjson:1", True), ("events.ndjson:2", False), ("events.ndjson:3", True)]
    assert events[1].read_error == f"line is longer than {MAX_LINE_BYTES} bytes"
    assert len(events[1].raw) < 2000  # only the start of the line is kept


def test_a_line_over_the_limit_without_newlines_is_consumed_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(event_files, "MAX_LINE_BYTES", 16)
    data = EVENT_LINE[:10] + b"\n" + b"y" * 100 + b"\n" + b"{}\n" + b"z" * 40
    events = ndjson(data)
    assert [(e.source, e.read_error is not None) for e in events] == [
        ("events.ndjson:1", True),  # ten bytes of a JSON object: invalid JSON
        ("events.ndjson:2", True),  # too long
        ("events.ndjson:3", False),
        ("events.ndjson:4", True),  # too long, at the end of the file
    ]


def test_the_byte_counter_sees_every_byte_of_the_input() -> None:
    data = EVENT_LINE + b"\n\n" + b"{bad\n" + EVENT_LINE
    counter = ByteCounter()
    list(read_ndjson(io.BytesIO(data), "f", counter))
    assert counter.consumed == len(data)


def test_a_single_ndjson_line_can_be_parsed_again_for_re_submission() -> None:
    assert parse_ndjson_line(EVENT_LINE.decode(), "rejects:7") == RawEvent(
        "rejects:7", "ndjson", EVENT_LINE.decode(), fields=EVENT
    )


@FAST
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_make_the_ndjson_reader_raise(data: bytes) -> None:
    events = ndjson(data)
    for event in events:
        assert (event.fields is None) != (event.read_error is None)
        event.raw.encode("utf-8")
    numbers = [int(e.source.rsplit(":", 1)[1]) for e in events]
    assert numbers == sorted(set(numbers))


@FAST
@given(st.lists(st.one_of(st.just(EVENT_LINE), st.binary(max_size=40), st.just(b"")), max_size=10))
def test_every_valid_line_is_read_whatever_surrounds_it(lines: list[bytes]) -> None:
    lines = [line.replace(b"\n", b"") for line in lines]
    events = ndjson(b"\n".join(lines))
    valid = {f"events.ndjson:{n}" for n, line in enumerate(lines, start=1) if line == EVENT_LINE}
    assert valid <= {e.source for e in events if e.fields == EVENT}


CSV_HEADER = b"request_id,device_id,status,occurred_at\n"
CSV_ROW = b"90B3D51F30010000:90B3D51F30000002:1,00DB1234567890A0,Accepted by DSP,2026-11-20T10:00:00Z\n"
CSV_FIELDS = {
    "request_id": "90B3D51F30010000:90B3D51F30000002:1",
    "device_id": "00DB1234567890A0",
    "status": "Accepted by DSP",
    "occurred_at": "2026-11-20T10:00:00Z",
}


def test_each_csv_row_is_one_event_named_by_the_header() -> None:
    events = csv_events(CSV_HEADER + CSV_ROW + CSV_ROW)
    assert [e.source for e in events] == ["events.csv:2", "events.csv:3"]
    assert all(e.fields == CSV_FIELDS and e.format == "csv" and e.read_error is None for e in events)


def test_header_names_are_trimmed_and_columns_may_come_in_any_order() -> None:
    [event] = csv_events(b" status , device_id ,reason\nFirmware Activated,00DB1234567890A0,ok\n")
    assert event.fields == {"status": "Firmware Activated", "device_id": "00DB1234567890A0", "reason": "ok"}


@pytest.mark.parametrize("header", [CSV_HEADER, b'"request_id","device_id","status","occurred_at"\n'])
def test_a_byte_order_mark_before_the_header_is_ignored(header: bytes) -> None:
    [event] = csv_events(b"\xef\xbb\xbf" + header + CSV_ROW)
    assert event.fields == CSV_FIELDS


def test_crlf_line_endings_are_read() -> None:
    events = csv_events(CSV_HEADER.replace(b"\n", b"\r\n") + CSV_ROW.replace(b"\n", b"\r\n") * 2)
    assert [e.fields for e in events] == [CSV_FIELDS, CSV_FIELDS]


def test_a_quoted_newline_stays_in_its_cell_and_later_rows_keep_their_line_numbers() -> None:
    data = b'device_id,status,reason\n00DB1234567890A0,Activation Failed,"first line\nsecond, line"\n' + (
        b"00DB1234567890A0,Firmware Activated,\n"
    )
    events = csv_events(data)
    assert [e.source for e in events] == ["events.csv:2", "events.csv:4"]
    assert events[0].fields is not None
    assert events[0].fields["reason"] == "first line\nsecond, line"


def test_blank_rows_are_skipped() -> None:
    events = csv_events(CSV_HEADER + b"\n" + CSV_ROW + b",,,\n \n" + CSV_ROW)
    assert [e.source for e in events] == ["events.csv:3", "events.csv:6"]


@pytest.mark.parametrize(("row", "count"), [(b"a,b,c\n", 3), (b"a,b,c,d,e\n", 5), (b"only\n", 1)])
def test_a_row_with_the_wrong_number_of_fields_is_a_read_error(row: bytes, count: int) -> None:
    events = csv_events(CSV_HEADER + row + CSV_ROW)
    assert summary(events) == [("events.csv:2", False), ("events.csv:3", True)]
    assert events[0].read_error == f"row has {count} fields, the header names 4"


def test_a_row_with_invalid_utf8_is_a_read_error_with_storable_text() -> None:
    events = csv_events(CSV_HEADER + b"x,00DB1234567890A0,Accepted by DSP,caf\xe9\n" + CSV_ROW)
    assert summary(events) == [("events.csv:2", False), ("events.csv:3", True)]
    assert events[0].read_error == "row is not valid UTF-8"
    events[0].raw.encode("utf-8")


def test_a_header_with_invalid_utf8_makes_the_file_unreadable() -> None:
    with pytest.raises(UnreadableInput, match="UTF-8"):
        csv_events(b"device_id,status,caf\xe9\n" + CSV_ROW)


def test_a_cell_over_the_csv_field_limit_is_a_read_error_and_the_next_row_is_read() -> None:
    huge = b'"' + b"x" * (csv.field_size_limit() + 1) + b'"'
    events = csv_events(CSV_HEADER + huge + b"\n" + CSV_ROW)
    assert summary(events) == [("events.csv:2", False), ("events.csv:3", True)]
    assert events[0].read_error is not None
    assert events[0].read_error.startswith("row cannot be read as CSV")


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n"])
def test_an_empty_csv_file_is_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableInput, match=r"events\.csv"):
        csv_events(data)


@pytest.mark.parametrize("header", [b"a,b,c\n", b"device_id,occurred_at\n", CSV_ROW])
def test_a_csv_file_without_a_header_naming_the_fields_is_unreadable(header: bytes) -> None:
    with pytest.raises(UnreadableInput, match="header"):
        csv_events(header + CSV_ROW)


def test_each_csv_event_keeps_a_small_document_that_reads_back_to_the_same_fields() -> None:
    data = b'device_id,status,reason\n00DB1234567890A0,Activation Failed,"says ""no"", then\nstops"\n'
    [event] = csv_events(data)
    assert event.raw.startswith("device_id,status,reason\n")
    [again] = parse_csv_document(event.raw, "rejects:1")
    assert again == RawEvent("rejects:1", "csv", event.raw, fields=event.fields)


def test_a_kept_row_with_the_wrong_field_count_is_still_a_read_error_when_read_again() -> None:
    [event] = csv_events(CSV_HEADER + b"a,b\n")
    [again] = parse_csv_document(event.raw, "rejects:1")
    assert again.read_error == event.read_error


def test_a_cell_holding_a_carriage_return_reads_back_whole() -> None:
    [event] = csv_events(b'device_id,status,reason\n00DB1234567890A0,Activation Failed,"a\rb"\n')
    assert event.fields is not None
    assert event.fields["reason"] == "a\rb"
    [again] = parse_csv_document(event.raw, "rejects:1")
    assert again.fields == event.fields


@FAST
@given(st.text(max_size=200))
def test_any_kept_text_read_again_gives_events_or_read_errors_never_an_exception(text: str) -> None:
    for event in parse_csv_document(text, "rejects:1"):
        assert (event.fields is None) != (event.read_error is None)


def test_a_kept_document_without_a_row_is_a_read_error() -> None:
    [event] = parse_csv_document("device_id,status\n", "rejects:1")
    assert event.read_error == "row cannot be read as CSV"


cells = st.text(st.characters(codec="utf-8"), max_size=30)


@FAST
@given(st.lists(cells, min_size=4, max_size=4))
def test_any_row_reads_back_through_its_kept_document(row: list[str]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([["device_id", "status", "occurred_at", "reason"], row])
    events = csv_events(out.getvalue().encode("utf-8"))
    if not any(cell.strip() for cell in row):
        assert events == []
        return
    [event] = events
    assert event.fields == dict(zip(["device_id", "status", "occurred_at", "reason"], row, strict=True))
    [again] = parse_csv_document(event.raw, "rejects:1")
    assert again.fields == event.fields


@FAST
@given(st.binary(max_size=300))
def test_arbitrary_bytes_after_a_header_never_make_the_csv_reader_raise(data: bytes) -> None:
    for event in csv_events(CSV_HEADER + data):
        assert (event.fields is None) != (event.read_error is None)
        event.raw.encode("utf-8")


@pytest.mark.parametrize(
    ("path", "expected"),
    [("a.ndjson", "ndjson"), ("a.JSONL", "ndjson"), ("a.json", "ndjson"), ("b.csv", "csv"), ("c.xml", "duis")],
)
def test_the_format_is_told_by_the_file_extension(path: str, expected: str) -> None:
    assert guess_format(path) == expected


def test_a_directory_holds_duis_messages_and_an_unknown_extension_is_unreadable(tmp_path: Path) -> None:
    assert guess_format(str(tmp_path)) == "duis"
    with pytest.raises(UnreadableInput, match="--format"):
        guess_format(str(tmp_path / "events.txt"))


def test_a_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInput, match=r"missing\.ndjson"):
        open_input(str(tmp_path / "missing.ndjson"))


def test_an_input_file_is_opened_with_its_path_as_name(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(EVENT_LINE)
    stream, name = open_input(str(path))
    with stream:
        assert [e.source for e in read_ndjson(stream, name)] == [f"{path}:1"]
