"""The device inventory table: entries read by Device ID, a batch at a time, and imported (last import wins)."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from fdtrack.adapters.db.schema import device_inventory
from fdtrack.domain.inventory import SMETS1_LIKE, VERSION_SEPARATORS, InventoryDevice
from fdtrack.domain.text import storable

_IMPORT_CHUNK = 2_000  # entries per executemany of the import

_SELECT = "SELECT device_id, device_type, smets_chts_version, device_model FROM device_inventory WHERE device_id"
# The version upper-cased and rid of its separators, as domain.inventory compares it with SMETS1_LIKE.
_VERSION = "upper(smets_chts_version)"
for _separator in VERSION_SEPARATORS:
    _VERSION = f"replace({_VERSION}, '{_separator}', '')"
# A list of values as one parameter, so that a batch of any size is one statement: an array on
# PostgreSQL; a JSON array on SQLite, unpacked by json_each in C rather than bound value by value.
_ONE_OF = {"postgresql": "= ANY(%b::text[])", "sqlite": "IN (SELECT value FROM json_each(?))"}
_NONE_OF = {"postgresql": "<> ALL(%b::text[])", "sqlite": "NOT IN (SELECT value FROM json_each(?))"}
_LIKE = {"postgresql": "LIKE %s", "sqlite": "LIKE ?"}


def inventory_devices(connection: Connection, device_ids: Collection[str]) -> dict[str, InventoryDevice]:
    """The entries of those devices the inventory knows, in one statement."""
    if not device_ids:
        return {}
    dialect = connection.dialect.name
    sql = f"{_SELECT} {_ONE_OF[dialect]}"
    return _entries(connection.exec_driver_sql(sql, (_values(dialect, device_ids),)))


def inventory_out_of_scope(
    connection: Connection, device_ids: Collection[str], tracked: Collection[str]
) -> dict[str, InventoryDevice]:
    """The entries of those devices that may be out of scope (see the port), in one statement: the
    database filters, so entries in scope cost an index probe and are never sent, decoded or judged."""
    if not device_ids:
        return {}
    dialect = connection.dialect.name
    sql = f"{_SELECT} {_ONE_OF[dialect]} AND (device_type {_NONE_OF[dialect]} OR {_VERSION} {_LIKE[dialect]})"
    parameters = (_values(dialect, device_ids), _values(dialect, tracked), SMETS1_LIKE)
    return _entries(connection.exec_driver_sql(sql, parameters))


def lean_inventory_devices(cursor: Any, sqlite_marks: bool, device_ids: Collection[str]) -> dict[str, InventoryDevice]:
    """The same as inventory_devices on a raw DB-API cursor (the lean device look-up of lean_reads.py)."""
    if not device_ids:
        return {}
    if sqlite_marks:
        cursor.execute(f"{_SELECT} {_ONE_OF['sqlite']}", (_values("sqlite", device_ids),))
    else:
        cursor.execute(f"{_SELECT} = ANY(%s)", (list(device_ids),))
    return _entries(cursor.fetchall())


def _values(dialect: str, values: Collection[str]) -> object:
    return list(values) if dialect == "postgresql" else json.dumps(list(values))


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
    for start in range(0, len(rows), _IMPORT_CHUNK):
        connection.execute(statement, rows[start : start + _IMPORT_CHUNK])


def _entries(rows: Iterable[Sequence[Any]]) -> dict[str, InventoryDevice]:
    return {row[0]: InventoryDevice(row[0], row[1], row[2], row[3]) for row in rows}
