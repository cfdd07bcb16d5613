"""Parties, logins and tracking events for the web screens' tests: two parties, a large request, a shared device."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.passwords import Argon2Hasher
from fdtrack.domain.accounts import Role
from fdtrack.domain.timestamps import format_rfc3339
from fdtrack.services.accounts import create_account, create_party
from fdtrack.services.ingest import RawEvent, ingest
from fdtrack.web.settings import WebSettings

DCC = "90-B3-D5-1F-30-00-00-02"
ALPHA_USER_ID = "90-B3-D5-1F-30-01-00-00"
BETA_USER_ID = "90-B3-D5-1F-30-02-00-00"
LARGE_REQUEST = f"{ALPHA_USER_ID}:{DCC}:1000"
LARGE_REQUEST_DEVICES = 1_200
SHARED_DEVICE = "00-DB-12-34-56-78-90-A0"  # changed supplier: records in requests of both parties
BETA_DEVICE = "00-DB-12-34-56-78-90-B0"
ALPHA_OLD_REQUEST = f"{ALPHA_USER_ID}:{DCC}:2000"
ALPHA_NEW_REQUEST = f"{ALPHA_USER_ID}:{DCC}:2001"
BETA_REQUEST = f"{BETA_USER_ID}:{DCC}:3000"
BETA_SHARED_REQUEST = f"{BETA_USER_ID}:{DCC}:3001"
HOSTILE_REASON = '<script>alert("pwned")</script> =cmd|stuck'
FIRMWARE = "0A1B2C3D"


@dataclass(frozen=True, slots=True)
class Login:
    username: str
    password: str


ALPHA = Login("alpha", "alpha-password-1")
BETA = Login("beta", "beta-password-12")
CENTRE = Login("centre", "centre-password-1")


def cheap_settings(database_url: str) -> WebSettings:
    """Real argon2id, at its lowest cost, so tests that sign in often stay fast."""
    return WebSettings(
        database_url=database_url,
        purge_interval_minutes=0,
        password_time_cost=1,
        password_memory_kib=64,
        results_page_size=50,
    )


def seed(
    store: SqlStore,
    settings: WebSettings,
    now: datetime | None = None,
    large_request_devices: int = LARGE_REQUEST_DEVICES,
) -> None:
    accounts = SqlAccountStore(store.engine)
    hasher = Argon2Hasher(settings.password_time_cost, settings.password_memory_kib)
    create_party(accounts, "Alpha Energy", [ALPHA_USER_ID], "test")
    create_party(accounts, "Beta Power", [BETA_USER_ID], "test")
    create_account(accounts, hasher, ALPHA.username, Role.USER, ALPHA.password, "test", "Alpha Energy")
    create_account(accounts, hasher, BETA.username, Role.USER, BETA.password, "test", "Beta Power")
    create_account(accounts, hasher, CENTRE.username, Role.SERVICE_CENTRE, CENTRE.password, "test")
    summary = ingest(store, tracking_events(now or datetime.now(UTC), large_request_devices))
    assert summary.rejected == 0, summary.errors


def large_request_device(number: int) -> str:
    digits = f"{0x0000_0000_0000_1000 + number:016X}"
    return "-".join(digits[i : i + 2] for i in range(0, 16, 2))


def tracking_events(now: datetime, large_request_devices: int = LARGE_REQUEST_DEVICES) -> list[RawEvent]:
    start = now - timedelta(days=2)
    events: list[RawEvent] = []

    def add(request_id: str, device_id: str, status: str, at: datetime, **extra: str) -> None:
        fields = {
            "request_id": request_id,
            "device_id": device_id,
            "status": status,
            "occurred_at": format_rfc3339(at),
            **extra,
        }
        events.append(RawEvent(f"seed:{len(events) + 1}", "ndjson", "", fields=fields))

    journey = ("Accepted by DSP", "Approved for Distribution", "Successful CH Transfer", "Successful HAN Transfer")
    for number in range(large_request_devices):
        device = large_request_device(number)
        kind = number % 10
        first = {"firmware_version": FIRMWARE, "device_type": "ESME" if number % 2 else "GSME"}
        if kind == 0:
            add(LARGE_REQUEST, device, "Rejected by DSP", start, reason="Device not commissioned", **first)
            continue
        steps = {1: 1, 2: 2, 3: 3, 4: 3, 5: 4, 6: 3, 7: 4, 8: 4, 9: 4}[kind]
        for stage, status in enumerate(journey[:steps]):
            add(LARGE_REQUEST, device, status, start + timedelta(minutes=10 * stage), **(first if stage == 0 else {}))
        if kind == 6:
            add(LARGE_REQUEST, device, "Not Delivered at HAN", start + timedelta(hours=5), reason="FileTransferFailure")
        if kind in (7, 8):
            add(LARGE_REQUEST, device, "Firmware Activated", start + timedelta(hours=6))

    add(ALPHA_OLD_REQUEST, SHARED_DEVICE, "Accepted by DSP", start, firmware_version="11223344", device_type="ESME")
    add(ALPHA_OLD_REQUEST, SHARED_DEVICE, "Approved for Distribution", start + timedelta(minutes=5))
    add(ALPHA_OLD_REQUEST, SHARED_DEVICE, "Successful CH Transfer", start + timedelta(hours=1))
    add(ALPHA_OLD_REQUEST, SHARED_DEVICE, "Reset by DCC", start + timedelta(hours=20), reason=HOSTILE_REASON)
    add(ALPHA_NEW_REQUEST, SHARED_DEVICE, "Accepted by DSP", start + timedelta(hours=22), firmware_version="55667788")
    add(ALPHA_NEW_REQUEST, SHARED_DEVICE, "Approved for Distribution", start + timedelta(hours=23))
    add(BETA_SHARED_REQUEST, SHARED_DEVICE, "Accepted by DSP", start + timedelta(hours=30), firmware_version="99AABBCC")

    for stage, status in enumerate((*journey, "Firmware Activated")):
        extra = {"firmware_version": "BEEF0001", "device_type": "GSME"} if stage == 0 else {}
        add(BETA_REQUEST, BETA_DEVICE, status, start + timedelta(hours=stage), **extra)
    return events
