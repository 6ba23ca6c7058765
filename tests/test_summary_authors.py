"""An entry's summary beside its full text, and its structured authors: stored on SQLite and
PostgreSQL, carried through the real pipeline from feeds served over real HTTP, and
published in every output format (RSS 2.0, Atom, JSON Feed, the JSON API)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import feedparser
import pytest
from alembic import command
from pytest_httpserver import HTTPServer
from sqlalchemy import inspect, text
from starlette.testclient import TestClient

from aggregator.clean.text import revision_hash
from aggregator.config import settings_from_mapping
from aggregator.ingest.pipeline import Pipeline
from aggregator.parse.document import parse_feed
from aggregator.publish.app import create_app
from aggregator.storage import Storage
from aggregator.storage.migrate import alembic_config
from aggregator.types import CleanItem, FeedSpec, ItemView, Person
from tests.feeds import story
from tests.helpers import web_client

CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
ATOM_NS = "http://www.w3.org/2005/Atom"


# -- storage -------------------------------------------------------------------------------


def _item(entry_id: str, revision: str, **over: Any) -> CleanItem:
    values: dict[str, Any] = dict(
        entry_id=entry_id,
        guid=entry_id,
        link=f"https://example.com/{entry_id}",
        canonical_link=f"https://example.com/{entry_id}",
        title=f"Title {entry_id}",
        author="Lena Ortiz, Joe",
        published=None,
        updated=None,
        content_html="<p>The whole story, told at length.</p>",
        text="The whole story, told at length.",
        is_summary=False,
        revision=revision,
    )
    values.update(over)
    return CleanItem(**values)


def _stored(storage: Storage, item_id: int) -> ItemView:
    (view,) = storage.list_items(item_ids=[item_id], with_content=True)
    return view


def test_summary_and_authors_round_trip(storage: Storage) -> None:
    storage.sync_feeds([FeedSpec("https://a.example/feed")])
    feed_id = storage.list_feeds()[0].id
    people = (
        Person(name="Lena Ortiz", email="lena@example.com", url="https://lena.example/"),
        Person(name="Joe"),
        Person(email="desk@example.com"),
    )
    first = _item("a-1", "r1", summary_html="<p>The short version\x00.</p>", authors=people)
    plain = _item("a-2", "r1", author="Ann", authors=())
    saved = storage.save_items(feed_id, [first, plain])
    assert [s.status for s in saved] == ["new", "new"]
    one, two = (_stored(storage, s.item_id) for s in saved)
    # The NUL PostgreSQL cannot hold is dropped on both databases alike.
    assert one.summary_html == "<p>The short version.</p>"
    assert one.authors == people
    # Without structured authors (a row stored before they were), the display name stands.
    assert two.summary_html == "" and two.authors == (Person(name="Ann"),)
    # Read as the lead index will read it: the summaries of the items that have one.
    assert storage.item_summaries([one.id, two.id]) == {one.id: "<p>The short version.</p>"}

    # An edit of only these replaces both, and the item is not decided again: neither is
    # what deduplication reads.  Lists without content still carry the authors.
    edited = _item("a-1", "r2", summary_html="<p>A new teaser.</p>", authors=(Person(name="Mo"),))
    assert [s.status for s in storage.save_items(feed_id, [edited])] == ["unchanged"]
    again = _stored(storage, one.id)
    assert again.summary_html == "<p>A new teaser.</p>" and again.authors == (Person("Mo"),)
    listed = {v.id: v for v in storage.list_items()}
    assert listed[one.id].authors == (Person("Mo"),)
    # A summary removed by the source is removed here too.
    bare = _item("a-1", "r3", summary_html="", authors=(Person(name="Mo"),))
    storage.save_items(feed_id, [bare])
    assert _stored(storage, one.id).summary_html == ""
    assert storage.item_summaries([one.id]) == {}


def test_migration_0008_adds_the_columns_to_stored_items(empty_database_url: str) -> None:
    storage = Storage(empty_database_url)
    config = alembic_config(storage.engine)
    with storage.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
        connection.execute(
            text(
                "INSERT INTO feeds (id, url, fetch_url, priority, dedup, disabled, error_count,"
                " created, origin) VALUES (1, 'https://old.example/feed',"
                " 'https://old.example/feed', 0, true, false, 0, '2026-01-01 00:00:00', 'config')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO items (id, feed_id, entry_id, author, sort_time, first_seen,"
                " content_html, text, is_summary, revision) VALUES (1, 1, 'old-1', 'Old Hand',"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00', '<p>old</p>', 'old', false, 'r')"
            )
        )
        command.upgrade(config, "0008")
    old = _stored(storage, 1)
    assert old.summary_html == "" and old.authors == (Person(name="Old Hand"),)
    with storage.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")
        columns = {c["name"] for c in inspect(connection).get_columns("items")}
    assert "summary_html" not in columns and "authors" not in columns and "author" in columns


# -- through the pipeline and out ----------------------------------------------------------

TEASER = "Teaser: the council approved the harbour plan"
ATOM_TEASER = "The desk's own teaser about the ferry timetable"
JSON_TEASER = "A short note on the library's new hours"


def _paragraphs(seed: int) -> str:
    return "".join(f"<p>{p}</p>" for p in story(seed, paragraphs=4))


def _rss() -> bytes:
    summary = f"<p>{TEASER}.</p><p>Share this</p>"  # a generic share line: clutter
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<channel><title>Harbour Wire</title><link>https://wire.example/</link>"
        "<description>news</description><item><title>Harbour plan approved</title>"
        "<link>https://wire.example/harbour</link><guid>https://wire.example/harbour</guid>"
        "<pubDate>Fri, 20 Nov 2026 08:00:00 +0000</pubDate>"
        "<author>lena@example.com (Lena Ortiz)</author>"
        f"<description>{escape(summary)}</description>"
        f"<content:encoded><![CDATA[{_paragraphs(1)}]]></content:encoded></item>"
        "</channel></rss>"
    ).encode()


def _atom() -> bytes:
    def entry(n: int, seed: int, summary: str, authors: str) -> str:
        return (
            f"<entry><id>urn:desk:{n}</id><title>Desk story {n}</title>"
            f'<link href="https://desk.example/{n}"/>'
            f"<updated>2026-11-2{n}T09:00:00Z</updated>{authors}"
            f'<summary type="html">{escape(summary)}</summary>'
            f'<content type="html">{escape(_paragraphs(seed))}</content></entry>'
        )

    joe = (
        "<author><name>Joe Bloggs</name><email>joe@example.com</email>"
        "<uri>https://joe.example/</uri></author><author><name>Jane Doe</name></author>"
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<id>urn:desk</id><title>The Desk</title><updated>2026-11-22T09:00:00Z</updated>"
        # A copy of the wire's story, by other people, and a story of the desk's own.
        + entry(1, 1, "<p>The desk's teaser of the harbour story</p>", joe)
        + entry(2, 2, f"<p>{ATOM_TEASER}.</p>", joe)
        + "</feed>"
    ).encode()


def _json_feed() -> bytes:
    items = [
        {
            "id": "lib-1",
            "url": "https://lib.example/hours",
            "title": "Library hours",
            "date_published": "2026-11-23T10:00:00Z",
            "summary": f"{JSON_TEASER}.",
            "content_html": _paragraphs(3),
            "authors": [
                {"name": "Jane Roe", "url": "https://jane.example/"},
                {"url": "mailto:desk@lib.example"},
            ],
        },
        {
            "id": "lib-2",
            "url": "https://lib.example/one-text",
            "title": "One text only",
            "date_published": "2026-11-24T10:00:00Z",
            "content_html": _paragraphs(4),
        },
    ]
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "Library", "items": items}
    return json.dumps(document).encode()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Storage, TestClient]]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        served = {
            "/wire.xml": (_rss(), "application/rss+xml"),
            "/desk.atom": (_atom(), "application/atom+xml"),
            "/library.json": (_json_feed(), "application/feed+json"),
        }
        for path, (body, kind) in served.items():
            server.expect_request(path).respond_with_data(body, content_type=kind)
        database = f"sqlite:///{tmp_path_factory.mktemp('fidelity')}/agg.db"
        settings = settings_from_mapping(
            {
                "database": database,
                "feeds": [
                    # The wire's copy is the one published: its summary, its authors first.
                    {"url": server.url_for("/wire.xml"), "name": "Wire", "priority": 5},
                    {"url": server.url_for("/desk.atom"), "name": "Desk"},
                    {"url": server.url_for("/library.json"), "name": "Library"},
                ],
            },
            None,
        )
        pipeline = Pipeline(Storage(database), settings, keep_lease=False)
        assert [o.status for o in pipeline.poll()] == ["ok"] * 3
        with web_client(create_app(pipeline.storage, settings)) as client:
            yield pipeline.storage, client
    finally:
        server.stop()


def _by_title(storage: Storage) -> dict[str, ItemView]:
    return {i.title or "": i for i in storage.list_items(with_content=True)}


def test_a_feed_with_summary_and_content_is_stored_whole(
    published: tuple[Storage, TestClient],
) -> None:
    storage, _ = published
    items = _by_title(storage)
    wire = items["Harbour plan approved"]
    # The content is the full text (stored, fingerprinted); the summary is kept beside it.
    assert wire.content_html == _paragraphs(1) and not wire.is_summary
    assert story(1, paragraphs=4)[0] in wire.text and TEASER not in wire.text
    assert TEASER in wire.summary_html and "Share this" in wire.summary_html  # as sent
    assert wire.authors == (Person(name="Lena Ortiz", email="lena@example.com"),)
    desk = items["Desk story 2"]
    assert ATOM_TEASER in desk.summary_html
    assert desk.authors == (
        Person(name="Joe Bloggs", email="joe@example.com", url="https://joe.example/"),
        Person(name="Jane Doe"),
    )
    library = items["Library hours"]
    assert library.summary_html == escape(f"{JSON_TEASER}.")  # its plain text, as HTML
    assert library.authors == (
        Person(name="Jane Roe", url="https://jane.example/"),
        Person(email="desk@lib.example", url="mailto:desk@lib.example"),
    )
    assert items["One text only"].summary_html == ""
    # The syndicated copy joined the wire's story: one story, two copies.
    assert items["Desk story 1"].cluster_id == wire.cluster_id is not None
    assert storage.item_summaries([wire.id, items["One text only"].id]).keys() == {wire.id}


def _json(client: TestClient, query: str = "") -> dict[str, Any]:
    response = client.get(f"/feed.json?limit=500{query}")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def _entry_of(document: dict[str, Any], title: str) -> dict[str, Any]:
    return next(i for i in document["items"] if i["title"] == title)


def test_json_feed_carries_summary_and_authors(published: tuple[Storage, TestClient]) -> None:
    _, client = published
    document = _json(client)
    harbour = _entry_of(document, "Harbour plan approved")
    assert harbour["summary"] == f"{TEASER}."  # plain text, the share line cleaned away
    assert story(1, paragraphs=4)[0] in harbour["content_html"]
    # Every copy's authors, the published copy's first; an e-mail address becomes mailto:.
    assert harbour["authors"] == [
        {"name": "Lena Ortiz", "url": "mailto:lena@example.com"},
        {"name": "Joe Bloggs", "url": "https://joe.example/"},
        {"name": "Jane Doe"},
    ]
    library = _entry_of(document, "Library hours")
    assert library["summary"] == f"{JSON_TEASER}."
    assert library["authors"] == [
        {"name": "Jane Roe", "url": "https://jane.example/"},
        {"url": "mailto:desk@lib.example"},
    ]
    single = _entry_of(document, "One text only")
    assert "summary" not in single and "authors" not in single
    # ?full=1 publishes the summary as the source wrote it.
    raw = _entry_of(_json(client, "&full=1"), "Harbour plan approved")
    assert raw["summary"] == f"{TEASER}. Share this"


def test_rss_carries_summary_beside_content_and_authors(
    published: tuple[Storage, TestClient],
) -> None:
    _, client = published
    response = client.get("/feed.rss?limit=500")
    assert response.status_code == 200
    items = {i.findtext("title"): i for i in ET.fromstring(response.content).iter("item")}
    harbour = items["Harbour plan approved"]
    description = harbour.findtext("description") or ""
    assert TEASER in description and "Share this" not in description
    encoded = harbour.findtext(f"{{{CONTENT_NS}}}encoded") or ""
    assert story(1, paragraphs=4)[0] in encoded and TEASER not in encoded
    # <author> is an e-mail address (with the name); every name is a dc:creator.
    assert [a.text for a in harbour.findall("author")] == [
        "lena@example.com (Lena Ortiz)",
        "joe@example.com (Joe Bloggs)",
    ]
    assert [c.text for c in harbour.findall(f"{{{DC_NS}}}creator")] == [
        "Lena Ortiz",
        "Joe Bloggs",
        "Jane Doe",
    ]
    # One text only: it is the description, as before.
    single = items["One text only"]
    assert story(4, paragraphs=4)[0] in (single.findtext("description") or "")
    assert single.find(f"{{{CONTENT_NS}}}encoded") is None
    # A subscriber's reader sees both texts.
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0
    entry = next(e for e in parsed.entries if e.title == "Harbour plan approved")
    assert TEASER in entry.summary and story(1, paragraphs=4)[0] in entry.content[0].value


def test_atom_carries_summary_and_structured_authors(
    published: tuple[Storage, TestClient],
) -> None:
    _, client = published
    response = client.get("/feed.atom?limit=500")
    assert response.status_code == 200
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0
    entries = {e.title: e for e in parsed.entries}
    harbour = entries["Harbour plan approved"]
    assert TEASER in harbour.summary and "Share this" not in harbour.summary
    assert story(1, paragraphs=4)[0] in harbour.content[0].value
    assert ATOM_TEASER in entries["Desk story 2"].summary
    # Read from the XML itself: feedparser makes up a summary of the content where there is
    # none, and gives a later author the e-mail address of the one before.
    elements = {
        entry.findtext(f"{{{ATOM_NS}}}title"): entry
        for entry in ET.fromstring(response.content).iter(f"{{{ATOM_NS}}}entry")
    }
    assert elements["One text only"].find(f"{{{ATOM_NS}}}summary") is None
    authors = {
        title: [
            {part.tag.rpartition("}")[2]: part.text for part in author}
            for author in entry.findall(f"{{{ATOM_NS}}}author")
        ]
        for title, entry in elements.items()
    }
    assert authors["Harbour plan approved"] == [
        {"name": "Lena Ortiz", "email": "lena@example.com"},
        {"name": "Joe Bloggs", "email": "joe@example.com", "uri": "https://joe.example/"},
        {"name": "Jane Doe"},
    ]
    # An author with an e-mail address only is still named (Atom requires a name).
    assert authors["Library hours"] == [
        {"name": "Jane Roe", "uri": "https://jane.example/"},
        {"name": "desk@lib.example", "email": "desk@lib.example"},
    ]


def test_api_items_carry_summary_and_authors(published: tuple[Storage, TestClient]) -> None:
    _, client = published
    response = client.get("/api/items?limit=500")
    assert response.status_code == 200
    items = {i["title"]: i for i in response.json()["items"]}
    harbour = items["Harbour plan approved"]
    assert TEASER in harbour["summary_html"] and "Share this" not in harbour["summary_html"]
    assert harbour["authors"] == [{"name": "Lena Ortiz", "email": "lena@example.com", "url": None}]
    assert items["One text only"]["summary_html"] is None
    assert items["One text only"]["authors"] == []


def test_each_atom_author_keeps_only_what_it_gave() -> None:
    # Several authors send an Atom entry to feedparser, which copies the name and e-mail
    # address of one author into the next before reading the next's own.
    document = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<id>urn:f</id><title>F</title><updated>2026-11-22T09:00:00Z</updated>"
        b"<entry><id>urn:f:1</id><title>One</title><updated>2026-11-22T09:00:00Z</updated>"
        b"<author><name>Joe Bloggs</name><email>joe@example.com</email></author>"
        b"<author><email>desk@example.com</email></author>"
        b"<author><name>Jane Doe</name><uri>https://jane.example/</uri></author>"
        b"<content>Text</content></entry></feed>"
    )
    (entry,) = parse_feed("https://f.example/atom", document, {}).entries
    assert entry.authors == (
        Person(name="Joe Bloggs", email="joe@example.com"),
        Person(email="desk@example.com"),
        Person(name="Jane Doe", url="https://jane.example/"),
    )


def test_an_item_stored_before_gets_its_summary_on_its_next_poll(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/wire.xml").respond_with_data(
        _rss(), content_type="application/rss+xml"
    )
    database = f"sqlite:///{tmp_path / 'agg.db'}"
    settings = settings_from_mapping(
        {"database": database, "feeds": [{"url": httpserver.url_for("/wire.xml")}]}, None
    )
    pipeline = Pipeline(Storage(database), settings, keep_lease=False)
    pipeline.poll()
    (stored,) = pipeline.storage.list_items(with_content=True)
    assert stored.published is not None
    # The row as a release without summaries stored it: no summary, no authors, and the
    # revision of what that release hashed (title, link, content, author, date).
    old_revision = revision_hash(
        stored.title, stored.link, stored.content_html, stored.author, stored.published.isoformat()
    )
    with pipeline.storage.engine.begin() as connection:
        connection.execute(
            text("UPDATE items SET summary_html = '', authors = NULL, revision = :r"),
            {"r": old_revision},
        )
    assert pipeline.storage.item_summaries([stored.id]) == {}

    (outcome,) = pipeline.poll()
    (again,) = pipeline.storage.list_items(with_content=True)
    assert TEASER in again.summary_html
    assert again.authors == (Person(name="Lena Ortiz", email="lena@example.com"),)
    # Only the summary and the authors came: not an edit to decide again, the item keeps
    # its place.
    assert (outcome.new, outcome.updated) == (0, 0)
    assert (again.id, again.cluster_id, again.method) == (
        stored.id,
        stored.cluster_id,
        stored.method,
    )
