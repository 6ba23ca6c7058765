"""Faults, repeated: a worker killed mid-feed, a decider killed; items lost and doubled.

    .venv/bin/python bench/faults.py [--repeat 20] [--feeds 30]
                                     [--pg postgresql+psycopg://postgres@127.0.0.1:5432]
                                     [--broker amqp://guest:guest@127.0.0.1:5672/]

Needs PostgreSQL and RabbitMQ.  Each repetition, into a fresh database, with ``--feeds``
generated feeds (3 items each) whose answers take 1.5 s:

1. a decider and a worker start; once feeds are handed out, the worker is killed with
   SIGKILL and another started; when every feed is polled and every item decided, the
   items are counted: lost = expected − stored, doubled = rows − distinct entries;
2. a second decider stands by; the first is killed with SIGKILL, every feed gains an item
   and is made due; printed: how long until the standby has decided the new items.

Printed per repetition and in total; both counts must be 0, and takeover ≤ 30 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/faults.py`: the repository root, not bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import subprocess
import tempfile
import time
from collections.abc import Callable

from aggregator.storage import Storage
from bench.loopback import GeneratedFeeds, serve_generated
from bench.scale import fresh_database, roles_config

ITEMS = 3


def _start(config: Path, verb: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "aggregator", "--config", str(config), verb],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except Exception:  # the schema is not there yet
            pass
        time.sleep(0.2)
    return False


def _counts(storage: Storage) -> tuple[int, int, int]:
    """Rows, distinct (feed, entry) pairs, and items still waiting or undecided."""
    with storage.engine.connect() as connection:
        rows, distinct = connection.exec_driver_sql(
            "SELECT count(*), count(DISTINCT (feed_id, entry_id)) FROM items"
        ).one()
        undecided = connection.exec_driver_sql(
            "SELECT count(*) FROM items i LEFT JOIN memberships m ON m.item_id = i.id "
            "WHERE m.item_id IS NULL"
        ).scalar()
    return int(rows), int(distinct), int(undecided or 0) + storage.decision_backlog()[0]


def one(
    urls: list[str], served: GeneratedFeeds, args: argparse.Namespace, folder: Path, n: int
) -> tuple[int, int, float]:
    with fresh_database(args.pg) as database:
        config = roles_config(folder / f"faults{n}.yaml", database, args.broker, urls)
        storage = Storage(database)
        processes = [_start(config, "decider", folder / "decider1.log")]
        victim = _start(config, "worker", folder / "victim.log")
        try:
            _wait(lambda: any(f.next_check is not None for f in storage.list_feeds()), 60)
            time.sleep(0.8)
            victim.kill()
            victim.wait()
            processes.append(_start(config, "worker", folder / "rescuer.log"))
            expected = len(urls) * ITEMS
            _wait(lambda: _counts(storage)[1] == expected and _counts(storage)[2] == 0, 120)
            rows, distinct, _ = _counts(storage)
            lost, doubled = expected - distinct, rows - distinct
            processes.append(_start(config, "decider", folder / "decider2.log"))
            time.sleep(2)  # the standby is up and waiting for the lease
            processes[0].kill()
            processes[0].wait()
            killed = time.monotonic()
            served.cycle = 2 + n
            with storage.engine.begin() as connection:
                connection.exec_driver_sql("UPDATE feeds SET next_check = now()")
            grown = _wait(lambda: _counts(storage)[0] > rows and _counts(storage)[2] == 0, 60)
            takeover = time.monotonic() - killed if grown else float("inf")
        finally:
            for process in processes + [victim]:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            storage.close()
        return lost, doubled, takeover


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--feeds", type=int, default=30)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672/")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    totals = [0, 0]
    takeovers: list[float] = []
    with serve_generated(args.feeds, hosts=5, items=ITEMS, changed_share=1.0) as served:
        served.latency_ms = 1500
        for n in range(args.repeat):
            lost, doubled, takeover = one(served.urls, served, args, folder, n)
            totals[0] += lost
            totals[1] += doubled
            takeovers.append(takeover)
            print(
                f"repetition {n + 1}: worker killed mid-feed: lost {lost}, doubled "
                f"{doubled}; decider killed: the standby decided the new items after "
                f"{takeover:.1f} s",
                flush=True,
            )
    print(
        f"{args.repeat} repetitions: lost {totals[0]}, doubled {totals[1]} (both must be 0); "
        f"takeover max {max(takeovers):.1f} s (target ≤ 30 s)"
    )
    print(f"logs: {folder}")
    return 0 if totals == [0, 0] and max(takeovers) <= 30 else 1


if __name__ == "__main__":
    raise SystemExit(main())
