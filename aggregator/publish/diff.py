"""What differs between the copies of a story, for the side-by-side cluster page.  Pure.

Each copy is compared with the cluster's canonical item (the reference):

* its text blocks that are boilerplate (a sponsor line, a "Read more", a network footer —
  generic patterns or blocks learned from the data) are marked as such and left out of
  the comparison, exactly as the dedup decision leaves them out;
* the remaining words are aligned with the reference's remaining words (difflib on folded
  words, so typography — curly quotes, case — does not light up a whole paragraph) and
  the words the copy has and the reference does not are marked ``changed``; where the
  reference has words the copy lacks (a summary cut short, a dropped paragraph) a
  ``missing`` marker says how many;
* titles are compared word by word, case kept: a site suffix or a change of case is
  exactly what a reader wants to see; the reference's words a title lacks are shown
  struck through.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from aggregator.clean.text import fold

MAX_WORDS = 5000
"""Words compared per copy; beyond this the rest is shown unmarked (keeps a page fast)."""


@dataclass(frozen=True)
class Span:
    text: str
    kind: str
    """``same``, ``changed``, ``missing`` (``text`` says how much of the reference is
    missing here) or, in titles, ``removed`` (a reference word this title lacks)."""


@dataclass(frozen=True)
class Block:
    kind: str
    """``story`` or ``boilerplate``."""
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class CopyDiff:
    item_id: int
    reference: bool
    """True for the canonical item every other copy is compared with."""
    title: tuple[Span, ...]
    blocks: tuple[Block, ...]
    changed_words: int
    missing_words: int
    boilerplate_blocks: int

    @property
    def identical(self) -> bool:
        """Same story text as the reference once boilerplate is set aside."""
        return self.changed_words == 0 and self.missing_words == 0


@dataclass(frozen=True)
class Copy:
    """The part of an item the comparison needs."""

    item_id: int
    title: str
    text: str
    """Blocks separated by newlines (``ItemView.text``)."""


def compare_copies(
    reference: Copy, copies: Sequence[Copy], is_boilerplate: Callable[[str], bool]
) -> list[CopyDiff]:
    """The reference first (only its boilerplate marked), then each copy against it."""
    ref_blocks = _blocks(reference.text, is_boilerplate)
    ref_words = _story_words(ref_blocks)
    out = [
        CopyDiff(
            item_id=reference.item_id,
            reference=True,
            title=(Span(reference.title, "same"),) if reference.title else (),
            blocks=tuple(
                Block("boilerplate" if bp else "story", (Span(text, "same"),))
                for text, bp in ref_blocks
            ),
            changed_words=0,
            missing_words=0,
            boilerplate_blocks=sum(1 for _, bp in ref_blocks if bp),
        )
    ]
    for copy in copies:
        if copy.item_id == reference.item_id:
            continue
        out.append(_compare(copy, ref_words, reference.title, is_boilerplate))
    return out


def _blocks(text: str, is_boilerplate: Callable[[str], bool]) -> list[tuple[str, bool]]:
    return [
        (block, is_boilerplate(block)) for block in (b.strip() for b in text.split("\n")) if block
    ]


def _story_words(blocks: list[tuple[str, bool]]) -> list[str]:
    return [fold(word) for text, bp in blocks if not bp for word in text.split()][:MAX_WORDS]


def _compare(
    copy: Copy, ref_words: list[str], ref_title: str, is_boilerplate: Callable[[str], bool]
) -> CopyDiff:
    blocks = _blocks(copy.text, is_boilerplate)
    # Every story word of the copy with the block it sits in; the alignment is over the
    # whole text, so a summary that runs two paragraphs into one block still lines up.
    located = [
        (index, word) for index, (text, bp) in enumerate(blocks) if not bp for word in text.split()
    ]
    compared = located[:MAX_WORDS]
    kinds = ["same"] * len(located)
    missing_before: dict[int, int] = {}
    matcher = SequenceMatcher(None, ref_words, [fold(w) for _, w in compared], autojunk=False)
    changed = missing = 0
    for op, r1, r2, c1, c2 in matcher.get_opcodes():
        if op in ("replace", "insert"):
            for position in range(c1, c2):
                kinds[position] = "changed"
            changed += c2 - c1
        if op in ("replace", "delete"):
            missing_before[c1] = missing_before.get(c1, 0) + (r2 - r1)
            missing += r2 - r1

    out_blocks: list[Block] = []
    position = 0
    for index, (text, bp) in enumerate(blocks):
        if bp:
            out_blocks.append(Block("boilerplate", (Span(text, "same"),)))
            continue
        spans: list[Span] = []
        while position < len(located) and located[position][0] == index:
            if position in missing_before:
                spans.append(_missing(missing_before.pop(position)))
            spans.append(Span(located[position][1], kinds[position]))
            position += 1
        out_blocks.append(Block("story", tuple(_merge(spans))))
    if missing_before:  # the reference goes on after the copy ends (a summary)
        tail = _missing(sum(missing_before.values()))
        story = [i for i, b in enumerate(out_blocks) if b.kind == "story"]
        if story:
            last = out_blocks[story[-1]]
            out_blocks[story[-1]] = Block("story", (*last.spans, tail))
        else:
            out_blocks.append(Block("story", (tail,)))
    return CopyDiff(
        item_id=copy.item_id,
        reference=False,
        title=tuple(_merge(_word_diff(ref_title.split(), copy.title.split()))),
        blocks=tuple(out_blocks),
        changed_words=changed,
        missing_words=missing,
        boilerplate_blocks=sum(1 for _, bp in blocks if bp),
    )


def _missing(count: int) -> Span:
    return Span(
        f"{count} word{'s' if count != 1 else ''} of the canonical copy missing here", "missing"
    )


def _word_diff(reference: list[str], words: list[str]) -> list[Span]:
    """A title's words, with the reference's words it lacks shown as ``removed``.

    Words are aligned folded (case, quotes, dashes), so "Picks Local" against "picks local"
    reads as two changed words, not two removed and two inserted; then a word is marked
    changed when its capitals differ, not for typography alone."""
    spans: list[Span] = []
    matcher = SequenceMatcher(
        None, [fold(w) for w in reference], [fold(w) for w in words], autojunk=False
    )
    for op, r1, r2, c1, c2 in matcher.get_opcodes():
        if op == "equal":
            spans.extend(
                Span(word, "same" if _case(word) == _case(ref) else "changed")
                for ref, word in zip(reference[r1:r2], words[c1:c2], strict=True)
            )
            continue
        spans.extend(Span(word, "removed") for word in reference[r1:r2])
        spans.extend(Span(word, "changed") for word in words[c1:c2])
    return spans


def _case(word: str) -> tuple[bool, ...]:
    """Which letters are capitals: a change of case shows, a curly apostrophe does not."""
    return tuple(ch.isupper() for ch in word if ch.isalpha())


def _merge(spans: list[Span]) -> list[Span]:
    """Runs of words of one kind become one span (fewer elements, readable markup)."""
    merged: list[Span] = []
    for span in spans:
        if merged and span.kind == merged[-1].kind and span.kind != "missing":
            merged[-1] = Span(f"{merged[-1].text} {span.text}", span.kind)
        else:
            merged.append(span)
    return merged
