"""The derivation rule (SPEC §5.1): a record's state as a pure function of the set of its events.

The state is an order-independent fold: the current event is a maximum under a total order and
firmware version / device type come from a minimum, so absorbing events one at a time, in any
order or batches, yields exactly what `derive_state` gives for the whole set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce

from fdtrack.domain.events import TrackingEvent
from fdtrack.domain.statuses import CompletionStatus, ProcessingStatus

RANK_TIME_WIDTH = 26  # len("2026-11-20T10:00:00.000000"): fixed, so text order is time order
_CURRENT_RANK_PREFIX = 2 + RANK_TIME_WIDTH + 1  # reset flag, stage, time, outcome


def moment_rank_text(moment: datetime) -> str:
    """A moment in UTC as fixed-width text, without the offset, so that text order is time order."""
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    return utc.isoformat(timespec="microseconds")[:RANK_TIME_WIDTH]


@dataclass(frozen=True, slots=True)
class CurrentStatus:
    """The event that decides a record's Current Status, with what is shown of it."""

    status: ProcessingStatus
    reason: str
    occurred_at: datetime
    event_id: str

    @property
    def rank(self) -> tuple[int, int, datetime, int, str]:
        """Total order of §5.1 (v2): a reset outranks everything; else stage, time, outcome, event_id.

        The time comes before the outcome so that a later failure at a stage (0x8F1C after a
        successful HAN transfer) and a later success (a re-sent 11.3 after a failed activation)
        both become current; success beats failure only at the same instant."""
        if self.status is ProcessingStatus.RESET_BY_DCC:
            return (1, 0, self.occurred_at, 0, self.event_id)
        stage, outcome = self.status.stage, self.status.outcome
        # Only Reset by DCC has neither a stage nor an outcome.
        assert stage is not None
        assert outcome is not None
        return (0, int(stage), self.occurred_at, int(outcome), self.event_id)

    @property
    def rank_text(self) -> str:
        """`rank` as text that sorts the same way byte by byte: the database merges stored states
        with it (a greater text wins), so both folds live here and cannot drift apart."""
        reset, stage, occurred_at, outcome, event_id = self.rank
        return f"{reset}{stage}{moment_rank_text(occurred_at)}{outcome}{event_id}"

    @staticmethod
    def event_id_of_rank_text(rank_text: str) -> str:
        """The event_id that `rank_text` ends with."""
        return rank_text[_CURRENT_RANK_PREFIX:]


@dataclass(frozen=True, slots=True)
class EarliestValue:
    """A record attribute taken from the earliest event carrying one (firmware version, device type)."""

    value: str
    occurred_at: datetime
    event_id: str

    @property
    def rank_text(self) -> str:
        """The order of 'earliest event carrying a value' (occurred_at, then event_id) as sortable text;
        the smaller text wins."""
        return f"{moment_rank_text(self.occurred_at)}{self.event_id}"

    @classmethod
    def from_rank_text(cls, value: str, rank_text: str) -> EarliestValue:
        occurred_at = datetime.fromisoformat(rank_text[:RANK_TIME_WIDTH]).replace(tzinfo=UTC)
        return cls(value, occurred_at, rank_text[RANK_TIME_WIDTH:])


@dataclass(frozen=True, slots=True)
class RecordState:
    """Everything about a distribution record that follows from its events."""

    current: CurrentStatus
    started_at: datetime
    firmware_version: EarliestValue | None = None
    device_type: EarliestValue | None = None

    @property
    def completion(self) -> CompletionStatus:
        return self.current.status.completion

    @property
    def is_reset(self) -> bool:
        return self.current.status is ProcessingStatus.RESET_BY_DCC


def absorb(state: RecordState | None, event: TrackingEvent) -> RecordState:
    """Fold one more event into a record's state (commutative and idempotent)."""
    candidate = CurrentStatus(event.status, event.reason, event.occurred_at, event.event_id)
    firmware = _earliest_value(event.firmware_version, event)
    device_type = _earliest_value(event.device_type.value if event.device_type else None, event)
    if state is None:
        return RecordState(candidate, event.occurred_at, firmware, device_type)
    # Written out rather than with max() and min() and key functions: this runs for every event ingested.
    return RecordState(
        current=candidate if candidate.rank > state.current.rank else state.current,
        started_at=event.occurred_at if event.occurred_at < state.started_at else state.started_at,
        firmware_version=_earlier(state.firmware_version, firmware),
        device_type=_earlier(state.device_type, device_type),
    )


def derive_state(events: Iterable[TrackingEvent]) -> RecordState:
    """The state of a record with exactly these events; raises ValueError for no events."""
    state = reduce(absorb, events, None)
    if state is None:
        raise ValueError("a distribution record has at least one event")
    return state


def history_order(event: TrackingEvent) -> tuple[datetime, str]:
    """History is ordered by occurred_at, then event_id (§5.1 rule 5)."""
    return (event.occurred_at, event.event_id)


def _earliest_value(value: str | None, event: TrackingEvent) -> EarliestValue | None:
    return None if value is None else EarliestValue(value, event.occurred_at, event.event_id)


def _earlier(left: EarliestValue | None, right: EarliestValue | None) -> EarliestValue | None:
    if left is None or right is None:
        return left or right
    return right if (right.occurred_at, right.event_id) < (left.occurred_at, left.event_id) else left
