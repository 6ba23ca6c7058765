"""One bad item, one bad date, one move: never the whole feed (issue 18, defects 7, 9, 10).

Served by a real loopback HTTP server, stored on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from html import escape

from pytest_httpserver import HTTPServer
from werkzeug import Response

from aggregator.config import settings_from_mapping
from aggregator.ingest.pipeline import Pipeline
from aggregator.storage import Storage
from tests.feeds import html, story


def _pipeline(database: str, feed: str) -> Pipeline:
    settings = settings_from_mapping(
        {"database": database, "feeds": [{"url": feed}], "polling": {"timeout": 5}}, None
    )
    pipeline = Pipeline(Storage(database), settings, keep_lease=False)
    pipeline.start()
    return pipeline


def _item(guid: str, title: str, link: str, body: str, guid_attrs: str = "") -> str:
    return (
        f"<item><title>{title}</title><link>{link}</link>"
        f"<guid{guid_attrs}>{guid}</guid><pubDate>Fri, 20 Nov 2026 10:00:00 +0000</pubDate>"
        f"<description>{body}</description></item>"
    )


def _rss(items: list[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Mixed</title><link>https://mixed.example/</link><description>d</description>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def _text(seed: int) -> str:
    return escape(html(story(seed)))


def test_one_bad_value_does_not_block_the_feed(httpserver: HTTPServer, database_url: str) -> None:
    """A NUL (as ``&#0;`` and as a raw byte) in a title, a guid and a content; a link of
    3 KB (past PostgreSQL's btree limit on the link index); a guid of 10 KB: each item is
    repaired, and every item of the document is stored, on both databases."""
    long_link = "https://mixed.example/story?" + "&".join(f"k{i}=v{i}" for i in range(400))
    assert len(long_link) > 3000
    items = [
        _item("good-1", "Good one", "https://mixed.example/1", _text(1)),
        _item("nul-title", "Title with &#0; a NUL", "https://mixed.example/2", _text(2)),
        _item("nul\x00guid", "Raw NUL in the guid", "https://mixed.example/3", _text(3)),
        _item("nul-body", "Raw NUL in the content", "https://mixed.example/4", _text(4) + "\x00"),
        _item("long-link", "A 3 KB link", escape(long_link), _text(5)),
        _item("g" * 10_000, "A 10 KB guid", "https://mixed.example/6", _text(6)),
        _item("good-2", "Good two", "https://mixed.example/7", _text(7)),
    ]
    httpserver.expect_request("/mixed.xml").respond_with_data(
        _rss(items), content_type="application/rss+xml"
    )
    feed = httpserver.url_for("/mixed.xml")
    pipeline = _pipeline(database_url, feed)
    (outcome,) = pipeline.poll()
    assert outcome.status == "ok", outcome.error
    stored = pipeline.storage.list_items()
    assert len(stored) == 7
    assert {i.title for i in stored} >= {"Good one", "Good two", "A 3 KB link", "A 10 KB guid"}
    assert all("\x00" not in (i.title or "") + i.guid for i in stored)
    assert any(i.link == long_link for i in stored)  # the link itself is kept whole
    # A second poll finds the same items: the repairs are stable.
    (again,) = pipeline.poll()
    assert again.status in ("ok", "not-modified") and again.new == 0
    assert len(pipeline.storage.list_items()) == 7
    assert all(i.cluster_id is not None for i in pipeline.storage.list_items())


def test_a_nul_in_the_feed_title_does_not_block_the_feed(
    httpserver: HTTPServer, database_url: str
) -> None:
    body = _rss([_item("a", "A", "https://mixed.example/a", _text(1))]).replace(
        b"<title>Mixed</title>", b"<title>Mixed\x00up</title>"
    )
    httpserver.expect_request("/t.xml").respond_with_data(body, content_type="application/xml")
    pipeline = _pipeline(database_url, httpserver.url_for("/t.xml"))
    (outcome,) = pipeline.poll()
    assert outcome.status == "ok", outcome.error
    assert len(pipeline.storage.list_items()) == 1


def test_an_out_of_range_json_feed_date_fails_no_item(
    httpserver: HTTPServer, sqlite_url: str
) -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Dates",
        "items": [
            {"id": "far", "content_text": " ".join(story(1)),
             "date_published": "9999-12-31T23:59:59-14:00"},
            {"id": "near", "content_text": " ".join(story(2)),
             "date_published": "2026-11-20T10:00:00Z"},
        ],
    }  # fmt: skip
    httpserver.expect_request("/feed.json").respond_with_data(
        json.dumps(document), content_type="application/feed+json"
    )
    pipeline = _pipeline(sqlite_url, httpserver.url_for("/feed.json"))
    (outcome,) = pipeline.poll()
    assert outcome.status == "ok", outcome.error
    by_guid = {i.guid: i for i in pipeline.storage.list_items()}
    assert set(by_guid) == {"far", "near"}
    assert by_guid["far"].published is None


def test_a_moved_feed_with_relative_guids_keeps_its_items(
    httpserver: HTTPServer, database_url: str
) -> None:
    """RSS guids like ``item-1`` (permalinks, relative) resolve against the feed's own
    URL: after a 301 to another folder they name the same items."""
    body = _rss(
        [_item(f"item-{n}", f"Story {n}", f"https://mixed.example/{n}", _text(n)) for n in (1, 2)]
    )
    httpserver.expect_request("/a/feed.xml").respond_with_data(
        body, content_type="application/rss+xml"
    )
    feed = httpserver.url_for("/a/feed.xml")
    pipeline = _pipeline(database_url, feed)
    assert pipeline.poll()[0].new == 2
    first = sorted(i.guid for i in pipeline.storage.list_items())
    httpserver.clear()
    httpserver.expect_request("/a/feed.xml").respond_with_response(
        Response(status=301, headers={"Location": "/b/feed.xml"})
    )
    httpserver.expect_request("/b/feed.xml").respond_with_data(
        body, content_type="application/rss+xml"
    )
    moved = pipeline.poll()[0]  # follows the 301 and moves the feed
    assert (moved.status, moved.new) == ("ok", 0)
    (stored,) = pipeline.storage.list_feeds()
    assert stored.fetch_url == httpserver.url_for("/b/feed.xml")
    again = pipeline.poll()[0]  # fetched from the new URL directly
    assert again.new == 0
    assert sorted(i.guid for i in pipeline.storage.list_items()) == first


def test_the_same_move_on_the_feedparser_path(httpserver: HTTPServer, sqlite_url: str) -> None:
    """A document our fast parser declines (a DOCTYPE) goes to feedparser: same rule."""
    body = _rss(
        [_item(f"item-{n}", f"Story {n}", f"https://mixed.example/{n}", _text(n)) for n in (1, 2)]
    ).replace(b"<rss", b"<!DOCTYPE rss><rss", 1)
    httpserver.expect_request("/a/feed.xml").respond_with_data(
        body, content_type="application/rss+xml"
    )
    pipeline = _pipeline(sqlite_url, httpserver.url_for("/a/feed.xml"))
    assert pipeline.poll()[0].new == 2
    httpserver.clear()
    httpserver.expect_request("/a/feed.xml").respond_with_response(
        Response(status=301, headers={"Location": "/b/feed.xml"})
    )
    httpserver.expect_request("/b/feed.xml").respond_with_data(
        body, content_type="application/rss+xml"
    )
    assert pipeline.poll()[0].new == 0
    assert pipeline.poll()[0].new == 0
    assert len(pipeline.storage.list_items()) == 2
    links = {i.link for i in pipeline.storage.list_items()}
    assert links == {"https://mixed.example/1", "https://mixed.example/2"}
