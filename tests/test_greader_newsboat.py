"""A real reader app on the Google Reader API: Debian's newsboat, through its ``feedhq``
source, against a real server over the polled demo, non-interactively
(``newsboat -x reload print-unread``): one unread item per story, fewer after marking
stories read through the API, and not more when a copy of a read story arrives later."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.config import Settings
from aggregator.ingest.pipeline import Pipeline
from aggregator.publish.accounts import hash_password
from aggregator.publish.app import create_app
from aggregator.types import FeedSpec
from tests.helpers import web_client
from tests.test_greader import READ, Reader, _copy_feed
from tests.test_publish_demo import demo_pipeline, running_server

NEWSBOAT = Path("/usr/bin/newsboat")

pytestmark = pytest.mark.skipif(
    not NEWSBOAT.exists(), reason="newsboat is absent (apt-get install newsboat)"
)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Settings, Pipeline, str]]:
    settings, pipeline = demo_pipeline(tmp_path / "server")
    pipeline.storage.add_reader("reader", hash_password("s3cret pass"))
    with running_server(settings, pipeline.storage) as base:
        yield settings, pipeline, base


def _unread(base: str, home: Path) -> int:
    (home / "urls").write_text("")
    (home / "config").write_text(
        'urls-source "feedhq"\n'
        f'feedhq-url "{base}/api/greader"\n'
        'feedhq-login "reader"\n'
        'feedhq-password "s3cret pass"\n'
        "feedhq-min-items 500\n"
    )
    done = subprocess.run(
        [
            str(NEWSBOAT),
            "-u",
            "urls",
            "-c",
            "cache.db",
            "-C",
            "config",
            "-x",
            "reload",
            "print-unread",
        ],
        cwd=home,
        env={**os.environ, "HOME": str(home), "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"(\d+) unread articles?", done.stdout)
    assert found, done.stdout + done.stderr
    return int(found.group(1))


def test_newsboat_reads_one_unread_item_per_story(
    demo: tuple[Settings, Pipeline, str], tmp_path: Path
) -> None:
    settings, pipeline, base = demo
    storage = pipeline.storage
    home = tmp_path / "newsboat"
    home.mkdir()
    stories = storage.counts()["clusters"]
    assert storage.counts()["items"] > stories  # the demo has copies
    assert _unread(base, home) == stories  # one unread per story, not per copy
    # Mark three stories read through the API, each by a copy that is not the one shown.
    with web_client(create_app(storage, settings)) as client:
        api = Reader(client, "reader", "s3cret pass")
        chosen = storage.list_clusters(min_size=2)[:3]
        copies = [next(m.id for m in c.members if m.id != c.canonical_item_id) for c in chosen]
        api.post("/edit-tag", [*(("i", str(i)) for i in copies), ("a", READ)])
    assert _unread(base, home) == stories - 3
    # A later copy of a read story: it joins the story and arrives read.
    story = chosen[0]
    canonical = next(m for m in story.members if m.id == story.canonical_item_id)
    storage.add_feed(FeedSpec(url=_copy_feed(tmp_path, storage, canonical.link or "")))
    pipeline.poll()
    assert storage.get_cluster(story.id).size == story.size + 1  # type: ignore[union-attr]
    assert _unread(base, home) == stories - 3
