"""Reading tracking events from NDJSON and CSV files or stdin, streamed line by line (SPEC §5)."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from fdtrack.services.ingest import RawEvent

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

MAX_LINE_BYTES = 1 << 20  # a single event is a few hundred bytes; a megabyte line is not an event
FORMATS = ("ndjson", "csv", "duis")
_EXTENSIONS = {".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "ndjson", ".csv": "csv", ".xml": "duis"}


class UnreadableInput(Exception):
    """An input as a whole cannot be read (missing file, no CSV header, unknown format)."""


def guess_format(path: str) -> str:
    """The format named by a file's extension; directories hold DUIS messages; stdin ('-') is NDJSON,
    the form upstream systems stream events in."""
    if path == "-":
        return "ndjson"
    if Path(path).is_dir():
        return "duis"
    found = _EXTENSIONS.get(Path(path).suffix.lower())
    if found is None:
        raise UnreadableInput(f"{path}: cannot tell the format from the name; give --format ndjson, csv or duis")
    return found


class ByteCounter:
    """Counts bytes consumed from an input, for progress bars."""

    def __init__(self) -> None:
        self.consumed = 0


def open_input(path: str) -> tuple[BinaryIO, str]:
    """Open a path ('-' is stdin) for binary reading, with the name used in error sources."""
    if path == "-":
        return sys.stdin.buffer, "stdin"
    try:
        return Path(path).open("rb"), path
    except OSError as error:
        raise UnreadableInput(f"{path}: {error.strerror or error}") from None


def read_ndjson(stream: BinaryIO, name: str, counter: ByteCounter | None = None) -> Iterator[RawEvent]:
    """One RawEvent per non-blank line; unreadable lines become RawEvents carrying the reason."""
    for number, line in enumerate(_lines(stream, counter), start=1):
        if not line.strip():
            continue
        source = f"{name}:{number}"
        if len(line) > MAX_LINE_BYTES:
            yield RawEvent(
                source, "ndjson", _text(line[:1024]) + "…", read_error=f"line is longer than {MAX_LINE_BYTES} bytes"
            )
            continue
        try:
            text = line.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as error:
            yield RawEvent(
                source,
                "ndjson",
                _text(line).rstrip("\r\n"),
                read_error=f"line is not valid UTF-8 ({error.reason} at byte {error.start})",
            )
            continue
        yield parse_ndjson_line(text, source)


def parse_ndjson_line(text: str, source: str) -> RawEvent:
    """Parse one NDJSON line; a line that is not one JSON object becomes a RawEvent with the reason."""
    try:
        fields = json.loads(text)
    except (ValueError, RecursionError) as error:
        # Besides JSONDecodeError, json raises a plain ValueError for an integer of thousands of digits.
        problem = error.msg if isinstance(error, json.JSONDecodeError) else _json_problem(error)
        return RawEvent(source, "ndjson", text, read_error=f"line is not valid JSON ({problem})")
    if not isinstance(fields, dict):
        return RawEvent(source, "ndjson", text, read_error="line is not a JSON object")
    return RawEvent(source, "ndjson", text, fields=fields)


def _json_problem(error: ValueError | RecursionError) -> str:
    return "nested too deeply" if isinstance(error, RecursionError) else "a number is too long"


def csv_rows(stream: BinaryIO, counter: ByteCounter | None = None) -> CsvReader:
    """A CSV reader of a byte stream; bytes that are not UTF-8 are kept (surrogateescape) for the row's
    own message instead of failing the whole file."""
    buffered = io.BufferedReader(counting_reader(stream, counter))
    # utf-8-sig drops a byte order mark before the csv module sees it, so a quoted first column still parses.
    return csv.reader(io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="surrogateescape", newline=""))


def csv_data_rows(reader: CsvReader, name: str) -> Iterator[tuple[str, list[str] | None, str | None]]:
    """Each non-blank row after the header as (`name:line`, row, None), or (`name:line`, None, why) for a
    row the csv module cannot read, so that the rows around it are still read."""
    line = reader.line_num
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            line = reader.line_num
            yield f"{name}:{start}", None, f"row cannot be read as CSV ({error})"
            continue
        line = reader.line_num
        if any(cell.strip() for cell in row):
            yield f"{name}:{start}", row, None


def read_csv(stream: BinaryIO, name: str, counter: ByteCounter | None = None) -> Iterator[RawEvent]:
    """One RawEvent per CSV row, with a header row naming the fields; each raw keeps its header."""
    reader = csv_rows(stream, counter)
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableInput(f"{name}: the CSV file is empty; expected a header row naming the event fields") from None
    except csv.Error as error:
        raise UnreadableInput(f"{name}: the CSV header cannot be read ({error})") from None
    header = [column.strip().lstrip("\ufeff").strip() for column in header]
    if any(has_bad_bytes(column) for column in header):
        raise UnreadableInput(f"{name}: the CSV header is not valid UTF-8")
    if "device_id" not in header or "status" not in header:
        raise UnreadableInput(f"{name}: the CSV header must name the event fields (device_id, status, occurred_at, …)")
    header_line = csv_line(header)
    for source, row, problem in csv_data_rows(reader, name):
        if row is None:
            yield RawEvent(source, "csv", header_line, read_error=problem)
        else:
            yield csv_row_event(header, row, header_line, source)


def csv_row_event(header: list[str], row: list[str], header_line: str, source: str) -> RawEvent:
    """A CSV row as a RawEvent; the raw text is a small CSV document, header included, for re-submission."""
    raw = header_line + csv_line([cell.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for cell in row])
    if any(has_bad_bytes(cell) for cell in row):
        return RawEvent(source, "csv", raw, read_error="row is not valid UTF-8")
    if len(row) != len(header):
        return RawEvent(source, "csv", raw, read_error=f"row has {len(row)} fields, the header names {len(header)}")
    return RawEvent(source, "csv", raw, fields=dict(zip(header, row, strict=True)))


def parse_csv_document(text: str, source: str) -> Iterator[RawEvent]:
    """Re-read a kept CSV rejection (header plus one row)."""
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        yield RawEvent(source, "csv", text, read_error=f"row cannot be read as CSV ({error})")
        return
    if len(rows) < 2:
        yield RawEvent(source, "csv", text, read_error="row cannot be read as CSV")
        return
    header = rows[0]
    for row in rows[1:]:
        yield csv_row_event(header, row, csv_line(header), source)


def csv_line(cells: list[str]) -> str:
    """One CSV row as text, ending in a newline, that reads back whole (also used for inventory rows)."""
    out = io.StringIO()
    # With "\r\n" as terminator the writer quotes a cell holding a lone "\r" too, so the row reads back whole.
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue().removesuffix("\r\n") + "\n"


def has_bad_bytes(cell: str) -> bool:
    """Whether a cell read with surrogateescape held bytes that are not UTF-8."""
    return any("\udc80" <= char <= "\udcff" for char in cell)


def _text(line: bytes) -> str:
    return line.decode("utf-8", "replace")


def _lines(stream: BinaryIO, counter: ByteCounter | None) -> Iterator[bytes]:
    # readline with a limit: a file without newlines cannot make us hold gigabytes at once.
    while line := stream.readline(MAX_LINE_BYTES + 1):
        if counter is not None:
            counter.consumed += len(line)
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            rest = 0
            while (more := stream.readline(MAX_LINE_BYTES)) and not more.endswith(b"\n"):
                rest += len(more)
            if counter is not None:
                counter.consumed += rest + len(more)
        yield line


def counting_reader(stream: BinaryIO, counter: ByteCounter | None) -> io.RawIOBase:
    """A raw stream over `stream` that counts what is read from it, for progress bars."""
    return _CountingReader(stream, counter)


class _CountingReader(io.RawIOBase):
    """A raw stream that counts what the CSV reader consumes."""

    def __init__(self, stream: BinaryIO, counter: ByteCounter | None) -> None:
        self._stream = stream
        self._counter = counter

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        if self._counter is not None:
            self._counter.consumed += len(data)
        return len(data)
