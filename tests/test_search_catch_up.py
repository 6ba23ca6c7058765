"""The search index off the storing path: a stored or edited item waits in the pending
table until a catch-up indexes it (a search's own, or the daemon's), and every item is in
exactly one of the two places whatever happens to it meanwhile; on SQLite and PostgreSQL,
through the migration that brought it and back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from aggregator.config import load_settings
from aggregator.daemon import scheduler
from aggregator.daemon.scheduler import Daemon
from aggregator.ingest.pipeline import Pipeline
from aggregator.storage import Storage
from aggregator.storage.fulltext import INDEX_NAME, PENDING
from aggregator.storage.migrate import HEAD_REVISION, alembic_config, upgrade_with_alembic
from tests.feeds import html, rss, story
from tests.helpers import pipeline_for, wait_for
from tests.test_scheduler import ITEMS, _config
from tests.test_scheduler import running as running  # a fixture


def _feed(path: Path, extra: dict[str, str]) -> None:
    """Three stories; ``extra`` adds a sentence to the story of that guid."""
    path.write_bytes(
        rss(
            "Catch-up",
            [
                {
                    "guid": guid,
                    "title": f"Story {guid}",
                    "link": f"https://catch.example/{guid}",
                    "html": html([*story(40 + n), *([extra[guid]] if guid in extra else [])]),
                }
                for n, guid in enumerate(("s1", "s2", "s3"))
            ],
        )
    )


def _where(storage: Storage) -> tuple[set[int], set[int], set[int]]:
    """The ids of the items, of the indexed items and of the pending items."""
    with storage.engine.connect() as connection:
        indexed_sql = (
            f"SELECT item_id FROM {INDEX_NAME}"
            if connection.dialect.name == "postgresql"
            else f"SELECT id FROM {INDEX_NAME}_docsize"  # FTS5: one row per indexed item
        )

        def ids(sql: str) -> set[int]:
            return {row[0] for row in connection.execute(text(sql))}

        return ids("SELECT id FROM items"), ids(indexed_sql), ids(f"SELECT item_id FROM {PENDING}")


def _each_item_once(storage: Storage) -> set[int]:
    """Assert every item is indexed or pending, never both, and nothing else is; return
    the pending ones.  On SQLite, FTS5's own check also compares its index with the items
    (it holds only once nothing is pending)."""
    items, indexed, pending = _where(storage)
    assert not indexed & pending
    assert indexed | pending == items
    if not pending and storage.engine.dialect.name == "sqlite":
        with storage.engine.begin() as connection:
            connection.exec_driver_sql(
                f"INSERT INTO {INDEX_NAME}({INDEX_NAME}) VALUES ('integrity-check')"
            )
    return pending


def _polled(database_url: str, tmp_path: Path, extra: dict[str, str]) -> tuple[Path, Pipeline]:
    """The three-story feed (``extra`` as in :func:`_feed`), polled once."""
    feed = tmp_path / "feed.xml"
    _feed(feed, extra)
    pipeline = pipeline_for(database_url, [feed])
    pipeline.poll()
    return feed, pipeline


def test_stored_and_edited_items_wait_until_a_search_catches_up(
    database_url: str, tmp_path: Path
) -> None:
    feed, pipeline = _polled(database_url, tmp_path, {"s1": "A walrus swam past the pier."})
    storage = pipeline.storage
    items, _, _ = _where(storage)
    assert _each_item_once(storage) == items  # storing indexed nothing
    (hit,) = storage.search_stories("walrus")  # the search caught up first
    assert hit.title == "Story s1"
    assert _each_item_once(storage) == set()

    # An indexed item edited goes back to pending: its old words are gone, its new found.
    _feed(feed, {"s1": "A narwhal swam past the pier.", "s3": "The otter slept."})
    pipeline.poll()
    assert len(_each_item_once(storage)) == 2
    assert storage.search_stories("walrus") == []
    assert [h.title for h in storage.search_stories("narwhal")] == ["Story s1"]
    assert [h.title for h in storage.search_stories("otter")] == ["Story s3"]
    assert _each_item_once(storage) == set()
    pipeline.close()


def test_an_item_edited_and_removed_before_any_catch_up_leaves_no_trace(
    database_url: str, tmp_path: Path
) -> None:
    feed, pipeline = _polled(database_url, tmp_path, {})
    storage = pipeline.storage
    assert storage.update_search_index() == 3
    _feed(feed, {"s2": "A heron stood in the reeds."})
    pipeline.poll()  # s2 is pending again
    _feed(feed, {"s2": "A heron flew off.", "s3": "A bittern boomed."})
    pipeline.poll()  # s2 edited while pending, s3 edited while indexed
    assert len(_each_item_once(storage)) == 2
    storage.remove_feed(str(feed))  # both kinds removed: the pending and the indexed
    assert _where(storage) == (set(), set(), set())
    _each_item_once(storage)
    assert storage.search_stories("heron") == []
    pipeline.close()


def test_a_catch_up_works_in_batches(database_url: str, tmp_path: Path) -> None:
    feed, pipeline = _polled(database_url, tmp_path, {})
    storage = pipeline.storage
    assert storage.update_search_index(batch=2) == 3  # two transactions: 2, then 1
    assert storage.update_search_index(batch=2) == 0
    assert _each_item_once(storage) == set()
    pipeline.close()


def test_downgrading_indexes_what_waits_and_writes_index_again(
    database_url: str, tmp_path: Path
) -> None:
    from alembic import command

    feed, pipeline = _polled(database_url, tmp_path, {"s2": "A pelican dived."})
    storage = pipeline.storage
    config = alembic_config(storage.engine)
    with storage.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")  # the code of 0.6.0 reads no pending table
    items, indexed, pending = _where(storage)
    assert indexed == items and not pending
    # An edit as the code of 0.6.0 stores it (today's code reads columns 0009 lacks):
    # revision 0009's triggers index as they write.
    with storage.engine.begin() as connection:
        edited = connection.execute(
            text("UPDATE items SET text = replace(text, 'pelican', 'cormorant')")
        )
        assert edited.rowcount == 3
    items, indexed, pending = _where(storage)
    assert indexed == items and not pending
    assert upgrade_with_alembic(storage.engine) == HEAD_REVISION
    assert [h.title for h in storage.search_stories("cormorant")] == ["Story s2"]
    assert storage.search_stories("pelican") == []
    pipeline.close()


def test_the_daemon_catches_up_on_its_own(
    tmp_path: Path, running: Callable[[Daemon], threading.Thread], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The catch-up's period shortened as the tick is: its first run comes at start, before
    # the poll has stored anything, so the test would otherwise wait out a whole period.
    monkeypatch.setattr(scheduler, "INDEX_EVERY", 0.5)
    daemon = Daemon(load_settings(_config(tmp_path), {}), tick=0.25)
    running(daemon)
    storage = daemon.pipeline.storage

    def all_indexed() -> bool:
        try:
            items, indexed, _ = _where(storage)
        except OperationalError:
            return False  # no schema yet
        return len(items) == ITEMS and indexed == items

    # Nothing here searches: the index job indexes what the poll stored.
    wait_for(all_indexed, 30, "the daemon to index what it stored")
