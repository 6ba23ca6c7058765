"""The Alembic revisions and the models must describe the same schema."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from aggregator.storage import Storage
from aggregator.storage.fulltext import include_name
from aggregator.storage.migrate import HEAD_REVISION, head_revision, upgrade_with_alembic
from aggregator.storage.models import Base
from aggregator.types import FeedSpec

COMPARE = {"compare_type": True, "include_name": include_name}
"""The search index is not a model: its tables are built beside them (and tested apart)."""


@pytest.fixture
def opened() -> Iterator[Callable[[str], Storage]]:
    """Storage on a URL, closed after the test and before its database is dropped: a pooled
    connection the server cut, left to the garbage collector, logs a traceback into
    whichever test runs when it is collected."""
    made: list[Storage] = []

    def open_storage(url: str) -> Storage:
        made.append(Storage(url))
        return made[-1]

    yield open_storage
    for storage in made:
        storage.close()


def test_models_and_migrations_agree(
    empty_database_url: str, opened: Callable[[str], Storage]
) -> None:
    storage = opened(empty_database_url)
    revision = upgrade_with_alembic(storage.engine)  # the migrations, from an empty database
    assert revision == head_revision(storage.engine) == HEAD_REVISION
    with storage.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=COMPARE)
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations drifted apart: {diff}"


def test_a_new_database_is_built_from_the_models_and_stamped(
    empty_database_url: str, opened: Callable[[str], Storage]
) -> None:
    storage = opened(empty_database_url)
    assert storage.upgrade() == HEAD_REVISION  # the create_all path: the database is empty
    with storage.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=COMPARE)
        assert context.get_current_revision() == HEAD_REVISION  # Alembic agrees
        assert compare_metadata(context, Base.metadata) == []
    assert upgrade_with_alembic(storage.engine) == HEAD_REVISION  # nothing left to run


def test_a_database_at_head_needs_no_alembic(sqlite_url: str) -> None:
    import subprocess
    import sys

    Storage(sqlite_url).upgrade()
    code = (
        "import sys; from aggregator.storage import Storage; "
        f"Storage({sqlite_url!r}).upgrade(); print('alembic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


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


def test_a_first_start_interrupted_after_creating_tables_recovers(sqlite_url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(sqlite_url)
    with engine.begin() as connection:
        Base.metadata.create_all(connection)  # then the process died, before the stamp
    engine.dispose()
    storage = Storage(sqlite_url)
    assert storage.upgrade() == HEAD_REVISION
    assert storage.counts()["items"] == 0


def test_evidence_stored_before_it_had_an_age_is_aged_from_the_upgrade(
    empty_database_url: str, opened: Callable[[str], Storage]
) -> None:
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import text

    from aggregator.clean.blockcounts import utc_day
    from aggregator.storage.migrate import alembic_config

    storage = opened(empty_database_url)
    storage.upgrade()
    storage.sync_feeds([FeedSpec("https://a.example/feed")])
    feed_id = storage.list_feeds()[0].id
    config = alembic_config(storage.engine)
    with storage.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")
        connection.execute(
            text(
                "INSERT INTO block_counts (feed_id, block_key, items, sample) "
                "VALUES (:feed, 'k', 1, '')"
            ),
            {"feed": feed_id},
        )
        command.upgrade(config, "0012")
    # Counted today as far as forgetting goes: not forgotten at once, nor never.
    assert [row[4] for row in storage.block_counts()] == [utc_day(datetime.now(UTC))]


def test_an_evidence_upgrade_killed_after_its_new_column_runs_again(sqlite_url: str) -> None:
    """SQLite commits ADD COLUMN on its own: a kill during the UPDATE that follows leaves
    the column at revision 0011, and the next start must finish the upgrade."""
    from alembic import command
    from sqlalchemy import text

    from aggregator.storage.migrate import alembic_config

    storage = Storage(sqlite_url)
    storage.upgrade()
    config = alembic_config(storage.engine)
    with storage.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")
    with storage.engine.begin() as connection:  # what the killed upgrade left
        connection.execute(
            text("ALTER TABLE block_counts ADD COLUMN seen_day INTEGER NOT NULL DEFAULT 0")
        )
    assert upgrade_with_alembic(storage.engine) == HEAD_REVISION
