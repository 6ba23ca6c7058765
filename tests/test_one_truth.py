"""The database is the truth: a second process beside the daemon hands its work to the one
decider instead of forking the clusters (real processes on one SQLite file)."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from aggregator.storage import Storage
from aggregator.types import FeedSpec
from tests.feeds import FOOTER, html, rss, story
from tests.helpers import Cli, wait_for
from tests.hostile_server import HostileServer, feed_items
from tests.test_daemon import Daemon

pytestmark = pytest.mark.processes

TOKEN = "s3cret-token"


def _cli(config: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """The command line as a process of its own, beside the daemon."""
    return subprocess.run(
        [sys.executable, "-m", "aggregator", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


def _items(db: Path) -> list[tuple[str, int | None]]:
    with sqlite3.connect(db, timeout=10) as conn:
        return conn.execute(
            "SELECT i.guid, m.cluster_id FROM items i LEFT JOIN memberships m "
            "ON m.item_id = i.id ORDER BY i.id"
        ).fetchall()


def _consistent(db: Path) -> None:
    """Every item in one cluster; each cluster's stored size is its member count."""
    with sqlite3.connect(db, timeout=10) as conn:
        assert conn.execute(
            "SELECT count(*) FROM items i LEFT JOIN memberships m ON "
            "m.item_id = i.id WHERE m.item_id IS NULL"
        ).fetchone() == (0,)
        wrong = conn.execute(
            "SELECT c.id, c.size, count(m.item_id) FROM clusters c LEFT JOIN "
            "memberships m ON m.cluster_id = c.id GROUP BY c.id "
            "HAVING c.size != count(m.item_id)"
        ).fetchall()
        assert wrong == [], wrong


def _drip_checked(db: Path) -> str | None:
    with sqlite3.connect(db, timeout=10) as conn:
        row = conn.execute("SELECT last_checked FROM feeds WHERE url LIKE '%/drip'").fetchone()
        return None if row is None else row[0]


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.close()


def _copies(folder: Path) -> tuple[Path, Path]:
    """Feed X and feed Y: the same three stories, under other titles and another footer."""
    x = [
        {
            "guid": f"x{n}",
            "title": f"Story {n}",
            "link": f"https://x.example/{n}",
            "html": html(story(n), FOOTER),
        }
        for n in range(3)
    ]
    y = [
        {
            "guid": f"y{n}",
            "title": f"STORY {n} - The Y Times",
            "link": f"https://y.example/{n}",
            "html": html(story(n), "<p>Sponsored by Y</p>"),
        }
        for n in range(3)
    ]
    (folder / "x.xml").write_bytes(rss("X", x))
    (folder / "y.xml").write_bytes(rss("Y", y))
    return folder / "x.xml", folder / "y.xml"


def test_a_poll_once_beside_the_daemon_hands_its_items_to_the_decider(
    tmp_path: Path, daemons: list[Daemon], cli: Cli
) -> None:
    x, y = _copies(tmp_path)
    # An hour's interval: the daemon looks for due feeds every 15 s, so X, which the
    # second process adds, is not fetched by both (on a loaded machine the daemon won it,
    # and the second process found nothing new to hand over).
    daemon = Daemon(tmp_path, cli, [], interval="1h")
    daemons.append(daemon.start())
    # Feed X reaches the database through a second process, `poll --once`.
    once = tmp_path / "once.yaml"
    once.write_text(
        yaml.safe_dump({"database": f"sqlite:///{daemon.db}", "feeds": [{"url": str(x)}]})
    )
    polled = _cli(once, "poll", "--once")
    assert "handed it 3 items" in polled.stdout and "all placed" in polled.stdout
    # Then Y, with the same stories, is polled by the daemon.
    _cli(daemon.config, "feeds", "add", str(y))
    wait_for(
        lambda: len(_items(daemon.db)) == 6 and all(c for _, c in _items(daemon.db)),
        45,
        "Y's items decided",
    )
    clusters = dict(_items(daemon.db))
    for n in range(3):
        assert clusters[f"x{n}"] == clusters[f"y{n}"], f"story {n} forked into two clusters"
    assert len(set(clusters.values())) == 3
    _consistent(daemon.db)


def test_corrections_from_the_cli_and_over_http_are_applied_in_one_order(
    tmp_path: Path, daemons: list[Daemon], cli: Cli
) -> None:
    x, y = _copies(tmp_path)
    daemon = Daemon(tmp_path, cli, [str(x), str(y)])
    config = yaml.safe_load(daemon.config.read_text())
    config["server"]["token"] = TOKEN
    daemon.config.write_text(yaml.safe_dump(config))
    daemons.append(daemon.start())
    wait_for(
        lambda: len(_items(daemon.db)) == 6 and all(c for _, c in _items(daemon.db)),
        30,
        "the copies decided",
    )
    ids = {
        guid: item_id
        for item_id, guid in sqlite3.connect(daemon.db).execute("SELECT id, guid FROM items")
    }
    before = dict(_items(daemon.db))
    assert before["x0"] == before["y0"] and before["x1"] == before["y1"]
    # A correction from the command line (a process of its own), then one over HTTP.
    split = _cli(daemon.config, "clusters", "split", str(ids["y0"]))
    assert "is now alone" in split.stdout
    request = urllib.request.Request(
        f"http://127.0.0.1:{daemon.port}/api/items/{ids['y1']}/split",
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200
    after = dict(_items(daemon.db))
    assert len({after["y0"], after["y1"], after["x0"], after["x1"]}) == 4, after
    # A cluster id is never given to a second story: every new one is a fresh number.
    known = {v for v in before.values() if v is not None}
    fresh = {v for v in after.values() if v is not None} - known
    assert len(fresh) == 2 and min(fresh) > max(known), after
    _consistent(daemon.db)
    assert daemon.signal(signal.SIGTERM)[0] == 0


def test_a_feed_that_drips_delays_no_decision_and_no_other_feed(
    tmp_path: Path, daemons: list[Daemon], cli: Cli
) -> None:
    with HostileServer() as server:
        for n in range(20):
            server.set_feed(f"f{n}", feed_items(f"f{n}", 3, first_seed=100 * n))
        feeds = [server.url(f"/feed/f{n}") for n in range(20)] + [server.url("/drip")]
        daemon = Daemon(tmp_path, cli, feeds, interval="2s", timeout="30s")
        started = time.monotonic()
        daemons.append(daemon.start())
        # The 60 healthy items are decided while /drip still holds its fetch (30 s).
        wait_for(
            lambda: sum(1 for _, c in _items(daemon.db) if c) == 60,
            15,
            "the healthy feeds' items decided",
        )
        assert time.monotonic() - started < 20
        assert _drip_checked(daemon.db) is None, "the slow fetch has not ended"
        # And the healthy feeds are polled again on their 2 s interval meanwhile.
        wait_for(lambda: len(server.requests("/feed/f0")) >= 3, 15, "f0 polled again")
        assert _drip_checked(daemon.db) is None, "still the first, slow fetch"
        metrics: dict[str, Any] = daemon.metrics()
        assert metrics["aggregator_decider"] == 1.0
        health = json.loads(daemon.get("/healthz")[1])
        assert health["role"] == "decider"


def test_feeds_that_drip_one_after_another_hold_no_poll_of_the_others(
    tmp_path: Path, daemons: list[Daemon], cli: Cli
) -> None:
    """Three slow feeds on three other hosts, each added while the one before still holds
    its fetch: with poll cycles that wait for their slowest fetch, every cycle the daemon
    could run would be held, and the healthy feeds would wait for the first deadline."""
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(HostileServer())
        slow = [stack.enter_context(HostileServer(host=f"127.0.0.{n}")) for n in (2, 3, 4)]
        for n in range(10):
            server.set_feed(f"f{n}", feed_items(f"f{n}", 2, first_seed=100 * n))
        feeds = [server.url(f"/feed/f{n}") for n in range(10)] + [slow[0].url("/drip")]
        daemon = Daemon(tmp_path, cli, feeds, interval="2s", timeout="30s")
        daemons.append(daemon.start())
        wait_for(lambda: slow[0].started("/drip"), 15, "the first slow fetch started")
        storage = Storage(f"sqlite:///{daemon.db}")  # a second writer, as the web face
        for n, host in enumerate(slow[1:], start=2):
            storage.add_feed(FeedSpec(host.url("/drip")))
            wait_for(partial(host.started, "/drip"), 15, f"slow fetch {n} started")
        storage.close()
        before = len(server.requests("/feed/f0"))
        wait_for(lambda: len(server.requests("/feed/f0")) >= before + 2, 12, "f0 polled again")
        with sqlite3.connect(daemon.db, timeout=10) as conn:
            slow_done = conn.execute(
                "SELECT count(*) FROM feeds WHERE url LIKE '%/drip' AND last_checked IS NOT NULL"
            ).fetchone()[0]
        assert slow_done == 0, "the slow fetches were all still running meanwhile"
