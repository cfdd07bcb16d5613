"""Operations use cases: is the service healthy, and how many records are at each Completion Status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class OperationsProbe(Protocol):
    """What operators ask the database: is it answering, and the record counts."""

    def database_reachable(self) -> bool: ...

    def records_by_completion(self) -> dict[str, int]: ...


@dataclass(frozen=True, slots=True)
class Health:
    database_reachable: bool

    @property
    def healthy(self) -> bool:
        return self.database_reachable


def check_health(probe: OperationsProbe) -> Health:
    return Health(probe.database_reachable())
