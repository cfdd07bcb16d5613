"""The simulator writes streams the rest of fdtrack accepts, shaped as asked."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise

from fdtrack.domain.events import validate_event
from fdtrack.simulator import SimulationConfig, Simulator

END = datetime(2026, 11, 20, tzinfo=UTC)


def lines(**overrides: object) -> list[dict[str, str]]:
    config = SimulationConfig(**{"end": END, **overrides})  # type: ignore[arg-type]
    return [json.loads(line) for line in Simulator(config).lines()]


def test_every_simulated_event_is_valid() -> None:
    for fields in lines(requests=30, max_devices=50, seed=3):
        validate_event(fields, now=END)


def test_the_same_seed_gives_the_same_stream() -> None:
    assert lines(requests=10, max_devices=20, seed=5) == lines(requests=10, max_devices=20, seed=5)


def test_small_device_caps_are_respected() -> None:
    events = lines(requests=200, max_devices=3, seed=1)
    per_request = Counter((e.get("request_id"), e["device_id"]) for e in events if e.get("request_id"))
    requests = Counter(request for request, _ in per_request)
    assert max(requests.values()) <= 3


def test_a_complete_run_without_failures_gives_five_stages_per_record() -> None:
    events = lines(
        records=50, requests=50, failure_scale=0, duplicate_rate=0, unattached_rate=0, stuck_rate=0, complete=True
    )
    per_record = Counter((e["request_id"], e["device_id"]) for e in events)
    assert len(per_record) == 50
    assert set(per_record.values()) == {5}
    assert {e["status"] for e in events} == {
        "Accepted by DSP",
        "Approved for Distribution",
        "Successful CH Transfer",
        "Successful HAN Transfer",
        "Firmware Activated",
    }


def test_events_arrive_roughly_in_time_but_some_late() -> None:
    events = lines(requests=40, max_devices=50, seed=2, late_rate=0.2)
    times = [datetime.fromisoformat(e["occurred_at"]) for e in events]
    out_of_order = sum(1 for earlier, later in pairwise(times) if later < earlier)
    assert 0 < out_of_order < len(times) // 2


def test_nothing_happens_after_the_end_of_the_window_unless_complete() -> None:
    events = lines(requests=40, max_devices=50, seed=4)
    assert all(datetime.fromisoformat(e["occurred_at"]) <= END for e in events)


def test_large_requests_can_be_added() -> None:
    events = lines(requests=1, max_devices=1, large_requests=(300,), seed=6, days=1)
    devices_by_request = Counter(e["request_id"] for e in events if e.get("status") == "Accepted by DSP")
    assert max(devices_by_request.values(), default=0) >= 250  # a few are rejected by the DSP


def test_device_alerts_without_request_ids_are_part_of_the_mix() -> None:
    events = lines(requests=30, max_devices=100, seed=8, unattached_rate=0.5)
    unattached = [e for e in events if "request_id" not in e]
    assert unattached
    assert {e["status"] for e in unattached} <= {
        "Successful HAN Transfer",
        "Not Delivered at HAN",
        "Firmware Activated",
        "Activation Failed",
    }
