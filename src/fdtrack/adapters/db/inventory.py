"""The device inventory table: entries read by Device ID, a batch at a time, and imported (last import wins)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from fdtrack.adapters.db.schema import device_inventory
from fdtrack.domain.inventory import SMETS1_LIKE, VERSION_SEPARATORS, InventoryDevice
from fdtrack.domain.text import storable

_CHUNK = 2_000  # Device IDs per IN (...) list on SQLite: well inside its bound-parameter limit
_SELECT = "SELECT device_id, device_type, smets_chts_version, device_model FROM device_inventory WHERE device_id"
# The version upper-cased and rid of its separators, as domain.inventory compares it with SMETS1_LIKE.
_VERSION = "upper(smets_chts_version)"
for _separator in VERSION_SEPARATORS:
    _VERSION = f"replace({_VERSION}, '{_separator}', '')"


def inventory_devices(connection: Connection, device_ids: Collection[str]) -> dict[str, InventoryDevice]:
    """The entries of those devices the inventory knows: one statement on PostgreSQL (an array of the
    Device IDs, however many), one per 2,000 devices on SQLite."""
    wanted = sorted(set(device_ids))
    if not wanted:
        return {}
    if connection.dialect.name == "postgresql":
        return _entries(connection.exec_driver_sql(f"{_SELECT} = ANY(%b::text[])", (wanted,)))
    found: dict[str, InventoryDevice] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        found.update(
            _entries(connection.exec_driver_sql(f"{_SELECT} IN ({', '.join('?' * len(chunk))})", tuple(chunk)))
        )
    return found


def inventory_out_of_scope(
    connection: Connection, device_ids: Collection[str], tracked: Collection[str]
) -> dict[str, InventoryDevice]:
    """The entries of those devices that may be out of scope (see the port): the database filters, so
    entries in scope cost an index probe and are never sent, decoded or judged one by one."""
    wanted = sorted(set(device_ids))
    if not wanted:
        return {}
    types = sorted(tracked)
    if connection.dialect.name == "postgresql":
        sql = f"{_SELECT} = ANY(%b::text[]) AND (device_type <> ALL(%b::text[]) OR {_VERSION} LIKE %s)"
        return _entries(connection.exec_driver_sql(sql, (wanted, types, SMETS1_LIKE)))
    found: dict[str, InventoryDevice] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        sql = (
            f"{_SELECT} IN ({', '.join('?' * len(chunk))}) "
            f"AND (device_type NOT IN ({', '.join('?' * len(types))}) OR {_VERSION} LIKE ?)"
        )
        found.update(_entries(connection.exec_driver_sql(sql, (*chunk, *types, SMETS1_LIKE))))
    return found


def lean_inventory_devices(cursor: Any, sqlite_marks: bool, device_ids: Collection[str]) -> dict[str, InventoryDevice]:
    """The same on a raw DB-API cursor (the lean device look-up of lean_reads.py), for a handful of devices."""
    wanted = sorted(set(device_ids))
    if not wanted:
        return {}
    if sqlite_marks:
        cursor.execute(f"{_SELECT} IN ({', '.join('?' * len(wanted))})", tuple(wanted))
    else:
        cursor.execute(f"{_SELECT} = ANY(%s)", (wanted,))
    return _entries(cursor.fetchall())


def import_devices(
    connection: Connection, devices: Sequence[tuple[InventoryDevice, str]], imported_at: datetime
) -> None:
    """Add or replace entries; of one Device ID given twice the later wins, as a later import does."""
    latest = {device.device_id: (device, source) for device, source in devices}
    rows = [
        {
            "device_id": device.device_id,
            "device_type": device.device_type,
            "smets_chts_version": device.smets_chts_version,
            "device_model": device.device_model,
            "imported_at": imported_at,
            "source": storable(source[:300]),
        }
        for _, (device, source) in sorted(latest.items())  # in key order, so concurrent imports take row locks alike
    ]
    if not rows:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(device_inventory)
    replaced = ("device_type", "smets_chts_version", "device_model", "imported_at", "source")
    statement = insert.on_conflict_do_update(
        index_elements=["device_id"], set_={column: insert.excluded[column] for column in replaced}
    )
    for start in range(0, len(rows), _CHUNK):
        connection.execute(statement, rows[start : start + _CHUNK])


def _entries(rows: Iterable[Sequence[Any]]) -> dict[str, InventoryDevice]:
    return {row[0]: InventoryDevice(row[0], row[1], row[2], row[3]) for row in rows}
