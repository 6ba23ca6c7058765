"""An item the database refuses even after repair is skipped and counted; the rest of the
document is stored (issue 18, per-item isolation), on SQLite and on PostgreSQL.

The repairs (NULs, long keys) leave no refusal we know of, so the test's database is
given one: a trigger that refuses any item titled "poison", standing for whatever value a
database may refuse that the repairs do not foresee.  Everything else is real: a loopback
HTTP feed, the pipeline, the database's own error.
"""

from __future__ import annotations

from html import escape

from pytest_httpserver import HTTPServer
from sqlalchemy import create_engine, text

from aggregator.config import settings_from_mapping
from aggregator.ingest.pipeline import Pipeline
from aggregator.storage import Storage
from tests.feeds import html, story
from tests.helpers import check_consistency

_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER refuse_poison_{when} BEFORE {when.upper()} ON items "
    "WHEN NEW.title LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'poison refused'); END"
    for when in ("insert", "update")
]
_PG_TRIGGERS = [
    "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION 'poison refused'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON items FOR EACH ROW "
    "WHEN (NEW.title LIKE '%poison%') EXECUTE FUNCTION refuse_poison()",
]


def _refuse_poison(database: str) -> None:
    engine = create_engine(database)
    with engine.begin() as connection:
        for statement in _SQLITE_TRIGGERS if engine.dialect.name == "sqlite" else _PG_TRIGGERS:
            connection.execute(text(statement))
    engine.dispose()


GUID = "tag:mixed.example,2026:"


def _guids(pipeline: Pipeline) -> list[str]:
    return sorted(i.guid.removeprefix(GUID) for i in pipeline.storage.list_items())


def _titles(pipeline: Pipeline) -> dict[str, str | None]:
    return {i.guid.removeprefix(GUID): i.title for i in pipeline.storage.list_items()}


def _skipped_metric(pipeline: Pipeline) -> float | None:
    """``aggregator_items_total{kind="skipped"}`` as ``/metrics`` shows it."""
    return pipeline.metrics.registry.get_sample_value("aggregator_items_total", {"kind": "skipped"})


def _pipeline(database: str, feed: str) -> Pipeline:
    settings = settings_from_mapping(
        {"database": database, "feeds": [{"url": feed}], "polling": {"timeout": 5}}, None
    )
    pipeline = Pipeline(Storage(database), settings, keep_lease=False)
    pipeline.start()
    return pipeline


def _rss(items: list[tuple[str, str, int]]) -> bytes:
    """``(guid, title, story seed)`` items, one document."""
    body = "".join(
        f"<item><title>{title}</title><link>https://mixed.example/{guid}</link>"
        f"<guid>{GUID}{guid}</guid><pubDate>Fri, 20 Nov 2026 10:00:00 +0000</pubDate>"
        f"<description>{escape(html(story(seed)))}</description></item>"
        for guid, title, seed in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Mixed</title><link>https://mixed.example/</link><description>d</description>"
        f"{body}</channel></rss>"
    ).encode()


def _serve(httpserver: HTTPServer, items: list[tuple[str, str, int]]) -> None:
    httpserver.clear()
    httpserver.expect_request("/mixed.xml").respond_with_data(
        _rss(items), content_type="application/rss+xml"
    )


def test_a_refused_item_is_skipped_and_counted_and_the_rest_stored(
    httpserver: HTTPServer, database_url: str
) -> None:
    feed = httpserver.url_for("/mixed.xml")
    pipeline = _pipeline(database_url, feed)
    _refuse_poison(database_url)
    _serve(
        httpserver,
        [("a", "Good one", 1), ("p", "A poison item", 2), ("b", "Good two", 3)],
    )
    (outcome,) = pipeline.poll()
    assert outcome.status == "ok", outcome.error
    assert (outcome.new, outcome.skipped) == (2, 1)
    assert _skipped_metric(pipeline) == 1
    assert _guids(pipeline) == ["a", "b"]
    (status,) = pipeline.storage.list_feeds()
    assert status.last_error is not None
    assert status.last_error.startswith("1 item skipped: ") and "poison refused" in (
        status.last_error
    )
    check_consistency(pipeline)  # the stored ones were decided

    # Next poll: an edit of a stored item that the database refuses is skipped too, while
    # the other edit and a new item are stored; the refused new item is counted again.
    _serve(
        httpserver,
        [
            ("a", "Good one, now poison", 1),
            ("p", "A poison item", 2),
            ("b", "Good two, retitled", 4),
            ("c", "Good three", 5),
        ],
    )
    (outcome,) = pipeline.poll()
    assert outcome.status == "ok", outcome.error
    assert (outcome.new, outcome.updated, outcome.skipped) == (1, 1, 2)
    assert _skipped_metric(pipeline) == 3  # /metrics counts them across polls
    titles = _titles(pipeline)
    assert titles == {"a": "Good one", "b": "Good two, retitled", "c": "Good three"}
    (status,) = pipeline.storage.list_feeds()
    assert status.last_error is not None and status.last_error.startswith("2 items skipped: ")
    check_consistency(pipeline)

    # When nothing is refused any more, the feed's note goes and every item is stored.
    _serve(httpserver, [("a", "Good one", 1), ("p", "A cure item", 2), ("b", "Good two", 3)])
    (outcome,) = pipeline.poll()
    assert (outcome.new, outcome.skipped) == (1, 0)
    (status,) = pipeline.storage.list_feeds()
    assert status.last_error is None
    assert _guids(pipeline) == ["a", "b", "c", "p"]
    check_consistency(pipeline)
    pipeline.close()


def test_a_document_without_refusals_is_stored_at_once(
    httpserver: HTTPServer, database_url: str
) -> None:
    """The common path: new entries, a restyled one and an edited one in one document,
    written together (one savepoint), each with its own outcome."""
    feed = httpserver.url_for("/mixed.xml")
    pipeline = _pipeline(database_url, feed)
    _serve(httpserver, [("a", "One", 1), ("b", "Two", 2)])
    (first,) = pipeline.poll()
    assert (first.new, first.updated, first.skipped) == (2, 0, 0)
    _serve(httpserver, [("a", "One", 1), ("b", "Two, edited", 3), ("c", "Three", 4)])
    (second,) = pipeline.poll()
    assert (second.new, second.updated, second.skipped) == (1, 1, 0)
    assert _titles(pipeline) == {
        "a": "One",
        "b": "Two, edited",
        "c": "Three",
    }
    check_consistency(pipeline)
    pipeline.close()
