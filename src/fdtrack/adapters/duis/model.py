"""A typed model of the DUIS messages that matter to firmware distribution tracking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fdtrack.domain.identifiers import ServiceRequestId

SR_UPDATE_FIRMWARE = "11.1"
SR_UPDATE_PPMID_FIRMWARE = "11.4"
SR_ACTIVATE_FIRMWARE = "11.3"
SR_READ_FIRMWARE_VERSION = "11.2"


@dataclass(frozen=True, slots=True)
class UpdateFirmwareRequest:
    """SR 11.1 (UpdateFirmware) or SR 11.4 (UpdatePPMIDFirmware): a firmware version for a list of devices."""

    request_id: ServiceRequestId
    service_reference: str
    firmware_version: str
    device_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ActivateFirmwareRequest:
    """SR 11.3 as sent by a User; its outcome arrives in the response or a future-dated alert."""

    request_id: ServiceRequestId
    execution_at: datetime | None  # ExecutionDateTime of a future-dated activation


@dataclass(frozen=True, slots=True)
class ResponseHeader:
    """The header every DUIS Response carries."""

    request_id: ServiceRequestId | None
    response_id: ServiceRequestId | None
    response_code: str
    response_time: datetime


@dataclass(frozen=True, slots=True)
class UpdateFirmwareResponse:
    """The DSP's response to an 11.1 / 11.4, with the devices it refused in DSPUpdate…FirmwareWarning lists."""

    header: ResponseHeader
    service_reference: str
    warning_lists: dict[str, tuple[str, ...]]  # list element name → Device IDs


@dataclass(frozen=True, slots=True)
class ActivateFirmwareResponse:
    """The response to an SR 11.3: a GBCS CS06 response, or a DUIS error code without one."""

    header: ResponseHeader
    gbcs_payload: bytes | None


@dataclass(frozen=True, slots=True)
class FutureDatedActivationAlert:
    """FutureDatedDeviceAlertMessage 8F66 (actioned) / 8F67 (not actioned) for a future-dated 11.3."""

    header: ResponseHeader
    alert_code: str
    gbcs_payload: bytes


@dataclass(frozen=True, slots=True)
class DeviceAlert:
    """A DeviceAlertMessage: an alert code from the device with the GBCS alert itself."""

    header: ResponseHeader
    alert_code: str
    gbcs_payload: bytes


@dataclass(frozen=True, slots=True)
class CspFirmwareDeliveryStatus:
    """DCC Alert: whether the CSP delivered the image to the device's Comms Hub."""

    header: ResponseHeader
    dcc_alert_code: str
    request_id: ServiceRequestId
    device_id: str
    firmware_version: str
    timestamp: datetime
    transfer_status: str  # Success | Failure


@dataclass(frozen=True, slots=True)
class FirmwareDistributionFailure:
    """DCC Alert: the image could not be distributed to the listed meters' Comms Hubs."""

    header: ResponseHeader
    dcc_alert_code: str
    request_id: ServiceRequestId
    meter_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FirmwareTransferAlert:
    """DCC Alert CommsHubAlert/FirmwareTransferAlert: the Comms Hub's transfer of the image over the HAN."""

    header: ResponseHeader
    dcc_alert_code: str
    request_id: ServiceRequestId | None
    device_id: str
    firmware_version: str
    timestamp: datetime | None
    transfer_response_code: str


@dataclass(frozen=True, slots=True)
class PpmidFirmwareUpgradeAlert:
    """DCC Alert PPMIDAlert/PPMIDFirmwareUpgradeAlert: a PPMID activated its new image, or failed to."""

    header: ResponseHeader
    dcc_alert_code: str
    device_id: str
    firmware_version: str
    timestamp: datetime | None
    result_code: str  # ActivationSuccess | ActivationFailure


@dataclass(frozen=True, slots=True)
class ReadFirmwareVersionResponse:
    """The response to an SR 11.2: the device's GBCS response with its running firmware version, or an error code."""

    header: ResponseHeader
    gbcs_payload: bytes | None


@dataclass(frozen=True, slots=True)
class CommandFailure:
    """DCC Alert CommandFailure: the DCC Systems could not execute a command (e.g. a future-dated 11.3) on a device."""

    header: ResponseHeader
    dcc_alert_code: str
    command_request_id: ServiceRequestId
    device_id: str


@dataclass(frozen=True, slots=True)
class FirmwareVersionMismatch:
    """DCC Alert FirmwareVersionMismatch: the device reports a version other than the inventory (SMI) holds."""

    header: ResponseHeader
    dcc_alert_code: str
    device_id: str
    device_type: str
    version_in_inventory: str
    version_on_device: str


@dataclass(frozen=True, slots=True)
class FirmwareUpgradeRequested:
    """DCC Alert FirmwareUpgradeRequested: a request that devices be upgraded, not the outcome of one."""

    header: ResponseHeader
    dcc_alert_code: str
    device_type: str
    firmware_version: str
    device_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UnrelatedMessage:
    """A well-formed DUIS message that says nothing about firmware distribution."""

    description: str


DuisMessage = (
    UpdateFirmwareRequest
    | ActivateFirmwareRequest
    | UpdateFirmwareResponse
    | ActivateFirmwareResponse
    | FutureDatedActivationAlert
    | DeviceAlert
    | CspFirmwareDeliveryStatus
    | FirmwareDistributionFailure
    | FirmwareTransferAlert
    | PpmidFirmwareUpgradeAlert
    | ReadFirmwareVersionResponse
    | CommandFailure
    | FirmwareVersionMismatch
    | FirmwareUpgradeRequested
    | UnrelatedMessage
)
