"""The device inventory: each device's type, SMETS/CHTS version and model, and what they mean for scope (SPEC §3)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from fdtrack.domain.device_types import COMMS_HUB_TYPES, DUIS_DEVICE_TYPES, DeviceType, tracked_setting
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.identifiers import parse_device_id
from fdtrack.domain.text import require_storable

# The fields of an inventory entry, named as the CSV header names them; the DUIS 8.2 reader uses the same.
DEVICE_ID = "Device ID"
DEVICE_TYPE = "Device Type"
SMETS_CHTS_VERSION = "SMETS/CHTS Version"
DEVICE_MODEL = "Device Model"
FIELDS = (DEVICE_ID, DEVICE_TYPE, SMETS_CHTS_VERSION, DEVICE_MODEL)
MAX_VERSION = 20  # DUIS SMETSCHTSVersion
MAX_MODEL = 30  # DUIS DeviceModel
# "SMETS1", "smets 1", "SMETS1.0", "SMETS-1": a version naming SMETS1 (and not, say, a SMETS 10), once
# spaces, hyphens and underscores are taken out; ASCII letters in any case.
VERSION_SEPARATORS = (" ", "-", "_")
_SMETS1 = re.compile(r"SMETS1(?![0-9])", re.ASCII | re.IGNORECASE)
#: A LIKE pattern every SMETS1 version matches once upper-cased and rid of VERSION_SEPARATORS: storage
#: uses it to return only the entries that may be out of scope; is_smets1 decides.
SMETS1_LIKE = "SMETS1%"
_TRACKABLE = frozenset(device_type.value for device_type in DeviceType)


@dataclass(frozen=True, slots=True)
class InventoryDevice:
    """One device as the inventory knows it."""

    device_id: str
    device_type: str  # any DUIS device type, Comms Hubs and Type 2 devices included
    smets_chts_version: str | None = None
    device_model: str | None = None

    @property
    def is_smets1(self) -> bool:
        if self.smets_chts_version is None:
            return False
        version = self.smets_chts_version
        for separator in VERSION_SEPARATORS:
            version = version.replace(separator, "")
        return _SMETS1.match(version) is not None


def parse_inventory_device(fields: Mapping[str, object]) -> InventoryDevice:
    """An inventory entry from its fields (keys as in FIELDS), or InvalidInput naming the field at fault."""
    device_id = parse_device_id(fields.get(DEVICE_ID), DEVICE_ID)
    device_type = _device_type(fields.get(DEVICE_TYPE))
    version = _optional_text(fields.get(SMETS_CHTS_VERSION), SMETS_CHTS_VERSION, MAX_VERSION)
    model = _optional_text(fields.get(DEVICE_MODEL), DEVICE_MODEL, MAX_MODEL)
    return InventoryDevice(device_id, device_type, version, model)


def scope_refusal(device: InventoryDevice, tracked: frozenset[DeviceType]) -> str | None:
    """Why an event naming no device type may not be tracked for this device, or None when it may."""
    named = f"device {device.device_id} is {device.device_type} in the device inventory"
    if device.device_type in COMMS_HUB_TYPES:
        return f"{named} (a Communications Hub); Comms Hubs are never tracked"
    if device.device_type not in _TRACKABLE:
        return f"{named} (a Type 2 device), which is never tracked"
    if DeviceType(device.device_type) not in tracked:
        return f"{named}, which is not tracked (FDTRACK_TRACKED_DEVICE_TYPES={tracked_setting(tracked)})"
    if device.is_smets1:
        return (
            f"device {device.device_id} is a SMETS1 device in the device inventory "
            f"({device.smets_chts_version}); only SMETS2 and later are tracked"
        )
    return None


def _device_type(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(DEVICE_TYPE, f"is required, one of: {', '.join(DUIS_DEVICE_TYPES)}")
    name = value.strip().upper()
    if name not in DUIS_DEVICE_TYPES:
        raise InvalidInput(
            DEVICE_TYPE,
            f"{value.strip()[:20]!r} is not a DUIS device type, expected one of: {', '.join(DUIS_DEVICE_TYPES)}",
        )
    return name


def _optional_text(value: object, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a text value")
    text = value.strip()
    if not text:
        return None
    require_storable(text, field)
    if len(text) > limit:
        raise InvalidInput(field, f"is {len(text)} characters long, at most {limit} are allowed")
    return text
