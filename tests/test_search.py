"""Search over stories: found as items arrive, per story, after edits, removals, splits and
merges; whatever the text typed; from the command line and over HTTP; on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.config import settings_from_mapping
from aggregator.ingest.pipeline import Pipeline
from aggregator.publish.app import create_app
from aggregator.storage import Storage
from aggregator.storage.fulltext import query_terms
from aggregator.storage.migrate import HEAD_REVISION, alembic_config, upgrade_with_alembic
from aggregator.types import Assignment, CleanItem, ClusterChanges, ClusterState, FeedSpec
from tests.feeds import html, rss, story
from tests.helpers import Cli, pipeline_for, web_client

# Words the generated stories (tests.feeds.story) never use, put where each test needs them.
ZEPPELIN = [*story(1)[:2], "A zeppelin drifted over the harbour at dawn.", *story(1)[2:]]
WALRUS = [*story(2), "The walrus swam past the pier."]


def _entry(guid: str, title: str, paragraphs: list[str]) -> dict[str, str]:
    return {
        "guid": guid,
        "title": title,
        "link": f"https://news.example/{guid}",
        "html": html(paragraphs),
    }


def _demo(folder: Path) -> tuple[Path, Path]:
    """Feed A: the zeppelin story and the quokka story (the word only in its title);
    feed B: a copy of the zeppelin story.  Two stories, three items."""
    a, b = folder / "a.xml", folder / "b.xml"
    a.write_bytes(
        rss(
            "A",
            [
                _entry("a1", "Airship over the bay", ZEPPELIN),
                _entry("a2", "Quokka seen in the park", WALRUS),
            ],
        )
    )
    b.write_bytes(rss("B", [_entry("b1", "Airship over the bay", ZEPPELIN)]))
    return a, b


def _ids(storage: Storage, query: str) -> list[tuple[int, int]]:
    """``(cluster, size)`` of each story found, best first."""
    return [(h.cluster_id, h.size) for h in storage.search_stories(query)]


def test_a_story_is_found_once_by_words_of_any_copy(database_url: str, tmp_path: Path) -> None:
    pipeline = pipeline_for(database_url, list(_demo(tmp_path)))
    pipeline.poll()
    storage = pipeline.storage
    items = {i.guid: i for i in storage.list_items()}
    airship = items["a1"].cluster_id
    assert airship is not None
    assert airship == items["b1"].cluster_id and airship != items["a2"].cluster_id

    (hit,) = storage.search_stories("zeppelin")
    assert (hit.cluster_id, hit.size) == (airship, 2)
    cluster = storage.get_cluster(airship)
    assert cluster is not None and hit.canonical_item_id == cluster.canonical_item_id
    assert hit.title == "Airship over the bay" and hit.link is not None
    assert hit.matched_item_id in {items["a1"].id, items["b1"].id}
    assert [part.lower() for part, matched in hit.snippet if matched] == ["zeppelin"]
    assert "drifted over the harbour" in hit.snippet_text

    assert _ids(storage, "ZEPPELIN  Harbour") == [(airship, 2)]  # every word, any case
    assert _ids(storage, "quokka") == [(items["a2"].cluster_id, 1)]  # a title word
    assert _ids(storage, "zeppelin quokka") == []  # no story holds both
    assert _ids(storage, "quokk") == []  # whole words


def test_the_index_follows_edits_and_removals(database_url: str, tmp_path: Path) -> None:
    a, b = _demo(tmp_path)
    pipeline = pipeline_for(database_url, [a, b])
    pipeline.poll()
    storage = pipeline.storage
    assert len(storage.search_stories("walrus")) == 1
    # The source edits the quokka story: the walrus leaves, a narwhal arrives.
    edited = [*story(2), "A narwhal was seen near the pier."]
    a.write_bytes(
        rss(
            "A",
            [
                _entry("a1", "Airship over the bay", ZEPPELIN),
                _entry("a2", "Quokka seen in the park", edited),
            ],
        )
    )
    pipeline.poll()
    assert storage.search_stories("walrus") == []
    (hit,) = storage.search_stories("narwhal")
    assert hit.title == "Quokka seen in the park"
    # Feed A goes, with its items: only feed B's copy of the airship story is left.
    storage.remove_feed(str(a))
    assert storage.search_stories("narwhal") == []
    (left,) = storage.search_stories("zeppelin")
    assert left.size == 1 and left.feed_url == str(b)


def test_results_follow_splits_and_merges(database_url: str, tmp_path: Path) -> None:
    pipeline = pipeline_for(database_url, list(_demo(tmp_path)))
    pipeline.poll()
    storage = pipeline.storage
    copy = next(i for i in storage.list_items() if i.guid == "b1")
    pipeline.split_item(copy.id)
    found = _ids(storage, "zeppelin")
    assert sorted(size for _, size in found) == [1, 1] and len({c for c, _ in found}) == 2
    pipeline.merge_clusters(found[0][0], found[1][0])
    assert [size for _, size in _ids(storage, "zeppelin")] == [2]


HOSTILE = [
    "",
    " ",
    '"',
    '""',
    "'",
    "*",
    "***",
    "()",
    "(",
    ")",
    "-",
    "^",
    ":",
    "AND",
    "OR NOT",
    "NEAR(",
    "NEAR(a b, 3)",
    "title:",
    "{title text}:x",
    "a AND (b OR",
    "'; DROP TABLE items; --",
    "\\",
    "%",
    "_",
    "\x00",
    "\ud800",
    "x" * 10_000,
    "word " * 500,
    "🙂 ∑ 東京 مرحبا",
    "<script>alert(1)</script>",
    "!!@@##$$",
    "&&||!:*",
]


SAME_AS_ZEPPELIN = [
    '"zeppelin"',
    "zeppelin*",
    "(zeppelin)",
    "-zeppelin",
    "+zeppelin",
    "zeppelin^",
    "zeppelin'",
    '"zeppelin',
    "{zeppelin}",
    "zeppelin;--",
    "  zeppelin\t",
    "Zeppelin!",
]


def test_operators_and_quotes_find_what_their_words_find(sqlite_url: str, tmp_path: Path) -> None:
    pipeline = pipeline_for(sqlite_url, list(_demo(tmp_path)))
    pipeline.poll()
    expected = _ids(pipeline.storage, "zeppelin")
    assert expected
    for query in SAME_AS_ZEPPELIN:
        assert query_terms(query) == ("zeppelin",), query
        assert _ids(pipeline.storage, query) == expected, query


def test_any_text_is_a_query_never_an_error(database_url: str, tmp_path: Path) -> None:
    pipeline = pipeline_for(database_url, list(_demo(tmp_path)))
    pipeline.poll()
    for query in HOSTILE:
        hits = pipeline.storage.search_stories(query)
        assert hits == [], query  # none of these words is in the demo
    assert len(pipeline.storage.counts()) > 0  # the tables are all still there
    assert len(pipeline.storage.search_stories("zeppelin AND (harbour OR")) == 0  # 'and', 'or'
    assert len(pipeline.storage.search_stories("zeppelin (harbour")) == 1


def test_existing_items_are_indexed_by_the_migration(database_url: str, tmp_path: Path) -> None:
    from alembic import command

    pipeline = pipeline_for(database_url, list(_demo(tmp_path)))
    pipeline.poll()
    storage = pipeline.storage
    config = alembic_config(storage.engine)
    with storage.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")  # as a database before search: no index
    with pytest.raises(Exception):  # noqa: B017 (the driver's own error: no such table)
        storage.search_stories("zeppelin")
    assert upgrade_with_alembic(storage.engine) == HEAD_REVISION
    assert len(storage.search_stories("zeppelin")) == 1
    assert len(storage.search_stories("quokka")) == 1
    pipeline.poll()  # and the triggers are back: nothing changes, nothing breaks
    assert len(storage.search_stories("walrus")) == 1


def test_a_text_longer_than_postgresql_indexes_is_stored_and_found(storage: Storage) -> None:
    # A million bytes of different words: more than a tsvector holds.
    words = " ".join(f"w{n:07d}" for n in range(130_000))
    feed, _ = storage.add_feed(FeedSpec("https://long.example/feed"))
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    (saved,) = storage.save_items(
        feed.id,
        [
            CleanItem(
                entry_id="long",
                guid="long",
                link="https://long.example/1",
                canonical_link="https://long.example/1",
                title="A very long story",
                author=None,
                published=now,
                updated=None,
                content_html="",
                text=f"opening {words}",
                is_summary=False,
                revision="r1",
            )
        ],
    )
    storage.apply_cluster_changes(
        ClusterChanges(
            assignments=(Assignment(saved.item_id, 1, "single", 1.0),),
            clusters=(ClusterState(1, saved.item_id, 1, 1),),
        ),
        fingerprints=[],
        scheme="s",
    )
    assert [h.cluster_id for h in storage.search_stories("opening long")] == [1]


def test_limit_and_offset_page_through_stories(storage: Storage) -> None:
    feed, _ = storage.add_feed(FeedSpec("https://many.example/feed"))
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    items = [
        CleanItem(
            entry_id=f"e{n}",
            guid=f"e{n}",
            link=f"https://many.example/{n}",
            canonical_link=f"https://many.example/{n}",
            title=f"Story {n}",
            author=None,
            published=now,
            updated=None,
            content_html="",
            text=f"the lighthouse keeper wrote entry {n}" + " lighthouse" * (n % 3),
            is_summary=False,
            revision=f"r{n}",
        )
        for n in range(30)
    ]
    saved = storage.save_items(feed.id, items)
    storage.apply_cluster_changes(
        ClusterChanges(
            assignments=tuple(
                Assignment(s.item_id, 100 + n, "single", 1.0) for n, s in enumerate(saved)
            ),
            clusters=tuple(ClusterState(100 + n, s.item_id, 1, 1) for n, s in enumerate(saved)),
        ),
        fingerprints=[],
        scheme="s",
    )
    every = [h.cluster_id for h in storage.search_stories("lighthouse", limit=100)]
    assert sorted(every) == list(range(100, 130))
    pages = [
        [h.cluster_id for h in storage.search_stories("lighthouse", limit=7, offset=start)]
        for start in range(0, 30, 7)
    ]
    assert [c for page in pages for c in page] == every
    # More mentions rank higher: the stories that say it three times come first.
    assert {c - 100 for c in every[:10]} == {n for n in range(30) if n % 3 == 2}
    assert storage.search_stories("lighthouse", limit=0) == []


# -- the command line and the web ------------------------------------------------------------


def _config(folder: Path, database: str) -> Path:
    a, b = _demo(folder)
    config = folder / "config.yaml"
    config.write_text(f"database: {database}\nfeeds:\n  - url: {a.name}\n  - url: {b.name}\n")
    return config


def test_search_from_the_command_line(cli: Cli, sqlite_url: str, tmp_path: Path) -> None:
    _config(tmp_path, sqlite_url)
    cli("poll", cwd=tmp_path, check=True)
    table = cli("search", "zeppelin", cwd=tmp_path, check=True).stdout
    lines = table.splitlines()
    assert lines[0].split() == ["story", "copies", "title", "link", "snippet"]
    assert len(lines) == 3 and "Airship over the bay" in lines[2] and "zeppelin" in lines[2]

    out = cli("search", "zeppelin", "harbour", "--format", "json", cwd=tmp_path, check=True)
    (story_,) = json.loads(out.stdout)
    assert story_["size"] == 2 and story_["canonical_item"]["title"] == "Airship over the bay"
    assert {"cluster_id", "matched_item_id", "snippet"} <= set(story_)
    assert "zeppelin" in story_["snippet"]
    # The README promised the canonical item's link in the table, which had none.
    canonical = story_["canonical_item"]
    assert canonical["link"] in lines[2].split()
    # The JSON is /api/search's story, less the page only the web has: the canonical item
    # names its feed there too.
    settings = settings_from_mapping({"database": sqlite_url}, None, env={})
    storage = Storage(sqlite_url)
    answer = web_client(create_app(storage, settings)).get(
        "/api/search", params={"q": "zeppelin harbour"}
    )
    (api,) = answer.json()["stories"]
    assert {k: v for k, v in api.items() if k != "page"} == story_
    feed = storage.find_feed(canonical["feed"]["id"])
    assert feed is not None and feed.url == canonical["feed_url"]
    assert canonical["feed"]["name"] == feed.title  # no configured name: the feed's title
    assert feed.title in ("A", "B")
    storage.close()

    assert cli("search", '"(NEAR*', cwd=tmp_path, check=True).stdout.strip() == "no story matches"
    assert json.loads(cli("search", "AND", "--format", "json", cwd=tmp_path).stdout) == []
    refused = cli("search", "x", "--limit", "0", cwd=tmp_path)
    assert refused.returncode == 2 and "--limit" in refused.stderr


def _app(folder: Path, database: str) -> object:
    settings = settings_from_mapping(
        {"database": database, "feeds": [{"url": str(p)} for p in _demo(folder)]}, None, env={}
    )
    pipeline = Pipeline(Storage(database), settings, keep_lease=False)
    pipeline.start()
    pipeline.poll()
    return create_app(pipeline.storage, settings)


def test_search_over_http(database_url: str, tmp_path: Path) -> None:
    client = web_client(_app(tmp_path, database_url))
    body = client.get("/api/search", params={"q": "zeppelin"}).json()
    assert body["query"] == "zeppelin" and body["next"] is None
    (found,) = body["stories"]
    assert found["size"] == 2 and found["page"] == f"/clusters/{found['cluster_id']}"
    assert found["canonical_item"]["feed"]["name"] and "zeppelin" in found["snippet"]
    assert client.get(found["page"]).status_code == 200

    for query in [q for q in HOSTILE if q and len(q) <= 200 and q.isprintable()]:
        answer = client.get("/api/search", params={"q": query})
        assert answer.status_code == 200, (query, answer.text)
        assert answer.json()["stories"] == []
    missing = client.get("/api/search")
    assert missing.status_code == 400 and "'q'" in missing.json()["error"]["message"]
    assert client.get("/api/search", params={"q": "a\x00b"}).status_code == 400
    assert client.get("/api/search", params={"q": "x", "limit": "0"}).status_code == 400

    page = client.get("/search", params={"q": "<zeppelin>"})
    assert page.status_code == 200
    assert "<mark>zeppelin</mark>" in page.text.lower()
    assert "Airship over the bay" in page.text and "&lt;zeppelin&gt;" in page.text
    empty = client.get("/search", params={"q": "nothing-here"})
    assert "No story holds every word" in empty.text
    bare = client.get("/search")
    assert bare.status_code == 200 and 'name="q"' in bare.text
    assert 'action="/search"' in client.get("/clusters").text  # the box on every page


def test_next_links_page_through_results(sqlite_url: str, tmp_path: Path) -> None:
    client = web_client(_app(tmp_path, sqlite_url))
    first = client.get("/api/search", params={"q": "the", "limit": "1"}).json()
    assert len(first["stories"]) == 1 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["stories"]) == 1 and second["next"] is None
    assert first["stories"][0]["cluster_id"] != second["stories"][0]["cluster_id"]


def test_a_common_word_on_postgresql_ranks_the_newest_matches(pg_url: str) -> None:
    from aggregator.storage.fulltext import MAX_RANKED, _PgText

    storage = Storage(pg_url)
    storage.upgrade()
    feed, _ = storage.add_feed(FeedSpec("https://busy.example/feed"))
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    count = MAX_RANKED + 500
    saved = storage.save_items(
        feed.id,
        [
            CleanItem(
                entry_id=f"e{n}",
                guid=f"e{n}",
                link=f"https://busy.example/{n}",
                canonical_link=f"https://busy.example/{n}",
                title=None,
                author=None,
                published=now,
                updated=None,
                content_html="",
                text=f"the weather today, report {n}" + (" and a comet" if n % 500 == 0 else ""),
                is_summary=False,
                revision=f"r{n}",
            )
            for n in range(count)
        ],
    )
    storage.apply_cluster_changes(
        ClusterChanges(
            assignments=tuple(Assignment(s.item_id, s.item_id, "single", 1.0) for s in saved),
            clusters=tuple(ClusterState(s.item_id, s.item_id, 1, 1) for s in saved),
        ),
        fingerprints=[],
        scheme="s",
    )
    assert storage.update_search_index() == count  # as the daemon's catch-up does
    with storage.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE item_search")
        # Both walks are taken: the newest items for a word in all of them, the index
        # for a rare one.
        assert _PgText._common(connection, ["weather"])
        assert not _PgText._common(connection, ["comet"])
    newest = sorted((s.item_id for s in saved), reverse=True)
    # Every item says it equally: the most recent stories first.
    assert [h.cluster_id for h in storage.search_stories("weather", limit=20)] == newest[:20]
    comets = [s.item_id for n, s in enumerate(saved) if n % 500 == 0]
    assert sorted(h.cluster_id for h in storage.search_stories("comet")) == comets
    storage.close()
