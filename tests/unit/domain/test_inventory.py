"""Inventory entries and what they say about scope (SPEC §3): tracked types, SMETS2 or later, no Comms Hubs."""

from __future__ import annotations

import pytest

from fdtrack.domain.device_types import ALL_TRACKED, DeviceType
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.inventory import InventoryDevice, parse_inventory_device, scope_refusal

D = "00-DB-12-34-56-78-90-A0"
FIRST_RELEASE = frozenset({DeviceType.ESME, DeviceType.GSME})


def entry(**fields: object) -> dict[str, object]:
    return {"Device ID": "00db1234567890a0", "Device Type": " esme ", **fields}


def test_an_entry_takes_canonical_device_ids_and_types_and_trims_the_rest() -> None:
    device = parse_inventory_device(entry(**{"SMETS/CHTS Version": " SMETS2 ", "Device Model": "Aurora E2 "}))
    assert device == InventoryDevice(D, "ESME", "SMETS2", "Aurora E2")


def test_version_and_model_may_be_blank() -> None:
    assert parse_inventory_device(entry(**{"SMETS/CHTS Version": "", "Device Model": "  "})) == InventoryDevice(
        D, "ESME"
    )


@pytest.mark.parametrize("name", ["ESME", "GSME", "GPF", "CHF", "HCALCS", "PPMID", "IHD", "CAD"])
def test_every_duis_device_type_may_be_in_the_inventory(name: str) -> None:
    assert parse_inventory_device(entry(**{"Device Type": name.lower()})).device_type == name


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"Device ID": "00-DB"}, "Device ID", "is not a Device ID"),
        ({"Device ID": ""}, "Device ID", "is required"),
        ({"Device Type": "TOASTER"}, "Device Type", "'TOASTER' is not a DUIS device type"),
        ({"Device Type": ""}, "Device Type", "is required"),
        ({"SMETS/CHTS Version": "V" * 21}, "SMETS/CHTS Version", "at most 20"),
        ({"Device Model": "M" * 31}, "Device Model", "at most 30"),
        ({"Device Model": "bad\x00model"}, "Device Model", ""),
    ],
)
def test_a_bad_entry_is_refused_naming_the_field(fields: dict[str, object], field: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_inventory_device(entry(**fields))
    assert raised.value.field == field
    assert problem in raised.value.problem


@pytest.mark.parametrize("version", ["SMETS1", "smets 1", "SMETS1.0", "SMETS-1", "SMETS1 (enrolled)"])
def test_versions_naming_smets1_are_smets1(version: str) -> None:
    assert InventoryDevice(D, "ESME", version).is_smets1


@pytest.mark.parametrize("version", [None, "SMETS2", "SMETS2+", "smets 2", "SMETS10", "V4.2", "CHTS V1.2"])
def test_other_versions_are_not_smets1(version: str | None) -> None:
    assert not InventoryDevice(D, "ESME", version).is_smets1


def test_a_tracked_smets2_device_is_in_scope() -> None:
    assert scope_refusal(InventoryDevice(D, "HCALCS", "SMETS2"), ALL_TRACKED) is None


def test_a_type_outside_the_tracked_set_is_refused_naming_the_setting() -> None:
    reason = scope_refusal(InventoryDevice(D, "HCALCS", "SMETS2"), FIRST_RELEASE)
    assert reason == (
        f"device {D} is HCALCS in the device inventory, which is not tracked (FDTRACK_TRACKED_DEVICE_TYPES=ESME,GSME)"
    )


def test_a_smets1_device_is_refused() -> None:
    reason = scope_refusal(InventoryDevice(D, "ESME", "SMETS1"), ALL_TRACKED)
    assert (
        reason == f"device {D} is a SMETS1 device in the device inventory (SMETS1); only SMETS2 and later are tracked"
    )


@pytest.mark.parametrize("name", ["CHF", "GPF"])
def test_comms_hubs_are_never_tracked(name: str) -> None:
    reason = scope_refusal(InventoryDevice(D, name, "CHTS V1.2"), ALL_TRACKED)
    assert (
        reason == f"device {D} is {name} in the device inventory (a Communications Hub); Comms Hubs are never tracked"
    )


@pytest.mark.parametrize("name", ["IHD", "CAD"])
def test_type_2_devices_are_never_tracked(name: str) -> None:
    reason = scope_refusal(InventoryDevice(D, name), ALL_TRACKED)
    assert reason == f"device {D} is {name} in the device inventory (a Type 2 device), which is never tracked"
