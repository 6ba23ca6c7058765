"""A subscriber's reader on our feed: Debian's newsboat reloads /feed.rss from a real server
over the polled demo, non-interactively (``newsboat -x reload``), and what it stored in its
cache is what a subscriber sees: one entry per story, no known boilerplate line, the clean
title and the authors."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.clean.boilerplate import fold_text
from aggregator.clean.text import generic_boilerplate, html_to_blocks
from aggregator.config import Settings
from aggregator.ingest.pipeline import Pipeline
from aggregator.ingest.state import load_boilerplate
from aggregator.publish.app import create_app
from tests.helpers import web_client
from tests.test_publish_demo import demo_pipeline, running_server

NEWSBOAT = Path("/usr/bin/newsboat")

pytestmark = pytest.mark.skipif(
    not NEWSBOAT.exists(), reason="newsboat is absent (apt-get install newsboat)"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Pipeline, str]]:
    settings, pipeline = demo_pipeline(tmp_path_factory.mktemp("newsboat"))
    with running_server(settings, pipeline.storage) as base:
        yield settings, pipeline, base


def test_newsboat_shows_one_clean_entry_per_story(
    demo: tuple[Settings, Pipeline, str], tmp_path: Path
) -> None:
    settings, pipeline, base = demo
    url = f"{base}/feed.rss?limit=500"
    (tmp_path / "urls").write_text(url + "\n")
    (tmp_path / "config").write_text("")
    cache = tmp_path / "cache.db"
    done = subprocess.run(
        [str(NEWSBOAT), "-u", "urls", "-c", str(cache), "-C", "config", "-x", "reload"],
        cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path), "LANG": "C.UTF-8"},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(cache) as db:
        rows = db.execute("SELECT guid, title, author, content FROM rss_item").fetchall()
    storage = pipeline.storage
    assert len(rows) == storage.counts()["clusters"]  # one entry per story
    model = load_boilerplate(storage)
    for guid, _title, _author, content in rows:
        for block in html_to_blocks(content):
            folded = fold_text(block)
            assert not (folded and model.is_learned(folded[0])), (guid, block)
            assert not (folded and generic_boilerplate(folded[0])), (guid, block)
    # Titles and authors as our JSON Feed publishes them.
    with web_client(create_app(storage, settings)) as client:
        items = client.get("/feed.json?limit=500").json()["items"]
    published = {i["id"]: i for i in items}
    for guid, title, author, _content in rows:
        assert title == published[guid]["title"]
        names = [a["name"] for a in published[guid].get("authors", [])]
        if names:
            assert names[0] in author
    assert any(author for *_, author, _ in rows)
