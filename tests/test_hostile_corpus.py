"""Opt-in: feedparser's own test corpus (2,000+ odd documents) served over loopback.

Every file must end ingested or reported on its feed, and the batch must not crash.
The corpus lives outside the repo, so this runs only when pointed at it:

    AGGREGATOR_FEEDPARSER_TESTS=../shared/data/feedparser-tests .venv/bin/python -m pytest \\
        tests/test_hostile_corpus.py -q -s
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from aggregator.config import settings_from_mapping
from aggregator.ingest.pipeline import Pipeline
from aggregator.storage import Storage
from tests.helpers import check_consistency
from tests.hostile_server import HostileServer

CORPUS = os.environ.get("AGGREGATOR_FEEDPARSER_TESTS")

pytestmark = pytest.mark.skipif(
    not CORPUS,
    reason="opt-in: set AGGREGATOR_FEEDPARSER_TESTS to feedparser's test folder "
    "(e.g. ../shared/data/feedparser-tests)",
)


def test_every_corpus_file_is_ingested_or_reported(tmp_path: Path) -> None:
    root = Path(CORPUS or ".").resolve()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".xml", ".json"))
    assert files, f"no .xml/.json files under {root}"
    url = f"sqlite:///{tmp_path / 'corpus.db'}"
    with HostileServer(static_root=root) as server:
        feeds = [server.url("/static/" + p.relative_to(root).as_posix()) for p in files]
        settings = settings_from_mapping(
            {
                "database": url,
                "feeds": [{"url": f} for f in feeds],
                "polling": {"timeout": 10, "concurrency": 8},
            },
            None,
        )
        pipeline = Pipeline(Storage(url), settings)
        pipeline.start()
        pipeline.limits = replace(pipeline.limits, per_host=8)  # one local "host" here
        started = time.monotonic()
        outcomes = pipeline.poll()
        seconds = time.monotonic() - started
    assert len(outcomes) == len(files)
    stored = {f.url: f for f in pipeline.storage.list_feeds()}
    unreported = [f.url for f in stored.values() if f.last_success is None and not f.last_error]
    assert not unreported, unreported[:10]
    check_consistency(pipeline)
    statuses = Counter(o.status for o in outcomes)
    reasons = Counter((o.error or "").split(":")[0] for o in outcomes if o.status == "error")
    print(
        f"\n{len(files)} files in {seconds:.1f}s: {dict(statuses)}; "
        f"{sum(o.new for o in outcomes)} items; errors by kind: {reasons.most_common(8)}"
    )
