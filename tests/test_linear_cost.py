"""Many copies of one text, or of one link, cost work linear in their number (issue 18,
defect 5): a document of thousands of identical items used to make every pair an edge."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer

import aggregator.dedup.engine as engine_module
from aggregator.config import settings_from_mapping
from aggregator.dedup.engine import Candidate, DedupEngine
from aggregator.dedup.rules import Match, Method, compare
from aggregator.fingerprint.signature import Fingerprint, fingerprint_blocks
from aggregator.ingest.pipeline import Pipeline
from aggregator.storage import Storage
from aggregator.types import Assignment
from tests.feeds import story

T0 = datetime(2026, 11, 20, tzinfo=UTC)
TEXT = story(31337, paragraphs=3)


def _same(item_id: int, feed_id: int = 1, link: str | None = None) -> Candidate:
    when = T0 + timedelta(minutes=item_id)
    return Candidate(
        item_id=item_id,
        feed_id=feed_id,
        priority=0,
        sort_time=when,
        is_summary=False,
        canonical_link=link,
        fingerprint=fingerprint_blocks(TEXT),
        first_seen=when,
    )


def _decide_counting(
    engine: DedupEngine, batches: list[list[Candidate]]
) -> tuple[list[Assignment], int]:
    """Decide the batches; return the last assignment of each item and how many pairs
    the rules compared on the way."""
    compared = 0

    def counting(a: Fingerprint, b: Fingerprint) -> Match:
        nonlocal compared
        compared += 1
        return compare(a, b)

    last: dict[int, Assignment] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine_module, "compare", counting)
        for batch in batches:
            for assignment in engine.decide(batch, T0).assignments:
                last[assignment.item_id] = assignment
    return [last[i] for i in sorted(last)], compared


@pytest.mark.parametrize("n", [500, 2000])
def test_identical_texts_join_the_first_without_comparing_pairs(n: int) -> None:
    half = n // 2  # two batches: the second meets the first in the index
    assignments, compared = _decide_counting(
        DedupEngine(), [[_same(i) for i in range(half)], [_same(i) for i in range(half, n)]]
    )
    assert {a.cluster_id for a in assignments} == {assignments[0].cluster_id}
    assert len(assignments) == n
    # Every later copy holds to the first by its text; the first to the next one.
    assert all((a.method, a.matched_item_id) == (Method.CONTENT_HASH, 0) for a in assignments[1:])
    assert assignments[0].matched_item_id == 1
    assert compared == 0  # the exact text joins them: no pair needs the shingles


def test_one_link_in_many_feeds_is_linked_through_each_feeds_first_item() -> None:
    link = "https://news.example/2026/11/one-story"
    # Feed 1 has items 0-99, then feed 2 its items 100-199, one batch each: nothing links
    # feed 1's items to each other (a link shared within one feed is no edge) until feed
    # 2's first item links to all of them.
    engine = DedupEngine()
    first = [replace(_same(i, 1, link), fingerprint=None) for i in range(100)]
    second = [replace(_same(i, 2, link), fingerprint=None) for i in range(100, 200)]
    assignments, _ = _decide_counting(engine, [first, second])
    assert len({a.cluster_id for a in assignments}) == 1 and len(assignments) == 200
    assert all(a.method == Method.URL for a in assignments)
    # Feed 2's later items name feed 1's first item; feed 1's items name feed 2's first.
    assert {a.matched_item_id for a in assignments if a.item_id > 100} == {0}
    assert {a.matched_item_id for a in assignments if a.item_id < 100} == {100}


def test_editing_away_the_first_copy_keeps_the_rest_together() -> None:
    engine = DedupEngine()
    link = "https://news.example/2026/11/one-story"
    copies = [_same(i, feed_id=1 + i % 2, link=link) for i in range(40)]
    engine.decide(copies, T0)
    other = fingerprint_blocks(story(4, paragraphs=3))
    # Items 0 and 1 (the first of each text and of each feed) become other stories.
    engine.decide(
        [
            replace(copies[0], fingerprint=other, canonical_link=None),
            replace(copies[1], fingerprint=other, canonical_link=None),
        ],
        T0,
    )
    fresh = DedupEngine()
    fresh.decide(
        [
            replace(copies[0], fingerprint=other, canonical_link=None),
            replace(copies[1], fingerprint=other, canonical_link=None),
            *copies[2:],
        ],
        T0,
    )
    for decided in (engine, fresh):
        assert len({decided.cluster_of(i) for i in range(2, 40)}) == 1
        assert decided.cluster_of(0) == decided.cluster_of(1) != decided.cluster_of(2)


def _document(n: int) -> bytes:
    body = " ".join(TEXT)[:400]
    items = "".join(
        f"<item><title>Same story</title><guid>g{i}</guid>"
        f"<link>https://same.example/story/{i}</link>"
        f"<pubDate>Fri, 20 Nov 2026 10:00:00 +0000</pubDate>"
        f"<description>{body}</description></item>"
        for i in range(n)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Same</title><link>https://same.example/</link>{items}</channel></rss>"
    ).encode()


@pytest.mark.parametrize("max_items", [None, 8000])
def test_a_document_of_8000_identical_items_is_stored_and_decided(
    httpserver: HTTPServer, database_url: str, max_items: int | None
) -> None:
    httpserver.expect_request("/same.xml").respond_with_data(
        _document(8000), content_type="application/rss+xml"
    )
    feed = httpserver.url_for("/same.xml")
    polling: dict[str, object] = {"timeout": 30}
    if max_items is not None:
        polling["max_items"] = max_items
    settings = settings_from_mapping(
        {"database": database_url, "feeds": [{"url": feed}], "polling": polling}, None
    )
    pipeline = Pipeline(Storage(database_url), settings, keep_lease=False)
    try:
        pipeline.start()
        (outcome,) = pipeline.poll()
        assert outcome.status == "ok", outcome
        kept = max_items or 5000
        items = pipeline.storage.list_items()
        assert len(items) == kept and {i.cluster_id for i in items} == {items[0].cluster_id}
        (state,) = pipeline.storage.list_feeds()
        if max_items is None:  # the warning goes where a feed's warnings go
            assert "8,000 items in one document: the first 5,000 kept" in str(state.last_error)
    finally:
        pipeline.close()
