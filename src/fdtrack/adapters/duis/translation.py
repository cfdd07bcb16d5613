"""From the DUIS model to what a message means for tracking, using only the rows of the mapping table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fdtrack.adapters.duis import gbcs, model, response_codes
from fdtrack.adapters.duis.mapping import EXECUTION_OUTCOMES, Rule, fill, rule
from fdtrack.adapters.duis.reading import brief
from fdtrack.adapters.duis.response_codes import meaning
from fdtrack.domain.device_types import DeviceType
from fdtrack.domain.identifiers import ServiceRequestId
from fdtrack.domain.timestamps import format_rfc3339
from fdtrack.services.ports import (
    ActivationFollowUp,
    ActivationRequest,
    DecodedMessage,
    FirmwareRequest,
    PerDeviceOutcome,
    RunningVersion,
    UnusableMessage,
)

# Device alerts that are events in their own right; 8F43 (executing version changed) depends on the record.
_DEVICE_EVENTS = frozenset({"8F72", "8F1C", "8F1B"})
_VERSION_CHANGED = "8F43"
_TRACKED_TYPES = frozenset(device_type.value for device_type in DeviceType)


def translate(message: model.DuisMessage) -> DecodedMessage:
    """What one DUIS message means; a message that means nothing for tracking comes back with a note saying
    why it is ignored. Raises UnusableMessage when a message about firmware cannot be used."""
    if isinstance(message, model.UnrelatedMessage):
        return _ignored(message.description, "unrelated")
    handler: Callable[[Any], DecodedMessage] = _HANDLERS[type(message)]
    return handler(message)


def _ignored(kind: str, key: str, detail: str = "") -> DecodedMessage:
    reason = rule(key).reason
    return DecodedMessage(kind, note=f"{kind}: {reason}{f' ({detail})' if detail else ''}")


def _activate_request(message: model.ActivateFirmwareRequest) -> DecodedMessage:
    device = message.request_id.target
    kind = f"SR 11.3 Activate Firmware request {message.request_id}"
    when = f", activation scheduled for {format_rfc3339(message.execution_at)}" if message.execution_at else ""
    return DecodedMessage(
        kind,
        activation=ActivationRequest(message.request_id, device, message.execution_at),
        note=f"registered activation request {message.request_id} for device {device}{when}",
    )


def _csp_delivery_status(message: model.CspFirmwareDeliveryStatus) -> DecodedMessage:
    key = f"csp.{message.transfer_status}"
    event = _event(key, message.device_id, message.timestamp, message.request_id, alert=message.dcc_alert_code)
    return DecodedMessage(
        f"DCC Alert {message.dcc_alert_code} CSPFirmwareDeliveryStatus",
        events=({**event, "firmware_version": message.firmware_version},),
    )


def _distribution_failure(message: model.FirmwareDistributionFailure) -> DecodedMessage:
    time = message.header.response_time
    events = tuple(
        _event("fdf", meter, time, message.request_id, alert=message.dcc_alert_code) for meter in message.meter_ids
    )
    return DecodedMessage(f"DCC Alert {message.dcc_alert_code} FirmwareDistributionFailure", events=events)


def _firmware_transfer(message: model.FirmwareTransferAlert) -> DecodedMessage:
    key = f"han.{message.transfer_response_code}"
    event = _event(key, message.device_id, message.timestamp or message.header.response_time, message.request_id)
    return DecodedMessage(
        f"DCC Alert {message.dcc_alert_code} FirmwareTransferAlert",
        events=({**event, "firmware_version": message.firmware_version},),
    )


def _ppmid_upgrade(message: model.PpmidFirmwareUpgradeAlert) -> DecodedMessage:
    key = f"ppmid.{message.result_code}"
    event = _event(key, message.device_id, message.timestamp or message.header.response_time, None)
    extra = {"firmware_version": message.firmware_version, "device_type": DeviceType.PPMID.value}
    return DecodedMessage(f"DCC Alert {message.dcc_alert_code} PPMIDFirmwareUpgradeAlert", events=({**event, **extra},))


def _update_request(message: model.UpdateFirmwareRequest) -> DecodedMessage:
    ppmid = message.service_reference == model.SR_UPDATE_PPMID_FIRMWARE
    request = FirmwareRequest(
        message.request_id,
        message.service_reference,
        message.firmware_version,
        message.device_ids,
        DeviceType.PPMID.value if ppmid else None,
    )
    return DecodedMessage(
        f"SR {message.service_reference} Update Firmware request",
        request=request,
        note=f"registered request {message.request_id} for {_devices(len(message.device_ids))}",
    )


def _update_response(message: model.UpdateFirmwareResponse) -> DecodedMessage:
    header = message.header
    request_id = header.request_id or _swapped(header.response_id)
    if request_id is None:
        raise UnusableMessage("Header: neither RequestID nor ResponseID names the Update Firmware request")
    occurred_at = format_rfc3339(header.response_time)
    kind = f"SR {message.service_reference} response {header.response_code}"
    if response_codes.is_error(header.response_code):
        error = rule("dsp.error")
        reason = fill(error.reason, code=header.response_code, meaning=meaning(header.response_code))
        return DecodedMessage(kind, per_device=PerDeviceOutcome(request_id, occurred_at, _name(error), reason, {}))
    listed: dict[str, tuple[str, str]] = {}
    for list_name, devices in message.warning_lists.items():
        refused = rule(f"dsp.{list_name}")
        for device in devices:
            listed.setdefault(device, (_name(refused), refused.reason))
    accepted = rule("dsp.accepted")
    outcome = PerDeviceOutcome(request_id, occurred_at, _name(accepted), accepted.reason, listed)
    return DecodedMessage(kind, per_device=outcome)


def _activation_response(message: model.ActivateFirmwareResponse) -> DecodedMessage:
    header = message.header
    kind = f"SR 11.3 response {header.response_code}"
    device = _addressed_device(header)
    if response_codes.is_error(header.response_code):
        if device is None:
            raise UnusableMessage("Header: neither RequestID nor ResponseID names the device")
        code = header.response_code
        event = _event("activation.error", device, header.response_time, None, code=code, meaning=meaning(code))
        return DecodedMessage(kind, events=(event,))
    if message.gbcs_payload is None:
        return _acknowledged(kind, header, device)  # the outcome follows
    signed = _general_signing(message.gbcs_payload)
    try:
        outcome = gbcs.decode_activation_response(signed)
    except gbcs.GbcsError as error:
        raise UnusableMessage(f"ResponseMessage/GBCSPayload: {error}") from None
    if outcome is None:
        # Future-dated: the device took the command; the outcome comes as alert 8F66 / 8F67.
        return _acknowledged(kind, header, _checked_device(device, signed))
    device = _checked_device(device, signed)
    key = f"activation.{outcome.code}" if outcome.code in EXECUTION_OUTCOMES else "activation.other"
    return DecodedMessage(kind, events=(_event(key, device, header.response_time, None, outcome=str(outcome.code)),))


def _future_dated_alert(message: model.FutureDatedActivationAlert) -> DecodedMessage:
    signed = _general_signing(message.gbcs_payload)
    try:
        alert = gbcs.decode_future_dated_alert(signed)
    except gbcs.GbcsError as error:
        raise UnusableMessage(f"FutureDatedDeviceAlertMessage/GBCSPayload: {error}") from None
    if f"{alert.alert_code:04X}" != message.alert_code:
        raise UnusableMessage(
            f"FutureDatedDeviceAlertMessage: FutureDatedAlertCode {message.alert_code} differs from the "
            f"alert code {alert.alert_code:04X} in its GBCSPayload"
        )
    device = _checked_device(_addressed_device(message.header), signed)
    outcome = EXECUTION_OUTCOMES.get(alert.outcome.code, f"execution outcome {alert.outcome.code}")
    event = _event(f"future.{message.alert_code}", device, message.header.response_time, None, outcome=outcome)
    return DecodedMessage(f"Future-dated device alert {message.alert_code}", events=(event,))


def _acknowledged(kind: str, header: model.ResponseHeader, device: str | None) -> DecodedMessage:
    """An 11.3 taken for later: shows its schedule when the 11.3 named an ExecutionDateTime."""
    request_id = header.request_id or _swapped(header.response_id)
    if request_id is None or device is None:
        return _ignored(kind, "activation.acknowledged", "the header names no request")
    event = _event("activation.scheduled", device, header.response_time, None)
    otherwise = _ignored(kind, "activation.acknowledged").note
    return DecodedMessage(kind, follow_up=ActivationFollowUp(request_id, event, True, otherwise))


def _command_failure(message: model.CommandFailure) -> DecodedMessage:
    kind = f"DCC Alert {message.dcc_alert_code} CommandFailure"
    command = str(message.command_request_id)
    time = message.header.response_time
    event = _event("command.11.3", message.device_id, time, None, alert=message.dcc_alert_code, command=command)
    otherwise = _ignored(kind, "command.other", command).note
    return DecodedMessage(kind, follow_up=ActivationFollowUp(message.command_request_id, event, False, otherwise))


def _version_mismatch(message: model.FirmwareVersionMismatch) -> DecodedMessage:
    kind = f"DCC Alert {message.dcc_alert_code} FirmwareVersionMismatch"
    event = _event(
        "mismatch.confirmed",
        message.device_id,
        message.header.response_time,
        None,
        alert=message.dcc_alert_code,
        version=message.version_on_device,
        inventory=message.version_in_inventory,
    )
    if message.device_type not in _TRACKED_TYPES:  # a Comms Hub or a Type 2 device: never tracked
        return _ignored(kind, "mismatch.other", f"device type {message.device_type} is not tracked")
    event["device_type"] = message.device_type
    report = RunningVersion(message.device_id, message.version_on_device, event, kind)
    return DecodedMessage(kind, running_version=report)


def _upgrade_requested(message: model.FirmwareUpgradeRequested) -> DecodedMessage:
    kind = f"DCC Alert {message.dcc_alert_code} FirmwareUpgradeRequested"
    return _ignored(kind, "upgrade.requested", f"{message.device_type} {message.firmware_version}")


def _read_version_response(message: model.ReadFirmwareVersionResponse) -> DecodedMessage:
    header = message.header
    kind = f"SR 11.2 response {header.response_code}"
    device = _addressed_device(header)
    if message.gbcs_payload is None or response_codes.is_error(header.response_code) or device is None:
        return _ignored(kind, "readfw.other", "no running version in it")
    try:
        signed = gbcs.parse_general_signing(gbcs.unwrap_general_ciphering(message.gbcs_payload))
        version = gbcs.decode_running_version(signed)
    except gbcs.GbcsError as error:
        return _ignored(kind, "readfw.other", str(error))
    device = _checked_device(device, signed)
    event = _event("readfw.confirmed", device, header.response_time, None, version=version)
    return DecodedMessage(kind, running_version=RunningVersion(device, version, event, kind))


def _device_alert(message: model.DeviceAlert) -> DecodedMessage:
    kind = f"Device alert {message.alert_code}"
    if message.alert_code not in _DEVICE_EVENTS and message.alert_code != _VERSION_CHANGED:
        return _ignored(kind, "device.other")
    # An alert's ResponseID names its originator, the device, first; the GBCS header says the same.
    response_id = message.header.response_id
    device = response_id.originator if response_id else _general_signing(message.gbcs_payload).originator
    event = _event(f"device.{message.alert_code}", device, message.header.response_time, None)
    if message.alert_code == _VERSION_CHANGED:
        return DecodedMessage(kind, running_version=RunningVersion(device, None, event, kind))
    return DecodedMessage(kind, events=(event,))


def _event(
    key: str, device_id: str, occurred_at: datetime, request_id: ServiceRequestId | None, **values: str
) -> dict[str, object]:
    """The SPEC §5 fields of one event, from the table row `key`."""
    try:
        row = rule(key)
    except KeyError:
        raise UnusableMessage(f"no mapping for {brief(key.split('.', 1)[-1])!r} in this DUIS message") from None
    fields: dict[str, object] = {
        "device_id": device_id,
        "status": _name(row),
        "occurred_at": format_rfc3339(occurred_at),
        "reason": fill(row.reason, **values),
    }
    if request_id is not None:
        fields["request_id"] = str(request_id)
    return fields


def _devices(count: int) -> str:
    return f"{count} device" if count == 1 else f"{count} devices"


def _name(row: Rule) -> str:
    assert row.status is not None, "only rows that produce an event are turned into statuses"
    return row.status.value


def _swapped(response_id: ServiceRequestId | None) -> ServiceRequestId | None:
    """A ResponseID names the responder first; swapped back it is the Request ID it answers."""
    if response_id is None:
        return None
    return ServiceRequestId(response_id.target, response_id.originator, response_id.counter)


def _addressed_device(header: model.ResponseHeader) -> str | None:
    """The device an 11.3 concerns: the target of its Request ID, or the responder in the ResponseID."""
    if header.request_id is not None:
        return header.request_id.target
    return header.response_id.originator if header.response_id is not None else None


def _general_signing(payload: bytes) -> gbcs.GeneralSigning:
    try:
        return gbcs.parse_general_signing(payload)
    except gbcs.GbcsError as error:
        raise UnusableMessage(f"GBCSPayload: {error}") from None


def _checked_device(device: str | None, signed: gbcs.GeneralSigning) -> str:
    if device is not None and device != signed.originator:
        raise UnusableMessage(
            f"GBCSPayload: sent by device {signed.originator}, but the DUIS header names device {device}"
        )
    return signed.originator


_HANDLERS: dict[type, Callable[[Any], DecodedMessage]] = {
    model.UpdateFirmwareRequest: _update_request,
    model.ActivateFirmwareRequest: _activate_request,
    model.UpdateFirmwareResponse: _update_response,
    model.ActivateFirmwareResponse: _activation_response,
    model.FutureDatedActivationAlert: _future_dated_alert,
    model.DeviceAlert: _device_alert,
    model.CspFirmwareDeliveryStatus: _csp_delivery_status,
    model.FirmwareDistributionFailure: _distribution_failure,
    model.FirmwareTransferAlert: _firmware_transfer,
    model.PpmidFirmwareUpgradeAlert: _ppmid_upgrade,
    model.CommandFailure: _command_failure,
    model.FirmwareVersionMismatch: _version_mismatch,
    model.FirmwareUpgradeRequested: _upgrade_requested,
    model.ReadFirmwareVersionResponse: _read_version_response,
}
