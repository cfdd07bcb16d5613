"""Reading the search form and the sign-in form, collecting a message for every field that is wrong."""

from __future__ import annotations

from dataclasses import dataclass, field

from fdtrack.domain.errors import InvalidInput
from fdtrack.services.search import Search, parse_search, parse_search_by
from fdtrack.web.numbers import whole_number

MAX_PAGE_NUMBER = 100_000


@dataclass(slots=True)
class FieldErrors:
    """Messages by field name, in the order the fields appear on the page (for the error summary)."""

    messages: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.messages.setdefault(name, message)

    def __bool__(self) -> bool:
        return bool(self.messages)

    def get(self, name: str) -> str | None:
        return self.messages.get(name)


@dataclass(slots=True)
class SearchForm:
    """The search form as submitted: raw values to show again, and the valid search if there is one."""

    search_by: str
    search_term: str
    errors: FieldErrors
    search: Search | None

    @property
    def submitted(self) -> bool:
        return bool(self.search_by or self.search_term or self.errors)


def read_search_form(search_by: str | None, search_term: str | None) -> SearchForm:
    """Nothing given: an empty form. Otherwise both fields are checked and each problem reported."""
    raw_by, raw_term = (search_by or "").strip(), (search_term or "")[:500]
    errors = FieldErrors()
    if search_by is None and search_term is None:
        return SearchForm("", "", errors, None)
    try:
        parse_search_by(raw_by)
    except InvalidInput as error:
        errors.add("search_by", error.problem)
    search = None
    if not errors:
        try:
            search = parse_search(raw_by, raw_term)
        except InvalidInput as error:
            errors.add(error.field, error.problem)
    elif not raw_term.strip():
        errors.add("search_term", "Enter a Service Request ID or a Device ID")
    return SearchForm(raw_by, raw_term, errors, search)


def read_page_number(text: str | None) -> int:
    if not text:
        return 1
    number = whole_number(text, 1, MAX_PAGE_NUMBER)
    if number is None:
        raise InvalidInput("page", f"must be a whole number from 1 to {MAX_PAGE_NUMBER}")
    return number
