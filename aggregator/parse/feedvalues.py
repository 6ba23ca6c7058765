"""Feed values both parsers (feedparser's path and the fast XML parser) interpret the
same way, so the two cannot drift apart on them."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime

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
