"""Feed values both parsers (feedparser's path and the fast XML parser) interpret the
same way, so the two cannot drift apart on them."""

from __future__ import annotations

import calendar
import html
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from aggregator.types import Person

FEED_URL = ":feed-url"
"""A key of the ``headers`` given to :func:`aggregator.parse.document.parse_feed` (never an
HTTP header: no header name holds a colon): the feed's configured URL.  Relative entry
ids (an RSS ``<guid>`` like ``item-1``) resolve against it rather than against where the
document was fetched, so a feed that moves (301) keeps its items instead of bringing them
all again.  (Here, in a module without feedparser, so the writer can name it cheaply.)"""


def ttl_minutes(value: object) -> int | None:
    """RSS ``<ttl>`` in minutes; anything but a positive whole number is ignored."""
    text = str(value or "").strip()
    # Seven digits is ~19 years already; more is nonsense (and timing caps it anyway).
    if not (text.isascii() and text.isdigit()) or len(text) > 7:
        return None
    return int(text) or None


def utc_datetime(value: time.struct_time | None) -> datetime | None:
    """A parsed feed date (feedparser's UTC ``struct_time``) as an aware datetime; None for
    none or one out of range."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def web_link(link: str | None, source_id: str | None) -> str | None:
    """An entry's link, but not its id standing in for a missing link when that id is no
    web address (feedparser takes an Atom ``tag:`` or ``urn:`` id, or such an RSS guid, as
    the link): a ``tag:`` link leads nowhere and would be published as one."""
    if link and link == source_id and not link[:8].lower().startswith(("http://", "https://")):
        return None
    return link


# -- an entry's texts ----------------------------------------------------------------------

_TAG = re.compile(r"""</?[a-zA-Z!?](?:[^>"']|"[^"]*"|'[^']*')*>""")


class Text(NamedTuple):
    """One text an entry gives: its HTML (plain text already escaped) and whether the
    feed wrote it as markup."""

    html: str
    markup: bool


class EntryTexts(NamedTuple):
    content_html: str
    summary_html: str
    has_full_content: bool


def _text_of(markup: str) -> str:
    """The text of ``markup``: tags out, entities decoded, so that two parsers that write
    the same markup differently (``<br>``/``<br />``, quotes, entities) agree on it."""
    text = _TAG.sub("", markup) if "<" in markup else markup
    return html.unescape(text) if "&" in text else text


_SPACES = (" ", "\n", "\t", "\r")


def _size(text: str) -> int:
    """How much ``text`` says: its characters but the white space (which parsers and
    pretty-printers add and drop), counted without splitting it."""
    return len(text) - sum(text.count(space) for space in _SPACES)


def _same_words(one: str, other: str) -> bool:
    return "".join(one.split()) == "".join(other.split())


def entry_texts(contents: Sequence[Text], summary: Text | None) -> EntryTexts:
    """The full text and the summary of an entry, chosen by what they say, not by the
    element that holds them: the longest text (ties: markup before plain text, content
    before summary) is the full text; the feed's summary, or the content when the summary
    says more, is kept beside it unless both say the same.  Both parsers call this, so
    they choose alike."""
    given = [t for t in contents if t.html]
    summary = summary if summary is not None and summary.html else None
    if not given:
        return EntryTexts(summary.html if summary else "", "", False)
    if summary is not None and any(summary.html == t.html for t in given):
        summary = None
    if summary is None and len(given) == 1:
        return EntryTexts(given[0].html, "", True)  # nothing to choose between
    ranked = [((_size(text), t.markup), text, t) for t in given for text in (_text_of(t.html),)]
    best_rank, best_text, best = max(ranked, key=lambda r: r[0])
    if summary is None:
        return EntryTexts(best.html, "", True)
    summary_text = _text_of(summary.html)
    summary_rank = (_size(summary_text), summary.markup)
    if summary_rank[0] == best_rank[0] and _same_words(summary_text, best_text):
        return EntryTexts(best.html, "", True)
    if summary_rank > best_rank:
        return EntryTexts(summary.html, best.html, False)
    return EntryTexts(best.html, summary.html, True)


# -- authors -------------------------------------------------------------------------------


def person(name: object, email: object = None, url: object = None) -> Person | None:
    """A :class:`Person` of the parts given (stripped, empty ones dropped); None for none."""
    parts = [str(v).strip() or None if v is not None else None for v in (name, email, url)]
    if not any(parts):
        return None
    return Person(parts[0], parts[1], parts[2])
