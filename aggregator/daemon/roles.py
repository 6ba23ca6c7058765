"""The roles of a multi-process installation: workers and deciders around a task broker.

With PostgreSQL and a broker (``broker:`` in the config, RabbitMQ or Redis, driven by
Dramatiq), the work spreads over processes on any number of machines:

* ``aggregator decider`` — run two or more: one holds the decider's lease, the others
  stand by and take over (loading the state from the database) when it dies.  Every
  ``DECIDER_TICK`` the active one claims the due feeds (their next check moves to
  ``CLAIM_LEASE``, so no feed is handed out twice) and sends ``poll_feeds`` tasks, each
  a batch of one host's feeds (between rounds too, every ``DISPATCH_TICK``, once a worker
  has recorded a batch and its host has a free slot again: see
  :mod:`aggregator.daemon.politeness`); it places the items waiting in the database,
  whoever stored them, applies the corrections made anywhere, in order, and daily
  forgets old boilerplate evidence and drops old stories when ``retention.max_age`` is
  set.
* ``aggregator worker`` — any number: takes ``poll_feeds`` tasks and fetches, parses,
  cleans and stores their feeds one after another, leaving the new items to the decider.
  A task is acknowledged only once its feeds are stored: the broker hands the task of a
  worker that died to another one, which polls the feeds the first did not record, so a
  ``kill -9`` costs a few more fetches (those of its batch whose record was not written:
  304 answers are written together), never an item (items are identified by feed and
  entry id, so a second store of one changes nothing).  A task lost altogether is made
  again when its feeds' lease runs out.  A task starts no fetch that could outlast the
  lease, and a worker that stops gives back the feeds of its batch it did not reach.
* ``aggregator serve`` — any number: the web face; corrections are stored and applied
  by the decider.

The embedded default (``aggregator run``, one process) needs none of this.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import dramatiq
from prometheus_client import Gauge, start_http_server

from aggregator.config import Settings
from aggregator.daemon.politeness import HostSlots
from aggregator.daemon.scheduler import INDEX_EVERY, PRUNE_EVERY, configure_logging
from aggregator.daemon.stopping import on_stop_signals, wait_until_set
from aggregator.errors import AggregatorError
from aggregator.fetch.http import FetchLimits
from aggregator.fetch.pool import most_running
from aggregator.ingest.metrics import Metrics, log_event
from aggregator.ingest.pipeline import Pipeline
from aggregator.ingest.retention import log_pruned
from aggregator.storage import Storage
from aggregator.types import FeedToPoll

log = logging.getLogger("aggregator.roles")

DECIDER_TICK = 0.5
"""Seconds between two rounds of the decider: claim due feeds, decide what waits."""
DISPATCH_TICK = 0.1
"""Seconds between two looks, between rounds, for feeds the workers have recorded: their
hosts' next due feeds go out then."""
CLAIM_LEASE = timedelta(minutes=15)
"""How long a feed handed to the workers is not due again.  A worker that stores it sets
its real next check; the lease only matters when a task is lost altogether."""
CLAIM_BATCH = 5_000
HOST_BATCH = 10
"""Most feeds of one host in one task.  A worker fetches them one after another; a fetch
running past ``SLOW_AFTER`` gives the rest back for the host's other slot, and the batch is
kept short all the same (its feeds are late by each other's fetches)."""
PRUNE_RETRY = 3600.0
"""Seconds before a prune that failed is tried again (a success waits ``PRUNE_EVERY``)."""
TASK_TIME_LIMIT_MS = int((CLAIM_LEASE + timedelta(minutes=1)).total_seconds() * 1000)
"""A backstop only: a task starts no fetch that could outlast its claim's lease."""
TASK_RETRIES = 3
TASK_RETRY_BACKOFF_MS = (2_000, 60_000)
"""A task fails only when storing fails (a fetch error is the feed's, recorded): the
database is away for a restart or a failover, so retry soon (2, 4, 8 s) rather than at
Dramatiq's 15 s and more; past the retries, the claim's lease brings the feed back."""


def queue_name(settings: Settings) -> str:
    """The broker queue of this installation: named after its database, so that one
    broker can serve several installations (and tests) without mixing their tasks."""
    database = settings.database.rsplit("/", 1)[-1].split("?", 1)[0] or "default"
    return f"aggregator.{database}"


def make_broker(url: str) -> dramatiq.Broker:
    """The Dramatiq broker for ``amqp://`` (RabbitMQ) or ``redis://`` URLs."""
    # Each client library is imported only for its own URL scheme: a role starts faster.
    if url.startswith("amqp"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        # Publisher confirms: a task the decider sent is on the broker's disk, or the send
        # raised (and the feed's lease brings it back).
        return RabbitmqBroker(url=url, confirm_delivery=True)
    if url.startswith("redis"):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url)  # type: ignore[no-untyped-call]  # untyped upstream
    raise AggregatorError(f"broker: unsupported URL {url!r} (amqp:// or redis://)")


def poll_feeds_actor(
    broker: dramatiq.Broker, queue: str, pipeline: Pipeline | None
) -> dramatiq.Actor[[list[list[Any]], str], None]:
    """The ``poll_feeds`` task on this broker's ``queue``; ``pipeline`` runs it (None: this
    process only sends it).  A task is a batch of one host's feeds, ``[feed id, due]`` each
    (``due``: when the feed was due, ISO 8601, for the lateness the worker measures: the
    stored next check is the claim's lease by then), and ``lease``, the next check the
    claim gave them.  The worker polls the feeds that still hold that lease, one after
    another: a task delivered again (its worker was killed) polls only what the first
    delivery did not record, and a feed claimed again since belongs to the newer task."""

    def poll_feeds(batch: list[list[Any]], lease: str) -> None:
        if pipeline is None:
            raise AggregatorError("this process only sends poll_feeds tasks")
        held = datetime.fromisoformat(lease)
        due = {int(feed_id): when for feed_id, when in batch}
        order = {feed_id: n for n, feed_id in enumerate(due)}
        feeds = sorted(
            (
                replace(feed, due=datetime.fromisoformat(due[feed.id]) if due[feed.id] else None)
                for feed in pipeline.storage.feeds_to_poll(feed_ids=list(due))
                if feed.due == held  # removed, disabled or recorded since: nothing to do
            ),
            key=lambda feed: order[feed.id],
        )

        def hand_back(rest: Sequence[FeedToPoll]) -> None:
            # Behind a slow fetch: due now, for the host's other slot (this batch still
            # holds one until the slow feed is recorded).
            pipeline.storage.give_back([f.id for f in rest], held, datetime.now(UTC))

        # No fetch starts that could outlast the claim: past its lease the decider hands
        # the feeds (and their host's slot) out again.
        outcomes = pipeline.store_in_turn(feeds, until=held, hand_back=hand_back).outcomes
        polled = {outcome.feed_url for outcome in outcomes}
        left = [feed.id for feed in feeds if feed.url not in polled]
        if left:  # stopping, or the lease too near: due now, unless claimed again since
            pipeline.storage.give_back(left, held, datetime.now(UTC))

    declare = dramatiq.actor(
        broker=broker,
        actor_name="poll_feeds",
        queue_name=queue,
        max_retries=TASK_RETRIES,
        min_backoff=TASK_RETRY_BACKOFF_MS[0],
        max_backoff=TASK_RETRY_BACKOFF_MS[1],
        time_limit=TASK_TIME_LIMIT_MS,
    )
    return declare(poll_feeds)


class _Stop:
    """SIGTERM/SIGINT set the event: the role finishes what it holds and exits."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        on_stop_signals(self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        log_event(log, logging.INFO, "stopping", signal=signal.Signals(signum).name)
        self.event.set()


def _prepare(
    metrics: Metrics, metrics_port: int | None, stop: threading.Event | None
) -> threading.Event:
    """Serve the role's metrics; return the event that stops it (SIGTERM/SIGINT set it
    unless the caller brings its own)."""
    if metrics_port is not None:
        start_http_server(metrics_port, registry=metrics.registry)
    if stop is not None:
        return stop
    stopper = _Stop()
    stopper.install()
    return stopper.event


def _require_broker(settings: Settings) -> str:
    if not settings.broker:
        raise AggregatorError(
            "no broker: set `broker:` in the config (or AGGREGATOR_BROKER_URL)"
            " to run the decider and workers as separate processes; "
            "`aggregator run` needs none"
        )
    if settings.database.startswith("sqlite"):
        raise AggregatorError(
            "workers and deciders on several processes need PostgreSQL "
            "(`database:`); on SQLite run `aggregator run`"
        )
    return settings.broker


def run_worker(
    settings: Settings,
    threads: int | None,
    metrics_port: int | None,
    stop: threading.Event | None = None,
) -> int:
    """Take ``poll_feeds`` tasks until stopped, ``threads`` at once (None: as many as one
    daemon's fetches may run, slow ones included: a batch held by a feed that drips until
    its deadline holds a thread, and with only ``polling.concurrency`` threads, 20 such
    feeds a minute at 25 s each held half of two workers' threads)."""
    threads = threads or most_running(settings.polling.concurrency)
    configure_logging()
    broker = make_broker(_require_broker(settings))
    metrics = Metrics()
    pipeline = Pipeline(Storage(settings.database), settings, metrics, keep_lease=False)
    pipeline.storage.upgrade()
    queue = queue_name(settings)
    poll_feeds_actor(broker, queue, pipeline)
    stop = _prepare(metrics, metrics_port, stop)
    worker = dramatiq.Worker(broker, worker_threads=threads)
    worker.start()
    log_event(log, logging.INFO, "worker-started", threads=threads, queue=queue)
    wait_until_set(stop)
    # Each batch in flight ends its fetch, stores it and gives back the feeds it did not
    # reach; its task is then acknowledged.
    pipeline.stopping.set()
    worker.stop(timeout=5_000)
    broker.close()
    log_event(log, logging.INFO, "stopped", role="worker")
    return 0


class Decider:
    """The decider role: claims due feeds for the workers and decides what they store."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.pipeline = Pipeline(Storage(settings.database), settings, metrics)
        self.broker = make_broker(_require_broker(settings))
        self.queue = queue_name(settings)
        self.actor = poll_feeds_actor(self.broker, self.queue, None)
        self.queue_depth = Gauge(
            "aggregator_queue_depth", "poll_feeds tasks on the broker", registry=metrics.registry
        )
        self.next_prune = time.monotonic()
        """When the active decider next forgets old evidence and drops old stories."""
        self.next_index = time.monotonic()
        """When the active decider next indexes for search what the workers stored."""
        self.slots = HostSlots(FetchLimits.per_host, HOST_BATCH)
        """The batches handed out and not yet recorded, per host (politeness)."""
        self.due: list[FeedToPoll] = []
        """The due feeds read at the last round and not handed out since."""

    def round(self) -> bool:
        """One round; True while this process is the decider (else a standby)."""
        if not self.pipeline.lead():
            self.metrics.decider.set(0)
            return False
        self.metrics.decider.set(1)
        now = datetime.now(UTC)
        storage = self.pipeline.storage
        self.dispatch(only_if_freed=False)
        self.pipeline.decide_waiting()
        waiting, oldest = storage.decision_backlog()
        self.metrics.decision_backlog.set(waiting)
        self.metrics.decision_lag.set((now - oldest).total_seconds() if oldest else 0.0)
        self.queue_depth.set(_queue_depth(self.broker, self.queue))
        self._index_when_due()
        self._prune_when_due()
        return True

    def dispatch(self, only_if_freed: bool = True) -> None:
        """Hand the due feeds whose host has a free slot to the workers, in batches (see
        :mod:`aggregator.daemon.politeness`).  Between two rounds (``only_if_freed``) only
        when a batch has landed since: a host gets its next feeds as soon as its last ones
        land, not a round later (rounds decide, and take a second on a busy machine).  The
        due feeds are read once a round; between rounds the ones left are taken from
        memory, and the claim takes only those still due, so a list a few tenths of a
        second old hands nothing out twice."""
        now = datetime.now(UTC)
        storage = self.pipeline.storage
        freed = self.slots.landed(storage.next_check_of(self.slots.feed_ids()), now)
        if only_if_freed and not freed:
            return
        if not only_if_freed:
            self.due = storage.due_feeds(now, CLAIM_BATCH)
        batches = self.slots.admit(self.due)
        taken = {feed.id for batch in batches for feed in batch}
        self.due = [feed for feed in self.due if feed.id not in taken]
        lease = now + CLAIM_LEASE
        claimed = {f.id for f in storage.claim_feeds([f for b in batches for f in b], now, lease)}
        sent = 0
        for n, batch in enumerate(batches):
            batch = [feed for feed in batch if feed.id in claimed]
            if not batch:
                continue
            try:
                self.actor.send(
                    [[f.id, f.due.isoformat() if f.due else None] for f in batch], lease.isoformat()
                )
            except Exception as exc:  # the broker is away (pika's errors are not Dramatiq's)
                # What was claimed and not sent is due again now, not after the lease.
                rest = [f.id for b in batches[n:] for f in b if f.id in claimed]
                storage.give_back(rest, lease, now)
                log.warning("event=broker-unavailable error=%s", exc.__class__.__name__)
                break
            self.slots.handed(batch, lease)
            sent += len(batch)
        self.metrics.feeds_due.set(len(self.due) + sent)

    def _index_when_due(self) -> None:
        """Index for search what was stored since the last catch-up, every
        ``INDEX_EVERY`` (a failure is logged; the next catch-up takes the same items)."""
        if time.monotonic() < self.next_index:
            return
        self.next_index = time.monotonic() + INDEX_EVERY
        try:
            indexed = self.pipeline.storage.update_search_index()
        except AggregatorError as exc:
            log.warning("event=index-failed error=%s: %s", exc.__class__.__name__, exc)
            return
        if indexed:
            log_event(log, logging.DEBUG, "indexed", items=indexed)

    def _prune_when_due(self) -> None:
        """Forget old evidence and drop old stories at start and every ``PRUNE_EVERY``
        (the decider's job: its model and engine hold them); a failure is logged and tried
        again in ``PRUNE_RETRY``."""
        max_age = self.settings.retention.max_age
        if time.monotonic() < self.next_prune:
            return
        try:
            report = self.pipeline.prune(max_age)
        except AggregatorError as exc:
            self.next_prune = time.monotonic() + PRUNE_RETRY
            log.warning("event=prune-failed error=%s: %s", exc.__class__.__name__, exc)
            return
        self.next_prune = time.monotonic() + PRUNE_EVERY
        log_pruned(log, report, max_age)


def _queue_depth(broker: dramatiq.Broker, queue: str) -> float:
    """Tasks on the broker for ``queue``; NaN when the broker cannot say (a metric only:
    a broker away must not cost the decider its lease and its loaded state)."""
    counts: Callable[[str], Any] | None = getattr(broker, "get_queue_message_counts", None)
    if counts is None:
        return 0
    try:
        messages, delayed, _dead = counts(queue)
    except Exception as exc:
        # RabbitmqBroker drops a dead connection when a send fails, not when this read
        # does: without this, after a broker restart the read fails on the closed channel
        # until a feed comes due.  The next use opens a new connection.
        with contextlib.suppress(AttributeError):
            delattr(broker, "connection")
        log.warning("event=queue-depth-unavailable error=%s", exc.__class__.__name__)
        return math.nan
    return int(messages) + int(delayed)


def run_decider(
    settings: Settings, metrics_port: int | None, stop: threading.Event | None = None
) -> int:
    """Decide (or stand by) until stopped."""
    configure_logging()
    metrics = Metrics()
    decider = Decider(settings, metrics)
    decider.pipeline.storage.upgrade()
    decider.pipeline.storage.sync_feeds(settings.feeds)
    stop = _prepare(metrics, metrics_port, stop)
    role = None
    while not stop.is_set():
        try:
            active = decider.round()
        except Exception as exc:  # a database or broker restart: reconnect next round
            log.warning("event=decider-round-failed error=%s: %s", exc.__class__.__name__, exc)
            decider.pipeline.state.release()
            active = False
        now_role = "decider" if active else "standby"
        if now_role != role:
            log_event(log, logging.INFO, "role", role=now_role)
            role = now_role
        next_round = time.monotonic() + DECIDER_TICK
        while active and not stop.wait(DISPATCH_TICK) and time.monotonic() < next_round:
            try:
                decider.dispatch()
            except Exception as exc:  # the round that follows reconnects, or stands by
                log.warning("event=dispatch-failed error=%s: %s", exc.__class__.__name__, exc)
                break
        stop.wait(max(0.0, next_round - time.monotonic()))
    decider.pipeline.state.release()
    decider.broker.close()
    log_event(log, logging.INFO, "stopped", role="decider")
    return 0
