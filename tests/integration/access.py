"""Who the access tests act as: signed-in screen clients of every role, and each party's tell-tale data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from e2e.seed import (
    ALPHA,
    ALPHA_NEW_REQUEST,
    ALPHA_OLD_REQUEST,
    ALPHA_USER_ID,
    BETA,
    BETA_DEVICE,
    BETA_REQUEST,
    BETA_SHARED_REQUEST,
    BETA_USER_ID,
    CENTRE,
    FIRMWARE,
    LARGE_REQUEST,
    Login,
    large_request_device,
)
from fdtrack.adapters.db.schema import metadata
from fdtrack.adapters.db.store import SqlStore
from integration.conftest import ADMIN_USERNAME
from integration.test_web_routes import sign_in

ADMIN = Login(ADMIN_USERNAME, "admin-password-1")  # created by integration.conftest.seed_api
LOGINS = {"alpha": ALPHA, "beta": BETA, "centre": CENTRE, "admin": ADMIN}
SCREEN_ACTORS = ("anonymous", *LOGINS)

# Same lengths as the real identifiers, so a "missing" answer can be compared byte for byte with a hidden one.
MISSING_REQUEST = ALPHA_NEW_REQUEST.replace(":2001", ":2999")
MISSING_DEVICE = BETA_DEVICE.replace("B0", "C0")


def compact(eui64: str) -> str:
    return eui64.replace("-", "")


def _tell_tales(user_id: str, party: str, *identifiers: str) -> tuple[str, ...]:
    """Text that can only come from a party's records: its User ID (both forms), party name and more."""
    return (user_id, compact(user_id), party, *identifiers)


# What each party's records contain and no other party's page, JSON or CSV may show.
PARTY_DATA = {
    "alpha": _tell_tales(
        ALPHA_USER_ID,
        "Alpha Energy",
        FIRMWARE,
        "11223344",  # firmware of Alpha's old request for the shared device
        "55667788",  # ... and of its new one
        "pwned",  # the reason of the reset of Alpha's old record
        large_request_device(1),
        ALPHA_OLD_REQUEST,
        ALPHA_NEW_REQUEST,
    ),
    "beta": _tell_tales(
        BETA_USER_ID, "Beta Power", "99AABBCC", "BEEF0001", BETA_DEVICE, BETA_REQUEST, BETA_SHARED_REQUEST
    ),
}
OTHER_PARTY = {"alpha": "beta", "beta": "alpha"}
# The form's hint and the API's documentation give SPEC's example ID, which the seed uses for Alpha's large
# request: shown to everyone as an example, it is no record.
EXAMPLE_REQUEST_ID = LARGE_REQUEST


def assert_no_leak(viewer: str, text: str, searched: tuple[str, ...] = ()) -> None:
    """Nothing of the other party's records is in `text`, apart from what the viewer itself searched for."""
    other = OTHER_PARTY.get(viewer)
    if other is None:
        return  # DCC staff see every party
    text = text.replace(EXAMPLE_REQUEST_ID, "")
    for term in searched:
        for part in (term, *(eui64 for eui64 in term.split(":") if "-" in eui64)):
            text = text.replace(part, "").replace(compact(part), "")
    leaked = [marker for marker in PARTY_DATA[other] if marker in text]
    assert not leaked, f"{viewer} was shown {other}'s data: {leaked}"


@dataclass
class Visitor:
    """A screen client signed in as one actor (or anonymous), with its session's anti-CSRF token."""

    name: str
    client: TestClient
    csrf: str = ""


@contextmanager
def visitor(app: FastAPI, name: str) -> Iterator[Visitor]:
    with TestClient(app) as client:
        csrf = sign_in(client, LOGINS[name]) if name in LOGINS else ""
        yield Visitor(name, client, csrf)


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route the app serves; HEAD comes with GET, a mount answers GET."""
    found = set()
    for route in iter_route_contexts(app.routes):
        assert route.path is not None
        for method in route.methods or {"GET"}:
            if method != "HEAD":
                found.add((method, route.path))
    return found


def database_state(store: SqlStore) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table: to show that a refused request changed nothing at all."""
    with store.engine.connect() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(sa.select(table).order_by(*table.primary_key))]
            for table in metadata.sorted_tables
        }


class MovableClock:
    """The app's clock in tests: time stands still until a test moves it on, so no test ever waits."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by
