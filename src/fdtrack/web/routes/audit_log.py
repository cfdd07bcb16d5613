"""The audit log page for administrators: filter by action, actor and time, newest first, paged."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from fdtrack.adapters.audit_export import audit_csv_chunks
from fdtrack.domain.accounts import Role
from fdtrack.domain.errors import InvalidInput, NotPermitted
from fdtrack.services.audit import (
    AUDIT_ACTIONS,
    AuditPage,
    AuditQuery,
    audit_page,
    export_audit,
    parse_audit_query,
)
from fdtrack.services.signin import SignedIn
from fdtrack.web.auth import require_signed_in
from fdtrack.web.dependencies import WebServices, services
from fdtrack.web.forms import FieldErrors
from fdtrack.web.numbers import whole_number
from fdtrack.web.rendering import render

router = APIRouter(include_in_schema=False)
AUDIT_PATH = "/admin/audit-log"
AUDIT_CSV_PATH = "/admin/audit-log.csv"
PAGE_SIZE = 100


def require_admin(signed_in: Annotated[SignedIn, Depends(require_signed_in)]) -> SignedIn:
    if signed_in.account.role is not Role.ADMIN:
        raise NotPermitted("Only administrators can read the audit log.")
    return signed_in


@router.get(AUDIT_PATH)
def audit_log_page(
    request: Request,
    web: Annotated[WebServices, Depends(services)],
    signed_in: Annotated[SignedIn, Depends(require_admin)],
    action: str | None = None,
    actor: str | None = None,
    since: str | None = None,
    until: str | None = None,
    before: str | None = None,
) -> Response:
    raw = {
        "action": action or "",
        "actor": (actor or "")[:200],
        "since": (since or "")[:40],
        "until": (until or "")[:40],
    }
    errors = FieldErrors()
    page: AuditPage | None = None
    try:
        query = parse_audit_query(action, actor, since, until)
    except InvalidInput as error:
        errors.add(error.field, error.problem[:1].upper() + error.problem[1:])
        query = AuditQuery()
    if not errors:
        try:
            page = audit_page(web.audit_log, query, _entry_number(before), PAGE_SIZE)
        except InvalidInput as error:
            errors.add("before", str(error))
    filters = {key: value for key, value in raw.items() if value}
    context: dict[str, Any] = {
        "title": ("Error: " if errors else "") + "Audit log",
        "heading": "Audit log",
        "raw": raw,
        "actions": AUDIT_ACTIONS,
        "errors": errors,
        "page": page,
        "older_href": f"?{urlencode({**filters, 'before': page.next_before})}" if page and page.next_before else None,
        "newest_href": f"?{urlencode(filters)}" if before else None,
        "csv_href": f"{AUDIT_CSV_PATH}?{urlencode(filters)}" if filters else AUDIT_CSV_PATH,
        "nav": "audit",
    }
    return render(request, "audit_log.html", context, signed_in=signed_in, status_code=400 if errors else 200)


@router.get(AUDIT_CSV_PATH)
def audit_log_csv(
    web: Annotated[WebServices, Depends(services)],
    signed_in: Annotated[SignedIn, Depends(require_admin)],
    action: str | None = None,
    actor: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> StreamingResponse:
    """Every entry matching the filters, oldest first, as `fdtrack audit --format csv` writes it."""
    query = parse_audit_query(action, actor, since, until)
    entries = export_audit(web.audit_log, query)
    filename = f"fdtrack-audit-log-{web.clock().strftime('%Y%m%dT%H%M%SZ')}.csv"
    return StreamingResponse(
        audit_csv_chunks(entries),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


def _entry_number(text: str | None) -> int | None:
    if not text:
        return None
    number = whole_number(text, 0, 10**18 - 1)
    if number is None:
        raise InvalidInput("before", "is not an entry number from this page")
    return number
