"""Soak: ``aggregator run`` against 1,000 local feeds with short intervals; watch its memory.

    .venv/bin/python bench/soak.py [--duration 600] [--feeds 1000] [--interval 10s]
                                   [--changed 0.05] [--change-every 10]

The feeds are served by ``bench/poll.py``'s server (another process, 50 loopback hosts,
ETag/304); every ``--change-every`` seconds ``--changed`` of them gain a new item, so the
daemon keeps storing and deciding, as it would for months.  The daemon is a real
subprocess; its RSS (``/proc/PID/status``) is sampled every 30 s next to what it has
done (cycles, fetches, items from ``/metrics``).  Growth that follows the items (the
database, the dedup window) is expected; growth without them is a leak.  At the end:
SIGTERM, and the exit status and stop time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from poll import _free_port, serve  # noqa: E402


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
    return (f"cycles {m.get('aggregator_poll_cycles_total', 0):6.0f}  fetches {fetches:8.0f}  "
            f"304 {not_modified:8.0f}  new items {new:6.0f}  "
            f"lag {m.get('aggregator_poll_lag_seconds', 0):5.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds (default 600)")
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--interval", default="10s", help="polling.interval of the daemon")
    parser.add_argument("--changed", type=float, default=0.05)
    parser.add_argument("--change-every", type=float, default=10.0)
    parser.add_argument("--sample-every", type=float, default=30.0)
    args = parser.parse_args()

    hosts = [f"127.0.0.{1 + h}" for h in range(args.hosts)]
    port, web_port = _free_port(), _free_port()
    context = multiprocessing.get_context("spawn")
    cycle, latency, ready = context.Value("i", 1), context.Value("i", 0), context.Event()
    server = context.Process(target=serve, daemon=True,
                             args=(hosts, port, 3, args.changed, cycle, latency, ready))
    server.start()
    ready.wait(30)

    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.yaml"
        config.write_text(yaml.safe_dump({
            "database": f"sqlite:///{folder}/soak.db",
            "polling": {"interval": args.interval, "timeout": "10s"},
            "server": {"port": web_port},
            "feeds": [{"url": f"http://{hosts[i % len(hosts)]}:{port}/f/{i}"}
                      for i in range(args.feeds)],
        }))
        log = (Path(folder) / "daemon.log").open("wb")
        daemon = subprocess.Popen([sys.executable, "-m", "aggregator", "--config", str(config),
                                   "run"], stdout=log, stderr=subprocess.STDOUT)
        started = time.monotonic()
        print(f"daemon pid {daemon.pid}: {args.feeds} feeds, interval {args.interval}, "
              f"{args.changed:.0%} of feeds gain an item every {args.change_every:g}s, "
              f"for {args.duration:g}s", flush=True)
        samples: list[tuple[float, float]] = []
        next_change = next_sample = started
        while (now := time.monotonic()) - started < args.duration and daemon.poll() is None:
            if now >= next_change:
                cycle.value += 1
                next_change += args.change_every
            if now >= next_sample:
                samples.append((now - started, rss_mb(daemon.pid)))
                print(f"t={now - started:6.0f}s  RSS {samples[-1][1]:7.1f} MB  "
                      f"{summary(web_port)}", flush=True)
                next_sample += args.sample_every
            time.sleep(0.5)
        samples.append((time.monotonic() - started, rss_mb(daemon.pid)))
        print(f"t={samples[-1][0]:6.0f}s  RSS {samples[-1][1]:7.1f} MB  {summary(web_port)}")
        stop = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=30)
        log.close()
        warnings = (Path(folder) / "daemon.log").read_text(errors="replace").count(" WARNING ")
    server.terminate()

    warm = samples[min(1, len(samples) - 1)]  # after the first full cycle
    half = samples[len(samples) // 2]
    print(f"\nRSS at start (t={warm[0]:.0f}s, first cycle done) {warm[1]:.1f} MB, "
          f"half-way (t={half[0]:.0f}s) {half[1]:.1f} MB, end (t={samples[-1][0]:.0f}s) "
          f"{samples[-1][1]:.1f} MB; peak sample {max(r for _, r in samples):.1f} MB")
    print(f"SIGTERM: exit status {code} after {time.monotonic() - stop:.1f}s; "
          f"{warnings} WARNING lines in the daemon log")


if __name__ == "__main__":
    main()
