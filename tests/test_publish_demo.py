"""The web face as a user meets it: `aggregator serve` over the bundled demo, on a real port.

Also home to the helpers the other test_publish_* modules share: a polled copy of the
repo's config.yaml + seeds/, a free loopback port, a real uvicorn server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import feedparser
import httpx
import yaml

from aggregator.config import Settings, load_settings
from aggregator.ingest.pipeline import Pipeline
from aggregator.publish.app import create_app
from aggregator.publish.server import BackgroundServer
from aggregator.storage import Storage
from tests.conftest import REPO, SEEDS


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
    pipeline = Pipeline(Storage(settings.database), settings)
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


def _wait_for(url: str, process: subprocess.Popen[str], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.communicate()}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer in {timeout}s")


def test_serve_command_publishes_the_demo(tmp_path: Path) -> None:
    port = free_port()
    config = demo_config(tmp_path, port=port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    subprocess.run([sys.executable, "-m", "aggregator", "--config", str(config), "poll",
                    "--once"], check=True, capture_output=True, env=env, timeout=120)
    process = subprocess.Popen([sys.executable, "-m", "aggregator", "--config", str(config),
                                "serve"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/healthz", process)
        rss = httpx.get(f"{base}/feed.rss")
        parsed = feedparser.parse(rss.content)
        assert rss.status_code == 200 and parsed.bozo == 0
        assert len(parsed.entries) == 50  # the 50 stories of seeds/truth.json
        page = httpx.get(f"{base}/clusters")
        assert page.status_code == 200
        assert "US and Japan Forge AI Alliance" in page.text
        # Read-only without a token: the write endpoints refuse.
        assert httpx.post(f"{base}/api/items/1/split").status_code == 403
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    assert f"serving http://127.0.0.1:{port}/" in out
    assert "read-only" in out


def test_the_server_binds_to_loopback_by_default(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("feeds: []\n")
    settings = load_settings(config, env={})
    assert settings.server.host == "127.0.0.1" and settings.server.port == 8080
    assert settings.server.token is None
