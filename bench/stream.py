"""Decision latency and punctuality of the daemon, with some feeds slow to their deadline.

    .venv/bin/python bench/stream.py [--feeds 10000] [--slow 20] [--slow-seconds 25]
                                     [--interval 60] [--seconds 300] [--hosts 50]
                                     [--workers N [--threads T] [--pg URL] [--broker URL]]

Serves ``--feeds`` generated feeds (3 items each, a tenth of them gaining an item a cycle)
and ``--slow`` more that answer only after ``--slow-seconds`` (``polling.timeout`` is 30 s)
on loopback, runs ``aggregator run`` on them for ``--seconds`` into a fresh SQLite
database — or, with ``--workers N``, the roles: one ``aggregator decider`` and N
``aggregator worker`` processes on a fresh PostgreSQL database and RabbitMQ — then prints:

* **decision latency**: per item, from its storing (the end of its fetch) to its first
  cluster (``memberships.decided_at - items.first_seen``): p50, p95, max, for the cold
  start (the items stored before every feed was polled once and the decision backlog
  emptied: every feed's whole history arrives at once, more than the decider places a
  second) and for the steady state after it;
* **punctuality**: the daemon's ``aggregator_poll_lateness_seconds`` histogram, how long
  after its next check each fetch started, as the share within a quarter of the interval,
  for the whole run and for the steady state;
* the items and feeds polled, and the slow feeds' state;
* the CPU time of the processes, per 1,000 fetches (and per role): the machines here are
  shared and small, so what a fetch costs says more than the punctuality of a run.

The targets (issue 12): p95 ≤ 2 s; every healthy feed polled within a quarter of its
interval of when it was due.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/stream.py`: the repository root, not bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import os
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import yaml
from sqlalchemy import create_engine, text

from bench.loopback import GeneratedFeeds, free_port, serve_generated
from bench.scale import fresh_database, stop_processes


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _query(database: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(database)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def _naive(value: object) -> datetime:
    """A stored time as naive UTC (SQLite gives text, PostgreSQL an aware datetime)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _latencies(database: str, steady_from: datetime | None) -> tuple[list[float], list[float]]:
    """Fetch end → cluster, for the items stored before ``steady_from`` (the cold start)
    and after it (the steady state)."""
    rows = [
        (_naive(f), _naive(d))
        for f, d in _query(
            database,
            "SELECT i.first_seen, m.decided_at FROM items i JOIN memberships m ON m.item_id = i.id",
        )
    ]
    cold = [(d - f).total_seconds() for f, d in rows if steady_from is None or f < steady_from]
    steady = [(d - f).total_seconds() for f, d in rows if steady_from and f >= steady_from]
    return cold, steady


def _metrics(ports: list[int]) -> dict[str, float]:
    """The metrics of these processes, summed by name (the workers' fetch histograms add
    up; a gauge only one process sets stays its own)."""
    out: dict[str, float] = {}
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            body = answer.read().decode()
        for line in body.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = out.get(name, 0.0) + float(value)
    return out


def _within(
    metrics: dict[str, float], bound: float, since: dict[str, float] | None = None
) -> tuple[float, int]:
    """The share of fetches that started within ``bound`` seconds of being due (counted
    after the ``since`` snapshot of the metrics, when given)."""

    def count(name: str) -> float:
        return metrics.get(name, 0.0) - (since or {}).get(name, 0.0)

    total = count("aggregator_poll_lateness_seconds_count")
    inside = max(
        (
            count(k)
            for k in metrics
            if k.startswith("aggregator_poll_lateness_seconds_bucket")
            and 'le="+Inf"' not in k
            and float(k.split('le="')[1].rstrip('"}')) <= bound
        ),
        default=0.0,
    )
    return (inside / total if total else float("nan")), int(total)


def _summary(values: list[float]) -> str:
    return (
        f"{len(values)} items: p50 {_percentile(values, 0.5):.2f} s, "
        f"p95 {_percentile(values, 0.95):.2f} s, max {max(values, default=0):.2f} s"
    )


@contextmanager
def _processes(
    args: argparse.Namespace, urls: list[str], folder: Path
) -> Iterator[tuple[str, list[int], list[subprocess.Popen[bytes]]]]:
    """The daemon (or the roles) on these feeds: the database, the metrics ports (the
    decider's first) and the processes, stopped at the end."""
    polling = {"interval": f"{args.interval}s", "timeout": "30s"}
    if not args.workers:
        database, port = f"sqlite:///{folder / 'stream.db'}", free_port()
        config = {
            "database": database,
            "polling": polling,
            "server": {"port": port},
            "feeds": [{"url": u} for u in urls],
        }
        commands, ports = [["run"]], [port]
        with _started(config, commands, folder) as processes:
            yield database, ports, processes
        return
    with fresh_database(args.pg) as database:
        config = {"database": database, "broker": args.broker, "polling": polling}
        ports = [free_port() for _ in range(args.workers + 1)]
        commands = [["decider", "--metrics-port", str(ports[0])]] + [
            [
                "worker",
                *(["--threads", str(args.threads)] if args.threads else []),
                "--metrics-port",
                str(port),
            ]
            for port in ports[1:]
        ]
        with _started({**config, "feeds": [{"url": u} for u in urls]}, commands, folder) as ps:
            yield database, ports, ps


@contextmanager
def _started(
    config: Mapping[str, object], commands: list[list[str]], folder: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "aggregator", "--config", str(folder / "config.yaml"), *verb],
            stdout=(folder / f"{verb[0]}{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for n, verb in enumerate(commands)
    ]
    try:
        yield processes
    finally:
        stop_processes(processes)


def run(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    with serve_generated(
        args.feeds + args.slow, hosts=args.hosts, slow_seconds=args.slow_seconds
    ) as served:
        urls = served.urls[: args.feeds] + [
            url.replace("/f/", "/slow/") for url in served.urls[args.feeds :]
        ]
        with _processes(args, urls, folder) as (database, ports, processes):
            watched = _watch(args, served, database, ports, processes, folder)
            if watched is None:
                return 1
            metrics, steady_from, steady_metrics, cold_seconds = watched
            cpu = [_cpu_seconds(process.pid) for process in processes]
            stop_processes(processes)  # then read the database, before a fresh one is dropped
            cold, steady = _latencies(database, steady_from)
            items = _query(database, "SELECT count(*) FROM items")[0][0]
            undecided = _query(database, "SELECT count(*) FROM undecided")[0][0]
            slow_checked = _query(
                database,
                "SELECT count(*) FROM feeds WHERE url LIKE '%/slow/%' AND last_checked IS NOT NULL",
            )[0][0]
    bound = args.interval / 4
    share, fetches = _within(metrics, bound)
    where = (
        f"{args.workers} worker(s) × {args.threads or 'default'} threads and a decider, PostgreSQL"
        if args.workers
        else "one `aggregator run`, SQLite"
    )
    print(
        f"feeds: {args.feeds} healthy + {args.slow} slow ({args.slow_seconds:g} s) on "
        f"{args.hosts} loopback hosts; interval {args.interval} s; ran {args.seconds} s; {where}"
    )
    print(f"items stored: {items}, decided: {len(cold) + len(steady)}, still waiting: {undecided}")
    print(
        f"decision latency (fetch end → cluster), steady state: {_summary(steady)} "
        "(target p95 ≤ 2 s)"
    )
    ended = f"after {cold_seconds:.0f} s" if steady_from else f"not within {args.seconds} s"
    print(f"  cold start (every feed polled, the backlog empty {ended}): {_summary(cold)}")
    print(
        f"punctuality: {share:.1%} of {fetches} fetches started within {bound:g} s (a quarter "
        "of the interval) of their due time"
    )
    if steady_metrics is not None:
        share, fetches = _within(metrics, bound, since=steady_metrics)
        print(f"  steady state: {share:.1%} of {fetches} fetches")
    print(f"slow feeds with a finished fetch: {slow_checked} of {args.slow}")
    roles = (
        ["decider", *(f"worker {n}" for n in range(1, args.workers + 1))] if args.workers else []
    )
    print(
        f"CPU seconds: {sum(cpu):.0f} ({1000 * sum(cpu) / max(fetches, 1):.1f} per 1,000 fetches)"
        + (
            ": " + ", ".join(f"{r} {c:.0f}" for r, c in zip(roles, cpu, strict=True))
            if roles
            else ""
        )
    )
    print(f"logs: {folder}")
    return 0


def _watch(
    args: argparse.Namespace,
    served: GeneratedFeeds,
    database: str,
    ports: list[int],
    processes: list[subprocess.Popen[bytes]],
    folder: Path,
) -> tuple[dict[str, float], datetime | None, dict[str, float] | None, float] | None:
    """Let the run go for ``--seconds``, a cycle of the served feeds per interval; note when
    the steady state begins.  None when a process exited early."""
    steady_from: datetime | None = None
    steady_metrics: dict[str, float] | None = None
    cold_seconds = 0.0
    started = time.monotonic()
    cycle = 1
    while time.monotonic() - started < args.seconds:
        time.sleep(1)
        elapsed = time.monotonic() - started
        if elapsed > args.interval * (cycle - 0.2):
            cycle += 1
            served.cycle = cycle  # a tenth of the feeds gain an item each cycle
        if any(p.poll() is not None for p in processes):
            print("a process exited early; see the logs in", folder)
            return None
        if steady_from is None and elapsed > 5:
            try:
                now = _metrics(ports)
            except OSError:
                continue  # still starting
            if now.get("aggregator_decision_backlog", 1.0) == 0 and _unpolled(database) == 0:
                # Naive UTC, as the items' times are compared.
                steady_from = datetime.now(UTC).replace(tzinfo=None)
                steady_metrics = now
                cold_seconds = elapsed
    return _metrics(ports), steady_from, steady_metrics, cold_seconds


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children still running (the parser child), from
    ``/proc``; 0 where there is none (not Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_cpu_seconds(int(child)) for child in children)


def _unpolled(database: str) -> int:
    """Feeds not polled yet: the cold start lasts at least until every feed was."""
    try:
        return int(_query(database, "SELECT count(*) FROM feeds WHERE last_checked IS NULL")[0][0])
    except Exception:  # not created yet, or busy
        return -1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--slow-seconds", type=float, default=25.0)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--workers", type=int, default=0, help="run the roles, not the daemon")
    parser.add_argument("--threads", type=int, default=None, help="default: the worker's")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672/")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
