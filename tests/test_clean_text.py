"""Folding and truncation markers: the fast paths give what the plain definitions give."""

from __future__ import annotations

import pytest

from aggregator.clean.boilerplate import fold_text
from aggregator.clean.text import fold, strip_truncation


@pytest.mark.parametrize(
    "block,expected",
    [
        ("the council met on tuesday.", "the council met on tuesday."),
        ("the council met on tuesday...", "the council met on tuesday"),
        ("the council met on tuesday [...]", "the council met on tuesday"),
        ("the council met on tuesday (more...)", "the council met on tuesday"),
        ("the council met on tuesday... read more", "the council met on tuesday"),
        ("the council met on tuesday ... continue reading »", "the council met on tuesday"),
        ("the council met. read the full story.", "the council met."),
        ("she wanted more", "she wanted more"),  # "more" alone is a word, not a marker
        ("the blog post", "the blog post"),
    ],
)
def test_strip_truncation(block: str, expected: str) -> None:
    assert strip_truncation(block) == expected


def test_fold_text_folds_each_line_as_fold_does() -> None:
    text = (
        "The “Council” met — on Tuesday…\n\n  CAFÉ  Straße\u00a0news  \n"
        "ﬁnal ½ line [\u2026]\nRead more"
    )
    expected = tuple(b for b in (strip_truncation(fold(line)) for line in text.split("\n")) if b)
    assert fold_text(text) == expected
    assert fold_text(text)[0] == 'the "council" met - on tuesday'  # the marker is off


def test_boilerplate_learning_rules_survive_a_reload() -> None:
    from aggregator.clean.boilerplate import BoilerplateModel, evidence

    footer, network, story = (
        ("follow us on our networks",),
        ("a network wide footer",),
        ("a sentence of one story only",),
    )
    model, persisted = BoilerplateModel(), []
    for feed_id, items in (
        (1, [footer, footer]),
        (1, [footer]),
        (2, [network, network]),
        (3, [network, story]),
        (3, [network]),
    ):
        increments = model.observe(feed_id, [evidence(blocks) for blocks in items])
        model.apply(feed_id, increments, 1)
        persisted += [
            (feed_id, key, count, sample, 1) for key, (count, sample) in increments.items()
        ]
    learned = {b.sample: (b.feeds, b.items) for b in model.learned()}
    # 3 items of one feed; 2 items in each of two feeds; a sentence seen once is not learned
    assert learned == {"follow us on our networks": (1, 3), "a network wide footer": (2, 4)}
    reloaded = BoilerplateModel()
    reloaded.load(persisted)
    assert {b.sample: (b.feeds, b.items) for b in reloaded.learned()} == learned
    assert reloaded.is_learned("a network wide footer")
    assert not reloaded.is_learned("a sentence of one story only")


def _paragraphs(seed: int, count: int) -> list[str]:
    from tests.feeds import story

    return [fold(p) for p in story(seed, paragraphs=count)][:count]


def test_a_story_repeated_in_its_feed_is_not_learned_but_its_footer_is() -> None:
    """An update of a story, a republication and a category feed's copy repeat its
    paragraphs in two feeds, twice each: they are not evidence that the paragraphs recur,
    while a footer carried by every new story still is."""
    from aggregator.clean.boilerplate import BoilerplateModel, evidence

    model = BoilerplateModel()
    footer = "read the latest from our partner network every morning in your inbox"
    original = _paragraphs(1, 5)
    update = ["update: this story has been updated", *original[:3], *_paragraphs(2, 1)]
    for feed_id in (1, 2):  # the main feed and its category feed
        for items in (
            [[*original, footer]],
            [[*update, footer]],
            [[*_paragraphs(3 + feed_id, 4), footer]],
        ):
            blocks = [evidence(tuple(b for b in item if b)) for item in items]
            model.apply(feed_id, model.observe(feed_id, blocks), 1)
    learned = {b.sample for b in model.learned()}
    assert learned == {footer}
    assert not any(model.is_learned(p) for p in original)


def test_an_update_that_keeps_its_opening_is_a_repeat_at_half_its_text() -> None:
    """An update keeps its first paragraph, rewrites two of five and adds one: half its
    text is new, yet it opens as the story did, so it is no evidence in either feed.
    Notices written on one template open with the part that fills their slots: the
    fixed paragraphs they share (half their text too) are still learned."""
    from aggregator.clean.boilerplate import BoilerplateModel, evidence

    model = BoilerplateModel()
    original = _paragraphs(11, 5)
    update = [original[0], *_paragraphs(12, 2), *original[3:], *_paragraphs(13, 1)]
    fixed = _paragraphs(14, 2)
    for feed_id in (1, 2):  # the main feed and its category feed
        for item in (original, update):
            model.apply(feed_id, model.observe(feed_id, [evidence(tuple(item))]), 1)
        for n in range(3):
            notice = [*_paragraphs(20 + n, 2), *fixed]
            model.apply(feed_id, model.observe(feed_id, [evidence(tuple(notice))]), 1)
    assert not any(model.is_learned(p) for p in original)
    assert all(model.is_learned(p) for p in fixed)


def test_a_standfirst_every_item_opens_with_does_not_hide_the_footer() -> None:
    """Every item of a feed opens with the same standfirst and ends with the same footer,
    a paragraph of story of its own between them: none repeats a story (what they share beyond their
    opening is under ``REPEAT_WORDS``), so standfirst and footer are both learned."""
    from aggregator.clean.boilerplate import BoilerplateModel, evidence

    model = BoilerplateModel()
    standfirst = fold(
        "Editor's note: this story is part of our coverage of the county elections, and our "
        "reporters are on the ground across the region."
    )
    footer = fold(
        "The Westmoor Times is an independent local newspaper owned by its readers. Support "
        "our journalism by subscribing today from just one pound a week, or tell us about a "
        "story in your area by email."
    )
    for n in range(4):  # a teaser feed: one paragraph of story each
        item = (standfirst, *_paragraphs(200 + n, 1), footer)
        model.apply(1, model.observe(1, [evidence(item)]), 1)
    assert model.is_learned(standfirst) and model.is_learned(footer)


def test_short_items_with_a_long_footer_still_teach_it() -> None:
    """Teasers of one sentence: the footer is most of each item, yet each item is a new
    story, so the footer is learned."""
    from aggregator.clean.boilerplate import BoilerplateModel, evidence

    model = BoilerplateModel()
    footer = "follow our other networks here for the daily watch news and the daily watch feeds"
    for n in range(3):
        teaser = _paragraphs(50 + n, 1)[0]
        model.apply(1, model.observe(1, [evidence((teaser, footer))]), 1)
    assert model.is_learned(footer)


def test_words_fast_paths_give_the_regex_tokens() -> None:
    """ASCII lines skip the regex: the tokens must be those of ``\\w+`` whatever the mix
    of punctuation, control characters, other scripts, spaces and line breaks."""
    import random
    import re

    from aggregator.clean.text import words

    def by_regex(text: str) -> list[str]:
        return re.findall(r"\w+", text)

    rng = random.Random(7)
    alphabet = [chr(c) for c in range(128)] + list("é©«»\u00a0\u2028ßİıﬁ₂½Ωж\u0301\u200b\n\n")
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(60)))
        assert words(text) == by_regex(text), repr(text)
    assert words("snake_case 3.14 don't\nCafé © 2026") == [
        "snake_case",
        "3",
        "14",
        "don",
        "t",
        "Café",
        "2026",
    ]


def test_fold_text_skips_the_space_collapse_only_when_it_would_change_nothing() -> None:
    import random
    import sys

    from aggregator.clean.text import _ODD_SPACES, fold_characters

    # Every character split() splits on is looked for (but the space and the line break).
    assert set(_ODD_SPACES) == {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()} - {
        " ",
        "\n",
    }

    def collapsed(text: str) -> tuple[str, ...]:
        lines = (
            strip_truncation(" ".join(line.split())) for line in fold_characters(text).split("\n")
        )
        return tuple(line for line in lines if line)

    rng = random.Random(3)
    alphabet = list("ab c\n  \n\t\r\x0b\x0c\x1c\x85\xa0\u2003\u2028\u3000é©.…")
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(30)))
        assert fold_text(text) == collapsed(text), repr(text)
