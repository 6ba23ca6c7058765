"""The rules of the cluster decision, in one place: the engine, ``clusters explain``, the
cluster pages and the API all ask this module.  Pure.

Clusters are the connected components of a graph whose edges are *verified*:

============  ===================================================  =======================
edge          when                                                 why this value
============  ===================================================  =======================
url           same canonical link, different feeds, link has a      tracking parameters are
              path or a query (a homepage link identifies nothing) the only difference
content-hash  same text after boilerplate removal (≥ 8 words)      exact republication
minhash       Jaccard of word 3-shingles ≥ ``threshold`` (default   copies with another
              0.5), verified on the shingles (exact up to 256,     footer/sponsor/typography
              a 1-in-4 sample beyond); the LSH (42 bands of 3)     or a dropped paragraph
              proposes pairs at J = 0.5 with probability 0.996
                                                                   score 0.6–1.0 on
                                                                   syndication-dev; two
                                                                   stories on one topic
                                                                   score < 0.1
containment   a shorter text (≥ 8 shingles, ≤ 80 % of the other)   "first 50 words … Read
              is the *beginning* of a longer one: ≥ ``containment``   more" summaries: Jaccard
              (0.8) of its first 96 shingles are in the other's   is low (0.05–0.3) but
              first 96 (and, for longer texts, of all its         nearly all of the lead
              shingles in the other text)                          is found; requiring the
                                                                   *lead* keeps a quoted
                                                                   passage from joining
============  ===================================================  =======================

A ``minhash`` pair is refused when the two texts are *template* stories
(:func:`is_template`, texts of four sentences or more): they share their phrasing far
more than their whole sentences (shingle containment at least ``TEMPLATE_GAP`` above the
share of sentences in common); or neither opens with a sentence of the other (their
first two sentences of six words or more, a dateline aside) under titles that are not
one story's, yet their first sentences share half their words or more (one frame, other
names in it) or the texts share under ``UPDATE_SENTENCE_SHARE`` of their sentences (an
update keeps the rest of its story); or some of their sentences differ and so do their
titles, in the slots of one pattern (:data:`Titles.SLOTS`) — as notices generated from
one template do ("Fund A raises its stake in X", "Town Y forecast for Sunday").  A copy
repeats whole sentences, its opening ones among them; an update that rewrote its opening
keeps its title, or shares few words with the opening it replaced and most sentences
with the rest.  At any length and similarity, a ``containment`` edge included, two items
are template stories when their titles are not one story's and their first sentences are
one sentence with other words in one slot, words each title names (:func:`slot_sign`:
"the forecast for <town> for Monday"): two towns given the same weather share all their
text but their names; or in two or three slots ("<town> can expect fog on <Sunday>"),
unless the titles name one of them only and the texts keep the rest of one story (an
update edits its first sentence in two places); or in figures only, each title naming
its own ("near junction <4>"), in texts of two sentences or more that are no such edit.

Below the threshold, two full texts still earn a ``minhash`` edge as an update that grew
its story (:func:`grown_update`): Jaccard at least ``UPDATE_JACCARD`` (0.4; 0.3 when
half the shorter text's lead is in the other's and they do not end alike), most of the
shorter text in the other (``UPDATE_CONTAINMENT`` of its shingles, ``UPDATE_SHARE`` of
its sentences) and one opening sentence (not one title) — a short story republished with
an update line, a paragraph rewritten and one added falls to 0.45, while a follow-up
quoting its background paragraphs stays under 0.25; template stories are refused as
above.

Under one title, an update whose new opening paragraph fills its first 96 shingles shows
itself by its order (:func:`_interleaved`): a paragraph put in between two of the story's
that follow each other in the older text, where a footer two letters share is one run at
the end of both.

A teaser that opens as its story opens may lack one word of it and still lead it
(:func:`teaser_but_a_word`): the heading its story's feed learned as a recurring line.
An update under the same title that rewrote its first paragraph keeps the story's next
ones near its own start (:func:`grown_update`).

A shorter text keeps a containment edge only to its single best longer text
(:func:`lead_parent_rank`), so a lead shared by a story and its rewritten update cannot
bridge the two.  Titles alone are never evidence that two items are one story:
recurring titles ("Morning Briefing") over different bodies stay apart; a title only
tells two similar texts apart, keeps an update's rewritten opening from reading as a
template, or lets an update that grew its story and rewrote its first paragraph keep it.

The canonical item of a cluster is the first by :func:`canonical_rank`: full text before
summary, higher feed ``priority``, earlier publication, lower id.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

import numpy as np

from aggregator.dedup.templates import number_slots, template_slots
from aggregator.fingerprint.signature import (
    LEAD_SENTENCES,
    LEAD_VERIFY,
    OPENING_HEAD,
    SAMPLE_MASK,
    SHINGLE,
    U32,
    Fingerprint,
    overlap,
)


class Method(StrEnum):
    """Why an item is in its cluster: the edge that holds it there (stored as text)."""

    SINGLE = "single"
    """Alone in its cluster."""
    URL = "url"
    CONTENT_HASH = "content-hash"
    MINHASH = "minhash"
    CONTAINMENT = "containment"
    MANUAL = "manual"
    """Placed by a user's correction (``clusters split`` / ``clusters merge``)."""


AUTOMATIC = (Method.URL, Method.CONTENT_HASH, Method.MINHASH, Method.CONTAINMENT)
"""The edges the engine finds by itself, strongest evidence first: when an item has
several, its membership names the first of them (then the higher score, then the lower
id of the other item)."""

TEMPLATE_MIN_SENTENCES = 4
TITLE_SLOTS_SHARE = 0.25
"""Share of the shorter title's story words the other title has, at which two titles that
each have words of their own are one pattern with other slots filled."""
TITLE_SLOTS_GAP = 0.1
"""Containment minus sentence share from which two texts under :data:`Titles.SLOTS` are
template stories: some of their sentences differ (a copy's, even interrupted, are the
same save for the lines it adds).  A short update that rewrote its first sentence under
a title sharing words with the old one falls here too: notices of one template ("<a
school of six words> closed on Monday") look the same."""
LEAD_FRAME_SHARE = 0.5
"""Share of words two first sentences that differ have in common from which they are one
template's frame with other names in it; an update that rewrote its opening under a new
title shares far fewer."""
UPDATE_SENTENCE_SHARE = 0.8
"""Share of the sentences two texts have in common from which a rewritten opening under
a new title reads as an update of one story: it keeps the rest of the story, while two
releases of one company share only their closing paragraphs."""
UPDATE_JACCARD = 0.4
"""Jaccard from which two texts below the threshold may be one story updated
(:func:`grown_update`): the rewritten paragraph, the update line and an added paragraph
of a short story take it under 0.5 (0.45-0.49 on our hard-case corpus), while a follow-up
quoting a background paragraph or two of an older story stays under 0.25."""
UPDATE_OPENING_JACCARD = 0.3
"""Jaccard enough for an update that opens as its story did (``HALF_LEAD`` of the
shorter text's first 96 shingles in the other's): a story that grew by half or more
after its own opening.  A follow-up opens with its own news, whatever it quotes below."""
UPDATE_CONTAINMENT = 0.65
"""Share of the shorter text's shingles found in the other, at least, for an update that
grew its story: it keeps all but the paragraph it rewrote."""
UPDATE_SHARE = 0.6
"""Share of the shorter text's sentences found whole in the other, at least, for an update
that grew its story (a follow-up that quotes its background keeps a third or less)."""
UPDATE_MIN_SHINGLES = LEAD_VERIFY * 5 // 4
"""Shingles of the shorter text, at least, for :func:`_retitled_opening`: a quarter of a
lead more than its lead (120).  Short letters under a recurring title over a footer not
learned yet have 93-111; the shortest updates of our corpora that rewrote their opening,
135."""
UPDATE_LEAD = 0.25
"""Share of the shorter text's lead (its first 96 shingles) found in the other's lead, at
least, for an update that grew its story under the same title without an opening sentence
in common: the paragraphs after the one it rewrote start near its own start (0.27-0.64 in
our examples and corpora), while letters under a recurring title over a long footer not
learned yet keep 0.11 at most."""
INSERTED_SENTENCES = 1
"""Sentences of its own, at most, that one text may have between two sentences it shares
with the other without telling a paragraph put in: a "READ MORE:" or "Related:" line, a
caption.  More, where the other text has those two sentences next to each other or one
sentence apart (:func:`_interleaved`), say the shared sentences are one story's, in its
order, with a paragraph put in (or an old one rewritten longer)."""
TEMPLATE_GAP = 0.3
"""Shingle containment minus sentence share at which two texts are template stories.
Copies, updates, partial and interrupted copies and markup noise stay below 0.22 on our
hard-case corpus and the dev corpus; template families lie around 0.4."""
ENDING_BODY_SHINGLES = 24
"""Shingles at least of a partial copy without its closing line, for what is left to lead
the full story: the first paragraph of a story, not a heading two items share."""
MIN_CONTAINED_SHINGLES = 8
"""A teaser of ten words (eight shingles) in a row at the start of a longer text is that
text's lead: ten words in a row are rarely shared by two stories' openings."""
MAX_LEAD_RATIO = 0.8
WHOLE = 0.95
"""Containment at which a shorter text is found whole in the longer one."""
SAMPLE_SLACK = 1
"""Sampled shingles of the shorter text that may be missing from the longer one for it to
be found whole (:func:`found_whole`)."""
MIN_FOUND_IN_SAMPLE = 5
"""Sampled shingles of the shorter text found in the other, at least, for it to be found
whole on the 1-in-4 sample: a 15-word teaser has two or three, all of them in the half it
shares with another story's opening as often as not (a dateline and a house phrase); a
partial copy of 40 words has about ten."""
HALF_LEAD = 0.5
"""Lead containment enough for a text found whole: it starts where the other starts."""
PARTIAL_SLACK = 24
"""Shingles of a partial copy that opens as its story opens which may be missing from the
story (:func:`partial_copy`): a closing line of its own of ``ENDING_WORDS`` words with
the shingles that span into it, and the seam of a paragraph it dropped."""

CANONICAL_RULE = (
    "full text before summary, then the feed with the higher priority, "
    "then the earliest publication, then the lowest item id"
)


class Titles(StrEnum):
    """How two items' titles compare (:func:`compare_titles`), story words only."""

    UNKNOWN = "unknown"
    """One of them has no title."""
    SAME = "same"
    """The same words, or one's words all in the other (three words at least)."""
    SLOTS = "slots"
    """Each has words the other lacks, over a common part: one pattern, other slots."""
    UNRELATED = "unrelated"


@dataclass(frozen=True)
class DedupParams:
    threshold: float = 0.5
    containment: float = 0.8
    window: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Match:
    """How the texts of two items compare."""

    jaccard: float
    containment: float
    """Share of the shorter text's shingles found in the longer one."""
    lead_containment: float
    """Share of the shorter text's lead found in the longer text's lead."""
    shorter: int
    longer: int
    sentence_share: float = 1.0
    """Share of the sentences of the text with fewer found whole in the other."""
    sentences: int = 0
    """Sentences of the text with fewer (0: one of them has none)."""
    leads_differ: bool = False
    """Neither text's first sentences are in the other (both have two)."""
    titles: Titles = Titles.UNKNOWN
    opens_with: bool = False
    """The longer text's first words are the shorter one's (a dateline before them aside);
    a digest holds a story's lead further down."""
    lead_slot: bool = False
    """Their first lead sentences are one sentence with other words in its slots
    (:func:`.templates.template_slots`), or in its figures
    (:func:`.templates.number_slots`), words of one slot each names in its title."""
    missing_in_sample: int | None = None
    """Compared on the 1-in-4 sample: the shorter text's sampled shingles not in the other
    (None: compared exactly)."""
    found_in_sample: int = 0
    """Compared on the 1-in-4 sample: those of them that are in the other."""
    lead_containment_before_ending: float = 0.0
    """:attr:`lead_containment` of the shorter text without its short last block (0.0 when
    it has none: :attr:`Fingerprint.ending`)."""
    lead_word_share: float = 1.0
    """Share of the distinct words of the shorter first lead sentence found in the other's
    (1.0 when one has none)."""
    opens_alike: bool = False
    """One text's first lead sentence is a sentence of the other: the opening of one story
    (an update line on top of one aside), not a footer or a quote they share further on."""
    leads_alike: bool = False
    """The shorter text's first lead sentence is one of the longer text's first two: it
    opens where the other opens (a byline or an update line before it aside), not only
    with its first three words, which many stories of one site share ("Police in
    Dunmere …")."""
    ends_alike: bool = False
    """Their last sentences are one sentence (looked for only where it could decide:
    :func:`_may_open_as_its_story`)."""
    interleaved: bool = False
    """One text has a paragraph put in between two sentences of the other
    (:func:`_interleaved`).  Looked for only where it could decide
    (:func:`_may_be_interleaved_update`)."""


@dataclass(frozen=True)
class Comparable:
    """What the rules look at in one item."""

    feed_id: int
    canonical_link: str | None
    fingerprint: Fingerprint | None
    kept_whole: bool = False
    """Its feed is configured ``dedup: false``: it joins no other item."""


@dataclass(frozen=True)
class Verdict:
    """The edge two items earn (``method`` None: none), its score, and why, in words."""

    method: Method | None
    score: float
    reason: str
    match: Match | None = None


def compare(a: Fingerprint, b: Fingerprint, params: DedupParams | None = None) -> Match:
    """Similarity of two fingerprints: exact when both keep all their shingles, else on
    the 1-in-4 sample both share; lead containment is always exact.

    With the engine's ``params``, the template slots (:attr:`Match.lead_slot`, an
    alignment of the first sentences) are looked for only when the pair could earn an
    edge without them: they can only refuse one.  ``judge`` looks for them always, so
    that ``explain`` names a template pair as such at any similarity."""
    short, long_ = (a, b) if _shorter_first(a, b) else (b, a)
    if a.sampled or b.sampled:
        xs, ys = short.comparable_sample(), long_.comparable_sample()
    else:
        xs, ys = short.sample, long_.sample
    common = overlap(xs, ys)
    union = xs.size + ys.size - common
    containment = common / xs.size if xs.size else 0.0
    lead_common = overlap(short.lead, long_.lead)
    before_ending = 0.0
    if short.ending.size:
        body = np.setdiff1d(short.lead, short.ending, assume_unique=True)
        if body.size >= ENDING_BODY_SHINGLES and short.ending.size <= body.size:
            before_ending = overlap(body, long_.lead) / body.size
    fewer = min(a.sentences.size, b.sentences.size)
    titles = compare_titles(a.title, b.title)
    shared_sentences = overlap(a.sentences, b.sentences)
    sentence_share = shared_sentences / fewer if fewer else 1.0
    match = Match(
        jaccard=common / union if union else 0.0,
        containment=containment,
        lead_containment=lead_common / short.lead.size if short.lead.size else 0.0,
        shorter=short.size,
        longer=long_.size,
        sentence_share=sentence_share,
        sentences=fewer,
        leads_differ=_leads_differ(a, b),
        titles=titles,
        opens_with=short.opening.size > 0
        and bool((long_.opening[:OPENING_HEAD] == short.opening[0]).any()),
        lead_word_share=_word_share(a.lead_words, b.lead_words),
        opens_alike=_any_in(a.lead_sentences[:1], b.sentences)
        or _any_in(b.lead_sentences[:1], a.sentences),
        leads_alike=bool(short.lead_sentences.size)
        and bool((long_.lead_sentences == short.lead_sentences[0]).any()),
        lead_containment_before_ending=before_ending,
        missing_in_sample=xs.size - common if a.sampled or b.sampled else None,
        found_in_sample=common if a.sampled or b.sampled else 0,
    )
    if _may_open_as_its_story(match):
        match = replace(match, ends_alike=_ends_alike(a, b))
    if _may_be_interleaved_update(match):
        match = replace(match, interleaved=_interleaved(a, b))
    if params is not None and not (similar(match, params) or is_lead(match, params.containment)):
        return match
    # Only titles that are not one story's can mark template stories (slot_sign).
    lead_slot = (
        titles in (Titles.SLOTS, Titles.UNRELATED)
        and a.lead_sentences.size > 0
        and b.lead_sentences.size > 0
        and a.lead_sentences[0] != b.lead_sentences[0]
        and (
            template_slots(a, b, shared_sentences, fewer, containment)
            or number_slots(a, b, shared_sentences, fewer, containment)
        )
    )
    return replace(match, lead_slot=lead_slot) if lead_slot else match


def _may_open_as_its_story(m: Match) -> bool:
    """Whether only :attr:`Match.ends_alike` could refuse an update that opens as its
    story did the lower Jaccard it needs."""
    return m.lead_containment >= HALF_LEAD and UPDATE_OPENING_JACCARD <= m.jaccard < UPDATE_JACCARD


def _ends_alike(a: Fingerprint, b: Fingerprint) -> bool:
    if not a.sentence_order or not b.sentence_order:
        return False
    return bool(a.sentences[a.sentence_order[-1]] == b.sentences[b.sentence_order[-1]])


def _interleaved(a: Fingerprint, b: Fingerprint) -> bool:
    """Whether one text has more than ``INSERTED_SENTENCES`` sentences of its own between
    two sentences that stand next to each other, or one sentence apart, in the other: a
    paragraph put in between two old ones.  The sentence before them must follow another
    shared one, so that it ends a paragraph both have, not one line shared amid text of
    their own (a newsletter box).  A slot both fill with words of their own (a writer's
    line inside a footer two letters share) is no paragraph put in, nor is a footer both
    end with."""
    return _inserted_between(a, b) or _inserted_between(b, a)


def _in_order(fp: Fingerprint) -> U32:
    """The text's sentence hashes in text order (repeats included)."""
    ordered: U32 = fp.sentences[np.frombuffer(fp.sentence_order, dtype=np.uint8)]
    return ordered


def _inserted_between(fp: Fingerprint, other: Fingerprint) -> bool:
    if other.sentences.size == 0 or not fp.sentence_order or not other.sentence_order:
        return False
    ordered = _in_order(fp)
    at = np.searchsorted(other.sentences, ordered)
    shared = other.sentences[np.minimum(at, other.sentences.size - 1)] == ordered
    positions = np.flatnonzero(shared)
    gaps = np.flatnonzero(np.diff(positions) > INSERTED_SENTENCES + 1)
    if gaps.size == 0:
        return False
    gaps = gaps[(gaps > 0) & (positions[gaps] - 1 == positions[np.maximum(gaps - 1, 0)])]
    theirs = _in_order(other).tolist()
    adjacent = {
        (theirs[i], theirs[j])
        for i in range(len(theirs))
        for j in range(i + 1, min(i + INSERTED_SENTENCES + 2, len(theirs)))
    }
    return any(
        (int(ordered[positions[g]]), int(ordered[positions[g + 1]])) in adjacent for g in gaps
    )


def _shorter_first(a: Fingerprint, b: Fingerprint) -> bool:
    """Whether ``a`` is the shorter text, ties broken by the texts themselves: compared on
    the sample, containment is counted on the shorter one's, so a tie broken by argument
    order would make the verdict depend on which item was stored first."""
    if a.size != b.size:
        return a.size < b.size
    return (a.sample.size, a.sample.tobytes()) <= (b.sample.size, b.sample.tobytes())


def _word_share(a: U32, b: U32) -> float:
    first, second = np.unique(a), np.unique(b)
    fewer = min(first.size, second.size)
    return overlap(first, second) / fewer if fewer else 1.0


def compare_titles(a: U32, b: U32) -> Titles:
    """How two titles' story-word hashes compare."""
    if a.size == 0 or b.size == 0:
        return Titles.UNKNOWN
    common = overlap(a, b)
    fewer = min(a.size, b.size)
    if common == a.size == b.size or (common == fewer and fewer >= 3):
        return Titles.SAME
    if common >= TITLE_SLOTS_SHARE * fewer and common > 0:
        return Titles.SLOTS
    return Titles.UNRELATED


def _leads_differ(a: Fingerprint, b: Fingerprint) -> bool:
    if a.lead_sentences.size < LEAD_SENTENCES or b.lead_sentences.size < LEAD_SENTENCES:
        return False
    return not (_any_in(a.lead_sentences, b.sentences) or _any_in(b.lead_sentences, a.sentences))


def _any_in(values: U32, sorted_distinct: U32) -> bool:
    """Whether any of a few ``values`` is in a sorted array (a binary search each:
    ``np.isin`` costs ten times as much on arrays this small, and this runs for every
    verified pair)."""
    if values.size == 0 or sorted_distinct.size == 0:
        return False
    at = np.searchsorted(sorted_distinct, values)
    found = sorted_distinct[np.minimum(at, sorted_distinct.size - 1)] == values
    return bool(found.any())


def is_template(m: Match) -> bool:
    """Whether two similar texts are two stories written on one template: they share
    their phrasing (shingles) far more than their sentences, because names and numbers
    differ in most sentences; or the story is in their opening sentences (fund A, not
    fund B, bought shares of the company the rest describes), which an update that
    rewrote its opening shows under its own title; or some sentences differ and the
    titles fill one pattern's slots otherwise.  A copy repeats whole sentences, its
    opening ones among them: what it lacks or adds (a paragraph, a footer, an update
    line, a dateline, a byline) takes its shingles and its sentences alike."""
    return template_sign(m) is not None


def slot_sign(m: Match) -> str | None:
    """What marks two texts as template stories at any length and similarity: their
    first sentences are one frame with other names in its slots
    (:func:`.templates.template_slots`), each names one slot's words in its title, and
    their titles are not one story's (a glued word leaves a sentence's hash alone, so
    markup noise makes no slot)."""
    if m.lead_slot and m.titles in (Titles.SLOTS, Titles.UNRELATED):
        return (
            "their first sentences differ only in the words of a template's slots, and so "
            "do their titles"
        )
    return None


def template_sign(m: Match) -> str | None:
    """What marks two similar texts as template stories, in words (None: nothing)."""
    slot = slot_sign(m)
    if slot is not None:
        return slot
    if m.sentences < TEMPLATE_MIN_SENTENCES:
        return None
    gap = m.containment - m.sentence_share
    if gap >= TEMPLATE_GAP:
        return f"few whole sentences ({m.sentence_share:.0%} of {m.sentences})"
    if (
        m.leads_differ
        and m.titles is not Titles.SAME
        and (m.lead_word_share >= LEAD_FRAME_SHARE or m.sentence_share < UPDATE_SENTENCE_SHARE)
    ):
        return (
            "neither opens with a sentence of the other, under titles that are not one "
            f"story's (their first sentences share {m.lead_word_share:.0%} of their words, "
            f"the texts {m.sentence_share:.0%} of their sentences)"
        )
    if m.titles is Titles.SLOTS and gap >= TITLE_SLOTS_GAP:
        return (
            f"{1 - m.sentence_share:.0%} of their sentences differ, and so do their titles, "
            "in the words that fill one pattern"
        )
    return None


def grown_update(m: Match) -> bool:
    """Whether two full texts under the Jaccard threshold are one story updated: a story
    republished with an update line, a paragraph rewritten and one added keeps most of
    the older text, shingles and whole sentences alike, and its opening sentence
    (:attr:`Match.opens_alike`).  A follow-up keeps only the background paragraphs it
    quotes, a longer story around them (a low Jaccard); two short stories that share a
    long footer share most of their sentences but not their openings.  A title is no
    substitute for the opening: short items under a recurring title ("Letters to the
    editor") over a footer not learned yet look like an update that rewrote its opening.
    Template stories are refused first (:func:`is_template`)."""
    if not _keeps_its_story(m):
        return False
    return m.opens_alike or _retitled_opening(m) or _interleaved_update(m)


def _keeps_its_story(m: Match) -> bool:
    """Whether the longer text keeps most of the shorter one, shingles and whole
    sentences alike, without having grown past it (:func:`grown_update`): an update that
    opens as its story did may have grown further (:func:`_update_jaccard`)."""
    return (
        m.sentences >= TEMPLATE_MIN_SENTENCES
        and m.jaccard >= _update_jaccard(m)
        and m.containment >= UPDATE_CONTAINMENT
        and m.sentence_share >= UPDATE_SHARE
    )


def _update_jaccard(m: Match) -> float:
    """The Jaccard an update that grew its story needs: ``UPDATE_OPENING_JACCARD`` when it
    opens as its story did (:func:`_opens_as_its_story`), else ``UPDATE_JACCARD``."""
    return UPDATE_OPENING_JACCARD if _opens_as_its_story(m) else UPDATE_JACCARD


def _opens_as_its_story(m: Match) -> bool:
    """Whether ``HALF_LEAD`` of the shorter text's lead is in the other's and the two texts
    do not end with the same sentence (:attr:`Match.ends_alike`): an update that grew
    after its own opening ends with what it added, while two items of a series share a
    fixed introduction and a footer not learned yet, each its own text between."""
    return m.lead_containment >= HALF_LEAD and not m.ends_alike


def _may_be_interleaved_update(m: Match) -> bool:
    """Whether :attr:`Match.interleaved` could decide that two texts are one story updated:
    nothing else found them so (the order is looked at for these pairs only)."""
    return (
        m.titles is Titles.SAME
        and not m.opens_alike
        and m.shorter >= UPDATE_MIN_SHINGLES
        and m.lead_containment < UPDATE_LEAD
        and _keeps_its_story(m)
    )


def _interleaved_update(m: Match) -> bool:
    """Whether an update that rewrote its whole opening paragraph (a long one: none of the
    old text is left in its first ``LEAD_VERIFY`` shingles) keeps the story under one
    title with a paragraph put between two old ones (:attr:`Match.interleaved`).  Two
    letters under a recurring title share a footer, one run at the end of both."""
    return m.interleaved and _may_be_interleaved_update(m)


def _retitled_opening(m: Match) -> bool:
    """Whether an update that grew its story keeps the story's first paragraphs under one
    title, though neither first sentence is in the other (a byline on one, an update line
    on the other, or a rewritten first paragraph): the shorter text is longer than its
    lead (``UPDATE_MIN_SHINGLES``) and ``UPDATE_LEAD`` of its lead is in the other's lead.
    Two items under a recurring title share a footer or closing paragraphs, not their
    first ones: a letter's footer may reach into its own lead, never into the lead of a
    longer letter."""
    return (
        m.titles is Titles.SAME
        and m.shorter >= UPDATE_MIN_SHINGLES
        and m.lead_containment >= UPDATE_LEAD
    )


def similar(m: Match, params: DedupParams) -> bool:
    """Whether two full texts are similar enough to be one story unless they are
    template stories: the Jaccard threshold, or an update that grew its story."""
    return m.jaccard >= params.threshold or grown_update(m)


def is_copy(m: Match, params: DedupParams) -> bool:
    """Whether two full texts are one story (a ``minhash`` edge).  Two teasers, the
    shorter one the other's first words, are no copies but a lead and the text it leads
    (:func:`teaser_of_teaser`)."""
    return similar(m, params) and not is_template(m) and not teaser_of_teaser(m)


def teaser_of_teaser(m: Match) -> bool:
    """Whether both texts are as short as a lead and the shorter one, long enough to lead
    (ten words), is found whole in the longer one, which is longer by a fifth at least:
    two teasers cut after another number of words.  Stories written on one frame open
    with the same words, so the longer may go on into another story's slot ("… dismissed
    a dispute between two ferry operators" and "… dismissed a challenge to the district
    boundaries", both cut after "dismissed a"); as a lead the shorter one hangs from one
    parent, the text under its own title first (:func:`lead_parent_rank`), instead of
    joining both stories."""
    return (
        MIN_CONTAINED_SHINGLES <= m.shorter <= MAX_LEAD_RATIO * m.longer
        and m.longer <= LEAD_VERIFY
        and found_whole(m)
    )


def is_lead_edge(m: Match, params: DedupParams) -> bool:
    """Whether two texts earn a ``containment`` edge: the shorter leads the longer, and
    they are not template stories (which :func:`judge` rules out first, at any length)."""
    if slot_sign(m) is not None or (similar(m, params) and is_template(m)):
        return False
    return is_lead(m, params.containment)


def found_whole(m: Match) -> bool:
    """Whether the shorter text is found whole in the longer one: ``WHOLE`` of its
    shingles, or, compared on the 1-in-4 sample, all of its sampled ones but
    ``SAMPLE_SLACK`` (a partial copy that dropped a paragraph lacks the shingles across the
    gap, and a few samples weigh a tenth each), ``MIN_FOUND_IN_SAMPLE`` of them found at
    least."""
    if m.missing_in_sample is None:
        return m.containment >= WHOLE
    # On the sample, a teaser holds two or three shingles: all found, or one missing, says
    # nothing of the rest of it.
    return m.found_in_sample >= MIN_FOUND_IN_SAMPLE and (
        m.containment >= WHOLE or m.missing_in_sample <= SAMPLE_SLACK
    )


def is_lead(m: Match, threshold: float) -> bool:
    """Whether the shorter text is the beginning of the longer one (a summary of it)."""
    if m.shorter < MIN_CONTAINED_SHINGLES or m.shorter > MAX_LEAD_RATIO * m.longer:
        return False
    if m.lead_containment < threshold:
        # Found whole in the other text, from its start on, though past the other's
        # first 96 shingles (a byline and a caption before the story in one copy): a
        # partial copy still.  A quoted passage is not found from the start.  Or all of
        # it but a closing line of its own leads the other: a partial copy that says
        # where to read the rest.
        return (
            (found_whole(m) and (m.lead_containment >= HALF_LEAD or _opens_as(m)))
            or m.lead_containment_before_ending >= threshold
            or partial_copy(m, threshold)
            or teaser_but_a_word(m)
        )
    # A text longer than the lead must also be found, as a whole, in the other one.
    return m.shorter <= LEAD_VERIFY or m.containment >= threshold


def _opens_as(m: Match) -> bool:
    """Whether the shorter text opens as the longer one does: with its first words and
    with one of its first two sentences (:attr:`Match.leads_alike`)."""
    return m.opens_with and m.leads_alike


def teaser_but_a_word(m: Match) -> bool:
    """Whether a teaser opens as the longer text does (:func:`_opens_as`) and is found in
    its lead but for one word's shingles (``SHINGLE``), ``MIN_CONTAINED_SHINGLES`` found:
    a heading the longer text's feed has learned as a recurring line ("Background"), or a
    word markup split, that the teaser runs through.  Ten words in a row found, from the
    same first sentence, are what any teaser needs."""
    if m.shorter > LEAD_VERIFY or not _opens_as(m):
        return False
    found = round(m.lead_containment * m.shorter)
    return found >= MIN_CONTAINED_SHINGLES and m.shorter - found <= SHINGLE


def partial_copy(m: Match, threshold: float) -> bool:
    """Whether the shorter text is a partial copy of the longer one: it opens as the
    longer one does (its first words and sentence, :func:`_opens_as`) and all of it but
    ``PARTIAL_SLACK`` shingles is in the longer one — the first paragraphs of a story, one
    of them dropped, and a closing line that says where to read the rest, a line unlike
    any other and so never learned.  Dropping a paragraph pushes the rest of what it kept
    out of the story's lead, so the lead alone does not find it.  A follow-up that quotes
    a story opens with its own news."""
    if not _opens_as(m) or m.containment < threshold:
        return False
    if m.missing_in_sample is None:
        missing = m.shorter - round(m.containment * m.shorter)
        return missing <= PARTIAL_SLACK
    return (
        m.found_in_sample >= MIN_FOUND_IN_SAMPLE
        and m.missing_in_sample * (SAMPLE_MASK + 1) <= PARTIAL_SLACK
    )


def identifying_link(canonical_link: str | None) -> str | None:
    """The canonical link when it identifies an article: it has a path or, once its
    tracking parameters are gone, a query (``https://site/?p=1234``); a homepage link is
    shared by every item of a site and identifies nothing."""
    if not canonical_link:
        return None
    parts = urlsplit(canonical_link)
    return canonical_link if parts.path not in ("", "/") or parts.query else None


def same_link(a: Comparable, b: Comparable) -> bool:
    """A ``url`` edge: one identifying link, carried by two different feeds."""
    link = identifying_link(a.canonical_link)
    return (
        link is not None and link == identifying_link(b.canonical_link) and a.feed_id != b.feed_id
    )


def text_key(fp: Fingerprint | None) -> str | None:
    """The exact-text key of a ``content-hash`` edge (None: too little text for one)."""
    return fp.content_key if fp is not None and fp.content_key else None


def judge(a: Comparable, b: Comparable, params: DedupParams) -> Verdict:
    """The edge the rules give two items on their own, strongest first.

    A ``containment`` verdict says the shorter item *may* hang from the longer one: the
    engine keeps only each shorter item's best such edge (:func:`lead_parent_rank`).
    """
    if a.kept_whole or b.kept_whole:
        return Verdict(
            None,
            0.0,
            "kept whole: a feed configured with dedup: false; its items join no other item",
        )
    if same_link(a, b):
        return Verdict(
            Method.URL,
            1.0,
            "url: the same link once tracking parameters are removed, in two different feeds",
        )
    key_a, key_b = text_key(a.fingerprint), text_key(b.fingerprint)
    if key_a is not None and key_a == key_b:
        return Verdict(
            Method.CONTENT_HASH, 1.0, "content-hash: identical text after boilerplate removal"
        )
    fa, fb = a.fingerprint, b.fingerprint
    if fa is None or fb is None or fa.size == 0 or fb.size == 0:
        return Verdict(
            None,
            0.0,
            "too little text to compare: only the same link or the same text could join them",
        )
    m = compare(fa, fb)
    sign = template_sign(m) if similar(m, params) else slot_sign(m)
    if sign is not None:
        return Verdict(
            None,
            0.0,
            f"template: two stories written on one template — they share their phrasing "
            f"(Jaccard {m.jaccard:.3f}, {m.containment:.0%} of the shingles) but {sign}"
            ": the names and numbers that differ are the story",
            m,
        )
    if is_copy(m, params):
        return Verdict(Method.MINHASH, m.jaccard, _copy_reason(m, params), m)
    if is_lead(m, params.containment):
        return Verdict(Method.CONTAINMENT, lead_score(m), _lead_reason(m, params), m)
    return Verdict(
        None,
        0.0,
        f"different stories: Jaccard {m.jaccard:.3f} < "
        f"{params.threshold} and not a lead (containment {m.containment:.3f}, "
        f"lead {m.lead_containment:.3f})",
        m,
    )


def _copy_reason(m: Match, params: DedupParams) -> str:
    """Why two full texts earn a ``minhash`` edge, in words."""
    if m.jaccard < params.threshold:
        return (
            f"minhash: Jaccard {m.jaccard:.3f} < threshold {params.threshold}, but an update "
            f"that grew its story: {m.containment:.0%} of the shorter text's shingles and "
            f"{m.sentence_share:.0%} of its sentences are in the other (≥ "
            f"{UPDATE_CONTAINMENT:.0%}, {UPDATE_SHARE:.0%}; Jaccard ≥ {_update_jaccard(m)}), "
            f"{_update_opening_reason(m)}"
        )
    update = ""
    if m.leads_differ and m.sentences >= TEMPLATE_MIN_SENTENCES:
        update = "; an update: its opening rewritten " + (
            "under the same title"
            if m.titles is Titles.SAME
            else f"(its first sentences share {m.lead_word_share:.0%} of their words, "
            f"the texts {m.sentence_share:.0%} of their sentences)"
        )
    return f"minhash: Jaccard {m.jaccard:.3f} ≥ threshold {params.threshold}{update}"


def _update_opening_reason(m: Match) -> str:
    """How an update below the threshold shows it is its story's (:func:`grown_update`)."""
    if m.opens_alike:
        return "and one opens with a sentence of the other"
    if _retitled_opening(m):
        return (
            f"and, under one title, {m.lead_containment:.0%} of the shorter text's first "
            f"{LEAD_VERIFY} shingles are in the other's (≥ {UPDATE_LEAD:.0%}): its opening "
            "rewritten"
        )
    return (
        "and, under one title, new sentences stand between the ones they share "
        f"({INSERTED_SENTENCES + 1} or more together): its opening rewritten and "
        "paragraphs put in"
    )


def _lead_reason(m: Match, params: DedupParams) -> str:
    """Which way of :func:`is_lead` the shorter text leads the longer one, in words."""
    if m.lead_containment >= params.containment:
        return (
            "containment: the shorter text is the lead of the longer one "
            f"({m.containment:.3f} ≥ {params.containment})"
        )
    if found_whole(m) and (m.lead_containment >= HALF_LEAD or _opens_as(m)):
        start = (
            f"lead {m.lead_containment:.3f} ≥ {HALF_LEAD}"
            if m.lead_containment >= HALF_LEAD
            else "it opens with the other's first words and first sentence"
        )
        sampled = (
            f", {m.missing_in_sample} sampled shingle missing"
            if m.missing_in_sample and m.containment < WHOLE
            else ""
        )
        return (
            "containment: the shorter text is found whole in the longer one "
            f"({m.containment:.3f}{sampled}), from its start ({start})"
        )
    if teaser_but_a_word(m) and not partial_copy(m, params.containment):
        return (
            "containment: a teaser that opens with the longer one's first words and first "
            f"sentence, its lead found in the other's ({m.lead_containment:.3f}) but for one "
            f"word's {SHINGLE} shingles (a heading or a line the other's feed dropped)"
        )
    if m.lead_containment_before_ending < params.containment:
        return (
            "containment: a partial copy, opening with the longer one's first words and "
            f"first sentence and found in it ({m.containment:.3f} ≥ {params.containment}) "
            f"but for at most {PARTIAL_SLACK} shingles (a dropped paragraph's seam, a "
            "closing line of its own)"
        )
    return (
        "containment: the shorter text, but for its closing line, is the lead of the "
        f"longer one (lead {m.lead_containment_before_ending:.3f} ≥ "
        f"{params.containment} without it, {m.lead_containment:.3f} with it)"
    )


def lead_score(m: Match) -> float:
    """The score of a ``containment`` edge: the share of the shorter text found in the
    longer one — exact, from its lead, for a text no longer than its lead (a teaser's two
    or three sampled shingles say nothing of it), else its containment."""
    return m.lead_containment if m.shorter <= LEAD_VERIFY else m.containment


def evidence_rank(method: Method, score: float, other_id: int) -> tuple[int, float, int]:
    """Order of an item's edges: the greatest is the evidence its membership names."""
    return (len(AUTOMATIC) - AUTOMATIC.index(method), score, -other_id)


T = TypeVar("T", int, float)
When = TypeVar("When")


def lead_parent_rank(
    score: float, same_title: bool, opens_with: bool, published: T, item_id: int
) -> tuple[bool, bool, float, T, int]:
    """Order of the longer texts a summary leads: the greatest is the one it joins — one
    under the summary's own title, then one that opens with the summary's words, before
    one holding them further down (a digest of several stories' leads under its own
    title); then the highest containment, the earliest published, the lowest id."""
    return (same_title, opens_with, round(score, 9), -published, -item_id)


def canonical_rank(
    is_summary: bool, priority: int, published: When, item_id: int
) -> tuple[bool, int, When, int]:
    """Order of a cluster's members: the least is its canonical item."""
    return (is_summary, -priority, published, item_id)


__all__ = [
    "AUTOMATIC",
    "CANONICAL_RULE",
    "Comparable",
    "DedupParams",
    "Match",
    "Method",
    "Titles",
    "Verdict",
    "canonical_rank",
    "compare",
    "compare_titles",
    "evidence_rank",
    "found_whole",
    "grown_update",
    "identifying_link",
    "is_copy",
    "is_lead",
    "is_lead_edge",
    "is_template",
    "slot_sign",
    "template_sign",
    "judge",
    "lead_parent_rank",
    "lead_score",
    "partial_copy",
    "same_link",
    "similar",
    "teaser_of_teaser",
    "text_key",
]
