"""The Fever API as Fever clients speak it (``?api``, ``api_key`` = md5("name:password")),
over real HTTP (Starlette's TestClient) on the polled demo, on SQLite and PostgreSQL: one
item per story, read and saved per story and per user, the same state as the Google
Reader API's."""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from aggregator.cli.users import users_add
from aggregator.config import Settings, load_settings
from aggregator.ingest.pipeline import Pipeline
from aggregator.publish import fever
from aggregator.publish.accounts import digest, fever_api_key, hash_password
from aggregator.publish.app import create_app
from aggregator.storage import Storage
from aggregator.types import FeedSpec
from tests.helpers import web_client
from tests.test_greader import Reader, _copy_feed
from tests.test_publish_demo import demo_config

URL = "/api/fever/"


class Fever:
    """One Fever client: its key, sent as a form field as the clients do."""

    def __init__(self, client: TestClient, name: str, password: str) -> None:
        self.client = client
        self.key = fever_api_key(name, password)

    def call(self, *flags: str, **fields: Any) -> dict[str, Any]:
        query = "api&" + "&".join(flags)
        response = self.client.post(f"{URL}?{query}", data={"api_key": self.key, **fields})
        assert response.status_code == 200, (flags, response.status_code, response.text)
        body: dict[str, Any] = response.json()
        assert body["api_version"] == 3 and body["auth"] == 1
        assert isinstance(body["last_refreshed_on_time"], int)
        return body

    def items(self, **params: Any) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        response = self.client.post(f"{URL}?api&items&{query}", data={"api_key": self.key})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def everything(self) -> list[dict[str, Any]]:
        """Every story, paging upwards with since_id."""
        out: list[dict[str, Any]] = []
        since = 0
        while True:
            page = self.items(since_id=since)
            if not page:
                return out
            out += page
            since = page[-1]["id"]

    def unread(self) -> list[int]:
        return _ids(self.call("unread_item_ids")["unread_item_ids"])

    def saved(self) -> list[int]:
        return _ids(self.call("saved_item_ids")["saved_item_ids"])

    def mark(self, kind: str, action: str, ident: int, **extra: Any) -> dict[str, Any]:
        return self.call(mark=kind, **{"as": action}, id=str(ident), **extra)


def _ids(text: str) -> list[int]:
    return [int(i) for i in text.split(",") if i]


@pytest.fixture
def demo(tmp_path: Path, database_url: str) -> Iterator[tuple[Settings, Pipeline, TestClient]]:
    settings = load_settings(demo_config(tmp_path), env={"AGGREGATOR_DATABASE_URL": database_url})
    pipeline = Pipeline(Storage(settings.database), settings, keep_lease=False)
    pipeline.poll()
    storage = pipeline.storage
    for name in ("alice", "bob"):
        password = f"{name}-pw"
        storage.add_reader(name, hash_password(password), digest(fever_api_key(name, password)))
    storage.add_reader("carol", hash_password("carol-pw"))  # no --fever
    with web_client(create_app(storage, settings)) as client:
        yield settings, pipeline, client
    storage.close()


def _story_ids(storage: Storage) -> dict[int, Any]:
    """Story id (first item id) -> cluster."""
    return {min(m.id for m in c.members): c for c in storage.list_clusters(min_size=1)}


def test_every_call_refuses_a_missing_or_wrong_key(
    demo: tuple[Settings, Pipeline, TestClient],
) -> None:
    _settings, pipeline, client = demo
    storage = pipeline.storage
    flags = [
        "",
        "groups",
        "feeds",
        "favicons",
        "items",
        "links",
        "unread_item_ids",
        "saved_item_ids",
        "mark=item&as=read&id=1",
        "mark=group&as=read&id=0",
    ]
    keys: list[dict[str, str]] = [
        {},
        {"api_key": ""},
        {"api_key": "0" * 32},
        {"api_key": fever_api_key("alice", "wrong")},
        {"api_key": fever_api_key("carol", "carol-pw")},  # a user without --fever
        {"api_key": digest(fever_api_key("alice", "alice-pw"))},  # the stored form
    ]
    for flag in flags:
        for key in keys:
            for method in ("GET", "POST"):
                if method == "GET":
                    response = client.get(f"{URL}?api&{flag}", params=key)
                else:
                    response = client.post(f"{URL}?api&{flag}", data=key)
                assert response.status_code == 401, (method, flag, key)
                assert response.json() == {"api_version": 3, "auth": 0}
    # nothing was marked
    assert Fever(client, "alice", "alice-pw").unread() == sorted(_story_ids(storage))
    # The key works in the query string and in either case, at /api/fever too.
    good = fever_api_key("alice", "alice-pw")
    assert client.get(URL, params={"api": "", "api_key": good.upper()}).json()["auth"] == 1
    assert client.post("/api/fever?api", data={"api_key": good}).json()["auth"] == 1
    # Revoked: the key stops working (and the Google Reader tokens with it).
    alice = Fever(client, "alice", "alice-pw")
    alice.call()
    assert storage.revoke_reader_tokens("alice") == 0
    assert client.post(URL + "?api", data={"api_key": alice.key}).status_code == 401
    assert not next(u for u in storage.list_readers() if u.name == "alice").fever
    # A new password without --fever: bob's old key stops working; removed: so does the new.
    bob = Fever(client, "bob", "bob-pw")
    bob.call()
    storage.set_reader_password("bob", hash_password("bob-new"), None)
    assert client.post(URL + "?api", data={"api_key": bob.key}).status_code == 401
    new_key = fever_api_key("bob", "bob-new")
    storage.set_reader_password("bob", hash_password("bob-new"), digest(new_key))
    assert client.post(URL + "?api", data={"api_key": new_key}).json()["auth"] == 1
    assert storage.remove_reader("bob")
    assert client.post(URL + "?api", data={"api_key": new_key}).status_code == 401


def test_users_add_fever_stores_a_key_the_api_accepts(
    demo: tuple[Settings, Pipeline, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _pipeline, client = demo
    monkeypatch.setattr("sys.stdin", io.StringIO("dave's password\n"))
    assert users_add(argparse.Namespace(name="dave", fever=True), settings) == 0
    dave = Fever(client, "dave", "dave's password")
    assert dave.call()["auth"] == 1
    assert len(dave.everything()) == len(_story_ids(_pipeline.storage))


def test_groups_and_feeds(demo: tuple[Settings, Pipeline, TestClient]) -> None:
    _settings, pipeline, client = demo
    storage = pipeline.storage
    alice = Fever(client, "alice", "alice-pw")
    body = alice.call("groups", "feeds", "favicons", "links")
    feeds = storage.list_feeds()
    groups = {f.group for f in feeds if f.group}
    assert {g["title"] for g in body["groups"]} == groups
    assert all(g["id"] == fever.group_id(g["title"]) and g["id"] > 0 for g in body["groups"])
    by_title = {g["title"]: g["id"] for g in body["groups"]}
    expected = {by_title[g]: sorted(f.id for f in feeds if f.group == g) for g in groups}
    got = {fg["group_id"]: _ids(fg["feed_ids"]) for fg in body["feeds_groups"]}
    assert got == expected
    assert [f["id"] for f in body["feeds"]] == [f.id for f in feeds]
    for entry in body["feeds"]:
        assert set(entry) == {
            "id",
            "favicon_id",
            "title",
            "url",
            "site_url",
            "is_spark",
            "last_updated_on_time",
        }
        assert entry["is_spark"] == 0 and entry["title"] and entry["last_updated_on_time"] > 0
    assert body["favicons"] == [] and body["links"] == []
    assert body["last_refreshed_on_time"] == max(f["last_updated_on_time"] for f in body["feeds"])
    # Without the flags, none of it.
    plain = alice.call()
    assert not {"groups", "feeds", "feeds_groups", "items"} & set(plain)
    # A folder of the user's own is a group of theirs alone.
    user = storage.reader("alice")
    assert user is not None
    storage.reader_subscribe(user.id, feeds[0].id, folder="Mine")
    mine = alice.call("groups")
    assert "Mine" in {g["title"] for g in mine["groups"]}
    assert "Mine" not in {
        g["title"] for g in Fever(client, "bob", "bob-pw").call("groups")["groups"]
    }


def test_items_one_per_story_paged_by_id(
    demo: tuple[Settings, Pipeline, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    _settings, pipeline, client = demo
    storage = pipeline.storage
    stories = _story_ids(storage)
    alice = Fever(client, "alice", "alice-pw")
    # 50 a page: the demo's 50 stories on one page, the canonical copies.
    first = alice.call("items")
    assert first["total_items"] == len(stories) == 50
    assert len(first["items"]) == 50
    assert [i["id"] for i in first["items"]] == sorted(stories, reverse=True)  # newest id first
    canonical = {c.canonical_item_id: c for c in stories.values()}
    by_link = {m.link: m for c in stories.values() for m in c.members}
    for entry in first["items"]:
        assert set(entry) == {
            "id",
            "feed_id",
            "title",
            "author",
            "html",
            "url",
            "is_saved",
            "is_read",
            "created_on_time",
        }
        member = by_link[entry["url"]]
        assert member.id in canonical and stories[entry["id"]].id == canonical[member.id].id
        assert entry["feed_id"] == member.feed_id
        assert entry["is_read"] == 0 and entry["is_saved"] == 0
        assert entry["created_on_time"] > 0
    # The same ids as the Google Reader API's short form.
    greader = Reader(client, "alice", "alice-pw")
    refs = greader.json("/stream/items/ids", s="user/-/state/com.google/reading-list", n=1000)
    assert sorted(int(r["id"]) for r in refs["itemRefs"]) == sorted(stories)
    # Smaller pages: since_id upwards, max_id downwards, with_ids.
    monkeypatch.setattr(fever, "PAGE", 7)
    up = alice.everything()
    assert [i["id"] for i in up] == sorted(stories)
    assert len(alice.items(since_id=0)) == 7
    down: list[int] = []
    max_id = 0
    while True:
        page = alice.items(max_id=max_id)
        if not page:
            break
        assert len(page) <= 7
        down += [i["id"] for i in page]
        max_id = page[-1]["id"]
    assert down == sorted(stories, reverse=True)
    assert alice.items(since_id=max(stories)) == []
    middle = sorted(stories)[20]
    assert [i["id"] for i in alice.items(since_id=middle)] == sorted(stories)[21:28]
    assert [i["id"] for i in alice.items(max_id=middle)] == sorted(stories)[13:20][::-1]
    wanted = sorted(stories)[:3] + sorted(stories)[-2:]
    got = alice.items(with_ids=",".join(str(i) for i in wanted))
    assert [i["id"] for i in got] == wanted
    # A copy's item id names its story; at most PAGE ids are taken.
    story = next(c for c in stories.values() if c.size >= 2)
    copy = max(m.id for m in story.members)
    assert [i["id"] for i in alice.items(with_ids=str(copy))] == [min(m.id for m in story.members)]
    assert len(alice.items(with_ids=",".join(str(i) for i in sorted(stories)))) == 7
    bad = client.post(URL + "?api&items&since_id=x", data={"api_key": alice.key})
    assert bad.status_code == 400


def test_marks_belong_to_the_story(demo: tuple[Settings, Pipeline, TestClient]) -> None:
    _settings, pipeline, client = demo
    storage = pipeline.storage
    stories = _story_ids(storage)
    alice = Fever(client, "alice", "alice-pw")
    greader = Reader(client, "alice", "alice-pw")
    assert alice.unread() == sorted(stories) and alice.saved() == []
    story_id, story = next((i, c) for i, c in stories.items() if c.size >= 2)
    copy = next(m.id for m in story.members if m.id != story.canonical_item_id)
    # Mark a copy that is not the one shown: the story is read, and the answer says so.
    body = alice.mark("item", "read", copy)
    assert story_id not in _ids(body["unread_item_ids"])
    assert alice.unread() == sorted(set(stories) - {story_id})
    assert alice.items(with_ids=str(story_id))[0]["is_read"] == 1
    assert greader.unread() == len(stories) - 1  # the same state as the Google Reader API's
    alice.mark("item", "unread", story_id)
    assert alice.unread() == sorted(stories)
    body = alice.mark("item", "saved", copy)
    assert _ids(body["saved_item_ids"]) == [story_id] == alice.saved()
    assert alice.items(with_ids=str(story_id))[0]["is_saved"] == 1
    assert len(greader.stream("user/-/state/com.google/starred")) == 1
    alice.mark("item", "unsaved", story_id)
    assert alice.saved() == []
    # An id no story has changes nothing; a bad mark is refused.
    alice.mark("item", "read", 10**9)
    assert alice.unread() == sorted(stories)
    for fields in (
        {"mark": "item", "as": "starred", "id": str(story_id)},
        {"mark": "feed", "as": "unread", "id": "1"},
        {"mark": "thing", "as": "read", "id": "1"},
        {"mark": "item", "as": "read", "id": "x"},
    ):
        assert client.post(URL + "?api", data={"api_key": alice.key, **fields}).status_code == 400


def test_mark_feed_and_group_read_before_a_time(
    demo: tuple[Settings, Pipeline, TestClient],
) -> None:
    _settings, pipeline, client = demo
    alice = Fever(client, "alice", "alice-pw")
    everything = alice.everything()
    body = alice.call("groups", "feeds")
    feed = max(body["feeds"], key=lambda f: sum(i["feed_id"] == f["id"] for i in everything))
    in_feed = [i for i in everything if i["feed_id"] == feed["id"]]
    newest = max(i["created_on_time"] for i in in_feed)
    # before: only the stories older than it
    alice.mark("feed", "read", feed["id"], before=str(newest))
    unread = set(alice.unread())
    assert {i["id"] for i in in_feed if i["created_on_time"] < newest}.isdisjoint(unread)
    assert {i["id"] for i in in_feed if i["created_on_time"] >= newest} <= unread
    assert {i["id"] for i in everything if i["feed_id"] != feed["id"]} <= unread
    alice.mark("feed", "read", feed["id"], before="0")  # 0: no limit
    assert {i["id"] for i in in_feed}.isdisjoint(alice.unread())
    # a group: its feeds' stories
    groups = {fg["group_id"]: _ids(fg["feed_ids"]) for fg in body["feeds_groups"]}
    group, feed_ids = next((g, f) for g, f in groups.items() if feed["id"] not in f)
    later = max(i["created_on_time"] for i in everything) + 1
    alice.mark("group", "read", group, before=str(later))
    unread = set(alice.unread())
    assert {i["id"] for i in everything if i["feed_id"] in feed_ids}.isdisjoint(unread)
    assert unread == {
        i["id"] for i in everything if i["feed_id"] not in feed_ids and i["feed_id"] != feed["id"]
    }
    assert unread
    alice.mark("group", "read", 987654, before=str(later))  # no such group: nothing
    assert set(alice.unread()) == unread
    # group 0: every feed
    alice.mark("group", "read", 0, before=str(later))
    assert alice.unread() == []
    assert all(i["is_read"] == 1 for i in alice.everything())


def test_a_later_copy_of_a_read_story_arrives_read(
    demo: tuple[Settings, Pipeline, TestClient], tmp_path: Path
) -> None:
    _settings, pipeline, client = demo
    storage = pipeline.storage
    alice = Fever(client, "alice", "alice-pw")
    story = max(storage.list_clusters(min_size=2), key=lambda c: c.size)
    story_id = min(m.id for m in story.members)
    canonical = next(m for m in story.members if m.id == story.canonical_item_id)
    alice.mark("item", "read", canonical.id)
    before = alice.unread()
    url = _copy_feed(tmp_path, storage, canonical.link or "")
    storage.add_feed(FeedSpec(url=url, priority=50))  # its copy would win as canonical
    pipeline.poll()
    grown = storage.get_cluster(story.id)
    assert grown is not None and grown.size == story.size + 1
    assert alice.unread() == before  # the copy arrived read
    shown = alice.items(with_ids=str(story_id))
    assert len(shown) == 1 and shown[0]["id"] == story_id and shown[0]["is_read"] == 1
    later = max(m.id for m in grown.members)
    assert alice.items(with_ids=str(later))[0]["id"] == story_id
    assert len(alice.everything()) == len(storage.list_clusters(min_size=1))


def test_one_user_never_sees_or_changes_anothers_state(
    demo: tuple[Settings, Pipeline, TestClient],
) -> None:
    _settings, _pipeline, client = demo
    alice, bob = Fever(client, "alice", "alice-pw"), Fever(client, "bob", "bob-pw")
    everything = bob.unread()
    ids = alice.unread()
    for story_id in ids[:4]:
        alice.mark("item", "read", story_id)
    alice.mark("item", "saved", ids[5])
    assert alice.unread() == ids[4:] and alice.saved() == [ids[5]]
    assert bob.unread() == everything and bob.saved() == []
    assert all(i["is_read"] == 0 and i["is_saved"] == 0 for i in bob.everything())
    # bob's marks leave alice's state alone
    for story_id in ids[:4]:
        bob.mark("item", "unread", story_id)
    bob.mark("item", "unsaved", ids[5])
    bob.mark("group", "read", 0)
    assert bob.unread() == []
    assert alice.unread() == ids[4:] and alice.saved() == [ids[5]]
    # A feed bob no longer reads: its stories leave his items, and his marks miss them.
    user = _pipeline.storage.reader("bob")
    assert user is not None
    feed = bob.call("feeds")["feeds"][0]["id"]
    _pipeline.storage.reader_unsubscribe(user.id, feed)
    assert feed not in {i["feed_id"] for i in bob.everything()}
    assert feed in {f["id"] for f in alice.call("feeds")["feeds"]}
