"""POST /api/v1/devices/{device_id}/reset: Reset by DCC for Service Centre tokens (SPEC §5.4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from fdtrack.domain.statuses import ProcessingStatus
from fdtrack.domain.timestamps import format_rfc3339
from fdtrack.domain.tokens import ApiAction
from fdtrack.services.reset import reset_device
from fdtrack.web.api.auth import authorise
from fdtrack.web.api.schemas import ResetOutcome, ResetRequest, error_responses
from fdtrack.web.dependencies import WebServices, api_services

router = APIRouter(prefix="/api/v1", tags=["service centre"])


@router.post(
    "/devices/{device_id}/reset",
    response_model=ResetOutcome,
    responses=error_responses(400, 401, 403, 409),
    summary="Reset by DCC (Service Centre accounts)",
)
def reset(
    request: Request,
    web: Annotated[WebServices, Depends(api_services)],
    device_id: Annotated[str, Path(max_length=200, description="Device ID (EUI-64)")],
    body: ResetRequest,
) -> ResetOutcome:
    """Resets the device's In Progress record (or the one of `request_id`); 409 says why when there is none.
    A named record that is not In Progress needs `"force": true` (409 without it); one already Reset by DCC
    is never reset again. Audited with who, when, why, the status replaced and whether it was forced."""
    principal = authorise(web, request, ApiAction.RESET)
    outcome = reset_device(
        web.store, device_id, body.reason, principal.name, body.request_id, channel="api", force=body.force
    )
    return ResetOutcome(
        service_request_id=outcome.service_request_id,
        device_id=outcome.device_id,
        replaced_status=outcome.replaced_status,
        current_status=ProcessingStatus.RESET_BY_DCC,
        reset_at=format_rfc3339(outcome.reset_at),
        forced=outcome.forced,
    )
