"""Settings of the web service (FDTRACK_* variables), on top of those every command shares."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.rate_limits import RateRule
from fdtrack.domain.sessions import SessionPolicy
from fdtrack.services.signin import SignInLimits
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
    # POST /api/v1/events and /api/v1/duis: larger bodies get 413. 16 MiB holds ~50,000 events.
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1_024, le=1024 * 1024 * 1024)
    # A request's headers and body must arrive within this time, or the connection is closed: a client
    # trickling bytes cannot hold connections open. 60 s carries the largest body at about 300 kB/s.
    request_read_timeout_seconds: float = Field(default=60.0, gt=0, le=3_600)
    # A request that waits on the database longer than this (a server that stopped answering, a
    # lock held elsewhere) gets 503 with Retry-After; bodies POSTed to the API (ingestion) get the
    # second, longer bound, since the largest takes seconds to store.
    database_deadline_seconds: float = Field(default=5.0, gt=0, le=300)
    ingest_deadline_seconds: float = Field(default=60.0, gt=0, le=3_600)
    # How long a server remembers whose an API token is; revocation is still checked on every request.
    token_cache_seconds: float = Field(default=30.0, ge=0, le=3_600)
    # One JSON line per request. Off by default: /metrics already counts and times every request (a
    # proxy in front usually keeps the access log), and at thousands of look-ups a second the lines
    # cost a fifth of the server's time.
    access_log: bool = False
    # Rate limits (429 with Retry-After), written as 30/minute or 100 per 10 minutes. Sign-in: every
    # attempt from one address, and failures for one name from all addresses (see services/signin.py).
    signin_rate_per_source: str = "30/minute"
    signin_failures_per_name: str = "20/hour"
    # Every request with one API token: 1,000 a second on average over a minute, well above what one
    # upstream system needs, low enough to stop a runaway loop from taking the whole server.
    api_rate_per_token: str = "60000/minute"  # noqa: S105 - a rate, not a secret
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")

    @field_validator("signin_rate_per_source", "signin_failures_per_name", "api_rate_per_token")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        try:
            RateRule.parse("rate", value)
        except InvalidInput as error:
            raise ValueError(error.problem) from None
        return value

    @property
    def signin_limits(self) -> SignInLimits:
        return SignInLimits(
            RateRule.parse("signin_per_source", self.signin_rate_per_source),
            RateRule.parse("signin_failures_per_name", self.signin_failures_per_name),
        )

    @property
    def api_rate(self) -> RateRule:
        return RateRule.parse("api_per_token", self.api_rate_per_token)

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(timedelta(minutes=self.session_idle_minutes), timedelta(hours=self.session_max_hours))
