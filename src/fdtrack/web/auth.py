"""Sessions in cookies and anti-CSRF tokens: who is signed in, and whether a form really came from us."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response

from fdtrack.services.signin import SignedIn, resume_session
from fdtrack.web.dependencies import WebServices, services

LOGIN_PATH = "/login"
HOME_PATH = "/ssi/firmware-distribution-tracking"
CSRF_FIELD = "csrf_token"


class NotSignedIn(Exception):
    """The request needs a signed-in account and has none; `ended` when its session timed out."""

    def __init__(self, next_path: str, *, ended: bool) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.ended = ended


class CsrfRejected(Exception):
    """A state-changing form arrived without the token of the session (or sign-in page) that served it."""


def cookie_secure(request: Request, web: WebServices) -> bool:
    configured = web.settings.secure_cookies
    return request.url.scheme == "https" if configured is None else configured


def session_cookie_name(secure: bool) -> str:
    # The __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only and Path=/.
    return "__Host-fdtrack_session" if secure else "fdtrack_session"


def login_cookie_name(secure: bool) -> str:
    return "__Host-fdtrack_login" if secure else "fdtrack_login"


def current_session(request: Request, web: Annotated[WebServices, Depends(services)]) -> SignedIn | None:
    token = request.cookies.get(session_cookie_name(cookie_secure(request, web)))
    if not token:
        return None
    return resume_session(web.accounts, token, web.settings.session_policy, web.clock)


def require_signed_in(
    request: Request,
    web: Annotated[WebServices, Depends(services)],
    signed_in: Annotated[SignedIn | None, Depends(current_session)],
) -> SignedIn:
    if signed_in is None:
        had_cookie = session_cookie_name(cookie_secure(request, web)) in request.cookies
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise NotSignedIn(target, ended=had_cookie)
    return signed_in


def set_session_cookie(response: Response, request: Request, web: WebServices, token: str) -> None:
    secure = cookie_secure(request, web)
    # No expiry: a browser session cookie; the server ends idle sessions whatever the browser keeps.
    response.set_cookie(session_cookie_name(secure), token, httponly=True, samesite="lax", secure=secure, path="/")


def clear_session_cookie(response: Response, request: Request, web: WebServices) -> None:
    secure = cookie_secure(request, web)
    response.delete_cookie(session_cookie_name(secure), path="/", secure=secure, httponly=True, samesite="lax")


def login_token(request: Request, web: WebServices) -> str:
    """Sign-in happens before there is a session, so its form is protected by a double-submit cookie."""
    return request.cookies.get(login_cookie_name(cookie_secure(request, web))) or secrets.token_urlsafe(32)


def set_login_cookie(response: Response, request: Request, web: WebServices, token: str) -> None:
    secure = cookie_secure(request, web)
    response.set_cookie(login_cookie_name(secure), token, httponly=True, samesite="lax", secure=secure, path="/")


def clear_login_cookie(response: Response, request: Request, web: WebServices) -> None:
    secure = cookie_secure(request, web)
    response.delete_cookie(login_cookie_name(secure), path="/", secure=secure, httponly=True, samesite="lax")


def check_login_token(request: Request, web: WebServices, submitted: str | None) -> None:
    expected = request.cookies.get(login_cookie_name(cookie_secure(request, web)))
    if not expected or not submitted or not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise CsrfRejected


def check_csrf(signed_in: SignedIn, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(signed_in.csrf_token.encode(), submitted.encode()):
        raise CsrfRejected


def safe_next(target: str | None) -> str:
    """Only a path on this site may follow sign-in, never another site (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or len(target) > 2_000:
        return HOME_PATH
    if any(ord(character) < 32 for character in target):
        return HOME_PATH
    return target


def login_redirect_location(error: NotSignedIn) -> str:
    location = f"{LOGIN_PATH}?next={quote(safe_next(error.next_path), safe='')}"
    return location + ("&ended=1" if error.ended else "")
