"""One poll of a set of feeds, end to end: fetch → parse → clean → store → fingerprint → decide.

Fetching runs in a thread pool (it waits on the network); parsing, boilerplate learning,
fingerprinting and the cluster decision run in this one thread, the single writer, so
decisions never race and SQLite never sees two writers.  Every feed's failure comes
back as a value in its :class:`PollOutcome`; one bad feed never stops the batch.

Crash safety: items are committed first, then fingerprints and memberships together.
An item found without a membership at start (the process died in between) is decided
then, so a ``kill -9`` at any moment leaves every item in exactly one cluster.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aggregator.clean.boilerplate import NETWORK_LEARN_AT, BoilerplateModel, evidence, fold_text
from aggregator.config import Settings
from aggregator.dedup.engine import Candidate, DedupEngine, DedupParams
from aggregator.errors import AggregatorError, FeedError, FetchError, StorageError
from aggregator.fetch.http import USER_AGENT, FetchLimits, fetch, fetch_concurrently, new_client
from aggregator.fingerprint import signature as fp_mod
from aggregator.ingest.child import ReaderBug, WorkerProcess, fingerprint_texts
from aggregator.ingest.memory import release_free_memory
from aggregator.ingest.metrics import Metrics, log_event, outcome_of
from aggregator.ingest.timing import next_check_after_error, next_check_after_success
from aggregator.storage import Storage
from aggregator.types import (
    Assignment,
    ClusterChanges,
    CorrectionRecord,
    FeedToPoll,
    FetchResult,
    IndexedItem,
    PollOutcome,
)

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("aggregator.ingest.pipeline")

DECIDE_CHUNK = 250
"""Items fingerprinted, decided and written together.  Measured on a cold 10,000-item poll:
chunks of 1,000 / 500 / 250 / 125 peak at 185 / 168 / 158 / 152 MB in-process, in the same
time down to 250 (the index is searched a batch at a time: ~200 is already efficient)."""
READ_AHEAD = 1
"""Documents read ahead of the one being stored (each holds its items in memory); decision
chunks are fingerprinted one ahead too."""
CHILD_SHARE = 0.7
"""Share of each decision chunk the worker process fingerprints (measured balance: the
writer also decides and stores each chunk)."""
PARSE_CHILD_MIN_FEEDS = 4
"""A poll of fewer feeds reads its documents in this thread: not worth a process."""
FINGERPRINT_CHILD_MIN_ITEMS = 500
"""Fewer new items are fingerprinted in this thread: 500 take about as long as starting
a child process that imports numpy."""
UNMODIFIED_BATCH = 500
"""304 answers are recorded this many at a time (one transaction, not one per feed)."""
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
    """Bytes of the body: the body itself goes to the reader and is not kept."""


@dataclass
class _Decided:
    """What a decision changed, as counts for the metrics and the log: a cold poll decides
    thousands of items, and their assignments are stored chunk by chunk, not kept."""

    assignments: int = 0
    joined: int = 0
    clusters: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)

    def add(self, changes: ClusterChanges) -> None:
        self.assignments += len(changes.assignments)
        self.joined += sum(1 for a in changes.assignments if a.method not in ("single", "first"))
        self.clusters.update(c.cluster_id for c in changes.clusters)
        self.deleted.update(changes.deleted_clusters)


class Pipeline:
    """Owns the in-memory state of one writer: boilerplate model and dedup engine."""

    def __init__(self, storage: Storage, settings: Settings,
                 metrics: Metrics | None = None) -> None:
        self.storage = storage
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.stopping = threading.Event()
        """Set it to end a running :meth:`poll` early: no further fetch starts, fetches in
        flight are abandoned, and what was already fetched is stored and decided."""
        self._ttl: dict[int, int] = {}
        """RSS ``<ttl>`` (minutes) last seen per feed, so 304 answers honour it too."""
        self.boilerplate = BoilerplateModel()
        self.engine = self._new_engine()
        polling = settings.polling
        self.limits = FetchLimits(timeout=polling.timeout, max_bytes=polling.max_bytes,
                                  max_redirects=polling.max_redirects,
                                  user_agent=polling.user_agent or USER_AGENT)
        self._corrections_seen = 0
        self._unmodified: list[tuple[int, str | None, str | None, datetime]] = []
        self._priority: dict[int, int] = {}
        self._interval: dict[int, float] = {}
        self._started = False

    # -- start ------------------------------------------------------------------------

    def _new_engine(self) -> DedupEngine:
        dedup = self.settings.dedup
        return DedupEngine(DedupParams(
            threshold=dedup.threshold,
            containment=dedup.containment,
            window=timedelta(seconds=dedup.window),
        ), fingerprint_source=self._stored_fingerprints)

    def start(self) -> None:
        """Upgrade the schema, register configured feeds, rebuild the in-memory state."""
        self.engine = self._new_engine()
        self._corrections_seen = 0  # replayed into the new engine
        self.storage.upgrade()
        self.storage.sync_feeds(self.settings.feeds)
        self._refresh_feed_settings()
        self.boilerplate.load(self.storage.block_counts(samples_from=NETWORK_LEARN_AT))
        now = datetime.now(UTC)
        schemes = self.storage.fingerprint_schemes()
        rescheme = any(s not in (None, fp_mod.SCHEME) for s in schemes)
        if rescheme:
            # Made with other shingling/permutations: comparing them would be meaningless.
            log.info("event=refingerprint reason=scheme-changed schemes=%s",
                     sorted(str(s) for s in schemes))
        self.engine.next_cluster_id = self.storage.max_cluster_id() + 1
        stale: list[int] = []
        # A page at a time: the stored fingerprints of a large window never all at once.
        for page in self.storage.indexed_item_pages(since=now - timedelta(
                seconds=self.settings.dedup.window)):
            unready = {i.item_id for i in page
                       if rescheme or i.fingerprint is None or i.cluster_id is None}
            stale.extend(i.item_id for i in page if i.item_id in unready)
            self.engine.load(
                (self._candidate(i, fp_mod.from_bytes(i.fingerprint, i.content_hash)
                                 if i.fingerprint else None)
                 for i in page if i.item_id not in unready),
                (Assignment(i.item_id, i.cluster_id, i.method or "single", i.score or 1.0,
                            i.matched_item_id) for i in page if i.cluster_id is not None),
            )
        # The pages' rows and fingerprints are gone: without this, a restart on 10,000
        # items kept the main process at 138 MB instead of 116 while it polled.
        release_free_memory()
        self._started = True
        self._catch_up_corrections()
        if stale:
            self._decide(stale, now)
            log.info("event=recovered items=%d", len(stale))

    def _refresh_feed_settings(self) -> None:
        configured = {spec.url: spec.interval for spec in self.settings.feeds if spec.interval}
        default = self.settings.polling.interval
        for feed in self.storage.list_feeds():
            self._priority[feed.id] = feed.priority
            self._interval[feed.id] = configured.get(feed.url, default)

    def _stored_fingerprints(self, item_ids: Collection[int]) -> dict[int, fp_mod.Fingerprint]:
        # What the engine verifies older items with: their samples stay in the database.
        return {item_id: fp_mod.from_bytes(blob, None) for item_id, blob
                in self.storage.fingerprint_blobs(item_ids, fp_mod.SCHEME).items()}

    def _candidate(self, item: IndexedItem, fingerprint: fp_mod.Fingerprint | None) -> Candidate:
        return Candidate(item_id=item.item_id, feed_id=item.feed_id, priority=item.priority,
                         sort_time=item.sort_time, is_summary=item.is_summary,
                         canonical_link=item.canonical_link, fingerprint=fingerprint,
                         first_seen=item.first_seen, cluster_id=item.cluster_id)

    # -- poll -------------------------------------------------------------------------

    def poll(self, feeds: Sequence[FeedToPoll] | None = None) -> list[PollOutcome]:
        """Fetch the given feeds (all enabled ones by default) and ingest what they hold."""
        if not self._started:
            self.start()
        if feeds is None:
            feeds = self.storage.feeds_to_poll()
        self._refresh_feed_settings()
        self._catch_up_corrections()
        outcomes: list[PollOutcome] = []
        pending: list[int] = []
        workers = self.settings.polling.worker_processes
        # Documents are read (parsed, cleaned) one ahead of storing: while this thread
        # stores feed N, the reader's child process reads feed N+1.
        reader = WorkerProcess(workers if len(feeds) >= PARSE_CHILD_MIN_FEEDS else 0)
        waiting: deque[tuple[_Fetched, Future[Any] | None]] = deque()
        try:
            for fetched in self._fetch_all(feeds):
                if fetched is None:  # no fetch finished lately: store what is waiting
                    while waiting:
                        self._store_next(waiting.popleft(), reader, outcomes, pending)
                    continue
                result = fetched.result
                future = None
                if result is not None and result.body is not None:
                    future = reader.read(result.final_url, result.body, result.headers)
                    # The reader has the document: until it is stored, keep its size only.
                    fetched = replace(fetched, result=replace(result, body=b""),
                                      size=len(result.body))
                waiting.append((fetched, future))
                while len(waiting) > READ_AHEAD:
                    self._store_next(waiting.popleft(), reader, outcomes, pending)
            while waiting:
                self._store_next(waiting.popleft(), reader, outcomes, pending)
            self._flush_unmodified()
        finally:
            reader.close()
        if pending:
            # By default the writer fingerprints alone: this is when it holds the most
            # (the engine has grown by the whole batch), and a second interpreter with
            # numpy would add ~30 MB to that peak to save ~15 % of a cold poll's time.
            # When asked to, a child of its own does (it imports numpy, not feedparser),
            # started once the reader has exited: the two never hold memory at once.
            fingerprinter = WorkerProcess(
                workers if self.settings.polling.fingerprint_worker
                and len(pending) >= FINGERPRINT_CHILD_MIN_ITEMS else 0)
            try:
                next_cluster_id, started = self.engine.next_cluster_id, time.monotonic()
                changes = self._decide(pending, datetime.now(UTC), fingerprinter)
                self._observe_decision(changes, next_cluster_id, len(pending),
                                       time.monotonic() - started)
            finally:
                fingerprinter.close()
        return outcomes

    def _store_next(self, waiting: tuple[_Fetched, Future[Any] | None], reader: WorkerProcess,
                    outcomes: list[PollOutcome], pending: list[int]) -> None:
        outcome, new_pending = self._store_feed(*waiting, reader)
        outcomes.append(outcome)
        pending.extend(new_pending)
        release_free_memory()  # the document and its statements are gone
        if len(self._unmodified) >= UNMODIFIED_BATCH:
            self._flush_unmodified()

    def _flush_unmodified(self) -> None:
        if self._unmodified:
            self.storage.record_not_modified(self._unmodified)
            self._unmodified = []

    def _observe_decision(self, decided: _Decided, first_new_cluster: int, items: int,
                          seconds: float) -> None:
        self.metrics.decision_seconds.observe(seconds / max(items, 1))
        events = self.metrics.cluster_events
        events.labels("formed").inc(sum(1 for c in decided.clusters if c >= first_new_cluster))
        events.labels("joined").inc(decided.joined)
        events.labels("merged").inc(len(decided.deleted))
        log_event(log, logging.INFO, "decided", items=items, assignments=decided.assignments,
                  clusters=len(decided.clusters), seconds=seconds)

    def _fetch_all(self, feeds: Sequence[FeedToPoll]) -> Iterator[_Fetched | None]:
        """Fetch concurrently and yield each feed as soon as its fetch completes, so this
        thread (the writer) parses and stores one feed while others are on the network."""
        if not feeds:
            return
        workers = max(1, min(self.settings.polling.concurrency, len(feeds)))

        def abandoned(feed: FeedToPoll, reason: str, seconds: float) -> _Fetched:
            self.metrics.fetch_seconds.observe(seconds)
            return _Fetched(feed, None, FetchError(feed.url, reason), seconds)

        with new_client(self.limits, workers) as client:
            yield from fetch_concurrently(
                feeds, lambda feed: self._fetch_one(feed, client), abandoned,
                concurrency=workers, per_host=self.limits.per_host,
                deadline=self.limits.timeout + DEADLINE_SLACK, cancel=self.stopping)

    def _fetch_one(self, feed: FeedToPoll, client: httpx.Client) -> _Fetched:
        started = time.monotonic()
        try:
            result = fetch(feed, self.limits, client)
            return _Fetched(feed, result, None, time.monotonic() - started)
        except FetchError as exc:
            return _Fetched(feed, None, exc, time.monotonic() - started)
        except Exception as exc:  # a bug in a dependency must not stop the batch
            error = FetchError(feed.url, f"unexpected {exc.__class__.__name__}: {exc}")
            return _Fetched(feed, None, error, time.monotonic() - started)
        finally:
            self.metrics.fetch_seconds.observe(time.monotonic() - started)

    def _store_feed(self, fetched: _Fetched, document: Future[Any] | None,
                    reader: WorkerProcess) -> tuple[PollOutcome, list[int]]:
        """Store what one fetch brought; return its outcome and the items to decide."""
        feed, now = fetched.feed, datetime.now(UTC)
        interval = self._interval.get(feed.id, self.settings.polling.interval)
        if fetched.result is None:
            failure = fetched.error or FetchError(feed.url, "no result")
            return self._failed(feed, failure, interval, now, fetched.seconds), []
        result = fetched.result
        moved = self._moved(feed, result)
        if result.not_modified:
            next_check = next_check_after_success(now, interval, result.headers,
                                                  self._ttl.get(feed.id))
            if moved is None:
                # The common case, thousands per cycle: written in batches by poll().
                self._unmodified.append((feed.id, result.etag, result.last_modified,
                                         next_check))
            else:
                self.storage.record_success(
                    feed.id, etag=result.etag, last_modified=result.last_modified,
                    title=None, next_check=next_check, fetch_url=moved,
                    warning=_moved_note(moved))
            self.metrics.fetches.labels("not-modified").inc()
            # DEBUG: a 304 is the common case, thousands per cycle; the cycle line sums them.
            log_event(log, logging.DEBUG, "fetched", feed=feed.url, status=304,
                      seconds=fetched.seconds)
            return PollOutcome(feed.url, "not-modified", seconds=fetched.seconds), []
        self.metrics.fetched_bytes.inc(fetched.size)
        assert document is not None
        try:
            parsed = reader.document(result.final_url, document)
            items = parsed.items
            # One transaction for what this document brought: after a crash, either the
            # items, their boilerplate evidence and the feed's status are all stored, or
            # none are and the next poll brings them again.
            with self.storage.unit():
                saved = self.storage.save_items(feed.id, items)
                new = [s for s in saved if s.status == "new"]
                updated = [s for s in saved if s.status == "updated"]
                # Evidence from new items only (computed here, not in the worker: it is
                # the busier side while documents are read, and most items are unchanged).
                increments = self.boilerplate.observe(
                    feed.id, (evidence(fold_text(i.text))
                              for s, i in zip(saved, items, strict=True) if s.status == "new"))
                self.storage.add_block_counts(feed.id, increments)
                notes = [n for n in (parsed.warning, _moved_note(moved)) if n]
                self.storage.record_success(
                    feed.id, etag=result.etag, last_modified=result.last_modified,
                    title=parsed.title,
                    next_check=next_check_after_success(now, interval, result.headers,
                                                        parsed.ttl_minutes),
                    fetch_url=moved, warning="; ".join(notes) or None)
            self.boilerplate.apply(feed.id, increments)  # stored: now it counts
        except ReaderBug as exc:  # hostile input hitting a parser bug: report it, keep polling
            log.error("event=ingest-bug feed=%s error=%s\n%s", feed.url, exc.message, exc.trace)
            return self._failed(feed, exc, interval, now, fetched.seconds), []
        except (FeedError, StorageError) as exc:
            return self._failed(feed, exc, interval, now, fetched.seconds), []
        except Exception as exc:  # a bug of ours: report it, keep polling
            log.exception("event=ingest-bug feed=%s", feed.url)
            bug = FeedError(feed.url, f"unexpected {exc.__class__.__name__}: {exc}")
            return self._failed(feed, bug, interval, now, fetched.seconds), []
        self._remember_ttl(feed.id, parsed.ttl_minutes)
        self.metrics.fetches.labels("ok").inc()
        self.metrics.items.labels("new").inc(len(new))
        self.metrics.items.labels("updated").inc(len(updated))
        log_event(log, logging.INFO, "fetched", feed=feed.url, status=result.status,
                  new=len(new), updated=len(updated), bytes=fetched.size,
                  seconds=fetched.seconds)
        # Only ids wait for the decision at the end of the poll: holding the folded text
        # of a cold poll's 10,000 items until then would cost ~60 MB.
        pending = [s.item_id for s in new + updated]
        return PollOutcome(feed.url, "ok", new=len(new), updated=len(updated),
                           seconds=fetched.seconds), pending

    def _failed(self, feed: FeedToPoll, error: AggregatorError, interval: float, now: datetime,
                seconds: float) -> PollOutcome:
        message = str(getattr(error, "message", None) or error)
        outcome = outcome_of(error)
        self.metrics.fetches.labels(outcome).inc()
        if outcome == "gone":
            # 410: the publisher says the feed will never come back; stop asking.
            message = f"{message}: the feed is gone; disabled (re-add it to poll again)"
            self.storage.disable_feed(feed.id, message)
            self.metrics.feed_changes.labels("disabled").inc()
            log_event(log, logging.WARNING, "feed-disabled", feed=feed.url, status=410,
                      error=message)
            return PollOutcome(feed.url, "error", error=message, seconds=seconds)
        errors_so_far = feed.error_count
        headers = error.headers if isinstance(error, FetchError) else {}
        next_check = next_check_after_error(now, interval, errors_so_far + 1, headers)
        self.storage.record_error(feed.id, message, next_check)
        log_event(log, logging.WARNING, "feed-error", feed=feed.url,
                  status=getattr(error, "status", None), outcome=outcome,
                  errors=errors_so_far + 1, next_check=next_check.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  seconds=seconds, error=message)
        return PollOutcome(feed.url, "error", error=message, seconds=seconds)

    def _moved(self, feed: FeedToPoll, result: FetchResult) -> str | None:
        """The new URL after a permanent redirect (301/308), reported once, else None."""
        if result.final_url == feed.fetch_url:
            return None
        self.metrics.feed_changes.labels("moved").inc()
        log_event(log, logging.WARNING, "feed-moved", feed=feed.url, old=feed.fetch_url,
                  new=result.final_url, status=result.status)
        return result.final_url

    def _remember_ttl(self, feed_id: int, ttl_minutes: int | None) -> None:
        if ttl_minutes:
            self._ttl[feed_id] = ttl_minutes
        else:
            self._ttl.pop(feed_id, None)

    # -- decide -----------------------------------------------------------------------

    def _decide(self, pending: Sequence[int], now: datetime,
                worker: WorkerProcess | None = None) -> _Decided:
        """Fingerprint the pending items (with all boilerplate learned so far) and place them.

        Items decided earlier whose text carries a block learned since are re-decided too,
        so the clusters do not depend on which feed happened to be polled first.
        """
        pending = list(pending) + self._carrying_fresh_boilerplate(set(pending))
        worker = worker or WorkerProcess(0)
        learned = self.boilerplate.learned_keys()
        decided = _Decided()
        # In chunks, texts read back from the database: the texts and fingerprints of a
        # whole cold poll (10,000 items) at once would cost ~150 MB; the engine gives the
        # same clusters whatever the chunking.  The worker fingerprints the next chunk
        # while this thread decides and stores the current one.
        chunks = [pending[start:start + DECIDE_CHUNK]
                  for start in range(0, len(pending), DECIDE_CHUNK)]
        # Without a child process, a thread fingerprints the next chunk while this one
        # decides and stores the current one: numpy (MinHash, sorting) and SQLite release
        # the GIL for much of their work (a cold poll of 10,000 items: ~0.6 s less).
        overlap = ThreadPoolExecutor(1, thread_name_prefix="fingerprint") \
            if not worker.workers and len(chunks) > 1 else None

        def submit(chunk: list[int]) -> tuple[list[int], list[str], int, Future[Any]]:
            texts = self.storage.item_texts(chunk)
            ids = [item_id for item_id in chunk if item_id in texts]
            if overlap is not None:
                return ids, [], len(ids), overlap.submit(
                    fingerprint_texts, [texts[i][1] for i in ids], learned)
            # The child takes the larger share; this thread fingerprints the rest after
            # deciding the chunk before, so neither side waits long for the other.  Only
            # this thread's share of the texts is kept while they wait.
            split = round(len(ids) * CHILD_SHARE) if worker.workers else 0
            future = worker.fingerprint([texts[i][1] for i in ids[:split]], learned)
            return ids, [texts[i][1] for i in ids[split:]], split, future

        def texts_again(ids: list[int]) -> list[str]:
            texts = self.storage.item_texts(ids)
            return [texts[i][1] if i in texts else "" for i in ids]

        try:
            ahead = submit(chunks[0]) if chunks else None
            for index in range(len(chunks)):
                assert ahead is not None
                ids, own_texts, split, future = ahead
                ahead = submit(chunks[index + 1]) if index + 1 < len(chunks) else None
                mine = fingerprint_texts(own_texts, learned)
                del own_texts
                theirs = worker.fingerprints(split, learned, future,
                                             functools.partial(texts_again, ids[:split]))
                decided.add(self._place(ids, theirs + mine, now))
                release_free_memory()  # the chunk's texts and blobs are gone
        finally:
            if overlap is not None:
                overlap.shutdown(wait=True)
        return decided

    def _place(self, ids: list[int], fingerprints: list[fp_mod.Fingerprint],
               now: datetime) -> ClusterChanges:
        """Decide one chunk of fingerprinted items and store the decision with them."""
        infos = {i.item_id: i for i in self.storage.indexed_items_by_id(ids)}
        candidates: list[Candidate] = []
        stored: list[tuple[int, str | None, bytes | None]] = []
        for item_id, fingerprint in zip(ids, fingerprints, strict=True):
            info = infos.get(item_id)
            if info is None:
                continue
            stored.append((item_id, fingerprint.content_key, fp_mod.to_bytes(fingerprint)))
            candidates.append(self._candidate(info, fingerprint))
        try:
            changes = self.engine.decide(candidates, now)
            self.storage.apply_cluster_changes(changes, fingerprints=stored,
                                               scheme=fp_mod.SCHEME)
        except Exception:
            # The engine may now hold a decision the database does not (a read of stored
            # fingerprints or the write failed halfway): the next poll starts again from
            # the database, where these items wait undecided.
            self._started = False
            raise
        return changes

    def _carrying_fresh_boilerplate(self, excluded: set[int]) -> list[int]:
        fresh = self.boilerplate.take_fresh()
        known = [i for i in self.engine.item_ids() if i not in excluded]
        if not fresh or not known:
            return []
        stale: list[int] = []
        for start in range(0, len(known), DECIDE_CHUNK):  # the window's texts, a slice at a time
            texts = self.storage.item_texts(known[start:start + DECIDE_CHUNK])
            stale.extend(item_id for item_id, (_, text) in texts.items()
                         if self.boilerplate.carries(text, fresh))
        if stale:
            log.info("event=refingerprint reason=boilerplate-learned blocks=%d items=%d",
                     len(fresh), len(stale))
        return stale

    # -- corrections ------------------------------------------------------------------

    def split_item(self, item_id: int) -> ClusterChanges:
        """Take an item out of its cluster for good (a user's correction, method ``manual``)."""
        if not self._started:
            self.start()
        if not self.storage.indexed_items_by_id([item_id]):
            raise AggregatorError(f"no item {item_id}")
        self._ensure_in_engine([item_id])
        return self._apply(self.storage.add_correction("split", item_id))

    def merge_clusters(self, first: int, second: int) -> ClusterChanges:
        """Join two clusters (a user's correction); the lower id survives."""
        if not self._started:
            self.start()
        if first == second:
            raise AggregatorError(f"cannot merge cluster {first} with itself")
        ends = []
        for cluster_id in (first, second):
            cluster = self.storage.get_cluster(cluster_id)
            if cluster is None or cluster.canonical_item_id is None:
                raise AggregatorError(f"no cluster {cluster_id}")
            ends.append(cluster.canonical_item_id)
            self._ensure_in_engine(self.storage.cluster_member_ids(cluster_id))
        return self._apply(self.storage.add_correction("merge", ends[0], ends[1]))

    def _apply(self, correction: CorrectionRecord) -> ClusterChanges:
        touched = self.engine.apply_correction(correction)
        self._corrections_seen = max(self._corrections_seen, correction.id)
        changes = self.engine.settle(touched)
        self.storage.apply_cluster_changes(changes)
        return changes

    def _catch_up_corrections(self) -> None:
        """Replay corrections made since we last looked (e.g. by the CLI beside the daemon)."""
        for correction in self.storage.corrections(after_id=self._corrections_seen):
            items = [correction.item_id] + ([correction.other_item_id]
                                            if correction.other_item_id else [])
            self._ensure_in_engine(items)
            self._apply(correction)

    def _ensure_in_engine(self, item_ids: Sequence[int]) -> None:
        """Load items older than the window (and their cluster mates) that a correction names."""
        known = set(self.engine.item_ids())
        missing = [i for i in item_ids if i not in known]
        if not missing:
            return
        infos = self.storage.indexed_items_by_id(missing)
        mates = {m for info in infos if info.cluster_id is not None
                 for m in self.storage.cluster_member_ids(info.cluster_id)} - known
        infos = self.storage.indexed_items_by_id(sorted(mates | set(missing)))
        self.engine.load(
            [self._candidate(i, fp_mod.from_bytes(i.fingerprint, i.content_hash)
                             if i.fingerprint else None) for i in infos],
            [Assignment(i.item_id, i.cluster_id, i.method or "single", i.score or 1.0,
                        i.matched_item_id) for i in infos if i.cluster_id is not None])

    # -- rebuild ----------------------------------------------------------------------

    def rebuild(self, dry_run: bool = False) -> RebuildReport:
        """Re-fingerprint and re-decide every stored item with the current settings."""
        self.storage.upgrade()
        self.boilerplate.load(self.storage.block_counts(samples_from=NETWORK_LEARN_AT))
        self.boilerplate.take_fresh()
        indexed = self.storage.indexed_items(since=None)
        engine = DedupEngine(self.engine.params, self.storage.max_cluster_id() + 1)
        fingerprints: list[tuple[int, str | None, bytes | None]] = []
        candidates = []
        for start in range(0, len(indexed), DECIDE_CHUNK):  # texts a chunk at a time
            chunk = indexed[start:start + DECIDE_CHUNK]
            texts = self.storage.item_texts([i.item_id for i in chunk])
            for info in chunk:
                fingerprint = fp_mod.fingerprint_blocks(
                    self.boilerplate.filter(texts[info.item_id][1]).kept)
                fingerprints.append((info.item_id, fingerprint.content_key,
                                     fp_mod.to_bytes(fingerprint)))
                candidates.append(self._candidate(info, fingerprint))
        engine.load(candidates, (
            Assignment(i.item_id, i.cluster_id, i.method or "single", i.score or 1.0,
                       i.matched_item_id) for i in indexed if i.cluster_id is not None))
        for correction in self.storage.corrections():
            engine.apply_correction(correction)
        before = {i.item_id: i.cluster_id for i in indexed}
        changes = engine.settle(i.item_id for i in indexed)
        moves = [f"item {a.item_id}: cluster {before.get(a.item_id)} → {a.cluster_id} "
                 f"({a.method} {a.score})" for a in changes.assignments
                 if before.get(a.item_id) != a.cluster_id]
        after = {**before, **{a.item_id: a.cluster_id for a in changes.assignments}}
        if not dry_run:
            self.storage.apply_cluster_changes(changes, fingerprints=fingerprints,
                                               scheme=fp_mod.SCHEME)
            self.engine = engine
        return RebuildReport(items=len(indexed), moved=len(moves),
                             clusters_before=len({c for c in before.values() if c is not None}),
                             clusters_after=len({c for c in after.values() if c is not None}),
                             moves=tuple(moves))


def _moved_note(moved: str | None) -> str | None:
    return f"moved permanently to {moved}; now fetched from there" if moved else None


@dataclass(frozen=True)
class RebuildReport:
    items: int
    moved: int
    clusters_before: int
    clusters_after: int
    moves: tuple[str, ...]


