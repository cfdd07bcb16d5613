"""POST /api/v1/events (NDJSON or a JSON array) and POST /api/v1/duis (one DUIS XML message): ingestion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from fdtrack.adapters.event_bodies import json_array_events, ndjson_body_events
from fdtrack.domain.tokens import ApiAction
from fdtrack.services.duis_ingest import ingest_duis_body
from fdtrack.services.ingest import IngestSummary, ingest
from fdtrack.services.tokens import ApiPrincipal
from fdtrack.web.api.auth import authorise
from fdtrack.web.api.bodies import DUIS_TYPES, media_type, read_body
from fdtrack.web.api.schemas import IngestSummary as IngestSummaryBody
from fdtrack.web.api.schemas import TrackingEvent, error_responses
from fdtrack.web.dependencies import WebServices, api_services

router = APIRouter(prefix="/api/v1", tags=["ingestion"])
WebDep = Annotated[WebServices, Depends(api_services)]
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
JSON_TYPE = "application/json"
EVENT_TYPES = (*NDJSON_TYPES, JSON_TYPE)

_EVENTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Tracking events (SPEC §5): NDJSON, one event object a line, or a JSON array of them.",
        "content": {
            **{kind: {"schema": {"type": "string"}} for kind in NDJSON_TYPES},
            JSON_TYPE: {"schema": {"type": "array", "items": TrackingEvent.model_json_schema()}},
        },
    }
}
_DUIS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One DUIS message (V5.4): an 11.1/11.4 request, its response, or a DCC or device alert.",
        "content": {kind: {"schema": {"type": "string"}} for kind in DUIS_TYPES},
    }
}


@router.post(
    "/events",
    response_model=IngestSummaryBody,
    responses=error_responses(400, 401, 403, 413, 415),
    openapi_extra=_EVENTS_BODY,
    summary="Push tracking events (scope ingest)",
)
async def post_events(request: Request, web: WebDep) -> JSONResponse:
    """200 with the summary even when some events are rejected (each is listed and kept for re-submission);
    4xx only when the body as a whole is unusable."""
    principal = await run_in_threadpool(authorise, web, request, ApiAction.INGEST)
    kind = media_type(request, EVENT_TYPES)
    body = await read_body(request, web.settings.max_body_bytes)
    summary = await run_in_threadpool(_ingest_events, web, principal, kind, body)
    return _summary(web, summary)


def _ingest_events(web: WebServices, principal: ApiPrincipal, kind: str, body: bytes) -> IngestSummary:
    source = f"api:{principal.name}"
    raw_events = json_array_events(body, source) if kind == JSON_TYPE else ndjson_body_events(body, source)
    return ingest(web.store, raw_events, web.body_ingest_options())


@router.post(
    "/duis",
    response_model=IngestSummaryBody,
    responses=error_responses(400, 401, 403, 413, 415),
    openapi_extra=_DUIS_BODY,
    summary="Push one DUIS XML message (scope ingest)",
)
async def post_duis(request: Request, web: WebDep) -> JSONResponse:
    """A message that cannot be used is kept with its reason and counted as rejected (200), like a bad event;
    a valid message that is not about firmware distribution is counted as ignored."""
    principal = await run_in_threadpool(authorise, web, request, ApiAction.INGEST)
    media_type(request, DUIS_TYPES)
    body = await read_body(request, web.settings.max_body_bytes)
    summary = await run_in_threadpool(
        ingest_duis_body,
        web.store,
        web.firmware_requests,
        web.duis_decoder,
        body,
        f"api:{principal.name}",
        web.body_ingest_options(),
    )
    return _summary(web, summary)


def _summary(web: WebServices, summary: IngestSummary) -> JSONResponse:
    web.metrics.count_ingest(summary)
    return JSONResponse(summary.as_json())
