"""The derivation rule (SPEC §5.1): a record's state follows from the set of its events alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import reduce
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fdtrack.domain.derivation import CurrentStatus, EarliestValue, RecordState, absorb, derive_state, history_order
from fdtrack.domain.device_types import DeviceType
from fdtrack.domain.events import TrackingEvent
from fdtrack.domain.identifiers import ServiceRequestId
from fdtrack.domain.statuses import ProcessingStatus as Status

FAST = settings(max_examples=200, deadline=None)

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
REQUEST = ServiceRequestId("90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-00-00-02", 1000)
DEVICE = "00-DB-12-34-56-78-90-A0"

# Stage and outcome of SPEC §4, written out independently of the status module.
SPEC_RANK = {
    Status.REJECTED_BY_DSP: (1, 0),
    Status.ACCEPTED_BY_DSP: (1, 1),
    Status.NOT_ACCEPTED_BY_CSP: (2, 0),
    Status.APPROVED_FOR_DISTRIBUTION: (2, 1),
    Status.FAILED_CH_TRANSFER: (3, 0),
    Status.SUCCESSFUL_CH_TRANSFER: (3, 1),
    Status.NOT_DELIVERED_AT_HAN: (4, 0),
    Status.SUCCESSFUL_HAN_TRANSFER: (4, 1),
    Status.ACTIVATION_FAILED: (5, 0),
    Status.FIRMWARE_ACTIVATED: (5, 1),
}
SPEC_COMPLETION = {status: "In Progress" for status in SPEC_RANK if SPEC_RANK[status][1] == 1}
SPEC_COMPLETION.update({status: "Failed" for status in SPEC_RANK if SPEC_RANK[status][1] == 0})
SPEC_COMPLETION[Status.FIRMWARE_ACTIVATED] = "Complete"
SPEC_COMPLETION[Status.RESET_BY_DCC] = "Failed"


def event(
    status: Status,
    minute: int,
    event_id: str | None = None,
    *,
    reason: str = "",
    firmware_version: str | None = None,
    device_type: DeviceType | None = None,
) -> TrackingEvent:
    return TrackingEvent(
        event_id=event_id or f"{status.value}@{minute}",
        request_id=REQUEST,
        device_id=DEVICE,
        status=status,
        occurred_at=T0 + timedelta(minutes=minute),
        reason=reason,
        firmware_version=firmware_version,
        device_type=device_type,
    )


def test_a_single_event_decides_everything() -> None:
    accepted = event(Status.ACCEPTED_BY_DSP, 0, reason="validated", firmware_version="1.0", device_type=DeviceType.ESME)
    state = derive_state([accepted])
    assert state.current.status is Status.ACCEPTED_BY_DSP
    assert state.current.reason == "validated"
    assert state.current.occurred_at == T0
    assert state.completion.value == "In Progress"
    assert state.started_at == T0
    assert state.firmware_version is not None
    assert state.firmware_version.value == "1.0"
    assert state.device_type is not None
    assert state.device_type.value == "ESME"
    assert not state.is_reset


def test_a_record_has_at_least_one_event() -> None:
    with pytest.raises(ValueError, match="at least one event"):
        derive_state([])


def test_a_higher_stage_beats_a_later_time() -> None:
    state = derive_state([event(Status.SUCCESSFUL_CH_TRANSFER, 1), event(Status.ACCEPTED_BY_DSP, 50)])
    assert state.current.status is Status.SUCCESSFUL_CH_TRANSFER
    assert state.current.occurred_at == T0 + timedelta(minutes=1)


def test_a_failure_at_a_higher_stage_beats_a_success_at_a_lower_one() -> None:
    state = derive_state([event(Status.FAILED_CH_TRANSFER, 1), event(Status.APPROVED_FOR_DISTRIBUTION, 9)])
    assert state.current.status is Status.FAILED_CH_TRANSFER
    assert state.completion.value == "Failed"


def test_a_later_failure_at_the_same_stage_beats_an_earlier_success() -> None:
    # A HAN transfer reported successful (CCS08), then the device's 0x8F1C: the image failed verification.
    state = derive_state(
        [event(Status.SUCCESSFUL_HAN_TRANSFER, 1), event(Status.NOT_DELIVERED_AT_HAN, 30, reason="8F1C")]
    )
    assert state.current.status is Status.NOT_DELIVERED_AT_HAN
    assert state.current.reason == "8F1C"
    assert state.completion.value == "Failed"


def test_a_later_success_at_the_same_stage_beats_an_earlier_failure() -> None:
    # Activation failed (8F67), the User re-sent the 11.3 and the device activated the image.
    state = derive_state([event(Status.ACTIVATION_FAILED, 10), event(Status.FIRMWARE_ACTIVATED, 90)])
    assert state.current.status is Status.FIRMWARE_ACTIVATED
    assert state.completion.value == "Complete"


def test_success_beats_failure_at_the_same_stage_only_at_the_same_instant() -> None:
    state = derive_state(
        [event(Status.NOT_DELIVERED_AT_HAN, 30, "zz-failure"), event(Status.SUCCESSFUL_HAN_TRANSFER, 30, "aa-success")]
    )
    assert state.current.status is Status.SUCCESSFUL_HAN_TRANSFER
    assert state.completion.value == "In Progress"


def test_the_later_event_wins_at_the_same_stage_and_outcome() -> None:
    state = derive_state(
        [
            event(Status.NOT_DELIVERED_AT_HAN, 30, "late", reason="second attempt failed"),
            event(Status.NOT_DELIVERED_AT_HAN, 10, "early", reason="first attempt failed"),
        ]
    )
    assert state.current.reason == "second attempt failed"
    assert state.current.occurred_at == T0 + timedelta(minutes=30)


def test_the_greater_event_id_breaks_a_tie_of_time() -> None:
    state = derive_state(
        [
            event(Status.ACTIVATION_FAILED, 5, "b", reason="from b"),
            event(Status.ACTIVATION_FAILED, 5, "a", reason="from a"),
        ]
    )
    assert state.current.event_id == "b"
    assert state.current.reason == "from b"


def test_current_status_reason_and_time_come_from_the_current_event() -> None:
    state = derive_state(
        [
            event(Status.ACCEPTED_BY_DSP, 0, reason="validated"),
            event(Status.FIRMWARE_ACTIVATED, 40, reason="activated"),
            event(Status.SUCCESSFUL_HAN_TRANSFER, 20, reason="on the device"),
        ]
    )
    assert (state.current.status, state.current.reason, state.current.occurred_at) == (
        Status.FIRMWARE_ACTIVATED,
        "activated",
        T0 + timedelta(minutes=40),
    )
    assert state.completion.value == "Complete"


def test_a_reset_wins_over_every_other_status() -> None:
    state = derive_state(
        [
            event(Status.ACCEPTED_BY_DSP, 0),
            event(Status.RESET_BY_DCC, 5, reason="stuck"),
            event(Status.FIRMWARE_ACTIVATED, 3),
        ]
    )
    assert state.current.status is Status.RESET_BY_DCC
    assert state.current.reason == "stuck"
    assert state.completion.value == "Failed"
    assert state.is_reset


def test_a_reset_record_never_changes_status_again() -> None:
    reset = derive_state([event(Status.ACCEPTED_BY_DSP, 0), event(Status.RESET_BY_DCC, 5, reason="stuck")])
    later = reduce(absorb, [event(Status.FIRMWARE_ACTIVATED, 90), event(Status.SUCCESSFUL_HAN_TRANSFER, 60)], reset)
    assert later.current == reset.current


def test_the_latest_reset_is_the_current_one() -> None:
    state = derive_state(
        [
            event(Status.RESET_BY_DCC, 20, "reset-1", reason="second"),
            event(Status.RESET_BY_DCC, 10, "reset-2", reason="first"),
            event(Status.ACCEPTED_BY_DSP, 0),
        ]
    )
    assert state.current.reason == "second"


def test_firmware_version_and_device_type_come_from_the_earliest_event_that_carries_one() -> None:
    state = derive_state(
        [
            event(Status.ACCEPTED_BY_DSP, 0),
            event(Status.SUCCESSFUL_CH_TRANSFER, 30, firmware_version="2.0", device_type=DeviceType.GSME),
            event(Status.APPROVED_FOR_DISTRIBUTION, 10, firmware_version="1.0"),
            event(Status.SUCCESSFUL_HAN_TRANSFER, 20, device_type=DeviceType.ESME),
        ]
    )
    assert state.firmware_version is not None
    assert state.firmware_version.value == "1.0"
    assert state.device_type is not None
    assert state.device_type.value == "ESME"


def test_the_smaller_event_id_gives_the_firmware_version_when_times_tie() -> None:
    state = derive_state(
        [
            event(Status.ACCEPTED_BY_DSP, 0, "b", firmware_version="B"),
            event(Status.ACCEPTED_BY_DSP, 0, "a", firmware_version="A"),
        ]
    )
    assert state.firmware_version is not None
    assert state.firmware_version.value == "A"


def test_firmware_version_and_device_type_are_blank_when_no_event_carries_one() -> None:
    state = derive_state([event(Status.ACCEPTED_BY_DSP, 0), event(Status.FIRMWARE_ACTIVATED, 9)])
    assert state.firmware_version is None
    assert state.device_type is None


def test_a_record_starts_at_its_earliest_event() -> None:
    state = derive_state(
        [event(Status.SUCCESSFUL_CH_TRANSFER, 30), event(Status.ACCEPTED_BY_DSP, 5), event(Status.RESET_BY_DCC, 50)]
    )
    assert state.started_at == T0 + timedelta(minutes=5)


def test_history_is_ordered_by_time_then_event_id() -> None:
    events = [
        event(Status.SUCCESSFUL_CH_TRANSFER, 20, "c"),
        event(Status.ACCEPTED_BY_DSP, 0, "z"),
        event(Status.APPROVED_FOR_DISTRIBUTION, 10, "b"),
        event(Status.NOT_DELIVERED_AT_HAN, 10, "a"),
    ]
    assert [e.event_id for e in sorted(events, key=history_order)] == ["z", "a", "b", "c"]


# Small ranges make ties of time and of event_id order frequent, so every rule gets exercised.
event_ids = st.text(alphabet="abcdef", min_size=1, max_size=3)
single_events = st.builds(
    event,
    status=st.sampled_from(Status),
    minute=st.integers(min_value=0, max_value=12),
    event_id=event_ids,
    reason=st.sampled_from(["", "r1", "r2"]),
    firmware_version=st.one_of(st.none(), st.sampled_from(["1.0", "2.0", "3.0"])),
    device_type=st.one_of(st.none(), st.sampled_from(DeviceType)),
)
# event_id is unique across accepted events (§5.2), so a record never holds two events with one id.
event_sets = st.lists(single_events, min_size=1, max_size=12, unique_by=lambda e: e.event_id)


def spec_current(events: list[TrackingEvent]) -> TrackingEvent:
    """§5.1 rules 1 and 2 as written, as an oracle."""
    resets = [e for e in events if e.status is Status.RESET_BY_DCC]
    if resets:
        return max(resets, key=lambda e: (e.occurred_at, e.event_id))
    return max(events, key=lambda e: (SPEC_RANK[e.status][0], e.occurred_at, SPEC_RANK[e.status][1], e.event_id))


def spec_earliest(events: list[TrackingEvent], attribute: str) -> str | None:
    carrying = [e for e in events if getattr(e, attribute) is not None]
    if not carrying:
        return None
    return str(getattr(min(carrying, key=lambda e: (e.occurred_at, e.event_id)), attribute))


@FAST
@given(event_sets)
def test_the_state_follows_the_rules_as_written(events: list[TrackingEvent]) -> None:
    state = derive_state(events)
    current = spec_current(events)
    assert (state.current.status, state.current.reason, state.current.occurred_at, state.current.event_id) == (
        current.status,
        current.reason,
        current.occurred_at,
        current.event_id,
    )
    assert state.started_at == min(e.occurred_at for e in events)
    assert (state.firmware_version.value if state.firmware_version else None) == spec_earliest(
        events, "firmware_version"
    )
    assert (state.device_type.value if state.device_type else None) == spec_earliest(events, "device_type")


@FAST
@given(event_sets, st.data())
def test_any_permutation_of_the_same_events_gives_the_same_state(
    events: list[TrackingEvent], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(events))
    assert derive_state(shuffled) == derive_state(events)


@FAST
@given(event_sets, st.data())
def test_absorbing_batches_in_any_order_equals_deriving_the_whole_set(
    events: list[TrackingEvent], data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(min_value=0, max_value=len(events)), max_size=4)))
    bounds = [0, *cuts, len(events)]
    batches = [events[start:end] for start, end in pairwise(bounds)]
    state: RecordState | None = None
    for batch in data.draw(st.permutations(batches)):
        state = reduce(absorb, batch, state)
    assert state == derive_state(events)


@FAST
@given(event_sets, st.data())
def test_absorbing_an_event_already_absorbed_changes_nothing(events: list[TrackingEvent], data: st.DataObject) -> None:
    state = derive_state(events)
    again = data.draw(st.sampled_from(events))
    assert absorb(state, again) == state


@FAST
@given(event_sets)
def test_the_completion_status_always_follows_the_current_status_through_the_table(
    events: list[TrackingEvent],
) -> None:
    state = derive_state(events)
    assert state.completion.value == SPEC_COMPLETION[state.current.status]
    assert state.is_reset == any(e.status is Status.RESET_BY_DCC for e in events)


@FAST
@given(single_events, single_events)
def test_the_rank_text_the_database_compares_sorts_as_the_rank(left: TrackingEvent, right: TrackingEvent) -> None:
    one, other = derive_state([left]).current, derive_state([right]).current
    assert (one.rank_text < other.rank_text) == (one.rank < other.rank)
    assert CurrentStatus.event_id_of_rank_text(one.rank_text) == one.event_id


@FAST
@given(single_events, single_events)
def test_the_earliest_value_rank_text_sorts_as_time_then_event_id(left: TrackingEvent, right: TrackingEvent) -> None:
    one = EarliestValue("1.0", left.occurred_at, left.event_id)
    other = EarliestValue("1.0", right.occurred_at, right.event_id)
    assert (one.rank_text < other.rank_text) == ((one.occurred_at, one.event_id) < (other.occurred_at, other.event_id))
    assert EarliestValue.from_rank_text("1.0", one.rank_text) == one
