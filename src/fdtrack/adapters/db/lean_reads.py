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
from datetime import date
from typing import Any

from sqlalchemy import Engine

from fdtrack.adapters.db.engine import statement_reads
from fdtrack.adapters.db.inventory import lean_inventory_devices
from fdtrack.adapters.db.store import (
    _DEVICE_DAYS,
    _RECORD_COLUMNS,
    _Codec,
    _days_of,
    _record_and_day,
    _record_from_values,
)
from fdtrack.domain.inventory import InventoryDevice
from fdtrack.domain.statuses import ProcessingStatus
from fdtrack.services.ports import HistoryEntry, StoredRecord

_CHUNK = 500  # record ids per IN (...) list


class LeanLookupStore:
    """Device look-ups on lean SQL over the same engine (and so the same database) as the tracking store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._statements = _Statements(_Codec(engine.dialect.name))

    @contextmanager
    def read(self) -> Iterator[LeanReadTransaction]:
        with statement_reads(self.engine) as connection:
            cursor = connection.cursor()
            if not self._statements.codec.sqlite:
                # PostgreSQL, READ COMMITTED: each statement sees what was committed when it began, with
                # or without a transaction around them, so none is opened (see statement_reads).
                yield LeanReadTransaction(cursor, self._statements)
                return
            # SQLite: one snapshot for the records and their histories.
            cursor.execute("BEGIN")
            try:
                yield LeanReadTransaction(cursor, self._statements)
            finally:
                connection.rollback()  # read only: ending the transaction is all that is left to do


class _Statements:
    """SQL text per shape (how many User IDs limit the look-up, how many records' histories are read)."""

    def __init__(self, codec: _Codec) -> None:
        self.codec = codec
        self._by_device: dict[int | None, str] = {}
        self._entries: dict[tuple[int, bool], str] = {}

    def by_device(self, originators: int | None) -> str:
        sql = self._by_device.get(originators)
        if sql is None:
            visible = "" if originators is None else f" AND originator_user_id IN ({self.codec.marks(originators)})"
            columns = _RECORD_COLUMNS if self.codec.sqlite else (*_RECORD_COLUMNS, "bucket_day")
            # PostgreSQL: the device's partitions named (device_buckets), so only those are planned.
            in_buckets = "" if self.codec.sqlite else " AND bucket_day = ANY(%s)"
            sql = (
                f"SELECT {', '.join(columns)} FROM distribution_records WHERE device_id = {self.codec.mark}"
                f"{in_buckets}{visible} ORDER BY started_at DESC, service_request_id DESC"
            )
            self._by_device[originators] = sql
        return sql

    def history_entries(self, records: int, in_buckets: bool) -> str:
        """`in_buckets`: the records' partitions named (PostgreSQL), so the statement is planned over
        those alone rather than every day's."""
        sql = self._entries.get((records, in_buckets))
        if sql is None:
            bucket_condition = " AND bucket_day = ANY(%s)" if in_buckets else ""
            sql = (
                "SELECT record_id, status, reason, occurred_at, received_at "
                f"FROM status_events WHERE record_id IN ({self.codec.marks(records)}){bucket_condition} "
                "ORDER BY record_id, occurred_at, event_id"
            )
            self._entries[(records, in_buckets)] = sql
        return sql


class LeanReadTransaction:
    """The reads of `lookup.records_by_device`, with the general read transaction's answers."""

    def __init__(self, cursor: Any, statements: _Statements) -> None:
        self._cursor = cursor
        self._statements = statements
        self._codec = statements.codec
        self._buckets: dict[int, date] = {}  # partition day of each record read (PostgreSQL)

    def _rows(self, sql: str, parameters: Sequence[object]) -> list[Any]:
        self._cursor.execute(sql, tuple(parameters))
        return list(self._cursor.fetchall())

    def records_by_device(self, device_id: str, originators: frozenset[str] | None) -> list[StoredRecord]:
        visible = () if originators is None else tuple(sorted(originators))
        sql = self._statements.by_device(None if originators is None else len(originators))
        if self._codec.sqlite:
            return [_record_from_values(self._codec, row) for row in self._rows(sql, (device_id, *visible))]
        # No shortcut when the device has no days: a device only other parties have must cost the same
        # statements as one nobody has (§7), or the time taken would tell them apart.
        days = [day for (day,) in self._rows(_DEVICE_DAYS, (device_id,))]
        records = []
        for row in self._rows(sql, (device_id, days, *visible)):
            record, day = _record_and_day(self._codec, row)
            self._buckets[record.record_id] = day
            records.append(record)
        return records

    def history_entries(self, record_ids: Collection[int]) -> dict[int, list[HistoryEntry]]:
        wanted = sorted(set(record_ids))
        entries: dict[int, list[HistoryEntry]] = {record_id: [] for record_id in wanted}
        moment = self._codec.read_moment
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            days = None if self._codec.sqlite else _days_of(self._buckets, chunk)
            parameters = list(chunk) if days is None else [*chunk, days]
            for record_id, status, reason, occurred_at, received_at in self._rows(
                self._statements.history_entries(len(chunk), days is not None), parameters
            ):
                entries[record_id].append(
                    HistoryEntry(ProcessingStatus(status), reason, moment(occurred_at), moment(received_at))
                )
        return entries

    def inventory_devices(self, device_ids: Collection[str]) -> dict[str, InventoryDevice]:
        return lean_inventory_devices(self._cursor, self._codec.sqlite, device_ids)
