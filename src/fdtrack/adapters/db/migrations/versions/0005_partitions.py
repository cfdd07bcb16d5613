"""Records and events carry the day their request was first received; PostgreSQL partitions them by it.

Revision ID: 0005_partitions
Revises: 0004_api_tokens
Create Date: 2026-11-25
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

from fdtrack.adapters.db.partitions import create_partitions, days_around

revision = "0005_partitions"
down_revision = "0004_api_tokens"
branch_labels = None
depends_on = None

_RECORD_COLUMNS = """
    id bigint NOT NULL DEFAULT nextval('distribution_records_record_id_seq'),
    bucket_day date NOT NULL,
    service_request_id varchar(100) NOT NULL,
    device_id varchar(23) NOT NULL,
    originator_user_id varchar(23) NOT NULL,
    current_rank varchar(200) COLLATE "C" NOT NULL,
    current_status varchar(32) NOT NULL,
    current_reason text NOT NULL,
    current_occurred_at timestamptz NOT NULL,
    completion_status varchar(16) NOT NULL,
    started_at timestamptz NOT NULL,
    firmware_version varchar(8),
    firmware_version_rank varchar(200) COLLATE "C",
    device_type varchar(8),
    device_type_rank varchar(200) COLLATE "C",
    last_received_at timestamptz NOT NULL,
    last_received_day date NOT NULL
"""
_EVENT_COLUMNS = """
    event_id varchar(128) NOT NULL,
    record_id bigint NOT NULL,
    bucket_day date NOT NULL,
    device_id varchar(23) NOT NULL,
    status varchar(32) NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    reason text NOT NULL,
    firmware_version varchar(8),
    device_type varchar(8),
    content_digest bytea NOT NULL
"""
_COPIED_RECORD_COLUMNS = (
    "id, service_request_id, device_id, originator_user_id, current_rank, current_status, current_reason, "
    "current_occurred_at, completion_status, started_at, firmware_version, firmware_version_rank, device_type, "
    "device_type_rank, last_received_at, last_received_day"
)
_COPIED_EVENT_COLUMNS = (
    "event_id, record_id, status, occurred_at, received_at, reason, firmware_version, device_type, content_digest"
)


def upgrade() -> None:
    op.create_table(
        "request_buckets",
        sa.Column("service_request_id", sa.String(100), nullable=False),
        sa.Column("bucket_day", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("service_request_id", name="pk_request_buckets"),
    )
    op.create_index("ix_request_buckets_bucket_day", "request_buckets", ["bucket_day"])
    # A request's bucket is the earliest day any of its records was last received: the best that
    # records kept so far can tell of when the request was first seen.
    op.execute(
        "INSERT INTO request_buckets (service_request_id, bucket_day) "
        "SELECT service_request_id, min(last_received_day) FROM distribution_records GROUP BY service_request_id"
    )
    if op.get_bind().dialect.name == "postgresql":
        _partition_on_postgresql()
    else:
        _add_bucket_on_sqlite()


def _partition_on_postgresql() -> None:
    op.execute("CREATE SEQUENCE distribution_records_record_id_seq AS bigint")
    op.execute(f"CREATE TABLE records_partitioned ({_RECORD_COLUMNS}) PARTITION BY RANGE (bucket_day)")
    op.execute(f"CREATE TABLE events_partitioned ({_EVENT_COLUMNS}) PARTITION BY RANGE (bucket_day)")
    op.execute("ALTER SEQUENCE distribution_records_record_id_seq OWNED BY records_partitioned.id")
    bind = op.get_bind()
    days: set[date] = {row[0] for row in bind.execute(sa.text("SELECT DISTINCT bucket_day FROM request_buckets"))}
    days.update(days_around(datetime.now(UTC).date()))
    create_partitions(bind, days, parents=("records_partitioned", "events_partitioned"))
    op.execute(
        f"INSERT INTO records_partitioned (bucket_day, {_COPIED_RECORD_COLUMNS}) "
        f"SELECT b.bucket_day, {', '.join(f'r.{c.strip()}' for c in _COPIED_RECORD_COLUMNS.split(','))} "
        "FROM distribution_records r JOIN request_buckets b USING (service_request_id)"
    )
    op.execute(
        f"INSERT INTO events_partitioned (bucket_day, device_id, {_COPIED_EVENT_COLUMNS}) "
        f"SELECT r.bucket_day, r.device_id, {', '.join(f'e.{c.strip()}' for c in _COPIED_EVENT_COLUMNS.split(','))} "
        "FROM status_events e JOIN records_partitioned r ON r.id = e.record_id"
    )
    op.execute(
        "SELECT setval('distribution_records_record_id_seq', "
        "coalesce((SELECT max(id) FROM records_partitioned), 0) + 1, false)"
    )
    op.execute("DROP TABLE status_events")
    op.execute("DROP TABLE distribution_records")
    op.execute("ALTER TABLE records_partitioned RENAME TO distribution_records")
    op.execute("ALTER TABLE events_partitioned RENAME TO status_events")
    # Indexes of a partitioned table are made on every partition, today's and those made later.
    # Each unique key includes the partition key, as PostgreSQL requires; request_buckets gives a
    # request one bucket, so (request, device) and an event's id stay unique across partitions.
    op.execute("ALTER TABLE distribution_records ADD CONSTRAINT pk_distribution_records PRIMARY KEY (id, bucket_day)")
    op.execute(
        "ALTER TABLE distribution_records ADD CONSTRAINT uq_distribution_records_service_request_id_device_id "
        "UNIQUE (service_request_id, device_id, bucket_day)"
    )
    op.execute(
        "CREATE INDEX ix_distribution_records_device_id_started_at ON distribution_records (device_id, started_at)"
    )
    op.execute(
        "CREATE INDEX ix_distribution_records_originator_user_id_service_request_id "
        "ON distribution_records (originator_user_id, service_request_id)"
    )
    op.execute("CREATE INDEX ix_distribution_records_last_received_day ON distribution_records (last_received_day)")
    op.execute("ALTER TABLE status_events ADD CONSTRAINT pk_status_events PRIMARY KEY (event_id, bucket_day)")
    op.execute("CREATE INDEX ix_status_events_record_id ON status_events (record_id)")


def _add_bucket_on_sqlite() -> None:
    """Columns added in place with a placeholder default that the UPDATE replaces: rebuilding the
    tables instead (Alembic's batch mode) would drop the records table under the events' cascading
    foreign key, and SQLite cannot turn foreign keys off inside the migration's transaction."""
    for table, column, kind, placeholder, source in (
        (
            "distribution_records",
            "bucket_day",
            sa.Date(),
            "1970-01-01",
            "SELECT bucket_day FROM request_buckets b WHERE b.service_request_id = t.service_request_id",
        ),
        (
            "status_events",
            "bucket_day",
            sa.Date(),
            "1970-01-01",
            "SELECT bucket_day FROM distribution_records r WHERE r.id = t.record_id",
        ),
        (
            "status_events",
            "device_id",
            sa.String(23),
            "",
            "SELECT device_id FROM distribution_records r WHERE r.id = t.record_id",
        ),
    ):
        op.add_column(table, sa.Column(column, kind, nullable=False, server_default=placeholder))
        op.execute(f"UPDATE {table} AS t SET {column} = ({source})")


def downgrade() -> None:
    raise NotImplementedError("partitioned storage is not taken apart again; restore a backup instead")
