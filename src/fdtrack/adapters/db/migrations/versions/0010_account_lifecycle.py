"""Account lifecycle and abuse of sign-in: disabled accounts, per-source throttles, bounded failure counts,
rate-limit counters, and a retention cutoff for the audit log.

Accounts lose their lock-out columns (failed_logins, locked_until): throttles per name and source
replace the lock that anyone could renew. The audit log stays append-only, except for entries older
than the cutoff in `audit_retention`, which only the retention housekeeping moves forward.

Revision ID: 0010_account_lifecycle
Revises: 0009_activation_schedules
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_account_lifecycle"
down_revision = "0009_activation_schedules"
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)

_PG_APPEND_ONLY_BEFORE_CUTOFF = """
CREATE OR REPLACE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.occurred_at < (SELECT cutoff FROM audit_retention WHERE id = 1) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END $$
"""
_PG_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END $$
"""


def upgrade() -> None:
    op.add_column("accounts", sa.Column("disabled_at", Moment))
    op.add_column("accounts", sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
    # SQLite has dropped columns in place since 3.35; no table copy, so the foreign keys stay as they are.
    op.execute("ALTER TABLE accounts DROP COLUMN failed_logins")
    op.execute("ALTER TABLE accounts DROP COLUMN locked_until")
    op.create_table(
        "signin_throttles",
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", Moment, nullable=False),
        sa.Column("last_failed_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("username", "source", name="pk_signin_throttles"),
    )
    op.create_index("ix_signin_throttles_last_failed_at", "signin_throttles", ["last_failed_at"])
    op.create_table(
        "signin_failures",
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("window_start", Moment, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("source", "window_start", "kind", name="pk_signin_failures"),
    )
    op.create_index("ix_signin_failures_window_start", "signin_failures", ["window_start"])
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_rate_limit_counters"),
    )
    op.create_index("ix_rate_limit_counters_expires_at_ms", "rate_limit_counters", ["expires_at_ms"])
    op.create_table(
        "audit_retention",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cutoff", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_retention"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY_BEFORE_CUTOFF)
    else:
        op.execute("DROP TRIGGER audit_log_no_delete")
        # Without a cutoff every entry compares >= '' and the deletion is refused, as before.
        op.execute(
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
            "WHEN OLD.occurred_at >= COALESCE((SELECT cutoff FROM audit_retention WHERE id = 1), '') "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
    else:
        op.execute("DROP TRIGGER audit_log_no_delete")
        op.execute(
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )
    op.drop_table("audit_retention")
    op.drop_table("rate_limit_counters")
    op.drop_table("signin_failures")
    op.drop_table("signin_throttles")
    op.add_column("accounts", sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("accounts", sa.Column("locked_until", Moment))
    op.execute("ALTER TABLE accounts DROP COLUMN revision")
    op.execute("ALTER TABLE accounts DROP COLUMN disabled_at")
