"""Every route of the app tried as every kind of caller: the exact answer of each cell, and no leak (SPEC §7, §8)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response

from e2e.seed import (
    ALPHA,
    ALPHA_NEW_REQUEST,
    ALPHA_OLD_REQUEST,
    BETA_DEVICE,
    BETA_REQUEST,
    BETA_SHARED_REQUEST,
    LARGE_REQUEST,
    SHARED_DEVICE,
    cheap_settings,
)
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.db.tokens import SqlTokenStore
from fdtrack.domain.tokens import TokenScope
from fdtrack.services.lookup import encode_cursor
from fdtrack.services.tokens import create_token, revoke_token
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings
from integration.access import (
    ADMIN,
    MISSING_DEVICE,
    MISSING_REQUEST,
    SCREEN_ACTORS,
    Visitor,
    assert_no_leak,
    served_routes,
    visitor,
)
from integration.conftest import Tokens

HOME = "/ssi/firmware-distribution-tracking"
SCREEN_CSV = f"{HOME}.csv"
RESET = "/ssmi/device-reset"
LOOK_UP = "/api/v1/distributions"
API_CSV = "/api/v1/distributions.csv"
API_RESET = "/api/v1/devices/{device_id}/reset"
ACCOUNTS = "/admin/accounts"


@dataclass(frozen=True)
class Answer:
    """What one cell must answer: a status, the start of the media type, where a redirect leads, a phrase."""

    status: int
    media: str | None = None
    location: str | None = None  # "sign-in": the sign-in page, asked to come back to the very address
    says: str | None = None


SIGN_IN = Answer(303, location="sign-in")
TO_HOME = Answer(303, location=HOME)
SIGNED_OUT = Answer(303, location="/login?signed_out=1")
PAGE = Answer(200, "text/html")
CSV_FILE = Answer(200, "text/csv", says="Service Request ID,Firmware Version,Device ID")
JSON = Answer(200, "application/json")
NOT_FOUND_TEXT = "No firmware distribution records found for"
MISSING = Answer(404, "text/html", says=NOT_FOUND_TEXT)
FORBIDDEN = Answer(403, "text/html", says="You cannot do that")
FORM_REFUSED = Answer(403, "text/html", says="The form could not be accepted")
API_MISSING = Answer(404, "application/json", says=NOT_FOUND_TEXT)
API_FORBIDDEN = Answer(403, "application/json", says='"code":"forbidden"')
UNAUTHORIZED = Answer(401, "application/json", says='"code":"unauthorized"')


@dataclass(frozen=True)
class Probe:
    """One request to one route (its method and path template as `app.routes` has them)."""

    method: str
    route: str
    url: str
    answers: Mapping[str, Answer]
    form: Callable[[Visitor], dict[str, str]] | None = None
    json: dict[str, Any] | None = None
    content: bytes | None = None
    media: str | None = None
    searched: tuple[str, ...] = ()
    variant: str = ""

    @property
    def name(self) -> str:
        return f"{self.method} {self.route}" + (f" {self.variant}" if self.variant else "")


def address(path: str, **query: str) -> str:
    return f"{path}?{urlencode(query)}" if query else path


def everyone(answer: Answer, actors: tuple[str, ...] = SCREEN_ACTORS) -> dict[str, Answer]:
    return dict.fromkeys(actors, answer)


def signed_in(answer: Answer) -> dict[str, Answer]:
    return {**everyone(answer), "anonymous": SIGN_IN}


def only(actor: str, answer: Answer) -> dict[str, Answer]:
    return {**everyone(FORBIDDEN), "anonymous": SIGN_IN, actor: answer}


def parties(*, alpha: Answer, beta: Answer, staff: Answer) -> dict[str, Answer]:
    return {"anonymous": SIGN_IN, "alpha": alpha, "beta": beta, "centre": staff, "admin": staff}


def with_session_token(fields: dict[str, str]) -> Callable[[Visitor], dict[str, str]]:
    return lambda visitor: {**fields, "csrf_token": visitor.csrf}


def sign_in_form(visitor: Visitor) -> dict[str, str]:
    """Alpha's credentials with whatever sign-in form token this client was given (none once signed in)."""
    visitor.client.get("/login")
    token = visitor.client.cookies.get("fdtrack_login") or ""
    return {"username": ALPHA.username, "password": ALPHA.password, "csrf_token": token}


def search(path: str, by: str, term: str) -> str:
    return address(path, search_by=by, search_term=term)


RESET_FORM = {"device_id": SHARED_DEVICE, "request_id": BETA_SHARED_REQUEST, "reason": "Stuck at the CSP"}
API_UNTOUCHED = everyone(UNAUTHORIZED)  # a session cookie is no credential for the API

# The API's endpoints, each with one request that would succeed for the right token.
API_CALLS: list[dict[str, Any]] = [
    {"method": "GET", "route": LOOK_UP, "url": address(LOOK_UP, request_id=LARGE_REQUEST)},
    {"method": "GET", "route": API_CSV, "url": address(API_CSV, request_id=LARGE_REQUEST)},
    {
        "method": "POST",
        "route": "/api/v1/events",
        "url": "/api/v1/events",
        "content": b"",
        "media": "application/x-ndjson",
    },
    {"method": "POST", "route": "/api/v1/duis", "url": "/api/v1/duis", "content": b"<x/>", "media": "application/xml"},
    {
        "method": "POST",
        "route": API_RESET,
        "url": f"/api/v1/devices/{SHARED_DEVICE}/reset",
        "json": {"reason": "Stuck at the CSP", "request_id": BETA_SHARED_REQUEST},
    },
    {
        "method": "POST",
        "route": "/api/v1/devices",
        "url": "/api/v1/devices",
        "content": b"Device ID,Device Type\n00-DB-12-34-56-78-9F-01,ESME\n",
        "media": "text/csv",
    },
]

SCREEN_PROBES = [
    Probe("GET", "/static", "/static/fdtrack.css", everyone(Answer(200, "text/css"))),
    Probe("GET", "/openapi.json", "/openapi.json", everyone(JSON)),
    Probe("GET", "/healthz", "/healthz", everyone(JSON)),
    Probe("GET", "/metrics", "/metrics", everyone(Answer(200, "text/plain"))),
    Probe("GET", "/login", "/login", {**everyone(TO_HOME), "anonymous": PAGE}),
    Probe("POST", "/login", "/login", {**everyone(FORM_REFUSED), "anonymous": TO_HOME}, form=sign_in_form),
    Probe("POST", "/logout", "/logout", signed_in(SIGNED_OUT), form=with_session_token({})),
    Probe("GET", "/", "/", signed_in(TO_HOME)),
    Probe("GET", "/diagnostics", "/diagnostics", signed_in(PAGE)),
    Probe("GET", "/diagnostics/service-audit-trail", "/diagnostics/service-audit-trail", signed_in(PAGE)),
    Probe("GET", HOME, HOME, signed_in(PAGE), variant="empty form"),
    Probe(
        "GET",
        HOME,
        search(HOME, "service_request_id", LARGE_REQUEST),
        parties(alpha=PAGE, beta=MISSING, staff=PAGE),
        searched=(LARGE_REQUEST,),
        variant="Alpha's request",
    ),
    Probe(
        "GET",
        HOME,
        search(HOME, "service_request_id", BETA_REQUEST),
        parties(alpha=MISSING, beta=PAGE, staff=PAGE),
        searched=(BETA_REQUEST,),
        variant="Beta's request",
    ),
    Probe(
        "GET",
        HOME,
        search(HOME, "device_id", SHARED_DEVICE),
        parties(alpha=PAGE, beta=PAGE, staff=PAGE),
        searched=(SHARED_DEVICE,),
        variant="a device of both parties",
    ),
    Probe(
        "GET",
        HOME,
        search(HOME, "device_id", BETA_DEVICE),
        parties(alpha=MISSING, beta=PAGE, staff=PAGE),
        searched=(BETA_DEVICE,),
        variant="Beta's device",
    ),
    Probe(
        "GET",
        SCREEN_CSV,
        search(SCREEN_CSV, "service_request_id", LARGE_REQUEST),
        parties(alpha=CSV_FILE, beta=MISSING, staff=CSV_FILE),
        searched=(LARGE_REQUEST,),
        variant="Alpha's request",
    ),
    Probe(
        "GET",
        SCREEN_CSV,
        search(SCREEN_CSV, "device_id", SHARED_DEVICE),
        parties(alpha=CSV_FILE, beta=CSV_FILE, staff=CSV_FILE),
        searched=(SHARED_DEVICE,),
        variant="a device of both parties",
    ),
    Probe(
        "GET",
        SCREEN_CSV,
        search(SCREEN_CSV, "device_id", BETA_DEVICE),
        parties(alpha=MISSING, beta=CSV_FILE, staff=CSV_FILE),
        searched=(BETA_DEVICE,),
        variant="Beta's device",
    ),
    Probe("GET", RESET, address(RESET, device_id=SHARED_DEVICE), only("centre", PAGE)),
    Probe(
        "POST",
        f"{RESET}/check",
        f"{RESET}/check",
        only("centre", Answer(200, "text/html", says="Check before you reset")),
        form=with_session_token(RESET_FORM),
    ),
    Probe(
        "POST",
        RESET,
        RESET,
        only("centre", Answer(200, "text/html", says="Device reset")),
        form=with_session_token(RESET_FORM),
    ),
    Probe("GET", "/admin/audit-log", "/admin/audit-log", only("admin", Answer(200, "text/html", says="Audit log"))),
    Probe(
        "GET",
        "/admin/audit-log.csv",
        "/admin/audit-log.csv?action=login",
        only("admin", Answer(200, "text/csv", says="id,occurred_at,actor,action,action_label")),
    ),
    Probe("GET", "/admin/accounts", "/admin/accounts", only("admin", Answer(200, "text/html", says="Accounts"))),
    Probe(
        "GET",
        f"{ACCOUNTS}/{{username}}",
        f"{ACCOUNTS}/beta",
        only("admin", Answer(200, "text/html", says="Account beta")),
    ),
    Probe(
        "POST",
        f"{ACCOUNTS}/{{username}}/disable",
        f"{ACCOUNTS}/beta/disable",
        only("admin", Answer(303, location=f"{ACCOUNTS}/beta?done=disabled")),
        form=with_session_token({}),
    ),
    Probe(
        "POST",
        f"{ACCOUNTS}/{{username}}/enable",
        f"{ACCOUNTS}/beta/enable",
        only("admin", Answer(409, "text/html", says="is not disabled")),
        form=with_session_token({}),
    ),
    Probe(
        "POST",
        f"{ACCOUNTS}/{{username}}/unlock",
        f"{ACCOUNTS}/beta/unlock",
        only("admin", Answer(303, location=f"{ACCOUNTS}/beta?done=unlocked")),
        form=with_session_token({}),
    ),
    Probe(
        "POST",
        f"{ACCOUNTS}/{{username}}/password",
        f"{ACCOUNTS}/beta/password",
        only("admin", Answer(303, location=f"{ACCOUNTS}/beta?done=password")),
        form=with_session_token({"new_password": "a-fresh-passphrase-9"}),
    ),
    Probe(
        "POST",
        f"{ACCOUNTS}/{{username}}/role",
        f"{ACCOUNTS}/centre/role",
        only("admin", Answer(303, location=f"{ACCOUNTS}/centre?done=role")),
        form=with_session_token({"role": "admin", "party": ""}),
    ),
    Probe("GET", "/account/password", "/account/password", signed_in(PAGE)),
    Probe(
        "POST",
        "/account/password",
        "/account/password",
        signed_in(Answer(400, "text/html", says="Is not the account")),
        form=with_session_token(
            {"current_password": "not-my-password", "new_password": "x" * 12, "confirm_password": "x" * 12}
        ),
    ),
    *(Probe(**call, answers=API_UNTOUCHED, variant="with a session cookie") for call in API_CALLS),
]


# How each kind of API caller presents itself; the `tokens` fixture's attribute, or a header of its own.
TOKEN_ACTORS = (
    "no token",
    "malformed token",
    "basic scheme",
    "unknown token",
    "revoked token",
    "alpha read",
    "beta read",
    "centre read",
    "admin read",
    "centre ingest",
    "admin ingest",
)
REFUSED = dict.fromkeys(TOKEN_ACTORS[:5], UNAUTHORIZED)


def api_answers(
    *, alpha: Answer, beta: Answer, centre: Answer, admin: Answer, ingest: Answer = API_FORBIDDEN
) -> dict[str, Answer]:
    return {
        **REFUSED,
        "alpha read": alpha,
        "beta read": beta,
        "centre read": centre,
        "admin read": admin,
        "centre ingest": ingest,
        "admin ingest": ingest,
    }


def reads(*, alpha: Answer, beta: Answer, staff: Answer) -> dict[str, Answer]:
    return api_answers(alpha=alpha, beta=beta, centre=staff, admin=staff)


INGESTS = api_answers(alpha=API_FORBIDDEN, beta=API_FORBIDDEN, centre=API_FORBIDDEN, admin=API_FORBIDDEN, ingest=JSON)
RESETS = api_answers(alpha=API_FORBIDDEN, beta=API_FORBIDDEN, centre=JSON, admin=API_FORBIDDEN)
API_CSV_FILE = Answer(200, "text/csv", says=CSV_FILE.says)

API_PROBES = [
    Probe(
        "GET",
        LOOK_UP,
        address(LOOK_UP, request_id=LARGE_REQUEST),
        reads(alpha=JSON, beta=API_MISSING, staff=JSON),
        searched=(LARGE_REQUEST,),
        variant="Alpha's request",
    ),
    Probe(
        "GET",
        LOOK_UP,
        address(LOOK_UP, request_id=BETA_REQUEST),
        reads(alpha=API_MISSING, beta=JSON, staff=JSON),
        searched=(BETA_REQUEST,),
        variant="Beta's request",
    ),
    Probe(
        "GET",
        LOOK_UP,
        address(LOOK_UP, device_id=SHARED_DEVICE),
        reads(alpha=JSON, beta=JSON, staff=JSON),
        searched=(SHARED_DEVICE,),
        variant="a device of both parties",
    ),
    Probe(
        "GET",
        LOOK_UP,
        address(LOOK_UP, device_id=BETA_DEVICE),
        reads(alpha=API_MISSING, beta=JSON, staff=JSON),
        searched=(BETA_DEVICE,),
        variant="Beta's device",
    ),
    Probe(
        "GET",
        API_CSV,
        address(API_CSV, request_id=LARGE_REQUEST),
        reads(alpha=API_CSV_FILE, beta=API_MISSING, staff=API_CSV_FILE),
        searched=(LARGE_REQUEST,),
        variant="Alpha's request",
    ),
    Probe(
        "GET",
        API_CSV,
        address(API_CSV, device_id=SHARED_DEVICE),
        reads(alpha=API_CSV_FILE, beta=API_CSV_FILE, staff=API_CSV_FILE),
        searched=(SHARED_DEVICE,),
        variant="a device of both parties",
    ),
    Probe(
        "GET",
        API_CSV,
        address(API_CSV, device_id=BETA_DEVICE),
        reads(alpha=API_MISSING, beta=API_CSV_FILE, staff=API_CSV_FILE),
        searched=(BETA_DEVICE,),
        variant="Beta's device",
    ),
    Probe(**API_CALLS[2], answers=INGESTS),
    Probe(**API_CALLS[3], answers=INGESTS),
    Probe(**API_CALLS[4], answers=RESETS),
    Probe(**API_CALLS[5], answers=INGESTS),
    Probe(
        "POST",
        API_RESET,
        f"/api/v1/devices/{MISSING_DEVICE}/reset",
        {**RESETS, "centre read": Answer(409, "application/json", says='"code":"nothing_to_reset"')},
        json={"reason": "Stuck at the CSP"},
        variant="a device without records",
    ),
]


def cells(probes: list[Probe], actors: tuple[str, ...]) -> list[Any]:
    return [pytest.param(probe, actor, id=f"{probe.name} as {actor}") for probe in probes for actor in actors]


def send(client: TestClient, probe: Probe, visiting: Visitor | None, headers: dict[str, str]) -> Response:
    extra: dict[str, Any] = {}
    if probe.form is not None:
        assert visiting is not None
        extra["data"] = probe.form(visiting)
    if probe.json is not None:
        extra["json"] = probe.json
    if probe.content is not None:
        extra["content"] = probe.content
        headers = {**headers, "content-type": probe.media or ""}
    return client.request(probe.method, probe.url, headers=headers, follow_redirects=False, **extra)


def check(response: Response, probe: Probe, who: str) -> None:
    answer = probe.answers[who]
    cell = f"{probe.name} as {who}: {response.status_code} {response.text[:300]!r}"
    assert response.status_code == answer.status, cell
    if answer.media is not None:
        assert response.headers["content-type"].startswith(answer.media), cell
    if answer.location == "sign-in":
        assert response.headers["location"] == f"/login?next={quote(probe.url, safe='')}", cell
    elif answer.location is not None:
        assert response.headers["location"] == answer.location, cell
    if answer.says is not None:
        assert answer.says in response.text, cell
    if answer.status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer"), cell
    party = who.split(maxsplit=1)[0]  # "alpha read" acts for Alpha, as the screen actor "alpha" does
    headers = " ".join(f"{name}: {value}" for name, value in response.headers.items())
    assert_no_leak(party, f"{headers}\n{response.text}", probe.searched)


@pytest.fixture
def app(api_store: SqlStore, api_settings: WebSettings, tokens: Tokens) -> FastAPI:
    return create_app(api_settings, store=api_store)


@pytest.mark.parametrize(("probe", "actor"), cells(SCREEN_PROBES, SCREEN_ACTORS))
def test_each_route_answers_each_screen_actor_exactly(app: FastAPI, probe: Probe, actor: str) -> None:
    with visitor(app, actor) as visiting:
        check(send(visiting.client, probe, visiting, {}), probe, actor)


@pytest.fixture
def api_callers(api_store: SqlStore, tokens: Tokens) -> dict[str, dict[str, str]]:
    """The Authorization header of every kind of API caller."""
    store = SqlTokenStore(api_store.engine)
    revoked = create_token(store, ALPHA.username, TokenScope.READ, "test")
    revoke_token(store, revoked.token.token_id, "test")
    admin_read = create_token(store, ADMIN.username, TokenScope.READ, "test").secret
    bearer = Tokens.header
    return {
        "no token": {},
        "malformed token": {"Authorization": "Bearer not-a-token"},
        "basic scheme": {"Authorization": "Basic YWxwaGE6YWxwaGEtcGFzc3dvcmQtMQ=="},
        "unknown token": bearer("fdt_" + "A" * 43),
        "revoked token": bearer(revoked.secret),
        "alpha read": bearer(tokens.alpha),
        "beta read": bearer(tokens.beta),
        "centre read": bearer(tokens.centre),
        "admin read": bearer(admin_read),
        "centre ingest": bearer(tokens.centre_ingest),
        "admin ingest": bearer(tokens.admin_ingest),
    }


@pytest.mark.parametrize(("probe", "actor"), cells(API_PROBES, TOKEN_ACTORS))
def test_each_api_endpoint_answers_each_token_exactly(
    api: TestClient, api_callers: dict[str, dict[str, str]], probe: Probe, actor: str
) -> None:
    check(send(api, probe, None, api_callers[actor]), probe, actor)


def test_every_route_of_the_app_has_its_row_in_the_matrix(tmp_path: Path) -> None:
    app = create_app(cheap_settings(f"sqlite:///{tmp_path / 'routes.db'}"))
    served = served_routes(app)
    assert served == {(probe.method, probe.route) for probe in SCREEN_PROBES}, "a route has no row in SCREEN_PROBES"
    api_routes = {route for route in served if route[1].startswith("/api/")}
    assert api_routes == {(probe.method, probe.route) for probe in API_PROBES}, "an API route has no row in API_PROBES"
    documented = {(method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item}
    assert {route for route in documented if route[1].startswith("/api/")} == api_routes


# The same question about a record of the other party and about one that does not exist ({} is the ID).
BY_REQUEST = "search_by=service_request_id&search_term={}"
BY_DEVICE = "search_by=device_id&search_term={}"
LATER_PAGE = encode_cursor("00-00-00-00-00-00-00-01")  # before the only device of Alpha's request
HIDDEN_OR_MISSING = [
    pytest.param("beta", f"{HOME}?{BY_REQUEST}", ALPHA_NEW_REQUEST, MISSING_REQUEST, id="screen by request"),
    pytest.param(
        "beta",
        f"{HOME}?{BY_REQUEST}&completion=in-progress&cursor={LATER_PAGE}&page=2",
        ALPHA_NEW_REQUEST,
        MISSING_REQUEST,
        id="screen by request, filtered and paged",
    ),
    pytest.param("alpha", f"{HOME}?{BY_DEVICE}", BETA_DEVICE, MISSING_DEVICE, id="screen by device"),
    pytest.param("beta", f"{SCREEN_CSV}?{BY_REQUEST}", ALPHA_NEW_REQUEST, MISSING_REQUEST, id="screen CSV by request"),
    pytest.param("alpha", f"{SCREEN_CSV}?{BY_DEVICE}", BETA_DEVICE, MISSING_DEVICE, id="screen CSV by device"),
    pytest.param("beta", f"{LOOK_UP}?request_id={{}}", ALPHA_NEW_REQUEST, MISSING_REQUEST, id="API by request"),
    pytest.param(
        "beta",
        f"{LOOK_UP}?request_id={{}}&cursor={LATER_PAGE}",
        ALPHA_NEW_REQUEST,
        MISSING_REQUEST,
        id="API by request, a later page",
    ),
    pytest.param("alpha", f"{LOOK_UP}?device_id={{}}", BETA_DEVICE, MISSING_DEVICE, id="API by device"),
    pytest.param("beta", f"{API_CSV}?request_id={{}}", ALPHA_NEW_REQUEST, MISSING_REQUEST, id="API CSV by request"),
    pytest.param("alpha", f"{API_CSV}?device_id={{}}", BETA_DEVICE, MISSING_DEVICE, id="API CSV by device"),
    pytest.param("alpha", "POST /api/v1/devices/{}/reset", BETA_DEVICE, MISSING_DEVICE, id="API reset by a User"),
]


@pytest.mark.parametrize(("viewer", "template", "hidden_id", "missing_id"), HIDDEN_OR_MISSING)
def test_another_partys_record_answers_byte_for_byte_like_a_missing_one(
    app: FastAPI, tokens: Tokens, viewer: str, template: str, hidden_id: str, missing_id: str
) -> None:
    method, _, url = template.rpartition(" ")
    bearer = Tokens.header(getattr(tokens, viewer)) if url.startswith("/api/") else {}
    body = {"reason": "Stuck at the CSP"} if method == "POST" else None
    with visitor(app, viewer) as visiting:  # one session for both questions: its pages carry one CSRF token

        def ask(identifier: str) -> Response:
            target = url.format(identifier)
            return visiting.client.request(method or "GET", target, headers=bearer, json=body, follow_redirects=False)

        hidden, missing = ask(hidden_id), ask(missing_id)
    assert hidden.status_code == missing.status_code
    assert hidden.status_code in (200, 403, 404)
    assert dict(hidden.headers) == dict(missing.headers)
    assert hidden.content.replace(hidden_id.encode(), b"<ID>") == missing.content.replace(missing_id.encode(), b"<ID>")
    assert_no_leak(viewer, hidden.text, (hidden_id,))


@pytest.fixture
def signed_in_visitors(app: FastAPI) -> Iterator[dict[str, Visitor]]:
    with visitor(app, "alpha") as alpha, visitor(app, "beta") as beta, visitor(app, "centre") as centre:
        yield {"alpha": alpha, "beta": beta, "centre": centre}


# Who sees which records of the device that moved from Alpha to Beta: their own, and DCC staff all.
SHARED_DEVICE_RECORDS = {
    "alpha": [ALPHA_NEW_REQUEST, ALPHA_OLD_REQUEST],
    "beta": [BETA_SHARED_REQUEST],
    "centre": [BETA_SHARED_REQUEST, ALPHA_NEW_REQUEST, ALPHA_OLD_REQUEST],
}


@pytest.mark.parametrize("viewer", list(SHARED_DEVICE_RECORDS))
def test_each_party_sees_only_its_own_records_of_a_shared_device_everywhere(
    api: TestClient, tokens: Tokens, signed_in_visitors: dict[str, Visitor], viewer: str
) -> None:
    expected = SHARED_DEVICE_RECORDS[viewer]
    client = signed_in_visitors[viewer].client
    bearer = Tokens.header(getattr(tokens, viewer))
    page = client.get(HOME, params={"search_by": "device_id", "search_term": SHARED_DEVICE})
    shown = [request for request in SHARED_DEVICE_RECORDS["centre"] if request in page.text]
    assert shown == expected
    screen_csv = client.get(SCREEN_CSV, params={"search_by": "device_id", "search_term": SHARED_DEVICE})
    api_csv = api.get(API_CSV, params={"device_id": SHARED_DEVICE}, headers=bearer)
    for download in (screen_csv, api_csv):
        rows = list(csv.DictReader(io.StringIO(download.text)))
        assert [row["Service Request ID"] for row in rows] == expected
    records = api.get(LOOK_UP, params={"device_id": SHARED_DEVICE}, headers=bearer).json()["records"]
    assert [record["service_request_id"] for record in records] == expected
