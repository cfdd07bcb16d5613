"""Simulated event traffic for the fault tests, and the states they compare: a clean run's, or the derivation rule's."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from conftest import Snapshot, database_snapshot
from fdtrack.adapters.db.engine import make_engine
from fdtrack.adapters.db.store import SqlStore
from fdtrack.domain.derivation import RecordState, derive_state
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.events import TrackingEvent, validate_event_with_digest
from fdtrack.services.ports import RecordKey
from fdtrack.simulator import SimulationConfig, Simulator

Rejections = list[tuple[object, ...]]
# A record as the derivation rule gives it: its state and the ids of its events.
Derived = dict[RecordKey, tuple[RecordState, frozenset[str]]]
# §5.3 judges an event without a request when it arrives: re-sending one that was rejected for this
# can attach it once its record has arrived, so a stream that has such rejections is not idempotent.
ORDER_SENSITIVE_REJECTION = "no firmware distribution in progress"


def simulated_events(seed: int, *, requests: int = 40, unattached_rate: float = 0.3) -> list[str]:
    """NDJSON lines of simulated traffic over the last five days, in arrival order."""
    config = SimulationConfig(
        requests=requests,
        max_devices=300,
        seed=seed,
        end=datetime.now(UTC),
        days=5,
        unattached_rate=unattached_rate,
    )
    return list(Simulator(config).lines())


def with_bad_events(lines: Sequence[str], seed: int, *, conflicts: bool = True) -> list[str]:
    """The lines with invalid events mixed in (and, if asked, an event_id re-used with other content a
    little later), so that rejections are part of the state compared."""
    rng = random.Random(seed)
    mixed: list[str] = []
    later: dict[int, str] = {}
    seen: set[str] = set()
    for number, line in enumerate(lines):
        mixed.append(line)
        if number in later:
            mixed.append(later.pop(number))
        # A line sent twice gets no second bad copy: each rejection then has one source, whatever the order.
        fresh = line not in seen
        seen.add(line)
        if fresh and rng.random() < 0.03:
            mixed.append(_invalid_copy(line, rng))
        fields = json.loads(line)
        if conflicts and fresh and "event_id" in fields and rng.random() < 0.01:
            later[number + rng.randint(1, 50)] = json.dumps({**fields, "reason": "sent again with other content"})
    mixed.extend(later.values())
    return mixed


def _invalid_copy(line: str, rng: random.Random) -> str:
    fields = json.loads(line)
    kind = rng.choice(("naive time", "excluded type", "unknown status", "truncated"))
    if kind == "naive time":
        return json.dumps({**fields, "occurred_at": fields["occurred_at"].rstrip("Z")})
    if kind == "excluded type":
        return json.dumps({**fields, "device_type": "CHF"})
    if kind == "unknown status":
        return json.dumps({**fields, "status": "Lost in the post"})
    return line[: len(line) // 2]


class EventCounter:
    """Counts stored events on a connection of its own, to see how far the server has got."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    def __call__(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM status_events")).scalar_one())

    def close(self) -> None:
        self.engine.dispose()


def batches(lines: Sequence[str], size: int) -> list[list[str]]:
    return [list(lines[start : start + size]) for start in range(0, len(lines), size)]


def rejections_snapshot(url: str) -> Rejections:
    """Every kept rejection with what an operator sees of it, without receipt times."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT source, format, raw, reason, resolved_at IS NULL AS open FROM rejected_events"
                    " ORDER BY raw, reason"
                )
            )
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


def final_state(url: str) -> tuple[Snapshot, Rejections]:
    """What a run leaves behind: records with their derived states and events, and rejections."""
    return database_snapshot(url), rejections_snapshot(url)


def derived_records(lines: Iterable[str], now: datetime) -> Derived:
    """The oracle: `derive_state` over each record's distinct valid events (every event names its request)."""
    events: dict[str, TrackingEvent] = {}
    for line in lines:
        try:
            event, _digest = validate_event_with_digest(json.loads(line), now=now)
        except (InvalidInput, ValueError):
            continue  # rejected by ingestion too
        assert event.request_id is not None, "the oracle needs events that name their request"
        events.setdefault(event.event_id, event)
    grouped: dict[RecordKey, list[TrackingEvent]] = defaultdict(list)
    for event in events.values():
        grouped[(str(event.request_id), event.device_id)].append(event)
    return {key: (derive_state(history), frozenset(e.event_id for e in history)) for key, history in grouped.items()}


def stored_records(url: str) -> Derived:
    """Every stored record's state and the ids of its stored events, in the oracle's shape."""
    store = SqlStore.open(url)
    try:
        with store.engine.connect() as connection:
            devices = connection.execute(sa.text("SELECT DISTINCT device_id FROM distribution_records")).scalars()
            device_ids = list(devices)
            pairs = connection.execute(
                sa.text(
                    "SELECT r.service_request_id, r.device_id, e.event_id"
                    " FROM status_events e JOIN distribution_records r ON r.id = e.record_id"
                )
            )
            event_ids: dict[RecordKey, set[str]] = defaultdict(set)
            for request_id, device_id, event_id in pairs:
                event_ids[(request_id, device_id)].add(event_id)
        stored: Derived = {}
        with store.read() as tx:
            for device_id in device_ids:
                for record in tx.records_by_device(device_id, None):
                    stored[record.key] = (record.state, frozenset(event_ids[record.key]))
        return stored
    finally:
        store.dispose()
