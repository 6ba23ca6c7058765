"""Template stories: two texts whose first sentences are one frame with other words in
its slots ("the forecast for <town> for <Monday>", "<Acme Fund> raised its stake in …",
"lanes closed near junction <4>"), each title naming its own slot's words, are two
stories generated from one template; the same sentence edited in a slot or two, the
rest of the story kept, is one story updated.  Pure; :mod:`aggregator.dedup.rules` asks
it when a pair could earn an edge.
"""

from __future__ import annotations

from difflib import SequenceMatcher

import numpy as np

from aggregator.fingerprint.signature import NUMBER, U32, Fingerprint, word_hash

SLOT_WORDS = 5
"""Words a template's slot holds at most (a town, a team, a fund: "caist capital
management llc")."""
REST_SHARE = 0.5
"""Share of the sentences after the first, in common, from which first sentences two or
three slots apart are an edit of one story (an update, a correction, a house style), not
two template stories."""
EDIT_CONTAINMENT = 0.8
"""With :data:`REST_SHARE`: the share of the shorter text's shingles in the other from
which first sentences two or three slots apart are an edit of one story."""
MAX_SLOTS = 3
"""Slots two template sentences differ in, at most: a town and a day, a team, its rival
and a venue."""
SLOT_TAIL = 2
"""Words after the slot that two template sentences share: a teaser cut inside its first
sentence shares none after the cut."""
SLOT_FRAME = 5
"""Words around the slot that two template sentences share, at least."""


def slot_words(a: U32, b: U32) -> list[tuple[U32, U32]] | None:
    """The words each of two word sequences has in the slots where they differ, when they
    are one sentence with other words there: up to ``MAX_SLOTS`` places where one to
    ``SLOT_WORDS`` words of each stand in for the other's ("the forecast for <Luive
    Springs> for <Monday>", "<Acme Fund> raised its stake in …"), ``SLOT_FRAME`` words in
    common at least, and ``SLOT_TAIL`` of them after the last slot; else None.  A copy
    that adds or drops words (a dateline, a truncated teaser) has no words of its own on
    one side; an update rewrites whole sentences.  The same answer either way round."""
    if a.size == 0 or b.size == 0 or abs(a.size - b.size) > MAX_SLOTS * (SLOT_WORDS - 1):
        return None
    one = _one_span(a, b)
    if one is not None:
        return [one]
    words_a, words_b = a.tolist(), b.tolist()
    # The alignment breaks ties between equally long matches by their place in its first
    # sequence: aligned in one order of the two, whichever was stored first.
    if words_b < words_a:
        slots = _aligned_slots(b, a, words_b, words_a)
        return None if slots is None else [(mine, theirs) for theirs, mine in slots]
    return _aligned_slots(a, b, words_a, words_b)


def _one_span(a: U32, b: U32) -> tuple[U32, U32] | None:
    """The one span where two word sequences differ, when it is a slot: the words between
    their common start and common end (``SLOT_TAIL`` at least of it), one to
    ``SLOT_WORDS`` on each side ("<Ashford> beat <Brampton>" and "<Brampton> beat
    <Ashford>" are one span, whatever an alignment would pair inside it)."""
    shorter = min(a.size, b.size)
    differ = np.flatnonzero(a[:shorter] != b[:shorter])
    head = int(differ[0]) if differ.size else shorter
    back = np.flatnonzero(a[::-1][:shorter] != b[::-1][:shorter])
    tail = min(int(back[0]) if back.size else shorter, shorter - head)
    slot_a, slot_b = a.size - head - tail, b.size - head - tail
    if (
        1 <= slot_a <= SLOT_WORDS
        and 1 <= slot_b <= SLOT_WORDS
        and tail >= SLOT_TAIL
        and head + tail >= SLOT_FRAME
    ):
        return a[head : a.size - tail], b[head : b.size - tail]
    return None


def _aligned_slots(
    a: U32, b: U32, words_a: list[int], words_b: list[int]
) -> list[tuple[U32, U32]] | None:
    # What no alignment can change, checked first (most pairs compared are two stories'
    # first sentences): a word of one that the other lacks stands in a slot, and the frame
    # is made of words both have.
    known = set(words_b)
    shared = sum(1 for word in words_a if word in known)
    if a.size - shared > MAX_SLOTS * SLOT_WORDS or shared < SLOT_FRAME:
        return None
    slots: list[tuple[U32, U32]] = []
    frame = 0
    opcodes = SequenceMatcher(None, words_a, words_b, autojunk=False).get_opcodes()
    for tag, a_start, a_end, b_start, b_end in opcodes:
        if tag == "equal":
            frame += a_end - a_start
        elif (
            tag == "replace"
            and 1 <= a_end - a_start <= SLOT_WORDS
            and 1 <= b_end - b_start <= SLOT_WORDS
        ):
            slots.append((a[a_start:a_end], b[b_start:b_end]))
        else:
            return None
    tag, a_start, a_end, _, _ = opcodes[-1]
    if (
        not 1 <= len(slots) <= MAX_SLOTS
        or tag != "equal"
        or a_end - a_start < SLOT_TAIL
        or frame < SLOT_FRAME
    ):
        return None
    return slots


def is_edit(shared: int, fewer: int, containment: float) -> bool:
    """Whether two texts whose first sentences differ keep the rest of one story: they
    (``shared`` sentences of the ``fewer`` one has) share ``REST_SHARE`` of the sentences
    after the first and ``EDIT_CONTAINMENT`` of the shorter one's shingles — an update, a
    correction, a copy in house style, or its first paragraphs."""
    return fewer > 1 and shared >= REST_SHARE * (fewer - 1) and containment >= EDIT_CONTAINMENT


def number_slots(
    a: Fingerprint, b: Fingerprint, shared: int, fewer: int, containment: float
) -> bool:
    """Whether two texts' first sentences are one sentence but for its figures, each title
    names one of its own, and the texts are not an edit of one story (:func:`is_edit`):
    alerts of a template whose slots are numbers ("lanes closed near junction <4>", "near
    junction <19>"), where an update of a toll ("12 killed", then "15") keeps its story.
    Texts of one sentence are left alone: a short alert updated is that alert."""
    if (
        fewer < 2
        or a.lead_words.size == 0
        or not _one_frame(a.lead_words, b.lead_words)
        or np.array_equal(a.lead_numbers, b.lead_numbers)
        or is_edit(shared, fewer, containment)
    ):
        return False
    # One frame, so the figures stand in the same places: those that differ are the slots.
    differ = a.lead_numbers != b.lead_numbers
    return _named_slots(a, b, [(a.lead_numbers[differ], b.lead_numbers[differ])]) > 0


MERIDIEMS = np.array(sorted({word_hash(w) for w in ("a", "p", "am", "pm")}), dtype=np.uint32)
"""The words after a time's figures ("2:45 p.m.", "9 am"): part of the figure it follows."""


def _one_frame(a: U32, b: U32) -> bool:
    """Whether two first sentences' words (numbers as ``NUMBER``) are the same but for
    the a.m. or p.m. after a figure: an alert at "2:45 p.m." and one at "2:16 a.m." fill
    one frame with other figures."""
    if a.size != b.size:
        return False
    differ = np.flatnonzero(a != b)
    if differ.size == 0:
        return True
    return bool(
        differ[0] > 0
        and np.isin(a[differ], MERIDIEMS).all()
        and np.isin(b[differ], MERIDIEMS).all()
        and (a[differ - 1] == NUMBER).all()
        and (b[differ - 1] == NUMBER).all()
    )


def template_slots(
    a: Fingerprint, b: Fingerprint, shared: int, fewer: int, containment: float
) -> bool:
    """Whether two texts' first sentences are one frame with other words in its slots, and
    each names one slot's words in its own title: a template's slot holds the story's
    subject (the town, the fund), which its title names too; an edit to a copy's first
    sentence ("said" for "says", another day) is not what a title is about.  Two slots or
    three of which the titles name one only are an edit of one story, not a template,
    when the texts keep the rest of it (:func:`is_edit`): an update or a correction edits
    its first sentence in two places ("arrested … on Monday", "charged … on Tuesday"),
    its title naming the one that matters; a template's titles name its slots ("<Ashford>
    beat <Brampton> at <Dunmore>"), and its texts change names and numbers throughout,
    keep a stock line or two, or are one sentence once their shared paragraph is learned
    as boilerplate."""
    # Cheap first: each title names a word of its own first sentence at all.
    if _named_slots(a, b, [(a.lead_words, b.lead_words)]) == 0:
        return False
    slots = slot_words(a.lead_words, b.lead_words)
    if slots is None:
        return False
    named = _named_slots(a, b, slots)
    # An edit's title names one edited word at most ("arrested" / "charged"); a template's
    # names its slots ("<Ashford> beat <Brampton> at <Dunmore>").
    if len(slots) > 1 and named < 2 and is_edit(shared, fewer, containment):
        return False
    return named > 0


def _named_slots(a: Fingerprint, b: Fingerprint, slots: list[tuple[U32, U32]]) -> int:
    """How many of the ``slots`` (``a``'s words, ``b``'s words) each text's title names a
    word of.  Sets, not numpy's isin: these arrays hold a few words, and this runs for
    most pairs verified."""
    title_a, title_b = set(a.title.tolist()), set(b.title.tolist())
    return sum(
        not title_a.isdisjoint(mine.tolist()) and not title_b.isdisjoint(theirs.tolist())
        for mine, theirs in slots
    )
