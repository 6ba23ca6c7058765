"""The daemon's clock (APScheduler 3.x): poll the feeds that are due, until told to stop.

Which feed is due comes from storage (``next_check``), so a restart resumes where the
last run left off.  One job, ``max_instances=1`` and ``coalesce=True``: a slow poll never
overlaps the next tick and missed ticks collapse into one.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler

from aggregator.config import Settings
from aggregator.ingest import Pipeline
from aggregator.metrics import Health, Metrics
from aggregator.publish.app import create_app
from aggregator.publish.server import BackgroundServer
from aggregator.storage import Storage

log = logging.getLogger("aggregator.scheduler")

TICK_SECONDS = 15.0
"""How often the scheduler asks storage which feeds are due."""


class Daemon:
    def __init__(self, settings: Settings, tick: float = TICK_SECONDS) -> None:
        self.settings = settings
        self.tick = min(tick, settings.polling.interval)
        self.pipeline = Pipeline(Storage(settings.database), settings)
        self.metrics = Metrics()
        self.health = Health()
        self.stopping = threading.Event()
        self._scheduler = BackgroundScheduler(timezone=UTC)

    def poll_due(self) -> None:
        if self.stopping.is_set():
            return
        now = datetime.now(UTC)
        due = self.pipeline.storage.feeds_to_poll(due_before=now)
        if due:
            outcomes = self.pipeline.poll(due)
            failed = sum(1 for o in outcomes if o.status == "error")
            log.info("event=cycle feeds=%d failed=%d new=%d updated=%d", len(outcomes), failed,
                     sum(o.new for o in outcomes), sum(o.updated for o in outcomes))
        self.health.last_poll = now
        self.metrics.last_poll.set(now.timestamp())

    def run(self, serve: bool = True) -> int:
        self.pipeline.start()
        server = None
        if serve:
            app = create_app(self.pipeline.storage, self.settings, self.metrics, self.health)
            server = BackgroundServer(app, self.settings.server.host, self.settings.server.port)
            server.start()
            log.info("event=serving host=%s port=%d", self.settings.server.host,
                     self.settings.server.port)
        self._scheduler.add_job(self._safe_poll, "interval", seconds=self.tick, id="poll-due",
                                max_instances=1, coalesce=True, misfire_grace_time=None,
                                next_run_time=datetime.now(UTC))
        self._scheduler.start()
        self.health.scheduler_running = True
        log.info("event=started feeds=%d tick=%.0fs", len(self.settings.feeds), self.tick)
        self.stopping.wait()
        # In-flight fetches are abandoned: committed work is already safe in the database.
        self.health.scheduler_running = False
        self._scheduler.shutdown(wait=False)
        if server is not None:
            server.stop()
        log.info("event=stopped")
        return 0

    def _safe_poll(self) -> None:
        try:
            self.poll_due()
            self.health.last_cycle_error = None
        except Exception as exc:  # the daemon outlives any one cycle's failure
            self.health.last_cycle_error = f"{exc.__class__.__name__}: {exc}"
            log.exception("event=cycle-failed")

    def stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        log.info("event=stopping signal=%s", signum)
        self.stopping.set()


def run_daemon(settings: Settings) -> int:
    daemon = Daemon(settings)
    signal.signal(signal.SIGTERM, daemon.stop)
    signal.signal(signal.SIGINT, daemon.stop)
    print(f"aggregator: polling {len(settings.feeds)} configured feeds, serving "
          f"http://{settings.server.host}:{settings.server.port}/ ; stop with Ctrl-C", flush=True)
    return daemon.run()
