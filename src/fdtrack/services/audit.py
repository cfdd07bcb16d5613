"""Reading the append-only audit log: filter by action, actor and time; page through it or export it whole."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.text import require_storable
from fdtrack.domain.timestamps import parse_rfc3339

# The actions fdtrack writes, with the label people read, in the order the audit page offers them.
AUDIT_ACTION_LABELS = {
    "login": "Signed in",
    "login_failed": "Sign-in failed",
    "account_locked": "Account locked (before throttling replaced lock-out)",
    "logout": "Signed out",
    "reset": "Reset by DCC",
    "csv_download": "CSV downloaded",
    "token_created": "API token created",
    "token_revoked": "API token revoked",
    "purge": "Retention purge",
    "party_created": "Party created",
    "party_user_ids_added": "User IDs added to a party",
    "party_user_id_removed": "User ID removed from a party",
    "account_created": "Account created",
    "account_disabled": "Account disabled",
    "account_enabled": "Account enabled",
    "account_unlocked": "Sign-in throttles lifted",
    "account_role_changed": "Role or party changed",
    "password_set": "Password changed",
}
AUDIT_ACTIONS = tuple(AUDIT_ACTION_LABELS)


def action_label(action: str) -> str:
    """The label of an action; an action this version does not know is shown as it is stored."""
    return AUDIT_ACTION_LABELS.get(action, action)


MAX_PAGE = 500
EXPORT_PAGE = 1_000
_MAX_ACTOR = 100


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which entries to read; None leaves a criterion out. `until` is exclusive."""

    action: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry of the audit log as read back."""

    entry_id: int
    occurred_at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, object]


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditRecord]
    next_before: int | None  # pass as `before` for the next (older) page


class AuditLog(Protocol):
    """Reads of the audit log; writes go through each use case's own transaction."""

    def newest_first(self, query: AuditQuery, before_id: int | None, limit: int) -> list[AuditRecord]: ...

    def oldest_first(self, query: AuditQuery, after_id: int, limit: int) -> list[AuditRecord]: ...


def parse_audit_query(action: str | None, actor: str | None, since: str | None, until: str | None) -> AuditQuery:
    """Validate filters as typed by a person; InvalidInput names the field."""
    chosen_action = (action or "").strip() or None
    if chosen_action is not None and chosen_action not in AUDIT_ACTIONS:
        raise InvalidInput(
            "action", f"{chosen_action[:40]!r} is not an audited action, expected one of: " + ", ".join(AUDIT_ACTIONS)
        )
    chosen_actor = (actor or "").strip() or None
    if chosen_actor is not None and len(chosen_actor) > _MAX_ACTOR:
        raise InvalidInput("actor", f"must be at most {_MAX_ACTOR} characters")
    if chosen_actor is not None:
        require_storable(chosen_actor, "actor")
    start = _moment(since, "since")
    end = _moment(until, "until")
    if start is not None and end is not None and end <= start:
        raise InvalidInput("until", "must be later than since")
    return AuditQuery(chosen_action, chosen_actor, start, end)


def _moment(text: str | None, field: str) -> datetime | None:
    """RFC 3339, or a plain date (YYYY-MM-DD) meaning its start in UTC."""
    value = (text or "").strip()
    if not value:
        return None
    if len(value) == 10:
        value += "T00:00:00Z"
    return parse_rfc3339(value, field)


def audit_page(log: AuditLog, query: AuditQuery, before: int | None = None, limit: int = 100) -> AuditPage:
    """One page of matching entries, newest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("limit", f"must be between 1 and {MAX_PAGE}")
    if before is not None and before < 1:
        raise InvalidInput("before", "must be a positive entry number")
    entries = log.newest_first(query, before, limit + 1)
    more = len(entries) > limit
    entries = entries[:limit]
    return AuditPage(entries, entries[-1].entry_id if more and entries else None)


def export_audit(log: AuditLog, query: AuditQuery) -> Iterator[AuditRecord]:
    """Every matching entry, oldest first, read page by page so the export runs in flat memory."""
    after = 0
    while page := log.oldest_first(query, after, EXPORT_PAGE):
        yield from page
        after = page[-1].entry_id
