"""Device types: the four SMETS2+ types fdtrack may track and the DUIS types it never tracks (SPEC §3)."""

from __future__ import annotations

from enum import StrEnum

from fdtrack.domain.errors import InvalidInput


class DeviceType(StrEnum):
    """A device type fdtrack can track."""

    ESME = "ESME"
    GSME = "GSME"
    PPMID = "PPMID"
    HCALCS = "HCALCS"


#: DUIS device types that never take part in firmware distribution tracking.
EXCLUDED_DEVICE_TYPES = frozenset({"CHF", "GPF", "IHD", "CAD"})
COMMS_HUB_TYPES = frozenset({"CHF", "GPF"})  # the Communications Hub's two functions
#: Every DeviceType of the DUIS schema, in its order: what a device inventory may hold.
DUIS_DEVICE_TYPES = ("ESME", "GSME", "GPF", "CHF", "HCALCS", "PPMID", "IHD", "CAD")
ALL_TRACKED = frozenset(DeviceType)


def parse_device_type(text: object, tracked: frozenset[DeviceType], field: str = "device_type") -> DeviceType:
    """Parse a device type, refusing types outside the configured tracked set with a clear reason."""
    if not isinstance(text, str):
        raise InvalidInput(field, "must be a text value, e.g. ESME")
    name = text.strip().upper()
    if name in EXCLUDED_DEVICE_TYPES:
        raise InvalidInput(field, f"{name} devices are not tracked by firmware distribution tracking")
    try:
        device_type = DeviceType(name)
    except ValueError:
        expected = ", ".join(t.value for t in DeviceType)
        raise InvalidInput(field, f"{text.strip()[:20]!r} is not a device type, expected one of: {expected}") from None
    if device_type not in tracked:
        raise InvalidInput(field, f"{name} devices are not tracked by this service")
    return device_type


def tracked_setting(tracked: frozenset[DeviceType]) -> str:
    """The tracked set as FDTRACK_TRACKED_DEVICE_TYPES would name it, in the order of SPEC §3."""
    return ",".join(device_type.value for device_type in DeviceType if device_type in tracked)


def parse_tracked_set(text: str) -> frozenset[DeviceType]:
    """Parse the FDTRACK_TRACKED_DEVICE_TYPES setting (comma-separated, limited to the four types)."""
    names = [part.strip().upper() for part in text.split(",") if part.strip()]
    if not names:
        raise InvalidInput("FDTRACK_TRACKED_DEVICE_TYPES", "must name at least one device type")
    return frozenset(parse_device_type(name, ALL_TRACKED, "FDTRACK_TRACKED_DEVICE_TYPES") for name in names)
