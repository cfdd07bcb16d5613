"""Reading a parsed DUIS document into the typed model, naming the element whenever something is wrong."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta, timezone

from lxml import etree

from fdtrack.adapters.duis import model
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.identifiers import ServiceRequestId, parse_device_id, parse_service_request_id
from fdtrack.services.ports import UnusableMessage

NAMESPACE = "http://www.dccinterface.co.uk/ServiceUserGateway"
MAX_DEVICES = 50_000  # DUIS: an Update Firmware request names at most 50,000 devices
_NS = f"{{{NAMESPACE}}}"
_DEVICE_LIST = re.compile(r"[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}(?:,[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7})*")
_LARGEST_ZONE_OFFSET = timedelta(hours=14)  # xs:dateTime's bound on a time zone offset
_DATE_TIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?"
)
_WARNING_LISTS = (
    "InvalidDeviceIDList",
    "NotCommissionedDeviceIDList",
    "NotApplicableFirmwareDeviceIDList",
    "OtherRequestInProgressList",
    "InvalidGBCSVersionList",
)


def read_message(root: etree._Element) -> model.DuisMessage:
    """The model of one DUIS Request or Response; raises UnusableMessage naming the element at fault."""
    qualified = etree.QName(root)
    if qualified.namespace != NAMESPACE:
        found = f"{{{qualified.namespace}}}{qualified.localname}" if qualified.namespace else qualified.localname
        raise UnusableMessage(
            f"root element {brief(found)} is not a DUIS message: expected Request or Response in {_NS}"
        )
    if qualified.localname == "Request":
        return _request(root)
    if qualified.localname == "Response":
        return _response(root)
    return model.UnrelatedMessage(f"a DUIS {qualified.localname}")


def _request(root: etree._Element) -> model.DuisMessage:
    header = _required(root, "Header")
    request_id = _request_id(_text(header, "RequestID", "Header"), "Header/RequestID")
    service_reference = _text(header, "ServiceReference", "Header")
    body = _single_child(_required(root, "Body"), "Body")
    name = etree.QName(body).localname
    if name in ("UpdateFirmware", "UpdatePPMIDFirmware"):
        version = _text(body, "FirmwareVersion", name)
        if len(version) > 8:
            raise UnusableMessage(f"{name}/FirmwareVersion: {version[:20]!r} is longer than 8 characters")
        devices = _device_list(_text(body, "DeviceIDList", name), f"{name}/DeviceIDList")
        if len(devices) > MAX_DEVICES:
            raise UnusableMessage(
                f"{name}/DeviceIDList: names {len(devices)} devices, at most {MAX_DEVICES} are allowed"
            )
        expected = model.SR_UPDATE_FIRMWARE if name == "UpdateFirmware" else model.SR_UPDATE_PPMID_FIRMWARE
        return model.UpdateFirmwareRequest(request_id, expected, version, devices)
    if name == "ActivateFirmware":
        execution = _optional_text(body, "ExecutionDateTime")
        execution_at = _date_time(execution, f"{name}/ExecutionDateTime") if execution else None
        return model.ActivateFirmwareRequest(request_id, execution_at)
    return model.UnrelatedMessage(f"a request for Service Reference {brief(service_reference)} ({brief(name)})")


def _response(root: etree._Element) -> model.DuisMessage:
    header = _header(_required(root, "Header"))
    body = _single_child(_required(root, "Body"), "Body")
    name = etree.QName(body).localname
    if name == "ResponseMessage":
        return _response_message(header, body)
    if name == "DeviceAlertMessage":
        return model.DeviceAlert(header, _hex_code(body, "AlertCode", name), _payload(body, name))
    if name == "DCCAlertMessage":
        return _dcc_alert(header, body)
    return model.UnrelatedMessage(f"a DUIS {name}")


def _header(header: etree._Element) -> model.ResponseHeader:
    request_text = _optional_text(header, "RequestID")
    response_text = _optional_text(header, "ResponseID")
    return model.ResponseHeader(
        request_id=_request_id(request_text, "Header/RequestID") if request_text else None,
        response_id=_request_id(response_text, "Header/ResponseID") if response_text else None,
        response_code=_text(header, "ResponseCode", "Header"),
        response_time=_date_time(_text(header, "ResponseDateTime", "Header"), "Header/ResponseDateTime"),
    )


def _response_message(header: model.ResponseHeader, message: etree._Element) -> model.DuisMessage:
    service_reference = _text(message, "ServiceReference", "ResponseMessage")
    if service_reference in (model.SR_UPDATE_FIRMWARE, model.SR_UPDATE_PPMID_FIRMWARE):
        warning = _child(message, "DSPUpdateFirmwareWarning")
        if warning is None:
            warning = _child(message, "DSPUpdatePPMIDFirmwareWarning")
        lists: dict[str, tuple[str, ...]] = {}
        if warning is not None:
            warning_name = etree.QName(warning).localname
            for list_name in _WARNING_LISTS:
                text = _optional_text(warning, list_name)
                if text:
                    lists[list_name] = _device_list(text, f"{warning_name}/{list_name}")
        return model.UpdateFirmwareResponse(header, service_reference, lists)
    if service_reference == model.SR_ACTIVATE_FIRMWARE:
        alert = _child(message, "FutureDatedDeviceAlertMessage")
        if alert is not None:
            code = _hex_code(alert, "FutureDatedAlertCode", "FutureDatedDeviceAlertMessage")
            return model.FutureDatedActivationAlert(header, code, _payload(alert, "FutureDatedDeviceAlertMessage"))
        payload = _payload(message, "ResponseMessage") if _child(message, "GBCSPayload") is not None else None
        return model.ActivateFirmwareResponse(header, payload)
    if service_reference == model.SR_READ_FIRMWARE_VERSION:
        payload = _payload(message, "ResponseMessage") if _child(message, "GBCSPayload") is not None else None
        return model.ReadFirmwareVersionResponse(header, payload)
    return model.UnrelatedMessage(f"a response for Service Reference {brief(service_reference)}")


def _dcc_alert(header: model.ResponseHeader, message: etree._Element) -> model.DuisMessage:
    code = _text(message, "DCCAlertCode", "DCCAlertMessage")
    alert = _single_child(_required(message, "DCCAlert"), "DCCAlert")
    name = etree.QName(alert).localname
    if name == "CSPFirmwareDeliveryStatus":
        return model.CspFirmwareDeliveryStatus(
            header,
            code,
            request_id=_request_id(_text(alert, "UpdateFirmwareRequestID", name), f"{name}/UpdateFirmwareRequestID"),
            device_id=_device_id(_text(alert, "TargetDeviceID", name), f"{name}/TargetDeviceID"),
            firmware_version=_text(alert, "FirmwareVersion", name),
            timestamp=_date_time(_text(alert, "TimeStamp", name), f"{name}/TimeStamp"),
            transfer_status=_text(alert, "CommsHubTransferStatus", name),
        )
    if name == "FirmwareDistributionFailure":
        return model.FirmwareDistributionFailure(
            header,
            code,
            request_id=_request_id(_text(alert, "UpdateFirmwareRequestID", name), f"{name}/UpdateFirmwareRequestID"),
            meter_ids=_device_list(_text(alert, "MeterIDs", name), f"{name}/MeterIDs"),
        )
    if name in _DEVICE_FIRMWARE_ALERTS:
        return _device_firmware_alert(header, code, alert, name)
    if name == "CommsHubAlert" and (transfer := _child(alert, "FirmwareTransferAlert")) is not None:
        return _firmware_transfer_alert(header, code, alert, transfer)
    if name == "PPMIDAlert" and (upgrade := _child(alert, "PPMIDFirmwareUpgradeAlert")) is not None:
        stamp = _optional_text(alert, "Timestamp")
        return model.PpmidFirmwareUpgradeAlert(
            header,
            code,
            device_id=_device_id(_text(alert, "DeviceID", name), f"{name}/DeviceID"),
            firmware_version=_text(upgrade, "FirmwareVersion", "PPMIDFirmwareUpgradeAlert"),
            timestamp=_date_time(stamp, f"{name}/Timestamp") if stamp else None,
            result_code=_text(upgrade, "ActivateImageResultCode", "PPMIDFirmwareUpgradeAlert"),
        )
    return model.UnrelatedMessage(f"DCC Alert {brief(code)} ({brief(name)})")


_DEVICE_FIRMWARE_ALERTS = frozenset({"CommandFailure", "FirmwareVersionMismatch", "FirmwareUpgradeRequested"})


def _device_firmware_alert(
    header: model.ResponseHeader, code: str, alert: etree._Element, name: str
) -> model.DuisMessage:
    """DCC Alerts about a device's commands or firmware version rather than a distribution's stages."""
    if name == "CommandFailure":
        return model.CommandFailure(
            header,
            code,
            command_request_id=_request_id(_text(alert, "CommandRequestID", name), f"{name}/CommandRequestID"),
            device_id=_device_id(_text(alert, "DeviceID", name), f"{name}/DeviceID"),
        )
    if name == "FirmwareVersionMismatch":
        return model.FirmwareVersionMismatch(
            header,
            code,
            device_id=_device_id(_text(alert, "DeviceID", name), f"{name}/DeviceID"),
            device_type=_text(alert, "DeviceType", name),
            version_in_inventory=_text(alert, "FirmwareVersionSMI", name),
            version_on_device=_text(alert, "FirmwareVersionDevice", name),
        )
    return model.FirmwareUpgradeRequested(
        header,
        code,
        device_type=_text(alert, "DeviceType", name),
        firmware_version=_text(alert, "FirmwareVersion", name),
        device_ids=_device_list(_text(alert, "DeviceList", name), f"{name}/DeviceList"),
    )


def _firmware_transfer_alert(
    header: model.ResponseHeader, code: str, alert: etree._Element, transfer: etree._Element
) -> model.FirmwareTransferAlert:
    name = "FirmwareTransferAlert"
    request_text = _optional_text(transfer, "UpdateFirmwareRequestID")
    stamp = _optional_text(alert, "TimeStamp")
    return model.FirmwareTransferAlert(
        header,
        code,
        request_id=_request_id(request_text, f"{name}/UpdateFirmwareRequestID") if request_text else None,
        device_id=_device_id(_text(transfer, "OtherDeviceID", name), f"{name}/OtherDeviceID"),
        firmware_version=_text(transfer, "FirmwareVersion", name),
        timestamp=_date_time(stamp, "CommsHubAlert/TimeStamp") if stamp else None,
        transfer_response_code=_text(transfer, "TransferResponseCode", name),
    )


def brief(text: str, limit: int = 60) -> str:
    """A value from the message as shown in a refusal, cut short so a huge one cannot flood a log or a page."""
    return text if len(text) <= limit else text[:limit] + "…"


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    return parent.find(_NS + name)


def _required(parent: etree._Element, name: str) -> etree._Element:
    found = _child(parent, name)
    if found is None:
        raise UnusableMessage(f"{etree.QName(parent).localname}/{name}: missing")
    return found


def _single_child(parent: etree._Element, path: str) -> etree._Element:
    children = [child for child in parent if isinstance(child.tag, str)]
    if len(children) != 1:
        raise UnusableMessage(f"{path}: expected exactly one element, found {len(children)}")
    if etree.QName(children[0]).namespace != NAMESPACE:
        raise UnusableMessage(
            f"{path}: element {brief(etree.QName(children[0]).text)} is not in the DUIS namespace {NAMESPACE}"
        )
    return children[0]


def _optional_text(parent: etree._Element, name: str) -> str | None:
    found = _child(parent, name)
    if found is None:
        return None
    return (found.text or "").strip()


def _text(parent: etree._Element, name: str, path: str) -> str:
    text = _optional_text(parent, name)
    if not text:
        raise UnusableMessage(f"{path}/{name}: missing or empty")
    return text


def _request_id(text: str, path: str) -> ServiceRequestId:
    try:
        return parse_service_request_id(text, path)
    except InvalidInput as error:
        raise UnusableMessage(str(error)) from None


def _device_id(text: str, path: str) -> str:
    try:
        return parse_device_id(text, path)
    except InvalidInput as error:
        raise UnusableMessage(str(error)) from None


def _device_list(text: str, path: str) -> tuple[str, ...]:
    """Comma-separated Device IDs in canonical form, duplicates dropped, in the order given."""
    compact = "".join(text.split())
    if _DEVICE_LIST.fullmatch(compact):
        return tuple(dict.fromkeys(compact.upper().split(",")))
    # Slow path only to name the offending item.
    for number, item in enumerate(compact.split(","), start=1):
        _device_id(item, f"{path} item {number}")
    raise UnusableMessage(f"{path}: expected Device IDs (pairs joined by '-') separated by commas")


def _hex_code(parent: etree._Element, name: str, path: str) -> str:
    code = _text(parent, name, path).upper()
    if not re.fullmatch(r"[0-9A-F]{2,8}", code):
        raise UnusableMessage(f"{path}/{name}: {code[:20]!r} is not a hexadecimal alert code")
    return code


def _payload(parent: etree._Element, path: str) -> bytes:
    text = "".join(_text(parent, "GBCSPayload", path).split())
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise UnusableMessage(f"{path}/GBCSPayload: not valid base64") from None


def _date_time(text: str, path: str) -> datetime:
    """An xs:dateTime as an aware UTC time; DCC systems run on UTC, so a time without a zone is UTC."""
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        raise UnusableMessage(f"{path}: {text[:40]!r} is not an xs:dateTime, e.g. 2026-11-05T14:03:22.123Z")
    zone = match["zone"]
    tz = UTC
    if zone and zone != "Z":
        minutes = int(zone[4:6])
        offset = timedelta(hours=int(zone[1:3]), minutes=minutes)
        if offset > _LARGEST_ZONE_OFFSET or minutes > 59:
            raise UnusableMessage(f"{path}: {text[:40]!r} has a time zone offset outside -14:00 to +14:00")
        tz = timezone(offset if zone[0] == "+" else -offset)
    fraction = (match["fraction"] or "0")[:6].ljust(6, "0")
    try:
        moment = datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}").replace(tzinfo=tz)
    except ValueError as error:
        raise UnusableMessage(f"{path}: {text[:40]!r} is not a valid date and time ({error})") from None
    return moment.astimezone(UTC)
