"""The API's bodies as OpenAPI documents them (pydantic models used for the schema and for reading requests)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fdtrack.domain.events import MAX_REASON
from fdtrack.domain.statuses import CompletionStatus, ProcessingStatus


class ApiError(BaseModel):
    code: str = Field(description="A stable, machine-readable name, e.g. invalid_input, not_found, unauthorized")
    message: str = Field(description="What went wrong, for a person; names the field when one is at fault")


class ErrorBody(BaseModel):
    error: ApiError


class HistoryEntry(BaseModel):
    status: ProcessingStatus
    reason: str
    occurred_at: str = Field(description="RFC 3339, UTC, with a Z")
    received_at: str = Field(description="RFC 3339, UTC, with a Z: when fdtrack stored the event")


class DistributionRecord(BaseModel):
    """One device of one Update Firmware request (SPEC §8.2)."""

    service_request_id: str
    device_id: str
    device_type: str | None
    firmware_version: str | None
    current_status: ProcessingStatus
    current_status_reason: str
    current_status_updated_at: str
    completion_status: CompletionStatus
    available_until: str = Field(description="From this moment the record may be deleted (retention)")
    history: list[HistoryEntry]


class DistributionsPage(BaseModel):
    records: list[DistributionRecord]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class IngestError(BaseModel):
    source: str = Field(description="Where the event was in the body, e.g. api:upstream:3 for its third line")
    error: str


class IngestSummary(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    errors: list[IngestError] = Field(description="The first 1,000 rejections; all are kept for re-submission")
    ignored: int = Field(
        description="DUIS messages that mean nothing for firmware distribution tracking (0 for tracking events)"
    )


class InventorySummary(BaseModel):
    imported: int = Field(description="Inventory entries stored (a device imported again takes its latest entry)")
    rejected: int
    errors: list[IngestError] = Field(description="The first 1,000 rejected entries; all are kept in the store")


class ResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON, description="Why the device is reset (mandatory)")
    request_id: str | None = Field(
        default=None, max_length=200, description="Reset this request's record rather than the latest In Progress one"
    )
    force: bool = Field(
        default=False,
        description=(
            "Reset the `request_id` record even though it is not In Progress (e.g. Complete or Failed); "
            "without it such a reset is refused with 409. A record already Reset by DCC is never reset again."
        ),
    )


class ResetOutcome(BaseModel):
    service_request_id: str
    device_id: str
    replaced_status: ProcessingStatus
    current_status: ProcessingStatus
    reset_at: str
    forced: bool = Field(description="The record was not In Progress and was reset because `force` was true")


class TrackingEvent(BaseModel):
    """A tracking event as sent (SPEC §5); unknown fields are ignored."""

    model_config = ConfigDict(extra="allow")

    request_id: str | None = None
    device_id: str
    status: str
    occurred_at: str
    event_id: str | None = None
    reason: str | None = None
    firmware_version: str | None = None
    device_type: str | None = None


class Health(BaseModel):
    status: str = Field(description="ok, or unavailable")
    database: str = Field(description="reachable, unreachable, or read-only (it answers but cannot store anything)")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of an operation, all with the one error body."""
    descriptions = {
        400: "Malformed input (the message names the field)",
        401: "No valid API token",
        403: "The token's scope or its account's role does not allow this",
        404: "No records found (also when they exist but are not visible to this account)",
        409: "Nothing could be done (e.g. no In Progress record to reset)",
        413: "The body is larger than the configured limit",
        415: "The body's media type is not accepted here",
        429: "Too many requests with this token; Retry-After says in how many seconds to try again",
    }
    # Every operation that takes a token also counts it against the token's rate limit.
    documented = (*statuses, 429) if 401 in statuses and 429 not in statuses else statuses
    return {status: {"model": ErrorBody, "description": descriptions[status]} for status in documented}
