"""Each membership's story columns (``story_id``: the cluster's lowest item id;
``canonical``: the cluster's canonical copy) stay right through decisions, splits,
merges, rebuilds and feed removal, on SQLite and PostgreSQL; the migration fills them
for a database that had memberships before; and the reader APIs' stories follow."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from aggregator.ingest.pipeline import Pipeline
from aggregator.publish.accounts import hash_password
from aggregator.storage import Storage
from aggregator.storage.migrate import alembic_config, upgrade_with_alembic
from aggregator.storage.readers import StoryQuery
from aggregator.types import Assignment, ClusterChanges, ClusterState
from tests.feeds import FOOTER, html, rss, story
from tests.helpers import check_consistency, clusters_by_guid, pipeline_for


def _feed(path: Path, items: list[tuple[str, str]]) -> Path:
    path.write_bytes(
        rss(
            path.stem,
            [
                {"guid": g, "title": g, "link": f"https://{path.stem}.example/{g}", "html": h}
                for g, h in items
            ],
        )
    )
    return path


def _network(tmp_path: Path) -> list[Path]:
    """Story 1 in three feeds, story 2 and 3 alone."""
    return [
        _feed(tmp_path / "a.xml", [("a1", html(story(1), FOOTER)), ("a2", html(story(2), FOOTER))]),
        _feed(
            tmp_path / "b.xml", [("b1", html(story(1)[1:], FOOTER)), ("b3", html(story(3), FOOTER))]
        ),
        _feed(tmp_path / "c.xml", [("c1", html(story(1), "<p>Sponsored by X</p>"))]),
    ]


def _stamps(url: str) -> dict[int, tuple[int, int, bool]]:
    """``item -> (cluster, story_id, canonical)`` as stored."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT item_id, cluster_id, story_id, canonical FROM memberships")
            ).all()
    finally:
        engine.dispose()
    return {int(i): (int(c), int(s), bool(k)) for i, c, s, k in rows}


def _expected(storage: Storage) -> dict[int, tuple[int, int, bool]]:
    """What the rule says, from the items and clusters as the storage reads them."""
    members: dict[int, list[int]] = {}
    for item in storage.list_items():
        assert item.cluster_id is not None
        members.setdefault(item.cluster_id, []).append(item.id)
    canonical = {c.id: c.canonical_item_id for c in storage.list_clusters(min_size=1)}
    return {
        item_id: (cluster_id, min(ids), item_id == canonical[cluster_id])
        for cluster_id, ids in members.items()
        for item_id in ids
    }


def check_stories(pipeline: Pipeline, url: str) -> None:
    """The stored story columns follow the rule, and a reader sees each cluster once, as
    its canonical item under its lowest item id."""
    check_consistency(pipeline)
    storage = pipeline.storage
    assert _stamps(url) == _expected(storage)
    user = storage.reader("story-check") or storage.add_reader("story-check", hash_password("x"))
    assert user is not None
    seen = sorted(
        (r.cluster_id, r.story_id, r.item_id)
        for r in storage.reader_stories(user.id, StoryQuery(), None)
    )
    clusters = storage.list_clusters(min_size=1)
    assert seen == sorted(
        (c.id, min(m.id for m in c.members), c.canonical_item_id) for c in clusters
    )


def _item(pipeline: Pipeline, guid: str) -> int:
    return next(i.id for i in pipeline.storage.list_items() if i.guid == guid)


def test_story_ids_follow_split_merge_and_rebuild(tmp_path: Path, database_url: str) -> None:
    feeds = _network(tmp_path)
    pipeline = pipeline_for(database_url, feeds)
    pipeline.poll()
    clusters = clusters_by_guid(pipeline)
    assert clusters["a1"] == clusters["b1"] == clusters["c1"]
    check_stories(pipeline, database_url)
    first = min(_item(pipeline, g) for g in ("a1", "b1", "c1"))

    # Splitting the story's first item out: it keeps its id, the copies left behind
    # take their own lowest id (whether they still form one story is the engine's call).
    pipeline.split_item(first)
    check_stories(pipeline, database_url)
    stamps = _stamps(database_url)
    assert stamps[first][1] == first
    others = [_item(pipeline, g) for g in ("a1", "b1", "c1") if _item(pipeline, g) != first]
    assert all(stamps[i][1] != first for i in others)

    # Merging two single stories: both items carry the lower id.
    clusters = clusters_by_guid(pipeline)
    a2, b3 = clusters["a2"], clusters["b3"]
    assert a2 is not None and b3 is not None and a2 != b3
    pipeline.merge_clusters(a2, b3)
    check_stories(pipeline, database_url)
    stamps = _stamps(database_url)
    low = min(_item(pipeline, "a2"), _item(pipeline, "b3"))
    assert stamps[_item(pipeline, "a2")][1] == stamps[_item(pipeline, "b3")][1] == low

    # A rebuild renumbers clusters; the story ids stay what they were.
    before = {item: stamp[1] for item, stamp in _stamps(database_url).items()}
    pipeline.rebuild(dry_run=False)
    check_stories(pipeline, database_url)
    assert {item: stamp[1] for item, stamp in _stamps(database_url).items()} == before
    assert _stamps(database_url)[first][1] == first


def test_story_ids_follow_feed_removal(tmp_path: Path, database_url: str) -> None:
    feeds = _network(tmp_path)
    pipeline = pipeline_for(database_url, feeds)
    pipeline.poll()
    first = min(_item(pipeline, g) for g in ("a1", "b1", "c1"))
    owner = next(i.feed_url for i in pipeline.storage.list_items() if i.id == first)
    assert pipeline.storage.remove_feed(owner) is not None
    check_stories(pipeline, database_url)
    left = [i.id for i in pipeline.storage.list_items() if i.guid in ("a1", "b1", "c1")]
    assert {_stamps(database_url)[i][1] for i in left} == {min(left)}


def test_a_later_copy_with_a_lower_id_restamps_the_story(tmp_path: Path, database_url: str) -> None:
    """Decisions are not only appends: an edited or re-decided item can join a story
    that already has members, and the story id is the lowest of them all."""
    feeds = _network(tmp_path)
    pipeline = pipeline_for(database_url, feeds[:1])
    pipeline.poll()  # a1 and a2 first: the lowest ids
    later = pipeline_for(database_url, feeds)
    later.poll()
    check_stories(later, database_url)
    story = [_item(later, g) for g in ("a1", "b1", "c1")]
    assert {_stamps(database_url)[i][1] for i in story} == {min(story)}


def test_the_migration_fills_the_story_columns(tmp_path: Path, database_url: str) -> None:
    """A database at 0006 with decided items gets the right columns at 0007."""
    from alembic import command

    # Decide a network on a current database, then copy its rows into one built by the
    # migrations up to 0006 (the columns do not exist there).
    source_url = database_url
    feeds = _network(tmp_path)
    pipeline = pipeline_for(source_url, feeds)
    pipeline.poll()
    expected = _expected(pipeline.storage)
    engine = create_engine(source_url)
    tables = ("feeds", "items", "clusters", "memberships")
    with engine.connect() as connection:
        saved = {
            t: [dict(r._mapping) for r in connection.execute(text(f"SELECT * FROM {t}"))]
            for t in tables
        }
    with engine.begin() as connection:
        for table in ("reader_read", "reader_starred", "reader_subscriptions"):
            connection.execute(text(f"DELETE FROM {table}"))
        connection.execute(text("DELETE FROM undecided"))
        connection.execute(text("DELETE FROM corrections"))
        for table in reversed(tables):
            connection.execute(text(f"DELETE FROM {table}"))
    pipeline.storage.close()
    engine.dispose()

    old_url = str(tmp_path / "old.db")
    url = f"sqlite:///{old_url}" if source_url.startswith("sqlite") else source_url
    engine = create_engine(url)
    if url == source_url:  # PostgreSQL: the same (now empty) database, rebuilt at 0006
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    with engine.begin() as connection:
        for table in tables:
            # Only the columns the table had at 0006 (later revisions add some).
            known = {c["name"] for c in inspect(connection).get_columns(table)}
            assert "story_id" not in known
            rows = [{k: v for k, v in row.items() if k in known} for row in saved[table]]
            if rows:
                names = ", ".join(rows[0])
                values = ", ".join(f":{k}" for k in rows[0])
                connection.execute(text(f"INSERT INTO {table} ({names}) VALUES ({values})"), rows)
    assert upgrade_with_alembic(engine) is not None
    engine.dispose()
    assert _stamps(url) == expected


def test_a_decision_naming_only_the_new_member_restamps_the_others(
    tmp_path: Path, database_url: str
) -> None:
    """A decision may assign only the item that moved and state the cluster's new size and
    canonical copy: the members it does not name are restamped from the database."""
    pipeline = pipeline_for(database_url, _network(tmp_path))
    pipeline.poll()
    storage = pipeline.storage
    clusters = clusters_by_guid(pipeline)
    story, alone = clusters["a1"], clusters["b3"]
    assert story is not None and alone is not None and story != alone
    mover = _item(pipeline, "b3")
    storage.apply_cluster_changes(
        ClusterChanges(
            assignments=(Assignment(mover, story, "manual", 1.0),),
            clusters=(ClusterState(story, canonical_item_id=mover, size=4, feed_count=3),),
            deleted_clusters=(alone,),
        )
    )
    stamps = _stamps(database_url)
    assert stamps == _expected(storage)
    members = [_item(pipeline, g) for g in ("a1", "b1", "c1", "b3")]
    assert {stamps[i][1] for i in members} == {min(members)}
    assert [i for i in members if stamps[i][2]] == [mover]
