"""POST /api/v1/devices: a device inventory (CSV, or one DUIS SR 8.2 Read Inventory response) imported."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from fdtrack.adapters.inventory_files import read_inventory_csv, read_inventory_responses
from fdtrack.domain.tokens import ApiAction
from fdtrack.services.duis_ingest import DuisDocument
from fdtrack.services.inventory import InventorySummary, RawDeviceEntry, import_inventory
from fdtrack.web.api.auth import authorise
from fdtrack.web.api.bodies import DUIS_TYPES, media_type, read_body
from fdtrack.web.api.schemas import InventorySummary as InventorySummaryBody
from fdtrack.web.api.schemas import error_responses
from fdtrack.web.dependencies import WebServices, api_services

router = APIRouter(prefix="/api/v1", tags=["ingestion"])
WebDep = Annotated[WebServices, Depends(api_services)]
CSV_TYPE = "text/csv"

_DEVICES_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "A device inventory: CSV with the header `Device ID,Device Type,SMETS/CHTS Version,Device Model` "
            "(any case, any column order), or one DUIS SR 8.2 Read Inventory response (XML)."
        ),
        "content": {kind: {"schema": {"type": "string"}} for kind in (CSV_TYPE, *DUIS_TYPES)},
    }
}


@router.post(
    "/devices",
    response_model=InventorySummaryBody,
    responses=error_responses(400, 401, 403, 413, 415),
    openapi_extra=_DEVICES_BODY,
    summary="Import a device inventory (scope ingest)",
)
async def post_devices(request: Request, web: WebDep) -> JSONResponse:
    """200 with the summary even when some entries are rejected (each is listed and kept in the rejected-events
    store); 4xx only when the body as a whole is unusable (e.g. a CSV header without Device ID and Device Type).
    The body is imported in one transaction; a device imported again takes its latest entry."""
    principal = await run_in_threadpool(authorise, web, request, ApiAction.INGEST)
    kind = media_type(request, (CSV_TYPE, *DUIS_TYPES))
    body = await read_body(request, web.settings.max_body_bytes)
    summary = await run_in_threadpool(_import, web, f"api:{principal.name}", kind, body)
    return JSONResponse(summary.as_json())


def _import(web: WebServices, source: str, kind: str, body: bytes) -> InventorySummary:
    # A body holds fewer entries than it has bytes, so its size limit makes it one batch, one transaction.
    return import_inventory(web.store, _entries(source, kind, body), batch_size=web.settings.max_body_bytes)


def _entries(source: str, kind: str, body: bytes) -> Iterator[RawDeviceEntry]:
    if kind == CSV_TYPE:
        return read_inventory_csv(io.BytesIO(body), source)
    return read_inventory_responses([DuisDocument(source, body)])
