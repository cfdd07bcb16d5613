"""Reset by DCC (SPEC §5.4) and the record an event without a request attaches to (§5.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fdtrack.domain.derivation import absorb, derive_state
from fdtrack.domain.errors import InvalidInput, NothingToReset
from fdtrack.domain.events import TrackingEvent
from fdtrack.domain.identifiers import ServiceRequestId
from fdtrack.domain.reset import (
    RecordSummary,
    ResetNeedsForce,
    ResetRule,
    choose_record_to_reset,
    latest_in_progress,
    record_for_device_alert,
    reset_event,
    reset_rule,
    validate_reset_reason,
)
from fdtrack.domain.statuses import CompletionStatus
from fdtrack.domain.statuses import ProcessingStatus as Status

DEVICE = "00-DB-12-34-56-78-90-A0"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def request(counter: int) -> ServiceRequestId:
    return ServiceRequestId("90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-00-00-02", counter)


def record(counter: int, status: Status, started_day: int) -> RecordSummary:
    return RecordSummary(request(counter), DEVICE, status.completion, T0 + timedelta(days=started_day), status)


OLD_IN_PROGRESS = record(1, Status.SUCCESSFUL_CH_TRANSFER, 0)
NEW_IN_PROGRESS = record(2, Status.ACCEPTED_BY_DSP, 5)
NEWEST_FAILED = record(3, Status.NOT_DELIVERED_AT_HAN, 8)
NEWEST_COMPLETE = record(4, Status.FIRMWARE_ACTIVATED, 9)
NEWEST_RESET = record(5, Status.RESET_BY_DCC, 10)
RECORDS = [OLD_IN_PROGRESS, NEWEST_FAILED, NEW_IN_PROGRESS, NEWEST_COMPLETE, NEWEST_RESET]


def test_the_latest_in_progress_record_is_the_one_started_most_recently() -> None:
    assert latest_in_progress(RECORDS) == NEW_IN_PROGRESS


def test_records_that_are_not_in_progress_are_never_chosen() -> None:
    assert latest_in_progress([NEWEST_FAILED, NEWEST_COMPLETE, NEWEST_RESET]) is None
    assert latest_in_progress([]) is None


def test_an_event_without_a_request_attaches_to_a_record_whose_han_transfer_or_activation_failed() -> None:
    # §5.3 v2: a retried HAN transfer or a re-sent 11.3 can still succeed.
    assert record_for_device_alert(RECORDS) == NEWEST_FAILED
    activation_failed = record(7, Status.ACTIVATION_FAILED, 11)
    assert record_for_device_alert([*RECORDS, activation_failed]) == activation_failed


@pytest.mark.parametrize(
    "status",
    [Status.REJECTED_BY_DSP, Status.NOT_ACCEPTED_BY_CSP, Status.FAILED_CH_TRANSFER],
)
def test_an_event_without_a_request_never_attaches_to_a_record_that_failed_before_the_han(status: Status) -> None:
    assert record_for_device_alert([record(1, status, 0)]) is None


def test_an_event_without_a_request_never_attaches_to_a_complete_or_reset_record() -> None:
    assert record_for_device_alert([NEWEST_COMPLETE, NEWEST_RESET]) is None
    assert record_for_device_alert([OLD_IN_PROGRESS, NEWEST_COMPLETE, NEWEST_RESET]) == OLD_IN_PROGRESS


@settings(max_examples=100, deadline=None)
@given(st.permutations([*RECORDS, record(6, Status.APPROVED_FOR_DISTRIBUTION, 5)]))
def test_the_choice_does_not_depend_on_the_order_records_are_listed(records: list[RecordSummary]) -> None:
    assert latest_in_progress(records) == latest_in_progress(list(reversed(records)))
    chosen = latest_in_progress(records)
    assert chosen is not None
    assert chosen.started_at == NEW_IN_PROGRESS.started_at


def test_without_a_request_the_reset_applies_to_the_latest_in_progress_record() -> None:
    assert choose_record_to_reset(DEVICE, RECORDS, None) == NEW_IN_PROGRESS


def test_a_named_in_progress_request_is_reset_even_when_it_is_not_the_latest() -> None:
    assert choose_record_to_reset(DEVICE, RECORDS, request(1)) == OLD_IN_PROGRESS


def test_with_no_in_progress_record_nothing_is_reset_and_the_operator_is_told_why() -> None:
    with pytest.raises(NothingToReset, match="no firmware distribution in progress") as raised:
        choose_record_to_reset(DEVICE, [NEWEST_FAILED, NEWEST_COMPLETE], None)
    assert DEVICE in str(raised.value)


def test_a_named_request_without_a_record_for_the_device_is_refused() -> None:
    with pytest.raises(NothingToReset) as raised:
        choose_record_to_reset(DEVICE, RECORDS, request(99))
    assert str(request(99)) in str(raised.value)
    assert DEVICE in str(raised.value)


NOT_IN_PROGRESS = [status for status in Status if status.completion is not CompletionStatus.IN_PROGRESS]
IN_PROGRESS = [status for status in Status if status.completion is CompletionStatus.IN_PROGRESS]
FORCEABLE = [status for status in NOT_IN_PROGRESS if status is not Status.RESET_BY_DCC]


def test_every_status_has_a_reset_rule_and_only_reset_by_dcc_can_never_be_replaced() -> None:
    rules = {status: reset_rule(status) for status in Status}
    assert [s for s, rule in rules.items() if rule is ResetRule.NEVER] == [Status.RESET_BY_DCC]
    assert [s for s, rule in rules.items() if rule is ResetRule.ALLOWED] == IN_PROGRESS
    assert [s for s, rule in rules.items() if rule is ResetRule.FORCED_ONLY] == FORCEABLE
    assert Status.FIRMWARE_ACTIVATED in FORCEABLE
    assert Status.NOT_DELIVERED_AT_HAN in FORCEABLE


@pytest.mark.parametrize("status", IN_PROGRESS)
@pytest.mark.parametrize("force", [False, True])
def test_a_named_in_progress_record_is_reset_whether_forced_or_not(status: Status, force: bool) -> None:
    named = record(8, status, 1)
    assert choose_record_to_reset(DEVICE, [*RECORDS, named], named.request_id, force=force) == named


@pytest.mark.parametrize("status", FORCEABLE)
def test_a_named_record_that_is_not_in_progress_needs_forcing_and_says_so(status: Status) -> None:
    named = record(8, status, 1)
    with pytest.raises(ResetNeedsForce) as raised:
        choose_record_to_reset(DEVICE, [*RECORDS, named], named.request_id)
    message = str(raised.value)
    assert f"is {status.completion.value} ({status.value})" in message
    assert DEVICE in message
    assert str(named.request_id) in message
    assert message.endswith("force the reset to reset a record that is not In Progress")
    assert raised.value.record == named
    # Each interface says how to force in its own words; the rest of the message is the same.
    explained = raised.value.explain("add --force")
    assert explained == message.replace("force the reset", "add --force")
    assert isinstance(raised.value, NothingToReset)  # so every interface maps it as a refused reset


@pytest.mark.parametrize("status", FORCEABLE)
def test_a_named_record_that_is_not_in_progress_is_reset_when_forced(status: Status) -> None:
    named = record(8, status, 1)
    assert choose_record_to_reset(DEVICE, [*RECORDS, named], named.request_id, force=True) == named


@pytest.mark.parametrize("force", [False, True])
def test_a_named_record_already_reset_by_dcc_is_refused_even_when_forced(force: bool) -> None:
    with pytest.raises(NothingToReset) as raised:
        choose_record_to_reset(DEVICE, RECORDS, NEWEST_RESET.request_id, force=force)
    assert not isinstance(raised.value, ResetNeedsForce)  # forcing would not help: say so
    assert str(raised.value) == (
        f"the record for device {DEVICE} in request {NEWEST_RESET.request_id} is already Reset by DCC "
        "and cannot be reset again"
    )


@pytest.mark.parametrize("force", [False, True])
def test_forcing_without_a_named_request_still_takes_only_an_in_progress_record(force: bool) -> None:
    assert choose_record_to_reset(DEVICE, RECORDS, None, force=force) == NEW_IN_PROGRESS
    with pytest.raises(NothingToReset, match="name a record's Service Request ID") as raised:
        choose_record_to_reset(DEVICE, [NEWEST_FAILED, NEWEST_COMPLETE, NEWEST_RESET], None, force=force)
    assert not isinstance(raised.value, ResetNeedsForce)


@pytest.mark.parametrize("reason", [None, "", "   ", "\n\t", 42, ["stuck"]])
def test_a_reset_reason_is_mandatory(reason: object) -> None:
    with pytest.raises(InvalidInput, match="required") as raised:
        validate_reset_reason(reason)
    assert raised.value.field == "reason"


@pytest.mark.parametrize("reason", ["x", "r" * 512, "device stuck at HAN for 5 days"])
def test_a_reason_of_1_to_512_characters_is_accepted(reason: str) -> None:
    assert validate_reset_reason(reason) == reason


def test_a_reason_is_trimmed() -> None:
    assert validate_reset_reason("  stuck \n") == "stuck"


def test_a_reason_longer_than_512_characters_is_refused() -> None:
    with pytest.raises(InvalidInput, match="512") as raised:
        validate_reset_reason("r" * 513)
    assert raised.value.field == "reason"


def test_the_reset_event_is_reset_by_dcc_now_with_the_reason_on_the_chosen_record() -> None:
    event = reset_event(NEW_IN_PROGRESS, "stuck", NOW)
    assert event.status is Status.RESET_BY_DCC
    assert event.occurred_at == NOW
    assert event.reason == "stuck"
    assert event.request_id == NEW_IN_PROGRESS.request_id
    assert event.device_id == DEVICE
    assert 1 <= len(event.event_id) <= 128


def test_every_reset_gets_its_own_event_id() -> None:
    assert reset_event(NEW_IN_PROGRESS, "stuck", NOW).event_id != reset_event(NEW_IN_PROGRESS, "stuck", NOW).event_id


def test_a_reset_event_turns_an_in_progress_record_into_a_failed_reset_record() -> None:
    accepted = TrackingEvent("e1", request(2), DEVICE, Status.SUCCESSFUL_HAN_TRANSFER, T0)
    state = absorb(derive_state([accepted]), reset_event(NEW_IN_PROGRESS, "stuck", NOW))
    assert state.current.status is Status.RESET_BY_DCC
    assert state.current.reason == "stuck"
    assert state.completion.value == "Failed"
