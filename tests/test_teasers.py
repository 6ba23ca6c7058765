"""Teasers of 10-30 words are the lead of their story, also when the story opens with a
dateline or a byline; a teaser is never the lead of another story (issue 13, case 3)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import pytest

from aggregator.clean.text import fold
from aggregator.dedup.engine import Candidate, DedupEngine
from aggregator.dedup.rules import Comparable, DedupParams, Method, judge
from aggregator.fingerprint.signature import fingerprint_blocks
from tests.feeds import story

OPENERS = [
    "",
    "LONDON (Wire) — ",
    "By Jane Doe, Staff Reporter\n",
    "Updated 3:45 p.m. GMT\n",
    "WASHINGTON — ",
]


def _item(paragraphs: list[str], feed_id: int) -> Comparable:
    blocks = [fold(line) for p in paragraphs for line in p.split("\n") if line.strip()]
    return Comparable(feed_id, None, fingerprint_blocks(blocks))


def _cases() -> list[tuple[int, int, str]]:
    return [
        (seed, words, opener)
        for seed in range(4)
        for words, opener in zip((10, 14, 20, 30), OPENERS[seed:] + OPENERS[:seed], strict=False)
    ]


@pytest.mark.parametrize("seed,words,opener", _cases())
def test_a_teaser_joins_the_story_it_opens(seed: int, words: int, opener: str) -> None:
    full = story(6000 + seed, paragraphs=6)
    teaser = " ".join(" ".join(full).split()[:words])
    longer = [opener + full[0], *full[1:]]
    verdict = judge(_item([teaser], 1), _item(longer, 2), DedupParams())
    assert verdict.method == Method.CONTAINMENT, (words, opener, verdict.reason)


@pytest.mark.parametrize("seed", range(12))
def test_a_teaser_does_not_join_another_story(seed: int) -> None:
    mine, other = story(7000 + seed, paragraphs=6), story(8000 + seed, paragraphs=6)
    teaser = " ".join(" ".join(mine).split()[:12])
    # The other story opens with the teaser's first three words, then its own text.
    opening = " ".join(teaser.split()[:3])
    verdict = judge(
        _item([teaser], 1), _item([f"{opening} {other[0]}", *other[1:]], 2), DedupParams()
    )
    assert verdict.method is None, verdict.reason


def _candidate(item_id: int, paragraphs: list[str], feed_id: int) -> Candidate:
    when = datetime(2026, 11, 20, tzinfo=UTC)
    blocks = [fold(line) for p in paragraphs for line in p.split("\n") if line.strip()]
    return Candidate(item_id, feed_id, 0, when, False, None, fingerprint_blocks(blocks), when)


@pytest.mark.parametrize("together", [False, True])
@pytest.mark.parametrize("seed,words,opener", _cases())
def test_the_engine_finds_the_story_a_teaser_opens(
    seed: int, words: int, opener: str, together: bool
) -> None:
    """Proposed, not only accepted: the story indexed before the teaser, or in its batch."""
    full = story(6000 + seed, paragraphs=6)
    teaser = " ".join(" ".join(full).split()[:words])
    longer = _candidate(1, [opener + full[0], *full[1:]], 1)
    short = _candidate(2, [teaser], 2)
    engine = DedupEngine()
    now = datetime(2026, 11, 20, tzinfo=UTC)
    if together:
        engine.decide([longer, short], now)
    else:
        engine.decide([longer], now)
        engine.decide([short], now)
    assert engine.cluster_of(1) == engine.cluster_of(2)


WIRE_OPENER = "OSLO (Wire) — After months of debate, officials in the county said on Monday that"


@cache
def _wire_leads() -> tuple[Candidate, ...]:
    """300 one-paragraph stories of a wire that opens each with its dateline and a house
    phrase (fingerprinted once for the tests that take them: each engine keeps its own
    copy of what it is handed)."""
    return tuple(
        _candidate(n, [f"{WIRE_OPENER} {story(9000 + n, paragraphs=1)[0]}"], 1)
        for n in range(1, 301)
    )


@cache
def _wire_stories() -> tuple[Candidate, ...]:
    """300 whole stories of that wire, each opening with its dateline and house phrase."""
    return tuple(
        _candidate(
            n, [f"{WIRE_OPENER} {p}" if i == 0 else p for i, p in enumerate(story(9000 + n))], 1
        )
        for n in range(1, 301)
    )


@pytest.mark.parametrize("seed", range(10))
def test_a_teaser_is_found_among_hundreds_of_leads_that_open_alike(seed: int) -> None:
    """A wire's stories open with its dateline and a house phrase ("OSLO (Wire) — After
    months of debate, officials in …"), so the lead index proposes hundreds of them for
    each new story.  A teaser decided before its story is still compared with it: the
    texts that open with its first words are chosen by that lookup, not crowded out by
    the lower ids of the look-alikes."""
    now = datetime(2026, 11, 20, tzinfo=UTC)
    engine = DedupEngine()
    engine.decide(list(_wire_leads()), now)
    full = story(9500 + seed, paragraphs=5)
    longer = [f"{WIRE_OPENER} {full[0]}", *full[1:]]
    teaser = " ".join(" ".join(longer).split()[:28]) + " …"
    engine.decide([_candidate(1000, [teaser], 2)], now)
    engine.decide([_candidate(2000, longer, 3)], now)
    assert engine.cluster_of(1000) == engine.cluster_of(2000)
    assert all(engine.cluster_of(n) != engine.cluster_of(2000) for n in range(1, 301))


@pytest.mark.parametrize("seed", range(10))
def test_a_partial_copy_is_found_among_hundreds_of_leads_that_open_alike(seed: int) -> None:
    """A partner's first two paragraphs of a wire story, decided after hundreds of the
    wire's stories that open with the same dateline and house phrase: the index proposes
    them all, and the partial copy is compared with the story it shares every lead band
    with, not only with the lowest ids among them."""
    now = datetime(2026, 11, 20, tzinfo=UTC)
    engine = DedupEngine()
    engine.decide(list(_wire_stories()), now)
    full = story(9600 + seed, paragraphs=6)
    longer = [f"{WIRE_OPENER} {full[0]}", *full[1:]]
    engine.decide([_candidate(400, longer, 2)], now)
    engine.decide([_candidate(500, [*longer[:2], "Read the full story at Oslo Wire."], 3)], now)
    assert engine.cluster_of(500) == engine.cluster_of(400)


def test_a_teaser_is_not_found_whole_on_the_two_or_three_shingles_sampled_of_it() -> None:
    """A 15-word teaser whose first ten words (a dateline and a house phrase) open another,
    long story, compared with it on the 1-in-4 sample: its two or three sampled shingles
    all found, or all but one, say nothing of the rest of it.  Slack for a long partial
    copy (one missing among ten or twenty: a gap's edge), not a teaser's lead (half of it
    a phrase many stories open with).  Ten such teasers, tried until they come up."""
    opener = "OSLO (Wire) — After months of debate, officials in the county said"
    found = 0
    for seed in range(400):
        own = " ".join(story(9800 + seed, paragraphs=1)[0].split()[:5])
        other = story(9900 + seed, paragraphs=12)
        teaser = _item([f"{opener} {own}"], 1)
        verdict = judge(teaser, _item([f"{opener} {other[0]}", *other[1:]], 2), DedupParams())
        m = verdict.match
        assert m is not None and m.missing_in_sample is not None
        if m.lead_containment >= 0.5 and m.missing_in_sample <= 1:
            assert verdict.method is None, verdict.reason
            found += 1
            if found == 10:
                return
    pytest.fail(f"{found} teasers of the case only: it is not built")
