"""Each kind of DUIS message decodes to the status and reason of the mapping table, or is refused by name."""

from __future__ import annotations

import pytest

from duis_messages import FIXTURES, SHARED_DUIS, USER, device_alert, update_firmware_request, update_firmware_response
from fdtrack.adapters.duis.decoder import DuisDecoder
from fdtrack.services.ports import DecodedMessage, UnusableMessage

E0, E1, E2 = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A1", "00-DB-12-34-56-78-90-A2"
REQUEST = f"{USER}:90-B3-D5-1F-30-00-00-02:3000"


def decode(name: str) -> DecodedMessage:
    return DuisDecoder().decode((FIXTURES / name).read_bytes())


def refusal(content: str | bytes) -> str:
    with pytest.raises(UnusableMessage) as refused:
        DuisDecoder().decode(content.encode() if isinstance(content, str) else content)
    return str(refused.value)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("dcc-alert-csp-firmware-delivery-success.xml", [(E0, "Successful CH Transfer", "")]),
        (
            "dcc-alert-csp-firmware-delivery-failure.xml",
            [(E0, "Failed CH Transfer", "Transfer to the Comms Hub failed (N57)")],
        ),
        (
            "dcc-alert-firmware-distribution-failure.xml",
            [
                (E0, "Failed CH Transfer", "Firmware distribution failure (N42)"),
                (E1, "Failed CH Transfer", "Firmware distribution failure (N42)"),
            ],
        ),
        ("dcc-alert-comms-hub-firmware-transfer-success.xml", [(E0, "Successful HAN Transfer", "")]),
        (
            "dcc-alert-comms-hub-firmware-image-discarded.xml",
            [(E0, "Not Delivered at HAN", "FirmwareImageDiscarded: the Comms Hub discarded the image")],
        ),
        ("dcc-alert-ppmid-firmware-upgrade-success.xml", [("00-DB-12-34-56-78-90-A4", "Firmware Activated", "")]),
        (
            "dcc-alert-ppmid-firmware-upgrade-failure.xml",
            [
                (
                    "00-DB-12-34-56-78-90-A4",
                    "Activation Failed",
                    "ActivationFailure: the PPMID could not activate the image",
                )
            ],
        ),
        ("device-alert-8f72-verified.xml", [(E0, "Successful HAN Transfer", "8F72: image received and verified")]),
        (
            "device-alert-8f1c-verification-failed.xml",
            [(E0, "Not Delivered at HAN", "8F1C: firmware verification failed at the device")],
        ),
        ("sr11.3-response-outcome-0-success.xml", [(E0, "Firmware Activated", "")]),
        (
            "sr11.3-response-outcome-2-hash-mismatch.xml",
            [(E0, "Activation Failed", "Activation failed: hash mismatch")],
        ),
        (
            "sr11.3-response-e21.xml",
            [(E0, "Activation Failed", "E21: Communications failure: no response received from the device")],
        ),
        ("sr11.3-response-future-dated-acknowledged.xml", []),
        ("sr11.3-activate-firmware-request.xml", []),
        (
            "future-dated-alert-8f66-actioned.xml",
            [(E0, "Firmware Activated", "8F66: future-dated activation actioned")],
        ),
        (
            "future-dated-alert-8f67-not-actioned.xml",
            [(E0, "Activation Failed", "8F67: activation not actioned: hash mismatch")],
        ),
    ],
)
def test_a_message_becomes_the_events_of_its_table_row(name: str, expected: list[tuple[str, str, str]]) -> None:
    message = decode(name)
    assert [(e["device_id"], e["status"], e["reason"]) for e in message.events] == expected
    assert message.request is None
    assert message.per_device is None


def test_alerts_that_name_the_request_carry_it_and_those_that_do_not_leave_it_to_correlation() -> None:
    assert decode("dcc-alert-csp-firmware-delivery-success.xml").events[0]["request_id"] == REQUEST
    assert "request_id" not in decode("device-alert-8f72-verified.xml").events[0]
    assert "request_id" not in decode("dcc-alert-comms-hub-firmware-image-discarded.xml").events[0]


def test_a_ppmid_alert_says_the_device_type_and_firmware_version() -> None:
    [event] = decode("dcc-alert-ppmid-firmware-upgrade-success.xml").events
    assert (event["device_type"], event["firmware_version"]) == ("PPMID", "0A0B0C0D")


def test_an_update_firmware_request_is_remembered_not_turned_into_events() -> None:
    message = decode("sr11.1-update-firmware-request.xml")
    assert message.request is not None
    assert str(message.request.request_id) == REQUEST
    assert message.request.device_ids == (E0, E1, E2)
    assert (message.request.firmware_version, message.request.device_type) == ("0123ABCD", None)
    assert decode("sr11.4-update-ppmid-firmware-request.xml").request.device_type == "PPMID"  # type: ignore[union-attr]


def test_a_response_with_warnings_refuses_the_listed_devices_and_accepts_the_rest() -> None:
    outcome = decode("sr11.1-response-w110101-warnings.xml").per_device
    assert outcome is not None
    assert str(outcome.request_id) == REQUEST
    assert (outcome.status, outcome.reason, outcome.occurred_at) == (
        "Accepted by DSP",
        "",
        "2026-11-02T10:00:00.120000Z",
    )
    assert outcome.listed == {
        E1: ("Rejected by DSP", "Device not commissioned"),
        E2: ("Rejected by DSP", "Other firmware request in progress"),
    }


def test_an_error_response_refuses_every_device_with_the_code_and_its_meaning() -> None:
    outcome = decode("sr11.1-response-e110102.xml").per_device
    assert outcome is not None
    assert (outcome.status, outcome.reason, outcome.listed) == (
        "Rejected by DSP",
        "E110102: Update Firmware failed validation: the FirmwareVersion does not match the version the "
        "Certified Products List holds for the image",
        {},
    )


def test_a_response_without_request_id_is_matched_by_its_swapped_response_id() -> None:
    document = update_firmware_response(3000, "2026-11-02T10:00:00Z")
    document = document.replace(f"    <sr:RequestID>{REQUEST}</sr:RequestID>\n", "")
    outcome = DuisDecoder().decode(document.encode()).per_device
    assert outcome is not None
    assert str(outcome.request_id) == REQUEST


def test_device_lists_in_lower_case_become_canonical_and_lose_duplicates() -> None:
    document = update_firmware_request(1, [E0.lower(), E1, E0])
    request = DuisDecoder().decode(document.encode()).request
    assert request is not None
    assert request.device_ids == (E0, E1)


def test_a_bad_device_in_a_list_is_named_by_its_position() -> None:
    reason = refusal(update_firmware_request(1, [E0, "00-DB-12-34-56-78-90"]))
    assert reason.startswith("UpdateFirmware/DeviceIDList item 2:")


def test_more_than_50000_devices_are_refused() -> None:
    devices = [f"00-DB-12-34-{i >> 16 & 0xFF:02X}-{i >> 8 & 0xFF:02X}-{i & 0xFF:02X}-00" for i in range(50_001)]
    assert "names 50001 devices, at most 50000" in refusal(update_firmware_request(1, devices))


def test_a_missing_response_time_is_named() -> None:
    document = device_alert(E0, "2026-11-02T10:00:00Z").replace(
        "    <sr:ResponseDateTime>2026-11-02T10:00:00Z</sr:ResponseDateTime>\n", ""
    )
    assert refusal(document) == "Header/ResponseDateTime: missing or empty"


def test_a_time_without_a_zone_is_read_as_utc() -> None:
    [event] = DuisDecoder().decode(device_alert(E0, "2026-11-02T10:00:00").encode()).events
    assert event["occurred_at"] == "2026-11-02T10:00:00Z"


@pytest.mark.parametrize("zone", ["-24:00", "+14:01", "+05:60"])
def test_a_time_zone_offset_outside_xs_datetime_is_refused_by_name(zone: str) -> None:
    reason = refusal(device_alert(E0, f"2026-11-02T10:00:00{zone}"))
    assert reason.endswith("has a time zone offset outside -14:00 to +14:00")
    assert "DateTime" in reason


def test_the_widest_time_zone_offsets_are_read() -> None:
    [event] = DuisDecoder().decode(device_alert(E0, "2026-11-02T10:00:00-14:00").encode()).events
    assert event["occurred_at"] == "2026-11-03T00:00:00Z"


def test_a_wrong_namespace_is_refused_by_name() -> None:
    reason = refusal((FIXTURES / "hostile" / "wrong-namespace.xml").read_bytes())
    assert reason.startswith("root element {http://example.com/not-duis}Response is not a DUIS message")


def test_gbcs_that_names_another_device_than_the_header_is_refused() -> None:
    document = (FIXTURES / "sr11.3-response-outcome-0-success.xml").read_text().replace(E0, E1, 1)
    assert "GBCSPayload: sent by device 00-DB-12-34-56-78-90-A0" in refusal(document)


def test_a_future_dated_alert_code_must_agree_with_its_payload() -> None:
    document = (FIXTURES / "future-dated-alert-8f66-actioned.xml").read_text()
    document = document.replace(">8F66</sr:FutureDatedAlertCode>", ">8F67</sr:FutureDatedAlertCode>")
    assert "differs from the alert code 8F66" in refusal(document)


def test_unbase64_payload_is_refused() -> None:
    document = (FIXTURES / "device-alert-8f72-verified.xml").read_text()
    start = document.index("<sr:GBCSPayload>") + len("<sr:GBCSPayload>")
    assert refusal(document[:start] + "!!" + document[start:]) == "DeviceAlertMessage/GBCSPayload: not valid base64"


def test_the_published_11_2_response_reports_the_version_the_meter_runs() -> None:
    decoded = DuisDecoder().decode((SHARED_DUIS / "readfw-response.xml").read_bytes())
    assert decoded.running_version is not None
    assert (decoded.running_version.device_id, decoded.running_version.version) == (
        "88-73-84-57-00-2F-96-1E",
        "0C230000",
    )
    assert decoded.running_version.event["reason"] == "running version 0C230000 confirmed by 11.2"


@pytest.mark.parametrize(
    ("name", "note"),
    [
        (
            "acknowledgement-error.xml",
            "SR 11.2 response E65: ignored: confirms nothing (no running version in it)",
        ),
        (
            "CS06_11.3_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML",
            "registered activation request 90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000 for device "
            "00-DB-12-34-56-78-90-A0",
        ),
        (
            "CS06_11.3_FUTURE_DATED_SUCCESS_REQUEST_DUIS.XML",
            "registered activation request 90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1001 for device "
            "00-DB-12-34-56-78-90-A0, activation scheduled for 2030-01-15T09:00:00Z",
        ),
        (
            "11.1_UPDATE_FIRMWARE_REQUEST_DUIS.XML",
            "registered request 90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000 for 1 device",
        ),
    ],
)
def test_the_published_samples_are_understood_with_a_note(name: str, note: str) -> None:
    decoded = DuisDecoder().decode((SHARED_DUIS / name).read_bytes())
    assert (decoded.events, decoded.note) == ((), note)


def test_other_device_alerts_are_ignored_with_a_note() -> None:
    decoded = DuisDecoder().decode(device_alert(E0, "2026-11-02T10:00:00Z", alert_code="8F35").encode())
    assert decoded.ignored
    assert decoded.note == "Device alert 8F35: ignored: not about firmware distribution"
