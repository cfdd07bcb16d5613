"""Device inventories for tests: CSV text, and DUIS SR 8.2 Read Inventory responses as the DSP sends them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from duis_messages import DCC, USER

CSV_HEADER = "Device ID,Device Type,SMETS/CHTS Version,Device Model"
_OPEN_RESPONSE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">\n'
)


@dataclass(frozen=True)
class Device:
    """One device of an inventory."""

    device_id: str
    device_type: str
    version: str | None = "SMETS2"
    model: str = "Aurora E2"
    manufacturer: str = "Aurora Meters"
    status: str = "Commissioned"


def inventory_csv(devices: Sequence[Device]) -> str:
    rows = [CSV_HEADER] + [f"{d.device_id},{d.device_type},{d.version or ''},{d.model}" for d in devices]
    return "\n".join(rows) + "\n"


def read_inventory_response(counter: int, devices: Sequence[Device], at: str = "2026-12-01T09:00:00Z") -> str:
    """The DSP's response to an SR 8.2 Read Inventory: a DSPInventory of up to 17 Device elements."""
    entries = "".join(_device(device) for device in devices)
    return (
        _OPEN_RESPONSE + "  <sr:Header>\n"
        f"    <sr:RequestID>{USER}:{DCC}:{counter}</sr:RequestID>\n"
        f"    <sr:ResponseID>{DCC}:{USER}:{counter}</sr:ResponseID>\n"
        "    <sr:ResponseCode>I0</sr:ResponseCode>\n"
        f"    <sr:ResponseDateTime>{at}</sr:ResponseDateTime>\n"
        "  </sr:Header>\n"
        "  <sr:Body>\n    <sr:ResponseMessage>\n"
        "      <sr:ServiceReference>8.2</sr:ServiceReference>\n"
        "      <sr:ServiceReferenceVariant>8.2</sr:ServiceReferenceVariant>\n"
        f"      <sr:DSPInventory>\n{entries}      </sr:DSPInventory>\n"
        "    </sr:ResponseMessage>\n  </sr:Body>\n</sr:Response>\n"
    )


def _device(device: Device) -> str:
    version = f"          <sr:SMETSCHTSVersion>{device.version}</sr:SMETSCHTSVersion>\n" if device.version else ""
    return (
        "        <sr:Device>\n"
        f"          <sr:DeviceID>{device.device_id}</sr:DeviceID>\n"
        f"          <sr:DeviceType>{device.device_type}</sr:DeviceType>\n"
        f"          <sr:DeviceStatus>{device.status}</sr:DeviceStatus>\n"
        f"          <sr:DeviceManufacturer>{device.manufacturer}</sr:DeviceManufacturer>\n"
        f"          <sr:DeviceModel>{device.model}</sr:DeviceModel>\n"
        f"{version}"
        "          <sr:DeviceFirmwareVersion>0A0B0C0D</sr:DeviceFirmwareVersion>\n"
        "        </sr:Device>\n"
    )
