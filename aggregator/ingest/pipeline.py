"""One writer's pipeline: start, poll, corrections and rebuild over one database.

The parts each do one job — :class:`~aggregator.ingest.state.DecisionState` (the caches
of the database a decider works with), :class:`~aggregator.ingest.poll.Poller` (fetch
and store), :class:`~aggregator.ingest.decide.Decider` (fingerprint and place),
:class:`~aggregator.ingest.corrections.Corrections` and
:func:`~aggregator.ingest.rebuild.rebuild` — and this class wires them in the order a poll
needs: catch up on corrections, fetch and store, then decide what is new.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from aggregator.clean.boilerplate import BoilerplateModel
from aggregator.config import Settings
from aggregator.dedup.engine import DedupEngine
from aggregator.fetch.http import FetchLimits
from aggregator.ingest.child import WorkerProcess
from aggregator.ingest.corrections import Corrections
from aggregator.ingest.decide import Decider
from aggregator.ingest.metrics import Metrics
from aggregator.ingest.poll import Poller
from aggregator.ingest.rebuild import RebuildReport, rebuild
from aggregator.ingest.stages import StageTimer, no_timer
from aggregator.ingest.state import DecisionState, dedup_params
from aggregator.storage import Storage
from aggregator.types import ClusterChanges, FeedToPoll, PollOutcome

FINGERPRINT_CHILD_MIN_ITEMS = 500
"""Fewer new items are fingerprinted in this process: 500 take about as long as starting
a child process that imports numpy."""


class Pipeline:
    """The single writer of one process: polls, decides, applies corrections."""

    def __init__(self, storage: Storage, settings: Settings, metrics: Metrics | None = None,
                 timer: StageTimer = no_timer) -> None:
        self.storage = storage
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.stopping = threading.Event()
        """Set it to end a running :meth:`poll` early: no further fetch starts, fetches in
        flight are abandoned, and what was already fetched is stored and decided."""
        self.state = DecisionState(storage, dedup_params(settings.dedup))
        self.poller = Poller(storage, settings, self.metrics, self.stopping, timer)
        self.decider = Decider(self.state, storage, self.metrics, timer)
        self.corrections = Corrections(self.state, storage)

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

    def start(self) -> None:
        """Upgrade the schema, register configured feeds, rebuild the in-memory state from
        the database and decide what it holds undecided (a crash's leftovers)."""
        self.storage.upgrade()
        self.storage.sync_feeds(self.settings.feeds)
        now = datetime.now(UTC)
        stale = self.state.load(now)
        self.corrections.catch_up()
        if stale:
            self.decider.decide(stale, now)

    def _ready(self) -> None:
        if not self.state.ready:
            self.start()

    def poll(self, feeds: Sequence[FeedToPoll] | None = None) -> list[PollOutcome]:
        """Fetch the given feeds (all enabled ones by default) and ingest what they hold."""
        self._ready()
        if feeds is None:
            feeds = self.storage.feeds_to_poll()
        self.corrections.catch_up()
        polled = self.poller.poll(feeds, self.state.boilerplate)
        if polled.pending:
            # By default this process fingerprints alone: this is when it holds the most
            # (the engine has grown by the whole batch), and a second interpreter with
            # numpy would add ~30 MB to that peak to save ~15 % of a cold poll's time.
            # When asked to, a child of its own does (it imports numpy, not feedparser),
            # started once the parser child has exited: the two never hold memory at once.
            polling = self.settings.polling
            fingerprinter = WorkerProcess(
                polling.worker_processes if polling.fingerprint_worker
                and len(polled.pending) >= FINGERPRINT_CHILD_MIN_ITEMS else 0)
            try:
                self.decider.decide(polled.pending, datetime.now(UTC), fingerprinter)
            finally:
                fingerprinter.close()
        return polled.outcomes

    def split_item(self, item_id: int) -> ClusterChanges:
        """Take an item out of its cluster for good (a user's correction, method ``manual``)."""
        self._ready()
        return self.corrections.split_item(item_id)

    def merge_clusters(self, first: int, second: int) -> ClusterChanges:
        """Join two clusters (a user's correction); the lower id survives."""
        self._ready()
        return self.corrections.merge_clusters(first, second)

    def rebuild(self, dry_run: bool = False) -> RebuildReport:
        """Re-fingerprint and re-decide every stored item with the current settings."""
        self.storage.upgrade()
        report = rebuild(self.storage, self.state.params, dry_run)
        if not dry_run:
            self.state.invalidate()  # the database changed under the engine
        return report
