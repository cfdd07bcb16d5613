"""The CSV download (SPEC §8.4): exact header, RFC 4180 quoting, UTC times, formula-safe cells, file name."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fdtrack.adapters.csv_export import csv_chunks, csv_filename, safe_cell
from fdtrack.domain.statuses import ProcessingStatus
from fdtrack.services.lookup import DistributionRecordView

HEADER_LINE = (
    "Service Request ID,Firmware Version,Device ID,Current Status,Current Status Reason,"
    "Current Status Update Time and Date,Completion Status\r\n"
)
REQUEST = "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000"
DEVICE = "00-DB-12-34-56-78-90-A0"
UPDATED = datetime(2021, 11, 5, 14, 3, 22, tzinfo=UTC)


def view(
    *,
    reason: str = "",
    firmware_version: str | None = "1.0",
    status: ProcessingStatus = ProcessingStatus.SUCCESSFUL_HAN_TRANSFER,
    updated: datetime = UPDATED,
    device_id: str = DEVICE,
) -> DistributionRecordView:
    return DistributionRecordView(
        service_request_id=REQUEST,
        device_id=device_id,
        device_type="ESME",
        firmware_version=firmware_version,
        current_status=status,
        current_status_reason=reason,
        current_status_updated_at=updated,
        completion_status=status.completion,
        started_at=updated - timedelta(days=1),
        available_until=updated + timedelta(days=30),
        history=(),
    )


def document(*records: DistributionRecordView) -> str:
    return "".join(csv_chunks(records))


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_the_header_row_is_exactly_that_of_the_specification() -> None:
    assert document() == HEADER_LINE


def test_one_row_per_record_with_the_record_values_in_header_order() -> None:
    text = document(view(reason="delivered"), view(firmware_version=None, status=ProcessingStatus.FIRMWARE_ACTIVATED))
    assert text.splitlines()[1:] == [
        f"{REQUEST},1.0,{DEVICE},Successful HAN Transfer,delivered,2021-11-05T14:03:22Z,In Progress",
        f"{REQUEST},,{DEVICE},Firmware Activated,,2021-11-05T14:03:22Z,Complete",
    ]


def test_rows_end_with_crlf() -> None:
    text = document(view(), view())
    assert text.count("\r\n") == 3
    assert "\n" not in text.replace("\r\n", "")


@pytest.mark.parametrize(
    "updated",
    [
        datetime(2021, 11, 5, 14, 3, 22, 999_999, tzinfo=UTC),
        datetime(2021, 11, 5, 15, 3, 22, tzinfo=timezone(timedelta(hours=1))),
        datetime(2021, 11, 5, 9, 3, 22, 5, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_times_are_utc_to_the_second_with_a_z(updated: datetime) -> None:
    assert rows(document(view(updated=updated)))[1][5] == "2021-11-05T14:03:22Z"


@pytest.mark.parametrize(
    ("reason", "written"),
    [
        ("says, hello", '"says, hello"'),
        ('a "quoted" word', '"a ""quoted"" word"'),
        ("two\nlines", '"two\nlines"'),
        ("carriage\rreturn", '"carriage\rreturn"'),
        ("plain", "plain"),
    ],
)
def test_cells_are_quoted_as_rfc_4180_says(reason: str, written: str) -> None:
    text = document(view(reason=reason))
    assert f",{written},2021-11-05T14:03:22Z," in text
    assert rows(text)[1][4] == reason


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_prefixed_with_a_quote(start: str) -> None:
    payload = f'{start}HYPERLINK("http://example.invalid")'
    parsed = rows(document(view(reason=payload, firmware_version=f"{start}1")))[1]
    assert parsed[4] == "'" + payload
    assert parsed[1] == f"'{start}1"


@pytest.mark.parametrize("value", ["1+1", "a=b", "x-1", "mail@example", " =1", "", "'=already"])
def test_other_cells_are_written_unchanged(value: str) -> None:
    assert safe_cell(value) == value
    assert rows(document(view(reason=value)))[1][4] == value


def test_non_ascii_text_is_kept() -> None:
    assert rows(document(view(reason="Zähler ✓ 電気")))[1][4] == "Zähler ✓ 電気"
    assert document(view(reason="Zähler ✓")).encode("utf-8").decode("utf-8") == document(view(reason="Zähler ✓"))


def test_a_large_result_is_streamed_in_pieces_with_one_header() -> None:
    records = [view(device_id=f"00-00-00-00-00-00-{i // 256:02X}-{i % 256:02X}") for i in range(1203)]
    chunks = list(csv_chunks(records, rows_per_chunk=500))
    assert len(chunks) == 3
    parsed = rows("".join(chunks))
    assert parsed[0] == HEADER_LINE.rstrip("\r\n").split(",")
    assert [row[2] for row in parsed[1:]] == [record.device_id for record in records]


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=40))
def test_any_reason_reads_back_as_written_or_with_the_formula_quote(reason: str) -> None:
    [_, row] = rows(document(view(reason=reason)))
    assert row[4] in (reason, "'" + reason)
    assert (row[4] != reason) == reason.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_the_download_is_named_after_a_device_search_and_the_time() -> None:
    now = datetime(2021, 11, 5, 14, 3, 22, 123, tzinfo=UTC)
    assert csv_filename("device_id", DEVICE, now) == "fdt-device-00DB1234567890A0-20211105T140322Z.csv"


def test_the_file_name_time_is_utc() -> None:
    now = datetime(2021, 11, 5, 15, 3, 22, tzinfo=timezone(timedelta(hours=1)))
    assert csv_filename("device_id", DEVICE, now).endswith("-20211105T140322Z.csv")


def test_the_download_of_a_request_search_names_the_request_with_safe_characters() -> None:
    name = csv_filename("service_request_id", REQUEST, UPDATED)
    assert name == "fdt-request-90B3D51F30010000_90B3D51F30000002_1000-20211105T140322Z.csv"
    assert not set(name) & set(':/\\"<>|*? ')
