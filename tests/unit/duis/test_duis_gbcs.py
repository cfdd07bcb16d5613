"""GBCS decoding checked against the GBCS test vectors in ../shared/duis/gbcs (the ground truth)."""

from __future__ import annotations

import base64

import pytest

from duis_messages import SHARED_DUIS
from fdtrack.adapters.duis import gbcs

DEVICE = "00-DB-12-34-56-78-90-A0"


def vector(name: str) -> gbcs.GeneralSigning:
    return gbcs.parse_general_signing(bytes.fromhex((SHARED_DUIS / "gbcs" / name).read_text().strip()))


def test_an_immediate_cs06_success_response_reports_outcome_0_and_the_running_version() -> None:
    message = vector("CS06_11.3_IMMEDIATE_SUCCESS_RESPONSE_GBCS.HEX")
    assert (message.originator, message.originator_counter, message.message_code) == (DEVICE, 1000, 0x0012)
    assert gbcs.decode_activation_response(message) == gbcs.ActivationOutcome(0, "0123ABCE")


def test_an_immediate_cs06_error_response_reports_its_execution_outcome() -> None:
    outcome = gbcs.decode_activation_response(vector("CS06_11.3_IMMEDIATE_ERROR_RESPONSE_GBCS.HEX"))
    assert outcome == gbcs.ActivationOutcome(1, "0123ABCF")
    assert not outcome.succeeded


@pytest.mark.parametrize(
    "name",
    [
        "CS06_11.3_FUTURE_DATED_SUCCESS_RESPONSE_GBCS.HEX",
        "CS06_11.3_FUTURE_DATED_ERROR_RESPONSE_GBCS.HEX",
        "CS06_11.3_CANCELLATION_SUCCESS_RESPONSE_GBCS.HEX",
    ],
)
def test_a_future_dated_or_cancellation_response_has_no_outcome_yet(name: str) -> None:
    assert gbcs.decode_activation_response(vector(name)) is None


def test_alert_8f66_reports_the_future_dated_command_actioned() -> None:
    alert = gbcs.decode_future_dated_alert(vector("CS06_11.3_8F66_FUTURE_DATED_SUCCESS_ALERT_GBCS.HEX"))
    assert alert == gbcs.FutureDatedActivationAlert(0x8F66, 1001, gbcs.ActivationOutcome(0, "0123ABCF"))


def test_alert_8f67_reports_the_command_not_actioned_with_its_outcome() -> None:
    alert = gbcs.decode_future_dated_alert(vector("CS06_11.3_8F67_FUTURE_DATED_ERROR_ALERT_GBCS.HEX"))
    assert (alert.alert_code, alert.command_counter, alert.outcome.code) == (0x8F67, 1004, 2)


@pytest.mark.parametrize(
    ("name", "device"),
    [("FDRA-DLMS_NA_8F72_ALERT_GBCS.HEX", DEVICE), ("FDRA-ZigBee_NA_8F72_ALERT_GBCS.HEX", "00-DB-12-34-56-78-90-A1")],
)
def test_firmware_receipt_alerts_name_the_device_that_sent_them(name: str, device: str) -> None:
    message = vector(name)
    assert (message.cra_flag, message.originator) == (gbcs.CRA_ALERT, device)


def test_a_command_is_not_mistaken_for_a_response() -> None:
    with pytest.raises(gbcs.GbcsError, match="CRA flag is 1"):
        gbcs.decode_activation_response(vector("CS06_11.3_IMMEDIATE_SUCCESS_PRECOMMAND_GBCS.HEX"))


def test_a_general_ciphering_command_is_not_a_general_signing_message() -> None:
    payload = bytes.fromhex((SHARED_DUIS / "gbcs" / "CS06_11.3_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX").read_text().strip())
    with pytest.raises(gbcs.GbcsError, match="not a General-Signing message"):
        gbcs.parse_general_signing(payload)


def test_a_response_to_another_command_is_refused_by_message_code() -> None:
    message = vector("CS09_NA_8F8B_ALERT_GBCS.HEX")
    with pytest.raises(gbcs.GbcsError, match="CRA flag"):
        gbcs.decode_activation_response(message)


@pytest.mark.parametrize("cut", [1, 5, 20, 40, 60])
def test_a_truncated_payload_is_refused_with_the_part_that_is_missing(cut: int) -> None:
    payload = bytes.fromhex(
        (SHARED_DUIS / "gbcs" / "CS06_11.3_IMMEDIATE_SUCCESS_RESPONSE_GBCS.HEX").read_text().strip()
    )
    with pytest.raises(gbcs.GbcsError, match=r"truncated|not"):
        gbcs.decode_activation_response(gbcs.parse_general_signing(payload[:cut]))


def test_the_meter_s_11_2_response_gives_its_running_version_from_the_mac_protected_frame() -> None:
    document = (SHARED_DUIS / "readfw-response.xml").read_text()
    payload = base64.b64decode(document.split("GBCSPayload>")[1].split("<")[0])
    message = gbcs.parse_general_signing(gbcs.unwrap_general_ciphering(payload))
    assert (message.originator, gbcs.decode_running_version(message)) == ("88-73-84-57-00-2F-96-1E", "0C230000")


def test_an_encrypted_general_ciphering_frame_is_not_read() -> None:
    encrypted = bytes([0xDD, 0, 0, 0, 0, 0, 0, 6, 0x31, 0, 0, 0, 0, 0xFF])
    with pytest.raises(gbcs.GbcsError, match="encrypted"):
        gbcs.unwrap_general_ciphering(encrypted)
