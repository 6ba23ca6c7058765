"""A worker's task is a batch of one host's feeds (aggregator.daemon.roles.poll_feeds):
it polls the feeds that still hold the claim it was sent with, one after another, and a
worker that stops gives back the feeds it did not reach.  In process, on a real SQLite
file and a real HTTP server: the task's function is called as a worker thread calls it
(Dramatiq's stub broker only declares it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dramatiq.brokers.stub import StubBroker

from aggregator.config import settings_from_mapping
from aggregator.daemon.roles import CLAIM_LEASE, poll_feeds_actor
from aggregator.ingest.metrics import Metrics
from aggregator.ingest.pipeline import Pipeline
from aggregator.storage import Storage
from aggregator.types import FeedSpec, FeedToPoll
from tests.feeds import html, story
from tests.helpers import wait_for
from tests.hostile_server import HostileServer

FEEDS = 3


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as served:
        for k in range(FEEDS):
            served.set_feed(
                f"b{k}",
                [
                    {
                        "guid": f"b{k}-1",
                        "title": f"Story {k}",
                        "link": f"https://b{k}.example/1",
                        "html": html(story(700 + k)),
                    }
                ],
            )
        yield served


@pytest.fixture
def worker(tmp_path: Path, server: HostileServer) -> Iterator[Pipeline]:
    urls = [server.url(f"/feed/b{k}") for k in range(FEEDS)]
    settings = settings_from_mapping(
        {"database": f"sqlite:///{tmp_path / 'w.db'}", "feeds": [{"url": u} for u in urls]}, None
    )
    pipeline = Pipeline(Storage(settings.database), settings, Metrics(), keep_lease=False)
    pipeline.storage.upgrade()
    pipeline.storage.sync_feeds([FeedSpec(u) for u in urls])
    yield pipeline
    pipeline.close()


def _claim(storage: Storage, now: datetime) -> tuple[list[FeedToPoll], datetime]:
    lease = now + CLAIM_LEASE
    return storage.claim_feeds(storage.due_feeds(now, 100), now, lease), lease


def _run(pipeline: Pipeline, feeds: list[FeedToPoll], lease: datetime) -> None:
    """The task as the decider sends it, run as a worker thread runs it."""
    actor = poll_feeds_actor(StubBroker(), "test", pipeline)
    batch = [[f.id, f.due.isoformat() if f.due else None] for f in feeds]
    actor.fn(batch, lease.isoformat())


def test_a_batch_is_polled_in_its_order_and_a_second_delivery_polls_nothing(
    worker: Pipeline, server: HostileServer
) -> None:
    """The broker hands a task out again when its worker died before acknowledging it:
    the feeds the first delivery recorded no longer hold the claim, so they are not
    fetched again (one fetch each, one item each)."""
    feeds, lease = _claim(worker.storage, datetime.now(UTC))
    assert len(feeds) == FEEDS
    _run(worker, feeds[::-1], lease)
    assert [s.path for s in server.requests()] == [f"/feed/b{k}" for k in reversed(range(FEEDS))]
    _run(worker, feeds[::-1], lease)
    assert len(server.requests()) == FEEDS
    assert len(worker.storage.list_items()) == FEEDS
    assert all(f.last_checked is not None for f in worker.storage.list_feeds())


def test_a_task_whose_feed_was_claimed_again_leaves_it_to_the_newer_task(
    worker: Pipeline, server: HostileServer
) -> None:
    """A task older than its lease (a stalled queue) meets a feed the decider claimed again
    since: the feed belongs to the newer task, so the old one does not fetch it."""
    now = datetime.now(UTC)
    feeds, old_lease = _claim(worker.storage, now)
    worker.storage.give_back([f.id for f in feeds], old_lease, now)  # the lease ran out
    again, new_lease = _claim(worker.storage, now + timedelta(seconds=1))
    assert [f.id for f in again] == [f.id for f in feeds]
    _run(worker, feeds, old_lease)
    assert server.requests() == []
    _run(worker, again, new_lease)
    assert len(server.requests()) == FEEDS


def test_a_stopping_worker_gives_back_the_feeds_it_did_not_reach(
    worker: Pipeline, server: HostileServer
) -> None:
    """Without the give-back they would wait for the claim's 15-minute lease."""
    feeds, lease = _claim(worker.storage, datetime.now(UTC))
    worker.stopping.set()
    _run(worker, feeds, lease)
    assert server.requests() == []
    now = datetime.now(UTC)
    assert sorted(f.id for f in worker.storage.due_feeds(now, 100)) == sorted(f.id for f in feeds)


def test_a_claim_takes_only_the_feeds_still_due_and_enabled(worker: Pipeline) -> None:
    storage = worker.storage
    now = datetime.now(UTC)
    due = storage.due_feeds(now, 100)
    assert len(due) == FEEDS
    first, lease = _claim(storage, now)
    assert storage.claim_feeds(due, now, now + CLAIM_LEASE) == []  # claimed already
    storage.give_back([f.id for f in first], lease, now)
    storage.disable_feed(first[0].id, "gone")
    assert [f.id for f in storage.claim_feeds(due, now, now + CLAIM_LEASE)] == [
        f.id for f in due[1:]
    ]


def test_a_task_starts_no_fetch_that_could_outlast_its_lease(
    worker: Pipeline, server: HostileServer
) -> None:
    """A task that waited in the queue until its claim has less than a fetch's deadline left
    (30 s here) fetches nothing: past the lease the decider hands the feeds and their host's
    slot out again, and both tasks would fetch.  It gives them back, due now."""
    storage = worker.storage
    now = datetime.now(UTC)
    lease = now + timedelta(seconds=20)
    feeds = storage.claim_feeds(storage.due_feeds(now, 100), now, lease)
    _run(worker, feeds, lease)
    assert server.requests() == []
    assert len(storage.due_feeds(datetime.now(UTC), 100)) == FEEDS


def test_a_feed_claimed_again_is_not_given_back_by_the_older_claim(worker: Pipeline) -> None:
    storage = worker.storage
    now = datetime.now(UTC)
    feeds, old_lease = _claim(storage, now)
    storage.give_back([f.id for f in feeds], old_lease, now)
    _, new_lease = _claim(storage, now + timedelta(seconds=1))
    storage.give_back([f.id for f in feeds], old_lease, now)
    assert storage.due_feeds(now, 100) == []  # still the newer claim's
    storage.give_back([f.id for f in feeds], new_lease, now)
    assert len(storage.due_feeds(now, 100)) == FEEDS


def test_each_feed_of_a_batch_is_stored_before_the_next_is_fetched(
    worker: Pipeline, server: HostileServer
) -> None:
    """A feed's record frees its part of the host's slot and, after a ``kill -9``, keeps the
    broker's second delivery from fetching it again: it must not wait for the next feed's
    fetch (here one answering after 3 s)."""
    storage = worker.storage
    quick, slow = server.url("/feed/b0"), server.url("/feed/b1?delay=3")
    storage.sync_feeds([FeedSpec(slow)])
    now = datetime.now(UTC)
    lease = now + CLAIM_LEASE
    due = {f.url: f for f in storage.due_feeds(now, 100)}
    feeds = storage.claim_feeds([due[quick], due[slow]], now, lease)
    task = threading.Thread(target=_run, args=(worker, feeds, lease))
    task.start()
    try:
        wait_for(lambda: server.started("/feed/b1") == 1, 10, "the slow fetch begun")
        checked = {f.url: f.last_checked for f in storage.list_feeds()}
        assert checked[quick] is not None and checked[slow] is None
    finally:
        task.join(15)


def test_a_slow_fetch_hands_the_rest_of_its_batch_back_while_it_runs(
    worker: Pipeline, server: HostileServer
) -> None:
    """A feed answering after 7 s holds its own place in the host's slots, not its batch's
    other feeds: 5 s into its fetch they are due again, for the host's other slot, and this
    task fetches none of them."""
    storage = worker.storage
    slow = server.url("/feed/b1?delay=7")
    storage.sync_feeds([FeedSpec(slow)])
    now = datetime.now(UTC)
    lease = now + CLAIM_LEASE
    due = {f.url: f for f in storage.due_feeds(now, 100)}
    rest = [due[server.url("/feed/b0")], due[server.url("/feed/b2")]]
    feeds = storage.claim_feeds([due[slow], *rest], now, lease)
    task = threading.Thread(target=_run, args=(worker, feeds, lease))
    task.start()
    try:
        wait_for(lambda: server.started("/feed/b1") == 1, 10, "the slow fetch begun")
        handed_back = {f.id for f in rest}
        wait_for(
            lambda: handed_back <= {f.id for f in storage.due_feeds(datetime.now(UTC), 100)},
            10,
            "the rest due again",
        )
        assert server.requests("/feed/b1") == []  # still running
    finally:
        task.join(15)
    assert [s.path for s in server.requests()] == ["/feed/b1"]
