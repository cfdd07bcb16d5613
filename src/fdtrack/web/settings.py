"""Settings of the web service (FDTRACK_* variables), on top of those every command shares."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from fdtrack.domain.sessions import SessionPolicy
from fdtrack.settings import Settings


class WebSettings(Settings):
    """What an operator configures for `fdtrack serve`; each field has a FDTRACK_ variable of the same name."""

    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_max_hours: int = Field(default=12, ge=1, le=24 * 7)
    # None: cookies are marked Secure when the request arrived over HTTPS (directly or, with
    # uvicorn's --proxy-headers, through a trusted proxy); true/false forces the choice.
    secure_cookies: bool | None = None
    results_page_size: int = Field(default=50, ge=10, le=500)
    purge_interval_minutes: int = Field(default=60, ge=0, le=60, description="0 turns the server's own purge off")
    # argon2id cost; the defaults are argon2-cffi's (RFC 9106 low-memory profile). Lower only for tests.
    password_time_cost: int = Field(default=3, ge=1, le=10)
    password_memory_kib: int = Field(default=65_536, ge=64, le=1_048_576)

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(timedelta(minutes=self.session_idle_minutes), timedelta(hours=self.session_max_hours))
