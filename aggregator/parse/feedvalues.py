"""Feed values both parsers (feedparser's path and the fast XML parser) interpret the
same way, so the two cannot drift apart on them."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime


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
