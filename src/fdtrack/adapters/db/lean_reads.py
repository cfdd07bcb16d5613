"""A device's records and their histories read on the driver's own connection: the API's most frequent question.

The general read transaction (store.py) builds each statement with SQLAlchemy's expression language
and a pooled `Connection`, which together cost several times the index probes themselves (about
0.6 ms for a device and its history). Here the same queries are SQL text built once, run on a raw
pooled DB-API connection, and the rows are decoded by the store's own decoder, so the answers are
the same to the byte (tests/integration/test_lean_reads.py compares the two) for a fraction of the work.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine

from fdtrack.adapters.db.store import _RECORD_COLUMNS, _Codec, _record_from_values
from fdtrack.domain.device_types import DeviceType
from fdtrack.domain.events import TrackingEvent
from fdtrack.domain.identifiers import ServiceRequestId
from fdtrack.domain.statuses import ProcessingStatus
from fdtrack.services.ports import StoredEvent, StoredRecord

_CHUNK = 500  # record ids per IN (...) list


class LeanLookupStore:
    """Device look-ups on lean SQL over the same engine (and so the same database) as the tracking store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._statements = _Statements(_Codec(engine.dialect.name))

    @contextmanager
    def read(self) -> Iterator[LeanReadTransaction]:
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            # One snapshot for the records and their histories. SQLite runs with autocommit at the
            # driver (engine.py) so it needs an explicit BEGIN; psycopg opens a transaction by itself.
            if self._statements.codec.sqlite:
                cursor.execute("BEGIN")
            yield LeanReadTransaction(cursor, self._statements)
        finally:
            connection.rollback()  # read only: ending the transaction is all that is left to do
            connection.close()  # back to the pool


class _Statements:
    """SQL text per shape (how many User IDs limit the look-up, how many records' histories are read)."""

    def __init__(self, codec: _Codec) -> None:
        self.codec = codec
        self._by_device: dict[int | None, str] = {}
        self._histories: dict[int, str] = {}
        self._keys: dict[int, str] = {}

    def by_device(self, originators: int | None) -> str:
        sql = self._by_device.get(originators)
        if sql is None:
            visible = "" if originators is None else f" AND originator_user_id IN ({self.codec.marks(originators)})"
            sql = (
                f"SELECT {', '.join(_RECORD_COLUMNS)} FROM distribution_records "
                f"WHERE device_id = {self.codec.mark}{visible} ORDER BY started_at DESC, service_request_id DESC"
            )
            self._by_device[originators] = sql
        return sql

    def histories(self, records: int) -> str:
        sql = self._histories.get(records)
        if sql is None:
            sql = (
                "SELECT record_id, event_id, status, occurred_at, received_at, reason, firmware_version, device_type "
                f"FROM status_events WHERE record_id IN ({self.codec.marks(records)}) "
                "ORDER BY record_id, occurred_at, event_id"
            )
            self._histories[records] = sql
        return sql

    def record_keys(self, records: int) -> str:
        sql = self._keys.get(records)
        if sql is None:
            sql = (
                "SELECT id, service_request_id, device_id FROM distribution_records "
                f"WHERE id IN ({self.codec.marks(records)})"
            )
            self._keys[records] = sql
        return sql


class LeanReadTransaction:
    """The reads of `lookup.records_by_device`, with the general read transaction's answers."""

    def __init__(self, cursor: Any, statements: _Statements) -> None:
        self._cursor = cursor
        self._statements = statements
        self._codec = statements.codec
        self._keys: dict[int, tuple[ServiceRequestId, str]] = {}

    def _rows(self, sql: str, parameters: Sequence[object]) -> list[Any]:
        self._cursor.execute(sql, tuple(parameters))
        return list(self._cursor.fetchall())

    def records_by_device(self, device_id: str, originators: frozenset[str] | None) -> list[StoredRecord]:
        parameters = (device_id,) if originators is None else (device_id, *sorted(originators))
        sql = self._statements.by_device(None if originators is None else len(originators))
        records = [_record_from_values(self._codec, row) for row in self._rows(sql, parameters)]
        self._keys.update({record.record_id: (record.request_id, record.device_id) for record in records})
        return records

    def histories(self, record_ids: Collection[int]) -> dict[int, list[StoredEvent]]:
        wanted = sorted(set(record_ids))
        self._learn_keys([record_id for record_id in wanted if record_id not in self._keys])
        histories: dict[int, list[StoredEvent]] = {record_id: [] for record_id in wanted}
        moment = self._codec.read_moment
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            rows = self._rows(self._statements.histories(len(chunk)), chunk)
            for record_id, event_id, status, occurred_at, received_at, reason, firmware, device_type in rows:
                request_id, device_id = self._keys[record_id]
                event = TrackingEvent(
                    event_id=event_id,
                    request_id=request_id,
                    device_id=device_id,
                    status=ProcessingStatus(status),
                    occurred_at=moment(occurred_at),
                    reason=reason,
                    firmware_version=firmware,
                    device_type=DeviceType(device_type) if device_type else None,
                )
                histories[record_id].append(StoredEvent(event, moment(received_at)))
        return histories

    def _learn_keys(self, record_ids: list[int]) -> None:
        """Histories of records not read through this transaction: their request and device first."""
        for start in range(0, len(record_ids), _CHUNK):
            chunk = record_ids[start : start + _CHUNK]
            for record_id, request_id, device_id in self._rows(self._statements.record_keys(len(chunk)), chunk):
                self._keys[record_id] = (ServiceRequestId.from_canonical(request_id), device_id)
