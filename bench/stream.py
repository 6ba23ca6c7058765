"""Decision latency and punctuality of the daemon, with some feeds slow to their deadline.

    .venv/bin/python bench/stream.py [--feeds 10000] [--slow 20] [--slow-seconds 25]
                                     [--interval 60] [--seconds 150] [--hosts 50]

Serves ``--feeds`` generated feeds (3 items each, a tenth of them gaining an item a cycle)
and ``--slow`` more that answer only after ``--slow-seconds`` (``polling.timeout`` is 30 s)
on loopback, runs ``aggregator run`` on them for ``--seconds`` into a fresh SQLite
database, then prints:

* **decision latency**: per item, from its storing (the end of its fetch) to its first
  cluster (``memberships.decided_at - items.first_seen``): p50, p95, max;
* **punctuality**: the daemon's ``aggregator_poll_lateness_seconds`` histogram, how long
  after its next check each fetch started, as the share within a quarter of the interval;
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
import statistics
import subprocess
import tempfile
import time
import urllib.request
from datetime import datetime

import yaml

from bench.loopback import free_port, serve_generated


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _latencies(db: Path) -> tuple[list[float], list[float]]:
    """Fetch end → cluster, for the cold start's items (stored within the first interval)
    and for the later ones (the steady state)."""
    with sqlite3.connect(db) as conn:
        rows = [
            (datetime.fromisoformat(f), datetime.fromisoformat(d))
            for f, d in conn.execute(
                "SELECT i.first_seen, m.decided_at FROM items i JOIN memberships m "
                "ON m.item_id = i.id"
            ).fetchall()
        ]
    if not rows:
        return [], []
    start = min(f for f, _ in rows)
    cold = [(d - f).total_seconds() for f, d in rows if (f - start).total_seconds() < 40]
    later = [(d - f).total_seconds() for f, d in rows if (f - start).total_seconds() >= 40]
    return cold, later


def _metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def _within(metrics: dict[str, float], bound: float) -> tuple[float, int]:
    """The share of fetches that started within ``bound`` seconds of being due."""
    total = metrics.get("aggregator_poll_lateness_seconds_count", 0.0)
    inside = max(
        (
            v
            for k, v in metrics.items()
            if k.startswith("aggregator_poll_lateness_seconds_bucket")
            and 'le="+Inf"' not in k
            and float(k.split('le="')[1].rstrip('"}')) <= bound
        ),
        default=0.0,
    )
    return (inside / total if total else float("nan")), int(total)


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
        try:
            started = time.monotonic()
            cycle_two = False
            while time.monotonic() - started < args.seconds:
                time.sleep(1)
                if not cycle_two and time.monotonic() - started > args.interval * 0.8:
                    served.cycle = 2  # a tenth of the feeds gain an item
                    cycle_two = True
                if daemon.poll() is not None:
                    print("the daemon exited early; see", folder / "daemon.log")
                    return 1
            metrics = _metrics(port)
        finally:
            daemon.terminate()
            daemon.wait(30)
    cold, later = _latencies(db)
    latencies = cold + later
    share, fetches = _within(metrics, args.interval / 4)
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
    print(f"items stored: {items}, decided: {len(latencies)}, still waiting: {undecided}")
    print(
        f"decision latency (fetch end → cluster): p50 {_percentile(latencies, 0.5):.2f} s, "
        f"p95 {_percentile(latencies, 0.95):.2f} s, max {max(latencies, default=0):.2f} s, "
        f"mean {statistics.fmean(latencies) if latencies else float('nan'):.2f} s "
        "(target p95 ≤ 2 s)"
    )
    for name, values in (("the cold start's (first 40 s)", cold), ("later", later)):
        print(
            f"  {name} {len(values)} items: p50 {_percentile(values, 0.5):.2f} s, "
            f"p95 {_percentile(values, 0.95):.2f} s"
        )
    print(
        f"punctuality: {share:.1%} of {fetches} fetches started within "
        f"{args.interval / 4:g} s (a quarter of the interval) of their due time"
    )
    print(f"slow feeds with a finished fetch: {slow_checked} of {args.slow}")
    print(f"database and log: {folder}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--slow-seconds", type=float, default=25.0)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--seconds", type=int, default=150)
    parser.add_argument("--hosts", type=int, default=50)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
