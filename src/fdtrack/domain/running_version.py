"""Whether a device's report of the firmware it runs confirms that a record's image was activated."""

from __future__ import annotations

from fdtrack.domain.statuses import ProcessingStatus

# A change of executing version means our image is running only once it reached the device: its
# HAN transfer succeeded, or an activation of it was tried (a failed 11.3 can still have worked).
IMAGE_AT_DEVICE = frozenset({ProcessingStatus.SUCCESSFUL_HAN_TRANSFER, ProcessingStatus.ACTIVATION_FAILED})


def why_not_confirmed(
    reported_version: str | None, record_version: str | None, record_status: ProcessingStatus
) -> str | None:
    """None when the report confirms activation of the record's image; otherwise why it does not.

    A reported version confirms it when it is the record's firmware version; a report that only says the
    executing version changed (no version given) confirms it when the image had reached the device.
    """
    if reported_version is not None:
        if record_version is None:
            return "the record names no firmware version to compare with"
        if reported_version.upper() != record_version.upper():
            return f"the device runs {reported_version}, not the record's firmware version {record_version}"
        return None
    if record_status not in IMAGE_AT_DEVICE:
        return f"the record's image has not reached the device (its status is {record_status.value})"
    return None
