"""The storage port implemented with SQLAlchemy Core, identically on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, Row, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from fdtrack.adapters.db.engine import WRITE, autocommit, make_engine
from fdtrack.adapters.db.firmware_requests import SqlFirmwareRequestRegistry
from fdtrack.adapters.db.inventory import import_devices, inventory_devices, inventory_out_of_scope
from fdtrack.adapters.db.migrate import upgrade
from fdtrack.adapters.db.partitions import (
    DROP_LOCK,
    PARTITIONED_TABLES,
    create_partitions,
    days_around,
    drop_partition,
    partition_days,
    partition_name,
)
from fdtrack.adapters.db.schema import (
    audit_log,
    distribution_records,
    rejected_events,
    request_buckets,
    status_events,
)
from fdtrack.adapters.db.statistics import (
    BULK_LOAD_GROWTH,
    DOUBLING_GROWTH,
    BackgroundAnalysis,
    WrittenPartitions,
)
from fdtrack.domain.derivation import CurrentStatus, EarliestValue, RecordState
from fdtrack.domain.device_types import DeviceType
from fdtrack.domain.events import TrackingEvent
from fdtrack.domain.identifiers import ServiceRequestId
from fdtrack.domain.inventory import InventoryDevice
from fdtrack.domain.statuses import ProcessingStatus
from fdtrack.domain.text import storable
from fdtrack.services.ports import (
    WHOLE,
    AuditEntry,
    HistoryEntry,
    RecordDelta,
    RecordKey,
    Rejection,
    RetryBatch,
    Share,
    StoredEvent,
    StoredRecord,
    StoredRejection,
)

_CHUNK = 2_000  # keys per IN (...) list: well inside SQLite's bound-parameter limit
_TRANSIENT_SQLSTATES = {"40P01", "40001", "55P03"}  # deadlock, serialisation failure, lock not available
_NO_PARTITION = "23514"  # check_violation: raised for a row whose day has no partition (any more)
_UNDEFINED_TABLE = "42P01"  # a partition another process's purge dropped
_R = distribution_records
log = logging.getLogger("fdtrack.store")
_E = status_events
_B = request_buckets


class SqlStore:
    """Hands out read and write transactions on one engine; migrates the schema on opening."""

    def __init__(self, engine: Engine, read_engine: Engine | None = None) -> None:
        self.engine = engine
        # Look-ups may go to a read replica; writes, and the reads a write depends on, never do.
        self.read_engine = read_engine or engine
        self._writer = engine.execution_options(**WRITE)
        self._partitioned = engine.dialect.name == "postgresql"
        self._partition_days: set[date] = set()  # known to exist; refreshed from the database on a miss
        self._written = WrittenPartitions()
        self._statistics = BackgroundAnalysis(self._analyse_or_warn)

    @classmethod
    def open(cls, url: str, read_url: str | None = None) -> SqlStore:
        """The store at `url`, migrated; look-ups read from `read_url` (a replica of it) if given."""
        engine = make_engine(url)
        upgrade(engine)
        return cls(engine, make_engine(read_url) if read_url else None)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def writes_side_by_side(self) -> bool:
        return self.dialect != "sqlite"

    @property
    def reads_from_any_thread(self) -> bool:
        return self.dialect != "sqlite" or self.engine.url.database not in (None, "", ":memory:")

    @property
    def firmware_requests(self) -> SqlFirmwareRequestRegistry:
        """DUIS Update Firmware requests kept beside the records; purged with them (SPEC §6)."""
        return SqlFirmwareRequestRegistry(self.engine)

    @contextmanager
    def write(self) -> Iterator[SqlWriteTransaction]:
        try:
            with self._writer.begin() as connection:
                yield SqlWriteTransaction(connection, self._ensure_partition, self._written)
        except (OperationalError, psycopg.OperationalError) as error:
            # The driver's own errors too: the bulk statements run on its cursor (see _driver_cursor).
            cause = getattr(error, "orig", error)
            if _is_transient(cause):
                raise RetryBatch(str(cause)) from error
            raise
        except (IntegrityError, psycopg.IntegrityError) as error:
            cause = getattr(error, "orig", error)
            if getattr(cause, "sqlstate", None) == _NO_PARTITION:
                # A partition this process believed in was dropped by another one's purge.
                self._partition_days.clear()
                raise RetryBatch(str(cause)) from error
            raise
        self._analyse_due_partitions()

    def _analyse_due_partitions(self) -> None:
        """ANALYZE the partitions whose events have doubled since their last statistics, after the
        batch committed and in the background (statistics are not part of the batch)."""
        days = [day for day in self._written.due() if day in self._partition_days]
        if days:
            self._statistics.submit(days)

    def _analyse_or_warn(self, days: list[date]) -> None:
        try:
            self._analyse(days, growth=DOUBLING_GROWTH)
        except DBAPIError as error:
            # The batch is stored whatever happens here; the statistics are taken at the next doubling.
            log.warning("statistics of %s not refreshed: %s", ", ".join(map(str, days)), error.orig)

    def wait_for_statistics(self) -> None:
        """Return once the analyses that writes so far made due have run."""
        self._statistics.wait()

    def _analyse(self, days: Sequence[date], *tables: str, growth: float) -> None:
        """ANALYZE those of the days' partitions and the other `tables` that have no statistics yet or
        have grown by `growth` times since theirs were taken: a count of this process's writes is
        only a hint, since other processes write too and a day's partition may have been full long
        before this process began. Growth is read from the size on disk, which every write moves at
        once, where PostgreSQL's activity counters would lag behind."""
        names = [*tables, *(partition_name(table, day) for day in days for table in PARTITIONED_TABLES)]
        with self.engine.connect() as connection:
            stale = [
                name
                for (name,) in connection.exec_driver_sql(
                    "SELECT name FROM unnest(%s::text[]) AS name JOIN pg_class c ON c.oid = to_regclass(name) "
                    "WHERE c.reltuples < 0 "
                    "OR pg_relation_size(c.oid) >= %s * c.relpages * current_setting('block_size')::int",
                    (names, growth),
                )
            ]
            if not stale:
                connection.rollback()
                return
            try:
                connection.exec_driver_sql(f"ANALYZE {', '.join(stale)}")
                connection.commit()
            except ProgrammingError as error:
                if getattr(error.orig, "sqlstate", None) != _UNDEFINED_TABLE:
                    raise
                # Another process's purge dropped one of these partitions meanwhile: nothing to plan there.
                connection.rollback()

    def _ensure_partition(self, day: date) -> None:
        """Create the day's partition if it is missing, in a short transaction of its own (the
        batch's transaction must not hold the lock that creating one takes)."""
        if not self._partitioned or day in self._partition_days:
            return
        with self.engine.begin() as connection:
            create_partitions(connection, [day])
            self._partition_days = partition_days(connection)

    def prepare_storage(self, today: date) -> None:
        """Partitions for today and the next days, made before ingestion needs them."""
        if not self._partitioned:
            return
        with self.engine.begin() as connection:
            create_partitions(connection, days_around(today))
            self._partition_days = partition_days(connection)

    def drop_expired_storage(self, cutoff: datetime) -> int:
        """Drop each day's partitions whose every record has expired; how many records went.

        The day's requests are locked first, so no batch can add to the partition meanwhile; once
        their buckets are gone, any later event for them starts a bucket in a current partition."""
        if not self._partitioned:
            return 0
        cutoff_day = cutoff.astimezone(UTC).date()
        with self.engine.connect() as guard:
            # One process drops partitions at a time (every server purges on its own); the others
            # leave the work to it and delete row by row only what it has not dropped.
            if not guard.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (DROP_LOCK,)).scalar_one():
                return 0
            try:
                candidates = sorted(day for day in partition_days(guard) if day < cutoff_day)
                guard.commit()
                return sum(self._drop_if_expired(day, cutoff) for day in candidates)
            finally:
                guard.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (DROP_LOCK,))
                guard.commit()

    def _drop_if_expired(self, day: date, cutoff: datetime) -> int:
        """Drop one day's partitions if nothing in them is live any more; how many records went."""
        cutoff_day = cutoff.astimezone(UTC).date()
        records = partition_name("distribution_records", day)
        with self._writer.begin() as connection:
            connection.exec_driver_sql(
                "SELECT 1 FROM request_buckets WHERE bucket_day = %s ORDER BY service_request_id FOR UPDATE", (day,)
            )
            live = connection.exec_driver_sql(
                f"SELECT EXISTS (SELECT 1 FROM {records} WHERE last_received_day >= %s AND last_received_at >= %s)",
                (cutoff_day, cutoff),
            ).scalar_one()
            if live:
                return 0
            count = int(connection.exec_driver_sql(f"SELECT count(*) FROM {records}").scalar_one())
            connection.exec_driver_sql("DELETE FROM request_buckets WHERE bucket_day = %s", (day,))
            connection.exec_driver_sql("DELETE FROM device_buckets WHERE bucket_day = %s", (day,))
        drop_partition(self.engine, day)
        self._partition_days.discard(day)
        self._written.forget(day)
        return count

    @contextmanager
    def read(self) -> Iterator[SqlReadTransaction]:
        with self.read_engine.connect() as connection:
            if self._partitioned:
                # READ COMMITTED gives each statement its own snapshot, in a transaction or not: one
                # would only add a BEGIN and a ROLLBACK to every look-up (see engine.autocommit).
                with autocommit(connection.connection):
                    yield SqlReadTransaction(connection)
                return
            with connection.begin():  # SQLite: one snapshot for the whole look-up
                yield SqlReadTransaction(connection)

    def inventory_out_of_scope(
        self, device_ids: Collection[str], tracked: Collection[str]
    ) -> dict[str, InventoryDevice]:
        # On the primary, in a short read of its own: ingestion's validation thread asks, one batch ahead.
        with self.engine.connect() as connection:
            return inventory_out_of_scope(connection, device_ids, tracked)

    def refresh_statistics(self) -> None:
        """Let the query planner see the tables as they are now (after a bulk load).

        On PostgreSQL only the partitions written to since the last refresh: the planner reads each
        partition's own statistics, and analysing all thirty days after each day's load would cost
        more the longer the window."""
        if self._partitioned:
            # Days whose partitions another process's purge dropped meanwhile are passed over by _analyse.
            days = self._written.since_refresh()
            if days:
                self._analyse(days, "request_buckets", "device_buckets", growth=BULK_LOAD_GROWTH)
            return
        with self.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()

    def dispose(self) -> None:
        self._statistics.close()
        self.engine.dispose()
        self.read_engine.dispose()


def _is_transient(cause: BaseException) -> bool:
    sqlstate = getattr(cause, "sqlstate", None)
    return sqlstate in _TRANSIENT_SQLSTATES or "database is locked" in str(cause)


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _insert(connection: Connection, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on both dialects."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


_RECORD_COLUMNS = (
    "id",
    "service_request_id",
    "device_id",
    "current_rank",
    "current_status",
    "current_reason",
    "current_occurred_at",
    "started_at",
    "firmware_version",
    "firmware_version_rank",
    "device_type",
    "device_type_rank",
    "last_received_at",
)
_MERGED_COLUMNS = (
    "bucket_day",
    "service_request_id",
    "device_id",
    "originator_user_id",
    "current_rank",
    "current_status",
    "current_reason",
    "current_occurred_at",
    "completion_status",
    "started_at",
    "firmware_version",
    "firmware_version_rank",
    "device_type",
    "device_type_rank",
    "last_received_at",
    "last_received_day",
)
_EVENT_COLUMNS = (
    "event_id",
    "record_id",
    "bucket_day",
    "device_id",
    "status",
    "occurred_at",
    "received_at",
    "reason",
    "firmware_version",
    "device_type",
    "content_digest",
)
_MERGED_TYPES = (
    ("date",) + ("text",) * 6 + ("timestamptz", "text", "timestamptz") + ("text",) * 4 + ("timestamptz", "date")
)
_EVENT_TYPES = ("text", "bigint", "date", "text", "text", "timestamptz", "timestamptz", "text", "text", "text", "bytea")
# PostgreSQL takes a batch's record states by binary COPY into a temporary table and merges them from
# there: bound as 16 arrays of 10,000 values, they cost fdtrack 6-10 µs a row to encode (in Python)
# and PostgreSQL several more to unnest, where COPY's rows are encoded in C. The table lasts as long
# as the session and empties at each commit; made (if missing) in every transaction, it also works
# behind a pooler that lends out sessions transaction by transaction.
_STAGED = "fdtrack_staged_records"
_STAGE = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGED} ("
    + ", ".join(f"{column} {kind}" for column, kind in zip(_MERGED_COLUMNS, _MERGED_TYPES, strict=True))
    + ") ON COMMIT DELETE ROWS"
)
# In key order, byte by byte as Python sorts text, so that concurrent writers lock records in one order.
_STAGED_RECORDS = f'SELECT * FROM {_STAGED} ORDER BY service_request_id COLLATE "C", device_id COLLATE "C"'
# A device's row for a partition is added with its first record there, and goes only with the
# partition: a record the merge updated has its row already. Every record the merge created still
# holds the staged values, its started_at among them; a record updated by a batch with no earlier
# event than it had does not, so only the few others are tried again (and found there).
_NEW_PLACES = (
    "INSERT INTO device_buckets (device_id, bucket_day) SELECT m.device_id, m.bucket_day FROM merged m "
    f"JOIN {_STAGED} s ON s.service_request_id = m.service_request_id AND s.device_id = m.device_id "
    "WHERE m.started_at = s.started_at GROUP BY m.device_id, m.bucket_day "
    'ORDER BY m.device_id COLLATE "C", m.bucket_day ON CONFLICT DO NOTHING'
)
_STATUSES = {status.value: status for status in ProcessingStatus}  # a dict is cheaper than Enum(value)


def _earliest_from_rank(value: str | None, rank: str | None) -> EarliestValue | None:
    return None if value is None or rank is None else EarliestValue.from_rank_text(value, rank)


def _newer(column: str) -> str:
    return f"CASE WHEN excluded.current_rank > r.current_rank THEN excluded.{column} ELSE r.{column} END"


def _earlier(column: str, rank: str) -> str:
    return (
        f"CASE WHEN excluded.{rank} IS NOT NULL AND (r.{rank} IS NULL OR excluded.{rank} < r.{rank}) "
        f"THEN excluded.{column} ELSE r.{column} END"
    )


# The database merges a batch's partial state into the stored one with the same rules as
# fdtrack.domain.derivation.absorb, so ingestion never has to read a record before writing it.
_MERGE_SET = {
    "current_rank": _newer("current_rank"),
    "current_status": _newer("current_status"),
    "current_reason": _newer("current_reason"),
    "current_occurred_at": _newer("current_occurred_at"),
    "completion_status": _newer("completion_status"),
    "started_at": "CASE WHEN excluded.started_at < r.started_at THEN excluded.started_at ELSE r.started_at END",
    "firmware_version": _earlier("firmware_version", "firmware_version_rank"),
    "firmware_version_rank": _earlier("firmware_version_rank", "firmware_version_rank"),
    "device_type": _earlier("device_type", "device_type_rank"),
    "device_type_rank": _earlier("device_type_rank", "device_type_rank"),
    "last_received_at": (
        "CASE WHEN excluded.last_received_at > r.last_received_at THEN excluded.last_received_at "
        "ELSE r.last_received_at END"
    ),
    "last_received_day": (
        "CASE WHEN excluded.last_received_at > r.last_received_at THEN excluded.last_received_day "
        "ELSE r.last_received_day END"
    ),
}


def _expired(cutoff: datetime) -> tuple[Any, ...]:
    """Records last received before the cutoff; the day condition lets the day index find them."""
    return (_R.c.last_received_day <= cutoff.astimezone(UTC).date(), _R.c.last_received_at < cutoff)


class _Codec:
    """Values on the ingestion hot path, converted by hand: SQLAlchemy's per-value processing costs
    more than the database work there. SQLite text matches what UtcDateTime writes and reads."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        self.mark = "?" if self.sqlite else "%s"

    def moment(self, value: datetime) -> object:
        utc = value if value.tzinfo is UTC else value.astimezone(UTC)
        return utc.replace(tzinfo=None).isoformat(" ", "microseconds") if self.sqlite else utc

    def day(self, value: datetime) -> object:
        day = value.astimezone(UTC).date()
        return day.isoformat() if self.sqlite else day

    def read_moment(self, value: Any) -> datetime:
        if isinstance(value, str):
            # Appending the offset is cheaper than datetime.replace(tzinfo=…), on the hottest read path.
            return datetime.fromisoformat(value + "+00:00")
        moment: datetime = value
        if moment.tzinfo is UTC:
            return moment
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def marks(self, count: int) -> str:
        return ", ".join([self.mark] * count)


def _merge_values(codec: _Codec, delta: RecordDelta, bucket: object) -> tuple[object, ...]:
    state = delta.state
    firmware, device_type = state.firmware_version, state.device_type
    return (
        bucket,
        str(delta.request_id),
        delta.device_id,
        delta.request_id.originator,
        state.current.rank_text,
        state.current.status.value,
        state.current.reason,
        codec.moment(state.current.occurred_at),
        state.completion.value,
        codec.moment(state.started_at),
        firmware.value if firmware else None,
        firmware.rank_text if firmware else None,
        device_type.value if device_type else None,
        device_type.rank_text if device_type else None,
        codec.moment(delta.last_received_at),
        codec.day(delta.last_received_at),
    )


def _record_from_values(codec: _Codec, row: Sequence[Any]) -> StoredRecord:
    (
        record_id,
        request_id,
        device_id,
        rank,
        status,
        reason,
        occurred_at,
        started_at,
        firmware,
        firmware_rank,
        device_type,
        device_type_rank,
        last_received_at,
    ) = row
    state = RecordState(
        current=CurrentStatus(
            _STATUSES[status], reason, codec.read_moment(occurred_at), CurrentStatus.event_id_of_rank_text(rank)
        ),
        started_at=codec.read_moment(started_at),
        firmware_version=_earliest_from_rank(firmware, firmware_rank),
        device_type=_earliest_from_rank(device_type, device_type_rank),
    )
    return StoredRecord(
        record_id, ServiceRequestId.from_canonical(request_id), device_id, state, codec.read_moment(last_received_at)
    )


# PostgreSQL look-ups by device read the device's days first, then name them (see device_buckets).
_DEVICE_DAYS = "SELECT bucket_day FROM device_buckets WHERE device_id = %s ORDER BY bucket_day"


def _record_and_day(codec: _Codec, row: Sequence[Any]) -> tuple[StoredRecord, date]:
    """A record read with its partition day as the last column (PostgreSQL)."""
    return _record_from_values(codec, row[:-1]), row[-1]


def _days_of(days: Mapping[int, date], record_ids: Collection[int]) -> list[date] | None:
    """The partition days of these records, to name in a statement; None if any is not known."""
    if not all(record_id in days for record_id in record_ids):
        return None
    return sorted({days[record_id] for record_id in record_ids})


def append_audit_entry(connection: Connection, entry: AuditEntry, at: datetime) -> None:
    """One audit format for the whole product, whichever transaction writes the entry."""
    connection.execute(
        audit_log.insert().values(
            occurred_at=at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            detail=json.dumps(entry.detail, sort_keys=True, default=str),
        )
    )


class SqlWriteTransaction:
    """Writes of one batch; on PostgreSQL the records it reads are locked until it commits."""

    def __init__(
        self, connection: Connection, ensure_partition: Callable[[date], None], written: WrittenPartitions
    ) -> None:
        self.connection = connection
        self._ensure_partition = ensure_partition
        self._written = written
        self._codec = codec = _Codec(connection.dialect.name)
        self._buckets: dict[str, object] = {}  # bucket day of each request this batch writes
        conflict_key = "service_request_id, device_id" + ("" if codec.sqlite else ", bucket_day")
        # SQLite runs one statement per row in C (executemany); PostgreSQL merges each batch in one
        # statement over the rows staged by COPY (_STAGE), which saves a round trip and a plan per row.
        merge_sql = (
            f"INSERT INTO distribution_records AS r ({', '.join(_MERGED_COLUMNS)}) {{source}} "
            f"ON CONFLICT ({conflict_key}) DO UPDATE SET "
            + ", ".join(f"{column} = {expression}" for column, expression in _MERGE_SET.items())
        )
        # SQLite's bulk statements take one row of marks: executemany runs them row by row in C.
        self._sqlite_merge_sql = merge_sql.format(source=f"VALUES ({self._codec.marks(len(_MERGED_TYPES))})")
        # The device_buckets rows in the same statement, sorted, after every record's lock is taken.
        self._merge_sql = (
            f"WITH merged AS ({merge_sql.format(source=_STAGED_RECORDS)} "
            "RETURNING id, service_request_id, device_id, bucket_day, started_at), "
            f"places AS ({_NEW_PLACES}) SELECT id, service_request_id, device_id FROM merged"
        )
        self._staged = False  # whether this transaction has staged record states already
        self._sqlite_insert_event_sql = (
            f"INSERT INTO status_events ({', '.join(_EVENT_COLUMNS)}) VALUES ({self._codec.marks(len(_EVENT_TYPES))}) "
            "ON CONFLICT (event_id) DO NOTHING"
        )

    def stored_digests(self, events: Collection[TrackingEvent]) -> dict[str, bytes]:
        sql = "SELECT event_id, content_digest FROM status_events WHERE event_id"
        if self._codec.sqlite:
            ids = sorted({event.event_id for event in events})
            return {event_id: bytes(digest) for event_id, digest in self._select_in(sql, ids)}
        # An event naming a request can only be in that request's partition; one naming none was
        # attached to a record of its device, so it is in the partition of one of those. Looking
        # only there spares an index probe per partition and event.
        buckets = self._known_buckets({str(event.request_id) for event in events if event.request_id is not None})
        device_buckets = self._device_buckets({event.device_id for event in events if event.request_id is None})
        by_bucket: dict[object, set[str]] = {}
        for event in events:
            if event.request_id is None:
                places: Collection[object] = device_buckets.get(event.device_id, ())
            else:
                places = [buckets[key]] if (key := str(event.request_id)) in buckets else []
            for bucket in places:
                by_bucket.setdefault(bucket, set()).add(event.event_id)
        stored: dict[str, bytes] = {}
        for bucket, event_ids in by_bucket.items():
            rows = self.connection.exec_driver_sql(
                f"{sql} = ANY(%b::text[]) AND bucket_day = %s", (sorted(event_ids), bucket)
            )
            stored.update((event_id, bytes(digest)) for event_id, digest in rows)
        return stored

    def _device_buckets(self, device_ids: Collection[str]) -> dict[str, set[date]]:
        """The partitions holding each device's records (PostgreSQL)."""
        found: dict[str, set[date]] = {}
        sql = "SELECT device_id, bucket_day FROM device_buckets WHERE device_id"
        for device_id, bucket in self._select_in(sql, sorted(device_ids)):
            found.setdefault(device_id, set()).add(bucket)
        return found

    def _known_buckets(self, request_ids: Collection[str]) -> dict[str, object]:
        sql = "SELECT service_request_id, bucket_day FROM request_buckets WHERE service_request_id"
        return dict(self._select_in(sql, sorted(request_ids)))  # type: ignore[arg-type]

    def _claim_buckets(self, request_ids: Collection[str], day: date) -> dict[str, object]:
        """The bucket of each request, starting today's for the new ones. On PostgreSQL the rows are
        share-locked until commit, so a purge cannot drop their partitions under this batch."""
        ordered = sorted(request_ids)
        self._ensure_partition(day)
        if self._codec.sqlite:
            self.connection.exec_driver_sql(
                "INSERT OR IGNORE INTO request_buckets (service_request_id, bucket_day) VALUES (?, ?)",
                [(request_id, day.isoformat()) for request_id in ordered],
            )
            return self._known_buckets(ordered)
        buckets: dict[str, object] = {}
        for _ in range(2):  # a purge may remove a bucket between the two statements: claim it again
            missing = [request_id for request_id in ordered if request_id not in buckets]
            self.connection.exec_driver_sql(
                "INSERT INTO request_buckets (service_request_id, bucket_day) "
                "SELECT unnest(%b::text[]), %s ON CONFLICT DO NOTHING",
                (missing, day),
            )
            buckets.update(
                self.connection.exec_driver_sql(
                    "SELECT service_request_id, bucket_day FROM request_buckets "
                    "WHERE service_request_id = ANY(%b::text[]) ORDER BY service_request_id FOR SHARE",
                    (missing,),
                ).all()
            )
            if len(buckets) == len(ordered):
                return buckets
        raise RetryBatch("the buckets of this batch's requests kept being removed")

    def lock_device_records(self, device_ids: Collection[str]) -> list[StoredRecord]:
        sql = f"SELECT {', '.join(_RECORD_COLUMNS)} FROM distribution_records WHERE device_id"
        if self._codec.sqlite:
            rows = self._select_in(sql, sorted(device_ids), " ORDER BY id")
            return [_record_from_values(self._codec, row) for row in rows]
        if not device_ids:
            return []
        by_day: dict[date, list[str]] = {}
        for device_id, days in sorted(self._device_buckets(device_ids).items()):
            for day in days:
                by_day.setdefault(day, []).append(device_id)
        # One statement per partition, naming only the devices it holds: given every device and every
        # day at once, the planner expects each device in each partition and scans them whole. Locks
        # are taken day by day, then by id, an order every writer follows, so none deadlocks another.
        records: list[StoredRecord] = []
        for day, devices in sorted(by_day.items()):
            rows = self.connection.exec_driver_sql(
                f"{sql} = ANY(%b::text[]) AND bucket_day = %s ORDER BY id FOR UPDATE", (devices, day)
            )
            records.extend(_record_from_values(self._codec, row) for row in rows)
        return records

    def _select_in(self, sql: str, values: Sequence[str], suffix: str = "") -> Iterator[Sequence[Any]]:
        """Rows of `sql` whose column is one of `values`: IN lists on SQLite, one array on PostgreSQL
        (planning an IN list of thousands of parameters costs PostgreSQL more than running it)."""
        if not values:
            return
        if not self._codec.sqlite:
            yield from self.connection.exec_driver_sql(f"{sql} = ANY(%b::text[]){suffix}", (list(values),))
            return
        for chunk in _chunks(values):
            yield from self.connection.exec_driver_sql(
                f"{sql} IN ({self._codec.marks(len(chunk))}){suffix}", tuple(chunk)
            )

    def merge_records(self, deltas: Sequence[RecordDelta]) -> dict[RecordKey, int]:
        """Merge partial states into the stored records (creating missing ones); their ids by key."""
        # Sorted, so concurrent writers take row locks in one order and cannot deadlock each other.
        ordered = sorted(deltas, key=lambda delta: (str(delta.request_id), delta.device_id))
        ids: dict[RecordKey, int] = {}
        if not ordered:
            return ids
        today = ordered[0].last_received_at.astimezone(UTC).date()
        self._buckets = buckets = self._claim_buckets({str(delta.request_id) for delta in ordered}, today)
        rows = [_merge_values(self._codec, delta, buckets[str(delta.request_id)]) for delta in ordered]
        if self._codec.sqlite:
            # executemany runs the statement per row in C; it cannot return rows, so the ids follow
            # from one indexed read by Device ID.
            self.connection.exec_driver_sql(self._sqlite_merge_sql, rows)
            wanted = {(str(delta.request_id), delta.device_id) for delta in ordered}
            sql = "SELECT id, service_request_id, device_id FROM distribution_records WHERE device_id"
            for record_id, request_id, device_id in self._select_in(sql, sorted({d.device_id for d in ordered})):
                if (request_id, device_id) in wanted:
                    ids[(request_id, device_id)] = record_id
        else:
            with self._driver_cursor() as cursor:
                self._stage(cursor, rows)
                cursor.execute(self._merge_sql)
                ids.update({(r, d): i for i, r, d in cursor})
        return ids

    def _stage(self, cursor: psycopg.Cursor[Any], rows: Sequence[tuple[object, ...]]) -> None:
        """The record states into this session's temporary table, emptied first if this transaction
        merged before (the table empties itself at commit)."""
        cursor.execute(f"DELETE FROM {_STAGED}" if self._staged else _STAGE)
        self._staged = True
        with cursor.copy(f"COPY {_STAGED} FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_MERGED_TYPES)
            for row in rows:
                copy.write_row(row)

    def insert_events(self, events: Sequence[tuple[int, TrackingEvent, bytes]], received_at: datetime) -> int:
        if not events:
            return 0
        moment = self._codec.moment
        received = moment(received_at)
        buckets = self._buckets
        rows = [
            (
                event.event_id,
                record_id,
                buckets[str(event.request_id)],
                event.device_id,
                event.status.value,
                moment(event.occurred_at),
                received,
                event.reason,
                event.firmware_version,
                event.device_type.value if event.device_type else None,
                digest,
            )
            for record_id, event, digest in events
        ]
        if self._codec.sqlite:
            return int(self.connection.exec_driver_sql(self._sqlite_insert_event_sql, rows).rowcount)
        for day, count in Counter(row[2] for row in rows).items():
            self._written.add(day, count)  # type: ignore[arg-type]
        return self._copy_events(rows)

    def _driver_cursor(self) -> psycopg.Cursor[Any]:
        """A cursor of the driver itself, in this transaction (PostgreSQL): for a bulk statement's
        rows it returns plain tuples, where SQLAlchemy's result rows cost more than the statement."""
        driver = self.connection.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        return driver.cursor()

    def _copy_events(self, rows: Sequence[tuple[object, ...]]) -> int:
        """Events go in by COPY, PostgreSQL's bulk path: they are new (the batch was classified
        against the stored ones), and one stored meanwhile by another writer fails the batch,
        which then starts again and finds it."""
        try:
            with (
                self._driver_cursor() as cursor,
                cursor.copy(f"COPY status_events ({', '.join(_EVENT_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.set_types(_EVENT_TYPES)
                for row in rows:
                    copy.write_row(row)
        except psycopg.errors.UniqueViolation as error:
            raise RetryBatch("an event of this batch was stored concurrently") from error
        return len(rows)

    def add_rejections(self, rejections: Sequence[Rejection], received_at: datetime) -> None:
        if not rejections:
            return
        rows = {}
        for rejection in rejections:
            # Bad input may hold a NUL or a lone surrogate, which neither database takes: what is kept
            # shows U+FFFD there instead (the same on both), so the rest of the batch is still stored.
            raw, reason = storable(rejection.raw), storable(rejection.reason)
            digest = hashlib.sha256(json.dumps([raw, reason]).encode("utf-8")).digest()
            rows[digest] = {
                "source": storable(rejection.source[:300]),
                "format": rejection.format,
                "raw": raw,
                "reason": reason,
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

    def delete_expired(self, cutoff: datetime, limit: int, share: Share = WHOLE) -> int:
        """Delete up to `limit` expired records of `share` with their events; small batches keep locks
        short. Shares are sets of daily partitions; where there are none, the first holds everything.

        Fewer than `limit` ends the purge: none are left, or (PostgreSQL) one came back to life
        meanwhile and the rest wait for the next purge."""
        if self._codec.sqlite and share.index:
            return 0
        rows = self._expired_records(cutoff, limit, share)
        if not rows:
            return 0
        if self._codec.sqlite:
            ids = [row.id for row in rows]
            self.connection.execute(delete(_E).where(_E.c.record_id.in_(ids)))
            self.connection.execute(delete(_R).where(_R.c.id.in_(ids)))
            # Writers take turns on SQLite, so a request left without records can lose its bucket
            # here; on PostgreSQL buckets go only with their partition (drop_expired_storage).
            requests = sorted({row.service_request_id for row in rows})
            for chunk in _chunks(requests):
                self.connection.execute(
                    delete(_B).where(
                        _B.c.service_request_id.in_(chunk),
                        ~select(_R.c.id).where(_R.c.service_request_id == _B.c.service_request_id).exists(),
                    )
                )
            return len(ids)
        # One delete per partition with only its own records: a statement naming several days
        # would be planned over each of them and probe each one's index for every id of the batch.
        by_day: dict[date, list[int]] = {}
        for row in rows:
            by_day.setdefault(row.bucket_day, []).append(row.id)
        deleted = 0
        for day, day_ids in sorted(by_day.items()):
            # Expired still: a batch of events committed since the records were read may have
            # brought one back to life, and it stays with its events.
            gone = [
                record_id
                for (record_id,) in self.connection.exec_driver_sql(
                    "DELETE FROM distribution_records WHERE id = ANY(%b::bigint[]) AND bucket_day = %s "
                    "AND last_received_at < %s RETURNING id",
                    (day_ids, day, cutoff),
                )
            ]
            self.connection.exec_driver_sql(
                "DELETE FROM status_events WHERE record_id = ANY(%b::bigint[]) AND bucket_day = %s", (gone, day)
            )
            deleted += len(gone)
        return deleted

    def _expired_records(self, cutoff: datetime, limit: int, share: Share) -> list[Row[Any, Any, Any]]:
        """Up to `limit` expired records: first those of the days before the cutoff's, which the
        retention index finds exactly, then those of the cutoff's own day received before it."""
        # In the index's order, which each partition's index gives without a sort: left to itself
        # the planner may scan whole partitions, again in every batch, long after their expired
        # records have gone. The cutoff's day comes last and apart because its live records pass
        # the index condition too and each has to be read to be told apart: only once the earlier
        # days are done, not in every batch.
        cutoff_day = cutoff.astimezone(UTC).date()
        query = select(_R.c.id, _R.c.bucket_day, _R.c.service_request_id).order_by(_R.c.last_received_day)
        if share.parts > 1 and not self._codec.sqlite:
            # The days named as values, so that the statement is planned over this share's partitions alone.
            days = [day for day in partition_days(self.connection) if day.toordinal() % share.parts == share.index]
            query = query.where(_R.c.bucket_day.in_(days))
        rows = list(self.connection.execute(query.where(_R.c.last_received_day < cutoff_day).limit(limit)))
        if len(rows) < limit:
            on_the_day = (_R.c.last_received_day == cutoff_day, _R.c.last_received_at < cutoff)
            rows.extend(self.connection.execute(query.where(*on_the_day).limit(limit - len(rows))))
        return rows

    def append_audit(self, entry: AuditEntry, at: datetime) -> None:
        append_audit_entry(self.connection, entry, at)

    def import_devices(self, devices: Sequence[tuple[InventoryDevice, str]], imported_at: datetime) -> None:
        import_devices(self.connection, devices, imported_at)


class SqlReadTransaction:
    """Look-ups for the screens, the API and the command line.

    The frequent look-ups are SQL text decoded by the same codec as the write path: SQLAlchemy's
    per-row processing would cost more than the index probes they make."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._codec = codec = _Codec(connection.dialect.name)
        # Request and device of the records read so far: their histories need them, and a look-up
        # always reads the records first, so histories() rarely has to ask the database for them.
        self._keys: dict[int, tuple[ServiceRequestId, str]] = {}
        # On PostgreSQL also each record's partition, and each request's: a statement naming the
        # partitions it needs is planned over those alone (planning all ~33 days' partitions costs
        # about 1 ms, more than the index probes themselves).
        self._record_buckets: dict[int, date] = {}
        self._request_buckets: dict[str, date | None] = {}
        self._record_select = ", ".join(_RECORD_COLUMNS if codec.sqlite else (*_RECORD_COLUMNS, "bucket_day"))

    def _decoded(self, rows: Sequence[Sequence[Any]]) -> list[StoredRecord]:
        codec = self._codec
        if codec.sqlite:
            records = [_record_from_values(codec, row) for row in rows]
        else:
            records = []
            for row in rows:
                record, day = _record_and_day(codec, row)
                self._record_buckets[record.record_id] = day
                records.append(record)
        self._keys.update({record.record_id: (record.request_id, record.device_id) for record in records})
        return records

    def _bucket_of(self, request_id: ServiceRequestId) -> date | None:
        """The partition day of a request's records (PostgreSQL); None when it has none."""
        key = str(request_id)
        if key not in self._request_buckets:
            self._request_buckets[key] = self.connection.exec_driver_sql(
                "SELECT bucket_day FROM request_buckets WHERE service_request_id = %s", (key,)
            ).scalar()
        return self._request_buckets[key]

    def _in_buckets(self, record_ids: Sequence[int]) -> tuple[str, tuple[object, ...]]:
        """A condition naming the partitions of these records, when all of them are known."""
        days = None if self._codec.sqlite else _days_of(self._record_buckets, record_ids)
        return ("", ()) if days is None else (" AND bucket_day = ANY(%s)", (days,))

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
        mark = self._codec.mark
        sql = f"SELECT {self._record_select} FROM distribution_records WHERE service_request_id = {mark}"
        parameters: list[object] = [str(request_id)]
        if not self._codec.sqlite:
            bucket = self._bucket_of(request_id)
            if bucket is None:
                return []
            sql += " AND bucket_day = %s"
            parameters.append(bucket)
        if after_device_id is not None:
            sql += f" AND device_id > {mark}"
            parameters.append(after_device_id)
        if completion is not None:
            sql += f" AND completion_status = {mark}"
            parameters.append(completion)
        sql += " ORDER BY device_id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self._decoded(self.connection.exec_driver_sql(sql, tuple(parameters)).all())

    def records_by_device(self, device_id: str, originators: frozenset[str] | None) -> list[StoredRecord]:
        mark = self._codec.mark
        sql = f"SELECT {self._record_select} FROM distribution_records WHERE device_id = {mark}"
        parameters: list[object] = [device_id]
        if not self._codec.sqlite:
            # No shortcut when the device has no days: a device only other parties have must cost the
            # same statements as one nobody has (§7), or the time taken would tell them apart.
            days = list(self.connection.exec_driver_sql(_DEVICE_DAYS, (device_id,)).scalars())
            sql += " AND bucket_day = ANY(%s)"
            parameters.append(days)
        if originators is not None:
            sql += f" AND originator_user_id IN ({self._codec.marks(len(originators))})"
            parameters.extend(sorted(originators))
        sql += " ORDER BY started_at DESC, service_request_id DESC"
        return self._decoded(self.connection.exec_driver_sql(sql, tuple(parameters)).all())

    def histories(self, record_ids: Collection[int]) -> dict[int, list[StoredEvent]]:
        """Each record's events, ordered by occurred_at then event_id (SPEC §5.1 rule 5)."""
        histories: dict[int, list[StoredEvent]] = {record_id: [] for record_id in record_ids}
        keys = self._keys
        for chunk in _chunks(sorted(set(histories) - keys.keys())):
            sql = (
                "SELECT id, service_request_id, device_id FROM distribution_records "
                f"WHERE id IN ({self._codec.marks(len(chunk))})"
            )
            for record_id, request_id, device_id in self.connection.exec_driver_sql(sql, tuple(chunk)):
                keys[record_id] = (ServiceRequestId.from_canonical(request_id), device_id)
        read = self._codec.read_moment
        for chunk in _chunks(sorted(histories)):
            in_buckets, bucket_days = self._in_buckets(chunk)
            sql = (
                "SELECT record_id, event_id, status, occurred_at, received_at, reason, firmware_version, device_type "
                f"FROM status_events WHERE record_id IN ({self._codec.marks(len(chunk))}){in_buckets} "
                "ORDER BY record_id, occurred_at, event_id"
            )
            for (
                record_id,
                event_id,
                status,
                occurred_at,
                received_at,
                reason,
                firmware,
                device_type,
            ) in self.connection.exec_driver_sql(sql, (*chunk, *bucket_days)):
                request_id, device_id = keys[record_id]
                event = TrackingEvent(
                    event_id=event_id,
                    request_id=request_id,
                    device_id=device_id,
                    status=_STATUSES[status],
                    occurred_at=read(occurred_at),
                    reason=reason,
                    firmware_version=firmware,
                    device_type=DeviceType(device_type) if device_type else None,
                )
                histories[record_id].append(StoredEvent(event, read(received_at)))
        return histories

    def history_entries(self, record_ids: Collection[int]) -> dict[int, list[HistoryEntry]]:
        """What users see of each record's history (four columns: cheaper than whole events)."""
        entries: dict[int, list[HistoryEntry]] = {record_id: [] for record_id in record_ids}
        read = self._codec.read_moment
        for chunk in _chunks(sorted(entries)):
            in_buckets, bucket_days = self._in_buckets(chunk)
            sql = (
                "SELECT record_id, status, reason, occurred_at, received_at FROM status_events "
                f"WHERE record_id IN ({self._codec.marks(len(chunk))}){in_buckets} "
                "ORDER BY record_id, occurred_at, event_id"
            )
            for record_id, status, reason, occurred_at, received_at in self.connection.exec_driver_sql(
                sql, (*chunk, *bucket_days)
            ).all():
                entries[record_id].append(HistoryEntry(_STATUSES[status], reason, read(occurred_at), read(received_at)))
        return entries

    def request_summary(
        self, request_id: ServiceRequestId, originators: frozenset[str] | None
    ) -> dict[tuple[str, str], int]:
        if originators is not None and request_id.originator not in originators:
            return {}
        query = (
            select(_R.c.completion_status, _R.c.current_status, func.count())
            .where(*self._of_request(request_id))
            .group_by(_R.c.completion_status, _R.c.current_status)
        )
        return {(row[0], row[1]): row[2] for row in self.connection.execute(query)}

    def request_firmware_versions(self, request_id: ServiceRequestId) -> dict[str | None, int]:
        query = (
            select(_R.c.firmware_version, func.count())
            .where(*self._of_request(request_id))
            .group_by(_R.c.firmware_version)
        )
        return {row[0]: row[1] for row in self.connection.execute(query)}

    def _of_request(self, request_id: ServiceRequestId) -> tuple[Any, ...]:
        """The records of one request; on PostgreSQL also the partition they are in, which spares
        the query a look into every other day's partition."""
        condition = _R.c.service_request_id == str(request_id)
        if self._codec.sqlite:
            return (condition,)
        return condition, _R.c.bucket_day == self._bucket_of(request_id)

    def count_expired(self, cutoff: datetime) -> int:
        query = select(func.count()).select_from(_R).where(*_expired(cutoff))
        return int(self.connection.execute(query).scalar_one())

    def has_records_of_others(self, originators: frozenset[str]) -> bool:
        query = select(_R.c.id).where(_R.c.originator_user_id.not_in(sorted(originators))).limit(1)
        return self.connection.execute(query).first() is not None

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

    def inventory_devices(self, device_ids: Collection[str]) -> dict[str, InventoryDevice]:
        return inventory_devices(self.connection, device_ids)


def _rejection_from_row(row: Row[Any]) -> StoredRejection:
    return StoredRejection(
        rejection_id=row.id,
        rejection=Rejection(row.source, row.format, row.raw, row.reason),
        first_received_at=row.first_received_at,
        last_received_at=row.last_received_at,
        resolved_at=row.resolved_at,
    )
