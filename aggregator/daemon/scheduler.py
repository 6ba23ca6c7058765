"""The daemon's clock (APScheduler 3.x): poll the feeds that are due, until told to stop.

Which feed is due comes from storage (``next_check``, set by :mod:`aggregator.ingest.timing`
after every fetch: interval, jitter, backoff, Retry-After, max-age, ``<ttl>``), so a
restart resumes where the last run left off and 10,000 feeds need no 10,000 jobs.  One
job asks storage every *tick*; ``max_instances=1`` and ``coalesce=True``: a slow cycle
never overlaps the next and missed ticks collapse into one.

Stopping (SIGTERM/SIGINT): no further fetch starts, fetches in flight are abandoned, the
writer stores and decides what it already holds, and the process exits 0 — within
``STOP_GRACE`` seconds, or at once after it (every write is a committed transaction and
the pipeline recovers an interrupted decision at start, so that is as safe as a kill).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler

from aggregator.config import Settings
from aggregator.ingest.metrics import Health, Metrics, log_event
from aggregator.ingest.pipeline import Pipeline
from aggregator.publish.app import create_app
from aggregator.publish.server import BackgroundServer
from aggregator.storage import Storage
from aggregator.types import PollOutcome

log = logging.getLogger("aggregator.daemon.scheduler")

MAX_TICK = 15.0
"""The longest wait between two looks at storage: a due feed is late by at most this."""
MIN_TICK = 0.25
STOP_GRACE = 6.0
"""Seconds the writer gets to finish after a stop signal (the promise is 10 s in all)."""


def tick_for(settings: Settings) -> float:
    """A quarter of the shortest configured interval, within ``MIN_TICK``…``MAX_TICK``: a
    feed is never late by more than a quarter of its interval (15 s at most); asking
    storage what is due is one indexed query, cheap even four times a second."""
    intervals = [settings.polling.interval, *(f.interval for f in settings.feeds if f.interval)]
    return min(MAX_TICK, max(MIN_TICK, min(intervals) / 4))


class Daemon:
    """The scheduler, the pipeline (the single writer) and the web face in one process."""

    def __init__(self, settings: Settings, tick: float | None = None) -> None:
        self.settings = settings
        self.tick = tick or tick_for(settings)
        self.metrics = Metrics()
        self.health = Health()
        self.pipeline = Pipeline(Storage(settings.database), settings, self.metrics)
        self.stopping = threading.Event()
        self.write_lock = threading.Lock()
        """Held while the pipeline writes: a poll here, a correction from the web face."""
        self.abandoned = False
        """True when the writer did not finish within ``STOP_GRACE``: exit without waiting."""
        self._idle = threading.Event()
        self._idle.set()
        self._scheduler = BackgroundScheduler(timezone=UTC)

    # -- one cycle --------------------------------------------------------------------

    def poll_due(self) -> None:
        """Poll every feed whose ``next_check`` has passed, and report the cycle."""
        if self.stopping.is_set():
            return
        now = datetime.now(UTC)
        storage = self.pipeline.storage
        earliest = storage.earliest_next_check()
        due = storage.feeds_to_poll(due_before=now)
        self.metrics.feeds_due.set(len(due))
        lag = (now - earliest).total_seconds() if due and earliest and earliest < now else 0.0
        self.metrics.poll_lag.set(lag)
        if due:
            started = time.monotonic()
            with self.write_lock:
                outcomes = self.pipeline.poll(due)
            self._report(len(due), outcomes, lag, time.monotonic() - started)
        finished = datetime.now(UTC)
        self.health.last_poll = finished
        self.metrics.last_poll.set(finished.timestamp())

    def _report(self, due: int, outcomes: list[PollOutcome], lag: float, seconds: float) -> None:
        statuses = Counter(o.status for o in outcomes)
        self.metrics.cycles.inc()
        self.metrics.cycle_seconds.set(seconds)
        log_event(log, logging.INFO, "cycle", due=due, polled=len(outcomes),
                  ok=statuses["ok"], not_modified=statuses["not-modified"],
                  failed=statuses["error"], new=sum(o.new for o in outcomes),
                  updated=sum(o.updated for o in outcomes), lag=lag, seconds=seconds,
                  interrupted="yes" if len(outcomes) < due else None)

    def _safe_poll(self) -> None:
        self._idle.clear()
        try:
            self.poll_due()
            self.health.last_cycle_error = None
        except Exception as exc:  # the daemon outlives any one cycle's failure
            self.health.last_cycle_error = f"{exc.__class__.__name__}: {exc}"
            log.exception("event=cycle-failed error=%s", exc.__class__.__name__)
        finally:
            self._idle.set()

    # -- life cycle -------------------------------------------------------------------

    def run(self, serve: bool = True) -> int:
        """Serve, recover, poll on schedule until :meth:`stop`; return the exit status."""
        server = None
        if serve:
            # First, so a port in use fails before any work, and /healthz answers (503,
            # "stopped") while a long recovery runs.
            app = create_app(self.pipeline.storage, self.settings, self.metrics, self.health,
                             pipeline=self.pipeline, write_lock=self.write_lock)
            server = BackgroundServer(app, self.settings.server.host, self.settings.server.port)
            server.start()
            log_event(log, logging.INFO, "serving", host=self.settings.server.host,
                      port=self.settings.server.port)
        if self._start_pipeline():
            self._scheduler.add_job(self._safe_poll, "interval", seconds=self.tick,
                                    id="poll-due", max_instances=1, coalesce=True,
                                    misfire_grace_time=None, next_run_time=datetime.now(UTC))
            self._scheduler.start()
            self.health.scheduler_running = True
            log_event(log, logging.INFO, "started", feeds=len(self.settings.feeds),
                      tick=self.tick, database=self.pipeline.storage.engine.url.render_as_string(
                          hide_password=True))
            self.stopping.wait()
        self._shutdown(server)
        return 0

    def _start_pipeline(self) -> bool:
        """Schema upgrade and recovery, in a thread so a stop signal is not held up by it."""
        failure: list[BaseException] = []

        def start() -> None:
            try:
                with self.write_lock:
                    self.pipeline.start()
            except BaseException as exc:  # re-raised in the main thread below
                failure.append(exc)
            finally:
                self._idle.set()

        self._idle.clear()
        threading.Thread(target=start, name="start", daemon=True).start()
        while not self._idle.wait(0.2):
            if self.stopping.is_set():
                return False
        if failure:
            raise failure[0]
        return not self.stopping.is_set()

    def _shutdown(self, server: BackgroundServer | None) -> None:
        self.health.scheduler_running = False
        self.pipeline.stopping.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        finished = self._idle.wait(STOP_GRACE)
        if server is not None:
            server.stop(timeout=2.0)
        self.abandoned = not finished
        log_event(log, logging.INFO, "stopped",
                  writer="finished" if finished else "abandoned after grace period")

    def stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        """Signal handler: ask the daemon to stop (it does so within ``STOP_GRACE``)."""
        log_event(log, logging.INFO, "stopping",
                  signal=signal.Signals(signum).name if signum else None)
        self.stopping.set()


class _DropOverlapWarnings(logging.Filter):
    """A cycle longer than the tick is expected (coalesce does its job): not a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in str(record.msg)


def _configure_logging() -> None:
    # The CLI shows warnings only unless -v; a daemon's journal wants its cycle lines.
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        logging.getLogger("aggregator").setLevel(logging.INFO)
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # "Running job" each tick
    logging.getLogger("apscheduler.scheduler").addFilter(_DropOverlapWarnings())


def run_daemon(settings: Settings) -> int:
    _configure_logging()
    daemon = Daemon(settings)
    signal.signal(signal.SIGTERM, daemon.stop)
    signal.signal(signal.SIGINT, daemon.stop)
    print(f"aggregator: polling {len(settings.feeds)} configured feeds, serving "
          f"http://{settings.server.host}:{settings.server.port}/ ; stop with Ctrl-C", flush=True)
    try:
        status = daemon.run()
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
