"""Workers and deciders as separate processes on PostgreSQL and RabbitMQ (real processes,
real services): the same clusters as one process, and nothing lost or doubled when a
worker or the decider is killed."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update
from sqlalchemy.orm import Session

from aggregator.config import settings_from_mapping
from aggregator.ingest.pipeline import Pipeline
from aggregator.storage import Storage
from aggregator.storage.models import Feed
from aggregator.types import FeedSpec
from tests.feeds import html, story
from tests.helpers import free_port, wait_for
from tests.hostile_server import HostileServer

BROKER = "amqp://guest:guest@127.0.0.1:5672/"
FEEDS = 6
STORIES = 5


def _rabbitmq_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.processes,
    pytest.mark.skipif(
        not _rabbitmq_up(), reason="RabbitMQ not reachable at 127.0.0.1:5672 (.ci/run starts it)"
    ),
]


def _network(server: HostileServer, extra: int = 0) -> None:
    """Feed k carries stories k … k+4 (of 10), each copy with the feed's own footer and title
    style: every story is in several feeds."""
    for k in range(FEEDS):
        server.set_feed(
            f"n{k}",
            [
                {
                    "guid": f"n{k}-{s}",
                    "title": f"Story {s} | Site {k}",
                    "link": f"https://site{k}.example/{s}",
                    "html": html(story(500 + s), f"<p>Sponsored by Site {k} partners</p>"),
                }
                for s in [(k + i) % 10 for i in range(STORIES)] + list(range(10, 10 + extra))
            ],
        )


class Role:
    """``aggregator worker|decider`` as a process of its own."""

    def __init__(self, config: Path, verb: str, log: Path, *options: str) -> None:
        self.log_path = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "aggregator", "--config", str(config), verb, *options],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def roles() -> Iterator[list[Role]]:
    started: list[Role] = []
    yield started
    for role in started:
        role.close()


def _config(folder: Path, database: str, urls: list[str]) -> Path:
    config = folder / "roles.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": database,
                "broker": BROKER,
                "polling": {"interval": "2s", "timeout": "10s"},
                "feeds": [{"url": u} for u in urls],
            }
        )
    )
    return config


def _partition(storage: Storage) -> set[frozenset[str]]:
    groups: dict[int | None, set[str]] = {}
    for item in storage.list_items():
        groups.setdefault(item.cluster_id, set()).add(item.guid)
    return {frozenset(g) for g in groups.values()}


def _settled(storage: Storage, items: int) -> bool:
    storage.upgrade()  # the decider may not have made the schema yet
    listed = storage.list_items()
    return (
        len(listed) == items
        and all(i.cluster_id is not None for i in listed)
        and storage.decision_backlog()[0] == 0
    )


def test_roles_give_the_clusters_one_process_gives(
    tmp_path: Path, pg_url: str, roles: list[Role]
) -> None:
    with HostileServer() as server:
        _network(server)
        urls = [server.url(f"/feed/n{k}") for k in range(FEEDS)]
        alone = tmp_path / "alone.db"
        single = Pipeline(
            Storage(f"sqlite:///{alone}"),
            settings_from_mapping(
                {"database": f"sqlite:///{alone}", "feeds": [{"url": u} for u in urls]}, None
            ),
        )
        single.poll()
        expected = _partition(single.storage)
        single.close()
        assert len(expected) == 10

        config = _config(tmp_path, pg_url, urls)
        roles.append(Role(config, "decider", tmp_path / "decider.log"))
        roles.extend(Role(config, "worker", tmp_path / f"worker{n}.log") for n in range(3))
        storage = Storage(pg_url)
        wait_for(lambda: _settled(storage, FEEDS * STORIES), 60, "every item decided")
        assert _partition(storage) == expected


def test_a_worker_killed_mid_feed_loses_and_doubles_nothing(
    tmp_path: Path, pg_url: str, roles: list[Role]
) -> None:
    with HostileServer() as server:
        _network(server)
        # Each answer takes 1.5 s: the kill lands while the worker holds fetches.
        urls = [server.url(f"/feed/n{k}?delay=1.5") for k in range(FEEDS)]
        config = _config(tmp_path, pg_url, urls)
        roles.append(Role(config, "decider", tmp_path / "decider.log"))
        victim = Role(config, "worker", tmp_path / "victim.log")
        roles.append(victim)
        storage = Storage(pg_url)
        storage.upgrade()
        wait_for(
            lambda: len(server.requests()) == 0 and _in_flight(storage), 30, "a fetch in flight"
        )
        time.sleep(0.5)
        victim.kill()
        assert len(storage.list_items()) < FEEDS * STORIES, "the kill came too late"
        roles.append(Role(config, "worker", tmp_path / "rescuer.log"))
        wait_for(lambda: _settled(storage, FEEDS * STORIES), 60, "every item decided")
        guids = [i.guid for i in storage.list_items()]
        assert len(guids) == len(set(guids)) == FEEDS * STORIES
        assert len(_partition(storage)) == 10


def _in_flight(storage: Storage) -> bool:
    """The decider has handed feeds out (their next check moved to the lease)."""
    try:
        return any(f.next_check is not None for f in storage.list_feeds())
    except Exception:
        return False


def test_the_standby_decides_when_the_decider_is_killed(
    tmp_path: Path, pg_url: str, roles: list[Role]
) -> None:
    with HostileServer() as server:
        _network(server)
        urls = [server.url(f"/feed/n{k}") for k in range(FEEDS)]
        config = _config(tmp_path, pg_url, urls)
        first = Role(config, "decider", tmp_path / "first.log")
        roles.append(first)
        storage = Storage(pg_url)
        wait_for(lambda: _decider_token(storage), 30, "the first decider")
        roles.append(Role(config, "decider", tmp_path / "standby.log"))
        roles.append(Role(config, "worker", tmp_path / "worker.log"))
        wait_for(lambda: _settled(storage, FEEDS * STORIES), 60, "every item decided")
        first.kill()
        killed_at = time.monotonic()
        _network(server, extra=2)  # new stories arrive after the decider died
        wait_for(
            lambda: _settled(storage, FEEDS * (STORIES + 2)),
            60,
            "the new items decided by the standby",
        )
        assert time.monotonic() - killed_at < 30 + 5
        assert "role=decider" in (tmp_path / "standby.log").read_text()
        guids = [i.guid for i in storage.list_items()]
        assert len(guids) == len(set(guids))


def _decider_token(storage: Storage) -> bool:
    try:
        return storage.get_setting("decider") is not None
    except Exception:
        return False


def _most_at_once(arrivals: list[float], answer_seconds: float) -> int:
    """The most requests a server answering each after ``answer_seconds`` held at once."""
    ordered = sorted(arrivals)
    # Margin: a request that arrives as another's answer leaves does not overlap it.
    window = answer_seconds - 0.3
    return max(
        (
            sum(1 for later in ordered[i:] if later < start + window)
            for i, start in enumerate(ordered)
        ),
        default=0,
    )


def test_one_host_gets_at_most_two_fetches_at_once_from_every_worker_together(
    tmp_path: Path, pg_url: str, roles: list[Role]
) -> None:
    """Six feeds of one host, due together, each answered after 1.5 s, and two workers of
    four threads each: the decider hands out no more than two at a time (each worker on
    its own would have fetched four)."""
    with HostileServer() as server:
        _network(server)
        urls = [server.url(f"/feed/n{k}?delay=1.5") for k in range(FEEDS)]
        config = _config(tmp_path, pg_url, urls)
        roles.append(Role(config, "decider", tmp_path / "decider.log"))
        roles.extend(
            Role(config, "worker", tmp_path / f"worker{n}.log", "--threads", "4") for n in range(2)
        )
        storage = Storage(pg_url)
        wait_for(lambda: _settled(storage, FEEDS * STORIES), 60, "every item decided")
        first_round = sorted(s.at for s in server.requests())[:FEEDS]
        assert len(first_round) == FEEDS
        assert _most_at_once(first_round, 1.5) == 2


def test_a_worker_measures_lateness_from_when_the_feed_was_due(
    tmp_path: Path, pg_url: str, roles: list[Role]
) -> None:
    """The decider's claim moves a feed's next check to its lease before a worker loads
    it: the task carries the time it was due, or every fetch would count as on time."""
    with HostileServer() as server:
        _network(server)
        url = server.url("/feed/n0")
        config = _config(tmp_path, pg_url, [url])
        storage = Storage(pg_url)
        storage.upgrade()
        storage.sync_feeds([FeedSpec(url)])
        with Session(storage.engine) as s, s.begin():  # due 40 s ago, not yet claimed
            s.execute(update(Feed).values(next_check=datetime.now(UTC) - timedelta(seconds=40)))
        port = free_port()
        roles.append(Role(config, "worker", tmp_path / "worker.log", "--metrics-port", str(port)))
        roles.append(Role(config, "decider", tmp_path / "decider.log"))
        wait_for(lambda: storage.list_feeds()[0].last_checked is not None, 60, "the feed polled")
        late = wait_for(
            lambda: _metric(port, "aggregator_poll_lateness_seconds_sum"), 10, "a lateness above 0"
        )
        assert late >= 40
        storage.close()


def _metric(port: int, name: str) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
    return None
