"""Shared fixtures: real SQLite files, real PostgreSQL databases, the repo's seeds.

Every test that takes ``database_url`` gets a database of its own, fresh and at the
newest schema revision, as ``Storage.upgrade()`` leaves a new one.  Building
that schema costs a tenth of a second on PostgreSQL (a fifth of the setup of a test
there), so it is built once per test process: a migrated *template* database that each
test's database is a copy of (``CREATE DATABASE … TEMPLATE``; a file copy on SQLite).
The tests of the paths an empty database takes (the first ``upgrade()``, the migrations
themselves) take ``empty_database_url`` instead; ``sqlite_url`` and ``pg_url`` are empty
too (the processes tests on ``pg_url`` make the schema the way a first start does).
"""

from __future__ import annotations

import gc
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from aggregator.publish import accounts
from aggregator.storage import Storage
from tests.helpers import Cli

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
PG_SERVER = os.environ.get("AGGREGATOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked ``processes`` first (in their order; the rest after them, in
    theirs).  They are about 30 of some 1,200 tests but some 40 % of the suite's time,
    and mostly wait on their processes: under ``-n 2`` they then run beside the short
    tests, instead of one of them, last, keeping a worker busy while the other one has
    nothing left to do."""
    items.sort(key=lambda item: item.get_closest_marker("processes") is None)


_CHEAP_HASHER = PasswordHasher.from_parameters(CHEAPEST)
_CHEAP_DUMMY = _CHEAP_HASHER.hash("not a password")


@pytest.fixture(autouse=True)
def _cheap_password_hashing(request: pytest.FixtureRequest) -> Iterator[None]:
    """Argon2 at its cheapest parameters in this process: the same hasher, format and
    verification, only its cost lowered (a test hashes and verifies passwords dozens of
    times; at the production cost each takes a noticeable fraction of a second).
    A hash stored at the production cost (by a process a test starts) still verifies, at
    its own cost.  A test that takes ``production_password_cost`` keeps the real
    hasher: it checks that production strength is what ships."""
    if "production_password_cost" in request.fixturenames:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_HASHER", _CHEAP_HASHER)
        patch.setattr(accounts, "_DUMMY", _CHEAP_DUMMY)
        yield


@pytest.fixture
def production_password_cost() -> None:
    """Taken by a test that needs accounts' hasher as it ships (see above)."""


def _pg_admin() -> object | None:
    try:
        import psycopg
    except ImportError:
        return None
    dsn = PG_SERVER.replace("postgresql+psycopg://", "postgresql://") + "/test"
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        return None


def _migrated(url: str) -> None:
    """Bring a new, empty database to the newest revision and let go of it (a template
    must have no connection while it is copied)."""
    store = Storage(url)
    try:
        store.upgrade()
    finally:
        store.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """Where a new SQLite file is made: nothing there yet."""
    return f"sqlite:///{tmp_path / 'aggregator.db'}"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    _migrated(f"sqlite:///{path}")
    # Closed, the file holds everything (the last connection checkpoints the WAL away);
    # a file copy of it is then a database of its own.
    leftovers = [p.name for p in path.parent.iterdir() if p != path]
    assert not leftovers, f"the migrated template left {leftovers} beside it"
    return path


@pytest.fixture
def migrated_sqlite_url(tmp_path: Path, _sqlite_template: Path) -> str:
    """A new SQLite file at the newest schema revision."""
    path = tmp_path / "aggregator.db"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def _pg_server() -> Iterator[tuple[object, str] | None]:
    """The admin connection and this test process's migrated template database (None
    without a server).  The template's name is this run's own: the lead's run and a
    helper's may share the server."""
    admin = _pg_admin()
    if admin is None:
        yield None
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    template = f"agg_template_{worker}_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{template}"')  # type: ignore[attr-defined]
    try:
        _migrated(f"{PG_SERVER}/{template}")
        yield admin, template
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')  # type: ignore[attr-defined]
        admin.close()  # type: ignore[attr-defined]


def _fresh_pg(server: tuple[object, str] | None, template: bool) -> Iterator[str]:
    if server is None:
        pytest.skip(f"PostgreSQL not reachable at {PG_SERVER} (set AGGREGATOR_TEST_PG)")
    admin, migrated = server
    name = f"agg_test_{uuid.uuid4().hex[:12]}"
    copy_of = f' TEMPLATE "{migrated}"' if template else ""
    admin.execute(f'CREATE DATABASE "{name}"{copy_of}')  # type: ignore[attr-defined]
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        # Pooled connections a test let go of are finalized now, while their database is
        # there: cut by the drop and collected later, each logged a traceback into
        # whichever test ran then (seen in CI, in a test that reads a command's stderr).
        gc.collect()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]


@pytest.fixture
def pg_url(_pg_server: tuple[object, str] | None) -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards; skipped (with the reason)
    without a server.  Processes started on it make the schema themselves (together:
    the roles' upgrade under an advisory lock)."""
    yield from _fresh_pg(_pg_server, template=False)


@pytest.fixture
def migrated_pg_url(_pg_server: tuple[object, str] | None) -> Iterator[str]:
    """A fresh PostgreSQL database at the newest schema revision, dropped afterwards."""
    yield from _fresh_pg(_pg_server, template=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on a SQLite file and on PostgreSQL, each new and at the
    newest schema revision."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("migrated_sqlite_url"))
    return str(request.getfixturevalue("migrated_pg_url"))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on a new, empty SQLite file and PostgreSQL database."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def storage(database_url: str) -> Iterator[Storage]:
    store = Storage(database_url)
    store.upgrade()
    yield store
    store.close()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """``cli("feeds", "list", cwd=folder)``: the ``aggregator`` command, in this process."""
    return Cli(capsys)
