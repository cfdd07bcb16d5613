"""The API's lean device look-up answers exactly as the general read transaction, on both databases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from e2e.seed import ALPHA_USER_ID, BETA_USER_ID
from fdtrack.adapters.db.lean_reads import LeanLookupStore, LeanReadTransaction
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.db.tokens import SqlTokenStore
from fdtrack.domain.errors import RecordsNotFound
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


def test_a_connection_used_for_look_ups_goes_back_to_the_pool_ready_for_transactions(
    api_store: SqlStore, tokens: Tokens
) -> None:
    """Look-ups read without a transaction of their own on PostgreSQL; the writer that gets their
    connection next must still be atomic."""
    engine = sa.create_engine(api_store.engine.url, pool_size=1, max_overflow=0)  # one connection, reused
    try:
        store = SqlStore(engine)
        device = _any_device(store)
        with LeanLookupStore(engine).read() as lean:
            assert lean.records_by_device(device, None)
        with store.read() as general:
            assert general.records_by_device(device, None)
        assert SqlTokenStore(engine).live_revision(-1) is None
        with pytest.raises(RuntimeError):
            _delete_all_events_then_fail(store)
        with store.read() as general:
            histories = general.history_entries(
                [record.record_id for record in general.records_by_device(device, None)]
            )
        assert histories
        assert all(histories.values())  # the failed batch's DELETE was rolled back
    finally:
        engine.dispose()


def _any_device(store: SqlStore) -> str:
    with store.engine.connect() as connection:
        return str(connection.execute(sa.text("SELECT device_id FROM distribution_records LIMIT 1")).scalar_one())


def _delete_all_events_then_fail(store: SqlStore) -> None:
    with store.write() as tx:
        tx.connection.exec_driver_sql("DELETE FROM status_events")
        raise RuntimeError("the batch fails after its first statement")


def _only_beta_device(store: SqlStore) -> str:
    with store.engine.connect() as connection:
        device: str | None = (
            connection.execute(
                sa.text(
                    "SELECT device_id FROM distribution_records GROUP BY device_id "
                    "HAVING min(originator_user_id) = :beta AND max(originator_user_id) = :beta"
                ),
                {"beta": BETA_USER_ID},
            )
            .scalars()
            .first()
        )
    assert device is not None, "the seed gives Beta Power devices of its own"
    return device


def test_a_device_only_another_party_has_costs_the_statements_of_one_nobody_has(
    api_store: SqlStore, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§7: not found and not permitted must not differ in the database work they take, or in time."""
    alpha = lookup.Viewer("alpha", frozenset({ALPHA_USER_ID}))
    policy = RetentionPolicy()
    lean = LeanLookupStore(api_store.engine)
    statements: list[str] = []
    rows = LeanReadTransaction._rows

    def recorded(self: LeanReadTransaction, sql: str, parameters: Sequence[object]) -> list[Any]:
        statements.append(sql)
        return rows(self, sql, parameters)

    monkeypatch.setattr(LeanReadTransaction, "_rows", recorded)

    @sa.event.listens_for(api_store.engine, "before_cursor_execute")
    def _general(_connection: object, _cursor: object, sql: str, *_rest: object) -> None:
        statements.append(sql)

    def run(device: str) -> list[str]:
        statements.clear()
        for source in (lean, api_store):
            with pytest.raises(RecordsNotFound) as refused:
                lookup.records_by_device(source, alpha, device, policy)
            assert str(refused.value) == f"No firmware distribution records found for Device ID {device}"
        return list(statements)

    others = _only_beta_device(api_store)
    assert run(others) == run("00-00-00-00-00-00-00-00")
    assert statements
