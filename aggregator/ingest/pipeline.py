"""One process's pipeline: start, poll, corrections and rebuild over one database.

The parts each do one job — :class:`~aggregator.ingest.state.DecisionState` (the caches
of the database a decider works with, and its lease), :class:`~aggregator.ingest.poll.
Poller` (fetch and store), :class:`~aggregator.ingest.decide.Decider` (count evidence,
fingerprint and place), :class:`~aggregator.ingest.corrections.Corrections` and
:func:`~aggregator.ingest.rebuild.rebuild` — and this class wires them in the order a poll
needs: fetch and store, then, if this process is the decider, decide what waits.

Any number of processes may poll and store; one decides at a time (the lease).  A process
that is not the decider hands its items over through the database and can wait for them
(:meth:`Pipeline.wait_until_decided`): a ``poll --once`` beside the daemon, a correction
from the CLI while the daemon runs.  A pipeline made with ``keep_lease=False`` (the CLI's,
the web face's of ``aggregator serve``) gives the lease up after each operation, so a
daemon started later can take it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from aggregator.clean.boilerplate import BoilerplateModel
from aggregator.config import Settings
from aggregator.dedup.engine import DedupEngine
from aggregator.errors import AggregatorError
from aggregator.fetch.http import FetchLimits
from aggregator.ingest import retention
from aggregator.ingest.child import WorkerProcess
from aggregator.ingest.corrections import Corrections
from aggregator.ingest.decide import Decided, Decider
from aggregator.ingest.metrics import Metrics
from aggregator.ingest.poll import Poller, PollResult
from aggregator.ingest.rebuild import RebuildReport, rebuild
from aggregator.ingest.stages import StageTimer, no_timer
from aggregator.ingest.state import DecisionState, dedup_params
from aggregator.storage import Storage
from aggregator.types import (
    ClusterChanges,
    CorrectionRecord,
    FeedToPoll,
    PollOutcome,
    PruneReport,
)

FINGERPRINT_CHILD_MIN_ITEMS = 500
"""Fewer new items are fingerprinted in this process: 500 take about as long as starting
a child process that imports numpy."""
WAIT_STEP = 0.2
"""Seconds between two looks at the database while waiting for another decider."""


class Pipeline:
    """Polls, decides (when it holds the lease), applies corrections."""

    def __init__(
        self,
        storage: Storage,
        settings: Settings,
        metrics: Metrics | None = None,
        timer: StageTimer = no_timer,
        keep_lease: bool = True,
    ) -> None:
        self.storage = storage
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.keep_lease = keep_lease
        self.stopping = threading.Event()
        """Set it to end a running :meth:`poll` early: no further fetch starts, fetches in
        flight are abandoned, and what was already fetched is stored and decided."""
        self.state = DecisionState(storage, dedup_params(settings.dedup))
        self.poller = Poller(storage, settings, self.metrics, self.stopping, timer)
        self.decider = Decider(self.state, storage, self.metrics, timer)
        self.corrections = Corrections(self.state, storage)
        self.handed_over: list[int] = []
        """Items the last :meth:`poll` stored and left to another process to decide."""
        self._started = False

    @property
    def engine(self) -> DedupEngine:
        return self.state.engine

    @property
    def boilerplate(self) -> BoilerplateModel:
        return self.state.boilerplate

    @property
    def limits(self) -> FetchLimits:
        """The fetch limits (a test or a benchmark may set others)."""
        return self.poller.limits

    @limits.setter
    def limits(self, limits: FetchLimits) -> None:
        self.poller.limits = limits

    @property
    def is_decider(self) -> bool:
        return self.state.ready and self.state.lease.held

    def start(self) -> None:
        """Upgrade the schema, register configured feeds and, if no other process decides,
        take the lease: load the state from the database and decide what waits there."""
        self.storage.upgrade()
        self.storage.sync_feeds(self.settings.feeds)
        self._started = True
        try:
            self.decide_waiting()
        finally:
            self.release()

    def lead(self) -> bool:
        """Be the decider if no other process is: True when this process decides."""
        stale = self.state.lead()
        if stale is None:
            return False
        if stale:
            self.storage.queue_for_decision([(item_id, False) for item_id in stale])
        # Corrections first: an engine just loaded must hold every correction before it
        # decides anything, or a split item would rejoin its old cluster for a moment.
        self.corrections.catch_up()
        return True

    def decide_waiting(self, worker: WorkerProcess | None = None) -> Decided | None:
        """As the decider: apply new corrections and decide every waiting item.  None when
        another process decides."""
        if not self.lead():
            return None
        self.corrections.catch_up()
        return self.decider.drain(datetime.now(UTC), worker)

    def release(self) -> None:
        """Give the decider's lease up (unless this pipeline keeps it)."""
        if not self.keep_lease:
            self.state.release()

    def close(self) -> None:
        """Give the lease up and close the database connections (a process that ends
        does both anyway)."""
        self.state.release()
        self.storage.close()

    def poll(self, feeds: Sequence[FeedToPoll] | None = None) -> list[PollOutcome]:
        """Fetch the given feeds (all enabled ones by default) and ingest what they hold."""
        if not self._started:
            self.start()
        if feeds is None:
            feeds = self.storage.feeds_to_poll()
        try:
            # As the decider, this thread counts the evidence of what it stores and decides
            # it at once, without the queue.
            deciding = self.lead()
            polled = self.store(feeds, self.state.boilerplate if deciding else None)
            self.handed_over = []
            if self.lead():
                self._decide_polled(polled.pending)
            else:
                if deciding:  # the lease was lost meanwhile: queue them for the next decider
                    self.storage.queue_for_decision([(i, False) for i in polled.pending])
                self.handed_over = polled.pending
        finally:
            self.release()
        return polled.outcomes

    def store(
        self, feeds: Sequence[FeedToPoll], boilerplate: BoilerplateModel | None = None
    ) -> PollResult:
        """Fetch and store these feeds, leaving their items to the decider (a worker's
        part of a poll: any number may run at once, in any process)."""
        self._upgraded()
        return self.poller.poll(feeds, boilerplate)

    def _upgraded(self) -> None:
        """The schema at this code's revision before the first store (once per pipeline)."""
        if not self._started:
            self.storage.upgrade()
            self._started = True

    @property
    def streaming(self) -> threading.Event:
        """Set while :meth:`stream` takes feeds."""
        return self.poller.streaming

    def stream(self, stored: Callable[[PollOutcome], None]) -> None:
        """The daemon's polling, in this thread until the pipeline stops: each feed
        :meth:`submit` hands in is fetched and stored on its own, its items left to the
        decider's next round (:meth:`Poller.stream`)."""
        self._upgraded()
        self.poller.stream(stored)

    def submit(self, feeds: Sequence[FeedToPoll], read_at: float) -> list[FeedToPoll]:
        """Hand due feeds (read at ``read_at``, ``time.monotonic()``) to the running
        :meth:`stream`; those it took (:meth:`Poller.submit`)."""
        return self.poller.submit(feeds, read_at)

    def polling(self) -> int:
        """Feeds the stream is polling now."""
        return self.poller.polling()

    def store_in_turn(
        self,
        feeds: Sequence[FeedToPoll],
        until: datetime | None = None,
        hand_back: Callable[[Sequence[FeedToPoll]], None] | None = None,
    ) -> PollResult:
        """:meth:`store` for these feeds one after another, in this thread, no fetch
        starting that could not end by ``until``, the feeds after a slow fetch handed to
        ``hand_back`` (a worker's task: :meth:`Poller.poll_in_turn`)."""
        self._upgraded()
        return self.poller.poll_in_turn(feeds, until, hand_back)

    def _decide_polled(self, pending: list[int]) -> None:
        # By default this process fingerprints alone: this is when it holds the most
        # (the engine has grown by the whole batch), and a second interpreter with numpy
        # would add ~30 MB to that peak to save ~15 % of a cold poll's time.  When asked
        # to, a child of its own does (it imports numpy, not feedparser), started once the
        # parser child has exited: the two never hold memory at once.
        polling = self.settings.polling
        fingerprinter = WorkerProcess(
            polling.worker_processes
            if polling.fingerprint_worker and len(pending) >= FINGERPRINT_CHILD_MIN_ITEMS
            else 0
        )
        try:
            self.decider.decide(pending, datetime.now(UTC), fingerprinter)
            self.decide_waiting(fingerprinter)  # what other processes handed over
        finally:
            fingerprinter.close()

    def wait_until_decided(self, item_ids: Sequence[int], timeout: float) -> list[int]:
        """Wait for another decider to place these items; return those still waiting."""
        deadline = time.monotonic() + timeout
        waiting = self.storage.waiting(item_ids)
        while waiting and time.monotonic() < deadline and not self.stopping.is_set():
            time.sleep(WAIT_STEP)
            waiting = self.storage.waiting(sorted(waiting))
        return sorted(waiting)

    def split_item(self, item_id: int, timeout: float = 30.0) -> ClusterChanges | None:
        """Take an item out of its cluster for good (a user's correction, method
        ``manual``).  None: stored, and still waiting for the daemon that decides after
        ``timeout`` seconds."""
        return self._correct(lambda: self.corrections.record_split(item_id), timeout)

    def merge_clusters(
        self, first: int, second: int, timeout: float = 30.0
    ) -> ClusterChanges | None:
        """Join two clusters (a user's correction); the lower id survives.  None: as for
        :meth:`split_item`."""
        return self._correct(lambda: self.corrections.record_merge(first, second), timeout)

    def _correct(
        self, record: Callable[[], CorrectionRecord], timeout: float
    ) -> ClusterChanges | None:
        """Store a correction, then apply it as the decider, or wait for the decider."""
        self.storage.upgrade()
        correction = record()
        try:
            if self.lead():
                return self.corrections.catch_up()
        finally:
            self.release()
        deadline = time.monotonic() + timeout
        while self.storage.corrections_applied() < correction.id:
            if time.monotonic() >= deadline:
                return None
            time.sleep(WAIT_STEP)
        return ClusterChanges()

    def prune(
        self, max_age: float | None, dry_run: bool = False, now: datetime | None = None
    ) -> PruneReport:
        """Forget old boilerplate evidence and (with ``max_age``) drop the stories whose
        every item is older than ``max_age`` days (retention): as the decider, or as a
        process that takes the lease for it while no other holds it.  ``dry_run``: count
        only, whoever decides."""
        now = now or datetime.now(UTC)
        if dry_run:
            return retention.count_old(self.state, max_age, now)
        if not self.state.lease.held:
            self.state.invalidate()  # not loaded for pruning: the next decision loads it
            if not self.state.lease.try_acquire():
                raise AggregatorError(
                    "another process (the daemon) decides on this database and prunes it "
                    "daily: stop it to prune now "
                    "(--dry-run counts without it)"
                )
        try:
            return retention.prune(self.state, max_age, now)
        finally:
            self.release()

    def rebuild(self, dry_run: bool = False) -> RebuildReport:
        """Re-fingerprint and re-decide every stored item with the current settings."""
        self.storage.upgrade()
        if not self.lead():
            raise AggregatorError(
                "another process (the daemon) decides on this database: "
                "stop it before `dedup rebuild`"
            )
        try:
            report = rebuild(self.storage, self.state.params, dry_run)
        finally:
            self.state.ready = False  # the database changed under the engine
            self.release()
        return report
