"""The device inventory: each device's DUIS device type, SMETS/CHTS version and model, last import wins.

Revision ID: 0008_device_inventory
Revises: 0007_rederive_v2
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_device_inventory"
down_revision = "0007_rederive_v2"
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "device_inventory",
        sa.Column("device_id", sa.String(23), nullable=False),
        sa.Column("device_type", sa.String(8), nullable=False),
        sa.Column("smets_chts_version", sa.String(20)),
        sa.Column("device_model", sa.String(30)),
        sa.Column("imported_at", Moment, nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("device_id", name="pk_device_inventory"),
    )


def downgrade() -> None:
    op.drop_table("device_inventory")
