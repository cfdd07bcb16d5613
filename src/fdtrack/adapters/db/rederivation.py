"""Recompute every stored record state from its stored events, batch by batch, under today's rule."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from fdtrack.adapters.db.partitions import PARTITIONED_TABLES, partition_days, partition_name
from fdtrack.adapters.db.schema import distribution_records, status_events
from fdtrack.domain.derivation import RecordState, derive_state
from fdtrack.domain.device_types import DeviceType
from fdtrack.domain.events import TrackingEvent
from fdtrack.domain.identifiers import ServiceRequestId
from fdtrack.domain.statuses import ProcessingStatus

BATCH_SIZE = 2_000  # records per round: their events fit in memory and in one IN (...) list


def rederive_stored_states(connection: Connection, batch_size: int = BATCH_SIZE) -> int:
    """Give every record the state `derive_state` gives its stored events; how many records were
    rewritten. Runs in the caller's transaction (a migration's), one partition at a time on
    PostgreSQL, so each statement touches one day's tables and their own indexes."""
    rewritten = 0
    for records, events in _tracking_tables(connection):
        after = -1
        while True:
            batch = connection.execute(
                sa.select(records.c.id, records.c.service_request_id, records.c.device_id)
                .where(records.c.id > after)
                .order_by(records.c.id)
                .limit(batch_size)
            ).all()
            if not batch:
                break
            after = batch[-1].id
            states = _derive(connection, events, {row.id: (row.service_request_id, row.device_id) for row in batch})
            if states:
                connection.execute(
                    sa.update(records).where(records.c.id == sa.bindparam("record_id")),
                    [_state_values(record_id, state) for record_id, state in states.items()],
                )
            rewritten += len(states)
    return rewritten


def _tracking_tables(connection: Connection) -> Iterator[tuple[sa.TableClause, sa.TableClause]]:
    """The records and events tables to walk: each day's partitions on PostgreSQL, else the tables."""
    if connection.dialect.name != "postgresql":
        yield _records_table("distribution_records"), _events_table("status_events")
        return
    for day in sorted(partition_days(connection)):
        records, events = (partition_name(table, day) for table in PARTITIONED_TABLES)
        yield _records_table(records), _events_table(events)


def _records_table(name: str) -> sa.TableClause:
    return _named_like(distribution_records, name)


def _events_table(name: str) -> sa.TableClause:
    return _named_like(status_events, name)


def _named_like(table: sa.Table, name: str) -> sa.TableClause:
    """`table`'s columns and types (times as aware UTC on both databases) under another name: a partition."""
    return sa.table(name, *(sa.column(column.name, column.type) for column in table.c))


def _derive(connection: Connection, events: sa.TableClause, keys: dict[int, tuple[str, str]]) -> dict[int, RecordState]:
    """The state of each of these records from its events; a record with none is left as it is."""
    histories: dict[int, list[TrackingEvent]] = {}
    rows = connection.execute(
        sa.select(
            events.c.record_id,
            events.c.event_id,
            events.c.status,
            events.c.occurred_at,
            events.c.reason,
            events.c.firmware_version,
            events.c.device_type,
        ).where(events.c.record_id.in_(list(keys)))
    )
    requests: dict[str, ServiceRequestId] = {}
    for row in rows:
        request_text, device_id = keys[row.record_id]
        if (request_id := requests.get(request_text)) is None:
            request_id = requests[request_text] = ServiceRequestId.from_canonical(request_text)
        histories.setdefault(row.record_id, []).append(
            TrackingEvent(
                event_id=row.event_id,
                request_id=request_id,
                device_id=device_id,
                status=ProcessingStatus(row.status),
                occurred_at=row.occurred_at,
                reason=row.reason,
                firmware_version=row.firmware_version,
                device_type=DeviceType(row.device_type) if row.device_type else None,
            )
        )
    return {record_id: derive_state(history) for record_id, history in histories.items()}


def _state_values(record_id: int, state: RecordState) -> dict[str, Any]:
    firmware, device_type = state.firmware_version, state.device_type
    return {
        "record_id": record_id,
        "current_rank": state.current.rank_text,
        "current_status": state.current.status.value,
        "current_reason": state.current.reason,
        "current_occurred_at": state.current.occurred_at,
        "completion_status": state.completion.value,
        "started_at": state.started_at,
        "firmware_version": firmware.value if firmware else None,
        "firmware_version_rank": firmware.rank_text if firmware else None,
        "device_type": device_type.value if device_type else None,
        "device_type_rank": device_type.rank_text if device_type else None,
    }
