"""Distribution records, status events, rejected events and the append-only audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)
Rank = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "distribution_records",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("service_request_id", sa.String(100), nullable=False),
        sa.Column("device_id", sa.String(23), nullable=False),
        sa.Column("originator_user_id", sa.String(23), nullable=False),
        sa.Column("current_rank", Rank, nullable=False),
        sa.Column("current_status", sa.String(32), nullable=False),
        sa.Column("current_reason", sa.Text, nullable=False),
        sa.Column("current_occurred_at", Moment, nullable=False),
        sa.Column("completion_status", sa.String(16), nullable=False),
        sa.Column("started_at", Moment, nullable=False),
        sa.Column("firmware_version", sa.String(8)),
        sa.Column("firmware_version_rank", Rank),
        sa.Column("device_type", sa.String(8)),
        sa.Column("device_type_rank", Rank),
        sa.Column("last_received_at", Moment, nullable=False),
        sa.Column("last_received_day", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_distribution_records"),
        sa.UniqueConstraint(
            "service_request_id", "device_id", name="uq_distribution_records_service_request_id_device_id"
        ),
        postgresql_with={"fillfactor": 80},
    )
    op.create_index("ix_distribution_records_device_id_started_at", "distribution_records", ["device_id", "started_at"])
    op.create_index(
        "ix_distribution_records_originator_user_id_service_request_id",
        "distribution_records",
        ["originator_user_id", "service_request_id"],
    )
    op.create_index("ix_distribution_records_last_received_day", "distribution_records", ["last_received_day"])

    op.create_table(
        "status_events",
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("record_id", Id, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("occurred_at", Moment, nullable=False),
        sa.Column("received_at", Moment, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("firmware_version", sa.String(8)),
        sa.Column("device_type", sa.String(8)),
        sa.Column("content_digest", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_status_events"),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["distribution_records.id"],
            name="fk_status_events_record_id_distribution_records",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_status_events_record_id", "status_events", ["record_id"])

    op.create_table(
        "rejected_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("first_received_at", Moment, nullable=False),
        sa.Column("last_received_at", Moment, nullable=False),
        sa.Column("resolved_at", Moment),
        sa.PrimaryKeyConstraint("id", name="pk_rejected_events"),
        sa.UniqueConstraint("digest", name="uq_rejected_events_digest"),
    )
    op.create_index("ix_rejected_events_resolved_at_id", "rejected_events", ["resolved_at", "id"])

    op.create_table(
        "audit_log",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("occurred_at", Moment, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_occurred_at", "audit_log", ["occurred_at"])
    op.create_index("ix_audit_log_action_occurred_at", "audit_log", ["action", "occurred_at"])
    _make_audit_log_append_only()


def _make_audit_log_append_only() -> None:
    """The database itself refuses to change or remove audit entries, whoever connects."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the audit log is append-only';
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{operation.lower()} BEFORE {operation} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )


def downgrade() -> None:
    op.drop_table("audit_log")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_is_append_only()")
    op.drop_table("rejected_events")
    op.drop_table("status_events")
    op.drop_table("distribution_records")
