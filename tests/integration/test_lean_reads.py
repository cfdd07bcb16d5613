"""The API's lean device look-up answers exactly as the general read transaction, on both databases."""

from __future__ import annotations

import sqlalchemy as sa

from e2e.seed import ALPHA_USER_ID, BETA_USER_ID
from fdtrack.adapters.db.lean_reads import LeanLookupStore
from fdtrack.adapters.db.store import SqlStore
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.services import lookup
from integration.conftest import Tokens


def test_every_device_reads_the_same_lean_and_general_for_every_viewer(api_store: SqlStore, tokens: Tokens) -> None:
    lean = LeanLookupStore(api_store.engine)
    with api_store.engine.connect() as connection:
        devices = connection.execute(sa.text("SELECT DISTINCT device_id FROM distribution_records")).scalars().all()
    assert len(devices) > 100
    viewers = [None, frozenset({ALPHA_USER_ID}), frozenset({BETA_USER_ID}), frozenset({ALPHA_USER_ID, BETA_USER_ID})]
    for originators in viewers:
        for device in devices:
            with api_store.read() as general, lean.read() as fast:
                expected = general.records_by_device(device, originators)
                found = fast.records_by_device(device, originators)
                assert found == expected
                ids = [record.record_id for record in found]
                assert fast.history_entries(ids) == general.history_entries(ids)
    viewer = lookup.Viewer("centre", None)
    policy = RetentionPolicy()
    assert lookup.records_by_device(lean, viewer, devices[0], policy) == lookup.records_by_device(
        api_store, viewer, devices[0], policy
    )
