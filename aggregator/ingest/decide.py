"""The decider's work: place the items waiting in the database, whoever stored them.

The waiting items are taken oldest first, a batch at a time.  First the boilerplate
evidence of the new ones is counted (one transaction per feed, which also marks them
counted), so that a footer the batch repeats is learned before any of it is
fingerprinted.  Then the items are read back a chunk at a time, fingerprinted with every
block learned so far, decided by the engine, and the decision is written with the
fingerprints it was made from, in one transaction per chunk that also takes the items off
the queue.  Items decided earlier whose text carries a block learned since are re-decided
too, so the clusters do not depend on which feed happened to be polled first.

Crash safety: items and their place in the queue are committed first (by whoever
stored them), then fingerprints, memberships and the queue row together; evidence is
counted at most once per item.  A ``kill -9`` at any moment leaves every item either
decided once or still waiting, and the next decider places what waits.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aggregator.clean.blockcounts import utc_day
from aggregator.clean.boilerplate import Evidence
from aggregator.dedup.engine import Candidate
from aggregator.dedup.rules import Method
from aggregator.fingerprint import signature as fp_mod
from aggregator.ingest.child import WorkerProcess, fingerprint_texts
from aggregator.ingest.counting import countable
from aggregator.ingest.memory import release_free_memory
from aggregator.ingest.metrics import Metrics, log_event
from aggregator.ingest.stages import Stage, StageTimer, timed
from aggregator.ingest.state import DecisionState, candidate
from aggregator.storage import Storage
from aggregator.types import ClusterChanges

log = logging.getLogger("aggregator.ingest")

DECIDE_CHUNK = 250
"""Items fingerprinted, decided and written together (the index is searched a batch at a
time: ~200 is already efficient; larger chunks only raise the memory peak)."""
EVIDENCE_CHUNK = 2_000
"""New items whose evidence is counted and stored in one transaction."""
DRAIN_BATCH = 10_000
"""Waiting items taken at once: their evidence is counted before any is fingerprinted."""
CHILD_SHARE = 0.7
"""Share of each decision chunk the child process fingerprints (measured balance: the
writer also decides and stores each chunk)."""


@dataclass
class Decided:
    """What a decision changed, as counts for the metrics and the log: a cold poll decides
    thousands of items, and their assignments are stored chunk by chunk, not kept."""

    assignments: int = 0
    joined: int = 0
    clusters: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)

    def add(self, changes: ClusterChanges) -> None:
        """Count one stored decision."""
        self.assignments += len(changes.assignments)
        self.joined += sum(1 for a in changes.assignments if a.method != Method.SINGLE)
        self.clusters.update(c.cluster_id for c in changes.clusters)
        self.deleted.update(changes.deleted_clusters)

    def merge(self, other: Decided) -> None:
        self.assignments += other.assignments
        self.joined += other.joined
        self.clusters |= other.clusters
        self.deleted |= other.deleted


@dataclass(frozen=True)
class _Chunk:
    """One chunk on its way: the ids found, the texts this thread fingerprints itself,
    and the answer for the rest (``split`` of them, from the child or a thread)."""

    queued: list[int]
    """The chunk as asked for: its queue rows go with its decision (an item deleted
    meanwhile has no text, and no row either once its feed is gone)."""
    ids: list[int]
    titles: list[str | None]
    """The titles of ``ids``, in order (small: kept for the whole chunk)."""
    own_texts: list[str]
    split: int
    future: Future[Any]


class Decider:
    """Fingerprints and decides stored items with one :class:`DecisionState`."""

    def __init__(
        self, state: DecisionState, storage: Storage, metrics: Metrics, timer: StageTimer
    ) -> None:
        self.state = state
        self.storage = storage
        self.metrics = metrics
        self.timer = timer

    def drain(self, now: datetime, worker: WorkerProcess | None = None) -> Decided:
        """Decide every waiting item, oldest first, a batch at a time."""
        decided = Decided()
        while True:
            rows = self.storage.undecided(DRAIN_BATCH)
            if not rows:
                return decided
            fresh = [item_id for item_id, is_new in rows if is_new]
            if fresh:
                with timed(self.timer, Stage.BOILERPLATE):
                    self._count_evidence(fresh, utc_day(now))
            decided.merge(self.decide([item_id for item_id, _ in rows], now, worker))
            if len(rows) < DRAIN_BATCH:
                return decided

    def _count_evidence(self, item_ids: list[int], day: int) -> None:
        """Count the short blocks of new items as boilerplate evidence, a feed at a time
        (the model learns from one feed's counts before the next is observed), stored a
        chunk at a time across feeds: one transaction per feed cost 85 % of a decision
        when new items came from many feeds."""
        by_feed: dict[int, list[int]] = {}
        for item_id, feed_id in self.storage.feeds_of(item_ids).items():
            by_feed.setdefault(feed_id, []).append(item_id)
        ordered = [(feed_id, item_id) for feed_id, ids in by_feed.items() for item_id in ids]
        for start in range(0, len(ordered), EVIDENCE_CHUNK):
            chunk = ordered[start : start + EVIDENCE_CHUNK]
            try:
                self._count_chunk(chunk, day)
            except Exception:
                # The model has counted what the database may not hold: load it again.
                self.state.invalidate()
                raise

    def _count_chunk(self, chunk: list[tuple[int, int]], day: int) -> None:
        boilerplate = self.state.boilerplate
        texts = self.storage.item_texts([item_id for _, item_id in chunk])
        counts = countable(
            self.storage,
            [
                (item_id, texts[item_id][1], texts[item_id][2])
                for _, item_id in chunk
                if item_id in texts
            ],
        )
        per_feed: dict[int, list[Evidence]] = {}
        for feed_id, item_id in chunk:
            if item_id in counts:
                per_feed.setdefault(feed_id, []).append(counts[item_id])
        counted: dict[int, dict[str, tuple[int, str]]] = {}
        learned: set[str] = set()
        for feed_id, feed_evidence in per_feed.items():
            increments = boilerplate.observe(feed_id, feed_evidence)
            learned |= boilerplate.learned_by(increments)
            boilerplate.apply(feed_id, increments, day)  # before the next feed is observed
            counted[feed_id] = increments
        with self.storage.unit():
            self.storage.add_block_counts_many(counted, day)
            self.storage.add_relearn_keys(learned)
            self.storage.evidence_counted([item_id for _, item_id in chunk], self.state.fence)

    def decide(
        self, pending: Sequence[int], now: datetime, worker: WorkerProcess | None = None
    ) -> Decided:
        """Fingerprint these items and place them; observe it in the metrics."""
        first_new_cluster, started = self.state.engine.next_cluster_id, time.monotonic()
        decided = self._decide(pending, now, worker or WorkerProcess(0))
        seconds = time.monotonic() - started
        self.metrics.decision_seconds.observe(seconds / max(len(pending), 1))
        events = self.metrics.cluster_events
        events.labels("formed").inc(sum(1 for c in decided.clusters if c >= first_new_cluster))
        events.labels("joined").inc(decided.joined)
        events.labels("merged").inc(len(decided.deleted))
        log_event(
            log,
            logging.INFO,
            "decided",
            items=len(pending),
            assignments=decided.assignments,
            clusters=len(decided.clusters),
            seconds=seconds,
        )
        return decided

    def _decide(self, pending: Sequence[int], now: datetime, worker: WorkerProcess) -> Decided:
        fresh = self.state.boilerplate.take_fresh()
        try:
            return self._decide_with(fresh, pending, now, worker)
        except Exception:
            self.state.boilerplate.mark_fresh(fresh)  # still to do, as the database says
            raise

    def _decide_with(
        self, fresh: set[str], pending: Sequence[int], now: datetime, worker: WorkerProcess
    ) -> Decided:
        pending = list(pending) + self._carrying(fresh, set(pending))
        learned = self.state.boilerplate.learned_keys()
        decided = Decided()
        # In chunks, texts read back from the database: the texts and fingerprints of a
        # whole cold poll (10,000 items) at once would cost ~150 MB; the engine gives the
        # same clusters whatever the chunking.
        chunks = [
            pending[start : start + DECIDE_CHUNK] for start in range(0, len(pending), DECIDE_CHUNK)
        ]
        # Without a child process, a thread fingerprints the next chunk while this one
        # decides and stores the current one: numpy (MinHash, sorting) and SQLite release
        # the GIL for much of their work.
        overlap = (
            ThreadPoolExecutor(1, thread_name_prefix="fingerprint")
            if not worker.workers and len(chunks) > 1
            else None
        )

        def submit(chunk: list[int]) -> _Chunk:
            texts = self.storage.item_texts(chunk)
            ids = [item_id for item_id in chunk if item_id in texts]
            titles = [texts[i][2] for i in ids]
            if overlap is not None:
                return _Chunk(
                    chunk,
                    ids,
                    titles,
                    [],
                    len(ids),
                    overlap.submit(fingerprint_texts, [texts[i][1] for i in ids], learned, titles),
                )
            # The child takes the larger share; this thread fingerprints the rest after
            # deciding the chunk before, so neither side waits long for the other.  Only
            # this thread's share of the texts is kept while they wait.
            split = round(len(ids) * CHILD_SHARE) if worker.workers else 0
            future = worker.fingerprint([texts[i][1] for i in ids[:split]], learned, titles[:split])
            return _Chunk(chunk, ids, titles, [texts[i][1] for i in ids[split:]], split, future)

        try:
            ahead = submit(chunks[0]) if chunks else None
            for index in range(len(chunks)):
                assert ahead is not None
                chunk = ahead
                ahead = submit(chunks[index + 1]) if index + 1 < len(chunks) else None
                with timed(self.timer, Stage.FINGERPRINT):
                    mine = fingerprint_texts(chunk.own_texts, learned, chunk.titles[chunk.split :])
                    theirs = worker.fingerprints(
                        chunk.split,
                        learned,
                        chunk.future,
                        functools.partial(self._texts_again, chunk.ids[: chunk.split]),
                        chunk.titles[: chunk.split],
                    )
                decided.add(self.place(chunk.ids, theirs + mine, now, chunk.queued))
                release_free_memory()  # the chunk's texts and blobs are gone
        finally:
            if overlap is not None:
                overlap.shutdown(wait=True)
        if fresh:
            self.storage.drop_relearn_keys(fresh)  # their carriers are decided again
        return decided

    def _texts_again(self, ids: list[int]) -> list[str]:
        texts = self.storage.item_texts(ids)
        return [texts[i][1] if i in texts else "" for i in ids]

    def place(
        self,
        ids: list[int],
        fingerprints: list[fp_mod.Fingerprint],
        now: datetime,
        queued: Sequence[int] = (),
    ) -> ClusterChanges:
        """Decide one chunk of fingerprinted items and store the decision with them (and
        take the ``queued`` items off the queue)."""
        infos = {i.item_id: i for i in self.storage.indexed_items_by_id(ids)}
        candidates: list[Candidate] = []
        stored: list[tuple[int, str | None, bytes | None]] = []
        latency, decided_at = self.metrics.decision_latency, datetime.now(UTC)
        for item_id, fingerprint in zip(ids, fingerprints, strict=True):
            info = infos.get(item_id)
            if info is None:
                continue
            if info.cluster_id is None and info.first_seen is not None:  # its first decision
                latency.observe(max((decided_at - info.first_seen).total_seconds(), 0.0))
            stored.append((item_id, fingerprint.content_key, fp_mod.to_bytes(fingerprint)))
            candidates.append(candidate(info, fingerprint))
        try:
            with timed(self.timer, Stage.DECIDE):
                changes = self.state.engine.decide(candidates, now)
            with timed(self.timer, Stage.STORE_DECISIONS):
                self.storage.apply_cluster_changes(
                    changes,
                    fingerprints=stored,
                    scheme=fp_mod.SCHEME,
                    decided=queued,
                    fence=self.state.fence,
                )
        except Exception:
            # The engine may now hold a decision the database does not: the next poll
            # starts again from the database, where these items wait undecided.
            self.state.invalidate()
            raise
        return changes

    def _carrying(self, fresh: set[str], excluded: set[int]) -> list[int]:
        """The window's items (but ``excluded``) that carry a block of ``fresh``: their
        fingerprints still hold it.  Only the feeds with evidence for those blocks are
        searched, not the whole window."""
        if not fresh:
            return []
        boilerplate = self.state.boilerplate
        feeds = boilerplate.feeds_carrying(fresh)
        known = [i for i in self.state.engine.item_ids_of_feeds(feeds) if i not in excluded]
        stale: list[int] = []
        for start in range(0, len(known), DECIDE_CHUNK):  # their texts, a slice at a time
            texts = self.storage.item_texts(known[start : start + DECIDE_CHUNK])
            stale.extend(
                item_id
                for item_id, (_, text, _) in texts.items()
                if boilerplate.carries(text, fresh)
            )
        if stale:
            log.info(
                "event=refingerprint reason=boilerplate-learned blocks=%d items=%d",
                len(fresh),
                len(stale),
            )
        return stale
