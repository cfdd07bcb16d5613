"""Bearer tokens on API requests: read from the Authorization header, authenticated and authorised in one call."""

from __future__ import annotations

from fastapi import Request

from fdtrack.domain.rate_limits import RateLimited
from fdtrack.domain.tokens import ApiAction
from fdtrack.services.tokens import ApiPrincipal
from fdtrack.web.dependencies import WebServices

BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "fdt_…",
    "description": "An API token from `fdtrack tokens create`",
}


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer …` header; read by hand rather than through a FastAPI
    security dependency, which costs a noticeable share of a look-up (openapi.py documents the scheme)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def authorise(web: WebServices, request: Request, action: ApiAction) -> ApiPrincipal:
    """Who the request acts for, refused with 401 (no valid token), 403 (scope or role) or 429 (too many
    requests with this token: counted per token, so one runaway client does not slow the others)."""
    principal = web.authenticator.authenticate(bearer_token(request))
    request.state.actor = principal.name  # for the access log; the token itself is never logged
    wait = web.rate_limiter.hit(web.settings.api_rate, str(principal.token_id))
    if wait is not None:
        raise RateLimited("too many requests with this API token; wait as Retry-After says, then try again", wait)
    principal.require(action)
    return principal
