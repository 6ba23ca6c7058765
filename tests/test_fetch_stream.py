"""The fetch runner's handling of slow fetches, and the daemon's open-ended stream of
fetches (``aggregator.fetch.pool``), with plain functions as the work: what a fetch does
is tested elsewhere, against real servers."""

from __future__ import annotations

import threading
import time

import pytest

from aggregator.fetch import pool
from aggregator.fetch.pool import FetchStream, fetch_concurrently
from aggregator.types import FeedToPoll


def _feed(n: int, host: str = "h") -> FeedToPoll:
    url = f"http://{host}{n}.example/{n}"
    return FeedToPoll(id=n, url=url, fetch_url=url)


class _Running:
    """Counts the calls running at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *_: object) -> None:
        with self.lock:
            self.now -= 1


def test_a_slow_fetch_gives_its_slot_to_the_next_feed_and_still_reports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pool, "SLOW_AFTER", 0.3)
    release = threading.Event()
    order: list[int] = []

    def work(feed: FeedToPoll) -> int:
        if feed.id == 0:
            release.wait(10)  # a drip, still within its deadline
        return feed.id

    for value in fetch_concurrently(
        [_feed(n) for n in range(4)],
        work,
        lambda f, r, s: -1,
        concurrency=1,
        per_host=1,
        deadline=30,
    ):
        if value is not None:
            order.append(value)
            if len(order) == 3:
                release.set()  # the others were fetched while the slow one ran
    assert order == [1, 2, 3, 0]  # its result is kept, not abandoned


def test_slow_fetches_beyond_the_slots_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "SLOW_AFTER", 0.1)
    monkeypatch.setattr(pool, "SLOW_WORKERS", 2)
    running = _Running()

    def work(feed: FeedToPoll) -> int:
        with running:
            time.sleep(0.8)
        return feed.id

    got = [
        v
        for v in fetch_concurrently(
            [_feed(n) for n in range(8)],
            work,
            lambda f, r, s: -1,
            concurrency=1,
            per_host=1,
            deadline=30,
        )
        if v is not None
    ]
    assert sorted(got) == list(range(8))
    assert running.most == 3  # the slot's fetch and two slow ones, never more


def test_a_stream_takes_feeds_at_any_time_and_a_slow_one_holds_none_of_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pool, "SLOW_AFTER", 0.2)
    release, cancel = threading.Event(), threading.Event()

    def work(feed: FeedToPoll) -> int:
        if feed.id == 0:
            release.wait(10)
        return feed.id

    stream: FetchStream[int] = FetchStream(
        work, lambda f, r, s: -1, concurrency=1, per_host=1, deadline=30
    )
    stream.add([_feed(0)])
    got: list[int] = []
    later = time.monotonic() + 0.5
    for value in stream.results(cancel):
        if value is not None:
            got.append(value)
        if time.monotonic() > later:
            stream.add([_feed(1), _feed(2)])  # later, while feed 0 still runs
            later = float("inf")
        if got == [1, 2]:
            release.set()
        if len(got) == 3:
            cancel.set()
    assert got == [1, 2, 0]


def test_a_stream_ends_when_cancelled_and_drops_what_is_in_flight() -> None:
    cancel, release = threading.Event(), threading.Event()
    stream: FetchStream[int] = FetchStream(
        lambda f: release.wait(10) and f.id,
        lambda f, r, s: -1,
        concurrency=2,
        per_host=2,
        deadline=30,
    )
    stream.add([_feed(0), _feed(1)])
    started = time.monotonic()
    for _ in stream.results(cancel):
        cancel.set()
    release.set()
    assert time.monotonic() - started < 5  # did not wait for the fetches


def test_slow_results_the_writer_has_not_taken_count_against_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each result holds a body: fetches running plus results not taken stay within the
    slots and the slow cap, however far a slow writer falls behind slow fetches."""
    monkeypatch.setattr(pool, "SLOW_AFTER", 0.02)
    monkeypatch.setattr(pool, "SLOW_WORKERS", 2)
    lock, held, most = threading.Lock(), [0], [0]

    def work(feed: FeedToPoll) -> int:
        with lock:
            held[0] += 1
            most[0] = max(most[0], held[0])
        time.sleep(0.5)  # every fetch runs slow
        return feed.id

    got = []
    for value in fetch_concurrently(
        [_feed(n) for n in range(40)],
        work,
        lambda f, r, s: -1,
        concurrency=2,
        per_host=2,
        deadline=30,
    ):
        if value is None:
            continue
        with lock:
            held[0] -= 1
        time.sleep(0.2)  # the writer falls behind what the slow fetches bring
        got.append(value)
    assert sorted(got) == list(range(40))
    assert most[0] <= 6, most  # two slots and four slow ones
