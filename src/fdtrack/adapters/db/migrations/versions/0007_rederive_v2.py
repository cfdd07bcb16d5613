"""Every stored record state recomputed under SPEC v2's derivation rule (the later event wins within a stage).

States stored before this revision were derived with outcome before time and kept a rank text in
that order; each is rewritten from its stored events, so reads and the database-side merge of
later events both follow the v2 rule.

Revision ID: 0007_rederive_v2
Revises: 0006_device_buckets
Create Date: 2026-12-05
"""

from __future__ import annotations

import logging

from alembic import op

from fdtrack.adapters.db.rederivation import rederive_stored_states

revision = "0007_rederive_v2"
down_revision = "0006_device_buckets"
branch_labels = None
depends_on = None

log = logging.getLogger("fdtrack.migrations")


def upgrade() -> None:
    rewritten = rederive_stored_states(op.get_bind())
    log.info("recomputed the state of %d distribution records under the v2 derivation rule", rewritten)


def downgrade() -> None:
    raise NotImplementedError("states are not derived under the v1 rule again; restore a backup instead")
