"""Decision latency and punctuality of the daemon, with some feeds slow to their deadline.

    .venv/bin/python bench/stream.py [--feeds 10000] [--slow 20] [--slow-seconds 25]
                                     [--interval 60] [--seconds 300] [--hosts 50]

Serves ``--feeds`` generated feeds (3 items each, a tenth of them gaining an item a cycle)
and ``--slow`` more that answer only after ``--slow-seconds`` (``polling.timeout`` is 30 s)
on loopback, runs ``aggregator run`` on them for ``--seconds`` into a fresh SQLite
database, then prints:

* **decision latency**: per item, from its storing (the end of its fetch) to its first
  cluster (``memberships.decided_at - items.first_seen``): p50, p95, max, for the cold
  start (the items stored before every feed was polled once and the decision backlog
  emptied: every feed's whole history arrives at once, more than the decider places a
  second) and for the steady state after it;
* **punctuality**: the daemon's ``aggregator_poll_lateness_seconds`` histogram, how long
  after its next check each fetch started, as the share within a quarter of the interval,
  for the whole run and for the steady state;
* the items and feeds polled, and the slow feeds' state.

The targets (issue 12): p95 ≤ 2 s; every healthy feed polled within a quarter of its
interval of when it was due.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/stream.py`: the repository root, not bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
from datetime import UTC, datetime

import yaml

from bench.loopback import free_port, serve_generated


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _latencies(db: Path, steady_from: datetime | None) -> tuple[list[float], list[float]]:
    """Fetch end → cluster, for the items stored before ``steady_from`` (the cold start)
    and after it (the steady state)."""
    with sqlite3.connect(db) as conn:
        rows = [
            (datetime.fromisoformat(f), datetime.fromisoformat(d))
            for f, d in conn.execute(
                "SELECT i.first_seen, m.decided_at FROM items i JOIN memberships m "
                "ON m.item_id = i.id"
            ).fetchall()
        ]
    cold = [(d - f).total_seconds() for f, d in rows if steady_from is None or f < steady_from]
    steady = [(d - f).total_seconds() for f, d in rows if steady_from and f >= steady_from]
    return cold, steady


def _metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
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


def run(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    db = folder / "stream.db"
    port = free_port()
    with serve_generated(
        args.feeds + args.slow, hosts=args.hosts, slow_seconds=args.slow_seconds
    ) as served:
        urls = served.urls[: args.feeds] + [
            url.replace("/f/", "/slow/") for url in served.urls[args.feeds :]
        ]
        (folder / "config.yaml").write_text(
            yaml.safe_dump(
                {
                    "database": f"sqlite:///{db}",
                    "polling": {"interval": f"{args.interval}s", "timeout": "30s"},
                    "server": {"port": port},
                    "feeds": [{"url": u} for u in urls],
                }
            )
        )
        daemon = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "--config", str(folder / "config.yaml"), "run"],
            stdout=(folder / "daemon.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        steady_from: datetime | None = None
        steady_metrics: dict[str, float] | None = None
        cold_seconds = 0.0
        try:
            started = time.monotonic()
            cycle = 1
            while time.monotonic() - started < args.seconds:
                time.sleep(1)
                elapsed = time.monotonic() - started
                if elapsed > args.interval * (cycle - 0.2):
                    cycle += 1
                    served.cycle = cycle  # a tenth of the feeds gain an item each cycle
                if daemon.poll() is not None:
                    print("the daemon exited early; see", folder / "daemon.log")
                    return 1
                if steady_from is None and elapsed > 5:
                    try:
                        now = _metrics(port)
                    except OSError:
                        continue  # still starting
                    if now.get("aggregator_decision_backlog", 1.0) == 0 and _unpolled(db) == 0:
                        # Naive UTC, as SQLite holds the items' times.
                        steady_from = datetime.now(UTC).replace(tzinfo=None)
                        steady_metrics = now
                        cold_seconds = elapsed
            metrics = _metrics(port)
        finally:
            daemon.terminate()
            daemon.wait(30)
    cold, steady = _latencies(db, steady_from)
    bound = args.interval / 4
    share, fetches = _within(metrics, bound)
    with sqlite3.connect(db) as conn:
        items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        undecided = conn.execute("SELECT count(*) FROM undecided").fetchone()[0]
        slow_checked = conn.execute(
            "SELECT count(*) FROM feeds WHERE url LIKE '%/slow/%' AND last_checked IS NOT NULL"
        ).fetchone()[0]
    print(
        f"feeds: {args.feeds} healthy + {args.slow} slow ({args.slow_seconds:g} s) on "
        f"{args.hosts} loopback hosts; interval {args.interval} s; ran {args.seconds} s"
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
    print(f"database and log: {folder}")
    return 0


def _unpolled(db: Path) -> int:
    """Feeds not polled yet: the cold start lasts at least until every feed was."""
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return int(
                conn.execute("SELECT count(*) FROM feeds WHERE last_checked IS NULL").fetchone()[0]
            )
    except sqlite3.Error:
        return -1  # not created yet, or busy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--slow-seconds", type=float, default=25.0)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--hosts", type=int, default=50)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
