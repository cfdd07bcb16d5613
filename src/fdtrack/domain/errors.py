"""The one hierarchy of domain errors; entry points map these to HTTP or CLI output in one place."""

from __future__ import annotations


class FdtrackError(Exception):
    """Base of every error fdtrack reports to a person or a client."""


class InvalidInput(FdtrackError):
    """A value given by a user or an upstream system is malformed; names the field and the problem."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class NothingToReset(FdtrackError):
    """Reset by DCC found no record it may reset (none In Progress, or the named one may not be reset as asked)."""


class RecordsNotFound(FdtrackError):
    """No visible records match a look-up (identical whether absent or not permitted)."""


class NotPermitted(FdtrackError):
    """The account (or its API token's scope) may not do this at all, whatever the record."""
