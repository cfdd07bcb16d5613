"""Operations use cases: is the service healthy, and how many records are at each Completion Status."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class DatabaseState(StrEnum):
    """What a health check found of the database."""

    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"
    READ_ONLY = "read-only"  # answers, but cannot store anything (a read-only file, a full disk, a standby)


class OperationsProbe(Protocol):
    """What operators ask the database: is it answering and able to store, and the record counts."""

    def database_state(self) -> DatabaseState: ...

    def records_by_completion(self) -> dict[str, int]: ...


@dataclass(frozen=True, slots=True)
class Health:
    database: DatabaseState

    @property
    def healthy(self) -> bool:
        return self.database is DatabaseState.REACHABLE


def check_health(probe: OperationsProbe) -> Health:
    return Health(probe.database_state())
