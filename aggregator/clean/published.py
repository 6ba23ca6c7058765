"""Published content: an item's HTML as a subscriber gets it, without the clutter.  Pure.

The stored content is never changed; this runs on the way out (feeds, the cluster page's
"cleaned" view).  In order, and why in this order:

1. **Sanitise** (nh3): the tree edited below is already harmless and normalised.
2. **Cut into blocks** exactly where :func:`~aggregator.clean.text.html_to_blocks` cuts
   (block elements and ``<br>`` lines), so a block here folds to the very text the
   boilerplate model learned from.
3. **Drop boilerplate blocks**: a learned block (:mod:`aggregator.clean.boilerplate`), a
   generic pattern (:func:`~aggregator.clean.text.generic_boilerplate`: sponsor lines,
   "Read more", share bars, "Advertisement", "The post … appeared first on …"), or a
   "READ MORE: <link to another story>" line.  When in doubt, keep:

   * a block holding an image, and everything inside a ``<figure>`` (captions, credits),
     always stays;
   * a generic pattern is a guess from wording alone, so a block of more than
     :data:`SHORT_WORDS` words that only a generic pattern matches stays when story text
     stands on both sides of it ("Supported by a majority, the bill passed." mid-story):
     sponsor sentences sit at the start or the end;
   * a "READ MORE:" line goes only when the rest of it is a link.

   Elements left empty by the removal (the footer's ``<div>``) go too, with the ``<br>``
   that separated a removed line from the next.
4. **Drop the truncation marker** at the end of the text ("… Read more", "[…]"),
   keeping the ellipsis: the entry links to the whole story anyway.
5. **Repair mojibake** in the text nodes (ftfy: "Â£" → "£"), after the matching, because
   the learned blocks are of the stored, unrepaired text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import ftfy
from lxml import html as lxml_html
from lxml.html import HtmlElement

from aggregator.clean.boilerplate import fold_text
from aggregator.clean.sanitize import sanitize_html
from aggregator.clean.text import (
    BLOCK_ELEMENTS,
    generic_boilerplate,
    link_line_label,
    readable_line,
    truncation_marker,
)

__all__ = ["CleanedHtml", "clean_published_html", "repair_text"]

SHORT_WORDS = 6
"""A block of at most this many words that a generic pattern matches ("Advertisement",
"Share this", "Sponsored by Acme") is clutter wherever it stands."""

_MEDIA = frozenset({"img", "picture", "video", "audio", "source", "figure"})
"""Elements a block is kept for, whatever its text says."""

_ENCODING_ONLY = ftfy.TextFixerConfig(
    # Only what undoes a wrong decoding ("Â£", "â€™"): the rest of ftfy's defaults change
    # text that is not broken (curly quotes, ligatures, full-width forms, HTML entities).
    unescape_html=False,
    remove_terminal_escapes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    remove_control_chars=False,
    normalization=None,
    explain=False,
)


def repair_text(text: str) -> str:
    """``text`` with mojibake repaired (UTF-8 read as Latin-1 or Windows-1252), else as is."""
    if text.isascii():
        return text
    repaired: str = ftfy.fix_text(text, _ENCODING_ONLY)
    return repaired


@dataclass(frozen=True)
class CleanedHtml:
    html: str
    """Sanitised HTML, without the removed blocks."""
    removed: tuple[str, ...]
    """The removed blocks' text (as the source wrote it), in document order."""


def clean_published_html(
    fragment: str | None, is_learned: Callable[[str], bool], *, repair: bool = True
) -> CleanedHtml:
    """The content of an item as published: sanitised, boilerplate blocks out, the trailing
    truncation marker out, mojibake repaired (unless ``repair`` is false).

    ``is_learned`` says whether a folded block (as :func:`~aggregator.clean.boilerplate.
    fold_text` gives them) is learned boilerplate."""
    safe = sanitize_html(fragment)
    if not safe.strip():
        return CleanedHtml(safe, ())
    root: HtmlElement = lxml_html.fragment_fromstring(safe, create_parent="div")
    lines = list(_lines(root, protected=False))
    kinds = [_kind(line, is_learned) for line in lines]
    removed: list[str] = []
    drop = _to_drop(lines, kinds)
    for index in sorted(drop, reverse=True):  # later lines first: earlier ones stay valid
        removed.append(lines[index].text())
        _remove_line(lines[index])
    removed.reverse()
    story = [line for i, line in enumerate(lines) if kinds[i] == "story" and i not in drop]
    if story:
        _drop_marker(story[-1])
    _prune_emptied(root, {id(line.parent) for i, line in enumerate(lines) if i in drop})
    if repair:
        for node in root.iter():
            if node.text:
                node.text = repair_text(node.text)
            if node.tail and node is not root:
                node.tail = repair_text(node.tail)
    body = (root.text or "") + "".join(
        lxml_html.tostring(child, encoding="unicode", method="html") for child in root
    )
    return CleanedHtml(sanitize_html(body), tuple(removed))


@dataclass
class _Line:
    """A run of inline content between two block boundaries (a block element or a
    ``<br>``) inside ``parent``: one line of :func:`html_to_blocks`."""

    parent: HtmlElement
    start: HtmlElement | None
    """The boundary before the line (its tail starts the line); None: ``parent.text``."""
    elements: list[HtmlElement] = field(default_factory=list)
    """The inline elements of the line (each with its tail, which is the line's too)."""
    protected: bool = False
    """Inside a figure, or holding an image: never removed."""

    def text(self) -> str:
        head = self.start.tail if self.start is not None else self.parent.text
        return (head or "") + "".join(el.text_content() + (el.tail or "") for el in self.elements)

    def links_text(self) -> str:
        return " ".join(
            a.text_content() for el in self.elements for a in el.iter("a") if a.get("href")
        )


def _is_boundary(el: HtmlElement) -> bool:
    """A block element, or an inline one with a block (or ``<br>``) inside: both end a line
    (the inline one is then read as a container of lines of its own)."""
    if not isinstance(el.tag, str):
        return True  # a comment or processing instruction (nh3 leaves none)
    if el.tag in BLOCK_ELEMENTS:
        return True
    return any(isinstance(d.tag, str) and d.tag in BLOCK_ELEMENTS for d in el.iterdescendants())


def _lines(parent: HtmlElement, protected: bool) -> Iterator[_Line]:
    protected = protected or parent.tag in ("figure", "figcaption")
    line = _Line(parent, None, protected=protected)
    for child in parent:
        if _is_boundary(child):
            yield line
            if isinstance(child.tag, str):
                yield from _lines(child, protected)
            line = _Line(parent, child, protected=protected)
        else:
            line.elements.append(child)
            if child.tag in _MEDIA or any(d.tag in _MEDIA for d in child.iterdescendants()):
                line.protected = True
    yield line


def _kind(line: _Line, is_learned: Callable[[str], bool]) -> str:
    """``empty``, ``media`` (kept whatever it says), ``learned``, ``generic``, ``link-line``
    or ``story``."""
    text = readable_line(line.text())
    if line.protected:
        return "media"
    if not text:
        return "empty"
    folded = fold_text(text)
    if folded and is_learned(folded[0]):
        return "learned"
    label = link_line_label(text)
    if label is not None:
        rest = readable_line(text[label:])
        links = readable_line(line.links_text())
        # The rest is (almost) all link text: a pointer to another story, not a sentence.
        if rest and len(links) >= 0.8 * len(rest):
            return "link-line"
    if folded and generic_boilerplate(folded[0]):
        return "generic"
    return "story"


def _to_drop(lines: list[_Line], kinds: list[str]) -> set[int]:
    story = [i for i, kind in enumerate(kinds) if kind in ("story", "media")]
    drop = set()
    for i, kind in enumerate(kinds):
        if kind in ("learned", "link-line"):
            drop.add(i)
        elif kind == "generic":
            words = len(readable_line(lines[i].text()).split())
            interior = bool(story) and story[0] < i < story[-1]
            if words <= SHORT_WORDS or not interior:
                drop.add(i)
    return drop


def _set_head(line: _Line, value: str | None) -> None:
    if line.start is not None:
        line.start.tail = value
    else:
        line.parent.text = value


def _remove_keeping_tail(el: HtmlElement) -> None:
    """Remove ``el`` but keep the text after it (its tail) where it was."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _remove_line(line: _Line) -> None:
    _set_head(line, None)
    for el in line.elements:
        line.parent.remove(el)  # with its tail: the tail is part of the line
    # The <br> that ended the removed line goes with it; at the end of its parent, the
    # <br> before it does (no blank lines left where the line was).
    after = line.start.getnext() if line.start is not None else _first_child(line.parent)
    while after is not None and after.tag == "br" and not (after.tail or "").strip():
        following = after.getnext()
        _remove_keeping_tail(after)
        after = following
    if after is not None and after.tag == "br":
        _remove_keeping_tail(after)
        return
    if after is None:  # the line was the last thing in its parent
        before = line.start
        while before is not None and before.tag == "br":
            previous = before.getprevious()
            text_before = previous.tail if previous is not None else line.parent.text
            _remove_keeping_tail(before)
            if (text_before or "").strip():
                break
            before = previous


def _first_child(el: HtmlElement) -> HtmlElement | None:
    return next(iter(el), None)


def _drop_marker(line: _Line) -> None:
    """Cut the truncation marker off the end of the line, keeping an ellipsis."""
    found = truncation_marker(line.text())
    if found is None:
        return
    start, ellipsis = found
    slots = list(_text_slots(line))
    excess = len(line.text()) - start
    for owner, attr in reversed(slots):
        value: str = getattr(owner, attr) or ""
        cut = min(excess, len(value))
        setattr(owner, attr, value[: len(value) - cut] or None)
        excess -= cut
        if excess == 0:
            break
    if ellipsis:
        owner, attr = next(((o, a) for o, a in reversed(slots) if getattr(o, a)), slots[0])
        setattr(owner, attr, (getattr(owner, attr) or "").rstrip() + "\u2026")
    for el in line.elements:  # a "Read more" link left without text
        if el.tag == "a" and not el.text_content().strip():
            _remove_keeping_tail(el)


def _text_slots(line: _Line) -> Iterator[tuple[HtmlElement, str]]:
    """Where the line's text lives, in document order: ``(element, "text" | "tail")``."""
    yield (line.start, "tail") if line.start is not None else (line.parent, "text")
    for el in line.elements:
        yield from _slots_within(el)
        yield el, "tail"


def _slots_within(el: HtmlElement) -> Iterator[tuple[HtmlElement, str]]:
    yield el, "text"
    for child in el:
        yield from _slots_within(child)
        yield child, "tail"


def _prune_emptied(root: HtmlElement, touched: set[int]) -> None:
    """Remove the elements a removal left without text or media, from the touched parents
    outwards (an element that was empty in the source stays: it is not ours to judge)."""
    for el in list(root.iterdescendants())[::-1]:
        if id(el) not in touched or el.tag in _MEDIA:
            continue
        if el.text_content().strip() or any(d.tag in _MEDIA for d in el.iterdescendants()):
            continue
        parent = el.getparent()
        _remove_keeping_tail(el)
        if parent is not None:
            touched.add(id(parent))
