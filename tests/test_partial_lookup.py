"""Issue 13, case 5: a partial copy that dropped its second paragraph behind a
one-sentence first one ("“We were lucky,” said the captain.").

The copy shares its first dozen shingles with the full story's opening, then goes on
with the story's third paragraph: too little of the first 32 shingles for the lead
MinHash to propose the pair, and at 40-90 words too long for the lookup of teasers by
their first words, which now takes every text as short as a lead
(:data:`aggregator.dedup.engine.SHORT_TEXT`).  The rules accept the pair once proposed
(found whole from its start, or all but its closing line leads the story)."""

from __future__ import annotations

import pytest

from tests.test_hard_cases import STORIES, Copy, _html, _p, decide, judged, verdict

OPENERS = (
    "\u201cWe have never seen anything like it,\u201d said one resident.",
    "\u201cIt is a difficult day for everyone here,\u201d the mayor said.",
    "It was the news the island had been dreading for months.",
    "\u201cNobody saw this coming,\u201d a spokesperson admitted on Monday.",
    "The decision came late on Friday, after a week of talks.",
    "\u201cWe were lucky,\u201d said the captain, still shaken.",
    "For the families involved, the wait is finally over.",
    "\u201cThis changes everything for us,\u201d one parent said.",
    "Few people in the valley slept much last night.",
    "\u201cWe will not give up,\u201d the campaigners said after the vote.",
)
ENDINGS = (
    "Read the full story at The Portwick Courier.",
    "This is an excerpt. Read the full article at The Westmoor Times.",
    "Continue reading on The Calder Herald.",
)


EXAMPLES: tuple[tuple[int, int], ...] = (
    (1, 2), (2, 3), (3, 4), (4, 1), (5, 7), (9, 8), (1, 5), (2, 6), (3, 6), (4, 9), (5, 9), (11, 8),
)  # fmt: skip
"""(story, opener): each pair the engine does not propose without the lookup."""


def _assert_one_story(full: Copy, partial: Copy) -> None:
    """The rules give the pair an edge, and the engine makes one cluster of it."""
    pair = judged(full, partial)
    assert pair.method is not None, pair.reason
    assert decide([full, partial]).groups == {frozenset({"full", "partial"})}, verdict(
        full, partial
    )


@pytest.mark.parametrize(("n", "opener"), EXAMPLES)
def test_a_partial_copy_without_its_second_paragraph_behind_a_short_first_joins_it(
    n: int, opener: int
) -> None:
    story = STORIES[n]
    full = Copy("full", 1, _html([OPENERS[opener], *story.paragraphs]), 0.0, title=story.title)
    third = " ".join(story.paragraphs[1].split()[:45])
    partial = Copy(
        "partial",
        2,
        _html([OPENERS[opener], third]) + _p(ENDINGS[(n + opener) % len(ENDINGS)]),
        2.0,
        title=story.title.upper(),
    )
    _assert_one_story(full, partial)


@pytest.mark.parametrize("n", range(len(OPENERS)))
def test_a_partial_copy_of_another_story_with_the_same_opener_stays_apart(n: int) -> None:
    """A house opener two stories share ("It was the news … dreading") proposes the pair
    now; the rules still refuse it: the rest is another story."""
    story, other = STORIES[n], STORIES[(n + 1) % len(STORIES)]
    full = Copy("full", 1, _html([OPENERS[n], *story.paragraphs]), 0.0, title=story.title)
    third = " ".join(other.paragraphs[1].split()[:40])
    partial = Copy(
        "partial", 2, _html([OPENERS[n], third]) + _p(ENDINGS[0]), 2.0, title=other.title
    )
    assert decide([full, partial]).groups == {frozenset({"full"}), frozenset({"partial"})}


# (story, the paragraph the partial copy drops): a copy of the first three or four
# paragraphs that skipped one, then says where to read the rest.
DROPPED: tuple[tuple[int, int], ...] = tuple((n, 1 + n % 2) for n in range(12))


def _closing(n: int) -> str:
    """A partial copy's closing line of its own: where to read the rest (a line that names
    the item's title is dropped as such; these are not)."""
    return (
        "Our partners at The Calder Herald carry the rest of this report today.",
        "This is an excerpt. Read the full article at The Westmoor Times.",
        "The remainder of this report is for subscribers of The Portwick Courier.",
    )[n % 3]


@pytest.mark.parametrize(("n", "dropped"), DROPPED)
def test_a_partial_copy_that_dropped_a_paragraph_of_what_it_kept_joins_its_story(
    n: int, dropped: int
) -> None:
    """Neither found whole (its closing line is its own) nor the story's lead (the
    paragraphs after the gap lie past the story's lead): it opens as the story opens and
    all of it but the gap's seam and its closing line is in the story."""
    story = STORIES[n]
    # A long story (its own paragraphs, then more of it): the partial copy keeps a third.
    longer = [*story.paragraphs, story.added, *story.follow_up]
    full = Copy("full", 1, _html(longer), 0.0, title=story.title)
    kept = [p for i, p in enumerate(story.paragraphs[:4]) if i != dropped]
    partial = Copy(
        "partial",
        2,
        _html(kept) + _p(_closing(n)),
        2.0,
        title=story.title,
    )
    _assert_one_story(full, partial)


@pytest.mark.parametrize("n", range(len(STORIES)))
def test_a_story_that_opens_as_another_and_goes_on_with_its_own_stays_apart(n: int) -> None:
    """Two stories of one wire that open with the same sentence (a house line), the
    shorter one going on with its own paragraphs: it opens with the longer one's words,
    but most of it is not in it."""
    story, other = STORIES[n], STORIES[(n + 1) % len(STORIES)]
    house = "Here is the latest from our newsroom on the stories that matter to the county."
    full = Copy("full", 1, _html([house, *story.paragraphs]), 0.0, title=story.title)
    short = Copy(
        "short",
        2,
        _html([house, story.paragraphs[0], *other.paragraphs[1:3]]),
        2.0,
        title=other.title,
    )
    assert decide([full, short]).groups == {frozenset({"full"}), frozenset({"short"})}, verdict(
        full, short
    )
