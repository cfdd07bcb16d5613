"""A tracking search as the screen and the CSV download take it: by Service Request ID or by Device ID."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.identifiers import EUI64_FORM, REQUEST_ID_FORM, parse_device_id, parse_service_request_id

MAX_TERM_LENGTH = 200  # the longest valid Service Request ID is 68 characters; more is not a search


class SearchBy(StrEnum):
    SERVICE_REQUEST_ID = "service_request_id"
    DEVICE_ID = "device_id"

    @property
    def label(self) -> str:
        return "Service Request ID" if self is SearchBy.SERVICE_REQUEST_ID else "Device ID"

    @property
    def expected_form(self) -> str:
        return REQUEST_ID_FORM if self is SearchBy.SERVICE_REQUEST_ID else EUI64_FORM


@dataclass(frozen=True, slots=True)
class Search:
    """A valid search: what to search by and the term in canonical form."""

    by: SearchBy
    term: str


def parse_search(search_by: str | None, search_term: str | None) -> Search:
    """Validate both fields; InvalidInput names `search_by` or `search_term` and says what is expected."""
    by = parse_search_by(search_by)
    term = (search_term or "").strip()
    if not term:
        raise InvalidInput("search_term", f"Enter a {by.label}")
    if len(term) > MAX_TERM_LENGTH:
        raise InvalidInput("search_term", f"{by.label} must be at most {MAX_TERM_LENGTH} characters")
    try:
        if by is SearchBy.SERVICE_REQUEST_ID:
            canonical = str(parse_service_request_id(term, "search_term"))
        else:
            canonical = parse_device_id(term, "search_term")
    except InvalidInput:
        raise InvalidInput("search_term", f"Enter a {by.label} in the form {by.expected_form}") from None
    return Search(by, canonical)


def parse_search_by(search_by: str | None) -> SearchBy:
    for choice in SearchBy:
        if choice.value == (search_by or "").strip():
            return choice
    raise InvalidInput("search_by", "Select whether to search by Service Request ID or Device ID")
