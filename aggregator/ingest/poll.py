"""Fetch a set of feeds and store what they hold: the first half of a poll.

Fetching runs in a thread pool (it waits on the network); each completed fetch goes
straight to this thread, the single writer, which stores one feed while others are
still on the network.  Documents are parsed and cleaned one ahead of storing, in a
child process (:mod:`aggregator.ingest.child`) or here.  Every feed's failure comes back
as a value in its :class:`PollOutcome`; one bad feed never stops the batch.  What is new
or edited is queued for the decider (:mod:`aggregator.ingest.decide`), in the transaction
that stores it, and comes back as ids.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aggregator.clean.blockcounts import utc_day
from aggregator.clean.boilerplate import BoilerplateModel
from aggregator.config import Settings
from aggregator.errors import AggregatorError, FeedError, FetchError, StorageError
from aggregator.fetch.http import USER_AGENT, FetchLimits, fetch, new_client
from aggregator.fetch.policy import FetchPolicy
from aggregator.fetch.pool import SLOW_AFTER, FetchStream, fetch_concurrently, most_running
from aggregator.ingest.child import CleanDocument, ParserBug, WorkerProcess
from aggregator.ingest.counting import countable
from aggregator.ingest.feed_status import (
    FeedStatus,
    Health,
    after_failure,
    after_success,
    skipped_note,
)
from aggregator.ingest.memory import release_free_memory
from aggregator.ingest.metrics import Metrics, log_event
from aggregator.ingest.retention import cutoff as retention_cutoff
from aggregator.ingest.stages import Stage, StageTimer, timed
from aggregator.parse.feedvalues import FEED_URL
from aggregator.storage import Storage
from aggregator.types import FeedToPoll, FetchResult, PollOutcome

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("aggregator.ingest")

READ_AHEAD = 1
"""Documents read ahead of the one being stored (each holds its items in memory)."""
PARSE_CHILD_MIN_FEEDS = 4
"""A poll of fewer feeds reads its documents in this thread: not worth a process."""
UNMODIFIED_BATCH = 500
"""304 answers are recorded this many at a time (one transaction, not one per feed)."""
FLUSH_SECONDS = 1.0
"""…or after this long, whichever comes first: a stream with no pause must still write
them (their feeds are in flight until then)."""
RELEASED_KEPT = 60.0
"""Seconds a feed's release is remembered: longer than any read of the due feeds."""
STREAM_RESTART = 5.0
"""Seconds before the daemon's polling starts again after its store failed."""
DEADLINE_SLACK = 2.0
"""Seconds past ``polling.timeout`` after which a fetch still running is abandoned (its own
deadline is checked between reads, so a last blocked read may overrun it by a little)."""


@dataclass(frozen=True)
class _Fetched:
    feed: FeedToPoll
    result: FetchResult | None
    error: FetchError | None
    seconds: float
    size: int = 0
    """Bytes of the body: the body itself goes to the parser and is not kept."""


@dataclass(frozen=True)
class PollResult:
    outcomes: list[PollOutcome]
    pending: list[int]
    """New and edited items, to decide."""


Unmodified = list[tuple[int, str | None, str | None, datetime]]
"""304 answers waiting to be written together: ``(feed_id, etag, last_modified, next)``."""


class Poller:
    """Fetches feeds and stores their documents; remembers each feed's ``<ttl>``.  Several
    polls may run at once (each with its own feeds)."""

    def __init__(
        self,
        storage: Storage,
        settings: Settings,
        metrics: Metrics,
        stopping: threading.Event,
        timer: StageTimer,
    ) -> None:
        self.storage = storage
        self.settings = settings
        self.metrics = metrics
        self.stopping = stopping
        self.timer = timer
        polling = settings.polling
        self.limits = FetchLimits(
            timeout=polling.timeout,
            max_bytes=polling.max_bytes,
            max_redirects=polling.max_redirects,
            user_agent=polling.user_agent or USER_AGENT,
        )
        self.policy = FetchPolicy.from_config(settings.fetch)
        """Which addresses fetches may reach (``fetch.*`` in the config)."""
        self._ttl: dict[int, int] = {}
        """RSS ``<ttl>`` (minutes) last seen per feed, so 304 answers honour it too."""
        self._in_flight: set[int] = set()
        """Feeds a poll of this poller is polling (a feed is in at most one poll), until
        their status is written."""
        self._stream: FetchStream[_Fetched] | None = None
        """The fetches of the running :meth:`stream`, if one runs."""
        self.streaming = threading.Event()
        """Set while :meth:`stream` takes feeds (:meth:`submit` hands none over before)."""
        self._released: dict[int, float] = {}
        """When each feed last left the in-flight set (``time.monotonic()``), for
        ``RELEASED_KEPT`` seconds: see :meth:`submit`."""
        self._released_pruned = 0.0
        self._lock = threading.Lock()
        self._clients = threading.local()
        """Each thread's HTTP client for :meth:`poll_in_turn` (connections kept alive)."""

    def poll(
        self, feeds: Sequence[FeedToPoll], boilerplate: BoilerplateModel | None = None
    ) -> PollResult:
        """Fetch the feeds and store what they hold; a feed another poll of this poller is
        still polling is left to it.  ``boilerplate``: the decider's own model, when this
        thread is the decider's — the new items' evidence is then counted as they are
        stored, from the documents in hand, instead of read back by the decider."""
        with self._lock:
            feeds = [f for f in feeds if f.id not in self._in_flight]
            self._in_flight.update(f.id for f in feeds)
        try:
            return self._poll(feeds, boilerplate)
        finally:
            with self._lock:
                self._in_flight.difference_update(f.id for f in feeds)

    def submit(self, feeds: Sequence[FeedToPoll], read_at: float) -> list[FeedToPoll]:
        """Hand due feeds, read from the database at ``read_at`` (``time.monotonic()``
        before the query), to the running :meth:`stream`: those no poll is polling, nor
        let go since that read (their status, written meanwhile, says they are not due);
        return those that went.  None go while no stream runs."""
        with self._lock:
            if self._stream is None:
                return []
            feeds = [
                f
                for f in feeds
                if f.id not in self._in_flight and self._released.get(f.id, -math.inf) < read_at
            ]
            self._in_flight.update(f.id for f in feeds)
            self._stream.add(feeds)
        return feeds

    def polling(self) -> int:
        """Feeds the stream is polling now."""
        with self._lock:
            return len(self._in_flight)

    def _release(self, feed_ids: Sequence[int]) -> None:
        """These feeds' status is written: they leave the in-flight set, and a due list
        read before now must not hand them out again."""
        now = time.monotonic()
        with self._lock:
            self._in_flight.difference_update(feed_ids)
            self._released.update((feed_id, now) for feed_id in feed_ids)
            if now - self._released_pruned > RELEASED_KEPT:
                self._released = {
                    k: at for k, at in self._released.items() if now - at <= RELEASED_KEPT
                }
                self._released_pruned = now

    def stream(self, stored: Callable[[PollOutcome], None]) -> None:
        """The daemon's polling, in this thread until ``stopping`` is set: fetch each feed
        :meth:`submit` hands in as soon as a worker and its host have a free slot, store
        it as soon as its fetch ends, and report it to ``stored``.  No batch waits for its
        slowest fetch: a feed that drips until its deadline holds one worker, not the
        feeds due after it.  A failure of the store (the database away) is logged; the
        feeds in flight are let go (they are still due) and the stream starts again."""
        workers = max(1, self.settings.polling.concurrency)
        while not self.stopping.is_set():
            parser = WorkerProcess(self.settings.polling.worker_processes)
            fetches: FetchStream[_Fetched] | None = None
            failed = False
            try:
                with new_client(self.limits, most_running(workers), self.policy) as client:
                    fetches = FetchStream(
                        lambda feed: self._fetch_one(feed, client),
                        self._abandoned,
                        concurrency=workers,
                        per_host=self.limits.per_host,
                        deadline=self.limits.timeout + DEADLINE_SLACK,
                    )
                    with self._lock:
                        self._stream = fetches
                    self.streaming.set()
                    self._store_all(
                        self._waited(fetches.results(self.stopping)),
                        parser,
                        lambda outcome, _pending: stored(outcome),
                    )
            except Exception as exc:  # the daemon's polling must go on
                log.error("event=poll-stream-failed error=%s: %s", exc.__class__.__name__, exc)
                failed = True
            finally:
                # Before any wait: feeds handed in meanwhile would go to a dead stream.
                with self._lock:
                    self.streaming.clear()
                    self._stream = None
                    self._in_flight.clear()  # still due in the database: handed out again
                if fetches is not None:
                    fetches.close()
                parser.close()
            if failed:
                self.stopping.wait(STREAM_RESTART)

    def _waited(self, fetches: Iterator[_Fetched | None]) -> Iterator[_Fetched | None]:
        """The fetches, the time spent waiting for them timed as the poll's."""
        while True:
            with timed(self.timer, Stage.FETCH_WAIT):
                try:
                    fetched = next(fetches)
                except StopIteration:
                    return
            yield fetched

    def _abandoned(self, feed: FeedToPoll, reason: str, seconds: float) -> _Fetched:
        """A fetch past its deadline, reported as failed."""
        self.metrics.fetch_seconds.observe(seconds)
        return _Fetched(feed, None, FetchError(feed.url, reason), seconds)

    def poll_in_turn(
        self,
        feeds: Sequence[FeedToPoll],
        until: datetime | None = None,
        hand_back: Callable[[Sequence[FeedToPoll]], None] | None = None,
    ) -> PollResult:
        """Fetch and store these feeds one after another in this thread (a worker's task:
        one connection to their host at a time), each stored before the next is fetched;
        stop early once ``stopping`` is set, or before a fetch that could not end by
        ``until`` (the outcomes say which were polled).  A fetch still running after
        ``SLOW_AFTER`` hands the feeds after it to ``hand_back``, at once, and they are not
        fetched here: a feed that drips until its deadline holds its own place, not the
        rest of the batch.  No thread pool, no child process, and this thread's own HTTP
        client kept from one task to the next."""
        client: httpx.Client | None = getattr(self._clients, "client", None)
        if client is None:
            client = self._clients.client = new_client(self.limits, 1, self.policy)
        longest = timedelta(seconds=self.limits.timeout + DEADLINE_SLACK)
        result = PollResult([], [])

        def stored(outcome: PollOutcome, pending: list[int]) -> None:
            result.outcomes.append(outcome)
            result.pending.extend(pending)

        def fetches(client: httpx.Client) -> Iterator[_Fetched]:
            for n, feed in enumerate(feeds):
                if self.stopping.is_set():
                    return
                if until is not None and datetime.now(UTC) + longest > until:
                    return
                rest = feeds[n + 1 :]
                if hand_back is None or not rest:
                    yield self._fetch_one(feed, client)
                    continue
                fetched, handed = self._fetch_watched(feed, client, rest, hand_back)
                yield fetched
                if handed:  # the rest are someone else's now
                    return

        # No read-ahead: the parser is this thread, so fetching the next feed first would
        # only hold this one's record back by that fetch.
        self._store_all(fetches(client), WorkerProcess(0), stored, read_ahead=0)
        return result

    def _fetch_watched(
        self,
        feed: FeedToPoll,
        client: httpx.Client,
        rest: Sequence[FeedToPoll],
        hand_back: Callable[[Sequence[FeedToPoll]], None],
    ) -> tuple[_Fetched, bool]:
        """Fetch ``feed``, handing ``rest`` to ``hand_back`` if the fetch runs past
        ``SLOW_AFTER``; True when they were handed back (a failed hand-back leaves them
        here, still this task's)."""
        handed = threading.Event()

        def hand_over() -> None:
            hand_back(rest)
            handed.set()

        watch = threading.Timer(SLOW_AFTER, hand_over)
        watch.start()
        try:
            fetched = self._fetch_one(feed, client)
        finally:
            watch.cancel()
            watch.join()  # a hand-back under way ends before the next feed is taken
        return fetched, handed.is_set()

    def _poll(
        self, feeds: Sequence[FeedToPoll], boilerplate: BoilerplateModel | None
    ) -> PollResult:
        result = PollResult([], [])

        def stored(outcome: PollOutcome, pending: list[int]) -> None:
            result.outcomes.append(outcome)
            result.pending.extend(pending)

        workers = self.settings.polling.worker_processes
        parser = WorkerProcess(workers if len(feeds) >= PARSE_CHILD_MIN_FEEDS else 0)
        try:
            self._store_all(self._fetch_all(feeds), parser, stored, boilerplate)
        finally:
            parser.close()
        return result

    def _store_all(
        self,
        fetches: Iterator[_Fetched | None],
        parser: WorkerProcess,
        stored: Callable[[PollOutcome, list[int]], None],
        boilerplate: BoilerplateModel | None = None,
        read_ahead: int = READ_AHEAD,
    ) -> None:
        """Store each fetch as it comes (None: none came lately) and report it to
        ``stored``.  A feed leaves the in-flight set only once its status is written (304
        answers are written in batches): until then it is still due in the database, and
        must not be handed out again."""
        unmodified: Unmodified = []
        done: list[int] = []
        flushed = time.monotonic()
        # Documents are read (parsed, cleaned) one ahead of storing: while this thread
        # stores feed N, the child process reads feed N+1.
        waiting: deque[tuple[_Fetched, Future[Any] | None]] = deque()

        def store_next() -> None:
            fetched, document = waiting.popleft()
            outcome, pending = self._store_feed(fetched, document, parser, unmodified, boilerplate)
            done.append(fetched.feed.id)
            stored(outcome, pending)
            release_free_memory()  # the document and its statements are gone
            if len(unmodified) >= UNMODIFIED_BATCH or time.monotonic() - flushed > FLUSH_SECONDS:
                flush()

        def flush() -> None:
            nonlocal flushed
            self._flush_unmodified(unmodified)
            self._release(done)
            done.clear()
            flushed = time.monotonic()

        for fetched in fetches:
            if fetched is None:  # no fetch finished lately: store what is waiting
                while waiting:
                    store_next()
                flush()
                continue
            waiting.append(self._hand_over(fetched, parser))
            while len(waiting) > read_ahead:
                store_next()
        while waiting:
            store_next()
        flush()

    def _hand_over(
        self, fetched: _Fetched, parser: WorkerProcess
    ) -> tuple[_Fetched, Future[Any] | None]:
        """Give a fetched body to the parser; keep only its size until it is stored."""
        result = fetched.result
        if result is None or result.body is None:
            return fetched, None
        # Entry ids resolve against the feed's own URL (FEED_URL), links against where the
        # document came from: a feed that moved keeps its items.
        headers = {**result.headers, FEED_URL: fetched.feed.url}
        future = parser.read(result.final_url, result.body, headers)
        return replace(fetched, result=replace(result, body=b""), size=len(result.body)), future

    def _flush_unmodified(self, unmodified: Unmodified) -> None:
        if unmodified:
            self.storage.record_not_modified(unmodified)
            unmodified.clear()

    # -- fetch ------------------------------------------------------------------------

    def _fetch_all(self, feeds: Sequence[FeedToPoll]) -> Iterator[_Fetched | None]:
        """Fetch concurrently and yield each feed as soon as its fetch completes (None when
        none finished lately)."""
        if not feeds:
            return
        workers = max(1, min(self.settings.polling.concurrency, len(feeds)))
        with new_client(self.limits, most_running(workers), self.policy) as client:
            yield from self._waited(
                fetch_concurrently(
                    feeds,
                    lambda feed: self._fetch_one(feed, client),
                    self._abandoned,
                    concurrency=workers,
                    per_host=self.limits.per_host,
                    deadline=self.limits.timeout + DEADLINE_SLACK,
                    cancel=self.stopping,
                )
            )

    def _fetch_one(self, feed: FeedToPoll, client: httpx.Client) -> _Fetched:
        if feed.due is not None:
            late = (datetime.now(UTC) - feed.due).total_seconds()
            self.metrics.poll_lateness.observe(max(late, 0.0))
        started = time.monotonic()
        try:
            result = fetch(feed, self.limits, client, self.policy)
            return _Fetched(feed, result, None, time.monotonic() - started)
        except FetchError as exc:
            return _Fetched(feed, None, exc, time.monotonic() - started)
        except Exception as exc:  # a bug in a dependency must not stop the batch
            error = FetchError(feed.url, f"unexpected {exc.__class__.__name__}: {exc}")
            return _Fetched(feed, None, error, time.monotonic() - started)
        finally:
            self.metrics.fetch_seconds.observe(time.monotonic() - started)

    # -- store ------------------------------------------------------------------------

    def _store_feed(
        self,
        fetched: _Fetched,
        document: Future[Any] | None,
        parser: WorkerProcess,
        unmodified: Unmodified,
        boilerplate: BoilerplateModel | None = None,
    ) -> tuple[PollOutcome, list[int]]:
        """Store what one fetch brought; return its outcome and the items to decide."""
        feed, now = fetched.feed, datetime.now(UTC)
        interval = feed.interval or self.settings.polling.interval
        if fetched.result is None:
            failure = fetched.error or FetchError(feed.url, "no result")
            return self._failed(feed, failure, interval, now, fetched.seconds), []
        result = fetched.result
        if result.not_modified:
            status = after_success(feed, result, interval, now, self._ttl.get(feed.id))
            self._record_unmodified(feed, result, status, unmodified)
            self.metrics.fetches.labels("not-modified").inc()
            # DEBUG: a 304 is the common case, thousands per cycle; the cycle line sums them.
            log_event(
                log, logging.DEBUG, "fetched", feed=feed.url, status=304, seconds=fetched.seconds
            )
            return PollOutcome(feed.url, "not-modified", seconds=fetched.seconds), []
        self.metrics.fetched_bytes.inc(fetched.size)
        assert document is not None
        try:
            with timed(self.timer, Stage.READ):
                parsed = capped(parser.document(result.final_url, document), self.settings)
            new, updated, skipped = self._store_document(
                feed, result, parsed, interval, now, boilerplate
            )
        except ParserBug as exc:  # hostile input hitting a parser bug: report it, keep polling
            log.error("event=ingest-bug feed=%s error=%s\n%s", feed.url, exc.message, exc.trace)
            return self._failed(feed, exc, interval, now, fetched.seconds), []
        except (FeedError, StorageError) as exc:
            return self._failed(feed, exc, interval, now, fetched.seconds), []
        except Exception as exc:  # a bug of ours: report it, keep polling
            log.exception("event=ingest-bug feed=%s", feed.url)
            bug = FeedError(feed.url, f"unexpected {exc.__class__.__name__}: {exc}")
            return self._failed(feed, bug, interval, now, fetched.seconds), []
        self.metrics.fetches.labels("ok").inc()
        self.metrics.items.labels("new").inc(len(new))
        self.metrics.items.labels("updated").inc(len(updated))
        log_event(
            log,
            logging.INFO,
            "fetched",
            feed=feed.url,
            status=result.status,
            new=len(new),
            updated=len(updated),
            bytes=fetched.size,
            seconds=fetched.seconds,
        )
        # Only ids wait for the decision: holding the folded text of a cold poll's 10,000
        # items until then would cost ~60 MB.
        outcome = PollOutcome(
            feed.url,
            "ok",
            new=len(new),
            updated=len(updated),
            seconds=fetched.seconds,
            skipped=skipped,
        )
        return outcome, new + updated

    def _store_document(
        self,
        feed: FeedToPoll,
        result: FetchResult,
        parsed: CleanDocument,
        interval: float,
        now: datetime,
        boilerplate: BoilerplateModel | None,
    ) -> tuple[list[int], list[int], int]:
        """One transaction for what a document brought: after a crash, either the items,
        their place in the decider's queue (and their evidence, when counted here) and the
        feed's status are all stored, or none are and the next poll brings them again.
        Returns the new and the updated ids, and how many entries were skipped."""
        increments: dict[str, tuple[int, str]] = {}
        with self.storage.unit():
            with timed(self.timer, Stage.STORE):
                saved = self.storage.save_items(feed.id, parsed.items, self._expired_before(now))
            new = [s.item_id for s in saved if s.status == "new"]
            updated = [s.item_id for s in saved if s.status == "updated"]
            skipped = skipped_note(saved.skipped)
            warning = "; ".join(n for n in (parsed.warning, skipped) if n) or None
            status = after_success(feed, result, interval, now, parsed.ttl_minutes, warning)
            self._note_move(feed, result, status)
            if saved.skipped:
                self.metrics.items.labels("skipped").inc(len(saved.skipped))
                log_event(log, logging.WARNING, "items-skipped", feed=feed.url, note=skipped)
            if boilerplate is not None:
                stored = [i for n, i in enumerate(parsed.items) if n not in saved.left_out]
                fresh = [
                    (s.item_id, i.text, i.title)
                    for s, i in zip(saved, stored, strict=True)
                    if s.status == "new"
                ]
                with timed(self.timer, Stage.BOILERPLATE):
                    counts = countable(self.storage, fresh)
                    increments = boilerplate.observe(feed.id, counts.values())
            with timed(self.timer, Stage.STORE):
                self.storage.add_block_counts(feed.id, increments, utc_day(now))
                if boilerplate is not None:
                    self.storage.add_relearn_keys(boilerplate.learned_by(increments))
                else:
                    # For the decider, wherever it runs.  The decider's own thread decides
                    # what it stored as soon as its poll ends, without the queue: an item
                    # a crash leaves undecided has no membership, and the next decider's
                    # start finds it there.
                    self.storage.queue_for_decision(
                        [(i, True) for i in new] + [(i, False) for i in updated]
                    )
                self._record_success(feed, status, result, parsed.title)
        if boilerplate is not None:
            boilerplate.apply(feed.id, increments, utc_day(now))  # stored: now it counts
        if parsed.ttl_minutes:
            self._ttl[feed.id] = parsed.ttl_minutes
        else:
            self._ttl.pop(feed.id, None)
        return new, updated, len(saved.skipped)

    def _expired_before(self, now: datetime) -> datetime | None:
        """With retention on, new entries published before this are not stored: they are
        old enough to be dropped, and a feed that still lists what was dropped would
        otherwise bring it back as new at every poll."""
        max_age = self.settings.retention.max_age
        return None if max_age is None else retention_cutoff(now, max_age)

    # -- feed status --------------------------------------------------------------------

    def _record_unmodified(
        self,
        feed: FeedToPoll,
        result: FetchResult,
        status: FeedStatus,
        unmodified: Unmodified,
    ) -> None:
        if status.moved_to is None:
            # The common case, thousands per cycle: written in batches.
            assert status.next_check is not None
            unmodified.append((feed.id, result.etag, result.last_modified, status.next_check))
            return
        self._note_move(feed, result, status)
        self._record_success(feed, status, result, None)

    def _record_success(
        self, feed: FeedToPoll, status: FeedStatus, result: FetchResult, title: str | None
    ) -> None:
        assert status.next_check is not None
        self.storage.record_success(
            feed.id,
            etag=result.etag,
            last_modified=result.last_modified,
            title=title,
            next_check=status.next_check,
            fetch_url=status.moved_to,
            warning=status.message,
        )

    def _note_move(self, feed: FeedToPoll, result: FetchResult, status: FeedStatus) -> None:
        if status.moved_to is not None:
            self.metrics.feed_changes.labels("moved").inc()
            log_event(
                log,
                logging.WARNING,
                "feed-moved",
                feed=feed.url,
                old=feed.fetch_url,
                new=status.moved_to,
                status=result.status,
            )

    def _failed(
        self,
        feed: FeedToPoll,
        error: AggregatorError,
        interval: float,
        now: datetime,
        seconds: float,
    ) -> PollOutcome:
        status = after_failure(feed, error, interval, now)
        self.metrics.fetches.labels(status.outcome).inc()
        message = status.message or ""
        if status.health is Health.DISABLED:
            self.storage.disable_feed(feed.id, message)
            self.metrics.feed_changes.labels("disabled").inc()
            log_event(
                log, logging.WARNING, "feed-disabled", feed=feed.url, status=410, error=message
            )
            return PollOutcome(feed.url, "error", error=message, seconds=seconds)
        assert status.next_check is not None
        self.storage.record_error(feed.id, message, status.next_check)
        log_event(
            log,
            logging.WARNING,
            "feed-error",
            feed=feed.url,
            status=getattr(error, "status", None),
            outcome=status.outcome,
            errors=status.error_count,
            next_check=status.next_check.strftime("%Y-%m-%dT%H:%M:%SZ"),
            seconds=seconds,
            error=message,
        )
        return PollOutcome(feed.url, "error", error=message, seconds=seconds)


def capped(parsed: CleanDocument, settings: Settings) -> CleanDocument:
    """The document with its first ``polling.max_items`` items, the rest named in its
    warning: a document's cost is bounded whatever it holds."""
    limit = settings.polling.max_items
    if len(parsed.items) <= limit:
        return parsed
    note = (
        f"{len(parsed.items):,} items in one document: the first {limit:,} kept (polling.max_items)"
    )
    warning = f"{parsed.warning}; {note}" if parsed.warning else note
    return replace(parsed, items=parsed.items[:limit], warning=warning)
