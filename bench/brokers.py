"""Which broker for the workers: Dramatiq on RabbitMQ against Dramatiq on Redis, measured.

    .venv/bin/python bench/brokers.py [--tasks 2000] [--threads 8]

For each broker (the local RabbitMQ on 5672 and Redis on 6379; one that is down is
skipped): a worker process with ``--threads`` threads takes ``--tasks`` tasks that do
nothing but record themselves, and the bench prints how fast they are sent and done.
Then what matters most to us: a worker is killed (SIGKILL) while it holds a task, and the
bench prints how long until another worker runs that task again (RabbitMQ hands back an
unacknowledged message when the connection drops; Redis only once its heartbeat lapses).
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/brokers.py`: the repository root, not bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import os
import socket
import subprocess
import tempfile
import time
import uuid

import dramatiq
import redis

from aggregator.daemon.roles import make_broker

BROKERS = {
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672/", 5672),
    "redis": ("redis://127.0.0.1:6379/0", 6379),
}

_WORKER = """
import sys, time, dramatiq
from aggregator.daemon.roles import make_broker
url, queue, record, hold = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
broker = make_broker(url)

def task(n: int) -> None:
    if hold:
        open(record, "a").write(f"start {n}\\n")
        time.sleep(hold)
    open(record, "a").write(f"{n}\\n")

dramatiq.actor(task, broker=broker, actor_name="task", queue_name=queue, max_retries=0)
worker = dramatiq.Worker(broker, worker_threads=int(sys.argv[5]))
worker.start()
time.sleep(3600)
"""


def _up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _sender(url: str, queue: str) -> dramatiq.Actor[[int], None]:
    def task(n: int) -> None:
        raise RuntimeError("runs in the worker process")

    declare = dramatiq.actor(
        broker=make_broker(url), actor_name="task", queue_name=queue, max_retries=0
    )
    return declare(task)


def _worker(
    url: str, queue: str, record: Path, hold: float, threads: int
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER, url, queue, str(record), str(hold), str(threads)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": "."},
    )


def _lines(record: Path) -> list[str]:
    return record.read_text().splitlines() if record.exists() else []


def throughput(url: str, tasks: int, threads: int, folder: Path) -> tuple[float, float]:
    queue, record = f"bench-{uuid.uuid4().hex[:8]}", folder / "throughput"
    worker = _worker(url, queue, record, 0.0, threads)
    try:
        actor = _sender(url, queue)
        started = time.monotonic()
        for n in range(tasks):
            actor.send(n)
        sent = time.monotonic() - started
        while len(_lines(record)) < tasks:
            if time.monotonic() - started > 300:
                raise RuntimeError("tasks not done within 300 s")
            time.sleep(0.05)
        return tasks / sent, tasks / (time.monotonic() - started)
    finally:
        worker.kill()
        worker.wait()


def redelivery(url: str, folder: Path, wait: float) -> float:
    queue, record = f"bench-{uuid.uuid4().hex[:8]}", folder / "redelivery"
    victim = _worker(url, queue, record, 30.0, 1)
    rescuer = None
    try:
        _sender(url, queue).send(1)
        while "start 1" not in _lines(record):
            time.sleep(0.05)
        victim.kill()
        killed = time.monotonic()
        rescuer = _worker(url, queue, record, 0.0, 1)
        while "1" not in _lines(record):
            if time.monotonic() - killed > wait:
                return float("inf")
            time.sleep(0.05)
        return time.monotonic() - killed
    finally:
        victim.kill()
        if rescuer is not None:
            rescuer.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--redelivery-wait",
        type=float,
        default=120.0,
        help="seconds to wait for a killed worker's task to run again",
    )
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-brokers-"))
    for name, (url, port) in BROKERS.items():
        if not _up(port):
            print(f"{name}: not reachable on 127.0.0.1:{port}, skipped")
            continue
        if name == "redis":
            redis.Redis.from_url(url).ping()
        (folder / name).mkdir()
        sent, done = throughput(url, args.tasks, args.threads, folder / name)
        again = redelivery(url, folder / name, args.redelivery_wait)
        print(
            f"{name}: {args.tasks} tasks sent at {sent:,.0f}/s, done at {done:,.0f}/s "
            f"({args.threads} worker threads); a task held by a killed worker runs again "
            + (
                f"after {again:.1f} s"
                if again != float("inf")
                else f"not within {args.redelivery_wait:g} s"
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
