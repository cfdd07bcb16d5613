"""API tokens (only their SHA-256 is kept) and an index to read the audit log by actor; joins both heads.

Revision ID: 0004_api_tokens
Revises: 0002_duis, 0003_accounts
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_api_tokens"
down_revision = ("0002_duis", "0003_accounts")
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("token_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("hint", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("revoked_at", Moment),
        sa.Column("revoked_by", sa.String(100)),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_digest", name="uq_api_tokens_token_digest"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_api_tokens_account_id_accounts", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_api_tokens_account_id", "api_tokens", ["account_id"])
    op.create_index("ix_audit_log_actor_occurred_at", "audit_log", ["actor", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_actor_occurred_at", "audit_log")
    op.drop_table("api_tokens")
