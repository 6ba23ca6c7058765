"""Titles in the decision (issue 13): never evidence that two items are one story, but
what keeps an update that rewrote its opening with its story, what tells apart notices
filled into one pattern, and what marks a footer that names the item; and the opening
index reaching a story's first words behind a byline, an "Updated" line and a caption."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import String

from aggregator.clean.text import fold, words
from aggregator.clean.titles import naming_lines, story_words
from aggregator.dedup.rules import Comparable, DedupParams, Method, Titles, compare, judge
from aggregator.fingerprint.signature import (
    OPENING,
    OPENING_HEAD,
    SCHEME,
    fingerprint_blocks,
    opening_positions,
    shingle_hashes,
)
from aggregator.storage.models import Item
from tests.feeds import story
from tests.test_templates import DAYS, TOWNS, weather_story


def _blocks(paragraphs: list[str]) -> list[str]:
    return [fold(p) for p in paragraphs]


def _judge(a: list[str], a_title: str, b: list[str], b_title: str) -> tuple[Method | None, str]:
    first = Comparable(1, None, fingerprint_blocks(_blocks(a), a_title))
    second = Comparable(2, None, fingerprint_blocks(_blocks(b), b_title))
    verdict = judge(first, second, DedupParams())
    return verdict.method, verdict.reason


@pytest.mark.parametrize(
    "title,expected",
    [
        (
            "UPDATE: Council approves the harbour budget (video)",
            "council approves the harbour budget",
        ),
        (
            "Council approves the harbour budget | City Reader",
            "council approves the harbour budget",
        ),
        (
            "Council approves the harbour budget - The Daily Watch News",
            "council approves the harbour budget",
        ),
        # A long opening part is the story's own, and the longest part always stays.
        ("Ashford forecast for Friday: showers", "ashford forecast for friday"),
        ("Evening Briefing: Council approves the budget", "council approves the budget"),
        ("Morning Briefing", "morning briefing"),
        # An update adds a tag of its own before the feed's.
        (
            "Council approves the harbour budget (updated) (video)",
            "council approves the harbour budget",
        ),
        (
            "Council approves the harbour budget [live] (updated)",
            "council approves the harbour budget",
        ),
        ("(video)", "video"),
    ],
)
def test_story_words_leave_labels_out(title: str, expected: str) -> None:
    assert story_words(title) == frozenset(expected.split())


def _updated(paragraphs: list[str], rng: random.Random) -> list[str]:
    """An update: an "UPDATE:" line on top and its opening (two sentences) rewritten."""
    rewritten = (
        f"Officials confirmed late on {rng.choice(DAYS)} that the figures had changed again. "
        f"A statement from the council said more details would follow within the week."
    )
    return ["UPDATE: This story has been updated.", rewritten, *paragraphs[2:]]


@pytest.mark.parametrize("seed", range(10))
def test_an_update_that_rewrote_its_opening_stays_with_its_story(seed: int) -> None:
    rng = random.Random(seed)
    original = story(seed, paragraphs=8)
    title = f"Harbour council approves plan number {seed} for the waterfront"
    update = _updated(original, rng)
    method, reason = _judge(original, title, update, f"UPDATE: {title} | City Reader")
    assert method is Method.MINHASH, reason
    assert "an update" in reason
    # Under another title (as a story on the same template would have), the rewritten
    # opening is what tells them apart: no edge.
    other = f"Valley council rejects plan number {seed + 100} for the riverside"
    method, reason = _judge(original, title, update, other)
    assert method is None and reason.startswith("template:"), reason


def _weather(seed: int, town: str) -> tuple[list[str], str]:
    """A notice for ``town``: the same generated forecast with the town put in."""
    paragraphs = weather_story(random.Random(seed))
    named = [p.replace(paragraphs[0].split(" can expect")[0], town) for p in paragraphs]
    return named, f"{town} forecast for {DAYS[seed % 7]}: showers"


@pytest.mark.parametrize("seed", range(10))
def test_notices_whose_titles_fill_one_pattern_are_not_joined(seed: int) -> None:
    first_town, second_town = random.Random(seed).sample(TOWNS, 2)
    a, a_title = _weather(seed, first_town)
    b, b_title = _weather(seed, second_town)
    method, reason = _judge(a, a_title, b, b_title)
    assert method is None, reason
    # A copy on a sister site (its own title style) is still the same story.
    method, reason = _judge(a, a_title, a + ["Follow us for more."], f"{a_title} - Metro Now")
    assert method is not None, reason


def test_titles_compare_by_story_words() -> None:
    def titles(a: str, b: str) -> Titles:
        return compare(
            fingerprint_blocks(_blocks(story(1)), a), fingerprint_blocks(_blocks(story(1)), b)
        ).titles

    assert titles("UPDATE: Dam opens", "Dam opens | Site") is Titles.SAME
    assert titles("Ashford forecast for Friday", "Brampton forecast for Friday") is Titles.SLOTS
    assert titles("Dam opens on the river", "Mayor resigns after vote") is Titles.UNRELATED
    assert titles("", "Dam opens") is Titles.UNKNOWN


FOOTERS = [
    "The post {title} appeared first on Harbour Wire.",
    "Continue reading “{title}” at Harbour Wire.",
    "“{title}” was first published on Harbour Wire and is republished here in part.",
    "{title} — read the rest of this story at Harbour Wire",
]


@pytest.mark.parametrize("footer", FOOTERS)
def test_a_line_naming_the_items_title_is_a_footer(footer: str) -> None:
    title = "Harbour council approves the waterfront plan"
    paragraphs = story(5, paragraphs=3)
    partial = [*paragraphs[:2], footer.format(title=title)]
    assert naming_lines(_blocks(partial), f"{title} - Harbour Wire") == [2]
    # Without the footer, the partial copy is the lead of the story.
    method, reason = _judge(partial, title, paragraphs + story(6, paragraphs=3), title)
    assert method is Method.CONTAINMENT, reason
    # A text that only names its title keeps it; a short title names nothing.
    assert naming_lines(_blocks([footer.format(title=title)]), title) == []
    assert naming_lines(_blocks(partial), "Dam opens") == []


def test_the_opening_reaches_past_a_byline_an_update_line_and_a_caption() -> None:
    lead = story(9, paragraphs=4)
    blocks = _blocks(
        [
            "By Jane Doe, Staff Reporter",
            "Last updated: November 24, 2026 at 3:12 AM",
            "Crowds gather at the harbour on Tuesday evening. Picture: Harbour Press Agency",
            *lead,
        ]
    )
    fp = fingerprint_blocks(blocks)
    assert fp.opening.size == OPENING
    story_start = sum(len(words(b)) for b in blocks[:3])
    teaser = shingle_hashes(words(" ".join(blocks[3].split()[:12])))
    assert teaser[0] in set(fp.opening.tolist())
    assert opening_positions(blocks, 10_000)[:OPENING_HEAD] == list(range(OPENING_HEAD))
    assert story_start in opening_positions(blocks, 10_000)


def test_the_scheme_name_fits_its_column() -> None:
    column = Item.__table__.c.fingerprint_scheme.type
    assert isinstance(column, String) and column.length is not None
    assert len(SCHEME) <= column.length


def _filing(fund: str, verb: str, shares: int) -> list[str]:
    """A filing notice whose story is its first paragraph (the fund, what it did); the
    rest names other funds in the same words and describes the company."""
    return [
        f"{fund} {verb} a new position in Pogu Systems Inc. (NASDAQ:POT) in the fourth "
        f"quarter, according to its most recent filing with the Securities & Exchange "
        f"Commission. The fund bought {shares:,} shares of the company's stock.",
        "A number of other hedge funds have also recently changed their positions in POT. "
        "Cafo Asset Management Inc. bought a new position in Pogu Systems Inc. during the "
        "fourth quarter worth about $9,804. Vima Advisors LLC raised its holdings in shares "
        "of Pogu Systems Inc. by 12.1% during the fourth quarter.",
        *story(77, paragraphs=6),
    ]


@pytest.mark.parametrize("shares", [1_200, 853_535, 42_000])
def test_an_abbreviation_does_not_end_a_sentence(shares: int) -> None:
    """Split after "Inc.", the first sentence of each notice would leave the fragment
    "bought a new position in pogu systems inc", which the paragraph every notice shares
    also holds: the openings would not differ, and two funds' notices would be joined."""
    a = _filing("Orvisu & Co.", "bought", shares)
    b = _filing("Sinoed Trust Co.", "took", shares + 7)
    method, reason = _judge(
        a,
        "Orvisu & Co. Buys New Position in Pogu Systems Inc. (NASDAQ:POT)",
        b,
        "Pogu Systems Inc. (NASDAQ:POT) Stake Taken by Sinoed Trust Co.",
    )
    assert method is None and reason.startswith("template:"), reason
    # The same notice on a sister site is one story.
    method, reason = _judge(
        a, "Orvisu & Co. Buys Pogu Systems", a, "Orvisu & Co. Buys Pogu Systems"
    )
    assert method is not None, reason


def test_a_partial_copy_found_whole_past_a_long_preamble_is_a_lead() -> None:
    """The first three paragraphs of a story, against a copy that puts a byline and a long
    caption before it: every shingle of the partial copy is in the story, but a third of
    them lie past the story copy's first 96 (lead containment 0.69); a passage from the
    middle, found whole too, does not start where the story starts."""
    paragraphs = story(31, paragraphs=6, words=30)
    caption = (
        "Crowds gather on the harbour wall on Tuesday evening as the tide comes in over "
        "the old quay and the lifeboat crew watches from the slipway. Picture: Harbour "
        "Press Agency"
    )
    full = ["By Jane Doe, Staff Reporter", caption, *paragraphs]
    method, reason = _judge(paragraphs[:3], "Harbour story", full, "Harbour story")
    assert method is Method.CONTAINMENT, reason
    method, reason = _judge(paragraphs[3:5], "Another story", full, "Harbour story")
    assert method is None, reason
