"""Remembered DUIS Update Firmware (SR 11.1 / 11.4) and Activate Firmware (SR 11.3) requests in SQL, identically
on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Engine, delete, exists, select
from sqlalchemy.dialects import postgresql, sqlite

from fdtrack.adapters.db.engine import WRITE
from fdtrack.adapters.db.schema import distribution_records, duis_activation_requests, duis_firmware_requests
from fdtrack.domain.identifiers import ServiceRequestId, parse_service_request_id
from fdtrack.services.ports import ActivationRequest, FirmwareRequest

_T = duis_firmware_requests
_A = duis_activation_requests


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

    def remember_activation(self, request: ActivationRequest, received_at: datetime) -> None:
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(_A)
            .values(
                service_request_id=str(request.request_id),
                device_id=request.device_id,
                execution_at=request.execution_at,
                received_at=received_at,
            )
            .on_conflict_do_nothing(index_elements=["service_request_id"])
        )
        with self._writer.begin() as connection:
            connection.execute(statement)

    def recall_activation(self, request_id: ServiceRequestId) -> ActivationRequest | None:
        query = select(_A.c.device_id, _A.c.execution_at).where(_A.c.service_request_id == str(request_id))
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else ActivationRequest(request_id, row.device_id, row.execution_at)

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
            room = limit - len(ids)
            activations = (
                list(
                    connection.execute(
                        select(_A.c.id).where(_A.c.received_at < cutoff).order_by(_A.c.id).limit(room)
                    ).scalars()
                )
                if room > 0
                else []
            )
            if activations:
                connection.execute(delete(_A).where(_A.c.id.in_(activations)))
        return len(ids) + len(activations)
