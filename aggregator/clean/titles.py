"""Title affixes: the site names and section labels a feed puts around its titles.  Pure.

"COURIER: Council approves budget", "Council approves budget - Riverside Metro Wire",
"Council approves budget | City Reader": the story's title is the middle; the rest is the
feed's label.  A label is learned per feed, from the feed's own stored titles, as an
*affix*: a prefix before the first separator (``: | - – — :: » ·``) or a suffix after the
last one (or a short bracketed tag, "(video)").  An affix carried by at least
:data:`LEARN_AT` titles of a feed, around at least as many different titles, is learned
when one more thing says it is a label and not part of the stories' titles:

* the feed's titles mostly carry it (at least :data:`SHARE` of them: "SPORTS: " on every
  item of the sports feed);
* it names the feed (its configured name or its document's title: "- City Reader");
* or copies prove it: at least :data:`PROOFS` titles of the feed carry it while another
  copy of the same story, in another feed, has the title without it (a network suffix
  that only copies get).

A topic that recurs in a few titles ("Brexit: …") is none of these: its copies elsewhere
carry it too, and it is not most of what the feed publishes.  A title that is only a label
("Morning Briefing", "SPORTS:") stays whole, and so does a title that would be left
without a word.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from aggregator.clean.text import fold, has_words, words

__all__ = ["TitleAffixes", "TitleRow", "learn_affixes", "naming_lines", "story_words"]

LEARN_AT = 3
SHARE = 0.5
PROOFS = 2
MAX_AFFIX_WORDS = 6
MAX_AFFIX_CHARS = 60
LABEL_WORDS = 5
"""At the end of a title, a part of this many words or fewer, set off by a separator, is
taken for a label ("| City Reader", "- The Daily Watch News") when titles are compared
without anything learned, unless it is the title's longest part; at its start, a part of
:data:`PREFIX_WORDS` ("UPDATE:", "BREAKING:", "SPORTS:"): a longer opening part is the
story's own ("Ashford forecast for Friday: showers")."""
PREFIX_WORDS = 2
TAGS = 3
"""Bracketed tags at most taken off a title's end when titles are compared: an update
adds its own ("… (updated) (video)")."""

_SEPARATORS = (": ", " | ", " - ", " \u2013 ", " \u2014 ", " :: ", " \u00bb ", " \u00b7 ")
_TAG = re.compile(r"\s+(\([^()]{1,24}\)|\[[^\[\]]{1,24}\])$")
_PREFIX = "prefix"
_SUFFIX = "suffix"


@dataclass(frozen=True)
class TitleRow:
    """One stored title, with the feed and the story (cluster) it belongs to."""

    feed_id: int
    cluster_id: int | None
    title: str


def _candidates(title: str) -> list[tuple[str, str, str]]:
    """``(side, affix, rest)`` for each way the title may carry a label; ``affix`` keeps its
    separator, so stripping it gives ``rest`` exactly."""
    out: list[tuple[str, str, str]] = []
    firsts = [(title.find(sep), sep) for sep in _SEPARATORS if sep in title]
    if firsts:
        at, sep = min(firsts)
        affix = title[: at + len(sep)]
        if at > 0 and _short(affix):
            out.append((_PREFIX, affix, title[at + len(sep) :].strip()))
    lasts = [(title.rfind(sep), sep) for sep in _SEPARATORS if sep in title]
    if lasts:
        at, sep = max(lasts)
        affix = title[at:]
        if at + len(sep) < len(title) and _short(affix):
            out.append((_SUFFIX, affix, title[:at].strip()))
    tag = _TAG.search(title)
    if tag and tag.start() > 0:
        out.append((_SUFFIX, tag.group(0), title[: tag.start()].strip()))
    return out


def _short(affix: str) -> bool:
    return len(affix) <= MAX_AFFIX_CHARS and len(affix.split()) <= MAX_AFFIX_WORDS + 1


def _key(side: str, affix: str) -> tuple[str, str]:
    # Case and spacing of a label vary less than titles do, but "Sports:" and "SPORTS:" are
    # one label.
    return side, fold(affix)


@dataclass(frozen=True)
class TitleAffixes:
    """The learned affixes of each feed; :meth:`strip` applies them."""

    by_feed: Mapping[int, frozenset[tuple[str, str]]] = field(default_factory=dict)

    def strip(self, feed_id: int, title: str | None) -> str | None:
        """``title`` without the feed's learned prefix and suffixes (several suffixes may
        stack: "Title (video) - Site").  A title that would keep no word stays whole."""
        if not title:
            return title
        learned = self.by_feed.get(feed_id)
        if not learned:
            return title
        current = title
        for _ in range(3):
            for side, affix, rest in _candidates(current):
                if _key(side, affix) in learned and has_words(fold(rest)):
                    current = rest
                    break
            else:
                break
        return current

    def learned(self, feed_id: int) -> list[tuple[str, str]]:
        """``(side, folded affix)`` learned for a feed, sorted (for display and tests)."""
        return sorted(self.by_feed.get(feed_id, ()))


def learn_affixes(
    rows: Iterable[TitleRow], feed_names: Mapping[int, Iterable[str]]
) -> TitleAffixes:
    """Learn every feed's affixes from its stored titles (``rows``); ``feed_names``: the
    names a feed goes by (configured name, document title)."""
    rows = list(rows)
    # Learning works on folded titles (folded once each: it is most of the cost); a
    # candidate's affix from a folded title is the folded affix :meth:`strip` looks up.
    folded = [fold(row.title) for row in rows]
    titles_of: dict[int, int] = defaultdict(int)
    carried: dict[int, dict[tuple[str, str], set[str]]] = defaultdict(lambda: defaultdict(set))
    # A story's titles in every feed, folded: what a proof compares with.
    elsewhere: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for row, title in zip(rows, folded, strict=True):
        titles_of[row.feed_id] += 1
        if row.cluster_id is not None:
            elsewhere[row.cluster_id].append((row.feed_id, title))
    proofs: dict[int, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for row, title in zip(rows, folded, strict=True):
        for side, affix, rest in _candidates(title):
            key = (side, affix.strip())
            carried[row.feed_id][key].add(rest)
            if row.cluster_id is not None and any(
                f != row.feed_id and t == rest for f, t in elsewhere[row.cluster_id]
            ):
                proofs[row.feed_id][key] += 1
    by_feed: dict[int, frozenset[tuple[str, str]]] = {}
    for feed_id, keys in carried.items():
        names = {fold(n) for n in feed_names.get(feed_id, ()) if n}
        learned = set()
        for key, rests in keys.items():
            if len(rests) < LEARN_AT:
                continue
            label = _label(key[1])
            if (
                len(rests) >= SHARE * titles_of[feed_id]
                or (label and label in names)
                or proofs[feed_id][key] >= PROOFS
            ):
                learned.add(key)
        if learned:
            by_feed[feed_id] = frozenset(learned)
    return TitleAffixes(by_feed)


def _label(folded_affix: str) -> str:
    """The words of an affix without its separator and brackets: "- city reader" → "city
    reader"."""
    return folded_affix.strip(" :|-\u2013\u2014\u00bb\u00b7()[]")


def story_words(title: str | None) -> frozenset[str]:
    """The words of a title that name its story, for comparing two items' titles with
    nothing learned: folded, without a bracketed tag at its end ("(video)"), nor short
    parts at either end set off by a separator (a site name, "UPDATE:", "BREAKING:"),
    though always with its longest part."""
    if not title:
        return frozenset()
    parts = [words(part) for part in _parts(title)]
    longest = max(range(len(parts)), key=lambda index: len(parts[index]), default=0)
    kept = [
        part
        for index, part in enumerate(parts)
        if index == longest
        or not (
            (index == len(parts) - 1 and len(part) <= LABEL_WORDS)
            or (index == 0 and len(part) <= PREFIX_WORDS)
        )
    ]
    return frozenset(word for part in kept for word in part)


NAMING_MIN_WORDS = 4
"""A title part this long or longer is specific enough to recognise a line that names it."""
NAMING_EXTRA_CHARS = 100
"""A line naming the title holds little else: "Continue reading “…” at Site." """
NAMING_HEADING_CHARS = 20
"""A line naming the title with at most this much else is the title as a heading
("<title> (video)"); with more, the first such line is the story's lead when a block
follows it (a lead often opens with its headline's words), a footer otherwise."""


def naming_lines(blocks: Sequence[str], title: str | None) -> list[int]:
    """The indexes of the folded ``blocks`` that name the item's own title and little
    else ("The post <title> appeared first on Site", "Continue reading “<title>”"): a
    footer that differs with every item, so no count learns it, and that says nothing a
    copy must share; the first of them that is not the last block is the story's lead,
    kept (whatever comes before it: a caption, a byline).  The title's longest part is
    looked for (four words or more); a text that is only such lines keeps them."""
    if not title or len(blocks) < 2:
        return []
    part = max(_parts(title), key=lambda piece: len(words(piece)), default="").strip()
    if len(words(part)) < NAMING_MIN_WORDS:
        return []
    found: list[int] = []
    lead_kept = False
    for index, block in enumerate(blocks):
        if part not in block or len(block) > len(part) + NAMING_EXTRA_CHARS:
            continue
        if len(block) <= len(part) + NAMING_HEADING_CHARS:
            found.append(index)  # the title as a heading, or alone on a line
        elif not lead_kept and index < len(blocks) - 1:
            # The first such line that is not the last is the story's lead opening with
            # its headline's words ("Ashford beat Brampton 2-1 at home on Saturday"): a
            # footer comes last, or after a lead that already named the title.
            lead_kept = True
        else:
            found.append(index)
    return found if len(found) < len(blocks) else []


def _parts(title: str) -> list[str]:
    """A title folded, without the bracketed tags at its end ("(updated) (video)"), cut at
    every separator: what story words and naming lines are read from."""
    folded = fold(title)
    for _ in range(TAGS):
        tag = _TAG.search(folded)
        if not tag or tag.start() == 0:
            break
        folded = folded[: tag.start()]
    return _split(folded)


def _split(title: str) -> list[str]:
    """``title`` cut at every separator (empty parts dropped)."""
    parts = [title]
    for separator in _SEPARATORS:
        parts = [piece for part in parts for piece in part.split(separator)]
    return [part for part in parts if part.strip()]
