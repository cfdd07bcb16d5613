"""Realistic firmware-distribution event streams for the demo, the benchmarks and the tests.

Each simulated Update Firmware request names devices of one type and model (one firmware image fits
one device model; 11.1: ESME, GSME or HCALCS; 11.4: PPMID). Every device walks the five stages with
per-stage failure rates and delays of seconds (DSP) to days (HAN, activation). Events are written in
order of *arrival*, which lags their occurrence at random, so some arrive late and out of order; some
are sent twice; HAN and activation outcomes may arrive as device alerts without a request ID; stuck
devices are reset.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fdtrack.domain.statuses import ProcessingStatus as Status
from fdtrack.domain.timestamps import format_rfc3339

DCC_TARGET = "90-B3-D5-1F-30-00-00-02"
DEFAULT_ORIGINATORS = ("90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-00", "90-B3-D5-1F-30-03-00-00")
# The device model of each simulated device type, as a device inventory names it.
DEVICE_MODELS = {
    "ESME": "Aurora E2 Electricity",
    "GSME": "Aurora G2 Gas",
    "HCALCS": "Aurora HC Switch",
    "PPMID": "Aurora P2 Display",
}
SMETS_VERSION = "SMETS2"

# (success, failure, failure reasons): the five stages in order.
_STAGES: tuple[tuple[Status, Status, tuple[str, ...]], ...] = (
    (
        Status.ACCEPTED_BY_DSP,
        Status.REJECTED_BY_DSP,
        (
            "Device not commissioned",
            "Other firmware request in progress",
            "Firmware not applicable to device",
            "Invalid GBCS version",
            "Device ID not known to the DCC",
        ),
    ),
    (
        Status.APPROVED_FOR_DISTRIBUTION,
        Status.NOT_ACCEPTED_BY_CSP,
        ("CSP could not schedule distribution", "No WAN coverage"),
    ),
    (
        Status.SUCCESSFUL_CH_TRANSFER,
        Status.FAILED_CH_TRANSFER,
        ("FileTransferFailure", "Communications Hub unreachable"),
    ),
    (
        Status.SUCCESSFUL_HAN_TRANSFER,
        Status.NOT_DELIVERED_AT_HAN,
        (
            "FirmwareImageDiscarded",
            "HardwareVersionMismatch",
            "FileTransferFailure",
            "Verification failed (0x8F1C)",
        ),
    ),
    (Status.FIRMWARE_ACTIVATED, Status.ACTIVATION_FAILED, ("Hash mismatch", "No image held", "Activation failure")),
)
_DEFAULT_FAILURE_RATES = (0.03, 0.01, 0.04, 0.05, 0.02)
# (minimum, maximum) delay after the previous stage, in seconds.
_DELAYS = ((1, 120), (60, 3_600), (3_600, 12 * 3_600), (1_800, 2 * 86_400), (600, 3 * 86_400))


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate; the defaults give a mixed, realistic stream."""

    requests: int = 100
    max_devices: int = 50_000
    devices_per_request: int | None = None  # fixed size; None draws sizes from a realistic mix
    records: int | None = None  # stop once this many device records were generated
    seed: int = 1
    end: datetime = field(default_factory=lambda: datetime.now(UTC))
    days: float = 7.0
    failure_scale: float = 1.0
    duplicate_rate: float = 0.01
    late_rate: float = 0.02
    unattached_rate: float = 0.3  # HAN/activation outcomes sent as device alerts without request ID
    stuck_rate: float = 0.01  # devices that stop answering and are reset by the DCC after 3 days
    complete: bool = False  # run every device to its last stage, ignoring the end of the window
    originators: Sequence[str] = DEFAULT_ORIGINATORS
    large_requests: Sequence[int] = ()  # sizes of extra requests to include (e.g. one of 50,000)
    typed_events: bool = True  # whether Accepted by DSP events carry the device type (DUIS ones do not)
    keep_devices: bool = False  # remember each device and its type, for a device inventory (`devices`)


class Simulator:
    """Generates NDJSON lines in arrival order, holding only the events still to be released."""

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.random = random.Random(config.seed)
        self.records = 0
        self.events = 0
        self._sequence = 0
        self._device_counter = self.random.randrange(1 << 64)
        # (Device ID, device type) of every simulated device, when the config asks to keep them.
        self.devices: list[tuple[str, str]] = []

    def lines(self) -> Iterator[str]:
        for _, line in self.arrivals():
            yield line

    def arrivals(self) -> Iterator[tuple[datetime, str]]:
        """Each line with the moment it reaches fdtrack, in that order (what a loader replaying the
        stream day by day needs)."""
        config = self.config
        start = config.end - timedelta(days=config.days)
        sizes = self._request_sizes()
        starts = sorted(start + timedelta(seconds=self.random.uniform(0, config.days * 86_400)) for _ in sizes)
        # (arrival, sequence, line): plain tuples compare in C, which keeps a heap of millions quick.
        pending: list[tuple[datetime, int, str]] = []
        for index, (drawn, requested_at) in enumerate(zip(sizes, starts, strict=True)):
            size = drawn if config.records is None else min(drawn, config.records - self.records)
            if size <= 0:
                break
            # Everything due before this request began can be released: later requests only add later events.
            while pending and pending[0][0] <= requested_at:
                arrival, _, line = heapq.heappop(pending)
                yield arrival, line
            for arrival, line in self._request_events(index, size, requested_at):
                self._sequence += 1
                heapq.heappush(pending, (arrival, self._sequence, line))
        while pending:
            arrival, _, line = heapq.heappop(pending)
            yield arrival, line

    def _request_sizes(self) -> list[int]:
        config = self.config
        count = config.requests
        if config.records is not None and config.devices_per_request:
            count = -(-config.records // config.devices_per_request)
        sizes = [config.devices_per_request or self._draw_size() for _ in range(count)]
        sizes.extend(config.large_requests)
        self.random.shuffle(sizes)
        return sizes

    def _draw_size(self) -> int:
        roll, cap = self.random.random(), self.config.max_devices
        if roll < 0.55:
            size = 1
        elif roll < 0.85:
            size = self.random.randint(2, 100)
        elif roll < 0.98:
            size = self.random.randint(100, 2_000)
        else:
            size = self.random.randint(min(2_000, cap), cap)
        return max(1, min(size, cap))

    def _request_events(self, index: int, size: int, requested_at: datetime) -> Iterator[tuple[datetime, str]]:
        config, rnd = self.config, self.random
        originator = config.originators[index % len(config.originators)]
        request_id = f"{originator}:{DCC_TARGET}:{1_000 + index}"
        ppmid = rnd.random() < 0.1
        firmware_version = f"{rnd.randrange(1 << 32):08X}"
        device_type = "PPMID" if ppmid else rnd.choices(("ESME", "GSME", "HCALCS"), (0.5, 0.44, 0.06))[0]
        for device_number in range(size):
            self.records += 1
            device_id = self._next_device_id()
            if config.keep_devices:
                self.devices.append((device_id, device_type))
            yield from self._device_events(
                index, device_number, request_id, device_id, device_type, firmware_version, requested_at
            )

    def _next_device_id(self) -> str:
        self._device_counter = (self._device_counter + self.random.randrange(1, 1 << 16)) % (1 << 64)
        digits = f"{self._device_counter:016X}"
        return "-".join(digits[i : i + 2] for i in range(0, 16, 2))

    def _device_events(
        self,
        index: int,
        device_number: int,
        request_id: str,
        device_id: str,
        device_type: str,
        firmware_version: str,
        requested_at: datetime,
    ) -> Iterator[tuple[datetime, str]]:
        config, rnd = self.config, self.random
        moment = requested_at
        for stage, ((success, failure, reasons), rate, (low, high)) in enumerate(
            zip(_STAGES, _DEFAULT_FAILURE_RATES, _DELAYS, strict=True), start=1
        ):
            moment += timedelta(seconds=rnd.uniform(low, high))
            if not config.complete and moment > config.end:
                return
            if stage >= 3 and rnd.random() < config.stuck_rate:
                reset_at = moment + timedelta(days=3)
                if config.complete or reset_at <= config.end:
                    fields = {
                        "event_id": f"sim{config.seed}-{index}-{device_number}-reset",
                        "request_id": request_id,
                        "device_id": device_id,
                        "status": Status.RESET_BY_DCC.value,
                        "reason": "No response from device for 3 days; reset so the supplier can re-send",
                    }
                    yield from self._emit(fields, reset_at)
                return
            failed = rnd.random() < rate * config.failure_scale
            status = failure if failed else success
            fields = {"status": status.value, "device_id": device_id, "request_id": request_id}
            if failed:
                fields["reason"] = rnd.choice(reasons)
            if stage == 1:
                fields["firmware_version"] = firmware_version
                if config.typed_events:
                    fields["device_type"] = device_type
            if stage >= 4 and rnd.random() < config.unattached_rate:
                del fields["request_id"]  # a device alert: the event_id is derived from the content
            else:
                fields["event_id"] = f"sim{config.seed}-{index}-{device_number}-{stage}"
            yield from self._emit(fields, moment)
            if failed:
                return

    def _emit(self, fields: dict[str, str], occurred_at: datetime) -> Iterator[tuple[datetime, str]]:
        config, rnd = self.config, self.random
        fields["occurred_at"] = format_rfc3339(occurred_at.replace(microsecond=0))
        line = json.dumps(fields, separators=(",", ":"))
        lag = timedelta(seconds=rnd.expovariate(1 / 30))
        if rnd.random() < config.late_rate:
            lag += timedelta(hours=rnd.uniform(1, 24))  # held up upstream: arrives after later stages
        self.events += 1
        yield occurred_at + lag, line
        if rnd.random() < config.duplicate_rate:
            self.events += 1
            yield occurred_at + lag + timedelta(minutes=rnd.uniform(1, 600)), line
