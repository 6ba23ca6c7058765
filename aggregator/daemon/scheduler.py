"""The daemon's clock (APScheduler 3.x): poll the feeds that are due, decide what waits,
until told to stop.

Which feed is due comes from storage (``next_check``, set by :mod:`aggregator.ingest.timing`
after every fetch: interval, jitter, backoff, Retry-After, max-age, ``<ttl>``), so a
restart resumes where the last run left off and 10,000 feeds need no 10,000 jobs.  The
jobs:

* ``poll-due``, every *tick*: hands the due feeds to the polling stream (a thread that
  fetches each as soon as a worker and its host are free and stores it as soon as its
  fetch ends, :meth:`Pipeline.stream`), and reports what the stream finished since the
  last tick.  There is no batch to wait for: a feed that drips until its deadline holds
  one fetch worker, and the feeds due after it are polled when due;
* ``decide``, every ``DECIDE_TICK``: if this process holds the decider's lease, it places
  the items waiting in the database (whoever stored them) and applies new corrections,
  so decisions stream a second or so behind the fetches.  If another daemon holds it,
  this one is a hot standby: it neither polls nor decides, and takes over (loading the
  state from the database) when the other stops;
* ``index``, every ``INDEX_EVERY``: the decider indexes for search the items stored or
  edited since the last catch-up (:mod:`aggregator.storage.fulltext`: storing an item
  only queues it, so polls do not wait for the words of every text; a search catches up
  first too, so it never misses an item);
* ``prune``, at start and every ``PRUNE_EVERY``: the decider forgets old boilerplate
  evidence and, with ``retention.max_age`` set, drops the stories older than that
  (:mod:`aggregator.ingest.retention`).

``coalesce=True``: missed ticks collapse into one.

Stopping (SIGTERM/SIGINT): no further fetch starts, fetches in flight are abandoned, what
was already fetched is stored, and the process exits 0 — within ``STOP_GRACE`` seconds, or
at once after it (every write is a committed transaction, and items stored but not yet
decided wait in the database for the next decider, so that is as safe as a kill).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

from aggregator.config import Settings
from aggregator.daemon.stopping import on_stop_signals, wait_until_set
from aggregator.errors import AggregatorError, StorageError
from aggregator.ingest.metrics import Health, Metrics, log_event
from aggregator.ingest.pipeline import Pipeline
from aggregator.ingest.retention import log_pruned
from aggregator.storage import Storage
from aggregator.types import PollOutcome

if TYPE_CHECKING:
    from aggregator.publish.server import BackgroundServer

log = logging.getLogger("aggregator.daemon.scheduler")

MAX_TICK = 15.0
"""The longest wait between two looks at storage: a due feed waits at most this before it
is handed out."""
MIN_TICK = 0.25
TICKS_PER_INTERVAL = 16
"""Looks at storage per shortest interval: a feed may be late by a quarter of its interval,
and the tick is only part of that (the fetches queued before it are the rest)."""
STREAM_START = 10.0
"""Seconds the start waits for the polling stream to take feeds (it starts in
milliseconds; a failure to start is logged by the stream, and the ticks go on)."""
STOP_GRACE = 6.0
"""Seconds the writer gets to finish after a stop signal (the promise is 10 s in all)."""
DECIDE_TICK = 0.5
"""Seconds between two looks at the items waiting for a decision."""
INDEX_EVERY = 10.0
"""Seconds between two catch-ups of the search index."""
PRUNE_EVERY = 24 * 3600.0
"""Seconds between two prunes of old evidence and old stories; the first runs at start."""


def tick_for(settings: Settings) -> float:
    """A sixteenth of the shortest configured interval, within ``MIN_TICK``…``MAX_TICK``
    (15 s at most): asking storage what is due is one indexed query, cheap even four times
    a second."""
    intervals = [settings.polling.interval, *(f.interval for f in settings.feeds if f.interval)]
    return min(MAX_TICK, max(MIN_TICK, min(intervals) / TICKS_PER_INTERVAL))


class Daemon:
    """The scheduler, the pipeline (the single writer) and the web face in one process."""

    def __init__(self, settings: Settings, tick: float | None = None) -> None:
        self.settings = settings
        self.tick = tick or tick_for(settings)
        self.metrics = Metrics()
        self.health = Health(unhealthy_after=settings.server.unhealthy_after)
        self.pipeline = Pipeline(Storage(settings.database), settings, self.metrics)
        self.stopping = threading.Event()
        self.write_lock = threading.Lock()
        """Held while the decider's state is used: a decision here, a correction from the
        web face."""
        self.abandoned = False
        """True when the writer did not finish within ``STOP_GRACE``: exit without waiting."""
        self._busy = 0
        self._idle = threading.Condition()
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._polled: list[PollOutcome] = []
        """What the polling stream finished since the last report."""
        self._polled_lock = threading.Lock()
        self._reported = time.monotonic()
        self._stream_ended = False
        """The stream's thread ended while the daemon runs: each poll tick then fails,
        and ``/healthz`` says so."""

    # -- the jobs ----------------------------------------------------------------------

    def poll_due(self) -> None:
        """Hand every feed whose ``next_check`` has passed (and that the stream is not
        polling already) to the polling stream, and report what it finished since the
        last tick.  Only the decider polls."""
        if self.stopping.is_set() or not self.pipeline.is_decider:
            return
        if self._stream_ended:
            raise AggregatorError("the polling stream has ended; restart the daemon")
        now, read_at = datetime.now(UTC), time.monotonic()
        due = self.pipeline.storage.feeds_to_poll(due_before=now)
        self.metrics.feeds_due.set(len(due))
        handed = self.pipeline.submit(due, read_at)
        # How late the feeds handed out now are: those in flight are no longer waiting.
        waited = [(now - f.due).total_seconds() for f in handed if f.due is not None]
        lag = max(0.0, *waited) if waited else 0.0
        self.metrics.poll_lag.set(lag)
        with self._polled_lock:
            outcomes, self._polled = self._polled, []
        seconds, self._reported = time.monotonic() - self._reported, time.monotonic()
        if outcomes:
            self._report(len(due), outcomes, lag, seconds)
        if outcomes or not self.pipeline.polling():
            # The stream stored feeds, or has none to poll: a stream that holds feeds and
            # stores nothing (a stuck writer) lets the last poll grow old.
            finished = datetime.now(UTC)
            self.health.last_poll = finished
            self.metrics.last_poll.set(finished.timestamp())

    def _stored(self, outcome: PollOutcome) -> None:
        """The polling stream stored a feed (its thread): counted in the next report."""
        with self._polled_lock:
            self._polled.append(outcome)

    def _start_stream(self) -> None:
        """The polling stream's thread, busy until the pipeline stops (the stop waits for
        it to store what it fetched, within ``STOP_GRACE``)."""

        def run() -> None:
            try:
                self.pipeline.stream(self._stored)
            finally:
                if not self.pipeline.stopping.is_set():  # its own failures it outlives
                    self._stream_ended = True
                    log.error("event=poll-stream-ended")
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

        with self._idle:
            self._busy += 1
        threading.Thread(target=run, name="poll-stream", daemon=True).start()
        # The first tick runs at once: the feeds due at start go out then, not a tick later.
        deadline = time.monotonic() + STREAM_START
        while not self.pipeline.streaming.wait(0.1):
            if self.stopping.is_set() or time.monotonic() > deadline:
                return

    def decide(self) -> None:
        """As the decider, place what waits; else stay a standby."""
        if self.stopping.is_set():
            return
        with self.write_lock:
            decider = self.pipeline.lead()
            self.health.role = "decider" if decider else "standby"
            self.metrics.decider.set(1 if decider else 0)
            if decider:
                self.pipeline.decide_waiting()
        waiting, oldest = self.pipeline.storage.decision_backlog()
        self.metrics.decision_backlog.set(waiting)
        self.metrics.decision_lag.set(
            (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        )

    def index(self) -> None:
        """As the decider, index for search what was stored since the last catch-up."""
        if self.stopping.is_set() or not self.pipeline.is_decider:
            return
        indexed = self.pipeline.storage.update_search_index()
        if indexed:
            log_event(log, logging.DEBUG, "indexed", items=indexed)

    def prune(self) -> None:
        """As the decider, forget old evidence and drop the stories older than
        ``retention.max_age`` (and forget them in the engine and the model, under the lock
        that guards them)."""
        max_age = self.settings.retention.max_age
        if self.stopping.is_set():
            return
        with self.write_lock:
            if not self.pipeline.is_decider:
                return  # the decider prunes; a standby's turn comes when it takes over
            report = self.pipeline.prune(max_age)
        log_pruned(log, report, max_age)

    def _report(self, due: int, outcomes: list[PollOutcome], lag: float, seconds: float) -> None:
        statuses = Counter(o.status for o in outcomes)
        self.metrics.cycles.inc()
        self.metrics.cycle_seconds.set(seconds)
        log_event(
            log,
            logging.INFO,
            "cycle",
            due=due,
            polled=len(outcomes),
            ok=statuses["ok"],
            not_modified=statuses["not-modified"],
            failed=statuses["error"],
            new=sum(o.new for o in outcomes),
            updated=sum(o.updated for o in outcomes),
            lag=lag,
            seconds=seconds,
        )

    def _every(
        self, job_id: str, job: Callable[[], None], seconds: float, instances: int = 1
    ) -> None:
        """Run ``job`` every ``seconds``, first now; runs missed while busy coalesce."""
        self._scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            id=job_id,
            max_instances=instances,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
        )

    def _guarded(self, name: str, job: Callable[[], None]) -> Callable[[], None]:
        """A job that outlives its own failures, counts as busy while it runs, and
        reports each cycle to the health (``/healthz``: 503 once it keeps failing)."""

        def run() -> None:
            with self._idle:
                self._busy += 1
            try:
                job()
                self.health.cycle_done(name)
            except Exception as exc:  # the daemon outlives any one cycle's failure
                self.health.cycle_done(name, exc)
                log.exception(
                    "event=cycle-failed error=%s job=%s failures=%d",
                    exc.__class__.__name__,
                    name,
                    self.health.failures.get(name, 0),
                )
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

        return run

    # -- life cycle -------------------------------------------------------------------

    def run(self, serve: bool = True, polled: int | None = None) -> int:
        """Serve, recover, poll on schedule until :meth:`stop`; return the exit status.
        ``polled``: the feeds it polls, as the banner counted them (:func:`feeds_to_poll`);
        counted here when not given."""
        server = None
        if serve:
            # Imported here: a standby or a decider that does not serve pages starts without
            # the web stack (Starlette, Jinja).
            from aggregator.publish.app import create_app
            from aggregator.publish.server import BackgroundServer

            # First, so a port in use fails before any work, and /healthz answers (503,
            # "stopped") while a long recovery runs.
            app = create_app(
                self.pipeline.storage,
                self.settings,
                self.metrics,
                self.health,
                pipeline=self.pipeline,
                write_lock=self.write_lock,
            )
            server = BackgroundServer(app, self.settings.server.host, self.settings.server.port)
            server.start()
            log_event(
                log,
                logging.INFO,
                "serving",
                host=self.settings.server.host,
                port=self.settings.server.port,
            )
        if self._start_pipeline():
            self._start_stream()
            self._every("poll-due", self._guarded("poll", self.poll_due), self.tick)
            self._every("decide", self._guarded("decide", self.decide), DECIDE_TICK)
            self._every("index", self._guarded("index", self.index), INDEX_EVERY)
            self._every("prune", self._guarded("prune", self.prune), PRUNE_EVERY)
            self._scheduler.start()
            self.health.scheduler_running = True
            log_event(
                log,
                logging.INFO,
                "started",
                # Every feed it polls, not the config file's alone: the same number as the
                # banner, which is reused rather than counted again.
                feeds=polled
                if polled is not None
                else feeds_to_poll(self.settings, self.pipeline.storage)[0],
                tick=self.tick,
                database=self.pipeline.storage.engine.url.render_as_string(hide_password=True),
            )
            wait_until_set(self.stopping)
        self._shutdown(server)
        return 0

    def _start_pipeline(self) -> bool:
        """Schema upgrade and recovery, in a thread so a stop signal is not held up by it."""
        failure: list[BaseException] = []
        done = threading.Event()

        def start() -> None:
            try:
                with self.write_lock:
                    self.pipeline.start()
            except BaseException as exc:  # re-raised in the main thread below
                failure.append(exc)
            finally:
                done.set()

        threading.Thread(target=start, name="start", daemon=True).start()
        while not done.wait(0.2):
            if self.stopping.is_set():
                self.abandoned = True  # the recovery still runs: leave without it
                return False
        if failure:
            raise failure[0]
        return not self.stopping.is_set()

    def _shutdown(self, server: BackgroundServer | None) -> None:
        self.health.scheduler_running = False
        self.pipeline.stopping.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        with self._idle:
            finished = self._idle.wait_for(lambda: self._busy == 0, STOP_GRACE)
        if server is not None:
            server.stop(timeout=2.0)
        self.abandoned = self.abandoned or not finished
        log_event(
            log,
            logging.INFO,
            "stopped",
            writer="finished" if not self.abandoned else "abandoned after grace period",
        )

    def stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        """Signal handler: ask the daemon to stop (it does so within ``STOP_GRACE``)."""
        log_event(
            log, logging.INFO, "stopping", signal=signal.Signals(signum).name if signum else None
        )
        self.stopping.set()


class _DropOverlapWarnings(logging.Filter):
    """A cycle longer than the tick is expected (coalesce does its job): not a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in str(record.msg)


def configure_logging() -> None:
    # The CLI shows warnings only unless -v; a daemon's journal wants its cycle lines.
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        logging.getLogger("aggregator").setLevel(logging.INFO)
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # "Running job" each tick
    logging.getLogger("apscheduler.scheduler").addFilter(_DropOverlapWarnings())


def feeds_to_poll(settings: Settings, storage: Storage) -> tuple[int, int]:
    """How many feeds the daemon will poll — the config file's and those added since
    (``feeds add``, OPML, the web face), less the disabled — and how many of them the
    config file lists."""
    configured = {spec.url for spec in settings.feeds}
    try:
        stored = storage.list_feeds()
    except StorageError:  # no schema yet: the first start makes it and polls the config's
        stored = []
    disabled = {f.url for f in stored if f.disabled}
    polled = (configured | {f.url for f in stored}) - disabled
    return len(polled), len(configured - disabled)


def run_daemon(settings: Settings) -> int:
    configure_logging()
    daemon = Daemon(settings)
    on_stop_signals(daemon.stop)
    polled, configured = feeds_to_poll(settings, daemon.pipeline.storage)
    print(
        f"aggregator: polling {polled} {'feed' if polled == 1 else 'feeds'} "
        f"({configured} from the config file), serving "
        f"http://{settings.server.host}:{settings.server.port}/ ; stop with Ctrl-C",
        flush=True,
    )
    try:
        status = daemon.run(polled=polled)
    except OSError as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
        return 1
    if daemon.abandoned:
        # The writer is still busy (a long decision, a stuck call): leave now rather than
        # let the interpreter wait for it.  Committed work is committed; the rest is
        # recovered at the next start, exactly as after a kill -9.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status
