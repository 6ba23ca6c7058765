"""Soak: ``aggregator run`` against 1,000 local feeds with short intervals; watch its memory.

    .venv/bin/python bench/soak.py [--duration 600] [--feeds 1000] [--interval 10s]
                                   [--changed 0.05] [--change-every 10] [--sample-every 30]

The feeds are served by :func:`bench.loopback.serve_generated` (as for ``bench/poll.py``:
another process, 50 loopback hosts, ETag/304); every ``--change-every`` seconds
``--changed`` of them gain a new item, so the daemon keeps storing and deciding, as it
would for months.  The daemon is a real subprocess; its RSS (``/proc/PID/status``) is
sampled every ``--sample-every`` (30) s next to what it has done (cycles, fetches, items
from ``/metrics``).  Growth that follows the items (the database, the dedup window) is
expected; growth without them is a leak.  At the end: SIGTERM, and the exit status and
stop time.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/soak.py`: Python put bench/ first on sys.path;
    # the repository root instead makes `bench` importable as the package it is.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import signal
import subprocess
import tempfile
import time
import urllib.request
from typing import IO

import yaml

from bench.loopback import GeneratedFeeds, free_port, serve_generated


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def metrics(port: int) -> dict[str, float]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def summary(port: int) -> str:
    m = metrics(port)
    fetches = sum(v for k, v in m.items() if k.startswith("aggregator_fetches_total"))
    not_modified = m.get('aggregator_fetches_total{outcome="not-modified"}', 0)
    new = m.get('aggregator_items_total{kind="new"}', 0)
    return (
        f"cycles {m.get('aggregator_poll_cycles_total', 0):6.0f}  fetches {fetches:8.0f}  "
        f"304 {not_modified:8.0f}  new items {new:6.0f}  "
        f"lag {m.get('aggregator_poll_lag_seconds', 0):5.1f} s"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds (default 600)")
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--interval", default="10s", help="polling.interval of the daemon")
    parser.add_argument("--changed", type=float, default=0.05)
    parser.add_argument("--change-every", type=float, default=10.0)
    parser.add_argument("--sample-every", type=float, default=30.0)
    return parser.parse_args(argv)


def start_daemon(
    folder: Path, served: GeneratedFeeds, interval: str, web_port: int, log: IO[bytes]
) -> subprocess.Popen[bytes]:
    config = folder / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{folder}/soak.db",
                "polling": {"interval": interval, "timeout": "10s"},
                "server": {"port": web_port},
                "feeds": [{"url": url} for url in served.urls],
            }
        )
    )
    return subprocess.Popen(
        [sys.executable, "-m", "aggregator", "--config", str(config), "run"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def watch(
    daemon: subprocess.Popen[bytes], served: GeneratedFeeds, web_port: int, args: argparse.Namespace
) -> list[tuple[float, float]]:
    """Move the feeds on and sample the daemon's RSS until ``--duration`` is over."""
    started = time.monotonic()
    samples: list[tuple[float, float]] = []
    next_change = next_sample = started
    while (now := time.monotonic()) - started < args.duration and daemon.poll() is None:
        if now >= next_change:
            served.cycle += 1
            next_change += args.change_every
        if now >= next_sample:
            samples.append((now - started, rss_mb(daemon.pid)))
            print(
                f"t={now - started:6.0f}s  RSS {samples[-1][1]:7.1f} MB  {summary(web_port)}",
                flush=True,
            )
            next_sample += args.sample_every
        time.sleep(0.5)
    samples.append((time.monotonic() - started, rss_mb(daemon.pid)))
    print(f"t={samples[-1][0]:6.0f}s  RSS {samples[-1][1]:7.1f} MB  {summary(web_port)}")
    return samples


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    web_port = free_port()
    with (
        serve_generated(args.feeds, args.hosts, 3, args.changed) as served,
        tempfile.TemporaryDirectory() as folder,
    ):
        with (Path(folder) / "daemon.log").open("wb") as log:
            daemon = start_daemon(Path(folder), served, args.interval, web_port, log)
            print(
                f"daemon pid {daemon.pid}: {args.feeds} feeds, interval {args.interval}, "
                f"{args.changed:.0%} of feeds gain an item every {args.change_every:g}s, "
                f"for {args.duration:g}s",
                flush=True,
            )
            try:
                samples = watch(daemon, served, web_port, args)
            finally:  # the daemon stops, whatever happened here
                stop = time.monotonic()
                daemon.send_signal(signal.SIGTERM)
                code = daemon.wait(timeout=30)
                stopped = time.monotonic() - stop
        warnings = (Path(folder) / "daemon.log").read_text(errors="replace").count(" WARNING ")
    warm = samples[min(1, len(samples) - 1)]  # after the first full cycle
    half = samples[len(samples) // 2]
    print(
        f"\nRSS at start (t={warm[0]:.0f}s, first cycle done) {warm[1]:.1f} MB, "
        f"half-way (t={half[0]:.0f}s) {half[1]:.1f} MB, end (t={samples[-1][0]:.0f}s) "
        f"{samples[-1][1]:.1f} MB; peak sample {max(r for _, r in samples):.1f} MB"
    )
    print(
        f"SIGTERM: exit status {code} after {stopped:.1f}s; "
        f"{warnings} WARNING lines in the daemon log"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
