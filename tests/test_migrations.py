"""The Alembic revisions and the models must describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from aggregator.storage import Storage
from aggregator.storage.migrate import head_revision
from aggregator.storage.models import Base


def test_models_and_migrations_agree(database_url: str) -> None:
    storage = Storage(database_url)
    revision = storage.upgrade()
    assert revision == head_revision(storage.engine)
    with storage.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations drifted apart: {diff}"


def test_upgrade_is_idempotent(sqlite_url: str) -> None:
    storage = Storage(sqlite_url)
    first = storage.upgrade()
    assert storage.upgrade() == first


def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    storage = Storage(sqlite_url)
    storage.upgrade()
    with storage.engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert mode == "wal"
    assert timeout and int(timeout) >= 5000
