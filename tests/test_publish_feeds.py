"""/feed.rss, /feed.atom, /feed.json over the polled demo, read back by feedparser and
checked against the database: counts, ids, links, where else each story appeared."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from starlette.testclient import TestClient

from aggregator.clean.text import fold
from aggregator.config import Settings
from aggregator.ingest.pipeline import Pipeline
from aggregator.parse.document import parse_feed
from aggregator.publish.app import create_app
from aggregator.storage import Storage
from aggregator.types import ClusterView
from tests.helpers import web_client
from tests.test_publish_demo import demo_pipeline

FORMATS = ["/feed.rss", "/feed.atom", "/feed.json"]
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pipeline, TestClient]]:
    settings, pipeline = demo_pipeline(tmp_path_factory.mktemp("feeds"))
    with web_client(create_app(pipeline.storage, settings)) as client:
        yield pipeline, client


def _clusters(storage: Storage) -> dict[int, ClusterView]:
    return {c.id: c for c in storage.list_clusters(min_size=1)}


def _feed_names(storage: Storage) -> dict[int, str]:
    return {f.id: f.name or f.title or f.url for f in storage.list_feeds()}


@dataclass(frozen=True)
class ReadEntry:
    id: str
    title: str
    link: str | None
    content: str
    published: datetime
    related: frozenset[str] | None
    """Atom rel="related" links (None for the other formats)."""


def _read(path: str, response: Any) -> list[ReadEntry]:
    """Our output read back the way a subscriber's software reads it: feedparser for RSS
    and Atom (with no bozo at all), the project's JSON Feed reader for /feed.json."""
    if path.endswith(".json"):
        parsed_json = parse_feed(
            "http://localhost" + path, response.content, dict(response.headers)
        )
        return [
            ReadEntry(
                e.source_id or "",
                e.title or "",
                e.link,
                e.content_html,
                e.published or datetime.min,
                None,
            )
            for e in parsed_json.entries
        ]
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    out = []
    for e in parsed.entries:
        related = frozenset(link.href for link in e.links if link.rel == "related")
        out.append(
            ReadEntry(
                e.id,
                e.title,
                e.get("link"),
                e.content[0].value if "content" in e else e.summary,
                datetime(*e.published_parsed[:6]).replace(tzinfo=UTC),
                related if path.endswith(".atom") else None,
            )
        )
    return out


def _cluster_id(entry_id: str) -> int:
    match = re.fullmatch(r"urn:aggregator:cluster:(\d+)", entry_id)
    assert match, entry_id
    return int(match.group(1))


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("path", FORMATS)
def test_our_feeds_parse_back_and_match_the_database(
    demo: tuple[Pipeline, TestClient], path: str, full: bool
) -> None:
    pipeline, client = demo
    storage = pipeline.storage
    response = client.get(f"{path}?limit=500" + ("&full=1" if full else ""))
    assert response.status_code == 200
    entries = _read(path, response)
    clusters = _clusters(storage)
    # One entry per cluster: every story once, the syndicated copies collapsed.
    assert len(entries) == len(clusters) == storage.counts()["clusters"]
    names = _feed_names(storage)
    items = {i.id: i for i in storage.list_items()}
    for entry in entries:
        cluster = clusters[_cluster_id(entry.id)]
        canonical = items[cluster.canonical_item_id or 0]
        if full:  # the title as the source wrote it
            assert entry.title == canonical.title
        else:  # the source's title, less its feed's site name or section label
            assert canonical.title and fold(entry.title) in fold(canonical.title)
        # The link is the canonical copy's, without tracking parameters.
        assert entry.link == canonical.canonical_link
        assert entry.link and "utm_" not in entry.link
        others = [m for m in cluster.members if m.id != canonical.id]
        if others:
            assert "Also published by:" in entry.content
            for member in others:
                assert names[member.feed_id] in entry.content
                assert member.canonical_link and member.canonical_link in entry.content
        else:
            assert "Also published by" not in entry.content
        assert f"/clusters/{cluster.id}" in entry.content
        if entry.related is not None:
            assert entry.related == {m.canonical_link for m in others}
    assert {_cluster_id(e.id) for e in entries} == set(clusters)


@pytest.mark.parametrize("path", FORMATS)
def test_entries_are_newest_first_and_limited(demo: tuple[Pipeline, TestClient], path: str) -> None:
    _, client = demo
    entries = _read(path, client.get(path))
    assert len(entries) == 50  # the default limit
    times = [e.published for e in entries]
    assert times == sorted(times, reverse=True)
    assert len(_read(path, client.get(f"{path}?limit=7"))) == 7


def test_group_and_since_filter_what_is_published(demo: tuple[Pipeline, TestClient]) -> None:
    pipeline, client = demo
    storage = pipeline.storage
    feeds = {f.id: f for f in storage.list_feeds()}
    clusters = _clusters(storage)
    in_group = {
        c.id
        for c in clusters.values()
        if any(feeds[m.feed_id].group == "daily-something" for m in c.members)
    }
    assert 0 < len(in_group) < len(clusters)
    parsed = feedparser.parse(client.get("/feed.rss?group=daily-something&limit=500").content)
    assert {_cluster_id(e.id) for e in parsed.entries} == in_group
    assert "daily-something" in parsed.feed.title

    since = datetime(2026, 11, 24, tzinfo=UTC)
    parsed = feedparser.parse(client.get("/feed.atom?since=2026-11-24&limit=500").content)
    assert parsed.entries
    assert all(
        datetime(*e.published_parsed[:6]).replace(tzinfo=UTC) >= since for e in parsed.entries
    )
    assert len(parsed.entries) < len(clusters)
    assert feedparser.parse(client.get("/feed.rss?group=no-such-group").content).entries == []


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=501",
        "limit=ten",
        "since=yesterday",
        "group=" + "x" * 201,
        "limit=1&limit=2",
        "feed=-3",
    ],
)
def test_bad_parameters_are_a_clear_400(demo: tuple[Pipeline, TestClient], query: str) -> None:
    _, client = demo
    response = client.get(f"/feed.rss?{query}")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("query parameter '")


def _check_json_feed(document: dict[str, Any]) -> None:
    """The fields JSON Feed 1.1 requires, and the types it gives the optional ones."""
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(document["title"], str) and document["title"]
    assert isinstance(document["items"], list)
    for key in ("home_page_url", "feed_url", "description"):
        assert isinstance(document.get(key, ""), str)
    for item in document["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert isinstance(item.get("content_html"), str) or isinstance(
            item.get("content_text"), str
        )
        for key in ("url", "title", "summary", "external_url"):
            assert isinstance(item.get(key, ""), str)
        for key in ("date_published", "date_modified"):
            if key in item:
                assert RFC3339.match(item[key]), item[key]
        for author in item.get("authors", []):
            assert isinstance(author, dict) and author
        # Anything not in the spec must be an extension: a key starting with "_".
        known = {
            "id",
            "url",
            "external_url",
            "title",
            "content_html",
            "content_text",
            "summary",
            "image",
            "banner_image",
            "date_published",
            "date_modified",
            "authors",
            "tags",
            "language",
            "attachments",
        }
        assert all(k in known or k.startswith("_") for k in item)


def test_json_feed_follows_the_spec_and_carries_the_cluster(
    demo: tuple[Pipeline, TestClient],
) -> None:
    pipeline, client = demo
    response = client.get("/feed.json?limit=500")
    assert response.headers["content-type"].startswith("application/feed+json")
    document = response.json()
    _check_json_feed(document)
    clusters = _clusters(pipeline.storage)
    names = _feed_names(pipeline.storage)
    for item in document["items"]:
        ext = item["_aggregator"]
        cluster = clusters[ext["cluster_id"]]
        assert item["id"] == f"urn:aggregator:cluster:{cluster.id}"
        assert ext["size"] == cluster.size
        copies = {c["item_id"]: c for c in ext["copies"]}
        assert set(copies) == {m.id for m in cluster.members} - {cluster.canonical_item_id}
        for member in cluster.members:
            if member.id in copies:
                assert copies[member.id]["link"] == member.canonical_link
                assert copies[member.id]["feed"] == names[member.feed_id]
                assert copies[member.id]["feed_url"] == member.feed_url


@pytest.mark.parametrize("path", [*FORMATS, "/opml"])
def test_conditional_get(demo: tuple[Pipeline, TestClient], path: str) -> None:
    _, client = demo
    first = client.get(path)
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag
    assert client.get(path).headers["etag"] == etag  # same content, same tag
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.get(path, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    if path != "/opml":
        modified = first.headers["last-modified"]
        assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
        old = "Mon, 01 Jan 2001 00:00:00 GMT"
        assert client.get(path, headers={"If-Modified-Since": old}).status_code == 200
        # If-None-Match wins over If-Modified-Since (RFC 9110).
        assert (
            client.get(
                path, headers={"If-None-Match": '"other"', "If-Modified-Since": modified}
            ).status_code
            == 200
        )
    # A different query is a different document.
    assert client.get(f"{path}?limit=3").headers["etag"] != etag or path == "/opml"


def test_entry_ids_survive_a_change_of_canonical_copy(tmp_path: Path) -> None:
    settings, pipeline = demo_pipeline(tmp_path)
    storage = pipeline.storage
    client = web_client(create_app(storage, settings))
    before = feedparser.parse(client.get("/feed.atom?limit=500").content)
    etag = client.get("/feed.atom?limit=500").headers["etag"]
    # The biggest story's canonical copy comes from the priority-1 feed; give another
    # member's feed a higher priority and re-decide: a different copy becomes canonical.
    cluster = max(storage.list_clusters(min_size=2), key=lambda c: c.size)
    rival = next(m for m in cluster.members if not m.canonical and not m.is_summary)
    specs = [
        replace(spec, priority=5) if spec.url == rival.feed_url else spec for spec in settings.feeds
    ]
    storage.sync_feeds(specs)
    Pipeline(storage, _with_feeds(settings, specs)).rebuild()
    changed = storage.get_cluster(cluster.id)
    assert changed is not None and changed.canonical_item_id == rival.id

    after = feedparser.parse(client.get("/feed.atom?limit=500").content)
    # The same stories under the same ids (the order may move: the new canonical copy
    # has its own publication time).
    assert sorted(e.id for e in after.entries) == sorted(e.id for e in before.entries)
    entry = next(e for e in after.entries if e.id == f"urn:aggregator:cluster:{cluster.id}")
    assert entry.link == rival.canonical_link
    assert client.get("/feed.atom?limit=500", headers={"If-None-Match": etag}).status_code == 200


def _with_feeds(settings: Settings, specs: list[Any]) -> Settings:
    return replace(settings, feeds=tuple(specs))


def test_content_is_json_serialisable_html(demo: tuple[Pipeline, TestClient]) -> None:
    _, client = demo
    document = json.loads(client.get("/feed.json?limit=3").content)
    assert all(item["content_html"].startswith("<") for item in document["items"])
