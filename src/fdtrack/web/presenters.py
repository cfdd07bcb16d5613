"""How results look on the screen: UTC time labels, status tags and the stacked progress bar's segments."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from urllib.parse import urlencode

from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.statuses import CompletionStatus, ProcessingStatus
from fdtrack.services.lookup import DistributionRecordView, RequestOverview

BAR_WIDTH = 1_000  # SVG user units; the bar scales to the page with preserveAspectRatio="none"


def format_utc(moment: datetime) -> str:
    """Times on screen are always UTC and say so: 2021-11-05 14:03:22 UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def slug(value: str | Enum) -> str:
    text = value.value if isinstance(value, Enum) else value
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def thousands(count: int) -> str:
    return f"{count:,}"


def parse_completion(text: str | None) -> CompletionStatus | None:
    """The Completion Status filter arrives as a slug (in-progress, failed, complete); empty means all."""
    if not text:
        return None
    for status in CompletionStatus:
        if slug(status) == text.strip().lower():
            return status
    raise InvalidInput("completion", "Choose In Progress, Failed or Complete, or show all devices")


@dataclass(frozen=True, slots=True)
class Segment:
    """One coloured part of the stacked bar: a status, its count and where it sits."""

    label: str
    count: int
    colour: str
    x: float
    width: float
    percent: str


def bar_segments(counts: Iterable[tuple[str, int, str]]) -> list[Segment]:
    """Lay out (label, count, colour) side by side in proportion to their counts; empty ones are left out."""
    rows = [(label, count, colour) for label, count, colour in counts if count > 0]
    total = sum(count for _, count, _ in rows)
    segments, x = [], 0.0
    for label, count, colour in rows:
        width = BAR_WIDTH * count / total
        segments.append(Segment(label, count, colour, round(x, 3), round(width, 3), _percent(count, total)))
        x += width
    return segments


def _percent(count: int, total: int) -> str:
    share = 100 * count / total
    return "<0.1%" if 0 < share < 0.1 else f"{share:.1f}%"


@dataclass(frozen=True, slots=True)
class FilterLink:
    label: str
    count: int
    href: str
    current: bool


@dataclass(frozen=True, slots=True)
class RequestResults:
    """Results by Service Request ID: the head of the request and one page of its devices."""

    overview: RequestOverview
    completion_bar: list[Segment]
    processing_bar: list[Segment]
    records: list[DistributionRecordView]
    filters: list[FilterLink]
    completion: CompletionStatus | None
    first_row: int
    last_row: int
    total_rows: int
    page: int
    next_href: str | None
    first_href: str | None


@dataclass(frozen=True, slots=True)
class DeviceResults:
    device_id: str
    records: list[DistributionRecordView]


def request_results(
    overview: RequestOverview,
    records: list[DistributionRecordView],
    completion: CompletionStatus | None,
    page: int,
    page_size: int,
    next_cursor: str | None,
    base_query: Mapping[str, str],
) -> RequestResults:
    total = overview.by_completion[completion] if completion else overview.device_count
    first_row = (page - 1) * page_size + 1 if records else 0
    filter_query = dict(base_query)

    def href(**extra: str) -> str:
        return "?" + urlencode({**filter_query, **{k: v for k, v in extra.items() if v}})

    chosen = slug(completion) if completion else ""
    filters = [FilterLink("All devices", overview.device_count, href(), completion is None)]
    filters.extend(
        FilterLink(status.value, overview.by_completion[status], href(completion=slug(status)), completion is status)
        for status in CompletionStatus
    )
    return RequestResults(
        overview=overview,
        completion_bar=bar_segments(
            (status.value, overview.by_completion[status], status.colour) for status in CompletionStatus
        ),
        processing_bar=bar_segments(
            (status.value, overview.by_processing[status], status.colour) for status in ProcessingStatus
        ),
        records=records,
        filters=filters,
        completion=completion,
        first_row=first_row,
        last_row=first_row + len(records) - 1 if records else 0,
        total_rows=total,
        page=page,
        next_href=href(completion=chosen, cursor=next_cursor, page=str(page + 1)) if next_cursor else None,
        first_href=href(completion=chosen) if page > 1 else None,
    )


_STORED_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
_DETAIL_LABELS = {
    "client": "From address",
    "why": "Why",
    "failures_from_client": "Failures from that address",
    "sessions_ended": "Sessions ended",
    "throttles_lifted": "Throttles lifted",
    "user_ids": "User IDs",
    "user_id": "User ID",
    "role": "Role",
    "party": "Party",
    "from": "Before",
    "to": "After",
    "token_id": "Token",
    "scope": "Scope",
    "hint": "Token begins",
    "name": "Name",
    "until": "Until",
}


def detail_label(key: str) -> str:
    """A detail's label: known keys have one; others become words ("as_of" reads "As of")."""
    return _DETAIL_LABELS.get(key, key.replace("_", " ").capitalize())


def detail_text(value: object) -> str:
    """A detail value as a person reads it: no Python or JSON notation (None, [...], {...}), times in
    UTC to the second, lists joined with commas, nested details as "Label: value" pairs."""
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(detail_text(item) for item in value) if value else "none"
    if isinstance(value, Mapping):
        return "; ".join(f"{detail_label(str(key))}: {detail_text(item)}" for key, item in value.items())
    return _moment_text(str(value))


def _moment_text(text: str) -> str:
    """A stored time (ISO, perhaps with microseconds) to the second in UTC; any other text as it is."""
    if not _STORED_MOMENT.fullmatch(text):
        return text
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return format_utc(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
