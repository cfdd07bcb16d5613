"""Domain errors and HTTP conditions mapped to status codes, pages and API error bodies, in this one place."""

from __future__ import annotations

import logging

import limits.errors
import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from fdtrack.adapters.db.problems import storage_problem
from fdtrack.adapters.event_files import UnreadableInput
from fdtrack.domain.accounts import AlreadyExists, SignInRefused, UnknownAccount, UnknownParty
from fdtrack.domain.errors import FdtrackError, InvalidInput, NothingToReset, NotPermitted, RecordsNotFound
from fdtrack.domain.rate_limits import RateLimited
from fdtrack.domain.reset import ResetNeedsForce
from fdtrack.domain.tokens import TokenRefused
from fdtrack.services.accounts import NothingToChange
from fdtrack.services.signin import SignedIn
from fdtrack.services.tokens import AlreadyRevoked
from fdtrack.web.auth import CsrfRejected, NotSignedIn, current_session, login_redirect_location
from fdtrack.web.dependencies import services
from fdtrack.web.rendering import render

log = logging.getLogger("fdtrack.web")
RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE = "The tracking database cannot be reached just now. Try again in a few seconds."
API_PREFIX = "/api/"

# Not found and not permitted share 404 (§7): the status alone must not reveal that a record exists.
# NotPermitted (403) is about the kind of request (a User resetting, a read token ingesting), never a record.
_STATUS: tuple[tuple[type[FdtrackError], int, str], ...] = (
    (InvalidInput, 400, "invalid_input"),
    (SignInRefused, 401, "unauthorized"),
    (TokenRefused, 401, "unauthorized"),
    (NotPermitted, 403, "forbidden"),
    (RecordsNotFound, 404, "not_found"),
    (UnknownParty, 404, "not_found"),
    (UnknownAccount, 404, "not_found"),
    (NothingToChange, 409, "nothing_to_change"),
    (RateLimited, 429, "rate_limited"),
    (AlreadyExists, 409, "already_exists"),
    (AlreadyRevoked, 409, "already_revoked"),
    (NothingToReset, 409, "nothing_to_reset"),
)
_CODES = {
    400: "invalid_input",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
}
_TITLES = {
    400: "There is a problem with the request",
    401: "Sign in failed",
    403: "You cannot do that",
    404: "Page not found",
    405: "That action is not allowed here",
    409: "That could not be done",
    429: "Too many requests",
    500: "Sorry, there is a problem with the service",
}


def status_for(error: FdtrackError) -> int:
    return _classify(error)[0]


def _classify(error: FdtrackError) -> tuple[int, str]:
    for kind, status, code in _STATUS:
        if isinstance(error, kind):
            return status, code
    return 400, "invalid_input"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(_request: Request, error: NotSignedIn) -> Response:
        return RedirectResponse(login_redirect_location(error), status_code=303)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _error: CsrfRejected) -> Response:
        message = "The form had expired or did not come from this service. Go back, reload the page and try again."
        return await signed_in_error_page(request, 403, message, title="The form could not be accepted")

    @app.exception_handler(FdtrackError)
    async def _domain(request: Request, error: FdtrackError) -> Response:
        status, code = _classify(error)
        if _is_api(request):
            response: Response = api_error(status, code, _api_message(error))
        else:
            response = await signed_in_error_page(request, status, str(error))
        if isinstance(error, RateLimited):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.exception_handler(UnreadableInput)
    async def _unreadable(request: Request, error: UnreadableInput) -> Response:
        if _is_api(request):
            return api_error(400, "invalid_body", str(error))
        return await signed_in_error_page(request, 400, str(error))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        if _is_api(request):
            message = "there is no such API address" if error.status_code == 404 else str(error.detail)
            return api_error(error.status_code, _CODES.get(error.status_code, "error"), message)
        message = "If you typed the address, check it is correct." if error.status_code == 404 else str(error.detail)
        return await signed_in_error_page(request, error.status_code, message)

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, _error: ClientDisconnect) -> Response:
        # The client went away (or was cut off for sending too slowly) before its body arrived: nobody is
        # left to read an answer, and nothing is wrong with the service.
        log.info("client disconnected before sending all of %s %s", request.method, request.url.path)
        return Response(status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0] if error.errors() else {}
        location = [str(part) for part in first.get("loc", ("request",)) if part not in ("query", "path", "body")]
        field = ".".join(location) or "body"
        message = f"{field}: {first.get('msg', 'is not valid')}"
        if _is_api(request):
            return api_error(400, "invalid_input", message)
        return await signed_in_error_page(request, 400, message)

    @app.exception_handler(limits.errors.StorageError)
    async def _rate_limits_unavailable(request: Request, error: Exception) -> Response:
        # Redis (FDTRACK_REDIS_URL) does not answer: like a database outage, a state that passes.
        log.warning("rate-limit storage unavailable on %s %s: %s", request.method, request.url.path, error)
        return database_unavailable(request)

    @app.exception_handler(sqlalchemy.exc.OperationalError)
    @app.exception_handler(sqlalchemy.exc.InterfaceError)
    @app.exception_handler(psycopg.OperationalError)
    async def _database_unavailable(request: Request, error: Exception) -> Response:
        # The database is down or unreachable (or SQLite stayed locked past its timeout): a state that
        # passes. Clients are told when to try again; the pool reconnects by itself once it is back.
        storage = storage_problem(error)
        if storage is not None:
            # A full disk or a read-only file does not pass by itself: say so, not "cannot be reached".
            log.error("database cannot store anything on %s %s: %s", request.method, request.url.path, storage)
            return database_unavailable(request, f"The tracking database cannot store anything just now: {storage}.")
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(error).__name__)
        return database_unavailable(request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
        if _is_api(request):
            return api_error(
                500, "internal_error", "Try again later. If it keeps happening, tell the DCC Service Desk."
            )
        return error_page(request, 500, "Try again later. If it keeps happening, tell the DCC Service Desk.")


def database_unavailable(request: Request, message: str = DATABASE_UNAVAILABLE) -> Response:
    """503 with Retry-After: the API's error body or the error page, as the request's address calls for."""
    if _is_api(request):
        response: Response = api_error(503, "database_unavailable", message)
    else:
        response = error_page(request, 503, message, title="Service unavailable")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


async def answer_database_unavailable(scope: Scope, receive: Receive, send: Send) -> None:
    """`database_unavailable` sent straight from middleware (see database_admission.py)."""
    await database_unavailable(Request(scope, receive))(scope, receive, send)


def _api_message(error: FdtrackError) -> str:
    """The error's message as an API client needs it: a refused reset says how to force it in the API's terms."""
    if isinstance(error, ResetNeedsForce):
        return error.explain('send "force": true')
    return str(error)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def api_error(status: int, code: str, message: str) -> JSONResponse:
    """The API's one error body: {"error": {"code", "message"}}."""
    headers = {"www-authenticate": 'Bearer realm="fdtrack"'} if status == 401 else None
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def error_page(
    request: Request, status: int, message: str, title: str | None = None, signed_in: SignedIn | None = None
) -> HTMLResponse:
    context = {"title": title or _TITLES.get(status, "There is a problem"), "message": message, "status": status}
    return render(request, "error.html", context, signed_in=signed_in, status_code=status)


async def signed_in_error_page(request: Request, status: int, message: str, title: str | None = None) -> HTMLResponse:
    """The error page with the signed-in account's header and menu, so a 403 or 404 is not a dead end."""
    web = services(request)
    try:
        signed_in = await run_in_threadpool(current_session, request, web)
    except Exception:  # the session cannot be read just now: the page is shown without the menu
        log.info("session not read for the %d page of %s", status, request.url.path, exc_info=True)
        signed_in = None
    return error_page(request, status, message, title, signed_in)
