"""The Google Reader API as reader apps speak it (the FreshRSS / Inoreader dialect), over
real HTTP (Starlette's TestClient) on the polled demo, on SQLite and PostgreSQL: one item
per story, read and starred per story and per user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from aggregator.config import Settings, load_settings, settings_from_mapping
from aggregator.ingest.pipeline import Pipeline
from aggregator.publish.accounts import hash_password
from aggregator.publish.app import create_app
from aggregator.publish.greader import long_id, parse_item_id
from aggregator.storage import Storage
from aggregator.types import FeedSpec
from tests.helpers import web_client
from tests.test_publish_demo import demo_config

API = "/api/greader/reader/api/0"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
READING_LIST = "user/-/state/com.google/reading-list"


class Reader:
    """One logged-in reader app: its Auth and T tokens."""

    def __init__(self, client: TestClient, name: str, password: str) -> None:
        self.client = client
        done = client.post(
            "/api/greader/accounts/ClientLogin", data={"Email": name, "Passwd": password}
        )
        assert done.status_code == 200, done.text
        lines = dict(line.split("=", 1) for line in done.text.splitlines())
        self.auth = lines["Auth"]
        self.headers = {"Authorization": f"GoogleLogin auth={self.auth}"}
        self.t = self.get("/token").text.strip()

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(API + path, params=params, headers=self.headers)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response

    def json(self, path: str, **params: Any) -> Any:
        return self.get(path, **params).json()

    def post(self, path: str, data: list[tuple[str, str]]) -> str:
        response = self.client.post(
            API + path, content=_form([*data, ("T", self.t)]), headers=self._form_headers()
        )
        assert response.status_code == 200, (path, response.status_code, response.text)
        return str(response.text)

    def _form_headers(self) -> dict[str, str]:
        return {**self.headers, "Content-Type": "application/x-www-form-urlencoded"}

    def stream(self, stream: str = READING_LIST, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.json("/stream/contents/" + stream, n=1000, **params)[
            "items"
        ]
        return items

    def unread(self) -> int:
        counts = self.json("/unread-count", output="json")["unreadcounts"]
        return int(next(c["count"] for c in counts if c["id"].endswith("/reading-list")))


def _form(pairs: list[tuple[str, str]]) -> str:
    from urllib.parse import urlencode

    return urlencode(pairs)


@pytest.fixture
def demo(tmp_path: Path, database_url: str) -> Iterator[tuple[Settings, Pipeline, TestClient]]:
    settings = load_settings(demo_config(tmp_path), env={"AGGREGATOR_DATABASE_URL": database_url})
    pipeline = Pipeline(Storage(settings.database), settings, keep_lease=False)
    pipeline.poll()
    storage = pipeline.storage
    storage.add_reader("alice", hash_password("alice-pw"))
    storage.add_reader("bob", hash_password("bob-pw"))
    with web_client(create_app(storage, settings)) as client:
        yield settings, pipeline, client
    storage.close()


def _copies(storage: Storage) -> list[Any]:
    return [c for c in storage.list_clusters(min_size=2)]


def test_item_ids_in_both_forms() -> None:
    assert long_id(0x1F) == "tag:google.com,2005:reader/item/000000000000001f"
    assert parse_item_id("tag:google.com,2005:reader/item/000000000000001f") == 31
    assert parse_item_id("31") == 31
    assert parse_item_id("tag:google.com,2005:reader/item/ffffffffffffffff") == -1
    assert parse_item_id("nope") is None


def test_every_call_refuses_a_missing_or_wrong_credential(
    demo: tuple[Settings, Pipeline, TestClient],
) -> None:
    _settings, _pipeline, client = demo
    bad = client.post(
        "/api/greader/accounts/ClientLogin", data={"Email": "alice", "Passwd": "wrong"}
    )
    assert bad.status_code == 401 and "BadAuthentication" in bad.text
    assert (
        client.post(
            "/api/greader/accounts/ClientLogin", data={"Email": "nobody", "Passwd": "x"}
        ).status_code
        == 401
    )
    calls = [
        "/token",
        "/user-info",
        "/subscription/list",
        "/subscription/edit",
        "/subscription/quickadd",
        "/tag/list",
        "/unread-count",
        "/stream/contents/" + READING_LIST,
        "/stream/contents",
        "/stream/items/ids",
        "/stream/items/contents",
        "/edit-tag",
        "/mark-all-as-read",
    ]
    paths = [API + c for c in calls] + ["/api/greader/reader/atom/" + READING_LIST]
    for path in paths:
        for headers in (
            {},
            {"Authorization": "GoogleLogin auth=forged"},
            {"Authorization": "Bearer x"},
        ):
            for method in ("GET", "POST"):
                response = client.request(method, path, headers=headers)
                assert response.status_code == 401, (method, path, headers)
    # A write without the T token (or with another user's) is refused too.
    alice, bob = Reader(client, "alice", "alice-pw"), Reader(client, "bob", "bob-pw")
    item = alice.stream()[0]["id"]
    for data in ([("i", item), ("a", READ)], [("i", item), ("a", READ), ("T", bob.t)]):
        refused = client.post(API + "/edit-tag", content=_form(data), headers=alice._form_headers())
        assert refused.status_code == 401
        assert refused.headers.get("x-reader-google-bad-token") == "true"
    assert alice.unread() == len(alice.stream())
    # A revoked token stops working.
    client.app.state.storage.revoke_reader_tokens("alice")  # type: ignore[attr-defined]
    assert client.get(API + "/user-info", headers=alice.headers).status_code == 401


def test_one_item_per_story_as_its_canonical_copy(
    demo: tuple[Settings, Pipeline, TestClient],
) -> None:
    _settings, pipeline, client = demo
    alice = Reader(client, "alice", "alice-pw")
    storage = pipeline.storage
    clusters = storage.list_clusters(min_size=1)
    items = alice.stream()
    assert len(items) == len(clusters) == alice.unread()
    assert len({i["id"] for i in items}) == len(items)
    canonical = {c.canonical_item_id: c for c in clusters}
    by_link = {m.link: m for c in clusters for m in c.members}
    for entry in items:
        assert entry["id"].startswith("tag:google.com,2005:reader/item/")
        assert READING_LIST in entry["categories"]
        assert READ not in entry["categories"]
        member = by_link[entry["alternate"][0]["href"]]
        assert member.id in canonical  # the canonical copy is what is shown
        story = canonical[member.id]
        assert parse_item_id(entry["id"]) == min(m.id for m in story.members)
        assert entry["origin"]["streamId"] == f"feed/{member.feed_id}"
    # stream/items/ids: the same stories, short form
    refs = alice.json("/stream/items/ids", s=READING_LIST, n=1000)["itemRefs"]
    assert [int(r["id"]) for r in refs] == [parse_item_id(i["id"]) for i in items]
    # user-info, subscription/list, tag/list
    assert alice.json("/user-info")["userName"] == "alice"
    subscriptions = alice.json("/subscription/list", output="json")["subscriptions"]
    assert len(subscriptions) == len(storage.list_feeds())
    groups = {f.group for f in storage.list_feeds() if f.group}
    tags = {t["id"] for t in alice.json("/tag/list", output="json")["tags"]}
    assert {f"user/{storage.reader('alice').id}/label/{g}" for g in groups} <= tags  # type: ignore[union-attr]
    for sub in subscriptions:
        assert sub["id"].startswith("feed/")
        assert all(c["id"].startswith("user/-/label/") for c in sub["categories"])


def test_edit_tag_marks_the_story_with_every_copy(
    demo: tuple[Settings, Pipeline, TestClient],
) -> None:
    _settings, pipeline, client = demo
    alice = Reader(client, "alice", "alice-pw")
    storage = pipeline.storage
    stories = _copies(storage)
    assert len(stories) >= 3
    before = alice.unread()
    # Several i= values, long and short forms, and a copy that is not the shown item.
    first, second, third = stories[0], stories[1], stories[2]
    not_shown = next(m.id for m in first.members if m.id != first.canonical_item_id)
    data = [
        ("i", str(not_shown)),
        ("i", long_id(min(m.id for m in second.members))),
        ("i", str(min(m.id for m in third.members))),
        ("a", READ),
        ("r", "user/-/state/com.google/kept-unread"),
        ("ac", "edit"),
    ]
    assert alice.post("/edit-tag", data) == "OK"
    assert alice.unread() == before - 3
    unread = alice.stream(xt=READ)
    read = alice.stream(it=READ)
    assert len(unread) == before - 3 and len(read) == 3
    assert all(READ in i["categories"] for i in read)
    assert len(alice.stream("user/-/state/com.google/read")) == 3
    shown = {parse_item_id(i["id"]) for i in read}
    assert shown == {min(m.id for m in s.members) for s in (first, second, third)}
    # stream/items/contents: both forms, form-encoded
    response = client.post(
        API + "/stream/items/contents",
        content=_form([("i", long_id(min(m.id for m in first.members))), ("i", str(not_shown))]),
        headers=alice._form_headers(),
    )
    assert response.status_code == 200
    got = response.json()["items"]
    assert len(got) == 1 and READ in got[0]["categories"]
    # unread again: the whole story
    alice.post("/edit-tag", [("i", str(min(m.id for m in first.members))), ("r", READ)])
    assert alice.unread() == before - 2
    # starred
    alice.post("/edit-tag", [("i", str(not_shown)), ("a", STARRED)])
    starred = alice.stream(STARRED)
    assert len(starred) == 1 and STARRED in starred[0]["categories"]
    assert len(alice.stream(xt=STARRED)) == len(alice.stream()) - 1
    ids = alice.json("/stream/items/ids", s=STARRED)["itemRefs"]
    assert [int(r["id"]) for r in ids] == [min(m.id for m in first.members)]
    alice.post("/edit-tag", [("i", long_id(not_shown)), ("r", STARRED)])
    assert alice.stream(STARRED) == []


def test_continuation_order_and_time_filters(
    demo: tuple[Settings, Pipeline, TestClient],
) -> None:
    _settings, _pipeline, client = demo
    alice = Reader(client, "alice", "alice-pw")
    everything = alice.stream()
    seen: list[str] = []
    params: dict[str, Any] = {"n": 3}
    while True:
        page = alice.json("/stream/contents/" + READING_LIST, **params)
        assert len(page["items"]) <= 3
        seen += [i["id"] for i in page["items"]]
        if "continuation" not in page:
            break
        params["c"] = page["continuation"]
    assert seen == [i["id"] for i in everything]
    ids: list[str] = []
    params = {"n": 4, "s": READING_LIST, "r": "o"}
    while True:
        page = alice.json("/stream/items/ids", **params)
        ids += [r["id"] for r in page["itemRefs"]]
        if "continuation" not in page:
            break
        params["c"] = page["continuation"]
    assert ids == [str(parse_item_id(i["id"])) for i in reversed(everything)]
    times = sorted(int(i["timestampUsec"]) for i in everything)
    middle = times[len(times) // 2] // 1_000_000
    newer = alice.stream(ot=middle)
    older = alice.stream(nt=middle)
    assert all(int(i["timestampUsec"]) >= middle * 1_000_000 for i in newer)
    assert all(int(i["timestampUsec"]) < middle * 1_000_000 for i in older)
    assert len(newer) + len(older) == len(everything)
    assert (
        client.get(
            API + "/stream/contents", params={"c": "garbage"}, headers=alice.headers
        ).status_code
        == 400
    )


def test_feeds_folders_and_mark_all_as_read(
    demo: tuple[Settings, Pipeline, TestClient],
) -> None:
    _settings, pipeline, client = demo
    alice = Reader(client, "alice", "alice-pw")
    subscriptions = alice.json("/subscription/list")["subscriptions"]
    per_feed = {s["id"]: alice.stream(s["id"]) for s in subscriptions}
    # every story is shown in exactly one feed
    assert sum(len(v) for v in per_feed.values()) == len(alice.stream())
    counts = {c["id"]: c["count"] for c in alice.json("/unread-count")["unreadcounts"]}
    for feed, items in per_feed.items():
        assert counts.get(feed, 0) == len(items)
        assert all(i["origin"]["streamId"] == feed for i in items)
    feed, items = max(per_feed.items(), key=lambda kv: len(kv[1]))
    before = alice.unread()
    # older than the newest of the feed: all but the newest
    newest = max(int(i["timestampUsec"]) for i in items)
    alice.post("/mark-all-as-read", [("s", feed), ("ts", str(newest))])
    left = alice.stream(feed, xt=READ)
    assert all(int(i["timestampUsec"]) >= newest for i in left) and left
    alice.post("/mark-all-as-read", [("s", feed)])
    assert alice.stream(feed, xt=READ) == []
    assert alice.unread() == before - len(items)
    # a folder (label) stream: its feeds' stories
    labelled = [s for s in subscriptions if s["categories"]]
    if labelled:
        label = labelled[0]["categories"][0]["id"]
        in_label = {i["id"] for i in alice.stream(label)}
        expected = {
            i["id"]
            for s in subscriptions
            if s["categories"] and s["categories"][0]["id"] == label
            for i in per_feed[s["id"]]
        }
        assert in_label == expected
    # subscription/edit: rename, move to a folder, unsubscribe
    other = next(s["id"] for s in subscriptions if s["id"] != feed)
    alice.post(
        "/subscription/edit",
        [("ac", "edit"), ("s", other), ("t", "Renamed"), ("a", "user/-/label/Mine")],
    )
    edited = next(s for s in alice.json("/subscription/list")["subscriptions"] if s["id"] == other)
    assert edited["title"] == "Renamed" and edited["categories"][0]["label"] == "Mine"
    assert len(alice.stream("user/-/label/Mine")) == len(per_feed[other])
    alice.post("/subscription/edit", [("ac", "unsubscribe"), ("s", other)])
    assert other not in {s["id"] for s in alice.json("/subscription/list")["subscriptions"]}
    # quickadd a new address: subscribed for alice alone
    added = client.post(
        API + "/subscription/quickadd",
        content=_form([("quickadd", "https://example.org/new.xml"), ("T", alice.t)]),
        headers=alice._form_headers(),
    ).json()
    assert added["numResults"] == 1 and added["streamId"].startswith("feed/")
    assert added["streamId"] in {s["id"] for s in alice.json("/subscription/list")["subscriptions"]}
    bob = Reader(client, "bob", "bob-pw")
    assert added["streamId"] not in {
        s["id"] for s in bob.json("/subscription/list")["subscriptions"]
    }


def test_one_user_never_sees_or_changes_anothers_state(
    demo: tuple[Settings, Pipeline, TestClient],
) -> None:
    _settings, _pipeline, client = demo
    alice, bob = Reader(client, "alice", "alice-pw"), Reader(client, "bob", "bob-pw")
    total = bob.unread()
    items = alice.stream()
    alice.post("/edit-tag", [*(("i", i["id"]) for i in items[:4]), ("a", READ)])
    alice.post("/edit-tag", [("i", items[5]["id"]), ("a", STARRED)])
    assert alice.unread() == total - 4
    assert bob.unread() == total
    assert bob.stream(STARRED) == [] and bob.stream(it=READ) == []
    # bob marking unread what alice read changes nothing for alice
    bob.post("/edit-tag", [*(("i", i["id"]) for i in items[:4]), ("r", READ)])
    assert alice.unread() == total - 4
    bob.post("/mark-all-as-read", [("s", READING_LIST)])
    assert bob.unread() == 0 and alice.unread() == total - 4
    # bob's unsubscribing does not touch alice's subscriptions
    feed = bob.json("/subscription/list")["subscriptions"][0]["id"]
    bob.post("/subscription/edit", [("ac", "unsubscribe"), ("s", feed)])
    assert feed in {s["id"] for s in alice.json("/subscription/list")["subscriptions"]}


def _copy_feed(root: Path, storage: Storage, cluster_member_link: str) -> str:
    """A new feed carrying a later copy of the story whose item has this link."""
    item = next(i for i in storage.list_items(with_content=True) if i.link == cluster_member_link)
    path = root / "later-copy.xml"
    from xml.sax.saxutils import escape

    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        "<title>Later copies</title><link>https://later.example/</link>"
        "<description>copies</description><item>"
        f"<title>{escape(item.title or '')}</title>"
        "<link>https://later.example/a-later-copy</link><guid>later-copy-1</guid>"
        "<pubDate>Mon, 01 Jan 2035 10:00:00 GMT</pubDate>"
        f"<description>{escape(item.content_html)}</description>"
        "</item></channel></rss>\n"
    )
    return str(path)


def test_a_later_copy_arrives_read_and_canonical_changes_do_not_unread(
    demo: tuple[Settings, Pipeline, TestClient], tmp_path: Path
) -> None:
    _settings, pipeline, client = demo
    alice = Reader(client, "alice", "alice-pw")
    storage = pipeline.storage
    story = max(storage.list_clusters(min_size=2), key=lambda c: c.size)
    canonical = next(m for m in story.members if m.id == story.canonical_item_id)
    alice.post("/edit-tag", [("i", str(canonical.id)), ("a", READ)])
    before = alice.unread()
    url = _copy_feed(tmp_path, storage, canonical.link or "")
    storage.add_feed(FeedSpec(url=url, priority=50))  # its copy would win as canonical
    pipeline.poll()
    grown = storage.get_cluster(story.id)
    assert grown is not None and grown.size == story.size + 1  # the copy joined the story
    # ... and won as the canonical copy (else this test no longer covers that case)
    assert grown.canonical_item_id != story.canonical_item_id
    assert grown.canonical_item_id == max(m.id for m in grown.members)
    assert alice.unread() == before  # ... and arrived read
    shown = [
        i for i in alice.stream() if parse_item_id(i["id"]) == min(m.id for m in story.members)
    ]
    assert len(shown) == 1 and READ in shown[0]["categories"]
    # The shown copy carries no mark of its own (it came after): the pages filtered on
    # read state find the story read through its other copies all the same.
    story_id = min(m.id for m in story.members)
    assert story_id not in {parse_item_id(i["id"]) for i in alice.stream(xt=READ)}
    assert story_id in {parse_item_id(i["id"]) for i in alice.stream(READ)}
    ids = alice.json("/stream/items/ids", s=READING_LIST, xt=READ, n=1000)["itemRefs"]
    assert str(story_id) not in {ref["id"] for ref in ids}


def _read_story_with_a_later_copy(
    demo: tuple[Settings, Pipeline, TestClient], tmp_path: Path
) -> tuple[Reader, Reader, Any, int]:
    """alice reads and stars a story (bob does not); then a copy joins it from a new
    feed, after the marks: the story, and the later copy's id."""
    _settings, pipeline, client = demo
    alice, bob = Reader(client, "alice", "alice-pw"), Reader(client, "bob", "bob-pw")
    storage = pipeline.storage
    story = max(storage.list_clusters(min_size=2), key=lambda c: c.size)
    first = min(m.id for m in story.members)
    alice.post("/edit-tag", [("i", str(first)), ("a", READ), ("a", STARRED)])
    canonical = next(m for m in story.members if m.id == story.canonical_item_id)
    storage.add_feed(FeedSpec(url=_copy_feed(tmp_path, storage, canonical.link or "")))
    pipeline.poll()
    grown = storage.get_cluster(story.id)
    assert grown is not None and grown.size == story.size + 1
    later = max(m.id for m in grown.members)
    assert later not in {m.id for m in story.members}
    return alice, bob, story, later


def _shown(reader: Reader, *story_ids: int) -> dict[int | None, list[str]]:
    """The categories of these stories in the reader's reading list, by story id."""
    return {
        parse_item_id(i["id"]): i["categories"]
        for i in reader.stream()
        if parse_item_id(i["id"]) in story_ids
    }


def test_a_split_gives_both_parts_the_state_of_the_story(
    demo: tuple[Settings, Pipeline, TestClient], tmp_path: Path
) -> None:
    """README: "after a split each part keeps the state the story had", also for the part
    made of a copy that joined after the story was read (it carries no mark itself)."""
    _settings, pipeline, _client = demo
    alice, bob, story, later = _read_story_with_a_later_copy(demo, tmp_path)
    first = min(m.id for m in story.members)
    alice_unread, bob_unread = alice.unread(), bob.unread()
    assert alice_unread == bob_unread - 1  # alice has read one story: this one
    pipeline.split_item(later)
    parts = _shown(alice, first, later)
    assert set(parts) == {first, later}  # two stories now ...
    for categories in parts.values():  # ... both read and starred for alice
        assert READ in categories and STARRED in categories
    assert alice.unread() == alice_unread
    # bob had read nothing: both parts are unread for him, one more unread story
    assert all(READ not in c and STARRED not in c for c in _shown(bob, first, later).values())
    assert bob.unread() == bob_unread + 1
    # the part split out is a story of its own: unread, it leaves the other one read
    alice.post("/edit-tag", [("i", str(later)), ("r", READ)])
    parts = _shown(alice, first, later)
    assert READ in parts[first] and READ not in parts[later]


def test_removing_the_feeds_of_the_read_copies_leaves_the_later_copy_read(
    demo: tuple[Settings, Pipeline, TestClient], tmp_path: Path
) -> None:
    _settings, pipeline, _client = demo
    alice, bob, story, later = _read_story_with_a_later_copy(demo, tmp_path)
    assert alice.unread() == bob.unread() - 1  # alice has read one story: this one
    for feed_id in {m.feed_id for m in story.members}:
        pipeline.storage.remove_feed(feed_id)
    shown = _shown(alice, later)  # the story left, of the later copy alone ...
    assert READ in shown[later] and STARRED in shown[later]  # ... is still read for alice
    assert alice.unread() == bob.unread() - 1
    assert READ not in _shown(bob, later)[later]


def test_read_state_follows_a_merge_and_a_split(
    demo: tuple[Settings, Pipeline, TestClient],
) -> None:
    _settings, pipeline, client = demo
    alice = Reader(client, "alice", "alice-pw")
    storage = pipeline.storage
    a, b = sorted(storage.list_clusters(min_size=1), key=lambda c: c.id)[:2]
    a_id, b_id = min(m.id for m in a.members), min(m.id for m in b.members)
    alice.post("/edit-tag", [("i", str(b_id)), ("a", READ)])
    before = alice.unread()
    pipeline.merge_clusters(a.id, b.id)
    # one story now, read (b was), under the first item's id; b's id still resolves
    merged = [i for i in alice.stream() if parse_item_id(i["id"]) in (a_id, b_id)]
    assert len(merged) == 1 and READ in merged[0]["categories"]
    assert parse_item_id(merged[0]["id"]) == min(a_id, b_id)
    assert alice.unread() == before - 1
    alice.post("/edit-tag", [("i", str(b_id)), ("r", READ)])  # the id of the merged-away story
    assert alice.unread() == before
    alice.post("/edit-tag", [("i", str(a_id)), ("a", READ)])
    # a split: each part keeps the state it had as one story
    cluster_id = storage.list_items(item_ids=[a_id])[0].cluster_id
    assert cluster_id is not None
    joined = storage.get_cluster(cluster_id)
    assert joined is not None
    mover = max(m.id for m in joined.members)
    pipeline.split_item(mover)
    parts = {
        parse_item_id(i["id"]): i
        for i in alice.stream()
        if parse_item_id(i["id"]) in (a_id, b_id, mover)
    }
    assert mover in parts and len(parts) == 2
    assert all(READ in i["categories"] for i in parts.values())


def test_atom_stream_carries_google_reader_categories(
    demo: tuple[Settings, Pipeline, TestClient],
) -> None:
    _settings, _pipeline, client = demo
    alice = Reader(client, "alice", "alice-pw")
    first = alice.stream()[0]
    alice.post("/edit-tag", [("i", first["id"]), ("a", READ)])
    feed = first["origin"]["streamId"]
    from urllib.parse import quote

    body = client.get(
        f"/api/greader/reader/atom/{quote(feed, safe='')}",
        params={"n": 100},
        headers=alice.headers,
    )
    assert body.status_code == 200 and body.headers["content-type"].startswith(
        "application/atom+xml"
    )
    import feedparser

    parsed = feedparser.parse(body.text)
    entries = {e.id: e for e in parsed.entries}
    assert first["id"] in entries
    labels = {t.get("label") for t in entries[first["id"]].tags}
    assert "read" in labels
    assert all(
        "fresh" in {t.get("label") for t in e.tags} for k, e in entries.items() if k != first["id"]
    )


@pytest.fixture
def empty(database_url: str) -> Iterator[tuple[Storage, TestClient]]:
    """The API on a database with no feed yet, its fetch policy the default one but for
    10.1.2.0/24, which the operator allows."""
    settings = settings_from_mapping(
        {"database": database_url, "fetch": {"allow_networks": ["10.1.2.0/24"]}}, None
    )
    storage = Storage(database_url)
    storage.add_reader("alice", hash_password("alice-pw"))
    with web_client(create_app(storage, settings)) as client:
        yield storage, client
    storage.close()


PRIVATE = [
    "http://127.0.0.1:8080/feed.xml",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/feed",
    "http://[::ffff:127.0.0.1]/feed",
    "http://2130706433/feed",  # 127.0.0.1 as one number
    "http://localhost/feed",
]


def test_subscribing_refuses_a_private_address_as_the_web_form_does(
    empty: tuple[Storage, TestClient],
) -> None:
    """quickadd and subscription/edit ac=subscribe vet a new address with the fetch
    policy's rule for feeds from outside: quickadd answers no result and the reason, edit
    a 400 naming the stream, as for any other bad stream; nothing is stored."""
    storage, client = empty
    alice = Reader(client, "alice", "alice-pw")

    def quickadd(url: str) -> Any:
        answer = client.post(
            API + "/subscription/quickadd",
            content=_form([("quickadd", url), ("T", alice.t)]),
            headers=alice._form_headers(),
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    for url in PRIVATE:
        refused = quickadd(url)
        assert refused["numResults"] == 0 and refused["query"] == url
        assert "refused by the fetch policy" in refused["error"], refused
        assert "not a public address" in refused["error"]
        edited = client.post(
            API + "/subscription/edit",
            content=_form([("ac", "subscribe"), ("s", f"feed/{url}"), ("T", alice.t)]),
            headers=alice._form_headers(),
        )
        assert edited.status_code == 400, (url, edited.text)
        message = edited.json()["error"]["message"]
        assert message.startswith("s: refused by the fetch policy") and url in message
    assert quickadd("file:///etc/passwd")["numResults"] == 0  # as before: not http(s)
    not_a_feed = client.post(
        API + "/subscription/edit",
        content=_form([("ac", "subscribe"), ("s", "feed/file:///etc/passwd"), ("T", alice.t)]),
        headers=alice._form_headers(),
    )
    assert not_a_feed.status_code == 400 and set(not_a_feed.json()) == {"error"}
    assert set(not_a_feed.json()["error"]) == set(edited.json()["error"])  # the same shape
    assert storage.list_feeds() == []
    assert alice.json("/subscription/list")["subscriptions"] == []
    # What the operator allows, and public addresses, are subscribed to.
    for url in ("http://10.1.2.3/feed.xml", "https://news.invalid/feed.xml"):
        added = quickadd(url)
        assert added["numResults"] == 1, added
    assert alice.post(
        "/subscription/edit", [("ac", "subscribe"), ("s", "feed/https://other.invalid/f")]
    )
    assert sorted(f.url for f in storage.list_feeds()) == [
        "http://10.1.2.3/feed.xml",
        "https://news.invalid/feed.xml",
        "https://other.invalid/f",
    ]
    # A private feed the operator configured is already fetched: a reader may follow it.
    storage.add_feed(FeedSpec(url="http://127.0.0.1:8080/feed.xml"))
    assert quickadd("http://127.0.0.1:8080/feed.xml")["numResults"] == 1
