"""Remembered DUIS Update Firmware requests (SR 11.1 / 11.4) in SQL, identically on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Engine, delete, exists, select
from sqlalchemy.dialects import postgresql, sqlite

from fdtrack.adapters.db.engine import WRITE
from fdtrack.adapters.db.schema import distribution_records, duis_firmware_requests
from fdtrack.domain.identifiers import ServiceRequestId, parse_service_request_id
from fdtrack.services.ports import FirmwareRequest

_T = duis_firmware_requests


def content_digest(request: FirmwareRequest) -> bytes:
    """SHA-256 of what the request says; the same request sent twice has the same digest."""
    parts = (
        str(request.request_id),
        request.service_reference,
        request.firmware_version,
        request.device_type or "",
        ",".join(request.device_ids),
    )
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


class SqlFirmwareRequestRegistry:
    """Each call is its own short transaction: a request is kept as soon as it is read."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**WRITE)

    def remember(self, request: FirmwareRequest, received_at: datetime) -> bool:
        digest = content_digest(request)
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(_T)
            .values(
                service_request_id=str(request.request_id),
                originator_user_id=request.originator,
                service_reference=request.service_reference,
                firmware_version=request.firmware_version,
                device_type=request.device_type,
                device_count=len(request.device_ids),
                device_ids=",".join(request.device_ids),
                content_digest=digest,
                received_at=received_at,
            )
            .on_conflict_do_nothing(index_elements=["service_request_id"])
        )
        with self._writer.begin() as connection:
            if connection.execute(statement).rowcount == 1:
                return True
            # Already known: harmless when it is the same request sent again.
            stored = connection.execute(
                select(_T.c.content_digest).where(_T.c.service_request_id == str(request.request_id))
            ).scalar_one()
            return bytes(stored) == digest

    def recall(self, request_id: ServiceRequestId) -> FirmwareRequest | None:
        query = select(_T).where(_T.c.service_request_id == str(request_id))
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        return FirmwareRequest(
            request_id=parse_service_request_id(row.service_request_id),
            service_reference=row.service_reference,
            firmware_version=row.firmware_version,
            device_ids=tuple(row.device_ids.split(",")) if row.device_ids else (),
            device_type=row.device_type,
        )

    def forget_expired(self, cutoff: datetime, limit: int) -> int:
        """Forget requests received before the cutoff whose records are all gone (purged or never made)."""
        has_records = exists().where(distribution_records.c.service_request_id == _T.c.service_request_id)
        with self._writer.begin() as connection:
            ids = list(
                connection.execute(
                    select(_T.c.id).where(_T.c.received_at < cutoff, ~has_records).order_by(_T.c.id).limit(limit)
                ).scalars()
            )
            if ids:
                connection.execute(delete(_T).where(_T.c.id.in_(ids)))
        return len(ids)
