"""The storage port implemented with SQLAlchemy Core, identically on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, bindparam, delete, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError

from fdtrack.adapters.db.engine import WRITE, make_engine
from fdtrack.adapters.db.migrate import upgrade
from fdtrack.adapters.db.schema import audit_log, distribution_records, rejected_events, status_events
from fdtrack.domain.derivation import CurrentStatus, EarliestValue, RecordState
from fdtrack.domain.device_types import DeviceType
from fdtrack.domain.events import TrackingEvent
from fdtrack.domain.identifiers import ServiceRequestId, parse_service_request_id
from fdtrack.domain.statuses import ProcessingStatus
from fdtrack.services.ports import (
    AuditEntry,
    NewRecord,
    RecordKey,
    Rejection,
    RetryBatch,
    StoredEvent,
    StoredRecord,
    StoredRejection,
)

_CHUNK = 2_000  # keys per IN (...) list: well inside SQLite's bound-parameter limit
_TRANSIENT_SQLSTATES = {"40P01", "40001", "55P03"}  # deadlock, serialisation failure, lock not available
_R = distribution_records
_E = status_events


class SqlStore:
    """Hands out read and write transactions on one engine; migrates the schema on opening."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**WRITE)

    @classmethod
    def open(cls, url: str) -> SqlStore:
        engine = make_engine(url)
        upgrade(engine)
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[SqlWriteTransaction]:
        try:
            with self._writer.begin() as connection:
                yield SqlWriteTransaction(connection)
        except OperationalError as error:
            if _is_transient(error):
                raise RetryBatch(str(error.orig)) from error
            raise

    @contextmanager
    def read(self) -> Iterator[SqlReadTransaction]:
        with self.engine.connect() as connection, connection.begin():
            yield SqlReadTransaction(connection)

    def dispose(self) -> None:
        self.engine.dispose()


def _is_transient(error: DBAPIError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate in _TRANSIENT_SQLSTATES or "database is locked" in str(error.orig)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _insert(connection: Connection, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on both dialects."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _state_columns(state: RecordState) -> dict[str, Any]:
    firmware, device_type = state.firmware_version, state.device_type
    return {
        "current_status": state.current.status.value,
        "current_reason": state.current.reason,
        "current_occurred_at": state.current.occurred_at,
        "current_event_id": state.current.event_id,
        "completion_status": state.completion.value,
        "started_at": state.started_at,
        "firmware_version": firmware.value if firmware else None,
        "firmware_version_at": firmware.occurred_at if firmware else None,
        "firmware_version_event_id": firmware.event_id if firmware else None,
        "device_type": device_type.value if device_type else None,
        "device_type_at": device_type.occurred_at if device_type else None,
        "device_type_event_id": device_type.event_id if device_type else None,
    }


def _record_from_row(row: Row[Any]) -> StoredRecord:
    firmware = (
        EarliestValue(row.firmware_version, row.firmware_version_at, row.firmware_version_event_id)
        if row.firmware_version is not None
        else None
    )
    device_type = (
        EarliestValue(row.device_type, row.device_type_at, row.device_type_event_id)
        if row.device_type is not None
        else None
    )
    state = RecordState(
        current=CurrentStatus(
            ProcessingStatus(row.current_status), row.current_reason, row.current_occurred_at, row.current_event_id
        ),
        started_at=row.started_at,
        firmware_version=firmware,
        device_type=device_type,
    )
    return StoredRecord(
        row.id, parse_service_request_id(row.service_request_id), row.device_id, state, row.last_received_at
    )


class SqlWriteTransaction:
    """Writes of one batch; on PostgreSQL the records it reads are locked until it commits."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._locking = connection.dialect.name == "postgresql"

    def stored_digests(self, event_ids: Collection[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for chunk in _chunks(sorted(event_ids)):
            query = select(_E.c.event_id, _E.c.content_digest).where(_E.c.event_id.in_(chunk))
            found.update({row.event_id: bytes(row.content_digest) for row in self.connection.execute(query)})
        return found

    def lock_records(self, keys: Collection[RecordKey]) -> dict[RecordKey, StoredRecord]:
        found: dict[RecordKey, StoredRecord] = {}
        for chunk in _chunks(sorted(keys)):
            query = select(_R).where(tuple_(_R.c.service_request_id, _R.c.device_id).in_(chunk)).order_by(_R.c.id)
            for row in self.connection.execute(self._for_update(query)):
                record = _record_from_row(row)
                found[record.key] = record
        return found

    def lock_device_records(self, device_ids: Collection[str]) -> list[StoredRecord]:
        records: list[StoredRecord] = []
        for chunk in _chunks(sorted(device_ids)):
            query = select(_R).where(_R.c.device_id.in_(chunk)).order_by(_R.c.id)
            records.extend(_record_from_row(row) for row in self.connection.execute(self._for_update(query)))
        return records

    def _for_update(self, query: Any) -> Any:
        return query.with_for_update() if self._locking else query

    def insert_records(self, records: Sequence[NewRecord]) -> dict[RecordKey, int]:
        if not records:
            return {}
        rows = [
            {
                "service_request_id": str(record.request_id),
                "device_id": record.device_id,
                "originator_user_id": record.request_id.originator,
                "last_received_at": record.last_received_at,
                **_state_columns(record.state),
            }
            for record in records
        ]
        statement = (
            _insert(self.connection, _R)
            .on_conflict_do_nothing(index_elements=["service_request_id", "device_id"])
            .returning(_R.c.id, _R.c.service_request_id, _R.c.device_id)
        )
        ids: dict[RecordKey, int] = {}
        for chunk in _chunks(rows):
            result = self.connection.execute(statement, list(chunk))
            ids.update({(row.service_request_id, row.device_id): row.id for row in result})
        if len(ids) != len(rows):
            raise RetryBatch("a record of this batch was created concurrently")
        return ids

    def insert_events(self, events: Sequence[tuple[int, TrackingEvent, bytes]], received_at: datetime) -> int:
        if not events:
            return 0
        rows = [
            {
                "event_id": event.event_id,
                "record_id": record_id,
                "status": event.status.value,
                "occurred_at": event.occurred_at,
                "received_at": received_at,
                "reason": event.reason,
                "firmware_version": event.firmware_version,
                "device_type": event.device_type.value if event.device_type else None,
                "content_digest": digest,
            }
            for record_id, event, digest in events
        ]
        statement = (
            _insert(self.connection, _E).on_conflict_do_nothing(index_elements=["event_id"]).returning(_E.c.event_id)
        )
        inserted = 0
        for chunk in _chunks(rows):
            inserted += len(self.connection.execute(statement, list(chunk)).all())
        return inserted

    def update_records(self, records: Sequence[StoredRecord]) -> None:
        if not records:
            return
        rows = [
            {"b_id": record.record_id, "last_received_at": record.last_received_at, **_state_columns(record.state)}
            for record in records
        ]
        statement = update(_R).where(_R.c.id == bindparam("b_id"))
        for chunk in _chunks(rows):
            self.connection.execute(statement, list(chunk))

    def add_rejections(self, rejections: Sequence[Rejection], received_at: datetime) -> None:
        if not rejections:
            return
        rows = {}
        for rejection in rejections:
            digest = hashlib.sha256(f"{rejection.raw}\x1f{rejection.reason}".encode()).digest()
            rows[digest] = {
                "source": rejection.source[:300],
                "format": rejection.format,
                "raw": rejection.raw,
                "reason": rejection.reason,
                "digest": digest,
                "first_received_at": received_at,
                "last_received_at": received_at,
                "resolved_at": None,
            }
        insert = _insert(self.connection, rejected_events)
        statement = insert.on_conflict_do_update(
            index_elements=["digest"],
            set_={"last_received_at": insert.excluded.last_received_at, "resolved_at": None},
        )
        for chunk in _chunks(list(rows.values())):
            self.connection.execute(statement, list(chunk))

    def resolve_rejections(self, rejection_ids: Collection[int], resolved_at: datetime) -> None:
        for chunk in _chunks(sorted(rejection_ids)):
            self.connection.execute(
                update(rejected_events).where(rejected_events.c.id.in_(chunk)).values(resolved_at=resolved_at)
            )

    def delete_expired(self, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` expired records with their events; small batches keep locks short."""
        ids = [
            row.id
            for row in self.connection.execute(
                select(_R.c.id).where(_R.c.last_received_at < cutoff).order_by(_R.c.id).limit(limit)
            )
        ]
        if ids:
            self.connection.execute(delete(_E).where(_E.c.record_id.in_(ids)))
            self.connection.execute(delete(_R).where(_R.c.id.in_(ids)))
        return len(ids)

    def append_audit(self, entry: AuditEntry, at: datetime) -> None:
        self.connection.execute(
            audit_log.insert().values(
                occurred_at=at,
                actor=entry.actor,
                action=entry.action,
                subject=entry.subject,
                detail=json.dumps(entry.detail, sort_keys=True, default=str),
            )
        )


class SqlReadTransaction:
    """Look-ups for the screens, the API and the command line."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def records_by_request(
        self,
        request_id: ServiceRequestId,
        originators: frozenset[str] | None,
        after_device_id: str | None,
        limit: int | None,
        completion: str | None = None,
    ) -> list[StoredRecord]:
        if originators is not None and request_id.originator not in originators:
            return []
        conditions = [_R.c.service_request_id == str(request_id)]
        if after_device_id is not None:
            conditions.append(_R.c.device_id > after_device_id)
        if completion is not None:
            conditions.append(_R.c.completion_status == completion)
        query = select(_R).where(and_(*conditions)).order_by(_R.c.device_id)
        if limit is not None:
            query = query.limit(limit)
        return [_record_from_row(row) for row in self.connection.execute(query)]

    def records_by_device(self, device_id: str, originators: frozenset[str] | None) -> list[StoredRecord]:
        query = select(_R).where(_R.c.device_id == device_id)
        if originators is not None:
            query = query.where(_R.c.originator_user_id.in_(sorted(originators)))
        query = query.order_by(_R.c.started_at.desc(), _R.c.service_request_id.desc())
        return [_record_from_row(row) for row in self.connection.execute(query)]

    def histories(self, record_ids: Collection[int]) -> dict[int, list[StoredEvent]]:
        histories: dict[int, list[StoredEvent]] = {record_id: [] for record_id in record_ids}
        requests = {
            row.id: parse_service_request_id(row.service_request_id)
            for chunk in _chunks(sorted(record_ids))
            for row in self.connection.execute(select(_R.c.id, _R.c.service_request_id).where(_R.c.id.in_(chunk)))
        }
        for chunk in _chunks(sorted(record_ids)):
            query = (
                select(_E, _R.c.device_id)
                .join(_R, _R.c.id == _E.c.record_id)
                .where(_E.c.record_id.in_(chunk))
                .order_by(_E.c.record_id, _E.c.occurred_at, _E.c.event_id)
            )
            for row in self.connection.execute(query):
                event = TrackingEvent(
                    event_id=row.event_id,
                    request_id=requests[row.record_id],
                    device_id=row.device_id,
                    status=ProcessingStatus(row.status),
                    occurred_at=row.occurred_at,
                    reason=row.reason,
                    firmware_version=row.firmware_version,
                    device_type=DeviceType(row.device_type) if row.device_type else None,
                )
                histories[row.record_id].append(StoredEvent(event, row.received_at))
        return histories

    def request_summary(
        self, request_id: ServiceRequestId, originators: frozenset[str] | None
    ) -> dict[tuple[str, str], int]:
        if originators is not None and request_id.originator not in originators:
            return {}
        query = (
            select(_R.c.completion_status, _R.c.current_status, func.count())
            .where(_R.c.service_request_id == str(request_id))
            .group_by(_R.c.completion_status, _R.c.current_status)
        )
        return {(row[0], row[1]): row[2] for row in self.connection.execute(query)}

    def request_firmware_versions(self, request_id: ServiceRequestId) -> dict[str | None, int]:
        query = (
            select(_R.c.firmware_version, func.count())
            .where(_R.c.service_request_id == str(request_id))
            .group_by(_R.c.firmware_version)
        )
        return {row[0]: row[1] for row in self.connection.execute(query)}

    def count_expired(self, cutoff: datetime) -> int:
        query = select(func.count()).select_from(_R).where(_R.c.last_received_at < cutoff)
        return int(self.connection.execute(query).scalar_one())

    def rejections(
        self, *, include_resolved: bool, limit: int | None, ids: Collection[int] | None
    ) -> list[StoredRejection]:
        query = select(rejected_events).order_by(rejected_events.c.id)
        if not include_resolved:
            query = query.where(rejected_events.c.resolved_at.is_(None))
        if ids is not None:
            query = query.where(rejected_events.c.id.in_(sorted(ids)))
        if limit is not None:
            query = query.limit(limit)
        return [_rejection_from_row(row) for row in self.connection.execute(query)]

    def iter_rejections(self, *, ids: Collection[int] | None) -> Iterator[StoredRejection]:
        """Unresolved rejections in id order, fetched page by page so memory stays flat."""
        after = 0
        while True:
            query = (
                select(rejected_events)
                .where(rejected_events.c.resolved_at.is_(None), rejected_events.c.id > after)
                .order_by(rejected_events.c.id)
                .limit(500)
            )
            if ids is not None:
                query = query.where(rejected_events.c.id.in_(sorted(ids)))
            page = [_rejection_from_row(row) for row in self.connection.execute(query)]
            if not page:
                return
            yield from page
            after = page[-1].rejection_id


def _rejection_from_row(row: Row[Any]) -> StoredRejection:
    return StoredRejection(
        rejection_id=row.id,
        rejection=Rejection(row.source, row.format, row.raw, row.reason),
        first_received_at=row.first_received_at,
        last_received_at=row.last_received_at,
        resolved_at=row.resolved_at,
    )
