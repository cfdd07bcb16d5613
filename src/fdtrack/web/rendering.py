"""Rendering a page with what every page shows: who is signed in and the token for the sign-out form."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from fdtrack.services.signin import SignedIn
from fdtrack.web.dependencies import services


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    signed_in: SignedIn | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    web = services(request)
    return web.templates.TemplateResponse(
        request,
        template,
        {"signed_in": signed_in, "account": signed_in.account if signed_in else None, **context},
        status_code=status_code,
    )
