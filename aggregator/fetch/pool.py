"""Many fetches at once, on worker threads: ``concurrency`` at once (and up to
``SLOW_WORKERS`` times that many more that have run slow, past ``SLOW_AFTER``) and at most
``per_host`` per host (politeness), results handed back as they complete so the single
writer parses and stores while the network keeps working.  Threads, not asyncio:
``bench/poll.py`` measures both, and the writer, not the network, is the limit.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from aggregator.types import FeedToPoll

T = TypeVar("T")

SLOW_AFTER = 5.0
"""Seconds after which a fetch still running gives its slot to a new worker: a feed that
drips until its deadline then holds a thread, not one of the ``concurrency`` fetches."""
SLOW_WORKERS = 4
"""Slow fetches running beyond the slots, at most, as a multiple of them (a thread each)."""
CHECK_EVERY = 0.2
"""Seconds between two looks for fetches past their deadline or running slow."""


def most_running(concurrency: int) -> int:
    """Fetches that may run at once with ``concurrency`` slots: those and the slow ones
    beyond them (the connections their HTTP client must allow)."""
    return max(concurrency, 1) * (1 + SLOW_WORKERS)


def host_key(feed: FeedToPoll) -> str:
    """What the per-host limit counts: the host name (a machine, whatever the port)."""
    parts = urlsplit(feed.fetch_url)
    if parts.scheme.lower() in ("http", "https") and parts.hostname:
        return parts.hostname.lower()
    return f"local:{feed.id}"  # files need no politeness


class _Dispatcher:
    """Hands feeds to workers round-robin over hosts, at most ``per_host`` in flight each,
    so one site with a thousand feeds neither starves the others nor gets hammered.
    ``open_ended``: more feeds may be added at any time, and taking waits for them until
    the dispatcher is closed."""

    def __init__(
        self, feeds: Sequence[FeedToPoll], per_host: int, open_ended: bool = False
    ) -> None:
        self._per_host = max(per_host, 1)
        self._waiting: dict[str, deque[FeedToPoll]] = {}
        self._ring: deque[str] = deque()
        self._active: dict[str, int] = defaultdict(int)
        self._cond = threading.Condition()
        self._closed = False
        self._open_ended = open_ended
        self.add(feeds)

    def add(self, feeds: Sequence[FeedToPoll]) -> None:
        with self._cond:
            for feed in feeds:
                host = host_key(feed)
                if host not in self._waiting:
                    self._waiting[host] = deque()
                    self._ring.append(host)
                self._waiting[host].append(feed)
            self._cond.notify_all()

    def take(self) -> tuple[FeedToPoll, str] | None:
        """The next feed whose host has a free slot; None when nothing is left to take
        (open-ended: once closed)."""
        with self._cond:
            while not self._closed and (self._ring or self._open_ended):
                for _ in range(len(self._ring)):
                    host = self._ring[0]
                    self._ring.rotate(-1)
                    if self._active[host] < self._per_host:
                        waiting = self._waiting[host]
                        feed = waiting.popleft()
                        if not waiting:
                            self._ring.pop()  # rotate(-1) moved this host to the right end
                            del self._waiting[host]
                        self._active[host] += 1
                        return feed, host
                self._cond.wait()
            return None

    def release(self, host: str) -> None:
        with self._cond:
            self._active[host] -= 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class _Run(Generic[T]):
    """The workers of one :func:`fetch_concurrently` call or :class:`FetchStream`, their
    results, and the watch for deadlines and slow fetches."""

    def __init__(
        self,
        feeds: Sequence[FeedToPoll],
        work: Callable[[FeedToPoll], T],
        failed: Callable[[FeedToPoll, str, float], T],
        per_host: int,
        deadline: float,
        slots: int,
        open_ended: bool = False,
    ) -> None:
        self._work, self._failed, self.deadline = work, failed, deadline
        self._dispatch = _Dispatcher(feeds, per_host, open_ended)
        self.results: queue.Queue[tuple[T, bool]] = queue.Queue()
        """Each result, and whether it still holds its slot."""
        # A fetch starts only with a slot, given back when the writer takes its result:
        # fetches running plus results waiting never exceed ``slots`` (and the slow ones
        # that gave their slot up, running or waiting, the slow cap), so when the writer
        # falls behind, workers wait instead of piling up bodies.
        self._slots = threading.Semaphore(max(slots, 1))
        self._inflight: dict[int, _Flight] = {}
        self._slow_cap = SLOW_WORKERS * max(slots, 1)
        self._slow_waiting = 0
        """Results of slow fetches the writer has not taken: they count against the cap
        with the slow fetches running, so bodies in memory stay bounded either way."""
        self._lock = threading.Lock()
        self._tokens = itertools.count()
        self._stopped = threading.Event()
        self._threads = itertools.count(1)

    def spawn(self) -> None:
        # Daemon threads: a fetch stuck in a system call (a slow DNS lookup) must not keep
        # the process alive after a stop; its result is simply never read.
        thread = threading.Thread(
            target=self._worker, name=f"fetch-{next(self._threads)}", daemon=True
        )
        thread.start()

    def add(self, feeds: Sequence[FeedToPoll]) -> None:
        self._dispatch.add(feeds)

    def stop(self) -> None:
        self._stopped.set()
        self._dispatch.close()

    def _worker(self) -> None:
        while not self._stopped.is_set():
            if not self._slots.acquire(timeout=0.2):
                continue
            task = self._dispatch.take()
            if task is None:
                self._slots.release()
                return
            feed, host = task
            token = next(self._tokens)
            started = time.monotonic()
            with self._lock:
                self._inflight[token] = _Flight(feed, started)
            try:
                value = self._work(feed)
            except Exception as exc:  # work() reports its own failures; this is the backstop
                value = self._failed(
                    feed, f"unexpected {exc.__class__.__name__}: {exc}", time.monotonic() - started
                )
            finally:
                self._dispatch.release(host)
            with self._lock:
                flight = self._inflight.pop(token, None)
                if flight is not None and flight.slow:
                    self._slow_waiting += 1
            if flight is None:
                return  # reported as overdue (its slot given back) and replaced meanwhile
            self.results.put((value, not flight.slow))
            if flight.slow:
                return  # its slot and its place went to another worker when it ran slow

    def taken(self, holds_slot: bool) -> None:
        """The writer took a result: its slot (if it still held one) is free for the next
        fetch."""
        if holds_slot:
            self._slots.release()
        else:
            with self._lock:
                self._slow_waiting -= 1

    def wait_time(self) -> float:
        """How long the collector may block before the next deadline needs checking."""
        with self._lock:
            starts = [flight.started for flight in self._inflight.values()]
        if not starts:
            return CHECK_EVERY
        return min(CHECK_EVERY, max(0.01, min(starts) + self.deadline - time.monotonic()))

    def expire(self) -> list[T]:
        """Report fetches past the deadline as failed and replace their workers; let
        fetches running past ``SLOW_AFTER`` give their slot to a new worker."""
        now = time.monotonic()
        with self._lock:
            late = [
                (token, flight)
                for token, flight in self._inflight.items()
                if now - flight.started > self.deadline
            ]
            for token, _ in late:
                del self._inflight[token]
            slowed = 0
            running_slow = self._slow_waiting + sum(
                1 for flight in self._inflight.values() if flight.slow
            )
            for flight in self._inflight.values():
                if running_slow + slowed >= self._slow_cap:
                    break
                if not flight.slow and now - flight.started > SLOW_AFTER:
                    flight.slow = True
                    slowed += 1
        # The stuck call of a late fetch may never return to give its slot back.
        for _ in range(slowed + sum(1 for _, flight in late if not flight.slow)):
            self._slots.release()
            self.spawn()
        return [
            self._failed(
                flight.feed,
                f"no answer within the {self.deadline:g}s deadline; abandoned",
                now - flight.started,
            )
            for _, flight in late
        ]


@dataclass
class _Flight:
    """A fetch running on a worker."""

    feed: FeedToPoll
    started: float
    slow: bool = False
    """Past ``SLOW_AFTER``: its slot went to a new worker, and its own ends with it."""


def fetch_concurrently(
    feeds: Sequence[FeedToPoll],
    work: Callable[[FeedToPoll], T],
    failed: Callable[[FeedToPoll, str, float], T],
    *,
    concurrency: int,
    per_host: int,
    deadline: float,
    cancel: threading.Event | None = None,
) -> Iterator[T | None]:
    """Run ``work(feed)`` for every feed on worker threads; yield each result as it completes.

    At most ``concurrency`` run at once and ``per_host`` per host.  A call still running
    ``deadline`` seconds after it started (stuck in DNS, or a read that outlives the
    fetch's own deadline) is reported as ``failed(feed, reason, seconds)`` and its
    worker replaced, so one feed can never hold the batch; one still running after
    ``SLOW_AFTER`` gives its slot to a new worker (up to ``SLOW_WORKERS`` times the slots
    run slow at once), so a few feeds that drip do not hold the others.  When ``cancel`` is set, no
    further feed starts and the iteration ends; results still in flight are dropped.
    ``None`` is yielded whenever no result came for a moment (≤ 0.2 s): the consumer's
    chance to finish work it holds rather than wait for the slowest fetch.
    """
    if not feeds:
        return
    # Each running fetch and each result waiting for the writer holds a whole body (up to
    # max_bytes): ``concurrency`` of them at most, whether the network or the writer is
    # the slower side.
    run: _Run[T] = _Run(feeds, work, failed, per_host, deadline, slots=concurrency)
    for _ in range(max(1, min(concurrency, len(feeds)))):
        run.spawn()
    remaining = len(feeds)
    try:
        for value in _collected(run, cancel):
            if value is not None:
                remaining -= 1
            yield value
            if not remaining:
                return
    finally:
        run.stop()


def _collected(run: _Run[T], cancel: threading.Event | None) -> Iterator[T | None]:
    """The results of a run as they complete, overdue fetches as failures, None after a
    moment without any; until ``cancel`` is set (or the consumer stops asking).  Deadlines
    and slow fetches are looked at every ``CHECK_EVERY`` even while results keep coming."""
    checked = time.monotonic()
    while cancel is None or not cancel.is_set():
        if time.monotonic() - checked >= CHECK_EVERY:
            checked = time.monotonic()
            yield from run.expire()
        try:
            value, holds_slot = run.results.get(timeout=run.wait_time())
        except queue.Empty:
            checked = time.monotonic()
            yield from run.expire()
            yield None
            continue
        run.taken(holds_slot)
        yield value


class FetchStream(Generic[T]):
    """:func:`fetch_concurrently` without an end: feeds are added at any time, and each
    starts as soon as a worker and a slot of its host are free, whatever is still running
    (the daemon's polling: a feed that drips until its deadline holds one worker, not a
    batch).  The same limits: ``concurrency`` at once, ``per_host`` per host, ``deadline``
    per fetch."""

    def __init__(
        self,
        work: Callable[[FeedToPoll], T],
        failed: Callable[[FeedToPoll, str, float], T],
        *,
        concurrency: int,
        per_host: int,
        deadline: float,
    ) -> None:
        self._run: _Run[T] = _Run(
            [], work, failed, per_host, deadline, slots=concurrency, open_ended=True
        )
        for _ in range(max(1, concurrency)):
            self._run.spawn()

    def add(self, feeds: Sequence[FeedToPoll]) -> None:
        self._run.add(feeds)

    def close(self) -> None:
        """Start no more fetches; those in flight end on their own, their results dropped."""
        self._run.stop()

    def results(self, cancel: threading.Event) -> Iterator[T | None]:
        """Each result as it completes (None after a moment without any), until
        ``cancel`` is set; then the workers stop and results in flight are dropped."""
        try:
            yield from _collected(self._run, cancel)
        finally:
            self._run.stop()
