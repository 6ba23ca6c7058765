"""The web face as a user meets it: `aggregator serve` over the bundled demo, on a real port
(in this process, stopped with a real SIGINT).

Also home to the helpers the other test_publish_* modules share: a polled copy of the
repo's config.yaml + seeds/, a free loopback port, a real uvicorn server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import feedparser
import httpx
import uvicorn
import yaml

from aggregator.config import Settings, load_settings
from aggregator.ingest.pipeline import Pipeline
from aggregator.publish.app import create_app
from aggregator.publish.server import BackgroundServer
from aggregator.storage import Storage
from tests.conftest import REPO, SEEDS
from tests.helpers import Cli


def demo_config(root: Path, **server: Any) -> Path:
    """A copy of config.yaml and seeds/ under ``root``; ``server`` keys override."""
    shutil.copytree(SEEDS, root / "seeds")
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["server"] = {**config.get("server", {}), **server}
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def demo_pipeline(root: Path, **server: Any) -> tuple[Settings, Pipeline]:
    """The demo polled once into a fresh SQLite file, as `aggregator poll --once` does."""
    settings = load_settings(demo_config(root, **server), env={})
    pipeline = Pipeline(Storage(settings.database), settings, keep_lease=False)
    pipeline.poll()
    return settings, pipeline


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def running_server(settings: Settings, storage: Storage, **kwargs: Any) -> Iterator[str]:
    """The app on a real uvicorn server on 127.0.0.1; yields its base URL."""
    port = free_port()
    server = BackgroundServer(create_app(storage, settings, **kwargs), "127.0.0.1", port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _wait_for(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer in {timeout}s")


def _uvicorn_handles(signum: int) -> bool:
    return isinstance(getattr(signal.getsignal(signum), "__self__", None), uvicorn.Server)


def test_serve_command_publishes_the_demo(tmp_path: Path, cli: Cli) -> None:
    port = free_port()
    config = demo_config(tmp_path, port=port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    # `poll --once` as the real process a user starts (the smoke test of the whole path);
    # then `serve` in this process, looked at from a thread and stopped with a real Ctrl-C.
    polled = subprocess.run(
        [sys.executable, "-m", "aggregator", "--config", str(config), "poll", "--once"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert polled.returncode == 0, polled.stderr
    assert polled.stdout.splitlines()[-1].startswith("polled 5 feeds (0 failed): 81 new")

    failures: list[BaseException] = []

    def visit() -> None:
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_for(f"{base}/healthz")
            assert httpx.get(f"{base}/healthz").json()["scheduler"] == "not running in this process"
            rss = httpx.get(f"{base}/feed.rss")
            parsed = feedparser.parse(rss.content)
            assert rss.status_code == 200 and parsed.bozo == 0
            assert len(parsed.entries) == 50  # the 50 stories of seeds/truth.json
            page = httpx.get(f"{base}/clusters")
            assert page.status_code == 200
            assert "US and Japan Forge AI Alliance" in page.text
            # Read-only without a token: the write endpoints refuse.
            assert httpx.post(f"{base}/api/items/1/split").status_code == 403
        except BaseException as exc:
            failures.append(exc)
        finally:
            if _uvicorn_handles(signal.SIGINT):  # else serve already ended: nothing to stop
                os.kill(os.getpid(), signal.SIGINT)

    visitor = threading.Thread(target=visit, daemon=True)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as from a shell
    try:
        visitor.start()
        result = cli("--config", str(config), "serve", cwd=tmp_path)
    finally:
        signal.signal(signal.SIGINT, previous)
        visitor.join(30)
    if failures:
        raise failures[0]
    assert result.returncode == 0, result.stderr  # Ctrl-C: uvicorn shuts down cleanly
    assert f"serving http://127.0.0.1:{port}/" in result.stdout
    assert "read-only" in result.stdout
    assert "warning" not in result.stderr  # loopback: nothing to warn about


def test_the_server_binds_to_loopback_by_default(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("feeds: []\n")
    settings = load_settings(config, env={})
    assert settings.server.host == "127.0.0.1" and settings.server.port == 8080
    assert settings.server.token is None
