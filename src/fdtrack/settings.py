"""Typed settings read from FDTRACK_* environment variables (pydantic-settings)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fdtrack.adapters.db.engine import DEFAULT_DATABASE_URL
from fdtrack.domain.device_types import DeviceType, parse_tracked_set
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.retention import DEFAULT_RETENTION_DAYS, RetentionPolicy
from fdtrack.services.ingest import DEFAULT_BATCH_SIZE


class Settings(BaseSettings):
    """What an operator configures; every field has a FDTRACK_ variable of the same name."""

    model_config = SettingsConfigDict(env_prefix="FDTRACK_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # A PostgreSQL read replica of database_url for look-ups (screens, API, CSV, `lookup`); sign-in,
    # tokens, audit and every write stay on database_url, so revoking a token never waits for lag.
    read_database_url: str | None = None
    retention_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1, le=3650)
    tracked_device_types: str = "ESME,GSME,PPMID,HCALCS"
    ingest_batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1, le=50_000)
    # Rate-limit counters shared by every server process: in Redis when set (redis://host:6379/0),
    # else in the tracking database itself.
    redis_url: str | None = None
    # How long audit entries (and the hourly counts of failed sign-ins) are kept; then deleted hourly.
    audit_retention_days: int = Field(default=400, ge=30, le=3650)

    @field_validator("tracked_device_types")
    @classmethod
    def _known_types(cls, value: str) -> str:
        try:
            parse_tracked_set(value)
        except InvalidInput as error:
            raise ValueError(error.problem) from None
        return value

    @property
    def tracked(self) -> frozenset[DeviceType]:
        return parse_tracked_set(self.tracked_device_types)

    @property
    def audit_retention(self) -> timedelta:
        return timedelta(days=self.audit_retention_days)

    @property
    def retention(self) -> RetentionPolicy:
        return RetentionPolicy(self.retention_days)
