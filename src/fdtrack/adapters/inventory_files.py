"""Reading a device inventory: CSV files (streamed row by row) and DUIS SR 8.2 Read Inventory responses."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from lxml import etree

from fdtrack.adapters.duis.hardened_xml import parse_document
from fdtrack.adapters.event_files import ByteCounter, UnreadableInput, csv_data_rows, csv_line, csv_rows, has_bad_bytes
from fdtrack.domain.inventory import DEVICE_ID, DEVICE_MODEL, DEVICE_TYPE, FIELDS, SMETS_CHTS_VERSION
from fdtrack.services.duis_ingest import MAX_KEPT_DOCUMENT, DuisDocument
from fdtrack.services.inventory import INVENTORY_CSV, INVENTORY_DUIS, RawDeviceEntry
from fdtrack.services.ports import UnusableMessage

NAMESPACE = "http://www.dccinterface.co.uk/ServiceUserGateway"
READ_INVENTORY = "8.2"
_NS = f"{{{NAMESPACE}}}"
# A header cell in any case, with spaces or underscores: "Device ID", "device_id", "DEVICE TYPE".
_COLUMNS = {re.sub(r"[\s_]+", " ", name.lower()): name for name in FIELDS}
# Each DSPInventory/Device element's children that fill an entry, by the inventory field they give.
_DEVICE_ELEMENTS = {
    DEVICE_ID: "DeviceID",
    DEVICE_TYPE: "DeviceType",
    SMETS_CHTS_VERSION: "SMETSCHTSVersion",
    DEVICE_MODEL: "DeviceModel",
}
_HEADER_LINE = csv_line(list(FIELDS))


def read_inventory_csv(stream: BinaryIO, name: str, counter: ByteCounter | None = None) -> Iterator[RawDeviceEntry]:
    """One entry per CSV row under a header naming at least Device ID and Device Type, in any order and case."""
    reader = csv_rows(stream, counter)
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableInput(f"{name}: the CSV file is empty; expected the header {_HEADER_LINE.strip()}") from None
    except csv.Error as error:
        raise UnreadableInput(f"{name}: the CSV header cannot be read ({error})") from None
    columns = [_COLUMNS.get(re.sub(r"[\s_]+", " ", cell.strip().lstrip("\ufeff").strip().lower())) for cell in header]
    if DEVICE_ID not in columns or DEVICE_TYPE not in columns:
        raise UnreadableInput(
            f"{name}: the CSV header must name the columns Device ID and Device Type "
            f"(expected {_HEADER_LINE.strip()}, in any order)"
        )
    for source, row, problem in csv_data_rows(reader, name):
        if row is None:
            yield RawDeviceEntry(source, INVENTORY_CSV, _HEADER_LINE, read_error=problem)
        else:
            yield _row_entry(columns, row, source)


def parse_inventory_csv_document(text: str, source: str) -> Iterator[RawDeviceEntry]:
    """Re-read a kept inventory rejection (a header and one row), for `fdtrack rejects resubmit`."""
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        yield RawDeviceEntry(source, INVENTORY_CSV, text, read_error=f"row cannot be read as CSV ({error})")
        return
    if len(rows) < 2:
        yield RawDeviceEntry(source, INVENTORY_CSV, text, read_error="row cannot be read as CSV")
        return
    columns = [_COLUMNS.get(re.sub(r"[\s_]+", " ", cell.strip().lower())) for cell in rows[0]]
    for row in rows[1:]:
        yield _row_entry(columns, row, source)


def read_inventory_responses(documents: Iterable[DuisDocument]) -> Iterator[RawDeviceEntry]:
    """The entries of each DUIS 8.2 Read Inventory response (DSPInventory/Device); a document that is not
    one is a single rejected entry, kept with its text."""
    for document in documents:
        try:
            devices = _inventory_devices(parse_document(document.content))
        except UnusableMessage as error:
            yield _refused(document, str(error))
            continue
        for device in devices:
            fields = {field: _child_text(device, element) for field, element in _DEVICE_ELEMENTS.items()}
            raw = _HEADER_LINE + csv_line([fields[field] or "" for field in FIELDS])
            yield RawDeviceEntry(f"{document.source}:{device.sourceline}", INVENTORY_CSV, raw, fields=fields)


def _row_entry(columns: list[str | None], row: list[str], source: str) -> RawDeviceEntry:
    """A row as an entry; its raw text is the canonical header and the row's values, so that a kept
    rejection reads back the same whatever order or extra columns the file had."""
    cells = [cell.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for cell in row]
    fields = {column: cell for column, cell in zip(columns, cells, strict=False) if column is not None}
    raw = _HEADER_LINE + csv_line([fields.get(field, "") for field in FIELDS])
    if any(has_bad_bytes(cell) for cell in row):
        return RawDeviceEntry(source, INVENTORY_CSV, raw, read_error="row is not valid UTF-8")
    if len(row) != len(columns):
        return RawDeviceEntry(
            source, INVENTORY_CSV, raw, read_error=f"row has {len(row)} fields, the header names {len(columns)}"
        )
    return RawDeviceEntry(source, INVENTORY_CSV, raw, fields=fields)


def _inventory_devices(root: etree._Element) -> list[etree._Element]:
    """The Device elements of an 8.2 response, or UnusableMessage saying what the document is instead."""
    if etree.QName(root).text != f"{_NS}Response":
        raise UnusableMessage(f"root element {etree.QName(root).localname} is not a DUIS Response")
    message = root.find(f"{_NS}Body/{_NS}ResponseMessage")
    if message is None:
        raise UnusableMessage("the response has no Body/ResponseMessage")
    reference = (message.findtext(f"{_NS}ServiceReference") or "").strip()
    if reference != READ_INVENTORY:
        raise UnusableMessage(f"the response is to Service Reference {reference[:20]!r}, not 8.2 Read Inventory")
    inventory = message.find(f"{_NS}DSPInventory")
    if inventory is None:
        code = (root.findtext(f"{_NS}Header/{_NS}ResponseCode") or "").strip()
        raise UnusableMessage(f"the 8.2 response carries no DSPInventory (response code {code[:20]!r})")
    return inventory.findall(f"{_NS}Device")


def _child_text(device: etree._Element, element: str) -> str | None:
    text = device.findtext(f"{_NS}{element}")
    return None if text is None else text.strip()


def _refused(document: DuisDocument, reason: str) -> RawDeviceEntry:
    text = document.content[:MAX_KEPT_DOCUMENT].decode("utf-8", "replace").replace("\x00", "\ufffd")
    if len(document.content) > MAX_KEPT_DOCUMENT:
        text += "…"
    return RawDeviceEntry(
        document.source, INVENTORY_DUIS, text, read_error=f"not a DUIS 8.2 Read Inventory response: {reason}"
    )
