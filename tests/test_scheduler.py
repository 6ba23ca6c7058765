"""The daemon (``aggregator.daemon.scheduler``) in this process: ``aggregator run`` through
``aggregator.cli.main`` stopped by a real SIGTERM, and :class:`Daemon` objects over a real
SQLite file — what a cycle does, a cycle that fails, a second daemon standing by.

``tests/test_daemon.py`` runs the daemon as a real process (kill -9, signals during hanging
fetches, the hostile server); these tests look at the same code from inside.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import sqlite3
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aggregator.config import Settings, load_settings, settings_from_mapping
from aggregator.daemon.scheduler import (
    MAX_TICK,
    MIN_TICK,
    Daemon,
    configure_logging,
    tick_for,
)
from aggregator.errors import StorageError
from aggregator.ingest.pipeline import Pipeline
from aggregator.storage import Storage
from aggregator.types import PollOutcome
from tests.feeds import html, rss, story
from tests.helpers import Cli, restored_logging, wait_for
from tests.helpers import free_port as _free_port

ITEMS = 4


def _config(folder: Path, port: int | None = None) -> Path:
    feed = folder / "feed.xml"
    feed.write_bytes(
        rss(
            "Local",
            [
                {
                    "guid": f"g{n}",
                    "title": f"Story {n}",
                    "link": f"https://local.example/{n}",
                    "html": html(story(300 + n)),
                }
                for n in range(ITEMS)
            ],
        )
    )
    path = folder / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{folder / 'agg.db'}",
                "polling": {"interval": "1s", "timeout": "5s"},
                "server": {"host": "127.0.0.1", "port": port or _free_port()},
                "feeds": [{"url": str(feed)}],
            }
        )
    )
    return path


def _query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    if not database.exists():
        return []
    with sqlite3.connect(database, timeout=10) as connection:
        try:
            return connection.execute(sql).fetchall()
        except sqlite3.OperationalError:
            return []  # no schema yet


def _all_decided(database: Path) -> bool:
    return _query(database, "SELECT count(*) FROM items") == [(ITEMS,)] and _query(
        database,
        "SELECT count(*) FROM items i LEFT JOIN memberships m ON m.item_id = i.id "
        "WHERE m.item_id IS NULL",
    ) == [(0,)]


def _health(port: int) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except OSError:
        return {}


def test_tick_is_a_quarter_of_the_shortest_interval_within_bounds(tmp_path: Path) -> None:
    def settings(interval: str, *feeds: str) -> Settings:
        return settings_from_mapping(
            {
                "database": "sqlite://",
                "polling": {"interval": interval},
                "feeds": [
                    {"url": f"https://f{n}.example/", "interval": i} for n, i in enumerate(feeds)
                ],
            },
            tmp_path / "config.yaml",
        )

    assert tick_for(settings("30m")) == MAX_TICK
    assert tick_for(settings("30m", "2h", "32s")) == 2.0
    assert tick_for(settings("80s")) == 5.0
    assert tick_for(settings("1s")) == MIN_TICK


# -- `aggregator run`, in this process ------------------------------------------------------


class _Stopper:
    """Sends this process SIGTERM once ``condition`` holds — only when the daemon's handler
    is the one installed, so a daemon that never started cannot take the test run down."""

    def __init__(self, condition: Callable[[], bool]) -> None:
        self.condition = condition
        self.met = False
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> _Stopper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self._thread.join(10)

    def _watch(self) -> None:
        deadline = time.monotonic() + 30
        while not self.done.is_set() and time.monotonic() < deadline:
            if isinstance(getattr(signal.getsignal(signal.SIGTERM), "__self__", None), Daemon):
                self.met = self.condition()
                if self.met:
                    break
            time.sleep(0.05)
        handler = signal.getsignal(signal.SIGTERM)
        if not self.done.is_set() and isinstance(getattr(handler, "__self__", None), Daemon):
            os.kill(os.getpid(), signal.SIGTERM)


def test_run_polls_decides_serves_and_stops_on_sigterm(tmp_path: Path, cli: Cli) -> None:
    config = _config(tmp_path)
    port = load_settings(config, {}).server.port
    database = tmp_path / "agg.db"
    before = signal.getsignal(signal.SIGTERM)

    def ready() -> bool:
        health = _health(port)
        return bool(
            health.get("scheduler") == "running"
            and health.get("role") == "decider"
            and health.get("last_poll")
            and _all_decided(database)
        )

    with _Stopper(ready) as stopper:
        result = cli("--config", str(config), "run", cwd=tmp_path)
    assert stopper.met, result.stderr
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"aggregator: polling 1 feed (1 from the config file), serving "
        f"http://127.0.0.1:{port}/ ; stop with Ctrl-C\n"
    )
    log = result.stderr  # the daemon logs its INFO events even without -v
    for event in (
        "event=serving",
        "event=started",
        "event=stopping signal=SIGTERM",
        "event=stopped writer=finished",
    ):
        assert event in log, log
    assert re.search(r"event=cycle due=\d+ polled=1 ok=1", log), log
    assert "Traceback" not in log
    assert _all_decided(database)
    assert signal.getsignal(signal.SIGTERM) is before  # put back after the call


# uvicorn ends its thread with SystemExit when it cannot bind; a process's default thread
# hook ignores that, pytest's reports it.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_run_on_a_port_in_use_exits_1(tmp_path: Path, cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = _config(tmp_path, port=int(taken.getsockname()[1]))
        result = cli("--config", str(config), "run", cwd=tmp_path)
    assert result.returncode == 1
    assert (
        "aggregator: the HTTP server could not start (is the port in use?)"
        in result.stderr.splitlines()
    )
    assert not _query(tmp_path / "agg.db", "SELECT count(*) FROM items")  # no work began


# -- Daemon objects -------------------------------------------------------------------------


@pytest.fixture
def running() -> Iterator[Callable[[Daemon], threading.Thread]]:
    """Start ``daemon.run(serve=False)`` in a thread; every daemon is stopped at the end."""
    started: list[tuple[Daemon, threading.Thread, list[int]]] = []

    def start(daemon: Daemon) -> threading.Thread:
        status: list[int] = []
        thread = threading.Thread(
            target=lambda: status.append(daemon.run(serve=False)), daemon=True
        )
        thread.start()
        started.append((daemon, thread, status))
        return thread

    yield start
    for daemon, thread, status in started:
        daemon.stop()
        thread.join(15)
        assert not thread.is_alive() and status == [0]
        daemon.pipeline.close()


def test_a_failing_cycle_is_reported_and_the_next_one_recovers(
    tmp_path: Path, running: Callable[[Daemon], threading.Thread], caplog: pytest.LogCaptureFixture
) -> None:
    daemon = Daemon(load_settings(_config(tmp_path), {}), tick=0.25)
    running(daemon)
    database = tmp_path / "agg.db"
    wait_for(lambda: _all_decided(database), 20, "the feed stored and decided")
    with sqlite3.connect(database, timeout=10) as connection:
        connection.execute("ALTER TABLE feeds RENAME TO feeds_elsewhere")  # storage breaks
    error = wait_for(lambda: daemon.health.last_cycle_error, 10, "a failed cycle")
    assert error.startswith("StorageError: ") and daemon.health.scheduler_running
    assert any("event=cycle-failed error=StorageError" in m for m in caplog.messages)
    with sqlite3.connect(database, timeout=10) as connection:
        connection.execute("ALTER TABLE feeds_elsewhere RENAME TO feeds")
    wait_for(lambda: daemon.health.last_cycle_error is None, 10, "a cycle that succeeds")
    assert _all_decided(database)


def test_a_second_daemon_stands_by_and_takes_over_when_the_first_stops(
    tmp_path: Path, running: Callable[[Daemon], threading.Thread]
) -> None:
    settings = load_settings(_config(tmp_path), {})
    first, second = Daemon(settings, tick=0.25), Daemon(settings, tick=0.25)
    stop_first = running(first)
    wait_for(
        lambda: first.health.role == "decider" and _all_decided(tmp_path / "agg.db"),
        20,
        "the first daemon deciding",
    )
    running(second)
    wait_for(lambda: second.health.role == "standby", 10, "the second standing by")
    time.sleep(0.5)  # two decide ticks: a standby neither polls nor decides
    assert second.health.last_poll is None and first.health.role == "decider"
    assert second.metrics.registry.get_sample_value("aggregator_decider") == 0
    assert first.metrics.registry.get_sample_value("aggregator_decider") == 1

    first.stop()
    stop_first.join(15)
    first.pipeline.close()  # what the end of its process does: the lease is free
    wait_for(
        lambda: second.health.role == "decider" and second.health.last_poll,
        10,
        "the second daemon taking over",
    )
    assert _all_decided(tmp_path / "agg.db")


def test_a_stop_during_a_long_recovery_leaves_without_waiting_for_it(
    tmp_path: Path, running: Callable[[Daemon], threading.Thread]
) -> None:
    daemon = Daemon(load_settings(_config(tmp_path), {}), tick=0.25)
    with daemon.write_lock:  # the recovery at start waits for it: a long recovery
        thread = running(daemon)
        daemon.stop()
        thread.join(10)
        assert not thread.is_alive()  # run() returned while the recovery still waits
    assert daemon.abandoned and not daemon.health.scheduler_running
    assert daemon.health.last_poll is None  # no cycle ran


def test_a_recovery_that_fails_ends_run_with_its_error(tmp_path: Path) -> None:
    settings = settings_from_mapping(
        {"database": "sqlite:////nonexistent-dir/for/sure/agg.db"}, tmp_path / "config.yaml"
    )
    daemon = Daemon(settings, tick=0.25)
    with pytest.raises(StorageError, match="^storage: unable to "):
        daemon.run(serve=False)
    assert not daemon.health.scheduler_running and daemon.health.last_poll is None


def test_a_cycle_longer_than_the_tick_is_not_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    filters = list(scheduler_log.filters)
    with restored_logging(), caplog.at_level(logging.WARNING, logger="apscheduler.scheduler"):
        configure_logging()
        # What APScheduler 3 logs when a tick comes while the cycles still run:
        scheduler_log.warning(
            'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
            "poll-due",
            2,
        )
        scheduler_log.warning('Run time of job "%s" was missed by %s', "decide", "0:00:03")
        assert logging.getLogger("aggregator").getEffectiveLevel() <= logging.INFO
    assert [r.getMessage() for r in caplog.records] == [
        'Run time of job "decide" was missed by 0:00:03'
    ]
    assert scheduler_log.filters == filters  # the filter went with the block


def test_poll_once_while_a_daemon_runs_hands_it_the_items(
    tmp_path: Path, cli: Cli, running: Callable[[Daemon], threading.Thread]
) -> None:
    """The daemon decides; `poll --once` beside it stores, hands the items over and waits
    until the daemon has placed them."""
    config = _config(tmp_path)
    quiet = settings_from_mapping({"database": f"sqlite:///{tmp_path / 'agg.db'}"}, config)
    daemon = Daemon(quiet, tick=3600)  # it looks for due feeds at start only: none yet
    running(daemon)
    wait_for(lambda: daemon.health.role == "decider", 20, "the daemon deciding")
    polled = cli("--config", str(config), "poll", "--once", cwd=tmp_path, check=True)
    lines = polled.stdout.splitlines()
    assert lines[-2] == (
        "another process (the daemon) decides on this database: handed it "
        f"{ITEMS} items, all placed"
    )
    assert lines[-1].startswith(
        f"polled 1 feed (0 failed): {ITEMS} new, 0 updated; {ITEMS} items in {ITEMS} clusters"
    )
    assert _all_decided(tmp_path / "agg.db") and daemon.health.last_poll is not None


def test_a_feed_let_go_after_its_due_list_was_read_is_not_handed_out_again(
    tmp_path: Path,
) -> None:
    """The due list is read, then the stream stores the feed (its next check moves on):
    that list, read before, must not hand the feed out a second time."""
    settings = load_settings(_config(tmp_path), {})
    pipeline = Pipeline(Storage(settings.database), settings)
    pipeline.start()
    stored: list[PollOutcome] = []
    thread = threading.Thread(target=pipeline.stream, args=(stored.append,), daemon=True)
    thread.start()
    try:
        read_at = time.monotonic()
        due = pipeline.storage.feeds_to_poll()
        wait_for(lambda: pipeline.submit(due, read_at), 10, "the stream taking the feed")
        wait_for(lambda: stored and not pipeline.polling(), 10, "the feed stored and let go")
        assert pipeline.submit(due, read_at) == []  # read before it was let go: stale
        assert [f.id for f in pipeline.submit(due, time.monotonic())] == [due[0].id]
    finally:
        pipeline.stopping.set()
        thread.join(10)
        pipeline.close()
    assert not thread.is_alive()


def test_a_stream_that_stores_nothing_lets_the_last_poll_grow_old(
    tmp_path: Path, running: Callable[[Daemon], threading.Thread]
) -> None:
    """Another connection holds the database's write lock: the feed due every second is
    fetched but cannot be stored, so the last poll must not move (``/healthz`` and the
    gauge show a stuck writer), and moves again once the lock is gone."""
    daemon = Daemon(load_settings(_config(tmp_path), {}), tick=0.25)
    running(daemon)
    database = tmp_path / "agg.db"
    wait_for(lambda: _all_decided(database), 20, "the feed stored and decided")
    lock = sqlite3.connect(database, timeout=10, isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        wait_for(lambda: daemon.pipeline.polling(), 5, "a fetch waiting to be stored")
        time.sleep(1.0)
        held = daemon.health.last_poll
        time.sleep(1.5)
        assert daemon.health.last_poll == held, "the last poll moved while nothing was stored"
    finally:
        lock.execute("COMMIT")
        lock.close()
    wait_for(lambda: daemon.health.last_poll != held, 10, "the last poll moving again")


def test_the_feeds_due_at_start_are_polled_at_once_whatever_the_tick(
    tmp_path: Path, running: Callable[[Daemon], threading.Thread]
) -> None:
    """With the default half-hour interval the tick is 15 s: the first one, at start, must
    find the polling stream taking feeds, or the feeds wait for the second."""
    config = _config(tmp_path)
    config.write_text(config.read_text().replace("interval: 1s", "interval: 30m"))
    settings = load_settings(config, {})
    daemon = Daemon(settings)
    assert daemon.tick == 15.0
    running(daemon)
    # Well before the second tick, 15 s after the first.
    wait_for(lambda: _all_decided(tmp_path / "agg.db"), 10, "the feed stored and decided")
