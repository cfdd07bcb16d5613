"""Sign-in and sign-out: GET/POST /login and POST /logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from fdtrack.domain.accounts import SignInRefused
from fdtrack.domain.rate_limits import RateLimited
from fdtrack.services.signin import SignedIn, sign_in, sign_out
from fdtrack.web.auth import (
    CSRF_FIELD,
    LOGIN_PATH,
    check_csrf,
    check_login_token,
    clear_login_cookie,
    clear_session_cookie,
    current_session,
    login_token,
    require_signed_in,
    safe_next,
    set_login_cookie,
    set_session_cookie,
)
from fdtrack.web.dependencies import WebServices, client_address, services
from fdtrack.web.errors import status_for
from fdtrack.web.forms import FieldErrors
from fdtrack.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get(LOGIN_PATH)
def login_page(
    request: Request,
    web: Annotated[WebServices, Depends(services)],
    signed_in: Annotated[SignedIn | None, Depends(current_session)],
    next: str | None = None,
    ended: str | None = None,
    signed_out: str | None = None,
    password_changed: str | None = None,
) -> Response:
    if signed_in is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = None
    if ended:
        idle = web.settings.session_idle_minutes
        notice = f"Your session has ended (sessions end after {idle} minutes without activity). Sign in again."
    elif password_changed:
        notice = "Your password has been changed and all your sessions have ended. Sign in with the new password."
    elif signed_out:
        notice = "You have signed out."
    return _login_form(request, web, next_path=safe_next(next), notice=notice)


@router.post(LOGIN_PATH)
def login(
    request: Request,
    web: Annotated[WebServices, Depends(services)],
    username: Annotated[str, Form(max_length=500)] = "",
    password: Annotated[str, Form(max_length=1_000)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=2_000)] = "",
) -> Response:
    check_login_token(request, web, csrf_token)
    errors = FieldErrors()
    if not username.strip():
        errors.add("username", "Enter your username")
    if not password:
        errors.add("password", "Enter your password")
    if errors:
        return _login_form(request, web, next_path=safe_next(next_path), username=username, errors=errors, status=400)
    try:
        signed_in = sign_in(
            web.accounts,
            web.hasher,
            web.rate_limiter,
            username,
            password,
            client_address(request),
            web.clock,
            web.settings.signin_limits,
        )
    except RateLimited as throttled:
        errors.add("username", f"{throttled} You can try again in {throttled.retry_after} seconds.")
        response = _login_form(
            request, web, next_path=safe_next(next_path), username=username, errors=errors, status=429
        )
        response.headers["Retry-After"] = str(throttled.retry_after)
        return response
    except SignInRefused as refused:
        errors.add("username", str(refused))
        return _login_form(
            request, web, next_path=safe_next(next_path), username=username, errors=errors, status=status_for(refused)
        )
    response = RedirectResponse(safe_next(next_path), status_code=303)
    set_session_cookie(response, request, web, signed_in.session_token)
    clear_login_cookie(response, request, web)
    return response


@router.post("/logout")
def logout(
    request: Request,
    web: Annotated[WebServices, Depends(services)],
    signed_in: Annotated[SignedIn, Depends(require_signed_in)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
) -> Response:
    check_csrf(signed_in, csrf_token)
    sign_out(web.accounts, signed_in, client_address(request), web.clock)
    response = RedirectResponse(f"{LOGIN_PATH}?signed_out=1", status_code=303)
    clear_session_cookie(response, request, web)
    return response


def _login_form(
    request: Request,
    web: WebServices,
    *,
    next_path: str,
    username: str = "",
    errors: FieldErrors | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    token = login_token(request, web)
    context = {
        "title": "Sign in",
        "username": username[:100],
        "next_path": next_path,
        "errors": errors or FieldErrors(),
        "notice": notice,
        "login_token": token,
    }
    response = render(request, "login.html", context, status_code=status)
    # The cookie travels with the very response that carries the form, so the two always match.
    set_login_cookie(response, request, web, token)
    return response
