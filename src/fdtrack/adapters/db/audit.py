"""The audit log read back with SQLAlchemy Core (it is written by each use case's transaction)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, Select, select

from fdtrack.adapters.db.schema import audit_log
from fdtrack.services.audit import AuditQuery, AuditRecord

_L = audit_log


class SqlAuditLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def newest_first(self, query: AuditQuery, before_id: int | None, limit: int) -> list[AuditRecord]:
        statement = _filtered(query).order_by(_L.c.id.desc()).limit(limit)
        if before_id is not None:
            statement = statement.where(_L.c.id < before_id)
        return self._read(statement)

    def oldest_first(self, query: AuditQuery, after_id: int, limit: int) -> list[AuditRecord]:
        return self._read(_filtered(query).where(_L.c.id > after_id).order_by(_L.c.id).limit(limit))

    def _read(self, statement: Select[Any]) -> list[AuditRecord]:
        with self.engine.connect() as connection:
            return [
                AuditRecord(row.id, row.occurred_at, row.actor, row.action, row.subject, _detail(row.detail))
                for row in connection.execute(statement)
            ]


def _filtered(query: AuditQuery) -> Select[Any]:
    statement = select(_L)
    if query.action is not None:
        statement = statement.where(_L.c.action == query.action)
    if query.actor is not None:
        statement = statement.where(_L.c.actor == query.actor)
    if query.since is not None:
        statement = statement.where(_L.c.occurred_at >= query.since)
    if query.until is not None:
        statement = statement.where(_L.c.occurred_at < query.until)
    return statement


def _detail(text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}
