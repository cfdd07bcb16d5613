"""The one table from DUIS message to Processing Status and Current Status Reason (docs/duis-mapping.md)."""

from __future__ import annotations

from dataclasses import dataclass

from fdtrack.domain.statuses import ProcessingStatus as S


@dataclass(frozen=True, slots=True)
class Rule:
    """One row: when a message (and condition) holds, which status and reason a device gets; None: no event."""

    message: str
    condition: str
    status: S | None
    reason: str  # {placeholders} are filled from the message, see fill()


_REQUEST = "Request UpdateFirmware (11.1) / UpdatePPMIDFirmware (11.4)"
_DSP = "Response to 11.1 / 11.4"
_CSP = "DCC Alert CSPFirmwareDeliveryStatus"
_FDF = "DCC Alert FirmwareDistributionFailure"
_HAN = "DCC Alert CommsHubAlert / FirmwareTransferAlert"
_PPMID = "DCC Alert PPMIDAlert / PPMIDFirmwareUpgradeAlert"
_DEVICE = "DeviceAlertMessage"
_FUTURE = "Response 11.3 / FutureDatedDeviceAlertMessage"
_ACTIVATION = "Response to 11.3 (GBCS CS06 response)"

RULES: dict[str, Rule] = {
    "request.update": Rule(_REQUEST, "always", None, "remembered: request ID, User ID, firmware version, devices"),
    "request.activate": Rule("Request ActivateFirmware (11.3)", "always", None, "no event: the outcome follows"),
    "dsp.accepted": Rule(_DSP, "code I0, I99 or W…; device in no warning list", S.ACCEPTED_BY_DSP, ""),
    "dsp.InvalidDeviceIDList": Rule(_DSP, "device in InvalidDeviceIDList", S.REJECTED_BY_DSP, "Invalid Device ID"),
    "dsp.NotCommissionedDeviceIDList": Rule(
        _DSP, "device in NotCommissionedDeviceIDList", S.REJECTED_BY_DSP, "Device not commissioned"
    ),
    "dsp.NotApplicableFirmwareDeviceIDList": Rule(
        _DSP, "device in NotApplicableFirmwareDeviceIDList", S.REJECTED_BY_DSP, "Firmware not applicable to the device"
    ),
    "dsp.OtherRequestInProgressList": Rule(
        _DSP, "device in OtherRequestInProgressList", S.REJECTED_BY_DSP, "Other firmware request in progress"
    ),
    "dsp.InvalidGBCSVersionList": Rule(
        _DSP, "device in InvalidGBCSVersionList", S.REJECTED_BY_DSP, "Invalid GBCS version for the firmware"
    ),
    "dsp.error": Rule(_DSP, "code E…: every device of the request", S.REJECTED_BY_DSP, "{code}: {meaning}"),
    "csp.Success": Rule(_CSP, "CommsHubTransferStatus Success", S.SUCCESSFUL_CH_TRANSFER, ""),
    "csp.Failure": Rule(
        _CSP, "CommsHubTransferStatus Failure", S.FAILED_CH_TRANSFER, "Transfer to the Comms Hub failed ({alert})"
    ),
    "fdf": Rule(_FDF, "each device in MeterIDs", S.FAILED_CH_TRANSFER, "Firmware distribution failure ({alert})"),
    "han.FileTransferSuccess": Rule(_HAN, "FileTransferSuccess", S.SUCCESSFUL_HAN_TRANSFER, ""),
    "han.FirmwareImageDiscarded": Rule(
        _HAN,
        "FirmwareImageDiscarded",
        S.NOT_DELIVERED_AT_HAN,
        "FirmwareImageDiscarded: the Comms Hub discarded the image",
    ),
    "han.HardwareVersionMismatch": Rule(
        _HAN,
        "HardwareVersionMismatch",
        S.NOT_DELIVERED_AT_HAN,
        "HardwareVersionMismatch: the image does not suit the device hardware",
    ),
    "han.FileTransferFailure": Rule(
        _HAN, "FileTransferFailure", S.NOT_DELIVERED_AT_HAN, "FileTransferFailure: the transfer over the HAN failed"
    ),
    "ppmid.ActivationSuccess": Rule(_PPMID, "ActivationSuccess", S.FIRMWARE_ACTIVATED, ""),
    "ppmid.ActivationFailure": Rule(
        _PPMID, "ActivationFailure", S.ACTIVATION_FAILED, "ActivationFailure: the PPMID could not activate the image"
    ),
    "device.8F72": Rule(_DEVICE, "AlertCode 8F72", S.SUCCESSFUL_HAN_TRANSFER, "8F72: image received and verified"),
    "device.8F1C": Rule(
        _DEVICE, "AlertCode 8F1C", S.NOT_DELIVERED_AT_HAN, "8F1C: firmware verification failed at the device"
    ),
    "future.8F66": Rule(
        _FUTURE, "FutureDatedAlertCode 8F66", S.FIRMWARE_ACTIVATED, "8F66: future-dated activation actioned"
    ),
    "future.8F67": Rule(
        _FUTURE, "FutureDatedAlertCode 8F67", S.ACTIVATION_FAILED, "8F67: activation not actioned: {outcome}"
    ),
    "activation.0": Rule(_ACTIVATION, "execution outcome 0 (success)", S.FIRMWARE_ACTIVATED, ""),
    "activation.1": Rule(_ACTIVATION, "execution outcome 1", S.ACTIVATION_FAILED, "Activation failed: no image held"),
    "activation.2": Rule(_ACTIVATION, "execution outcome 2", S.ACTIVATION_FAILED, "Activation failed: hash mismatch"),
    "activation.3": Rule(
        _ACTIVATION, "execution outcome 3", S.ACTIVATION_FAILED, "Activation failed: activation failure"
    ),
    "activation.other": Rule(
        _ACTIVATION,
        "any other execution outcome",
        S.ACTIVATION_FAILED,
        "Activation failed: execution outcome {outcome}",
    ),
    "activation.pending": Rule(_ACTIVATION, "future-dated: no outcome yet", None, "no event: 8F66 / 8F67 follows"),
    "activation.acknowledged": Rule(
        "Response to 11.3", "code I0 / I99 without GBCSPayload", None, "no event: the outcome follows"
    ),
    "activation.error": Rule("Response to 11.3", "code E…", S.ACTIVATION_FAILED, "{code}: {meaning}"),
}

# The CS06 Execution Outcome values (GBCS), also used to explain an 8F67.
EXECUTION_OUTCOMES = {0: "success", 1: "no image held", 2: "hash mismatch", 3: "activation failure"}


def rule(key: str) -> Rule:
    return RULES[key]


def fill(template: str, **values: str) -> str:
    """The reason with its placeholders filled; values come from the message being mapped."""
    return template.format(**values) if values else template


def markdown_table() -> str:
    """The table as Markdown, as reproduced in docs/duis-mapping.md (a test keeps the two identical)."""
    lines = [
        "| DUIS message | condition | Processing Status | Current Status Reason |",
        "| --- | --- | --- | --- |",
    ]
    for row in RULES.values():
        status = row.status.value if row.status else "— (no event)"
        reason = row.reason.replace("|", "\\|") if row.reason else "—"
        lines.append(f"| {row.message} | {row.condition} | {status} | {reason} |")
    return "\n".join(lines) + "\n"
