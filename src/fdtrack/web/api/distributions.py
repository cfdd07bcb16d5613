"""GET /api/v1/distributions and its CSV: a party's records by Service Request ID or Device ID (SPEC §8.2, §8.4)."""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from fdtrack.adapters.csv_export import csv_chunks, csv_filename
from fdtrack.adapters.json_export import record_json
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.identifiers import parse_device_id, parse_service_request_id
from fdtrack.domain.tokens import ApiAction
from fdtrack.services import lookup
from fdtrack.services.downloads import open_download
from fdtrack.services.search import Search, SearchBy
from fdtrack.web.api.auth import authorise
from fdtrack.web.api.schemas import DistributionsPage, error_responses
from fdtrack.web.dependencies import WebServices, api_services, run_short_read, services
from fdtrack.web.numbers import whole_number

router = APIRouter(prefix="/api/v1", tags=["distributions"])
WebDep = Annotated[WebServices, Depends(api_services)]
MAX_ID_LENGTH = 200
REQUEST_ID_HELP = "Service Request ID, e.g. 90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000"
DEVICE_ID_HELP = "Device ID (EUI-64), e.g. 00-DB-12-34-56-78-90-A0"
RequestIdParam = Annotated[str | None, Query(max_length=MAX_ID_LENGTH, description=REQUEST_ID_HELP)]
DeviceIdParam = Annotated[str | None, Query(max_length=MAX_ID_LENGTH, description=DEVICE_ID_HELP)]


def _limit(text: str | None) -> int:
    if text is None:
        return lookup.DEFAULT_PAGE
    number = whole_number(text, 1, lookup.MAX_PAGE)
    if number is None:
        raise InvalidInput("limit", f"must be a whole number from 1 to {lookup.MAX_PAGE}")
    return number


def _search(request_id: str | None, device_id: str | None) -> Search:
    """Exactly one of the two, in canonical form; InvalidInput names the field otherwise."""
    by_request, by_device = bool(request_id and request_id.strip()), bool(device_id and device_id.strip())
    if by_request == by_device:
        raise InvalidInput("request_id", "give exactly one of request_id or device_id")
    if by_request:
        return Search(SearchBy.SERVICE_REQUEST_ID, str(parse_service_request_id(request_id, "request_id")))
    return Search(SearchBy.DEVICE_ID, parse_device_id(device_id, "device_id"))


def _query_parameter(name: str, description: str, schema: dict[str, object]) -> dict[str, object]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


# The look-up reads its query by hand (see `distributions`), so its parameters are documented here.
_LOOK_UP_PARAMETERS = [
    _query_parameter("request_id", REQUEST_ID_HELP, {"type": "string", "maxLength": MAX_ID_LENGTH}),
    _query_parameter("device_id", DEVICE_ID_HELP, {"type": "string", "maxLength": MAX_ID_LENGTH}),
    _query_parameter(
        "limit",
        "Records per page (by request)",
        {"type": "integer", "minimum": 1, "maximum": lookup.MAX_PAGE, "default": lookup.DEFAULT_PAGE},
    ),
    _query_parameter("cursor", "`next_cursor` of the previous page", {"type": "string", "maxLength": MAX_ID_LENGTH}),
]


LOOK_UP_PATH = "/api/v1/distributions"


@router.get(
    LOOK_UP_PATH.removeprefix("/api/v1"),
    response_model=DistributionsPage,
    responses=error_responses(400, 401, 403, 404),
    summary="Distribution records by Service Request ID or Device ID",
    openapi_extra={"parameters": _LOOK_UP_PARAMETERS},
)
async def distributions(request: Request) -> Response:
    """By request: one page in Device ID order, `next_cursor` leads to the next. By device: all of the
    device's records (a handful), newest first; `limit` and `cursor` apply to look-ups by request only.
    A record of another party answers exactly as one that does not exist: 404."""
    # The API's most frequent call, kept lean: no FastAPI parameters or dependencies (their machinery
    # costs as much as the look-up), and a device's handful of records is a short read. A page of a
    # request can hold 1,000 records with their histories, so it always goes to a worker thread.
    web = services(request)
    query = request.query_params
    request_id, device_id = query.get("request_id"), query.get("device_id")
    run = partial(run_short_read, web) if device_id and not request_id else run_in_threadpool
    return await run(_distributions, web, request, request_id, device_id, query.get("limit"), query.get("cursor"))


def fast_routes() -> list[BaseRoute]:
    """The look-up again as a plain Starlette route, for the app to match before FastAPI's copy.

    `distributions` takes only the request and does its own checks, so it behaves the same either way;
    FastAPI's copy documents it in /openapi.json, this one answers. FastAPI's per-request machinery
    (dependencies, validation, which this endpoint does not use) costs as much as the look-up itself.
    """
    return [_NamedRoute(LOOK_UP_PATH, distributions, methods=["GET"], include_in_schema=False)]


class _NamedRoute(Route):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self  # FastAPI's router names only its own routes; metrics and logs read this
        await super().handle(scope, receive, send)


def _distributions(
    web: WebServices,
    request: Request,
    request_id: str | None,
    device_id: str | None,
    limit_text: str | None,
    cursor: str | None,
) -> Response:
    principal = authorise(web, request, ApiAction.LOOK_UP)
    search = _search(request_id, device_id)
    limit = _limit(limit_text)
    if cursor is not None and len(cursor) > MAX_ID_LENGTH:
        raise InvalidInput("cursor", "is not a cursor returned by a previous page")
    retention = web.settings.retention
    if search.by is SearchBy.SERVICE_REQUEST_ID:
        page = lookup.records_by_request(
            web.store, principal.viewer, search.term, retention, limit=limit, cursor=cursor or None
        )
        records, next_cursor = page.records, page.next_cursor
    else:
        records, next_cursor = (
            lookup.records_by_device(web.device_lookups, principal.viewer, search.term, retention),
            None,
        )
    body = json.dumps({"records": [record_json(record) for record in records], "next_cursor": next_cursor})
    return Response(body, media_type="application/json")


@router.get(
    "/distributions.csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The CSV of SPEC §8.4"},
        **error_responses(400, 401, 403, 404),
    },
    summary="All records of a look-up as CSV (streamed, audited)",
)
def distributions_csv(
    request: Request,
    web: WebDep,
    request_id: RequestIdParam = None,
    device_id: DeviceIdParam = None,
) -> StreamingResponse:
    principal = authorise(web, request, ApiAction.LOOK_UP)
    download = open_download(web.store, principal.viewer, _search(request_id, device_id), web.settings.retention)
    filename = csv_filename(download.search.by.value, download.search.term, download.requested_at)
    return StreamingResponse(
        csv_chunks(download.records, rows_per_chunk=2_000),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"},
    )
