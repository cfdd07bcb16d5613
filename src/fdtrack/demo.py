"""The demo database: two supplier parties, demo logins, a device inventory and simulated tracking data with a
50,000-device request."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from fdtrack.adapters.event_files import csv_line, parse_ndjson_line
from fdtrack.domain.accounts import AlreadyExists, Role
from fdtrack.domain.errors import FdtrackError, RecordsNotFound
from fdtrack.domain.inventory import FIELDS
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.domain.statuses import ProcessingStatus
from fdtrack.domain.timestamps import format_rfc3339, parse_rfc3339
from fdtrack.services import lookup
from fdtrack.services.account_ports import AccountStore, PasswordHasher
from fdtrack.services.accounts import create_account, create_party, list_accounts, list_parties
from fdtrack.services.ingest import IngestOptions, IngestSummary, RawEvent, ingest
from fdtrack.services.inventory import INVENTORY_CSV, RawDeviceEntry, import_inventory
from fdtrack.services.ports import Store
from fdtrack.simulator import DCC_TARGET, DEVICE_MODELS, SMETS_VERSION, SimulationConfig, Simulator

NORTHERN, SOUTHERN = "Northern Energy Supply", "Southern Power Retail"
NORTHERN_IDS = ("90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-03-00-00")
SOUTHERN_IDS = ("90-B3-D5-1F-30-02-00-00",)
# The big request is simulated on its own, so its Service Request ID is known before it exists.
LARGE_REQUEST_ID = f"{SOUTHERN_IDS[0]}:{DCC_TARGET}:1000"
RESENT_COUNTER = 900_000  # re-sent requests after a Reset by DCC get counters from here
MAX_RESENT = 25
ACTOR = "demo"


@dataclass(frozen=True, slots=True)
class DemoLogin:
    username: str
    password: str
    role: Role
    party: str | None


DEMO_LOGINS = (
    DemoLogin("northern", "northern-demo-password", Role.USER, NORTHERN),
    DemoLogin("southern", "southern-demo-password", Role.USER, SOUTHERN),
    DemoLogin("service-centre", "service-centre-demo-password", Role.SERVICE_CENTRE, None),
    DemoLogin("admin", "admin-demo-password", Role.ADMIN, None),
)


@dataclass(frozen=True)
class DemoSize:
    """How much to simulate: about 2,000 requests of 1 to 120 devices plus one large request."""

    requests: int = 2_000
    large_request_devices: int = 50_000
    seed: int = 7

    def request_sizes(self) -> tuple[int, ...]:
        """Mostly single-device requests, some small batches: about 13 devices a request on average."""
        rnd = random.Random(self.seed)
        sizes = []
        for _ in range(self.requests):
            roll = rnd.random()
            sizes.append(1 if roll < 0.6 else rnd.randint(2, 30) if roll < 0.9 else rnd.randint(30, 120))
        return tuple(sizes)


class NotDemoData(FdtrackError):
    """The database holds more than the demo's own data: the demo refuses to touch it."""


def check_only_demo_data(store: Store, accounts: AccountStore) -> None:
    """Refuse a database that holds accounts, parties or records the demo did not make: the demo
    creates logins with published passwords and simulated records, which have no place beside real ones."""
    demo_names = {login.username for login in DEMO_LOGINS}
    others = sorted(listing.account.username for listing in list_accounts(accounts))
    foreign_accounts = [name for name in others if name not in demo_names]
    foreign_parties = sorted(party.name for party in list_parties(accounts) if party.name not in (NORTHERN, SOUTHERN))
    with store.read() as tx:
        foreign_records = tx.has_records_of_others(frozenset((*NORTHERN_IDS, *SOUTHERN_IDS)))
    found = [
        *([f"accounts {', '.join(foreign_accounts[:5])}"] if foreign_accounts else []),
        *([f"parties {', '.join(foreign_parties[:5])}"] if foreign_parties else []),
        *(["records of other User IDs"] if foreign_records else []),
    ]
    if found:
        raise NotDemoData(
            f"this database holds more than the demo's data ({'; '.join(found)}); the demo builds a database "
            "of its own: give it a new one, e.g. --database-url sqlite:///demo.db"
        )


def ensure_logins(accounts: AccountStore, hasher: PasswordHasher) -> tuple[DemoLogin, ...]:
    """Create the demo parties and accounts that are missing; existing ones are left as they are (their
    passwords too: somebody may have changed one on purpose)."""
    for name, user_ids in ((NORTHERN, NORTHERN_IDS), (SOUTHERN, SOUTHERN_IDS)):
        with contextlib.suppress(AlreadyExists):
            create_party(accounts, name, user_ids, ACTOR)
    for login in DEMO_LOGINS:
        with contextlib.suppress(AlreadyExists):
            create_account(accounts, hasher, login.username, login.role, login.password, ACTOR, login.party)
    return DEMO_LOGINS


def has_tracking_data(store: Store) -> bool:
    try:
        lookup.request_overview(store, lookup.Viewer.everyone(ACTOR), LARGE_REQUEST_ID)
    except RecordsNotFound:
        return False
    return True


def build_tracking_data(
    store: Store,
    options: IngestOptions,
    size: DemoSize,
    on_records: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> IngestSummary:
    """Load the device inventory, then simulate and ingest the demo's events, which carry no device type (as
    DUIS traffic does not); devices reset by the DCC are then re-sent in new requests."""
    end = now or datetime.now(UTC)
    summary = IngestSummary()
    # The sizes are drawn here and given as explicit requests, so the demo controls its own mix.
    main = SimulationConfig(
        requests=0,
        large_requests=size.request_sizes(),
        seed=size.seed,
        end=end,
        originators=(*NORTHERN_IDS, *SOUTHERN_IDS),
        typed_events=False,
    )
    # Counter 1000 of the big request's originator is never used by the main stream (index 0 is NORTHERN).
    large = SimulationConfig(
        requests=0,
        large_requests=(size.large_request_devices,),
        seed=size.seed + 1,
        end=end,
        originators=SOUTHERN_IDS,
        typed_events=False,
    )
    resets: dict[str, tuple[str, datetime]] = {}
    for config in (main, large):
        _load_inventory(store, config, options.batch_size)
        simulator = Simulator(config)

        def progress(_batch: IngestSummary, simulator: Simulator = simulator) -> None:
            if on_records is not None:
                on_records(simulator.records)

        events = _watch_resets(simulator.lines(), f"demo-{config.seed}", resets)
        summary.add(ingest(store, events, options, on_batch=progress))
    resent = _resent_events(resets, end, size.seed)
    summary.add(ingest(store, resent, options))
    return summary


def _load_inventory(store: Store, config: SimulationConfig, batch_size: int) -> None:
    """The inventory of the devices a simulation names, loaded before its events as a supplier would: the
    simulation is run once for its devices (a few seconds), since they are drawn among its events."""
    simulator = Simulator(replace(config, keep_devices=True))
    for _ in simulator.lines():
        pass
    entries = (
        _inventory_entry(number, device_id, device_type)
        for number, (device_id, device_type) in enumerate(simulator.devices, start=2)
    )
    import_inventory(store, entries, batch_size=batch_size)


def _inventory_entry(line: int, device_id: str, device_type: str) -> RawDeviceEntry:
    fields = dict(zip(FIELDS, (device_id, device_type, SMETS_VERSION, DEVICE_MODELS[device_type]), strict=True))
    raw = csv_line(list(FIELDS)) + csv_line(list(fields.values()))
    return RawDeviceEntry(f"demo-inventory.csv:{line}", INVENTORY_CSV, raw, fields=fields)


def resent_examples(store: Store) -> list[tuple[str, str]]:
    """On a re-run: the devices of the re-sent requests, found by their known counters."""
    found: list[tuple[str, str]] = []
    everyone = lookup.Viewer.everyone(ACTOR)
    for originator in (*NORTHERN_IDS, *SOUTHERN_IDS):
        for number in range(3):
            request_id = f"{originator}:{DCC_TARGET}:{RESENT_COUNTER + number}"
            try:
                page = lookup.records_by_request(store, everyone, request_id, RetentionPolicy(), limit=1)
            except RecordsNotFound:
                continue
            found.append((page.records[0].device_id, originator))
    return found


def party_of(originator: str) -> str:
    return NORTHERN if originator in NORTHERN_IDS else SOUTHERN


def _watch_resets(lines: Iterator[str], name: str, resets: dict[str, tuple[str, datetime]]) -> Iterator[RawEvent]:
    for number, line in enumerate(lines, start=1):
        raw = parse_ndjson_line(line, f"{name}:{number}")
        fields = raw.fields or {}
        if fields.get("status") == ProcessingStatus.RESET_BY_DCC.value and len(resets) < MAX_RESENT * 4:
            request_id, device_id = str(fields["request_id"]), str(fields["device_id"])
            originator = request_id.split(":", maxsplit=1)[0]
            resets[device_id] = (originator, parse_rfc3339(fields["occurred_at"], "occurred_at"))
        yield raw


def _resent_events(resets: dict[str, tuple[str, datetime]], end: datetime, seed: int) -> list[RawEvent]:
    """After a Reset by DCC the supplier sends a new request for the device: a second record (§5.4)."""
    chosen = sorted(resets.items())[:MAX_RESENT]
    counters: dict[str, int] = {}
    events: list[RawEvent] = []
    for device_id, (originator, reset_at) in chosen:
        counter = RESENT_COUNTER + counters.get(originator, 0)
        counters[originator] = counters.get(originator, 0) + 1
        request_id = f"{originator}:{DCC_TARGET}:{counter}"
        sent = min(reset_at + timedelta(hours=2), end)
        steps = (
            (ProcessingStatus.ACCEPTED_BY_DSP, sent),
            (ProcessingStatus.APPROVED_FOR_DISTRIBUTION, min(sent + timedelta(minutes=40), end)),
        )
        for number, (status, moment) in enumerate(steps):
            fields: dict[str, object] = {
                "event_id": f"demo{seed}-resent-{counter}-{originator}-{number}",
                "request_id": request_id,
                "device_id": device_id,
                "status": status.value,
                "occurred_at": format_rfc3339(moment),
            }
            if number == 0:
                fields["firmware_version"] = f"{seed:02X}0A0B0C"
            events.append(RawEvent(f"demo-resent:{device_id}", "ndjson", json.dumps(fields), fields=fields))
    return events
