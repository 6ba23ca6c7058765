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
from tests.test_hard_cases import Copy, _html, _p, decide, verdict

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
    # The edge's score (what the cluster page shows) is the share of the teaser found, not
    # its two or three sampled shingles against the story's sample.
    assert verdict.match is not None
    assert verdict.score == verdict.match.lead_containment >= DedupParams().containment


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


# Stories of one frame whose first ten words or more are the same: (frame, the slot
# each of two stories fills, each story's title).
FRAMES = (
    (
        "Earlier this week, the appeals court in Carrowmore dismissed a",
        ("dispute between two rival ferry operators over landing rights", "Ferry dispute"),
        ("challenge to the new district boundaries brought by residents", "Boundary challenge"),
    ),
    (
        "Council officials in Westmoor confirmed on Tuesday that the town will",
        ("close its last public swimming pool at the end of the month", "Pool closure"),
        ("host the regional cycling championships again next summer", "Cycling championships"),
    ),
    (
        "Police in Dunmere are appealing for witnesses after a man was",
        ("seriously injured in a collision on the coast road on Sunday", "Coast road crash"),
        ("seen running from a burning warehouse near the harbour", "Warehouse fire"),
    ),
    (
        "Shares in Borealis Energy closed sharply lower on Friday after the company",
        ("cut its full-year forecast for the second time in three months", "Forecast cut"),
        ("named a new chief executive from outside the business", "New chief executive"),
    ),
    (
        "The health board serving Kelling Island said on Monday it would",
        ("reopen the island's minor injuries unit from next week", "Injuries unit reopens"),
        ("recruit twelve more nurses for the mainland hospital", "Nurses recruited"),
    ),
    (
        "Members of the teachers' union in Calder voted overwhelmingly last night to",
        ("accept the latest pay offer from the regional authority", "Pay offer accepted"),
        ("hold a one-day strike before the end of term", "Strike called"),
    ),
    (
        "Forecasters at the national weather service warned on Thursday that Harrow",
        ("faces its heaviest snowfall in a decade over the weekend", "Heavy snow"),
        ("could see river levels rise above flood defences by Saturday", "Flood warning"),
    ),
    (
        "A spokesperson for Northwind Rail said this morning that passengers on the",
        ("coastal line should expect cancellations until Wednesday", "Coastal line cancellations"),
        ("night service will no longer need to book a seat in advance", "Night service booking"),
    ),
    (
        "Planning officers in Fairhaven have recommended that councillors approve plans to",
        ("turn the old brewery into three hundred new homes", "Brewery homes"),
        ("extend the airport runway by four hundred metres", "Runway extension"),
    ),
    (
        "The organisers of the Glenrock music festival announced on Wednesday that",
        ("this year's event has sold out for the first time", "Festival sells out"),
        ("the festival will move to a new site by the river", "Festival moves site"),
    ),
)


def _frame_story(frame: str, slot: str, rest: int) -> list[str]:
    own = story(11000 + rest, paragraphs=3)
    return [f"{frame} {slot}. {own[0]}", *own[1:]]


@pytest.mark.parametrize("n", range(len(FRAMES)))
def test_two_teasers_of_one_frame_cut_at_other_lengths_join_their_own_stories(n: int) -> None:
    """The shorter teaser is the frame's words only, the longer one goes on into its own
    story's slot: the shorter one is the longer one's lead, not its copy, and it hangs
    from the story under its own title."""
    frame, (slot_a, title_a), (slot_b, title_b) = FRAMES[n]
    place = frame.split()[0]
    story_a = Copy("story a", 1, _html(_frame_story(frame, slot_a, 2 * n)), 0.0, title=title_a)
    story_b = Copy("story b", 1, _html(_frame_story(frame, slot_b, 2 * n + 1)), 0.5, title=title_b)
    words_a = len(frame.split())  # the frame only: cut before the slot
    short = Copy(
        "teaser a",
        2,
        _p(" ".join(frame.split()[:words_a]) + " …"),
        1.0,
        title=f"{place}: {title_a}",
    )
    longer_words = [*frame.split(), *slot_b.split()][: words_a + 5]
    long_ = Copy("teaser b", 2, _p(" ".join(longer_words) + " …"), 1.5, title=f"{place}: {title_b}")
    decision = decide([story_a, story_b, short, long_])
    assert decision.groups == {
        frozenset({"story a", "teaser a"}),
        frozenset({"story b", "teaser b"}),
    }, f"{decision} | {verdict(short, long_)}"


@pytest.mark.parametrize("n", range(10))
def test_two_teasers_of_one_story_cut_at_other_lengths_join_without_the_story(n: int) -> None:
    """Only teasers reach us (two headline feeds): the shorter one leads the longer one,
    under the same title or another, and they are one story."""
    words = " ".join(story(12000 + n, paragraphs=2)).split()
    title = " ".join(words[:6]).capitalize()
    short = Copy("short", 1, _p(" ".join(words[:10]) + " …"), 0.0, title=title)
    other_title = title if n % 2 else f"Latest: {' '.join(words[3:9])}"
    long_ = Copy("long", 2, _p(" ".join(words[: 16 + n]) + " …"), 1.0, title=other_title)
    assert decide([short, long_]).groups == {frozenset({"short", "long"})}, verdict(short, long_)


SHORT_OPENERS = (
    "The ferry will not sail again this month.",
    "A former manager has been sent to prison.",
    "Forty bakeries will close their doors by spring.",
    "Stargazers may get a rare treat this winter.",
    "The club has parted ways with its manager.",
    "Doctors in Dunmere are worried about measles.",
    "Trains will not run between the two towns.",
    "Three carved panels are finally going home.",
    "Millions of drivers have had their details exposed.",
    "Beavers are back in the valley after centuries.",
)
HEADINGS = ("Background", "Context", "Analysis", "Reaction", "Timeline")


def _opened(n: int, body: int | None = None) -> tuple[list[str], str]:
    """Story ``n`` (or ``body``'s paragraphs) opened by a one-sentence paragraph and a
    heading, the heading gone (its feed's recurring line, learned), and a teaser of story
    ``n`` that runs on through the heading into the next paragraph: a word the story
    lacks, and its first sentence ending inside the teaser's one block."""
    from tests.test_hard_cases import STORIES

    opener, heading = SHORT_OPENERS[n], HEADINGS[n % len(HEADINGS)]
    paragraphs = [opener, *STORIES[n if body is None else body].paragraphs]
    following = " ".join(STORIES[n].paragraphs[0].split()[: 5 + n % 5])
    return paragraphs, f"{opener} {heading} {following} …"


@pytest.mark.parametrize("n", range(len(SHORT_OPENERS)))
def test_a_teaser_through_a_heading_its_story_lost_joins_the_story(n: int) -> None:
    paragraphs, teaser = _opened(n)
    verdict_ = judge(_item(paragraphs, 1), _item([teaser], 2), DedupParams())
    assert verdict_.method is Method.CONTAINMENT, verdict_.reason
    assert verdict_.match is not None
    if verdict_.match.lead_containment < DedupParams().containment:
        assert "but for one word" in verdict_.reason, verdict_.reason


@pytest.mark.parametrize("n", range(len(SHORT_OPENERS)))
def test_a_teaser_through_a_heading_stays_off_another_story_with_its_first_line(n: int) -> None:
    """Another story opened by the same one-line paragraph ("Trains will not run between
    the two towns."): the teaser's words after the heading are not in it."""
    from tests.test_hard_cases import STORIES

    paragraphs, teaser = _opened(n, body=(n + 1) % len(STORIES))
    verdict_ = judge(_item(paragraphs, 1), _item([teaser], 2), DedupParams())
    assert verdict_.method is None, verdict_.reason


@pytest.mark.parametrize("seed", range(10))
def test_a_teasers_edge_scores_the_share_of_it_found_not_its_sampled_shingles(seed: int) -> None:
    """Against a long story (kept as a 1-in-4 sample), a 14-word teaser's containment
    rests on the two or three of its shingles the sample keeps, and may read 0 %; the
    edge's score, which the cluster page shows, is the share of the teaser found."""
    full = story(6000 + seed, paragraphs=14)
    teaser = " ".join(" ".join(full).split()[:14])
    verdict = judge(_item([teaser], 1), _item(full, 2), DedupParams())
    assert verdict.method is Method.CONTAINMENT and verdict.match is not None
    assert verdict.match.longer > 256  # the story is sampled
    assert verdict.score == verdict.match.lead_containment == 1.0
