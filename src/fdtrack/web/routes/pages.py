"""The pages that lead to the screen: the home address and the Diagnostics and Service Audit Trail menus."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from fdtrack.services.signin import SignedIn
from fdtrack.web.auth import HOME_PATH, require_signed_in
from fdtrack.web.rendering import render

router = APIRouter(include_in_schema=False)
DIAGNOSTICS_PATH = "/diagnostics"
SERVICE_AUDIT_TRAIL_PATH = "/diagnostics/service-audit-trail"


@router.get("/")
def home(_signed_in: Annotated[SignedIn, Depends(require_signed_in)]) -> Response:
    return RedirectResponse(HOME_PATH, status_code=303)


@router.get(DIAGNOSTICS_PATH)
def diagnostics(request: Request, signed_in: Annotated[SignedIn, Depends(require_signed_in)]) -> Response:
    links = [
        (
            "Service Audit Trail",
            SERVICE_AUDIT_TRAIL_PATH,
            "Follow what happened to your Service Requests as they passed through the DCC systems.",
        )
    ]
    context = {"title": "Diagnostics", "links": links, "crumbs": []}
    return render(request, "menu.html", context, signed_in=signed_in)


@router.get(SERVICE_AUDIT_TRAIL_PATH)
def service_audit_trail(request: Request, signed_in: Annotated[SignedIn, Depends(require_signed_in)]) -> Response:
    links = [
        (
            "Firmware Distribution Tracking",
            HOME_PATH,
            "Where each device of an Update Firmware request (SR 11.1, 11.4) has got to: "
            "look up by Service Request ID or Device ID, see the history and download CSV.",
        )
    ]
    context = {"title": "Service Audit Trail", "links": links, "crumbs": [("Diagnostics", DIAGNOSTICS_PATH)]}
    return render(request, "menu.html", context, signed_in=signed_in)
