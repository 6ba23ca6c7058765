"""Learned boilerplate: blocks that recur across *different* items of a feed or network.

A story's paragraphs recur across the copies of that story, which sit in different
feeds; a footer or sponsor line recurs across the different stories of one feed.
So evidence is counted per feed (how many distinct items of this feed carried the
block), and a block is learned as boilerplate when

* one feed carried it in at least ``LEARN_AT`` items, or
* at least two feeds carried it in at least ``NETWORK_LEARN_AT`` items each
  (a network footer seen twice in each of its small feeds).

A running story breaks the first rule: a site's follow-ups and updates repeat a paragraph
of its first report as background, so one feed carries that paragraph in three different
stories.  What tells it from a footer is where it sits: it opened the first report (its
lead), and sits inside the follow-ups.  A footer, a "Read more" line or a newsletter box is
never an item's lead; a standfirst or a sponsor line opens every item it is in.  So each
counted item also counts its lead (:func:`lead_key`), and a block that is some item's lead
but sits inside more items of a feed than it opens needs twice the evidence
(:func:`_learns`): more than a running story gives, while a footer of every item gets it
within days.

A story's update is no independent evidence either: the second and third items of a feed
under one title (:func:`title_key`) repeat its story on a third of their text
(:func:`repeats`); from the fourth, the title is a recurring one ("Letters to the
editor") and its items count as any others.

Learned blocks apply to every feed: networks share their footers.  The model is
plain data: ingest persists the counts it returns and reloads them at start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence, Set
from dataclasses import dataclass

from aggregator.clean.blockcounts import BlockCounts
from aggregator.clean.text import (
    fold_characters,
    generic_boilerplate,
    has_words,
    single_spaced_lines,
    strip_truncation,
)
from aggregator.clean.titles import story_words

LEARN_AT = 3
NETWORK_LEARN_AT = 2
FORGETS_BELOW = NETWORK_LEARN_AT
"""Evidence counting fewer items than this is forgotten when old: it learns nothing yet."""
MAX_LEARNED_WORDS = 80
"""Longer blocks are story text, never counted (keeps the evidence table small)."""


def _key_number(key: str) -> int:
    # 60 bits of the hex key: the counts are kept by number, not by string.
    return int(key[:15], 16)


def block_key(folded_block: str) -> str:
    return hashlib.sha1(folded_block.encode("utf-8")).hexdigest()[:20]


LEAD_MARK = ":lead"
"""Ends the key under which a block's count as an item's lead is kept: the evidence table
holds it as any other row, and it is never learned itself (not hexadecimal, so no block's
key ends so)."""


def lead_key(key: str) -> str:
    """The key that counts the items a block (by its key) opened: a hash of its own, so that
    its counts are kept apart from the block's."""
    return hashlib.sha1(f"lead {key}".encode()).hexdigest()[:20] + LEAD_MARK


TITLE_MARK = ":title"
"""Ends the key under which the items of a feed that carried a title are counted (as a
lead count is kept: a row of the evidence table that is never learned)."""
TITLE_KEY_WORDS = 3
"""A title's story words must be this many to key it: "Morning Briefing" recurs every day
over different stories."""


def title_key(title: str | None) -> str | None:
    """The key that counts the items of a feed under one title (its story words, so that
    "UPDATED: …", "… (updated)" and a site suffix key as the title alone); ``None`` for a
    title of fewer than ``TITLE_KEY_WORDS`` such words."""
    named = story_words(title)
    if len(named) < TITLE_KEY_WORDS:
        return None
    joined = " ".join(sorted(named))
    return hashlib.sha1(f"title {joined}".encode()).hexdigest()[:20] + TITLE_MARK


def _is_mark_key(key: str) -> bool:
    """Whether a key counts a lead or a title, not a block: never learned."""
    return key.endswith((LEAD_MARK, TITLE_MARK))


def _is_lead_key(key: str) -> bool:
    return key.endswith(LEAD_MARK)


def _is_title_key(key: str) -> bool:
    return key.endswith(TITLE_MARK)


@dataclass(frozen=True)
class LearnedBlock:
    key: str
    sample: str
    feeds: int
    items: int


@dataclass(frozen=True)
class FilteredText:
    kept: tuple[str, ...]
    """Folded blocks that carry the story."""
    removed: tuple[str, ...]
    """Folded blocks dropped as boilerplate (for ``clusters explain``)."""


def fold_text(text: str) -> tuple[str, ...]:
    """An item's text as folded blocks, truncation markers off, empty ones dropped: what
    both learning and filtering look at (computed once per item)."""
    out = []
    text = fold_characters(text)
    collapse = not single_spaced_lines(text)
    for line in text.split("\n"):
        folded = strip_truncation(" ".join(line.split()) if collapse else line)
        if folded:
            out.append(folded)
    return tuple(out)


Evidence = tuple[tuple[str, str], ...]
"""What one item tells the model: ``(block_key, folded block)`` of its distinct short blocks."""


def evidence(blocks: tuple[str, ...], title: str | None = None) -> Evidence:
    """The blocks of one item (its :func:`fold_text`) that count as evidence: short ones,
    each once, the item's lead (:func:`lead_block`) once more under its :func:`lead_key`,
    and its title under its :func:`title_key`, both with no text.  Pure."""
    pairs: dict[str, str] = {}
    for folded in blocks:
        # Folded blocks have single spaces: counting them counts the words without
        # building a list per block.
        if folded.count(" ") < MAX_LEARNED_WORDS:
            pairs.setdefault(block_key(folded), folded)
    lead = lead_block(blocks)
    if lead is not None and lead.count(" ") < MAX_LEARNED_WORDS:
        pairs[lead_key(block_key(lead))] = ""
    titled = title_key(title)
    if titled is not None:
        pairs[titled] = ""
    return tuple(pairs.items())


def lead_block(blocks: tuple[str, ...]) -> str | None:
    """An item's lead: its first story-like block (``STORY_BLOCK_WORDS`` words or more, not
    generic boilerplate) when another one follows it.  An item that is one such block and
    lines (a teaser, or a footer under an empty description) shows no block opening a
    story."""
    found = None
    for folded in blocks:
        if folded.count(" ") + 1 >= STORY_BLOCK_WORDS and not generic_boilerplate(folded):
            if found is not None:
                return found
            found = folded
    return None


REPEAT_WORDS = 40
REPEAT_SHARE = 0.75
OPENING_REPEAT_SHARE = 0.5
"""Share of its story-like text an item that opens with a block its feed has counted must
repeat to be the same story again: an update rewrites a paragraph and adds one (a third
of its text new), yet keeps its opening; a story on one template opens with the part
that fills its slots."""
STORY_BLOCK_WORDS = 8
LINE_WORDS = 20
"""A block of fewer words on top of an item is a line before its story ("UPDATE: Adds a
statement from the operator.", "By Jane Doe, Staff Reporter"), not its opening."""
MAX_LINES_ON_TOP = 2
RECURRING_TITLE = 3
"""Items of a feed under one title from which it is a recurring title ("Letters to the
editor", "Morning briefing"), not a story's: a report and two updates of it are three."""
SAME_TITLE_REPEAT_SHARE = 1 / 3
"""Share of its story-like text the second or third item of a feed under one title must
repeat to be that story again: an update may rewrite its lead and add two paragraphs
(half its text new), and still be the story its title names."""


def repeats(pairs: Evidence, seen: Set[str], learned: Set[str], retold: bool = False) -> bool:
    """Whether an item (its :func:`evidence`) repeats a story its feed carried before:
    most of its story-like text (blocks of ``STORY_BLOCK_WORDS`` words or more, neither
    learned nor generic boilerplate) is in blocks the feed has counted (``seen``) — an
    update, a republication, the same item under another id — or, when its first such
    block (after a line or two of its own on top: an update line, a byline) is one of
    them and ``REPEAT_WORDS`` more of the rest are, half of it; when its feed has carried
    its title before, though less than a recurring title (``retold``: fewer than
    ``RECURRING_TITLE`` items), a third of it (an update that rewrote its lead).  A
    footer or sponsor line is a small part of an item, so new stories that carry one are
    not repeats; from its ``RECURRING_TITLE``-th item on, a title is a recurring one
    ("Letters to the editor"), and the site lines its items repeat count again."""
    total = repeated = opening = lines_on_top = 0
    first = True
    for key, folded in pairs:
        if not _story_like(key, folded, learned):
            continue
        words = folded.count(" ") + 1
        total += words
        if key in seen:
            repeated += words
            # After a line on top, a paragraph opens the story; a standfirst or a
            # newsletter box every item carries is no opening.
            opening = words if first and (not lines_on_top or words >= LINE_WORDS) else opening
        elif first and words < LINE_WORDS and lines_on_top < MAX_LINES_ON_TOP:
            lines_on_top += 1  # an update line or a byline: the story opens after it
            continue
        first = False
    if repeated < REPEAT_WORDS:
        return False
    if retold and repeated >= SAME_TITLE_REPEAT_SHARE * total:
        return True
    # The half share needs the story beyond its opening repeated too: a standfirst every
    # item of a feed opens with is no story repeated, and its footer must still be learned.
    if opening and repeated - opening >= REPEAT_WORDS:
        return repeated >= OPENING_REPEAT_SHARE * total
    return repeated >= REPEAT_SHARE * total


def _story_like(key: str, folded: str, learned: Set[str]) -> bool:
    """Whether a block may be story text: ``STORY_BLOCK_WORDS`` words or more, neither
    learned nor generic boilerplate."""
    return (
        folded.count(" ") + 1 >= STORY_BLOCK_WORDS
        and key not in learned
        and not generic_boilerplate(folded)
    )


def _has_own_text(pairs: Evidence, seen: Set[str], learned: Set[str]) -> bool:
    """Whether an item has a story-like block its feed has not counted."""
    return any(key not in seen and _story_like(key, folded, learned) for key, folded in pairs)


def _learns(per_feed: dict[int, int], scale: int = 1) -> bool:
    """The learning rule, on a block's per-feed item counts (``scale`` times the counts
    for a lead of a running story, :func:`_quoted_lead`)."""
    return (
        any(n >= LEARN_AT * scale for n in per_feed.values())
        or sum(1 for n in per_feed.values() if n >= NETWORK_LEARN_AT * scale) >= 2
    )


LEAD_SCALE = 2
"""How many times the evidence a block needs when it is a lead quoted inside other items."""


def _quoted_lead(per_feed: dict[int, int], leads: dict[int, int]) -> bool:
    """Whether a block that some item opened with (``leads``: per feed, the items it
    opened) sits inside more of some feed's items than it opens there: the lead of a story
    its follow-ups quote.  A standfirst opens the items it is in; a footer opens none."""
    return bool(leads) and any(
        n - leads.get(feed, 0) > leads.get(feed, 0) for feed, n in per_feed.items()
    )


def filter_blocks(blocks: tuple[str, ...], learned: Set[str]) -> FilteredText:
    """Split folded blocks into story and boilerplate, given the learned block keys.  Pure:
    the model's own filter, and what the parse child runs with a copy of the keys."""
    kept: list[str] = []
    removed: list[str] = []
    for folded in blocks:
        if not has_words(folded):
            continue
        if generic_boilerplate(folded) or (learned and block_key(folded) in learned):
            removed.append(folded)
        else:
            kept.append(folded)
    return FilteredText(kept=tuple(kept), removed=tuple(removed))


class BoilerplateModel:
    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        # Evidence for every short block ever seen: tens of thousands of story sentences
        # seen once for each footer seen often, so it lives in compact arrays.
        self._counts = BlockCounts()
        self._samples: dict[str, str] = {}
        self._learned: set[str] = set()
        self._fresh: set[str] = set()

    def load(self, rows: Iterable[tuple[int, str, int, str, int]]) -> None:
        """Replace the state with persisted evidence: ``(feed_id, key, items, sample,
        day)`` (the sample is empty on rows of blocks that were not learned when written;
        the day is the last one an item counted the block)."""
        self._reset()
        samples: dict[str, str] = {}
        keys: set[str] = set()

        def counted() -> Iterator[tuple[int, int, int, int]]:
            for feed_id, key, items, sample, day in rows:
                if sample:
                    samples[key] = sample
                # Below NETWORK_LEARN_AT a block cannot be learned yet; a lead count is none.
                if items >= NETWORK_LEARN_AT and not _is_mark_key(key):
                    keys.add(key)
                yield _key_number(key), feed_id, items, day

        self._counts.load(counted())
        ordered = sorted(keys)
        for key, per_feed in zip(ordered, self._per_feed(ordered), strict=True):
            self._update(key, per_feed, samples.get(key, ""))
        # Learned before this load, and taken into the stored fingerprints then; the ones
        # a crash left unapplied are stored apart (:meth:`mark_fresh`).
        self._fresh.clear()

    def observe(self, feed_id: int, items: Iterable[Evidence]) -> dict[str, tuple[int, str]]:
        """Count the short blocks of new items of one feed (each item as its
        :func:`evidence`); return the increments to persist, ``key → (items, sample)``,
        with the block's text as sample only when it is (or becomes) learned.
        An item that repeats a story this feed has carried (:func:`repeats`) counts for
        nothing: copies of one story are not independent evidence that its paragraphs recur.
        The model itself does not change until :meth:`apply` is given the increments,
        once they are stored: a transaction that fails must not count twice."""
        batch = list(items)
        keys = list({key for pairs in batch for key, _ in pairs})
        before = {
            key: per_feed.get(feed_id, 0)
            for key, per_feed in zip(keys, self._per_feed(keys), strict=True)
        }
        increments: dict[str, tuple[int, str]] = {}
        for pairs in batch:
            seen = {key for key, _ in pairs if before[key] or key in increments}
            title = next((key for key, _ in pairs if _is_title_key(key)), None)
            counted = 0 if title is None else increments.get(title, (0, ""))[0]
            titled = 0 if title is None else before[title] + counted
            if repeats(pairs, seen, self._learned, retold=0 < titled < RECURRING_TITLE):
                # Every item counts under its title, so that a recurring one is known.
                if title is not None:
                    increments[title] = (counted + 1, "")
                # Still a sign of which block opens the story, once per feed: a feed lists
                # a story's update and follow-ups before the first report, which then
                # repeats what they carried, and its lead would seem to open nothing.  An
                # item of the feed's lines only (a video's) opens no story.
                if _has_own_text(pairs, seen, self._learned):
                    for key, _ in pairs:
                        if _is_lead_key(key) and not before[key] and key not in increments:
                            increments[key] = (1, "")
                continue
            for key, folded in pairs:
                count, _ = increments.get(key, (0, folded))
                increments[key] = (count + 1, folded)
        unlearned = self._unlearned(increments)
        for key, per_feed in zip(unlearned, self._per_feed(unlearned), strict=True):
            count, _sample = increments[key]
            per_feed[feed_id] = per_feed.get(feed_id, 0) + count
            if not self._would_learn(key, per_feed, feed_id, increments):
                # Most blocks are story sentences seen once: their text is in the items
                # already, and storing it again per block would double the database.
                increments[key] = (count, "")
        return increments

    def _would_learn(
        self,
        key: str,
        per_feed: dict[int, int],
        feed_id: int | None = None,
        increments: dict[str, tuple[int, str]] | None = None,
    ) -> bool:
        """:func:`_learns` for a block, with its lead counts: looked up only when its own
        counts would learn it (rarely: most blocks are seen once).  ``increments`` of
        ``feed_id`` are counts not applied yet, the block's lead among them when an item of
        the same batch opened with it."""
        if not _learns(per_feed):
            return False
        lead = lead_key(key)
        (leads,) = self._per_feed([lead])
        if increments is not None and feed_id is not None and lead in increments:
            leads[feed_id] = leads.get(feed_id, 0) + increments[lead][0]
        return not _quoted_lead(per_feed, leads) or _learns(per_feed, LEAD_SCALE)

    def apply(self, feed_id: int, increments: dict[str, tuple[int, str]], day: int) -> None:
        """Take stored increments (from :meth:`observe`, stored as counted on ``day``)
        into the model."""
        self._counts.add(
            feed_id, ((_key_number(key), count) for key, (count, _) in increments.items()), day
        )
        unlearned = self._unlearned(increments)
        for key, per_feed in zip(unlearned, self._per_feed(unlearned), strict=True):
            self._update(key, per_feed, increments[key][1])

    def forget_seen_once(self, before_day: int) -> int:
        """Forget the evidence of blocks a feed counted once, last before ``before_day``
        (:data:`FORGETS_BELOW`); return how many ``(block, feed)`` pairs went.  Such a
        count cannot have learned anything, and a block a feed repeats is counted again
        long before; the same rule drops the stored rows."""
        return self._counts.forget(FORGETS_BELOW, before_day)

    def _per_feed(self, keys: Sequence[str]) -> list[dict[int, int]]:
        return self._counts.per_feed_many([_key_number(key) for key in keys])

    def _unlearned(self, increments: dict[str, tuple[int, str]]) -> list[str]:
        """The blocks of ``increments`` not learned yet (lead counts are no blocks)."""
        return [k for k in increments if k not in self._learned and not _is_mark_key(k)]

    def _update(self, key: str, per_feed: dict[int, int], sample: str) -> None:
        if key not in self._learned and self._would_learn(key, per_feed):
            self._learned.add(key)
            self._fresh.add(key)
            # Text kept for learned blocks only (``boilerplate list``): most counted blocks
            # are story sentences seen once, and their text is already in the database.
            self._samples[key] = sample

    def learned_by(self, increments: dict[str, tuple[int, str]]) -> set[str]:
        """The keys :meth:`apply` of these increments (from :meth:`observe`) will learn:
        stored with them, so that a crash before the items carrying them are decided
        again does not lose the task."""
        return {k for k, (_, sample) in increments.items() if sample and k not in self._learned}

    def mark_fresh(self, keys: Iterable[str]) -> None:
        """Treat these learned keys as just learned (their carriers are decided again)."""
        self._fresh.update(k for k in keys if k in self._learned)

    def feeds_carrying(self, keys: Iterable[str]) -> set[int]:
        """The feeds with evidence for any of ``keys``: only their items can carry them
        (every short block of every new item is counted for its feed)."""
        ordered = list(keys)
        return {feed for per_feed in self._per_feed(ordered) for feed in per_feed}

    def take_fresh(self) -> set[str]:
        """Keys learned since the last call: items fingerprinted before carry them still."""
        fresh, self._fresh = self._fresh, set()
        return fresh

    def carries(self, text: str, keys: set[str]) -> bool:
        """Whether any block of ``text`` has one of ``keys``."""
        return any(block_key(folded) in keys for folded in fold_text(text))

    def is_learned(self, folded_block: str) -> bool:
        return bool(self._learned) and block_key(folded_block) in self._learned

    def filter(self, text: str) -> FilteredText:
        """Split an item's text into story blocks and boilerplate blocks (both folded)."""
        return self.filter_blocks(fold_text(text))

    def filter_blocks(self, blocks: tuple[str, ...]) -> FilteredText:
        """:meth:`filter` for text already through :func:`fold_text`."""
        return filter_blocks(blocks, self._learned)

    def learned_keys(self) -> frozenset[str]:
        """The keys of every learned block (what :func:`filter_blocks` needs)."""
        return frozenset(self._learned)

    def learned(self) -> list[LearnedBlock]:
        keys = sorted(self._learned)
        out = [
            LearnedBlock(
                key=k,
                sample=self._samples.get(k, ""),
                feeds=len(per_feed),
                items=sum(per_feed.values()),
            )
            for k, per_feed in zip(keys, self._per_feed(keys), strict=True)
        ]
        return sorted(out, key=lambda b: (-b.items, b.sample))
