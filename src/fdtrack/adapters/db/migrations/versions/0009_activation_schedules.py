"""DUIS Activate Firmware requests (SR 11.3), remembered for their acknowledgements and failures.

Revision ID: 0009_activation_schedules
Revises: 0008_device_inventory
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_activation_schedules"
down_revision = "0008_device_inventory"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "duis_activation_requests",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("service_request_id", sa.String(100), nullable=False),
        sa.Column("device_id", sa.String(23), nullable=False),
        sa.Column("execution_at", Moment),
        sa.Column("received_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_duis_activation_requests"),
        sa.UniqueConstraint("service_request_id", name="uq_duis_activation_requests_service_request_id"),
    )
    op.create_index("ix_duis_activation_requests_received_at", "duis_activation_requests", ["received_at"])


def downgrade() -> None:
    op.drop_table("duis_activation_requests")
