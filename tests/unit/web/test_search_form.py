"""Reading the search form: every missing or malformed field is named with what is expected."""

from __future__ import annotations

import pytest

from fdtrack.domain.errors import InvalidInput
from fdtrack.services.search import SearchBy
from fdtrack.web.forms import read_page_number, read_search_form

REQUEST = "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000"


def test_an_empty_visit_is_a_blank_form_without_errors() -> None:
    form = read_search_form(None, None)
    assert not form.errors
    assert form.search is None
    assert not form.submitted


def test_both_fields_missing_are_both_reported() -> None:
    form = read_search_form("", "")
    assert form.errors.get("search_by") == "Select whether to search by Service Request ID or Device ID"
    assert form.errors.get("search_term") == "Enter a Service Request ID or a Device ID"


def test_an_unknown_choice_is_reported_on_the_choice() -> None:
    form = read_search_form("meter", "00DB1234567890A0")
    assert list(form.errors.messages) == ["search_by"]


@pytest.mark.parametrize(
    ("search_by", "term", "message"),
    [
        ("device_id", "", "Enter a Device ID"),
        ("device_id", "00-DB-12", "Enter a Device ID in the form 16 hex digits"),
        ("service_request_id", "00DB1234567890A0", "Enter a Service Request ID in the form <originator EUI-64>"),
        ("service_request_id", "x" * 300, "Service Request ID must be at most 200 characters"),
    ],
)
def test_a_malformed_term_names_what_is_expected(search_by: str, term: str, message: str) -> None:
    form = read_search_form(search_by, term)
    assert (form.errors.get("search_term") or "").startswith(message)
    assert form.search is None


def test_valid_terms_are_made_canonical() -> None:
    by_device = read_search_form("device_id", "  00db1234567890a0 ")
    assert by_device.search is not None
    assert (by_device.search.by, by_device.search.term) == (SearchBy.DEVICE_ID, "00-DB-12-34-56-78-90-A0")
    by_request = read_search_form("service_request_id", REQUEST.lower().replace(":1000", ":0001000"))
    assert by_request.search is not None
    assert by_request.search.term == REQUEST


@pytest.mark.parametrize("text", ["0", "-1", "abc", "100001"])
def test_a_page_number_out_of_range_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="page"):
        read_page_number(text)
