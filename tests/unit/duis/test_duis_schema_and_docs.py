"""Our sample messages are valid DUIS V5.4, the operator's --schema check works, and the docs show the table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import xmlschema

import duis_messages as build
from duis_messages import FIXTURES, SHARED_DUIS
from fdtrack.adapters.duis.decoder import DuisDecoder
from fdtrack.adapters.duis.hardened_xml import parse_document
from fdtrack.adapters.duis.mapping import markdown_table
from fdtrack.adapters.duis.response_codes import firmware_request_codes
from fdtrack.adapters.duis.schema_check import OperatorSchema, SchemaUnusable
from fdtrack.services.ports import UnusableMessage

DUIS_XSD = SHARED_DUIS / "DUIS Schema V5.4.xsd"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "duis-mapping.md"
D = "00-DB-12-34-56-78-90-A0"
AT = "2026-11-02T10:00:00Z"


@pytest.fixture(scope="module")
def operator_schema() -> OperatorSchema:
    """Loading the DUIS schema (with the xmlschema package) takes over a second: once for the module."""
    return OperatorSchema(DUIS_XSD)


@pytest.fixture(scope="module")
def duis_schema(operator_schema: OperatorSchema) -> xmlschema.XMLSchema:
    return operator_schema.schema


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.xml")), ids=lambda path: path.name)
def test_every_sample_message_is_valid_duis(duis_schema: xmlschema.XMLSchema, fixture: Path) -> None:
    errors = list(duis_schema.iter_errors(str(fixture)))
    assert errors == [], errors[0].reason if errors else ""


BUILDERS: list[Callable[[], str]] = [
    lambda: build.update_firmware_request(1, [D]),
    lambda: build.update_firmware_request(1, [D], ppmid=True),
    lambda: build.activate_firmware_request(2, D),
    lambda: build.update_firmware_response(1, AT, "W110101", {"InvalidDeviceIDList": [D]}),
    lambda: build.update_firmware_response(1, AT, "W110401", {"InvalidGBCSVersionList": [D]}, ppmid=True),
    lambda: build.activation_response(2, D, AT, 3),
    lambda: build.activation_response(2, D, AT, None, code="E20"),
    lambda: build.future_dated_alert(2, D, AT, "8F66", 0),
    lambda: build.device_alert(D, AT, "8F1C"),
    lambda: build.csp_delivery_status(1, D, AT, "Failure"),
    lambda: build.firmware_distribution_failure(1, [D], AT),
    lambda: build.firmware_transfer_alert(D, AT, "FileTransferFailure", counter=1),
    lambda: build.ppmid_firmware_alert(D, AT, "ActivationFailure"),
    lambda: build.activate_firmware_request(2, D, "2026-11-03T02:00:00Z"),
    lambda: build.activation_acknowledgement(2, D, AT),
    lambda: build.read_firmware_version_response(3, D, AT, "0123ABCD"),
    lambda: build.read_firmware_version_response(3, D, AT, "0123ABCD", code="E20"),
    lambda: build.command_failure(2, D, AT),
    lambda: build.firmware_version_mismatch(D, AT, "0123ABCD"),
    lambda: build.firmware_upgrade_requested([D], AT),
    lambda: build.device_alert(D, AT, "8F43"),
    lambda: build.other_response(4, D, AT),
]


@pytest.mark.parametrize("builder", BUILDERS)
def test_messages_built_by_the_tests_are_valid_duis(
    duis_schema: xmlschema.XMLSchema, builder: Callable[[], str]
) -> None:
    errors = list(duis_schema.iter_errors(xmlschema.XMLResource(builder(), allow="none")))
    assert errors == [], errors[0].reason if errors else ""


def test_the_operator_schema_lets_valid_messages_through(operator_schema: OperatorSchema) -> None:
    decoded = DuisDecoder(operator_schema).decode(build.device_alert(D, AT).encode())
    assert decoded.events[0]["status"] == "Successful HAN Transfer"


def test_the_operator_schema_refuses_an_invalid_message_with_the_schema_error(operator_schema: OperatorSchema) -> None:
    document = build.device_alert(D, AT).replace("<sr:ResponseCode>I0<", "<sr:ResponseCode>X9<")
    with pytest.raises(UnusableMessage, match=r"does not match the schema DUIS Schema V5.4.xsd at .*ResponseCode"):
        operator_schema.check(parse_document(document.encode()))


def test_a_schema_file_that_cannot_be_loaded_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xsd"
    broken.write_text("not a schema")
    with pytest.raises(SchemaUnusable, match=r"broken\.xsd: cannot load the schema"):
        OperatorSchema(broken)


def test_the_docs_reproduce_the_mapping_table_exactly() -> None:
    assert markdown_table() in DOCS.read_text(encoding="utf-8")


def test_the_docs_describe_every_11_1_and_11_4_response_code() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for code, description in firmware_request_codes().items():
        assert f"| {code} | {description} |" in docs
