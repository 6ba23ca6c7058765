"""How the roles scale: feeds per second against worker processes, and the decider's rate.

    .venv/bin/python bench/scale.py [--feeds 2000] [--workers 1,2,4,8] [--threads 8]
                                    [--latency 300] [--pg postgresql+psycopg://postgres@127.0.0.1:5432]
                                    [--broker amqp://guest:guest@127.0.0.1:5672/]

Needs PostgreSQL and RabbitMQ (the ones on this machine by default).  Serves ``--feeds``
generated feeds (3 items each) on 50 loopback addresses, each answer delayed by
``--latency`` ms (a network's round trip).  For each worker count, into a fresh
database: one ``aggregator decider`` and that many ``aggregator worker`` processes
(``--threads`` each) poll every feed once; printed: the wall time until every feed was
polled, feeds per second, and the ratio to one worker.

Then the decider alone: the items of the last run are put back in its queue, and one
decider (no workers) decides them from scratch; printed: items per second, the rate past
which the decider, not the workers, is the bottleneck.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/scale.py`: the repository root, not bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import yaml

from aggregator.storage import Storage
from bench.loopback import serve_generated


@contextmanager
def fresh_database(server: str) -> Iterator[str]:
    name = f"bench_scale_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(
        server.replace("postgresql+psycopg://", "postgresql://") + "/test", autocommit=True
    )
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def roles_config(path: Path, database: str, broker: str, urls: list[str]) -> Path:
    """A config for the roles: these feeds, each polled once an hour (once in a run)."""
    path.write_text(
        yaml.safe_dump(
            {
                "database": database,
                "broker": broker,
                "polling": {"interval": "1h", "timeout": "30s"},
                "feeds": [{"url": u} for u in urls],
            }
        )
    )
    return path


def _roles(config: Path, workers: int, threads: int, folder: Path) -> list[subprocess.Popen[bytes]]:
    def start(*verb: str, log: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "aggregator", "--config", str(config), *verb],
            stdout=(folder / log).open("wb"),
            stderr=subprocess.STDOUT,
        )

    started = [start("decider", log="decider.log")]
    started += [
        start("worker", "--threads", str(threads), log=f"worker{n}.log") for n in range(workers)
    ]
    return started


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each process still running, then up to 20 s each to exit (else SIGKILL)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def _polled(storage: Storage) -> int:
    try:
        return sum(1 for f in storage.list_feeds() if f.last_checked is not None)
    except Exception:
        return 0  # the schema is not there yet


def one_run(
    urls: list[str], workers: int, args: argparse.Namespace, folder: Path
) -> tuple[float, int]:
    with fresh_database(args.pg) as database:
        config = roles_config(folder / f"w{workers}.yaml", database, args.broker, urls)
        storage = Storage(database)
        processes = _roles(config, workers, args.threads, folder)
        started = time.monotonic()
        try:
            while _polled(storage) < len(urls):
                if time.monotonic() - started > 900:
                    raise RuntimeError("not every feed polled within 900 s")
                time.sleep(0.2)
            seconds = time.monotonic() - started
            items = len(storage.list_items())
        finally:
            stop_processes(processes)
            storage.close()
        return seconds, items


def decider_rate(
    urls: list[str], workers: int, args: argparse.Namespace, folder: Path
) -> tuple[int, float]:
    """Store everything with workers and no decider, then time one decider alone."""
    with fresh_database(args.pg) as database:
        config = roles_config(folder / "decider.yaml", database, args.broker, urls)
        storage = Storage(database)
        processes = _roles(config, workers, args.threads, folder)
        try:
            while _polled(storage) < len(urls):
                time.sleep(0.2)
        finally:
            stop_processes(processes)
        with storage.engine.begin() as connection:  # forget the decisions, keep the items
            for table in ("memberships", "clusters", "corrections", "block_counts", "undecided"):
                connection.exec_driver_sql(f"DELETE FROM {table}")
            connection.exec_driver_sql(
                "INSERT INTO undecided (item_id, is_new, queued) SELECT id, true, now() FROM items"
            )
            connection.exec_driver_sql("UPDATE items SET fingerprint = NULL")
            connection.exec_driver_sql("UPDATE feeds SET next_check = now() + interval '1 day'")
        items = storage.decision_backlog()[0]
        started = time.monotonic()
        decider = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "--config", str(config), "decider"],
            stdout=(folder / "alone.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        try:
            while storage.decision_backlog()[0] > 0:
                time.sleep(0.1)
            seconds = time.monotonic() - started
        finally:
            stop_processes([decider])
            storage.close()
        return items, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--latency", type=int, default=300)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672/")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    counts = [int(n) for n in args.workers.split(",")]
    with serve_generated(args.feeds, hosts=50) as served:
        served.latency_ms = args.latency
        base = None
        for workers in counts:
            seconds, items = one_run(served.urls, workers, args, folder)
            rate = args.feeds / seconds
            base = base or rate
            print(
                f"{workers} worker(s) × {args.threads} threads: {args.feeds} feeds "
                f"({items} items) in {seconds:.1f} s = {rate:.1f} feeds/s, "
                f"{rate / base:.2f}× one worker",
                flush=True,
            )
        served.latency_ms = 0
        items, seconds = decider_rate(served.urls, max(counts), args, folder)
    print(
        f"decider alone: {items} waiting items decided in {seconds:.1f} s = "
        f"{items / seconds:.0f} items/s (start-up included); at 3 new items a feed, the "
        f"workers outrun it past ~{items / seconds / 3:.0f} feeds/s of new items"
    )
    print(f"logs: {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
