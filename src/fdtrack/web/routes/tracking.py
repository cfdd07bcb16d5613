"""The Firmware Distribution Tracking screen and its CSV download (SPEC §8.3, §8.4)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from fdtrack.adapters.csv_export import csv_chunks, csv_filename
from fdtrack.domain.errors import FdtrackError, InvalidInput, RecordsNotFound
from fdtrack.services import lookup
from fdtrack.services.downloads import open_download
from fdtrack.services.search import Search, SearchBy
from fdtrack.services.signin import SignedIn
from fdtrack.web.auth import HOME_PATH, require_signed_in
from fdtrack.web.dependencies import WebServices, services
from fdtrack.web.errors import status_for
from fdtrack.web.forms import SearchForm, read_page_number, read_search_form
from fdtrack.web.presenters import DeviceResults, RequestResults, parse_completion, request_results
from fdtrack.web.rendering import render

router = APIRouter(include_in_schema=False)
CSV_PATH = f"{HOME_PATH}.csv"
SignedInDep = Annotated[SignedIn, Depends(require_signed_in)]
WebDep = Annotated[WebServices, Depends(services)]


@router.get(HOME_PATH)
def tracking_screen(
    request: Request,
    web: WebDep,
    signed_in: SignedInDep,
    search_by: str | None = None,
    search_term: str | None = None,
    completion: str | None = None,
    cursor: str | None = None,
    page: str | None = None,
) -> Response:
    form = read_search_form(search_by, search_term)
    if form.search is None:
        status = 400 if form.errors else 200
        return _screen(request, signed_in, form, status=status)
    try:
        results = _results(web, signed_in, form.search, completion, cursor, page)
    except RecordsNotFound as not_found:
        return _screen(request, signed_in, form, not_found=str(not_found), status=status_for(not_found))
    except InvalidInput as invalid:
        # Fields of the form get GOV.UK-style messages; anything else in the address is named as it is.
        on_form = invalid.field in ("search_by", "search_term")
        form.errors.add(invalid.field, invalid.problem if on_form else str(invalid))
        return _screen(request, signed_in, form, status=status_for(invalid))
    return _screen(request, signed_in, form, results=results)


@router.get(CSV_PATH)
def tracking_csv(
    request: Request,
    web: WebDep,
    signed_in: SignedInDep,
    search_by: str | None = None,
    search_term: str | None = None,
) -> Response:
    """All rows of the search as CSV, streamed; a bad or empty search shows the screen with the message."""
    form = read_search_form(search_by, search_term)
    if form.search is None:
        if not form.errors:
            form.errors.add("search_by", "Select whether to search by Service Request ID or Device ID")
        return _screen(request, signed_in, form, status=400)
    try:
        download = open_download(web.store, signed_in.viewer, form.search, web.settings.retention)
    except (RecordsNotFound, InvalidInput) as error:
        return _failed_search(request, signed_in, form, error)
    filename = csv_filename(download.search.by.value, download.search.term, download.requested_at)
    return StreamingResponse(
        csv_chunks(download.records, rows_per_chunk=2_000),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"},
    )


def _results(
    web: WebServices,
    signed_in: SignedIn,
    search: Search,
    completion_text: str | None,
    cursor: str | None,
    page_text: str | None,
) -> RequestResults | DeviceResults:
    viewer, retention = signed_in.viewer, web.settings.retention
    if search.by is SearchBy.DEVICE_ID:
        return DeviceResults(search.term, lookup.records_by_device(web.store, viewer, search.term, retention))
    completion = parse_completion(completion_text)
    page = read_page_number(page_text) if cursor else 1
    overview = lookup.request_overview(web.store, viewer, search.term)
    size = web.settings.results_page_size
    records = lookup.records_by_request(
        web.store, viewer, search.term, retention, limit=size, cursor=cursor or None, completion=completion
    )
    query = {"search_by": search.by.value, "search_term": search.term}
    return request_results(overview, records.records, completion, page, size, records.next_cursor, query)


def _failed_search(request: Request, signed_in: SignedIn, form: SearchForm, error: FdtrackError) -> Response:
    if isinstance(error, InvalidInput):
        form.errors.add("search_term", error.problem)
        return _screen(request, signed_in, form, status=status_for(error))
    return _screen(request, signed_in, form, not_found=str(error), status=status_for(error))


def _screen(
    request: Request,
    signed_in: SignedIn,
    form: SearchForm,
    *,
    results: RequestResults | DeviceResults | None = None,
    not_found: str | None = None,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "title": "Firmware Distribution Tracking",
        "form": form,
        "results": results,
        "request_results": results if isinstance(results, RequestResults) else None,
        "device_results": results if isinstance(results, DeviceResults) else None,
        "not_found": not_found,
        "search_by_choices": list(SearchBy),
        "csv_href": _csv_href(form.search) if results is not None and form.search else None,
    }
    if form.errors:
        context["title"] = "Error: Firmware Distribution Tracking"
    return render(request, "tracking.html", context, signed_in=signed_in, status_code=status)


def _csv_href(search: Search) -> str:
    return f"{CSV_PATH}?{urlencode({'search_by': search.by.value, 'search_term': search.term})}"
