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
_ACKNOWLEDGED = "Response to 11.3 (acknowledgement)"
_COMMAND_FAILURE = "DCC Alert CommandFailure"
_MISMATCH = "DCC Alert FirmwareVersionMismatch"
_READ_VERSION = "Response to 11.2 (Read Firmware Version)"
_IGNORED = "— (ignored)"

RULES: dict[str, Rule] = {
    "request.update": Rule(_REQUEST, "always", None, "remembered: request ID, User ID, firmware version, devices"),
    "request.activate": Rule(
        "Request ActivateFirmware (11.3)",
        "always",
        None,
        "remembered: request ID, device, ExecutionDateTime when future-dated; the outcome follows",
    ),
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
    "device.8F1B": Rule(
        _DEVICE,
        "AlertCode 8F1B",
        S.ACTIVATION_FAILED,
        "8F1B: firmware verification failed at power-on: the new image did not start",
    ),
    "device.8F43": Rule(
        _DEVICE,
        "AlertCode 8F43, the record's image had reached the device (Successful HAN Transfer or Activation Failed)",
        S.FIRMWARE_ACTIVATED,
        "8F43: the device now executes a new firmware version",
    ),
    "device.8F43.early": Rule(
        _DEVICE, "AlertCode 8F43, the record's image had not reached the device", None, "ignored: not our image"
    ),
    "device.other": Rule(_DEVICE, "any other AlertCode", None, "ignored: not about firmware distribution"),
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
    "activation.scheduled": Rule(
        _ACKNOWLEDGED,
        "I99 without GBCSPayload, or CS06 NULL (future-dated), for a remembered 11.3 with ExecutionDateTime",
        S.SUCCESSFUL_HAN_TRANSFER,
        "Activation scheduled for {execution_at}",
    ),
    "activation.acknowledged": Rule(
        _ACKNOWLEDGED,
        "the same for an 11.3 not remembered or not future-dated",
        None,
        "ignored: the outcome follows in a later response",
    ),
    "activation.error": Rule("Response to 11.3", "code E…", S.ACTIVATION_FAILED, "{code}: {meaning}"),
    "command.11.3": Rule(
        _COMMAND_FAILURE,
        "CommandRequestID is a remembered 11.3",
        S.ACTIVATION_FAILED,
        "CommandFailure ({alert}): the DCC Systems could not run the Activate Firmware command {command}",
    ),
    "command.other": Rule(
        _COMMAND_FAILURE, "CommandRequestID is no remembered 11.3", None, "ignored: not an Activate Firmware command"
    ),
    "mismatch.confirmed": Rule(
        _MISMATCH,
        "FirmwareVersionDevice is the record's firmware version",
        S.FIRMWARE_ACTIVATED,
        "FirmwareVersionMismatch ({alert}): the device runs {version}; the inventory held {inventory}",
    ),
    "mismatch.other": Rule(
        _MISMATCH, "FirmwareVersionDevice is another version", None, "ignored: not the version distributed"
    ),
    "readfw.confirmed": Rule(
        _READ_VERSION,
        "running version (DLMS response) is the record's firmware version",
        S.FIRMWARE_ACTIVATED,
        "running version {version} confirmed by 11.2",
    ),
    "readfw.other": Rule(
        _READ_VERSION,
        "another version, an error code, or a version that cannot be read (non-DLMS, encrypted)",
        None,
        "ignored: confirms nothing",
    ),
    "upgrade.requested": Rule(
        "DCC Alert FirmwareUpgradeRequested",
        "always",
        None,
        "ignored: asks for an upgrade; names no Update Firmware request and no outcome",
    ),
    "unrelated": Rule(_IGNORED, "any other DUIS message", None, "ignored: not about firmware distribution"),
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
