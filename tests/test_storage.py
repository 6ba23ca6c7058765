"""Storage on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from aggregator.errors import StorageError
from aggregator.storage import Storage
from aggregator.storage.models import Item
from aggregator.types import Assignment, CleanItem, ClusterChanges, ClusterState, FeedSpec


def _item(entry_id: str, text: str = "Some words of a story", **over: object) -> CleanItem:
    values: dict[str, object] = dict(
        entry_id=entry_id,
        guid=entry_id,
        link=f"https://example.com/{entry_id}",
        canonical_link=f"https://example.com/{entry_id}",
        title=f"Title {entry_id}",
        author=None,
        published=datetime(2026, 11, 20, 12, tzinfo=UTC),
        updated=None,
        content_html=f"<p>{text}</p>",
        text=text,
        is_summary=False,
        revision=f"r-{text}",
    )
    values.update(over)
    return CleanItem(**values)  # type: ignore[arg-type]


def test_feeds_sync_add_remove(storage: Storage) -> None:
    storage.sync_feeds(
        [
            FeedSpec("https://a.example/feed", name="A", group="g", priority=2),
            FeedSpec("https://b.example/feed"),
        ]
    )
    feeds = {f.url: f for f in storage.list_feeds()}
    assert set(feeds) == {"https://a.example/feed", "https://b.example/feed"}
    assert (feeds["https://a.example/feed"].name, feeds["https://a.example/feed"].priority) == (
        "A",
        2,
    )
    # syncing again with a changed name updates, never duplicates
    storage.sync_feeds([FeedSpec("https://a.example/feed", name="A2")])
    assert [f.name for f in storage.list_feeds() if f.url.startswith("https://a")] == ["A2"]
    view, created = storage.add_feed(FeedSpec("https://c.example/feed"))
    assert created and view.url == "https://c.example/feed"
    assert storage.add_feed(FeedSpec("https://c.example/feed"))[1] is False
    assert storage.remove_feed("https://c.example/feed") == 0
    assert storage.remove_feed("https://nope.example/") is None
    assert len(storage.list_feeds()) == 2


def test_save_items_is_idempotent_and_detects_edits(storage: Storage) -> None:
    storage.sync_feeds([FeedSpec("https://a.example/feed")])
    feed_id = storage.list_feeds()[0].id
    first = storage.save_items(feed_id, [_item("1"), _item("2")])
    assert [s.status for s in first] == ["new", "new"]
    again = storage.save_items(feed_id, [_item("1"), _item("2")])
    assert [s.status for s in again] == ["unchanged", "unchanged"]
    assert [s.item_id for s in again] == [s.item_id for s in first]
    edited = storage.save_items(feed_id, [_item("1", text="Corrected words of a story")])
    assert edited[0].status == "updated" and edited[0].item_id == first[0].item_id
    items = storage.list_items(with_content=True)
    assert len(items) == 2
    assert {i.text for i in items} == {"Corrected words of a story", "Some words of a story"}


def test_an_item_listed_again_by_another_feed_is_found_relisted(storage: Storage) -> None:
    """Same link and text in a later item of another feed: relisted (a category feed's
    listing).  Another text under that link (a partner's copy with its own footer), the
    same listing in the same feed, or the first listing itself: not relisted."""
    storage.sync_feeds([FeedSpec(f"https://{n}.example/feed") for n in "abc"])
    a, b, c = sorted(f.id for f in storage.list_feeds())
    link = {"link": "https://news.example/1", "canonical_link": "https://news.example/1"}
    [first] = storage.save_items(a, [_item("1", **link)])
    [same_feed] = storage.save_items(a, [_item("2", **link)])
    [again] = storage.save_items(b, [_item("x", **link)])
    [partner] = storage.save_items(
        c, [_item("y", text="Some words of a story. Our footer", **link)]
    )
    [elsewhere] = storage.save_items(c, [_item("z")])
    ids = [first.item_id, again.item_id, partner.item_id, same_feed.item_id, elsewhere.item_id]
    assert storage.relisted(ids) == {again.item_id}
    assert storage.relisted([]) == set()


def test_markup_only_change_refreshes_html_without_redeciding(storage: Storage) -> None:
    storage.sync_feeds([FeedSpec("https://a.example/feed")])
    feed_id = storage.list_feeds()[0].id
    (first,) = storage.save_items(feed_id, [_item("1")])
    restyled = _item("1", content_html="<p>Some words of a <b>story</b></p>", revision="r-2")
    (again,) = storage.save_items(feed_id, [restyled])
    # The text, title, link and dates are the same: nothing to fingerprint again.
    assert (again.status, again.item_id) == ("unchanged", first.item_id)
    (view,) = storage.list_items(with_content=True)
    assert view.content_html == "<p>Some words of a <b>story</b></p>"
    retitled = _item("1", title="A new title", revision="r-3")
    assert storage.save_items(feed_id, [retitled])[0].status == "updated"


def test_unit_commits_all_its_calls_or_none(storage: Storage) -> None:
    storage.sync_feeds([FeedSpec("https://a.example/feed")])
    feed_id = storage.list_feeds()[0].id
    with pytest.raises(RuntimeError), storage.unit():
        storage.save_items(feed_id, [_item("1")])
        storage.add_block_counts(feed_id, {"k" * 20: (1, "")}, 1)
        raise RuntimeError("the process dies here")
    assert storage.list_items() == [] and storage.block_counts() == []
    with storage.unit():
        storage.save_items(feed_id, [_item("1")])
        storage.add_block_counts(feed_id, {"k" * 20: (1, "")}, 1)
    assert len(storage.list_items()) == 1 and len(storage.block_counts()) == 1


def test_indexed_item_pages_are_indexed_items_in_order(storage: Storage) -> None:
    storage.sync_feeds([FeedSpec("https://a.example/feed")])
    feed_id = storage.list_feeds()[0].id
    same = datetime(2026, 11, 20, 12, 0, 0, 123456, tzinfo=UTC)  # ties on sort_time
    storage.save_items(
        feed_id,
        [
            _item(
                str(n),
                text=f"story {n} words",
                published=same if n % 3 else same + timedelta(hours=n),
            )
            for n in range(11)
        ],
    )
    whole = [i.item_id for i in storage.indexed_items()]
    paged = [i.item_id for page in storage.indexed_item_pages(page=2) for i in page]
    assert paged == whole and len(whole) == 11


def test_windowed_pages_hold_the_window_its_clusters_and_the_undecided(storage: Storage) -> None:
    storage.sync_feeds([FeedSpec("https://a.example/feed")])
    feed_id = storage.list_feeds()[0].id
    since = datetime(2026, 11, 20, tzinfo=UTC)
    # Twelve items a day apart around the window's start, in arrival order.
    saved = storage.save_items(
        feed_id,
        [_item(str(n), published=since + timedelta(days=n - 6, hours=n % 2)) for n in range(12)],
    )
    ids = [s.item_id for s in saved]
    with storage.engine.begin() as connection:  # all first seen before the window
        connection.execute(update(Item).values(first_seen=since - timedelta(days=30)))
    # Cluster 1: old items 0 and 1 with item 8 in the window; cluster 2: old items 2 and 3
    # alone; items 4 and 5 old and undecided; 6..11 in the window.
    assignments = [Assignment(ids[n], 1, "minhash", 0.9, ids[0]) for n in (0, 1, 8)]
    assignments += [Assignment(ids[n], 2, "minhash", 0.9, ids[2]) for n in (2, 3)]
    assignments += [Assignment(ids[n], 10 + n, "single", 1.0) for n in (6, 7, 9, 10, 11)]
    storage.apply_cluster_changes(
        ClusterChanges(
            assignments=tuple(assignments),
            clusters=(
                ClusterState(1, ids[0], 3, 1),
                ClusterState(2, ids[2], 2, 1),
                *(ClusterState(10 + n, ids[n], 1, 1) for n in (6, 7, 9, 10, 11)),
            ),
        ),
        fingerprints=[],
        scheme="s",
    )
    expected = [ids[n] for n in (0, 1, 4, 5, 6, 7, 8, 9, 10, 11)]
    for page in (1, 2, 3, 100):
        pages = list(storage.indexed_item_pages(since, page=page))
        assert all(len(rows) <= page for rows in pages)
        assert [i.item_id for rows in pages for i in rows] == expected
    assert [i.item_id for i in storage.indexed_items(since)] == expected


def test_times_round_trip_as_utc(storage: Storage) -> None:
    storage.sync_feeds([FeedSpec("https://a.example/feed")])
    feed_id = storage.list_feeds()[0].id
    published = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
    storage.save_items(feed_id, [_item("1", published=published)])
    (item,) = storage.list_items()
    assert item.published == published and item.published.tzinfo is not None
    future = datetime.now(UTC) + timedelta(days=300)
    storage.save_items(feed_id, [_item("2", published=future)])
    # a future date does not pin the item at the top of the window
    (info,) = [i for i in storage.indexed_items() if i.item_id != item.id]
    assert info.sort_time <= datetime.now(UTC)


def test_cluster_changes_and_views(storage: Storage) -> None:
    storage.sync_feeds([FeedSpec("https://a.example/feed"), FeedSpec("https://b.example/feed")])
    a, b = storage.list_feeds()
    (x,) = storage.save_items(a.id, [_item("x")])
    (y,) = storage.save_items(b.id, [_item("y")])
    storage.apply_cluster_changes(
        ClusterChanges(
            assignments=(
                Assignment(x.item_id, 7, "single", 1.0),
                Assignment(y.item_id, 7, "minhash", 0.82, x.item_id),
            ),
            clusters=(ClusterState(7, x.item_id, 2, 2),),
        ),
        fingerprints=[(x.item_id, "hash-x", b"\x01\x02"), (y.item_id, None, None)],
        scheme="test-scheme",
    )
    cluster = storage.get_cluster(7)
    assert cluster is not None and cluster.size == 2 and cluster.canonical_item_id == x.item_id
    assert [m.id for m in cluster.members][0] == x.item_id  # canonical first
    assert {m.method for m in cluster.members} == {"single", "minhash"}
    assert storage.max_cluster_id() == 7
    infos = {i.item_id: i for i in storage.indexed_items()}
    assert infos[x.item_id].fingerprint == b"\x01\x02"
    assert infos[y.item_id].matched_item_id == x.item_id
    assert storage.fingerprint_schemes() == {"test-scheme": 2}
    # removing a feed takes its items out of their cluster and re-picks the canonical
    assert storage.remove_feed("https://a.example/feed") == 1
    cluster = storage.get_cluster(7)
    assert cluster is not None and cluster.size == 1 and cluster.canonical_item_id == y.item_id


def test_block_counts_accumulate(storage: Storage) -> None:
    storage.sync_feeds([FeedSpec("https://a.example/feed")])
    feed_id = storage.list_feeds()[0].id
    storage.add_block_counts(feed_id, {"k1": (2, "read more"), "k2": (1, "share")}, 1)
    storage.add_block_counts(feed_id, {"k1": (1, "read more")}, 2)
    rows = {key: (items, day) for _, key, items, _, day in storage.block_counts()}
    assert rows == {"k1": (3, 2), "k2": (1, 1)}  # a row keeps the day it was last counted


def test_old_evidence_of_blocks_counted_once_is_forgotten(storage: Storage) -> None:
    storage.sync_feeds([FeedSpec("https://a.example/feed")])
    feed_id = storage.list_feeds()[0].id
    storage.add_block_counts(feed_id, {"old-once": (1, ""), "old-twice": (2, "")}, 5)
    storage.add_block_counts(feed_id, {"new-once": (1, "")}, 9)
    assert storage.forget_block_counts(2, 9, dry_run=True) == 1
    assert len(storage.block_counts()) == 3  # a dry run drops nothing
    assert storage.forget_block_counts(2, 9) == 1
    assert {key for _, key, _, _, _ in storage.block_counts()} == {"old-twice", "new-once"}


def test_locked_or_broken_database_is_a_storage_error(tmp_path: object) -> None:
    storage = Storage("sqlite:////nonexistent-dir/for/sure/x.db")
    with pytest.raises(StorageError, match="storage: unable to"):
        storage.upgrade()


def test_settings_round_trip(storage: Storage) -> None:
    assert storage.get_setting("k") is None
    storage.set_setting("k", "v1")
    storage.set_setting("k", "v2")
    assert storage.get_setting("k") == "v2"


def test_evidence_is_forgotten_a_batch_a_transaction(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aggregator.storage import evidence as evidence_storage

    monkeypatch.setattr(evidence_storage, "FORGET_BATCH", 2)
    storage.sync_feeds([FeedSpec("https://a.example/feed"), FeedSpec("https://b.example/feed")])
    a, b = (f.id for f in storage.list_feeds())
    storage.add_block_counts(a, {f"a{n}": (1, "") for n in range(3)}, 5)
    storage.add_block_counts(b, {f"b{n}": (1, "") for n in range(2)} | {"kept": (2, "")}, 5)
    assert storage.forget_block_counts(2, 9) == 5  # three batches: 2, 2 and 1
    assert [key for _, key, _, _, _ in storage.block_counts()] == ["kept"]
