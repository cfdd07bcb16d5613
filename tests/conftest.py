"""Shared fixtures: a migrated store on SQLite and on PostgreSQL for every storage test."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from duis_messages import SHARED_DUIS
from fdtrack.adapters.db.engine import WRITE, make_engine
from fdtrack.adapters.db.migrate import alembic_config, upgrade
from fdtrack.adapters.db.schema import metadata
from fdtrack.adapters.db.store import SqlStore

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SHARED_MISSING = (
    None
    if SHARED_DUIS.is_dir()
    else f"{SHARED_DUIS} is not beside this clone: the tests that read the DUIS schema and samples run in CI"
)
PG_BASE_URL = os.environ.get("FDTRACK_TEST_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/test")


# For a test that needs ../shared/duis without reading a file of it itself (it counts them, or hands a
# path to the command line): skipped with the reason outside CI when there is none.
needs_shared_duis = pytest.mark.skipif(SHARED_MISSING is not None and not IN_CI, reason=SHARED_MISSING or "")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Outside CI, a test that could not read ../shared/duis because there is none is skipped, saying why;
    in CI (and wherever ../shared is there) the same error fails the test."""
    outcome = yield
    error = call.excinfo.value if call.excinfo is not None else None
    if SHARED_MISSING is None or IN_CI or error is None:
        return
    if _names_shared(error):
        report = outcome.get_result()  # type: ignore[attr-defined]
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {SHARED_MISSING}")


def _names_shared(error: BaseException | None) -> bool:
    """Whether an error, or one it came from, is about a file of ../shared/duis (a path or a file URI)."""
    while error is not None:
        if str(SHARED_DUIS) in str(error) or SHARED_DUIS.as_uri() in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def postgresql_available() -> str | None:
    """None when the test server answers, else why not."""
    engine = make_engine(PG_BASE_URL)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        return str(error.orig).strip().splitlines()[0]
    finally:
        engine.dispose()
    return None


def require_postgresql() -> None:
    """Skip with a visible reason outside CI; in CI a missing PostgreSQL is a failure."""
    problem = postgresql_available()
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"PostgreSQL is mandatory in CI and is not reachable at {PG_BASE_URL}: {problem}")
    pytest.skip(f"PostgreSQL not reachable at {PG_BASE_URL} ({problem}); these tests run in CI")


def migrate_to(engine: sa.Engine, revision: str) -> None:
    """Bring a database to one revision of the past, to test upgrading what an older version wrote."""
    with engine.connect().execution_options(**WRITE) as connection, connection.begin():
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, copied for each test (migrating once keeps tests cheap)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def create_postgresql_schema(migrate: bool = True) -> tuple[str, Callable[[], None]]:
    """A private schema in the test database, migrated unless asked not to: its URL and how to drop it."""
    schema = f"fdtrack_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_BASE_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_BASE_URL else "?"
    url = f"{PG_BASE_URL}{separator}options=-csearch_path%3D{schema}"
    if migrate:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url, drop


@pytest.fixture(scope="session")
def postgresql_schema_url() -> Iterator[str]:
    """One schema per session, emptied before each test."""
    require_postgresql()
    url, drop = create_postgresql_schema()
    yield url
    drop()


def sqlite_url(tmp_path: Path, template: Path) -> str:
    path = tmp_path / "fdtrack.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


def empty_postgresql(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as connection:
        # The audit log refuses DELETE by trigger; TRUNCATE is the administrator's reset between tests.
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """The URL of an empty, migrated database on each backend."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path, sqlite_template)
    url: str = request.getfixturevalue("postgresql_schema_url")
    empty_postgresql(url)
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    opened = SqlStore.open(database_url)
    yield opened
    opened.dispose()


@pytest.fixture
def pg_store(postgresql_schema_url: str) -> Iterator[SqlStore]:
    """An empty, migrated store on PostgreSQL alone, for what only PostgreSQL does (partitions, locks)."""
    empty_postgresql(postgresql_schema_url)
    opened = SqlStore.open(postgresql_schema_url)
    yield opened
    opened.dispose()


Snapshot = dict[tuple[str, str], tuple[object, ...]]


def database_snapshot(url: str) -> Snapshot:
    """Every record's derived state and its events, without receipt times (which differ run to run)."""
    engine = make_engine(url)
    records = metadata.tables["distribution_records"]
    events = metadata.tables["status_events"]
    state_columns = [c for c in records.c if c.name not in ("id", "last_received_at")]
    snapshot: Snapshot = {}
    with engine.connect() as connection:
        histories: dict[int, list[tuple[object, ...]]] = {}
        for row in connection.execute(sa.select(events).order_by(events.c.event_id)):
            histories.setdefault(row.record_id, []).append(
                (row.event_id, row.status, row.occurred_at, row.reason, row.firmware_version, row.device_type)
            )
        for row in connection.execute(sa.select(records.c.id, *state_columns)):
            key = (row.service_request_id, row.device_id)
            snapshot[key] = (*row[1:], tuple(histories.get(row.id, ())))
    engine.dispose()
    return snapshot


@pytest.fixture
def fresh_database_url(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, sqlite_template: Path
) -> Callable[[], str]:
    """A factory of further empty databases on the same backend as `database_url` (for comparisons)."""
    counter = iter(range(1_000_000))

    def make() -> str:
        if database_url.startswith("sqlite"):
            folder = tmp_path / f"extra{next(counter)}"
            folder.mkdir()
            return sqlite_url(folder, sqlite_template)
        url, drop = create_postgresql_schema()
        request.addfinalizer(drop)
        return url

    return make
