"""No secret in any log: passwords, API tokens, session cookies and anti-CSRF tokens never reach the server's
JSON logs (access log included, at DEBUG), the command line's output beside a new token, or the audit log."""

from __future__ import annotations

import json
import re
import subprocess

import httpx2
import sqlalchemy as sa

from e2e.seed import (
    ALPHA,
    ALPHA_NEW_REQUEST,
    BETA,
    BETA_SHARED_REQUEST,
    CENTRE,
    LARGE_REQUEST,
    SHARED_DEVICE,
    Login,
)
from fdtrack.adapters.db.store import SqlStore
from integration.conftest import Tokens
from integration.running_server import FDTRACK, fdtrack_environment, running_server

HOME = "/ssi/firmware-distribution-tracking"
WRONG_PASSWORD = "guess-the-password-7"
NEW_ACCOUNT = Login("upstream-feed", "upstream-password-42")


class Secrets:
    """Everything secret that passed through the service during the test."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def add(self, what: str, value: str | None) -> None:
        assert value, f"no {what} to look for"
        self.found[f"{what} #{len(self.found)}"] = value

    def in_text(self, text: str) -> list[str]:
        """The secrets that appear in the text, whole or by their unguessable tail."""
        return [what for what, value in self.found.items() if value in text or value[-16:] in text]


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def sign_in(http: httpx2.Client, login: Login, secrets: Secrets, password: str | None = None) -> str:
    """Sign in through the form (the session's anti-CSRF token is returned, all secrets are noted)."""
    login_page = http.get("/login")
    secrets.add("sign-in form token", form_token(login_page.text))
    form = {
        "username": login.username,
        "password": password or login.password,
        "csrf_token": form_token(login_page.text),
    }
    secrets.add("password", form["password"])
    response = http.post("/login", data=form)
    if password is not None:
        assert response.status_code == 401
        return ""
    assert response.status_code == 200  # followed to the screen
    secrets.add("session cookie", http.cookies["fdtrack_session"])
    csrf = form_token(response.text)
    secrets.add("session CSRF token", csrf)
    return csrf


def test_no_secret_reaches_any_log(database_url: str, api_store: SqlStore, tokens: Tokens) -> None:
    secrets = Secrets()
    for name in ("alpha", "beta", "centre", "centre_ingest", "admin_ingest"):
        secrets.add(f"{name} API token", getattr(tokens, name))
    environment = fdtrack_environment(database_url)
    created = subprocess.run(
        [*FDTRACK, "accounts", "create", NEW_ACCOUNT.username, "--role", "service_centre", "--password-stdin"],
        input=NEW_ACCOUNT.password + "\n",
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    issued = subprocess.run(
        [*FDTRACK, "tokens", "create", NEW_ACCOUNT.username, "--scope", "ingest", "--name", "DSP feed"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    new_token = issued.stdout.strip()
    secrets.add("password", NEW_ACCOUNT.password)
    secrets.add("API token made on the command line", new_token)
    command_line_output = created.stdout + created.stderr + issued.stderr

    with running_server(database_url, access_log="true", log_level="DEBUG") as server:
        with httpx2.Client(base_url=server.url, follow_redirects=True) as stranger:
            # BETA, not ALPHA: a failure makes this address wait before its next try for the same name.
            sign_in(stranger, BETA, secrets, password=WRONG_PASSWORD)
            sign_in(stranger, Login("nobody-here", ""), secrets, password=WRONG_PASSWORD + "-x")
        with httpx2.Client(base_url=server.url, follow_redirects=True) as alpha:
            csrf = sign_in(alpha, ALPHA, secrets)
            query = {"search_by": "service_request_id", "search_term": LARGE_REQUEST}
            assert alpha.get(HOME, params=query).status_code == 200
            assert alpha.get(f"{HOME}.csv", params=query).status_code == 200
            assert alpha.post("/logout", data={"csrf_token": csrf}).status_code == 200
        with httpx2.Client(base_url=server.url, follow_redirects=True) as centre:
            csrf = sign_in(centre, CENTRE, secrets)
            reset = {"device_id": SHARED_DEVICE, "request_id": BETA_SHARED_REQUEST, "reason": "Stuck at the CSP"}
            assert centre.post("/ssmi/device-reset/check", data={**reset, "csrf_token": csrf}).status_code == 200
            assert centre.post("/ssmi/device-reset", data={**reset, "csrf_token": csrf}).status_code == 200
        with httpx2.Client(base_url=server.url) as api:
            alpha_bearer = Tokens.header(tokens.alpha)
            assert api.get(
                "/api/v1/distributions", params={"device_id": SHARED_DEVICE}, headers=alpha_bearer
            ).is_success
            assert api.get(
                "/api/v1/distributions", params={"request_id": LARGE_REQUEST}, headers=alpha_bearer
            ).is_success
            csv = api.get("/api/v1/distributions.csv", params={"request_id": LARGE_REQUEST}, headers=alpha_bearer)
            assert csv.is_success
            body = {"reason": "Stuck at the HAN", "request_id": ALPHA_NEW_REQUEST}
            reset_call = api.post(
                f"/api/v1/devices/{SHARED_DEVICE}/reset", json=body, headers=Tokens.header(tokens.centre)
            )
            assert reset_call.is_success, reset_call.text
            ndjson = {"content-type": "application/x-ndjson", **Tokens.header(new_token)}
            assert api.post("/api/v1/events", content=b"{}\n", headers=ndjson).is_success
            wrong = tokens.beta[:-4] + "AAAA"
            secrets.add("a near miss of a token", wrong)
            assert (
                api.get(
                    "/api/v1/distributions", params={"device_id": SHARED_DEVICE}, headers=Tokens.header(wrong)
                ).status_code
                == 401
            )

    logged = "".join(server.lines)
    records = [json.loads(line) for line in server.lines if line.strip()]  # every line is structured JSON
    paths = {record.get("path") for record in records if record.get("logger") == "fdtrack.access"}
    assert {"/login", "/logout", HOME, f"{HOME}.csv", "/ssmi/device-reset", "/api/v1/distributions.csv"} <= paths
    assert {"/api/v1/distributions", f"/api/v1/devices/{SHARED_DEVICE}/reset", "/api/v1/events"} <= paths
    assert secrets.in_text(logged) == [], "secrets in the server's logs"
    assert secrets.in_text(command_line_output) == [], "secrets beside the new token on the command line"
    with api_store.engine.connect() as connection:
        audit_log = repr(connection.execute(sa.text("SELECT * FROM audit_log")).all())
    assert "token_created" in audit_log
    assert "csv_download" in audit_log
    assert secrets.in_text(audit_log) == [], "secrets in the audit log"
