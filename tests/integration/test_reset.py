"""Reset by DCC on both databases (SPEC §5.4 v2): forcing a record that is not In Progress, the audit entry, the
confirmation's preview (owner party and history) and the refusals that change nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from conftest import database_snapshot
from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.db.store import SqlStore
from fdtrack.domain.errors import NothingToReset
from fdtrack.domain.reset import ResetNeedsForce
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.domain.statuses import CompletionStatus, ProcessingStatus
from fdtrack.services.accounts import create_party
from fdtrack.services.ingest import ingest
from fdtrack.services.lookup import DistributionRecordView, Viewer, records_by_device
from fdtrack.services.reset import preview_reset, reset_device
from raw_events import ndjson_events

ALPHA_USER_ID = "90-B3-D5-1F-30-01-00-00"
UNREGISTERED_USER_ID = "90-B3-D5-1F-30-09-00-00"
DCC = "90-B3-D5-1F-30-00-00-02"
ACTIVATED = f"{ALPHA_USER_ID}:{DCC}:1000"  # Complete
IN_PROGRESS = f"{ALPHA_USER_ID}:{DCC}:1001"
FAILED_ELSEWHERE = f"{UNREGISTERED_USER_ID}:{DCC}:7"  # Failed, sent by a User ID no party owns
DEVICE = "00-DB-12-34-56-78-90-A0"
T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def event(request_id: str, status: str, hour: int, reason: str = "") -> dict[str, str]:
    fields = {"request_id": request_id, "device_id": DEVICE, "status": status}
    fields["occurred_at"] = (T0 + timedelta(hours=hour)).isoformat()
    return {**fields, "reason": reason} if reason else fields


@pytest.fixture
def device(store: SqlStore) -> SqlStore:
    """A device with a Complete, an In Progress and a Failed record, two of them of a registered party."""
    create_party(SqlAccountStore(store.engine), "Alpha Energy", [ALPHA_USER_ID], "test")
    events = [
        event(ACTIVATED, "Accepted by DSP", 0),
        event(ACTIVATED, "Successful HAN Transfer", 2),
        event(ACTIVATED, "Firmware Activated", 3),
        event(IN_PROGRESS, "Accepted by DSP", 10),
        event(FAILED_ELSEWHERE, "Accepted by DSP", 4),
        event(FAILED_ELSEWHERE, "Activation Failed", 6, reason="ImageNotValid"),
    ]
    assert ingest(store, ndjson_events(events)).accepted == len(events)
    return store


def record(store: SqlStore, request_id: str) -> DistributionRecordView:
    records = records_by_device(store, Viewer.everyone("test"), DEVICE, RetentionPolicy())
    return next(r for r in records if r.service_request_id == request_id)


def reset_audit(store: SqlStore) -> list[tuple[str, str, dict[str, object]]]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT actor, subject, detail FROM audit_log WHERE action = 'reset' ORDER BY id")
        ).all()
    return [(row.actor, row.subject, json.loads(row.detail)) for row in rows]


@pytest.mark.parametrize(
    ("request_id", "shown"),
    [(ACTIVATED, "Complete (Firmware Activated)"), (FAILED_ELSEWHERE, "Failed (Activation Failed)")],
)
def test_a_named_record_that_is_not_in_progress_is_not_reset_unless_forced(
    device: SqlStore, database_url: str, request_id: str, shown: str
) -> None:
    before = database_snapshot(database_url)
    with pytest.raises(ResetNeedsForce) as refused:
        reset_device(device, DEVICE, "User disputes it", "sc-jo", request_id, lambda: NOW)
    assert f"the record for device {DEVICE} in request {request_id} is {shown}" in str(refused.value)
    assert database_snapshot(database_url) == before  # nothing changed
    assert reset_audit(device) == []


def test_a_forced_reset_replaces_a_complete_record_and_the_audit_says_so(device: SqlStore) -> None:
    outcome = reset_device(
        device, DEVICE, " User says it never activated ", "sc-jo", ACTIVATED, lambda: NOW, force=True
    )
    assert (outcome.service_request_id, outcome.replaced_status, outcome.forced) == (
        ACTIVATED,
        ProcessingStatus.FIRMWARE_ACTIVATED,
        True,
    )
    assert outcome.reset_at == NOW
    reset = record(device, ACTIVATED)
    assert (reset.current_status, reset.completion_status) == (ProcessingStatus.RESET_BY_DCC, CompletionStatus.FAILED)
    assert reset.current_status_reason == "User says it never activated"
    assert [entry.status for entry in reset.history][-1] is ProcessingStatus.RESET_BY_DCC
    assert record(device, IN_PROGRESS).current_status is ProcessingStatus.ACCEPTED_BY_DSP  # the other is untouched
    assert reset_audit(device) == [
        (
            "sc-jo",
            f"{ACTIVATED} {DEVICE}",
            {
                "reason": "User says it never activated",
                "replaced_status": "Firmware Activated",
                "replaced_completion": "Complete",
                "forced": True,
                "channel": "cli",
            },
        )
    ]


def test_forcing_an_in_progress_record_is_an_ordinary_reset(device: SqlStore) -> None:
    outcome = reset_device(device, DEVICE, "stuck", "sc-jo", IN_PROGRESS, lambda: NOW, "api", force=True)
    assert (outcome.replaced_status, outcome.forced) == (ProcessingStatus.ACCEPTED_BY_DSP, False)
    [(_, _, detail)] = reset_audit(device)
    assert (detail["forced"], detail["replaced_completion"], detail["channel"]) == (False, "In Progress", "api")


def test_without_a_named_request_force_still_resets_only_the_in_progress_record(device: SqlStore) -> None:
    first = reset_device(device, DEVICE, "stuck", "sc-jo", force=True)
    assert first.service_request_id == IN_PROGRESS
    with pytest.raises(NothingToReset, match=f"no firmware distribution in progress for device {DEVICE}"):
        reset_device(device, DEVICE, "again", "sc-jo", force=True)
    assert record(device, ACTIVATED).current_status is ProcessingStatus.FIRMWARE_ACTIVATED


@pytest.mark.parametrize("force", [False, True])
def test_a_record_already_reset_by_dcc_is_never_reset_again(device: SqlStore, database_url: str, force: bool) -> None:
    reset_device(device, DEVICE, "first", "sc-jo", ACTIVATED, force=True)
    before = database_snapshot(database_url)
    with pytest.raises(NothingToReset) as refused:
        reset_device(device, DEVICE, "second", "sc-jo", ACTIVATED, force=force)
    assert not isinstance(refused.value, ResetNeedsForce)
    assert "is already Reset by DCC and cannot be reset again" in str(refused.value)
    assert database_snapshot(database_url) == before
    assert len(reset_audit(device)) == 1


def test_the_preview_shows_the_owner_party_statuses_and_history_and_changes_nothing(
    device: SqlStore, database_url: str
) -> None:
    before = database_snapshot(database_url)
    accounts = SqlAccountStore(device.engine)
    with pytest.raises(ResetNeedsForce):
        preview_reset(device, accounts, DEVICE, "disputed", ACTIVATED)
    preview = preview_reset(device, accounts, DEVICE, " disputed ", ACTIVATED, force=True)
    assert (preview.service_request_id, preview.device_id, preview.reason) == (ACTIVATED, DEVICE, "disputed")
    assert (preview.party, preview.owner, preview.originator) == ("Alpha Energy", "Alpha Energy", ALPHA_USER_ID)
    assert (preview.current_status, preview.completion_status) == (
        ProcessingStatus.FIRMWARE_ACTIVATED,
        CompletionStatus.COMPLETE,
    )
    assert preview.needs_force
    assert [(entry.status.value, entry.occurred_at) for entry in preview.history] == [
        ("Accepted by DSP", T0),
        ("Successful HAN Transfer", T0 + timedelta(hours=2)),
        ("Firmware Activated", T0 + timedelta(hours=3)),
    ]
    assert all(entry.received_at is not None for entry in preview.history)

    orphan = preview_reset(device, accounts, DEVICE, "disputed", FAILED_ELSEWHERE, force=True)
    assert orphan.party is None
    assert orphan.owner == f"no party registered for User ID {UNREGISTERED_USER_ID}"
    assert orphan.history[-1].reason == "ImageNotValid"

    ordinary = preview_reset(device, accounts, DEVICE, "stuck")
    assert (ordinary.service_request_id, ordinary.needs_force) == (IN_PROGRESS, False)
    assert database_snapshot(database_url) == before
