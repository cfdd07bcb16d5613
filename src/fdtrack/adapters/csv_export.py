"""The CSV download (SPEC §8.4): exact header, UTC times, formula-safe cells, named after the search."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from fdtrack.domain.timestamps import format_seconds
from fdtrack.services.lookup import DistributionRecordView

CSV_HEADER = (
    "Service Request ID",
    "Firmware Version",
    "Device ID",
    "Current Status",
    "Current Status Reason",
    "Current Status Update Time and Date",
    "Completion Status",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula with a quote."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def record_row(record: DistributionRecordView) -> list[str]:
    cells = [
        record.service_request_id,
        record.firmware_version or "",
        record.device_id,
        record.current_status.value,
        record.current_status_reason,
        format_seconds(record.current_status_updated_at),
        record.completion_status.value,
    ]
    return [safe_cell(cell) for cell in cells]


def csv_chunks(records: Iterable[DistributionRecordView], rows_per_chunk: int = 500) -> Iterator[str]:
    """The CSV document in pieces, for streaming: header first, then rows (RFC 4180, CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    pending = 0
    for record in records:
        writer.writerow(record_row(record))
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def csv_filename(search_by: str, term: str, now: datetime) -> str:
    """E.g. fdt-device-00DB1234567890A0-20211105T140322Z.csv."""
    kind = "device" if search_by == "device_id" else "request"
    compact = term.replace("-", "").replace(":", "_")
    return f"fdt-{kind}-{compact}-{format_seconds(now).replace('-', '').replace(':', '')}.csv"
