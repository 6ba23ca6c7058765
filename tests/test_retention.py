"""Retention (issue 18, defect 14): old stories leave the database, and the decider's
engine with them; ``db prune`` and ``db vacuum``; the daemon prunes daily.

Time is made to pass by moving the stored arrival and publication times of items back
(what a database of items polled weeks ago holds); everything else is real: feed files or
a loopback HTTP feed, the pipeline, SQLite and PostgreSQL.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import yaml
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug import Request, Response

from aggregator.config import Settings, settings_from_mapping
from aggregator.daemon.roles import Decider as RoleDecider
from aggregator.daemon.scheduler import Daemon
from aggregator.ingest import retention
from aggregator.ingest.metrics import Metrics
from aggregator.ingest.pipeline import Pipeline
from aggregator.ingest.state import load_boilerplate
from aggregator.storage import Storage
from aggregator.storage.models import (
    BlockCount,
    Cluster,
    Correction,
    Item,
    Membership,
    ReaderRead,
    ReaderStarred,
)
from aggregator.types import PruneReport
from tests.feeds import html, rss, story
from tests.helpers import Cli, check_consistency, wait_for

TAG = "tag:retention.example,2026:"


def _entry(guid: str, seed: int, site: str, days_ago: float = 0) -> dict[str, str]:
    """An entry published ``days_ago`` (by the clock, now)."""
    published = datetime.now(UTC) - timedelta(days=days_ago)
    return {
        "guid": TAG + guid,
        "title": f"Story {seed}",
        "link": f"https://{site}.example/{seed}",
        "html": html(story(seed)),
        "date": format_datetime(published),
    }


def _write(path: Path, entries: list[dict[str, str]]) -> None:
    path.write_bytes(rss(path.stem, entries))


def _settings(database: str, feeds: list[Path], **top: object) -> object:
    return settings_from_mapping(
        {"database": database, "feeds": [{"url": str(p)} for p in feeds], **top}, None
    )


def _decider(database: str, feeds: list[Path], **top: object) -> Pipeline:
    """A pipeline that keeps the lease, as the daemon's does: its engine stays loaded."""
    settings = settings_from_mapping(
        {"database": database, "feeds": [{"url": str(p)} for p in feeds], **top}, None
    )
    pipeline = Pipeline(Storage(database), settings)
    pipeline.start()
    return pipeline


def _ids(storage: Storage) -> dict[str, int]:
    return {i.guid.removeprefix(TAG): i.id for i in storage.list_items()}


def _age(storage: Storage, days: float, guids: list[str] | None = None) -> None:
    """These items (all when None) arrived and were published ``days`` earlier than the
    database says: time passes for them."""
    with Session(storage.engine) as s, s.begin():
        query = select(Item.id, Item.first_seen, Item.sort_time, Item.published)
        if guids is not None:
            query = query.where(Item.guid.in_([TAG + g for g in guids]))
        shift = timedelta(days=days)
        rows = [
            {
                "id": item_id,
                "first_seen": first_seen - shift,
                "sort_time": sort_time - shift,
                "published": published - shift if published else None,
            }
            for item_id, first_seen, sort_time, published in s.execute(query)
        ]
        if rows:
            s.execute(update(Item), rows)


def _count(storage: Storage, model: type) -> int:
    with Session(storage.engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def stories(tmp_path: Path, database_url: str) -> Iterator[Pipeline]:
    """Feeds X and Y share stories 2 and 3; X alone has 1, 4 and 5; Z and W come later.
    Story 3 is split apart by a correction; a reader starred 4 and read 5; then the items
    of stories 1, 3, 4 and 5 and X's copy of story 2 are aged 40 days, and the feeds list
    only what is current.  The pipeline holds the lease throughout, as the daemon's does:
    its engine still holds every one of them."""
    x, y, z, w = (tmp_path / f"{name}.xml" for name in "xyzw")
    _write(x, [_entry(f"x{n}", n, "x") for n in (1, 2, 3, 4, 5)])
    _write(y, [_entry(f"y{n}", n, "y") for n in (2, 3)])
    _write(z, [])
    _write(w, [])
    pipeline = _decider(database_url, [x, y, z, w], retention={"max_age": 30})
    pipeline.poll()
    ids = _ids(pipeline.storage)
    engine = pipeline.engine
    assert engine.cluster_of(ids["x2"]) == engine.cluster_of(ids["y2"])
    assert engine.cluster_of(ids["x3"]) == engine.cluster_of(ids["y3"])
    pipeline.split_item(ids["x3"])
    reader = pipeline.storage.add_reader("ann", "not-a-real-hash")
    assert reader is not None
    with Session(pipeline.storage.engine) as s, s.begin():
        s.add(ReaderStarred(user_id=reader.id, item_id=ids["x4"]))
        s.add(ReaderRead(user_id=reader.id, item_id=ids["x5"]))
    # The newest item and cluster: a story polled last, still current.
    _write(z, [_entry("z6", 6, "z")])
    pipeline.poll()
    _age(pipeline.storage, 40, ["x1", "x2", "x3", "y3", "x4", "x5"])
    _write(x, [])
    _write(y, [_entry("y2", 2, "y")])
    yield pipeline
    pipeline.close()


def test_old_stories_go_whole_and_current_ones_stay(stories: Pipeline, tmp_path: Path) -> None:
    pipeline, storage = stories, stories.storage
    before = _ids(storage)
    dry = pipeline.prune(30, dry_run=True)
    assert (dry.items, dry.clusters, dry.reader_marks, dry.corrections) == (4, 4, 1, 1)
    assert _ids(storage) == before, "a dry run drops nothing"

    report = pipeline.prune(30)
    assert (report.items, report.clusters, report.reader_marks, report.corrections) == (
        4,
        4,
        1,
        1,
    )
    assert sorted(report.item_ids) == sorted(before[g] for g in ("x1", "x3", "y3", "x5"))
    # Story 2 stays whole (Y's copy is recent), the starred story stays, the newest stays.
    assert sorted(_ids(storage)) == ["x2", "x4", "y2", "z6"]
    assert _count(storage, Correction) == 0 and _count(storage, ReaderRead) == 0
    assert _count(storage, ReaderStarred) == 1
    assert _count(storage, Membership) == 4 and _count(storage, Cluster) == 3
    check_consistency(pipeline)
    # The engine forgot them: nothing may match, or name, a dropped item.
    assert not set(report.item_ids) & set(pipeline.engine.item_ids())
    assert all(pipeline.engine.cluster_of(i) is None for i in report.item_ids)

    # New copies of dropped stories arrive: they are decided against what is left (a
    # decision naming a dropped item would fail on the database's foreign keys).
    _write(tmp_path / "w.xml", [_entry("w1", 1, "w"), _entry("w3", 3, "w"), _entry("w2", 2, "w")])
    (polled,) = [o for o in pipeline.poll() if o.feed_url.endswith("w.xml")]
    assert polled.status == "ok" and polled.new == 3
    check_consistency(pipeline)
    ids = _ids(storage)
    clusters = {c.id: {m.id for m in c.members} for c in storage.list_clusters(min_size=1)}
    by_item = {i: c for c, members in clusters.items() for i in members}
    assert clusters[by_item[ids["w1"]]] == {ids["w1"]}
    assert clusters[by_item[ids["w3"]]] == {ids["w3"]}
    assert clusters[by_item[ids["w2"]]] == {ids["x2"], ids["y2"], ids["w2"]}
    # Ids are never handed out again (the newest item and cluster were kept).
    assert min(ids[g] for g in ("w1", "w2", "w3")) > max(before.values())
    assert pipeline.prune(30).items == 0


def test_only_the_decider_prunes(stories: Pipeline, database_url: str) -> None:
    """Another process while the decider holds the lease: it may count, not drop."""
    other = Pipeline(Storage(database_url), stories.settings, keep_lease=False)
    try:
        assert other.prune(30, dry_run=True).items == 4
        with pytest.raises(Exception, match="another process .* decides on this database"):
            other.prune(30)
        assert len(stories.storage.list_items()) == 8
    finally:
        other.close()


def _config(folder: Path, database: str, **top: object) -> Path:
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump({"database": database, **top}))
    return config


def test_db_prune_and_vacuum_from_the_command_line(
    stories: Pipeline, tmp_path: Path, database_url: str, cli: Cli
) -> None:
    folder = tmp_path / "cli"
    folder.mkdir()
    config = str(_config(folder, database_url, retention={"max_age": 30}))
    stories.state.release()  # as if the daemon had stopped: the command line may prune
    dry = cli("--config", config, "db", "prune", "--dry-run", cwd=folder)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip() == (
        "would drop 4 items in 4 stories older than 30 days, with 1 read or starred marks "
        "and 1 corrections; would forget 0 rows of old boilerplate evidence (blocks a feed "
        "counted once)"
    )
    assert len(stories.storage.list_items()) == 8
    # --max-age overrides the config: 50 days keeps everything.
    kept = cli("--config", config, "db", "prune", "--max-age", "50", cwd=folder)
    assert kept.returncode == 0 and kept.stdout.startswith("dropped 0 items in 0 stories")
    done = cli("--config", config, "db", "prune", cwd=folder)
    assert done.returncode == 0 and done.stdout.startswith("dropped 4 items in 4 stories")
    assert sorted(_ids(stories.storage)) == ["x2", "x4", "y2", "z6"]
    vacuum = cli("--config", config, "db", "vacuum", cwd=folder)
    assert vacuum.returncode == 0, vacuum.stderr
    assert vacuum.stdout.startswith("vacuumed: ") and " MB after" in vacuum.stdout
    # The decider that held the state finds the database changed under it: it reloads.
    stories.poll()
    check_consistency(stories)


@pytest.mark.parametrize(
    ("retention", "args", "message"),
    [
        ({"max_age": "soon"}, ("db", "upgrade"), "retention.max_age: expected a number of days"),
        ({"max_age": 0}, ("db", "upgrade"), "retention.max_age: must be a number of days"),
        ({"max_age": 3}, ("db", "upgrade"), "retention.max_age: must be at least the dedup"),
        ({"max_age": 30, "keep": 1}, ("db", "upgrade"), "retention.keep: unknown key"),
        (None, ("db", "prune"), "--max-age: retention.max_age is not set in the config"),
        (None, ("db", "prune", "--max-age", "2"), "--max-age: must be at least the dedup"),
        (None, ("db", "prune", "--max-age", "-4"), "--max-age: must be a number of days"),
    ],
)
def test_a_wrong_retention_is_one_line_and_status_2(
    tmp_path: Path, cli: Cli, retention: object, args: tuple[str, ...], message: str
) -> None:
    top = {"retention": retention} if retention is not None else {}
    config = _config(tmp_path, f"sqlite:///{tmp_path / 'agg.db'}", **top)
    result = cli("--config", str(config), *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr, result.stderr


def test_a_feed_that_changes_every_guid_stays_bounded(
    httpserver: HTTPServer, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every poll brings five items never seen before (new guids, new texts).  Without
    retention the database grows by five items a poll for ever; with ``max_age`` 3 days
    and a prune a day, it holds the items younger than that (three polls' worth), and so
    does the engine.  (Two stories a transaction, so that a day's prune takes several.)"""
    monkeypatch.setattr(retention, "PRUNE_BATCH", 2)
    polls = {"n": 0}

    def churn(_request: Request) -> Response:
        polls["n"] += 1
        entries = [_entry(f"p{polls['n']}-{k}", 1000 * polls["n"] + k, "churn") for k in range(5)]
        return Response(rss("Churn", entries), content_type="application/rss+xml")

    httpserver.expect_request("/churn.xml").respond_with_handler(churn)
    feed = httpserver.url_for("/churn.xml")
    settings = settings_from_mapping(
        {
            "database": database_url,
            "feeds": [{"url": feed}],
            "dedup": {"window": "1d"},
            "retention": {"max_age": 3},
        },
        None,
    )
    max_age = settings.retention.max_age
    assert max_age == 3
    pipeline = Pipeline(Storage(database_url), settings)
    pipeline.start()
    sizes = []
    for _day in range(12):
        (outcome,) = pipeline.poll()
        assert outcome.new == 5, outcome
        pipeline.prune(max_age)  # the daemon's daily job
        sizes.append(len(pipeline.storage.list_items()))
        _age(pipeline.storage, 1)  # a day passes
    assert sizes[:3] == [5, 10, 15]
    assert set(sizes[3:]) == {15}, sizes  # today's and those of the two days before
    assert len(pipeline.engine) == 15
    check_consistency(pipeline)
    pipeline.close()


def test_the_daemon_prunes_at_start_and_then_daily(tmp_path: Path) -> None:
    feed = tmp_path / "x.xml"
    _write(feed, [_entry(f"x{n}", n, "x", days_ago=40 if n < 3 else 0) for n in range(4)])
    database = f"sqlite:///{tmp_path / 'agg.db'}"
    first = _decider(database, [feed])
    first.poll()
    _age(first.storage, 40, ["x0", "x1", "x2"])
    first.close()
    settings = settings_from_mapping(
        {
            "database": database,
            "feeds": [{"url": str(feed)}],
            "polling": {"interval": "1h"},
            "retention": {"max_age": 30},
        },
        tmp_path / "config.yaml",
    )
    with _running(settings) as daemon:
        storage = daemon.pipeline.storage
        wait_for(lambda: sorted(_ids(storage)) == ["x3"], 20, "the old items dropped")
        job = daemon._scheduler.get_job("prune")
        assert job is not None and job.trigger.interval == timedelta(days=1)
        wait_for(lambda: daemon.health.failures.get("prune") == 0, 10, "the prune reported")


@contextmanager
def _running(settings: Settings) -> Iterator[Daemon]:
    """The daemon in a thread (no web face) while the block runs; stopped after it."""
    daemon = Daemon(settings, tick=0.25)
    thread = threading.Thread(target=daemon.run, kwargs={"serve": False}, daemon=True)
    thread.start()
    try:
        yield daemon
    finally:
        daemon.stop()
        thread.join(15)
        daemon.pipeline.close()
    assert not thread.is_alive()


FOOTER = "<p>Follow our other networks here: the Daily Watch Feeds and Articles.</p>"


def test_old_evidence_of_blocks_counted_once_leaves_the_database_and_the_model(
    tmp_path: Path, database_url: str
) -> None:
    feed = tmp_path / "x.xml"
    entries = [_entry(f"x{n}", n, "x") for n in range(4)]
    feed.write_bytes(rss("x", [{**e, "html": e["html"] + FOOTER} for e in entries]))
    pipeline = _decider(database_url, [feed])
    pipeline.poll()
    storage, model = pipeline.storage, pipeline.boilerplate
    before = storage.block_counts()
    once = {key for _, key, items, _, _ in before if items == 1}
    # 4 stories of 5 paragraphs and their leads (as leads: boilerplate.lead_key); the footer
    assert len(once) == 24 and len(before) == 25
    learned = model.learned()
    assert [b.items for b in learned] == [4]

    assert pipeline.prune(None, dry_run=True, now=datetime.now(UTC) + timedelta(days=14)) == (
        PruneReport(0, 0, 0, 0, evidence=0)  # not old yet
    )
    later = datetime.now(UTC) + timedelta(days=16)
    assert pipeline.prune(None, dry_run=True, now=later).evidence == 24
    report = pipeline.prune(None, now=later)
    assert (report.items, report.evidence) == (0, 24)  # no retention: no story goes
    assert {key for _, key, _, _, _ in storage.block_counts()} == {b.key for b in learned}
    # The model forgot the same pairs: it is what a load from the database gives.
    reloaded = load_boilerplate(storage)
    for _, key, _, _, _ in before:
        assert model.feeds_carrying([key]) == reloaded.feeds_carrying([key])
        assert bool(model.feeds_carrying([key])) == (key not in once)
    assert model.learned() == reloaded.learned() == learned
    assert len(storage.list_items()) == 4


def test_the_daemon_forgets_old_evidence_without_retention(tmp_path: Path) -> None:
    feed = tmp_path / "x.xml"
    _write(feed, [_entry(f"x{n}", n, "x") for n in range(2)])
    database = f"sqlite:///{tmp_path / 'agg.db'}"
    first = _decider(database, [feed])
    first.poll()
    first.close()
    with Session(first.storage.engine) as s, s.begin():  # counted 30 days ago
        s.execute(update(BlockCount).values(seen_day=BlockCount.seen_day - 30))
    assert len(first.storage.block_counts()) == 12  # 2 stories of 5 paragraphs, 2 leads
    settings = settings_from_mapping(
        {"database": database, "feeds": [{"url": str(feed)}], "polling": {"interval": "1h"}},
        tmp_path / "config.yaml",
    )
    with _running(settings) as daemon:
        storage = daemon.pipeline.storage
        wait_for(lambda: storage.block_counts() == [], 20, "the old evidence forgotten")
        assert len(storage.list_items()) == 2


def test_what_retention_would_drop_is_not_stored_again(
    httpserver: HTTPServer, database_url: str
) -> None:
    """A new entry published before the cutoff is not stored (not an error: the feed's
    status says nothing); so an item dropped while its feed still lists it stays dropped."""
    entries = [_entry("old", 1, "h", days_ago=40), _entry("new", 2, "h", days_ago=1)]
    httpserver.expect_request("/feed.xml").respond_with_handler(
        lambda _r: Response(rss("H", entries), content_type="application/rss+xml")
    )
    feed = httpserver.url_for("/feed.xml")
    settings = settings_from_mapping(
        {"database": database_url, "feeds": [{"url": feed}], "retention": {"max_age": 30}},
        None,
    )
    pipeline = Pipeline(Storage(database_url), settings)
    pipeline.start()
    (outcome,) = pipeline.poll()
    assert (outcome.status, outcome.new, outcome.skipped) == ("ok", 1, 0)
    assert sorted(_ids(pipeline.storage)) == ["new"]
    (status,) = pipeline.storage.list_feeds()
    assert status.last_error is None
    # Days later the other entry is old too and is dropped; the feed still lists both.
    _age(pipeline.storage, 40)
    entries[:] = [_entry("old", 1, "h", days_ago=80), _entry("new", 2, "h", days_ago=41)]
    assert pipeline.prune(30).items == 0  # the newest item is kept: its id stays taken
    entries.append(_entry("newer", 3, "h"))
    pipeline.poll()
    assert pipeline.prune(30).items == 1
    (again,) = pipeline.poll()
    assert again.new == 0 and sorted(_ids(pipeline.storage)) == ["newer"]
    check_consistency(pipeline)
    pipeline.close()


def _rabbitmq_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _rabbitmq_up(), reason="RabbitMQ not reachable at 127.0.0.1:5672")
def test_the_decider_role_prunes_when_it_leads(tmp_path: Path, pg_url: str) -> None:
    """``aggregator decider`` (here one round of it, in this process) prunes as it takes
    the lead, and not again before ``PRUNE_EVERY``."""
    feed = tmp_path / "x.xml"
    _write(feed, [_entry(f"x{n}", n, "x", days_ago=40 if n < 3 else 0) for n in range(4)])
    first = _decider(pg_url, [feed], polling={"interval": "1h"})
    first.poll()
    _age(first.storage, 40, ["x0", "x1", "x2"])
    first.close()
    settings = settings_from_mapping(
        {
            "database": pg_url,
            "broker": "amqp://guest:guest@127.0.0.1:5672/",
            "retention": {"max_age": 30},
            "feeds": [{"url": str(feed)}],
            "polling": {"interval": "1h"},
        },
        None,
    )
    decider = RoleDecider(settings, Metrics())
    try:
        assert decider.round()
        assert sorted(_ids(decider.pipeline.storage)) == ["x3"]
        _age(decider.pipeline.storage, 40, ["x3"])
        _write(feed, [_entry("x4", 4, "x")])
        decider.pipeline.poll()
        assert decider.round()  # the next prune is a day away
        assert sorted(_ids(decider.pipeline.storage)) == ["x3", "x4"]
    finally:
        decider.pipeline.close()
        decider.broker.close()


def test_a_feed_that_reissues_its_items_under_new_guids_does_not_grow(
    httpserver: HTTPServer, database_url: str
) -> None:
    """The same five items at every poll, each time under new guids (defect 14's feed):
    an entry whose title and text an item of the feed has already is that item, so the
    database holds five items whatever the number of polls, with no retention at all."""
    polls = {"n": 0}

    def reissue(_request: Request) -> Response:
        polls["n"] += 1
        entries = [_entry(f"p{polls['n']}-{k}", 500 + k, "reissue") for k in range(5)]
        return Response(rss("Reissue", entries), content_type="application/rss+xml")

    httpserver.expect_request("/reissue.xml").respond_with_handler(reissue)
    settings = settings_from_mapping(
        {"database": database_url, "feeds": [{"url": httpserver.url_for("/reissue.xml")}]},
        None,
    )
    pipeline = Pipeline(Storage(database_url), settings)
    pipeline.start()
    try:
        first = [pipeline.poll()[0] for _ in range(4)]
        assert [o.new for o in first] == [5, 0, 0, 0], first
        assert len(pipeline.storage.list_items()) == 5
        check_consistency(pipeline)
        # A sixth story with a title of the feed's but another text is a new item.
        polls["n"] = 100
        changed = _entry("other", 600, "reissue")
        changed["title"] = "Story 500"

        def other(_request: Request) -> Response:
            return Response(rss("Reissue", [changed]), content_type="application/rss+xml")

        httpserver.clear()
        httpserver.expect_request("/reissue.xml").respond_with_handler(other)
        (outcome,) = pipeline.poll()
        assert outcome.new == 1 and len(pipeline.storage.list_items()) == 6
    finally:
        pipeline.close()
