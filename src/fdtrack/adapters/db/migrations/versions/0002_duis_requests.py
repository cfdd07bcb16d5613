"""DUIS Update Firmware requests (SR 11.1 / 11.4), remembered until their records are purged.

Revision ID: 0002_duis
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_duis"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "duis_firmware_requests",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("service_request_id", sa.String(100), nullable=False),
        sa.Column("originator_user_id", sa.String(23), nullable=False),
        sa.Column("service_reference", sa.String(8), nullable=False),
        sa.Column("firmware_version", sa.String(8), nullable=False),
        sa.Column("device_type", sa.String(8)),
        sa.Column("device_count", sa.Integer, nullable=False),
        sa.Column("device_ids", sa.Text, nullable=False),
        sa.Column("content_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("received_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_duis_firmware_requests"),
        sa.UniqueConstraint("service_request_id", name="uq_duis_firmware_requests_service_request_id"),
    )
    op.create_index("ix_duis_firmware_requests_received_at", "duis_firmware_requests", ["received_at"])


def downgrade() -> None:
    op.drop_table("duis_firmware_requests")
