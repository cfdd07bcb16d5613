"""The administrator's account screens and one's own password change, without JavaScript: POST forms with the
session's anti-CSRF token, each change audited with who did it; and an audit log page people can read."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from e2e.seed import ALPHA, BETA, SHARED_DEVICE, Login
from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.db.store import SqlStore
from fdtrack.domain.accounts import Role
from fdtrack.services.accounts import create_party, set_role
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings
from integration.access import ADMIN, MovableClock
from integration.conftest import Tokens

SCREEN = "/ssi/firmware-distribution-tracking"
NEW_PASSWORD = "a-brand-new-passphrase"


@pytest.fixture
def app_settings(api_settings: WebSettings) -> WebSettings:
    return api_settings.model_copy(update={"token_cache_seconds": 3600.0})


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def admin(api_store: SqlStore, app_settings: WebSettings, tokens: Tokens, clock: MovableClock) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, store=api_store, clock=clock)) as client:
        yield client


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def sign_in(client: TestClient, login: Login, password: str | None = None) -> str:
    client.cookies.clear()
    token = form_token(client.get("/login").text)
    form = {"username": login.username, "password": password or login.password, "csrf_token": token}
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    return form_token(client.get(SCREEN).text)


def test_an_administrator_disables_an_account_on_screen_and_its_session_and_token_stop_at_once(
    api_store: SqlStore, app_settings: WebSettings, tokens: Tokens, admin: TestClient
) -> None:
    csrf = sign_in(admin, ADMIN)
    listing = admin.get("/admin/accounts")
    assert listing.status_code == 200
    assert 'href="/admin/accounts/beta"' in listing.text
    with TestClient(create_app(app_settings, store=api_store)) as beta:
        sign_in(beta, BETA)
        lookup = {"device_id": SHARED_DEVICE}
        assert beta.get("/api/v1/distributions", params=lookup, headers=Tokens.header(tokens.beta)).is_success
        forged = admin.post("/admin/accounts/beta/disable", data={"csrf_token": "forged"}, follow_redirects=False)
        assert forged.status_code == 403
        done = admin.post("/admin/accounts/beta/disable", data={"csrf_token": csrf}, follow_redirects=False)
        assert done.headers["location"] == "/admin/accounts/beta?done=disabled"
        assert "The account is disabled" in admin.get(done.headers["location"]).text
        assert beta.get(SCREEN, follow_redirects=False).status_code == 303
        assert beta.get("/api/v1/distributions", params=lookup, headers=Tokens.header(tokens.beta)).status_code == 401
    page = admin.get("/admin/audit-log", params={"action": "account_disabled"}).text
    assert "Account disabled" in page
    assert ADMIN.username in page


def test_refused_changes_are_explained_next_to_the_field(admin: TestClient, tokens: Tokens) -> None:
    csrf = sign_in(admin, ADMIN)
    weak = admin.post("/admin/accounts/alpha/password", data={"csrf_token": csrf, "new_password": "password1234"})
    assert weak.status_code == 400
    assert "common or breached passwords" in weak.text
    no_party = admin.post("/admin/accounts/alpha/role", data={"csrf_token": csrf, "role": "user", "party": ""})
    assert no_party.status_code == 400
    assert "required for a `user` account" in no_party.text.replace("&#96;", "`")
    again = admin.post("/admin/accounts/alpha/enable", data={"csrf_token": csrf})
    assert again.status_code == 409
    assert "is not disabled" in again.text
    assert admin.get("/admin/accounts/nobody-at-all").status_code == 404


def test_anyone_signed_in_changes_their_own_password_and_every_session_ends(
    api_store: SqlStore, app_settings: WebSettings, tokens: Tokens, admin: TestClient, clock: MovableClock
) -> None:
    csrf = sign_in(admin, ALPHA)
    with TestClient(create_app(app_settings, store=api_store)) as elsewhere:
        sign_in(elsewhere, ALPHA)
        form = {"csrf_token": csrf, "current_password": ALPHA.password, "new_password": NEW_PASSWORD}
        mismatch = admin.post("/account/password", data={**form, "confirm_password": NEW_PASSWORD + "x"})
        assert mismatch.status_code == 400
        assert "The two new passwords are not the same" in mismatch.text
        guess = {**form, "current_password": "guess-guess-1", "confirm_password": NEW_PASSWORD}
        wrong = admin.post("/account/password", data=guess)
        assert wrong.status_code == 400
        assert "current password" in wrong.text
        again = admin.post("/account/password", data=guess)  # guessing is throttled like sign-in
        assert again.status_code == 429
        assert again.headers["retry-after"] == "1"
        clock.advance(timedelta(seconds=1))
        changed = admin.post(
            "/account/password", data={**form, "confirm_password": NEW_PASSWORD}, follow_redirects=False
        )
        assert changed.headers["location"] == "/login?password_changed=1"
        assert elsewhere.get(SCREEN, follow_redirects=False).status_code == 303
    sign_in(admin, ALPHA, NEW_PASSWORD)


def test_the_audit_log_page_reads_as_text_and_exports_as_csv(
    api_store: SqlStore, admin: TestClient, tokens: Tokens
) -> None:
    accounts = SqlAccountStore(api_store.engine)
    create_party(accounts, "Gamma Gas", ["90-B3-D5-1F-30-05-00-00", "90-B3-D5-1F-30-06-00-00"], "test")
    set_role(accounts, ALPHA.username, Role.SERVICE_CENTRE, "test")
    sign_in(admin, ADMIN)
    page = admin.get("/admin/audit-log").text
    entries = page.split('id="audit-entries"', 1)[1]
    for label in ("Role or party changed", "Party created", "Account created", "Signed in"):
        assert label in entries
    assert "Before: Party: Alpha Energy; Role: user" in entries
    assert "User IDs: 90-B3-D5-1F-30-05-00-00, 90-B3-D5-1F-30-06-00-00" in entries
    for python_notation in ("None", "[&#39;", "{&#39;", "&#39;:"):
        assert python_notation not in entries
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d", entries)  # no microseconds
    exported = admin.get("/admin/audit-log.csv", params={"action": "party_created"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["subject"] for row in rows] == ["Alpha Energy", "Beta Power", "Gamma Gas"]
    assert {row["action_label"] for row in rows} == {"Party created"}
