"""Many fetches at once, on worker threads: at most ``concurrency`` at once and
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
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from aggregator.types import FeedToPoll

T = TypeVar("T")


def host_key(feed: FeedToPoll) -> str:
    """What the per-host limit counts: the host name (a machine, whatever the port)."""
    parts = urlsplit(feed.fetch_url)
    if parts.scheme.lower() in ("http", "https") and parts.hostname:
        return parts.hostname.lower()
    return f"local:{feed.id}"  # files need no politeness


class _Dispatcher:
    """Hands feeds to workers round-robin over hosts, at most ``per_host`` in flight each,
    so one site with a thousand feeds neither starves the others nor gets hammered."""

    def __init__(self, feeds: Sequence[FeedToPoll], per_host: int) -> None:
        self._per_host = max(per_host, 1)
        self._waiting: dict[str, deque[FeedToPoll]] = {}
        for feed in feeds:
            self._waiting.setdefault(host_key(feed), deque()).append(feed)
        self._ring = deque(self._waiting)
        self._active: dict[str, int] = defaultdict(int)
        self._cond = threading.Condition()
        self._closed = False

    def take(self) -> tuple[FeedToPoll, str] | None:
        """The next feed whose host has a free slot; None when nothing is left to take."""
        with self._cond:
            while not self._closed and self._ring:
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
    """One :func:`fetch_concurrently` call: its workers, their results and the deadline watch."""

    def __init__(
        self,
        feeds: Sequence[FeedToPoll],
        work: Callable[[FeedToPoll], T],
        failed: Callable[[FeedToPoll, str, float], T],
        per_host: int,
        deadline: float,
        slots: int,
    ) -> None:
        self._work, self._failed, self.deadline = work, failed, deadline
        self._dispatch = _Dispatcher(feeds, per_host)
        self.results: queue.Queue[T] = queue.Queue()
        # A fetch starts only with a slot, given back when the writer takes its result:
        # fetches running plus results waiting never exceed ``slots``, so when the writer
        # falls behind, workers wait instead of piling up bodies.
        self._slots = threading.Semaphore(max(slots, 1))
        self._inflight: dict[int, tuple[FeedToPoll, float]] = {}
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
                self._inflight[token] = (feed, started)
            try:
                value = self._work(feed)
            except Exception as exc:  # work() reports its own failures; this is the backstop
                value = self._failed(
                    feed, f"unexpected {exc.__class__.__name__}: {exc}", time.monotonic() - started
                )
            finally:
                self._dispatch.release(host)
            with self._lock:
                mine = self._inflight.pop(token, None) is not None
            if not mine:
                return  # reported as overdue (its slot given back) and replaced meanwhile
            self.results.put(value)

    def taken(self) -> None:
        """The writer took a result: its slot is free for the next fetch."""
        self._slots.release()

    def wait_time(self) -> float:
        """How long the collector may block before the next deadline needs checking."""
        with self._lock:
            starts = [started for _, started in self._inflight.values()]
        if not starts:
            return 0.2
        return min(0.2, max(0.01, min(starts) + self.deadline - time.monotonic()))

    def expire(self) -> list[T]:
        """Report fetches past the deadline as failed and replace their workers."""
        now = time.monotonic()
        with self._lock:
            late = [
                (token, feed, started)
                for token, (feed, started) in self._inflight.items()
                if now - started > self.deadline
            ]
            for token, _, _ in late:
                del self._inflight[token]
        for _ in late:
            self._slots.release()  # the stuck call may never return to give it back
            self.spawn()
        return [
            self._failed(
                feed, f"no answer within the {self.deadline:g}s deadline; abandoned", now - started
            )
            for _, feed, started in late
        ]


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
    worker replaced, so one feed can never hold the batch.  When ``cancel`` is set, no
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
        while remaining:
            if cancel is not None and cancel.is_set():
                return
            try:
                value = run.results.get(timeout=run.wait_time())
            except queue.Empty:
                for overdue in run.expire():
                    remaining -= 1
                    yield overdue
                yield None
                continue
            run.taken()
            remaining -= 1
            yield value
    finally:
        run.stop()
