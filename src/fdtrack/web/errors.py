"""Domain errors and HTTP conditions mapped to status codes and pages, in this one place for the web service."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from fdtrack.domain.accounts import AlreadyExists, SignInRefused, UnknownParty
from fdtrack.domain.errors import FdtrackError, InvalidInput, NothingToReset, RecordsNotFound
from fdtrack.web.auth import CsrfRejected, NotSignedIn, login_redirect_location
from fdtrack.web.dependencies import services

log = logging.getLogger("fdtrack.web")

# Not found and not permitted share 404 (§7): the status alone must not reveal that a record exists.
_STATUS: tuple[tuple[type[FdtrackError], int], ...] = (
    (InvalidInput, 400),
    (SignInRefused, 401),
    (RecordsNotFound, 404),
    (UnknownParty, 404),
    (AlreadyExists, 409),
    (NothingToReset, 409),
)
_TITLES = {
    400: "There is a problem with the request",
    401: "Sign in failed",
    403: "The form could not be accepted",
    404: "Page not found",
    405: "That action is not allowed here",
    409: "That could not be done",
    500: "Sorry, there is a problem with the service",
}


def status_for(error: FdtrackError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(_request: Request, error: NotSignedIn) -> Response:
        return RedirectResponse(login_redirect_location(error), status_code=303)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _error: CsrfRejected) -> Response:
        message = "The form had expired or did not come from this service. Go back, reload the page and try again."
        return error_page(request, 403, message)

    @app.exception_handler(FdtrackError)
    async def _domain(request: Request, error: FdtrackError) -> Response:
        return error_page(request, status_for(error), str(error))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        message = "If you typed the address, check it is correct." if error.status_code == 404 else str(error.detail)
        return error_page(request, error.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0] if error.errors() else {}
        field = str(first.get("loc", ("", "request"))[-1])
        return error_page(request, 400, f"{field}: {first.get('msg', 'is not valid')}")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
        return error_page(request, 500, "Try again later. If it keeps happening, tell the DCC Service Desk.")


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    web = services(request)
    return web.templates.TemplateResponse(
        request,
        "error.html",
        {"title": _TITLES.get(status, "There is a problem"), "message": message, "status": status},
        status_code=status,
    )
