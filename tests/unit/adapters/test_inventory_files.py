"""Reading a device inventory: CSV in any column order and case, and DUIS SR 8.2 Read Inventory responses."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st

from duis_messages import FIXTURES, SHARED_DUIS
from fdtrack.adapters.event_files import UnreadableInput
from fdtrack.adapters.inventory_files import (
    parse_inventory_csv_document,
    read_inventory_csv,
    read_inventory_responses,
)
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.inventory import FIELDS
from fdtrack.services.duis_ingest import DuisDocument
from fdtrack.services.inventory import INVENTORY_CSV, INVENTORY_DUIS, validate_entry
from inventory_messages import CSV_HEADER, Device, inventory_csv, read_inventory_response

RESPONSE = FIXTURES / "sr8.2-read-inventory-response.xml"


def csv_entries(text: str) -> list:  # type: ignore[type-arg]
    return list(read_inventory_csv(io.BytesIO(text.encode()), "inv.csv"))


def test_a_csv_header_in_any_case_and_order_with_extra_columns_is_understood() -> None:
    entries = csv_entries("device model,NOTES,device_type,DEVICE ID\nAurora E2,spare,esme,00DB1234567890A0\n")
    assert entries[0].fields == {"Device Model": "Aurora E2", "Device Type": "esme", "Device ID": "00DB1234567890A0"}
    assert entries[0].source == "inv.csv:2"
    # The raw text kept for a rejection is the canonical header and the row's values.
    assert entries[0].raw == f"{CSV_HEADER}\n00DB1234567890A0,esme,,Aurora E2\n"
    assert entries[0].format == INVENTORY_CSV


@pytest.mark.parametrize("header", ["", "Device ID,Model\n", "id,type\n"])
def test_a_csv_without_device_id_and_device_type_columns_is_unreadable(header: str) -> None:
    with pytest.raises(UnreadableInput, match=r"Device ID and Device Type|header"):
        csv_entries(header)


def test_short_rows_and_bad_utf8_are_entries_carrying_the_reason_and_blank_rows_are_skipped() -> None:
    body = f"{CSV_HEADER}\n00DB1234567890A0,ESME\n\n".encode() + b"00DB1234567890A1,\xff,,\n"
    entries = list(read_inventory_csv(io.BytesIO(body), "inv.csv"))
    assert [(e.source, e.read_error) for e in entries] == [
        ("inv.csv:2", "row has 2 fields, the header names 4"),
        ("inv.csv:4", "row is not valid UTF-8"),
    ]


def test_a_kept_row_reads_back_as_it_was() -> None:
    [entry] = csv_entries(inventory_csv([Device("00-DB-12-34-56-78-90-A0", "GSME", "SMETS1", "G1")]))
    [again] = parse_inventory_csv_document(entry.raw, "rejected:1")
    assert (again.fields, again.source) == (entry.fields, "rejected:1")


def test_each_device_of_an_8_2_response_is_an_entry_named_by_its_line() -> None:
    entries = list(read_inventory_responses([DuisDocument("inv.xml", RESPONSE.read_bytes())]))
    assert [e.fields for e in entries][:2] == [
        {"Device ID": "00-DB-12-34-56-78-90-A0", "Device Type": "ESME", "SMETS/CHTS Version": "SMETS2",
         "Device Model": "Aurora E2"},
        {"Device ID": "00-DB-12-34-56-78-90-A1", "Device Type": "HCALCS", "SMETS/CHTS Version": "SMETS2",
         "Device Model": "Aurora HC"},
    ]  # fmt: skip
    assert [e.fields["Device Type"] for e in entries if e.fields] == ["ESME", "HCALCS", "GSME", "CHF", "IHD"]
    assert entries[4].fields is not None
    assert entries[4].fields["SMETS/CHTS Version"] is None
    assert entries[0].source == "inv.xml:14"  # the line of its Device element
    assert entries[0].raw.startswith(CSV_HEADER)


@pytest.mark.parametrize(
    ("sample", "problem"),
    [
        (SHARED_DUIS / "readfw-response.xml", "Service Reference '11.2', not 8.2 Read Inventory"),
        (b"<oops", "not well-formed XML"),
        (SHARED_DUIS / "CS06_11.3_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML", "Request is not a DUIS Response"),
    ],
)
def test_a_document_that_is_not_an_8_2_response_is_one_refused_entry_keeping_its_text(
    sample: bytes | Path, problem: str
) -> None:
    document = sample.read_bytes() if isinstance(sample, Path) else sample  # read when run, not when collected
    [entry] = list(read_inventory_responses([DuisDocument("other.xml", document)]))
    assert entry.fields is None
    assert entry.read_error is not None
    assert entry.read_error.startswith("not a DUIS 8.2 Read Inventory response: ")
    assert problem in entry.read_error
    assert (entry.format, entry.source) == (INVENTORY_DUIS, "other.xml")
    assert entry.raw == document.decode("utf-8", "replace")


def test_an_8_2_response_without_its_inventory_says_which_response_code_it_has() -> None:
    document = read_inventory_response(1, [Device("00-DB-12-34-56-78-90-A0", "ESME")])
    start, end = document.index("      <sr:DSPInventory>"), document.index("</sr:DSPInventory>\n") + 19
    document = document[:start] + document[end:]
    [entry] = list(read_inventory_responses([DuisDocument("e.xml", document.replace(">I0<", ">E82<").encode())]))
    assert entry.read_error == (
        "not a DUIS 8.2 Read Inventory response: the 8.2 response carries no DSPInventory (response code 'E82')"
    )


def test_the_8_2_responses_the_tests_build_are_valid_duis() -> None:
    schema = xmlschema.XMLSchema(str(SHARED_DUIS / "DUIS Schema V5.4.xsd"))
    devices = [Device("00-DB-12-34-56-78-90-A0", "ESME"), Device("00-DB-12-34-56-78-90-C0", "CHF", "CHTS V1.2")]
    errors = list(schema.iter_errors(xmlschema.XMLResource(read_inventory_response(7, devices), allow="none")))
    assert errors == [], errors[0].reason if errors else ""


def test_the_hostile_documents_are_refused_like_any_other_non_inventory() -> None:
    for hostile in sorted((FIXTURES / "hostile").glob("*.xml")):
        [entry] = list(read_inventory_responses([DuisDocument(hostile.name, hostile.read_bytes())]))
        assert entry.fields is None, hostile.name


FUZZ = settings(max_examples=200, deadline=None)
VALID_ROW = b"00-DB-12-34-56-78-90-A0,ESME,SMETS2,Aurora E2\n"


def entries_or_refusals(body: bytes) -> list[tuple[str, str]]:
    """Each entry read and validated as the import does: its Device ID, or the field it is refused for."""
    outcome = []
    for entry in read_inventory_csv(io.BytesIO(body), "fuzz.csv"):
        try:
            outcome.append(("ok", validate_entry(entry).device_id))
        except InvalidInput as error:
            outcome.append(("refused", error.field))
    assert {field for kind, field in outcome if kind == "refused"} <= {"entry", *FIELDS}
    return outcome


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_after_a_good_header_are_entries_or_refusals_and_the_good_row_after_them_survives(
    junk: bytes,
) -> None:
    body = (CSV_HEADER + "\n").encode() + junk + b"\n" + VALID_ROW
    outcome = entries_or_refusals(body)
    # The valid row is last: the junk before it may swallow it only inside an unterminated quote.
    if junk.count(b'"') % 2 == 0:
        assert outcome[-1] == ("ok", "00-DB-12-34-56-78-90-A0")


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_as_a_csv_file_are_refused_as_a_whole_or_entry_by_entry(body: bytes) -> None:
    with contextlib.suppress(UnreadableInput):
        entries_or_refusals(body)


@FUZZ
@given(st.binary(max_size=400))
def test_any_bytes_as_an_8_2_response_are_one_refused_entry(body: bytes) -> None:
    [entry] = list(read_inventory_responses([DuisDocument("fuzz.xml", body)]))
    assert entry.fields is None
    assert entry.read_error is not None
