"""GET /healthz (is the service and its database answering) and GET /metrics (Prometheus text)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from fdtrack.web.api.schemas import Health
from fdtrack.web.dependencies import WebServices, api_services
from fdtrack.web.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])
WebDep = Annotated[WebServices, Depends(api_services)]


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database does not answer"}},
    summary="Liveness and database reachability",
)
async def healthz(web: WebDep) -> JSONResponse:
    health = await web.health.check()
    body = {
        "status": "ok" if health.healthy else "unavailable",
        "database": health.database.value,
    }
    return JSONResponse(body, status_code=200 if health.healthy else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text"}},
    summary="Prometheus metrics",
)
def metrics(web: WebDep) -> Response:
    return Response(web.metrics.exposition(), media_type=CONTENT_TYPE)
