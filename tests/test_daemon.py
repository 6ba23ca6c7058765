"""``aggregator run`` as a real subprocess against the real hostile server on 127.0.0.1
(the operator's ``feeds list`` beside it runs in this process).

Short intervals (1–2 s) and a derived 1 s tick keep each test to a few seconds; waits
poll for a condition with a deadline instead of sleeping.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.feeds import html, story
from tests.helpers import Cli, wait_for
from tests.helpers import free_port as _free_port
from tests.hostile_server import HOSTILE_ROUTES, HostileServer, feed_items

pytestmark = pytest.mark.processes

STOP_LIMIT = 10.0
"""The promise: SIGTERM/SIGINT end the daemon within this many seconds, exit status 0."""


class Daemon:
    """One ``aggregator run`` subprocess with its config, database and log in ``folder``."""

    def __init__(self, folder: Path, cli: Cli, feeds: list[str], **polling: object) -> None:
        self.folder = folder
        self.cli = cli
        self.db = folder / "agg.db"
        self.port = _free_port()
        self.log_path = folder / "daemon.log"
        self.config = folder / "config.yaml"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "database": f"sqlite:///{self.db}",
                    "polling": {"interval": "1s", "timeout": "5s", **polling},
                    "server": {"host": "127.0.0.1", "port": self.port},
                    "feeds": [{"url": u} for u in feeds],
                }
            )
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Daemon:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "aggregator", "--config", str(self.config), "run"],
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(lambda: self.health().get("scheduler") == "running", 20, "the scheduler")
        return self

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except OSError:
            return 0, b""

    def health(self) -> dict[str, Any]:
        self._check_alive()
        status, body = self.get("/healthz")
        return json.loads(body) if status else {}

    def metrics(self) -> dict[str, float]:
        _, body = self.get("/metrics")
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def signal(self, signum: int) -> tuple[int, float]:
        """Send ``signum``; return the exit status and how long the process took to end."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=STOP_LIMIT + 5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"still running {STOP_LIMIT + 5}s after {signum}") from None
        return code, time.monotonic() - started

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no handler, no cleanup, like a power cut
        self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"the daemon exited ({self.process.returncode}):\n{self.log()}")

    def query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        if not self.db.exists():
            return []
        with sqlite3.connect(self.db, timeout=10) as conn:
            try:
                return conn.execute(sql, args).fetchall()
            except sqlite3.OperationalError:
                return []  # the schema is not there yet

    def feeds(self) -> dict[str, dict[str, Any]]:
        """`aggregator feeds list --format json`, the operator's view, keyed by URL (run in
        this process: a reader of the daemon's database beside it)."""
        out = self.cli(
            "--config",
            str(self.config),
            "feeds",
            "list",
            "--format",
            "json",
            cwd=self.folder,
            check=True,
        )
        return {f["url"]: f for f in json.loads(out.stdout)}

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer(big_bytes=3 * 1024 * 1024) as running:
        yield running


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.close()


def _at(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- politeness -----------------------------------------------------------------------------


def test_conditional_get_304_health_metrics_and_sigterm(
    server: HostileServer, tmp_path: Path, daemons: list[Daemon], cli: Cli
) -> None:
    server.set_feed("a", feed_items("a", 3))
    daemon = Daemon(tmp_path, cli, [server.url("/feed/a")])
    daemons.append(daemon.start())
    wait_for(lambda: len(server.requests("/feed/a")) >= 3, 10, "three polls of /feed/a")
    first, *repeats = server.requests("/feed/a")
    assert first.status == 200 and "If-None-Match" not in first.headers
    etag = next(iter(daemon.query("SELECT etag FROM feeds")))[0]
    assert all(r.headers.get("If-None-Match") == etag and r.status == 304 for r in repeats)
    assert all(r.headers.get("If-Modified-Since") for r in repeats)
    assert first.headers["User-Agent"].startswith("aggregator/")

    server.set_feed("a", feed_items("a", 4))  # a new item: the next poll gets a 200
    wait_for(lambda: daemon.query("SELECT count(*) FROM items") == [(4,)], 10, "the new item")

    health = daemon.health()
    assert health["status"] == "ok" and health["last_poll"] is not None
    # Items are committed before their decision (and its counters): wait for the latter.
    metrics = wait_for(
        lambda: (
            (m := daemon.metrics()).get('aggregator_cluster_events_total{event="formed"}') == 4
            and m
        ),
        10,
        "4 clusters formed",
    )
    assert metrics['aggregator_fetches_total{outcome="not-modified"}'] >= 2
    assert metrics['aggregator_fetches_total{outcome="ok"}'] >= 2
    assert metrics['aggregator_items_total{kind="new"}'] == 4
    assert metrics['aggregator_cluster_events_total{event="formed"}'] == 4
    assert metrics["aggregator_poll_cycles_total"] >= 3
    assert metrics["aggregator_fetched_bytes_total"] > 0
    assert metrics["aggregator_decision_seconds_count"] >= 2

    (feed,) = daemon.feeds().values()
    assert feed["error_count"] == 0 and feed["last_error"] is None
    assert _at(feed["next_check"]) >= _at(feed["last_success"])

    code, seconds = daemon.signal(signal.SIGTERM)
    assert code == 0 and seconds < STOP_LIMIT
    log = daemon.log()
    assert re.search(r"event=cycle due=\d+ polled=1 ok=0 not_modified=1 failed=0", log)
    assert "event=stopped writer=finished" in log


def test_retry_after_backoff_and_gone(
    server: HostileServer, tmp_path: Path, daemons: list[Daemon], cli: Cli
) -> None:
    server.set_feed("b", feed_items("b", 1))
    feeds = {
        "ok": "/feed/b",
        "retry": "/status/503?retry_after=3600",
        "fail": "/status/500",
        "gone": "/gone",
    }
    daemon = Daemon(tmp_path, cli, [server.url(p) for p in feeds.values()])
    daemons.append(daemon.start())
    wait_for(lambda: len(server.requests("/feed/b")) >= 6, 15, "six polls of the good feed")
    assert daemon.signal(signal.SIGTERM)[0] == 0

    assert len(server.requests("/status/503")) == 1  # Retry-After: 3600 honoured
    assert len(server.requests("/gone")) == 1  # disabled at the first 410
    failures = server.requests("/status/500")
    # Backoff: 1 s, 2 s, 4 s … while the good feed was polled every second.
    assert 2 <= len(failures) <= 4, [round(f.at - failures[0].at, 2) for f in failures]
    gaps = [b.at - a.at for a, b in zip(failures, failures[1:], strict=False)]
    assert all(later > earlier for earlier, later in zip(gaps, gaps[1:], strict=False))

    state = daemon.feeds()
    retry = state[server.url(feeds["retry"])]
    assert _at(retry["next_check"]) - _at(retry["last_checked"]) >= timedelta(seconds=3590)
    assert retry["error_count"] == 1 and "503" in retry["last_error"]
    fail = state[server.url(feeds["fail"])]
    assert fail["error_count"] == len(failures)
    ((next_check, last_checked),) = daemon.query(  # to the microsecond, unlike the CLI's
        "SELECT next_check, last_checked FROM feeds WHERE url = ?", server.url(feeds["fail"])
    )
    wait = datetime.fromisoformat(next_check) - datetime.fromisoformat(last_checked)
    expected = 2 ** (len(failures) - 1)  # seconds: interval × 2^(errors-1), +0–10 % jitter
    assert expected - 0.1 <= wait.total_seconds() <= expected * 1.1
    gone = state[server.url(feeds["gone"])]
    assert gone["disabled"] and "410" in gone["last_error"] and gone["next_check"] is None
    assert state[server.url(feeds["ok"])]["error_count"] == 0


# -- hostile input ------------------------------------------------------------------------


def test_every_hostile_feed_is_recorded_and_harms_nothing_else(
    server: HostileServer, tmp_path: Path, daemons: list[Daemon], cli: Cli
) -> None:
    server.set_feed("good", feed_items("good", 2))
    urls = [
        server.url("/feed/good"),
        *(server.url(r) for r in HOSTILE_ROUTES),
        "http://127.0.0.1:9/refused.xml",
        "http://no-such-host.invalid/feed.xml",
        server.url("/feed/good").replace("http://", "https://"),
    ]
    daemon = Daemon(tmp_path, cli, urls, timeout=1.5, max_bytes=1024 * 1024, interval="2s")
    daemons.append(daemon.start())
    wait_for(
        lambda: daemon.query("SELECT count(*) FROM feeds WHERE last_checked IS NULL") == [(0,)],
        20,
        "every feed checked once",
    )
    polls = len(server.requests("/feed/good"))
    wait_for(lambda: len(server.requests("/feed/good")) > polls, 10, "a later cycle")
    assert daemon.health()["status"] == "ok"

    state = daemon.feeds()
    good = state.pop(server.url("/feed/good"))
    assert good["items"] == 2 and good["error_count"] == 0
    for url, feed in state.items():
        assert feed["last_error"], url  # an error, or a note for what was survivable
        assert feed["next_check"] or feed["disabled"], url
    assert not server.requests("/xxe-target")
    assert daemon.signal(signal.SIGTERM)[0] == 0


# -- stopping -------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_during_hanging_fetches_exits_0_within_10s(
    signum: int, server: HostileServer, tmp_path: Path, daemons: list[Daemon], cli: Cli
) -> None:
    server.set_feed("c", feed_items("c", 2))
    # A 60 s timeout: the hang and the drip are truly in flight when the signal comes.
    daemon = Daemon(
        tmp_path,
        cli,
        [server.url("/feed/c"), server.url("/hang"), server.url("/drip")],
        timeout="60s",
    )
    daemons.append(daemon.start())
    wait_for(
        lambda: server.requests("/feed/c") and daemon.query("SELECT count(*) FROM items") == [(2,)],
        10,
        "the good feed stored",
    )
    wait_for(lambda: not server.requests("/hang"), 1, "the hang still in flight")
    code, seconds = daemon.signal(signum)
    assert code == 0 and seconds < STOP_LIMIT, daemon.log()
    assert daemon.query("SELECT count(*) FROM items") == [(2,)]  # committed work stays
    assert "event=stopped" in daemon.log()


# -- kill -9 ----------------------------------------------------------------------------------

FEEDS, STORIES, PER_FEED = 24, 240, 20


def _network(server: HostileServer) -> dict[frozenset[str], int]:
    """24 feeds of 20 items; every story is carried by exactly two feeds, as an exact copy
    (other guid, link and title), so the right clusters are known: the pairs."""
    expected: dict[int, set[str]] = {}
    for feed in range(FEEDS):
        items = []
        for offset in range(PER_FEED):
            s = (feed * 10 + offset) % STORIES
            guid = f"k{feed}-{s}"
            expected.setdefault(s, set()).add(guid)
            items.append(
                {
                    "guid": guid,
                    "title": f"Story {s} ({feed})",
                    "link": f"https://k{feed}.example/{s}",
                    "html": html(story(20_000 + s, paragraphs=3, words=40)),
                }
            )
        server.set_feed(f"k{feed}", items)
    return {frozenset(guids): s for s, guids in expected.items()}


def _clusters(daemon: Daemon) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for guid, cluster in daemon.query(
        "SELECT i.guid, m.cluster_id FROM items i JOIN memberships m ON m.item_id = i.id"
    ):
        out.setdefault(cluster, set()).add(guid)
    return out


def _check_database(daemon: Daemon, expected: dict[frozenset[str], int]) -> None:
    items = daemon.query("SELECT id, feed_id, entry_id FROM items")
    assert len(items) == FEEDS * PER_FEED
    assert len({(feed, entry) for _, feed, entry in items}) == len(items)  # each exactly once
    orphans = daemon.query(
        "SELECT count(*) FROM items i LEFT JOIN memberships m "
        "ON m.item_id = i.id WHERE m.item_id IS NULL"
    )
    assert orphans == [(0,)], "an item without a cluster"
    clusters = {
        c: (size, canonical)
        for c, size, canonical in daemon.query("SELECT id, size, canonical_item_id FROM clusters")
    }
    members: dict[int, set[int]] = {}
    for item, cluster in daemon.query("SELECT item_id, cluster_id FROM memberships"):
        members.setdefault(cluster, set()).add(item)
    assert set(clusters) == set(members), "an empty cluster, or a membership without one"
    for cluster, (size, canonical) in clusters.items():
        assert size == len(members[cluster])
        assert canonical in members[cluster], f"cluster {cluster}: canonical not a member"
    assert {frozenset(g) for g in _clusters(daemon).values()} == set(expected)


def test_kill_9_mid_ingest_then_restart_leaves_items_once_and_clusters_consistent(
    server: HostileServer, tmp_path: Path, daemons: list[Daemon], cli: Cli
) -> None:
    expected = _network(server)
    # A delay per feed spreads the ingest over a couple of seconds: the kill lands inside it.
    urls = [server.url(f"/feed/k{i}?delay=0.15") for i in range(FEEDS)]
    daemon = Daemon(tmp_path, cli, urls)
    daemons.append(daemon.start())
    wait_for(
        lambda: daemon.query("SELECT count(*) FROM items") not in ([], [(0,)]),
        20,
        "the first stored items",
    )
    daemon.kill()
    stored = daemon.query("SELECT count(*) FROM items")[0][0]
    decided = daemon.query("SELECT count(*) FROM memberships")[0][0]
    assert decided < stored or stored < FEEDS * PER_FEED, "the kill missed the ingest"

    # A second kill at another moment: during the restart's recovery or its first cycle.
    daemons.append(daemon.start())
    time.sleep(0.3)
    daemon.kill()

    daemons.append(daemon.start())
    wait_for(
        lambda: (
            daemon.query(
                "SELECT count(*) FROM items i LEFT JOIN memberships m ON "
                "m.item_id = i.id WHERE m.item_id IS NULL"
            )
            == [(0,)]
            and daemon.query("SELECT count(*) FROM items") == [(FEEDS * PER_FEED,)]
        ),
        30,
        "every item stored and decided",
    )
    assert daemon.signal(signal.SIGTERM)[0] == 0
    _check_database(daemon, expected)
    assert os.path.exists(daemon.db)
