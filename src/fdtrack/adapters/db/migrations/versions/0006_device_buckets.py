"""Which days' partitions hold each device's records, so look-ups by Device ID name only those.

Revision ID: 0006_device_buckets
Revises: 0005_partitions
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_device_buckets"
down_revision = "0005_partitions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_buckets",
        sa.Column("device_id", sa.String(23), nullable=False),
        sa.Column("bucket_day", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("device_id", "bucket_day", name="pk_device_buckets"),
    )
    op.create_index("ix_device_buckets_bucket_day", "device_buckets", ["bucket_day"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "INSERT INTO device_buckets (device_id, bucket_day) "
            "SELECT DISTINCT device_id, bucket_day FROM distribution_records"
        )


def downgrade() -> None:
    op.drop_table("device_buckets")
