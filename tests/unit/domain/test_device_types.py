"""Device types in scope (SPEC §3): the four tracked types, the excluded ones and the configured set."""

from __future__ import annotations

import pytest

from fdtrack.domain.device_types import ALL_TRACKED, DeviceType, parse_device_type, parse_tracked_set
from fdtrack.domain.errors import InvalidInput

FIRST_RELEASE = frozenset({DeviceType.ESME, DeviceType.GSME})


def test_the_tracked_types_are_esme_gsme_ppmid_and_hcalcs() -> None:
    assert {device_type.value for device_type in ALL_TRACKED} == {"ESME", "GSME", "PPMID", "HCALCS"}


@pytest.mark.parametrize("name", ["ESME", "GSME", "PPMID", "HCALCS"])
def test_each_tracked_type_is_accepted_by_default(name: str) -> None:
    assert parse_device_type(name, ALL_TRACKED) is DeviceType(name)


@pytest.mark.parametrize("name", ["CHF", "GPF", "IHD", "CAD"])
def test_comms_hubs_and_type_2_devices_are_refused_as_not_tracked(name: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_device_type(name, ALL_TRACKED)
    assert raised.value.field == "device_type"
    assert name in raised.value.problem
    assert "not tracked" in raised.value.problem


@pytest.mark.parametrize("name", ["PPMID", "HCALCS"])
def test_a_type_outside_the_configured_set_is_refused_as_not_tracked(name: str) -> None:
    with pytest.raises(InvalidInput, match="not tracked"):
        parse_device_type(name, FIRST_RELEASE)


def test_a_type_inside_a_restricted_set_is_still_accepted() -> None:
    assert parse_device_type("GSME", FIRST_RELEASE) is DeviceType.GSME


@pytest.mark.parametrize("value", ["SMETS2", "ESMEX", "", "ELECTRICITY"])
def test_an_unknown_type_is_refused_with_the_list_of_types(value: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_device_type(value, ALL_TRACKED)
    assert raised.value.field == "device_type"
    assert "ESME, GSME, PPMID, HCALCS" in raised.value.problem


@pytest.mark.parametrize("value", [None, 1, ["ESME"]])
def test_a_non_text_type_is_invalid_input(value: object) -> None:
    with pytest.raises(InvalidInput):
        parse_device_type(value, ALL_TRACKED)


def test_the_tracked_set_setting_lists_types_separated_by_commas() -> None:
    assert parse_tracked_set("ESME,GSME") == FIRST_RELEASE
    assert parse_tracked_set(" esme , gsme ,") == FIRST_RELEASE
    assert parse_tracked_set("ESME,GSME,PPMID,HCALCS") == ALL_TRACKED


@pytest.mark.parametrize("text", ["", " , ", "ESME,CHF", "ESME,IHD", "ESME,WATER"])
def test_the_tracked_set_is_limited_to_the_four_types(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_tracked_set(text)
    assert raised.value.field == "FDTRACK_TRACKED_DEVICE_TYPES"
