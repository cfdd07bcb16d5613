"""The Service Centre screen (SSMI): look up a device across all parties and reset it, after a confirmation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from fdtrack.domain.accounts import Role
from fdtrack.domain.errors import InvalidInput, NothingToReset, NotPermitted, RecordsNotFound
from fdtrack.domain.events import MAX_REASON
from fdtrack.domain.identifiers import EUI64_FORM, parse_device_id
from fdtrack.domain.reset import ResetNeedsForce, ResetRule, reset_rule
from fdtrack.services import lookup
from fdtrack.services.reset import ResetPreview, preview_reset, reset_device
from fdtrack.services.signin import SignedIn
from fdtrack.web.auth import CSRF_FIELD, check_csrf, require_signed_in
from fdtrack.web.dependencies import WebServices, services
from fdtrack.web.errors import status_for
from fdtrack.web.forms import FieldErrors
from fdtrack.web.rendering import render

router = APIRouter(include_in_schema=False)
RESET_PATH = "/ssmi/device-reset"
CHECK_PATH = f"{RESET_PATH}/check"
WebDep = Annotated[WebServices, Depends(services)]
TITLE = "Reset a device (Reset by DCC)"
NAV = "service-centre"  # the item of the service menu that is current
CONFIRMED = "yes"  # the value of the ticked "not In Progress, reset it anyway" checkbox


def require_service_centre(signed_in: Annotated[SignedIn, Depends(require_signed_in)]) -> SignedIn:
    if signed_in.account.role is not Role.SERVICE_CENTRE:
        raise NotPermitted("Only DCC Service Centre accounts can reset devices.")
    return signed_in


ServiceCentre = Annotated[SignedIn, Depends(require_service_centre)]
TextField = Annotated[str, Form(max_length=2_000)]
CsrfField = Annotated[str, Form(alias=CSRF_FIELD, max_length=200)]


@router.get(RESET_PATH)
def device_reset(request: Request, web: WebDep, signed_in: ServiceCentre, device_id: str | None = None) -> Response:
    """The look-up: every party's records of the device; each one not already Reset by DCC can be reset."""
    return _lookup_page(request, web, signed_in, device_id)


@router.post(CHECK_PATH)
def check_reset(
    request: Request,
    web: WebDep,
    signed_in: ServiceCentre,
    device_id: TextField = "",
    request_id: TextField = "",
    reason: TextField = "",
    csrf_token: CsrfField = "",
) -> Response:
    """The confirmation step: says exactly what will be reset, whose it is, its history and why; changes nothing.

    A record that is not In Progress is previewed too: this page asks for the extra confirmation."""
    check_csrf(signed_in, csrf_token)
    try:
        preview = preview_reset(web.store, web.accounts, device_id, reason, request_id or None, force=True)
    except (InvalidInput, NothingToReset) as error:
        return _lookup_page(request, web, signed_in, device_id, error=error, chosen=request_id, reason=reason)
    return _confirm_page(request, signed_in, preview)


@router.post(RESET_PATH)
def confirm_reset(
    request: Request,
    web: WebDep,
    signed_in: ServiceCentre,
    device_id: TextField = "",
    request_id: TextField = "",
    reason: TextField = "",
    confirm_not_in_progress: Annotated[str, Form(max_length=10)] = "",
    csrf_token: CsrfField = "",
) -> Response:
    check_csrf(signed_in, csrf_token)
    try:
        outcome = reset_device(
            web.store,
            device_id,
            reason,
            signed_in.account.username,
            request_id or None,
            channel="screen",
            force=confirm_not_in_progress == CONFIRMED,
        )
    except ResetNeedsForce as needs_force:
        # Not ticked (or the record stopped being In Progress since the check): ask again, on the same page.
        try:
            preview = preview_reset(web.store, web.accounts, device_id, reason, request_id or None, force=True)
        except (InvalidInput, NothingToReset) as error:
            return _lookup_page(request, web, signed_in, device_id, error=error, chosen=request_id, reason=reason)
        return _confirm_page(request, signed_in, preview, needs_force)
    except (InvalidInput, NothingToReset) as error:
        return _lookup_page(request, web, signed_in, device_id, error=error, chosen=request_id, reason=reason)
    context = {"title": "Device reset", "outcome": outcome, "reason": reason.strip(), "nav": NAV}
    context["lookup_href"] = _lookup_href(outcome.device_id)
    return render(request, "service_centre_done.html", context, signed_in=signed_in)


def _confirm_page(
    request: Request, signed_in: SignedIn, preview: ResetPreview, unconfirmed: ResetNeedsForce | None = None
) -> Response:
    confirm_error = None
    if unconfirmed is not None:
        # Shorter than the other interfaces' message: the warning above already names the device and request.
        record = unconfirmed.record
        confirm_error = (
            "Tick the box to confirm you want to reset this record: it is "
            f"{record.completion.value} ({record.current_status.value}), not In Progress"
        )
    context = {
        "title": ("Error: " if confirm_error else "") + "Check before you reset",
        "heading": "Check before you reset",
        "preview": preview,
        "lookup_href": _lookup_href(preview.device_id),
        "confirm_error": confirm_error,
        "confirmed_value": CONFIRMED,
        "nav": NAV,
    }
    status = status_for(unconfirmed) if unconfirmed is not None else 200
    return render(request, "service_centre_confirm.html", context, signed_in=signed_in, status_code=status)


def _lookup_href(device_id: str) -> str:
    return f"{RESET_PATH}?device_id={device_id}"


def _lookup_page(
    request: Request,
    web: WebDep,
    signed_in: SignedIn,
    device_text: str | None,
    *,
    error: InvalidInput | NothingToReset | None = None,
    chosen: str = "",
    reason: str = "",
) -> Response:
    errors = FieldErrors()
    records: list[lookup.DistributionRecordView] = []
    not_found = None
    device_id = None
    if device_text is not None:
        try:
            device_id = parse_device_id(device_text, "device_id")
        except InvalidInput:
            errors.add("device_id", f"Enter a Device ID in the form {EUI64_FORM}")
    if device_id is not None:
        try:
            records = lookup.records_by_device(web.store, signed_in.viewer, device_id, web.settings.retention)
        except RecordsNotFound as nothing:
            not_found = str(nothing)
    reset_error = None
    if isinstance(error, InvalidInput) and error.field == "reason":
        reset_error = error.problem[:1].upper() + error.problem[1:]
    elif error is not None:
        reset_error = str(error)[:1].upper() + str(error)[1:]
    rules = {record.service_request_id: reset_rule(record.current_status) for record in records}
    context: dict[str, Any] = {
        "title": ("Error: " if errors or reset_error else "") + TITLE,
        # Which records get a reset form, and which of those need the extra confirmation (§5.4 v2).
        "resettable": {request_id for request_id, rule in rules.items() if rule is not ResetRule.NEVER},
        "needs_force": {request_id for request_id, rule in rules.items() if rule is ResetRule.FORCED_ONLY},
        "heading": TITLE,
        "device_text": (device_text or "")[:100],
        "device_id": device_id,
        "errors": errors,
        "records": records,
        "not_found": not_found,
        "chosen": chosen,
        "reason": reason[: MAX_REASON + 100],
        "reset_error": reset_error,
        "max_reason": MAX_REASON,
        "nav": NAV,
    }
    status = 400 if errors else (status_for(error) if error is not None else 200)
    if not_found and not errors:
        status = 404
    return render(request, "service_centre.html", context, signed_in=signed_in, status_code=status)
