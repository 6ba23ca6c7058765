"""Shared fixtures: real SQLite files, real PostgreSQL databases, the repo's seeds."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.storage import Storage
from tests.helpers import Cli

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
PG_SERVER = os.environ.get("AGGREGATOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


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


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'aggregator.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; skipped (with the reason) without one."""
    admin = _pg_admin()
    if admin is None:
        pytest.skip(f"PostgreSQL not reachable at {PG_SERVER} (set AGGREGATOR_TEST_PG)")
    name = f"agg_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
        admin.close()  # type: ignore[attr-defined]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on a SQLite file and on PostgreSQL."""
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
