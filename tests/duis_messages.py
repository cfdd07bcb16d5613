"""Builders of DUIS V5.4 messages and GBCS payloads for tests: every message they make is schema-valid."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path

# Reference material beside the project (../shared/duis/); read in place, never copied in.
SHARED_DUIS = Path(__file__).resolve().parents[2] / "shared" / "duis"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "duis"
USER = "90-B3-D5-1F-30-01-00-00"
DCC = "90-B3-D5-1F-30-00-00-02"
COMMS_HUB = "00-DB-12-34-56-78-90-C0"
_OPEN_REQUEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">\n'
)
_OPEN_RESPONSE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">\n'
)


def request_id(counter: int, target: str = DCC, user: str = USER) -> str:
    return f"{user}:{target}:{counter}"


def update_firmware_request(
    counter: int, devices: Sequence[str], firmware_version: str = "0123ABCD", *, ppmid: bool = False
) -> str:
    """SR 11.1 (or 11.4 for PPMIDs) naming the devices."""
    service = "11.4" if ppmid else "11.1"
    body = "UpdatePPMIDFirmware" if ppmid else "UpdateFirmware"
    image = base64.b64encode(b"fdtrack test firmware image " + firmware_version.encode()).decode()
    return (
        _OPEN_REQUEST
        + _request_header(request_id(counter), service, command_variant=8)
        + f"  <sr:Body>\n    <sr:{body}>\n"
        f"      <sr:FirmwareImage>{image}</sr:FirmwareImage>\n"
        f"      <sr:FirmwareVersion>{firmware_version}</sr:FirmwareVersion>\n"
        f"      <sr:DeviceIDList>{','.join(devices)}</sr:DeviceIDList>\n"
        f"    </sr:{body}>\n  </sr:Body>\n</sr:Request>\n"
    )


def activate_firmware_request(counter: int, device: str, execution_at: str | None = None) -> str:
    """SR 11.3 for one device: immediate, or future-dated when `execution_at` is given."""
    scheduled = f"      <sr:ExecutionDateTime>{execution_at}</sr:ExecutionDateTime>\n" if execution_at else ""
    return (
        _OPEN_REQUEST
        + _request_header(request_id(counter, target=device), "11.3", command_variant=4)
        + "  <sr:Body>\n    <sr:ActivateFirmware>\n"
        f"{scheduled}"
        f"      <sr:FirmwareHash>{'AB' * 32}</sr:FirmwareHash>\n"
        "    </sr:ActivateFirmware>\n  </sr:Body>\n</sr:Request>\n"
    )


def activation_acknowledgement(counter: int, device: str, at: str) -> str:
    """The I99 acknowledgement of an 11.3: accepted for sending, no GBCS response (yet)."""
    rid = request_id(counter, target=device)
    return _response(rid, _swapped(rid), "I99", at, _response_message("11.3", ""))


def read_firmware_version_response(counter: int, device: str, at: str, version: str, code: str = "I0") -> str:
    """The response to an SR 11.2: the meter's DLMS access-response with its running version."""
    rid = request_id(counter, target=device)
    extra = ""
    if code.startswith("I"):
        payload = base64.b64encode(read_firmware_version(device, counter, version)).decode()
        extra = f"      <sr:GBCSPayload>{payload}</sr:GBCSPayload>\n"
    return _response(rid, _swapped(rid), code, at, _response_message("11.2", extra))


def update_firmware_response(
    counter: int,
    at: str,
    code: str = "I0",
    warnings: Mapping[str, Sequence[str]] | None = None,
    *,
    ppmid: bool = False,
) -> str:
    """The DSP's response to an 11.1 / 11.4, optionally with DSPUpdate…FirmwareWarning lists."""
    service = "11.4" if ppmid else "11.1"
    extra = ""
    if warnings:
        element = "DSPUpdatePPMIDFirmwareWarning" if ppmid else "DSPUpdateFirmwareWarning"
        lists = "".join(f"        <sr:{name}>{','.join(ids)}</sr:{name}>\n" for name, ids in warnings.items())
        extra = f"      <sr:{element}>\n{lists}      </sr:{element}>\n"
    message = _response_message(service, extra)
    return _response(request_id(counter), _swapped(request_id(counter)), code, at, message)


def activation_response(counter: int, device: str, at: str, outcome: int | None, code: str = "I0") -> str:
    """The response to an 11.3: a CS06 response with the outcome, a future-dated NULL (None), or just a code."""
    rid = request_id(counter, target=device)
    extra = ""
    if code.startswith("I"):
        payload = cs06_response(device, counter, outcome)
        extra = f"      <sr:GBCSPayload>{base64.b64encode(payload).decode()}</sr:GBCSPayload>\n"
    return _response(rid, _swapped(rid), code, at, _response_message("11.3", extra))


def future_dated_alert(counter: int, device: str, at: str, alert_code: str, outcome: int) -> str:
    """FutureDatedDeviceAlertMessage 8F66 / 8F67 reporting on a future-dated 11.3."""
    rid = request_id(counter, target=device)
    payload = base64.b64encode(cs06_future_dated_alert(device, counter, int(alert_code, 16), outcome)).decode()
    extra = (
        "      <sr:FutureDatedDeviceAlertMessage>\n"
        f"        <sr:FutureDatedAlertCode>{alert_code}</sr:FutureDatedAlertCode>\n"
        f"        <sr:GBCSPayload>{payload}</sr:GBCSPayload>\n"
        "        <sr:InstructionNumber>1</sr:InstructionNumber>\n"
        "        <sr:TotalCommandInstructions>1</sr:TotalCommandInstructions>\n"
        "      </sr:FutureDatedDeviceAlertMessage>\n"
    )
    return _response(rid, _swapped(rid), "I0", at, _response_message("11.3", extra))


def device_alert(device: str, at: str, alert_code: str = "8F72", counter: int = 2000) -> str:
    """A DeviceAlertMessage from the device (8F72 verified, 8F1C verification failed)."""
    payload = base64.b64encode(fdra_alert(device, counter, int(alert_code, 16))).decode()
    body = (
        "    <sr:DeviceAlertMessage>\n"
        f"      <sr:AlertCode>{alert_code}</sr:AlertCode>\n"
        f"      <sr:GBCSPayload>{payload}</sr:GBCSPayload>\n"
        "    </sr:DeviceAlertMessage>\n"
    )
    return _response(None, f"{device}:{USER}:{counter}", "I0", at, body)


def csp_delivery_status(
    counter: int, device: str, at: str, status: str = "Success", firmware_version: str = "0123ABCD", alert: int = 1
) -> str:
    return _dcc_alert(
        "N57",
        alert,
        at,
        "      <sr:CSPFirmwareDeliveryStatus>\n"
        f"        <sr:UpdateFirmwareRequestID>{request_id(counter)}</sr:UpdateFirmwareRequestID>\n"
        f"        <sr:CommsHubDeviceID>{COMMS_HUB}</sr:CommsHubDeviceID>\n"
        f"        <sr:TargetDeviceID>{device}</sr:TargetDeviceID>\n"
        f"        <sr:FirmwareVersion>{firmware_version}</sr:FirmwareVersion>\n"
        f"        <sr:TimeStamp>{at}</sr:TimeStamp>\n"
        f"        <sr:CommsHubTransferStatus>{status}</sr:CommsHubTransferStatus>\n"
        "      </sr:CSPFirmwareDeliveryStatus>\n",
    )


def firmware_distribution_failure(counter: int, meters: Sequence[str], at: str, alert: int = 2) -> str:
    return _dcc_alert(
        "N42",
        alert,
        at,
        "      <sr:FirmwareDistributionFailure>\n"
        f"        <sr:UpdateFirmwareRequestID>{request_id(counter)}</sr:UpdateFirmwareRequestID>\n"
        f"        <sr:MeterIDs>{','.join(meters)}</sr:MeterIDs>\n"
        "      </sr:FirmwareDistributionFailure>\n",
    )


def firmware_transfer_alert(
    device: str,
    at: str,
    code: str = "FileTransferSuccess",
    counter: int | None = None,
    firmware_version: str = "0123ABCD",
    alert: int = 3,
) -> str:
    named = (
        f"          <sr:UpdateFirmwareRequestID>{request_id(counter)}</sr:UpdateFirmwareRequestID>\n" if counter else ""
    )
    return _dcc_alert(
        "N53",
        alert,
        at,
        "      <sr:CommsHubAlert>\n"
        f"        <sr:CommsHubDeviceID>{COMMS_HUB}</sr:CommsHubDeviceID>\n"
        "        <sr:AlertCode>8F84</sr:AlertCode>\n"
        f"        <sr:TimeStamp>{at}</sr:TimeStamp>\n"
        "        <sr:FirmwareTransferAlert>\n"
        f"{named}"
        f"          <sr:OtherDeviceID>{device}</sr:OtherDeviceID>\n"
        f"          <sr:FirmwareVersion>{firmware_version}</sr:FirmwareVersion>\n"
        f"          <sr:TransferResponseCode>{code}</sr:TransferResponseCode>\n"
        "        </sr:FirmwareTransferAlert>\n"
        "      </sr:CommsHubAlert>\n",
    )


def ppmid_firmware_alert(
    device: str, at: str, result: str = "ActivationSuccess", firmware_version: str = "0123ABCD", alert: int = 4
) -> str:
    return _dcc_alert(
        "N44",
        alert,
        at,
        "      <sr:PPMIDAlert>\n"
        f"        <sr:DeviceID>{device}</sr:DeviceID>\n"
        "        <sr:DeviceAlertCode>8F8B</sr:DeviceAlertCode>\n"
        f"        <sr:Timestamp>{at}</sr:Timestamp>\n"
        "        <sr:PPMIDFirmwareUpgradeAlert>\n"
        f"          <sr:FirmwareVersion>{firmware_version}</sr:FirmwareVersion>\n"
        f"          <sr:ActivateImageResultCode>{result}</sr:ActivateImageResultCode>\n"
        "        </sr:PPMIDFirmwareUpgradeAlert>\n"
        "      </sr:PPMIDAlert>\n",
    )


def command_failure(command_counter: int, device: str, at: str, alert: int = 5) -> str:
    """DCC Alert CommandFailure: the DCC could not run the command with this Request ID on the device."""
    return _dcc_alert(
        "N24",
        alert,
        at,
        "      <sr:CommandFailure>\n"
        f"        <sr:CommandRequestID>{request_id(command_counter, target=device)}</sr:CommandRequestID>\n"
        f"        <sr:DeviceID>{device}</sr:DeviceID>\n"
        "      </sr:CommandFailure>\n",
    )


def firmware_version_mismatch(
    device: str, at: str, on_device: str, in_inventory: str = "01020304", device_type: str = "ESME", alert: int = 6
) -> str:
    """DCC Alert FirmwareVersionMismatch: the device runs another version than the inventory holds."""
    return _dcc_alert(
        "N45",
        alert,
        at,
        "      <sr:FirmwareVersionMismatch>\n"
        f"        <sr:DeviceID>{device}</sr:DeviceID>\n"
        f"        <sr:DeviceType>{device_type}</sr:DeviceType>\n"
        f"        <sr:FirmwareVersionSMI>{in_inventory}</sr:FirmwareVersionSMI>\n"
        f"        <sr:FirmwareVersionDevice>{on_device}</sr:FirmwareVersionDevice>\n"
        "      </sr:FirmwareVersionMismatch>\n",
    )


def firmware_upgrade_requested(devices: Sequence[str], at: str, firmware_version: str = "0123ABCD") -> str:
    """DCC Alert FirmwareUpgradeRequested: devices that should be upgraded to a version."""
    return _dcc_alert(
        "N51",
        7,
        at,
        "      <sr:FirmwareUpgradeRequested>\n"
        "        <sr:DeviceType>ESME</sr:DeviceType>\n"
        f"        <sr:FirmwareVersion>{firmware_version}</sr:FirmwareVersion>\n"
        f"        <sr:DeviceList>{','.join(devices)}</sr:DeviceList>\n"
        "      </sr:FirmwareUpgradeRequested>\n",
    )


def other_response(counter: int, device: str, at: str) -> str:
    """A response to a Service Request that has nothing to do with firmware: SR 4.1.1, a meter read."""
    rid = request_id(counter, target=device)
    message = _response_message("4.1", "").replace(
        "<sr:ServiceReferenceVariant>4.1<", "<sr:ServiceReferenceVariant>4.1.1<"
    )
    return _response(rid, _swapped(rid), "I99", at, message)


# --- GBCS payloads (General-Signing frames with a dummy 64-octet signature) ---


def general_signing(
    cra: int, counter: int, originator: str, recipient: str, message_code: int, content: bytes
) -> bytes:
    frame = bytes([0xDF, 0x09, cra]) + counter.to_bytes(8, "big")
    frame += bytes([8]) + _eui(originator) + bytes([8]) + _eui(recipient)
    frame += bytes([0])  # no date-time
    frame += bytes([2]) + message_code.to_bytes(2, "big")
    frame += _der_length(len(content)) + content
    return frame + bytes([0x40]) + bytes(range(64))


def cs06_response(device: str, counter: int, outcome: int | None, firmware_version: str = "0123ABCE") -> bytes:
    if outcome is None:
        content = bytes([0x05, 0x00])
    else:
        content = _der(0x30, _der(0x02, bytes([outcome])) + _der(0x04, bytes.fromhex(firmware_version)))
    return general_signing(0x02, counter, device, USER.replace("-", ""), 0x0012, content)


def cs06_future_dated_alert(device: str, counter: int, alert_code: int, outcome: int) -> bytes:
    inner = _der(0x02, bytes([outcome])) + _der(0x04, bytes.fromhex("0123ABCF"))
    content = _der(
        0x30,
        _der(0x02, alert_code.to_bytes(3, "big"))
        + _der(0x18, b"20261101090000Z")
        + _der(0x02, counter.to_bytes(2, "big"))
        + _der(0x30, inner),
    )
    return general_signing(0x03, 1000 + counter, device, USER.replace("-", ""), 0x00CA, content)


def read_firmware_version(device: str, counter: int, version: str) -> bytes:
    """A meter's response to SR 11.2: a DLMS access-response holding the running version (4 octets)."""
    content = bytes([0xDA]) + counter.to_bytes(4, "big") + bytes([0x00, 0x00, 0x01, 0x09, 0x04])
    content += bytes.fromhex(version) + bytes([0x01, 0x01, 0x00])
    return general_signing(0x02, counter, device, USER.replace("-", ""), 0x0059, content)


def fdra_alert(device: str, counter: int, alert_code: int) -> bytes:
    """A DLMS-style firmware distribution receipt alert carrying the image hash."""
    content = bytes([0x0F]) + counter.to_bytes(4, "big") + bytes([0x00, 0x02, 0x03, 0x12])
    content += alert_code.to_bytes(2, "big") + bytes([0x09, 0x00, 0x09, 0x20]) + bytes([0x5A]) * 32
    return general_signing(0x03, counter, device, USER.replace("-", ""), 0x00CE, content)


def _eui(text: str) -> bytes:
    return bytes.fromhex(text.replace("-", ""))


def _der_length(length: int) -> bytes:
    return bytes([length]) if length < 0x80 else bytes([0x81, length])


def _der(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(value)) + value


# --- envelopes ---


def _request_header(rid: str, service: str, command_variant: int) -> str:
    return (
        "  <sr:Header>\n"
        f"    <sr:RequestID>{rid}</sr:RequestID>\n"
        f"    <sr:CommandVariant>{command_variant}</sr:CommandVariant>\n"
        f"    <sr:ServiceReference>{service}</sr:ServiceReference>\n"
        f"    <sr:ServiceReferenceVariant>{service}</sr:ServiceReferenceVariant>\n"
        "  </sr:Header>\n"
    )


def _response_message(service: str, extra: str) -> str:
    return (
        "    <sr:ResponseMessage>\n"
        f"      <sr:ServiceReference>{service}</sr:ServiceReference>\n"
        f"      <sr:ServiceReferenceVariant>{service}</sr:ServiceReferenceVariant>\n"
        f"{extra}"
        "    </sr:ResponseMessage>\n"
    )


def _response(rid: str | None, response_id: str, code: str, at: str, body: str) -> str:
    named = f"    <sr:RequestID>{rid}</sr:RequestID>\n" if rid else ""
    return (
        _OPEN_RESPONSE + "  <sr:Header>\n" + named + f"    <sr:ResponseID>{response_id}</sr:ResponseID>\n"
        f"    <sr:ResponseCode>{code}</sr:ResponseCode>\n"
        f"    <sr:ResponseDateTime>{at}</sr:ResponseDateTime>\n"
        "  </sr:Header>\n"
        f"  <sr:Body>\n{body}  </sr:Body>\n</sr:Response>\n"
    )


def _dcc_alert(code: str, counter: int, at: str, alert: str) -> str:
    body = (
        "    <sr:DCCAlertMessage>\n"
        f"      <sr:DCCAlertCode>{code}</sr:DCCAlertCode>\n"
        f"      <sr:DCCAlert>\n{alert}      </sr:DCCAlert>\n"
        "    </sr:DCCAlertMessage>\n"
    )
    return _response(None, f"{DCC}:{USER}:{counter}", "I0", at, body)


def _swapped(rid: str) -> str:
    user, target, counter = rid.split(":")
    return f"{target}:{user}:{counter}"
