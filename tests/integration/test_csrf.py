"""Anti-CSRF: every form the screens post refuses a missing, wrong or borrowed token, and then changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from e2e.seed import ALPHA, BETA_SHARED_REQUEST, SHARED_DEVICE, cheap_settings
from fdtrack.adapters.db.store import SqlStore
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings
from integration.access import database_state, served_routes, visitor
from integration.conftest import Tokens

HOME = "/ssi/firmware-distribution-tracking"
REFUSED = "The form could not be accepted"
RESET_FIELDS = {"device_id": SHARED_DEVICE, "request_id": BETA_SHARED_REQUEST, "reason": "Stuck at the CSP"}
OWN_PASSWORD = {"current_password": "", "new_password": "", "confirm_password": ""}
# Each form a signed-in screen posts (by route): the address, its fields, what it answers when its token is
# right, and who posts it.
SESSION_FORMS = {
    "/logout": ("/logout", {}, 303, "centre"),
    "/ssmi/device-reset/check": ("/ssmi/device-reset/check", RESET_FIELDS, 200, "centre"),
    "/ssmi/device-reset": ("/ssmi/device-reset", RESET_FIELDS, 200, "centre"),
    "/account/password": ("/account/password", OWN_PASSWORD, 400, "centre"),
    "/admin/accounts/{username}/disable": ("/admin/accounts/beta/disable", {}, 303, "admin"),
    "/admin/accounts/{username}/enable": ("/admin/accounts/beta/enable", {}, 409, "admin"),
    "/admin/accounts/{username}/unlock": ("/admin/accounts/beta/unlock", {}, 303, "admin"),
    "/admin/accounts/{username}/password": (
        "/admin/accounts/beta/password",
        {"new_password": "a-fresh-passphrase-9"},
        303,
        "admin",
    ),
    "/admin/accounts/{username}/role": ("/admin/accounts/centre/role", {"role": "admin", "party": ""}, 303, "admin"),
}
SIGN_IN_FORM = "/login"
BAD_SESSION_TOKENS = ("missing", "empty", "forged", "another session's", "another account's")


@pytest.fixture
def app(api_store: SqlStore, api_settings: WebSettings, tokens: Tokens) -> FastAPI:
    return create_app(api_settings, store=api_store)


def test_every_form_the_screens_post_is_covered_here(tmp_path: Path) -> None:
    app = create_app(cheap_settings(f"sqlite:///{tmp_path / 'routes.db'}"))
    posted = {path for method, path in served_routes(app) if method == "POST" and not path.startswith("/api/")}
    assert posted == {*SESSION_FORMS, SIGN_IN_FORM}


@pytest.mark.parametrize("bad", BAD_SESSION_TOKENS)
@pytest.mark.parametrize("path", list(SESSION_FORMS))
def test_a_signed_in_form_refuses_a_bad_token_and_changes_nothing(
    app: FastAPI, api_store: SqlStore, path: str, bad: str
) -> None:
    url, fields, accepted_status, actor = SESSION_FORMS[path]
    with visitor(app, actor) as own, visitor(app, actor) as other, visitor(app, "alpha") as stranger:
        token = {
            "missing": None,
            "empty": "",
            "forged": "x" * len(own.csrf),
            "another session's": other.csrf,  # the same account, signed in elsewhere
            "another account's": stranger.csrf,
        }[bad]
        form = fields if token is None else {**fields, "csrf_token": token}
        before = database_state(api_store)
        refused = own.client.post(url, data=form, follow_redirects=False)
        assert refused.status_code == 403
        assert REFUSED in refused.text
        assert database_state(api_store) == before
        assert own.client.get(HOME, follow_redirects=False).status_code == 200  # still signed in
        # The same form with its own token goes through: the refusal was the token's doing.
        accepted = own.client.post(url, data={**fields, "csrf_token": own.csrf}, follow_redirects=False)
        assert accepted.status_code == accepted_status, accepted.text


@pytest.mark.parametrize("bad", ["missing", "empty", "forged", "another browser's", "without its cookie"])
def test_the_sign_in_form_refuses_a_bad_token_and_changes_nothing(app: FastAPI, api_store: SqlStore, bad: str) -> None:
    with TestClient(app) as browser, TestClient(app) as other:
        browser.get("/login")
        other.get("/login")
        own_token = browser.cookies["fdtrack_login"]
        token = {
            "missing": None,
            "empty": "",
            "forged": "x" * len(own_token),
            "another browser's": other.cookies["fdtrack_login"],
            "without its cookie": own_token,  # a cross-site post: the browser's cookie did not come along
        }[bad]
        if bad == "without its cookie":
            browser.cookies.delete("fdtrack_login")
        credentials = {"username": ALPHA.username, "password": ALPHA.password}
        form = credentials if token is None else {**credentials, "csrf_token": token}
        before = database_state(api_store)
        refused = browser.post("/login", data=form, follow_redirects=False)
        assert refused.status_code == 403
        assert REFUSED in refused.text
        assert "fdtrack_session" not in refused.headers.get("set-cookie", "")
        assert database_state(api_store) == before  # no session, no attempt counted, nothing audited
        browser.get("/login")
        accepted = browser.post(
            "/login", data={**credentials, "csrf_token": browser.cookies["fdtrack_login"]}, follow_redirects=False
        )
        assert accepted.status_code == 303
