"""The rules of the decision (``aggregator.dedup.rules``), and the engine that applies them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.clean.text import fold
from aggregator.dedup.engine import Candidate, DedupEngine
from aggregator.dedup.rules import (
    Comparable,
    DedupParams,
    Method,
    canonical_rank,
    evidence_rank,
    judge,
)
from aggregator.fingerprint.signature import Fingerprint, fingerprint_blocks, to_bytes
from tests.feeds import story


def _fp(paragraphs: list[str]) -> Fingerprint:
    return fingerprint_blocks([fold(p) for p in paragraphs])


PARAMS = DedupParams()


def test_the_strongest_edge_wins_and_each_needs_its_evidence() -> None:
    text = _fp(story(1))
    other = _fp(story(2))
    link = "https://news.example/a/story"
    assert judge(Comparable(1, link, text), Comparable(2, link, other), PARAMS).method == Method.URL
    # The same link inside one feed is no evidence; nor is a homepage link.
    assert judge(Comparable(1, link, text), Comparable(1, link, other), PARAMS).method is None
    home = "https://news.example/"
    assert judge(Comparable(1, home, text), Comparable(2, home, other), PARAMS).method is None
    assert (
        judge(Comparable(1, None, text), Comparable(1, None, _fp(story(1))), PARAMS).method
        == Method.CONTENT_HASH
    )
    edited = _fp(story(1)[:4] + story(9, paragraphs=1))
    verdict = judge(Comparable(1, None, text), Comparable(2, None, edited), PARAMS)
    assert verdict.method == Method.MINHASH and verdict.score >= PARAMS.threshold
    lead = _fp([" ".join(" ".join(story(1)).split()[:50])])
    verdict = judge(Comparable(1, None, text), Comparable(2, None, lead), PARAMS)
    assert verdict.method == Method.CONTAINMENT and verdict.match is not None
    # The end of a story is not its lead: a quoted passage does not join.
    tail = _fp([" ".join(" ".join(story(1)).split()[-50:])])
    assert judge(Comparable(1, None, text), Comparable(2, None, tail), PARAMS).method is None


def test_too_little_text_gets_no_similarity_edge() -> None:
    short = _fp(["Three words only"])
    assert short.size == 0
    verdict = judge(Comparable(1, None, short), Comparable(2, None, _fp(story(1))), PARAMS)
    assert verdict.method is None and "too little text" in verdict.reason


def test_orders() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    later = datetime(2026, 1, 2, tzinfo=UTC)
    members = [
        canonical_rank(True, 9, when, 1),
        canonical_rank(False, 0, later, 2),
        canonical_rank(False, 1, later, 3),
        canonical_rank(False, 1, when, 4),
    ]
    assert min(members) == canonical_rank(False, 1, when, 4)
    edges = [
        (Method.CONTAINMENT, 0.99, 1),
        (Method.MINHASH, 0.6, 2),
        (Method.MINHASH, 0.7, 3),
        (Method.URL, 1.0, 4),
    ]
    assert max(edges, key=lambda e: evidence_rank(*e))[2] == 4
    assert max(edges[:3], key=lambda e: evidence_rank(*e))[2] == 3


@pytest.mark.parametrize("with_source", [False, True])
def test_the_engine_leaves_the_callers_fingerprint_whole(with_source: bool) -> None:
    fp = _fp(story(7))
    before = to_bytes(fp)
    engine = DedupEngine(fingerprint_source=(lambda ids: {}) if with_source else None)
    engine.decide(
        [Candidate(1, 1, 0, datetime(2026, 1, 1, tzinfo=UTC), False, None, fp)],
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert fp.signature is not None and to_bytes(fp) == before
    with pytest.raises(AttributeError):
        fp.signature = None  # type: ignore[misc]
