"""Parties with their User IDs, accounts and sign-in sessions.

Revision ID: 0003_accounts
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_accounts"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "parties",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_parties"),
        sa.UniqueConstraint("name", name="uq_parties_name"),
    )
    op.create_table(
        "party_user_ids",
        sa.Column("user_id", sa.String(23), nullable=False),
        sa.Column("party_id", Id, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_party_user_ids"),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name="fk_party_user_ids_party_id_parties", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_party_user_ids_party_id", "party_user_ids", ["party_id"])
    op.create_table(
        "accounts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("party_id", Id, nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", Moment),
        sa.Column("created_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("username", name="uq_accounts_username"),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"], name="fk_accounts_party_id_parties"),
    )
    op.create_index("ix_accounts_party_id", "accounts", ["party_id"])
    op.create_table(
        "web_sessions",
        sa.Column("session_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("last_seen_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("session_digest", name="pk_web_sessions"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_web_sessions_account_id_accounts", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_web_sessions_account_id", "web_sessions", ["account_id"])
    op.create_index("ix_web_sessions_last_seen_at", "web_sessions", ["last_seen_at"])


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_table("accounts")
    op.drop_table("party_user_ids")
    op.drop_table("parties")
