"""Migration 0010 on databases written as revision 0009 left them: accounts keep signing in, lose their lock-out
columns, start enabled at revision 0, and the audit log stays append-only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import create_postgresql_schema, migrate_to, require_postgresql
from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.db.engine import WRITE, make_engine
from fdtrack.adapters.db.migrate import upgrade
from fdtrack.adapters.db.rate_limit_storage import SqlRateLimitStorage
from fdtrack.adapters.db.types import UtcDateTime
from fdtrack.adapters.passwords import Argon2Hasher
from fdtrack.adapters.rate_limits import LimitsRateLimiter
from fdtrack.services.signin import sign_in

PASSWORD = "an-old-but-good-passphrase"
AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_at_0009(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    drop = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/v0009.db"
    else:
        require_postgresql()
        url, drop = create_postgresql_schema(migrate=False)
    engine = make_engine(url)
    migrate_to(engine, "0009_activation_schedules")
    hasher = Argon2Hasher(time_cost=1, memory_cost=64)
    moment = sa.bindparam("at", type_=UtcDateTime())
    with engine.connect().execution_options(**WRITE) as connection, connection.begin():
        connection.execute(
            sa.text(
                "INSERT INTO accounts (username, role, party_id, password_hash, failed_logins, locked_until, "
                "created_at) VALUES ('olga', 'admin', NULL, :hash, 3, NULL, :at)"
            ).bindparams(moment),
            {"hash": hasher.hash(PASSWORD), "at": AT},
        )
        connection.execute(
            sa.text(
                "INSERT INTO audit_log (occurred_at, actor, action, subject, detail) "
                "VALUES (:at, 'cli', 'account_created', 'olga', '{}')"
            ).bindparams(moment),
            {"at": AT},
        )
    engine.dispose()
    yield url
    if drop is not None:
        drop()


def test_accounts_written_before_0010_sign_in_after_it(database_at_0009: str) -> None:
    engine = make_engine(database_at_0009)
    try:
        upgrade(engine)
        columns = {column["name"] for column in sa.inspect(engine).get_columns("accounts")}
        assert {"failed_logins", "locked_until"}.isdisjoint(columns)
        with engine.connect() as connection:
            row = connection.execute(sa.text("SELECT revision, disabled_at FROM accounts")).one()
        assert tuple(row) == (0, None)
        accounts = SqlAccountStore(engine)
        limiter = LimitsRateLimiter(SqlRateLimitStorage(engine))
        hasher = Argon2Hasher(time_cost=1, memory_cost=64)
        assert sign_in(accounts, hasher, limiter, "olga", PASSWORD, "10.0.0.1").account.username == "olga"
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM audit_log"))
    finally:
        engine.dispose()
