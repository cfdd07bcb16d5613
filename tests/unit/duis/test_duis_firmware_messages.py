"""The firmware messages beyond the distribution's stages: each maps as docs/duis-mapping.md says."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

import duis_messages as m
from duis_messages import FIXTURES, SHARED_DUIS
from fdtrack.adapters.duis.decoder import DuisDecoder
from fdtrack.adapters.duis.response_codes import firmware_request_codes, meaning
from fdtrack.domain.identifiers import parse_service_request_id
from fdtrack.services.ports import ActivationRequest, DecodedMessage

D = "00-DB-12-34-56-78-90-A0"
AT = "2026-11-05T09:00:00Z"


def decode(name: str) -> DecodedMessage:
    return DuisDecoder().decode((FIXTURES / name).read_bytes())


def test_8f1b_is_an_activation_that_failed_at_power_on() -> None:
    [event] = decode("device-alert-8f1b-verification-failed-at-power-on.xml").events
    assert (event["device_id"], event["status"], event["occurred_at"]) == (D, "Activation Failed", AT)
    assert event["reason"] == "8F1B: firmware verification failed at power-on: the new image did not start"


def test_8f43_reports_a_change_of_executing_version_without_the_version() -> None:
    decoded = decode("device-alert-8f43-executing-version-changed.xml")
    report = decoded.running_version
    assert (decoded.events, report is not None) == ((), True)
    assert report is not None
    assert (report.device_id, report.version) == (D, None)
    assert (report.event["status"], report.event["reason"]) == (
        "Firmware Activated",
        "8F43: the device now executes a new firmware version",
    )


def test_a_firmware_version_mismatch_reports_the_version_the_device_runs() -> None:
    report = decode("dcc-alert-firmware-version-mismatch.xml").running_version
    assert report is not None
    assert (report.device_id, report.version, report.event["device_type"]) == (D, "0123ABCD", "ESME")
    assert (
        report.event["reason"] == "FirmwareVersionMismatch (N45): the device runs 0123ABCD; the inventory held 01020304"
    )


def test_a_firmware_version_mismatch_of_a_comms_hub_is_ignored() -> None:
    decoded = DuisDecoder().decode(m.firmware_version_mismatch(D, AT, "0123ABCD", device_type="CHF").encode())
    assert decoded.ignored
    assert decoded.note.endswith("ignored: not the version distributed (device type CHF is not tracked)")


def test_a_firmware_upgrade_request_is_ignored_with_its_reason() -> None:
    decoded = decode("dcc-alert-firmware-upgrade-requested.xml")
    assert decoded.ignored
    assert decoded.note == (
        "DCC Alert N51 FirmwareUpgradeRequested: ignored: asks for an upgrade; names no Update Firmware request "
        "and no outcome (ESME 0123ABCD)"
    )


def test_a_command_failure_fails_the_activation_when_the_command_is_a_remembered_11_3() -> None:
    follow_up = decode("dcc-alert-command-failure.xml").follow_up
    assert follow_up is not None
    assert (str(follow_up.request_id), follow_up.needs_schedule) == (m.request_id(3005, target=D), False)
    assert (follow_up.event["device_id"], follow_up.event["status"]) == (D, "Activation Failed")
    assert follow_up.event["reason"] == (
        f"CommandFailure (N24): the DCC Systems could not run the Activate Firmware command {m.request_id(3005, D)}"
    )
    assert "not an Activate Firmware command" in follow_up.otherwise


def test_an_11_2_response_reports_the_running_version() -> None:
    report = decode("sr11.2-response-running-version.xml").running_version
    assert report is not None
    assert (report.device_id, report.version) == (D, "0123ABCD")
    assert report.event["reason"] == "running version 0123ABCD confirmed by 11.2"


def test_an_11_2_error_response_is_ignored() -> None:
    decoded = DuisDecoder().decode(m.read_firmware_version_response(1, D, AT, "0123ABCD", code="E20").encode())
    assert decoded.ignored
    assert decoded.note == "SR 11.2 response E20: ignored: confirms nothing (no running version in it)"


def test_a_future_dated_11_3_is_remembered_with_its_execution_time() -> None:
    decoded = decode("sr11.3-future-dated-activate-firmware-request.xml")
    request_id = parse_service_request_id(m.request_id(3007, target=D))
    assert decoded.activation == ActivationRequest(request_id, D, datetime(2026, 11, 6, 2, tzinfo=UTC))
    assert decoded.note.endswith("activation scheduled for 2026-11-06T02:00:00Z")


@pytest.mark.parametrize(
    "document",
    [
        (FIXTURES / "sr11.3-response-acknowledged-i99.xml").read_text(),
        m.activation_response(3007, D, AT, None),  # I0 with the device's future-dated CS06 response (NULL)
    ],
    ids=["I99", "CS06 NULL"],
)
def test_an_acknowledged_11_3_shows_its_schedule_once_the_request_is_known(document: str) -> None:
    follow_up = DuisDecoder().decode(document.encode()).follow_up
    assert follow_up is not None
    assert (str(follow_up.request_id), follow_up.needs_schedule) == (m.request_id(3007, target=D), True)
    assert (follow_up.event["status"], follow_up.event["reason"]) == (
        "Successful HAN Transfer",
        "Activation scheduled for {execution_at}",
    )


def test_a_message_about_something_else_is_ignored() -> None:
    decoded = decode("other-response-4.1.1.xml")
    assert decoded.ignored
    assert decoded.note == "a response for Service Reference 4.1: ignored: not about firmware distribution"


def test_every_11_1_and_11_4_response_code_of_the_schema_has_its_own_description() -> None:
    schema = (SHARED_DUIS / "DUIS Schema V5.4.xsd").read_text(encoding="utf-8")
    codes = set(re.findall(r'<xs:enumeration value="([EW]110[14]\d\d)"/>', schema))
    assert codes == set(firmware_request_codes())
    descriptions = [meaning(code) for code in sorted(codes)]
    assert len(set(descriptions)) == len(codes)
    assert all(description != meaning("E999") for description in descriptions)


def test_an_11_1_error_code_is_the_reason_of_every_device() -> None:
    outcome = DuisDecoder().decode(m.update_firmware_response(1, AT, "E110101").encode()).per_device
    assert outcome is not None
    assert (outcome.status, outcome.reason) == (
        "Rejected by DSP",
        "E110101: Update Firmware failed validation: the firmware image is not on the Certified Products List",
    )
