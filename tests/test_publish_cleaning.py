"""The cleaned output: feeds served over real HTTP, polled by the real pipeline into a real
SQLite file, published by the real app and read back with feedparser.  Boilerplate, title
labels and mojibake go; story text, images, captions and links stay; authors, dates and
the source feed are honest; ``?full=1``, ``clean: false`` and feed sets choose."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from html import escape
from typing import Any

import feedparser
import pytest
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient

from aggregator.config import settings_from_mapping
from aggregator.errors import ConfigError
from aggregator.ingest.pipeline import Pipeline
from aggregator.publish.app import create_app
from aggregator.storage import Storage
from tests.feeds import story
from tests.helpers import web_client

COURIER_FOOTER = (
    '<div class="footer"><p>This story is brought to you by Lumen Bank</p>'
    "<p>Explore our partner networks:</p><p>The Riverside Courier</p></div>"
)
METRO_FOOTER = '<div class="footer"><p>(c) 2026 Metro Wire. Used with permission.</p></div>'
SHARE = '<p class="share">Share this</p>'


def _story_html(paragraphs: list[str], footer: str) -> str:
    """A story with the clutter a reader should not get back, and the parts it should."""
    return (
        f"{SHARE}<p>{paragraphs[0]}</p>"
        '<figure><img src="https://img.example/1.jpg" alt="the harbour">'
        "<figcaption>Photo: Riverside Courier</figcaption></figure>"
        # Mojibake beside a character Latin-1 lacks: the parser's whole-value repair (as
        # feedparser's) cannot undo it.
        f"<p>{paragraphs[1]} It cost \u00c2\u00a35 million, the council\u2019s figures show.</p>"
        "<aside>Advertisement</aside>"
        '<p>READ MORE: <a href="https://courier.example/other">Mayor opens the new bridge</a></p>'
        f'<p>{paragraphs[2]} <a href="https://council.example/minutes">The minutes</a>.</p>'
        f"<p>{paragraphs[3]}</p>{footer}"
    )


def _rss(title: str, items: list[dict[str, str]]) -> bytes:
    entries = "".join(
        "<item>"
        f"<title>{escape(i['title'])}</title><link>{escape(i['link'])}</link>"
        f'<guid isPermaLink="false">{escape(i["guid"])}</guid><pubDate>{i["date"]}</pubDate>'
        + (f"<dc:creator>{escape(i['author'])}</dc:creator>" if i.get("author") else "")
        + f"<content:encoded><![CDATA[{i['html']}]]></content:encoded></item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>{escape(title)}</title><link>https://example.com/</link>"
        f"<description>test</description>{entries}</channel></rss>"
    ).encode()


def _documents() -> dict[str, bytes]:
    shared = story(1, paragraphs=4)
    courier = [
        {
            "title": "COURIER: Caf\u00c3\u00a9 owners\u2019 appeal succeeds",
            "link": "https://courier.example/2026/cafe",
            "guid": "courier-0",
            "date": "Fri, 20 Nov 2026 08:00:00 +0000",
            "author": "Ann Reporter",
            "html": _story_html(shared, COURIER_FOOTER),
        }
    ] + [
        {
            "title": f"COURIER: Courier story number {n}",
            "link": f"https://courier.example/2026/{n}",
            "guid": f"courier-{n}",
            "date": f"Thu, 19 Nov 2026 0{n}:00:00 +0000",
            "html": f"{SHARE}" + "".join(f"<p>{p}</p>" for p in story(10 + n)) + COURIER_FOOTER,
        }
        for n in range(1, 4)
    ]
    metro = [
        {
            "title": "Caf\u00c3\u00a9 owners\u2019 appeal succeeds - Riverside Metro Wire",
            "link": "https://metro.example/cafe?utm_source=rss",
            "guid": "metro-0",
            "date": "Sat, 21 Nov 2026 10:00:00 +0000",
            "author": "Bob Writer",
            "html": _story_html(shared, METRO_FOOTER),
        }
    ] + [
        {
            "title": f"Metro story number {n} - Riverside Metro Wire",
            "link": f"https://metro.example/{n}",
            "guid": f"metro-{n}",
            "date": f"Wed, 18 Nov 2026 0{n}:00:00 +0000",
            "html": "".join(f"<p>{p}</p>" for p in story(20 + n)) + METRO_FOOTER,
        }
        for n in range(1, 4)
    ]
    raw = [
        {
            "title": "RAW: The untouched story",
            "link": "https://raw.example/1",
            "guid": "raw-1",
            "date": "Sun, 22 Nov 2026 09:00:00 +0000",
            "html": f"{SHARE}" + "".join(f"<p>{p}</p>" for p in story(30)),
        }
    ]
    return {
        "/courier.xml": _rss("The Riverside Courier", courier),
        "/metro.xml": _rss("Metro Wire", metro),
        "/raw.xml": _rss("Raw Feed", raw),
    }


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Storage, TestClient]]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        for path, body in _documents().items():
            server.expect_request(path).respond_with_data(body, content_type="application/rss+xml")
        database = f"sqlite:///{tmp_path_factory.mktemp('cleaning')}/agg.db"
        settings = settings_from_mapping(
            {
                "database": database,
                "feeds": [
                    {"url": server.url_for("/courier.xml"), "name": "Courier"},
                    # The copy wins the canonical place: the first publication is Courier's.
                    {"url": server.url_for("/metro.xml"), "name": "Metro", "priority": 5},
                    {"url": server.url_for("/raw.xml"), "name": "Raw", "clean": False},
                ],
            },
            None,
        )
        pipeline = Pipeline(Storage(database), settings, keep_lease=False)
        pipeline.poll()
        with web_client(create_app(pipeline.storage, settings)) as client:
            yield pipeline.storage, client
    finally:
        server.stop()


def _json(client: TestClient, query: str = "") -> dict[str, Any]:
    response = client.get(f"/feed.json?limit=500{query}")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def _the_story(document: dict[str, Any]) -> dict[str, Any]:
    return next(i for i in document["items"] if i["_aggregator"]["size"] == 2)


def test_content_loses_the_clutter_and_keeps_the_story(
    published: tuple[Storage, TestClient],
) -> None:
    storage, client = published
    item = _the_story(_json(client))
    content = item["content_html"]
    paragraphs = story(1, paragraphs=4)
    for paragraph in paragraphs:
        assert paragraph in content
    # Markup kept: paragraphs, the story's own link, the image with its caption.
    assert "<p>" in content and 'href="https://council.example/minutes"' in content
    assert '<img src="https://img.example/1.jpg"' in content
    assert "Photo: Riverside Courier" in content
    # Clutter gone: learned footer, generic share bar and ad label, a READ MORE link line.
    for clutter in (
        "Used with permission",
        "Share this",
        "Advertisement",
        "READ MORE",
        "Mayor opens the new bridge",
    ):
        assert clutter not in content
    # Mojibake repaired in what is published, never in what is stored.
    assert "It cost \u00a35 million, the council\u2019s" in content and "\u00c2" not in content
    stored = storage.list_items(
        item_ids=[item["_aggregator"]["canonical_item_id"]], with_content=True
    )
    assert (
        "\u00c2\u00a35" in stored[0].content_html
        and "Used with permission" in stored[0].content_html
    )


def test_full_publishes_the_original(published: tuple[Storage, TestClient]) -> None:
    _, client = published
    item = _the_story(_json(client, "&full=1"))
    for original in ("Used with permission", "Share this", "Advertisement", "READ MORE"):
        assert original in item["content_html"]
    assert item["title"] == "Caf\u00c3\u00a9 owners\u2019 appeal succeeds - Riverside Metro Wire"


def test_titles_lose_their_labels(published: tuple[Storage, TestClient]) -> None:
    _, client = published
    titles = {i["title"] for i in _json(client)["items"]}
    assert "Caf\u00e9 owners\u2019 appeal succeeds" in titles
    assert {f"Courier story number {n}" for n in range(1, 4)} <= titles
    assert {f"Metro story number {n}" for n in range(1, 4)} <= titles
    # A feed configured with `clean: false` keeps its title and its clutter.
    raw = next(i for i in _json(client)["items"] if "untouched" in i["title"])
    assert raw["title"] == "RAW: The untouched story" and "Share this" in raw["content_html"]


def test_metadata_authors_dates_and_source_feed(published: tuple[Storage, TestClient]) -> None:
    _, client = published
    item = _the_story(_json(client))
    assert item["authors"] == [{"name": "Bob Writer"}, {"name": "Ann Reporter"}]
    # Dated by the first publication (Courier's), updated by the canonical copy (Metro's).
    assert item["date_published"] == "2026-11-20T08:00:00Z"
    assert item["date_modified"] == "2026-11-21T10:00:00Z"
    assert item["_aggregator"]["source"] == "Metro"
    metro_url = item["_aggregator"]["source_feed_url"]
    assert metro_url.endswith("/metro.xml")
    # The copies link each copy's own article.
    assert [c["link"] for c in item["_aggregator"]["copies"]] == [
        "https://courier.example/2026/cafe"
    ]
    assert 'href="https://courier.example/2026/cafe"' in item["content_html"]

    rss = feedparser.parse(client.get("/feed.rss?limit=500").content)
    assert rss.bozo == 0
    entry = next(e for e in rss.entries if e.id == item["id"])
    assert entry.source.href == metro_url and entry.source.title == "Metro"
    assert {"Bob Writer", "Ann Reporter"} <= {a.get("name") for a in entry.authors}
    assert datetime(*entry.published_parsed[:6]).replace(tzinfo=UTC) == datetime(
        2026, 11, 20, 8, tzinfo=UTC
    )

    atom = feedparser.parse(client.get("/feed.atom?limit=500").content)
    assert atom.bozo == 0
    entry = next(e for e in atom.entries if e.id == item["id"])
    assert [a.name for a in entry.authors] == ["Bob Writer", "Ann Reporter"]
    assert entry.source.title == "Metro" and entry.source.id == metro_url
    assert datetime(*entry.updated_parsed[:6]).replace(tzinfo=UTC) == datetime(
        2026, 11, 21, 10, tzinfo=UTC
    )


def test_feed_sets_and_groups_choose_the_stories(published: tuple[Storage, TestClient]) -> None:
    storage, client = published
    ids = {f.name: f.id for f in storage.list_feeds()}
    only_raw = _json(client, f"&feed={ids['Raw']}")["items"]
    assert [i["title"] for i in only_raw] == ["RAW: The untouched story"]
    both = _json(client, f"&feed={ids['Raw']},{ids['Courier']}")
    assert len(both["items"]) == 5  # Courier's four stories (one with its copy) and Raw's
    assert "Raw" in both["title"] and "Courier" in both["title"]
    assert len(_json(client)["items"]) == 8
    for bad in ("1,x", ",", "0", "1," * 101):
        response = client.get(f"/feed.rss?feed={bad}")
        assert response.status_code == 400, bad
        assert response.json()["error"]["message"].startswith("query parameter 'feed'")


def test_clean_is_a_per_feed_flag() -> None:
    settings = settings_from_mapping(
        {"feeds": [{"url": "https://a.example/feed", "clean": False}, "https://b.example/f"]}, None
    )
    assert [f.clean for f in settings.feeds] == [False, True]
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.clean: expected true or false"):
        settings_from_mapping({"feeds": [{"url": "https://a.example/feed", "clean": "no"}]}, None)
