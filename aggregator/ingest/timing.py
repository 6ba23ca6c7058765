"""When to poll a feed next.  Pure: interval, response headers and error count in.

After a success the feed waits its interval, or longer when the server or the feed asks
(``Cache-Control: max-age``, ``Expires``, RSS ``<ttl>``) — never shorter than the
configured interval, which is the minimum.  After an error it backs off exponentially
(capped), and ``Retry-After`` on 429/503 is honoured.  Every wait is jittered so feeds
added together, or failing together when one host goes down, do not fire in lockstep.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_BACKOFF = timedelta(hours=24)
"""Ceiling of the error backoff: a dead feed is still tried once a day."""
MAX_CACHE_DELAY = timedelta(hours=24)
"""Ceiling of what caching headers and ``<ttl>`` may ask: a misconfigured CDN header
(``max-age=31536000`` on a feed) must not silence a feed for a year."""
MAX_SERVER_DELAY = timedelta(days=7)
"""Ceiling of ``Retry-After``: an explicit instruction, honoured further, but not forever."""
MAX_INTERVAL = timedelta(days=365)
"""Any interval is clamped to this, so no input can overflow ``datetime`` arithmetic."""
JITTER = 0.1
"""Up to +10 % on each wait, so feeds added together do not fire in lockstep.  Only ever
added: the configured interval and the server's freshness are floors, never undercut."""


def _http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _seconds(value: float) -> timedelta:
    """A duration from untrusted or configured seconds; NaN, negative, huge → bounded."""
    if math.isnan(value) or value <= 0:
        return timedelta(0)
    return min(timedelta(seconds=min(value, MAX_INTERVAL.total_seconds())), MAX_INTERVAL)


def _whole(text: str) -> bool:
    """ASCII digits only: ``"²".isdigit()`` is true, and a header may hold anything."""
    return text.isascii() and text.isdigit()


def _until(value: str, now: datetime) -> timedelta | None:
    when = _http_date(value)
    if when is None:
        return None
    return max(when - now, timedelta(0))


def retry_after(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """``Retry-After`` as a delay (seconds or an HTTP date), capped at ``MAX_SERVER_DELAY``."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    delay = _seconds(float(value)) if _whole(value) else _until(value, now)
    return None if delay is None else min(delay, MAX_SERVER_DELAY)


def cache_lifetime(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """How long the response stays fresh: ``max-age`` (minus ``Age``) wins over ``Expires``
    (as in RFC 9111); capped at ``MAX_CACHE_DELAY``."""
    for directive in headers.get("cache-control", "").split(","):
        name, _, value = directive.strip().partition("=")
        value = value.strip().strip('"')
        if name.strip().lower() == "max-age" and _whole(value):
            age = headers.get("age", "").strip()
            lifetime = _seconds(float(value)) - _seconds(float(age) if _whole(age) else 0)
            return min(max(lifetime, timedelta(0)), MAX_CACHE_DELAY)
    expires = headers.get("expires", "").strip()
    if expires:
        until = _until(expires, now)
        # An unparseable Expires ("0", "-1") means "already expired" (RFC 9111 5.3).
        return timedelta(0) if until is None else min(until, MAX_CACHE_DELAY)
    return None


def server_delay(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """How long the server asked us to wait (Retry-After, max-age, Expires), if it did."""
    delay = retry_after(headers, now)
    return delay if delay is not None else cache_lifetime(headers, now)


def _jittered(wait: timedelta, rng: random.Random | None) -> timedelta:
    return wait * (1 + (rng or random).uniform(0, JITTER))


def next_check_after_success(
    now: datetime,
    interval: float,
    headers: Mapping[str, str],
    ttl_minutes: int | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """The interval, or longer when max-age, Expires or the feed's ``<ttl>`` ask for it."""
    wait = _seconds(interval)
    asked = [
        d
        for d in (
            cache_lifetime(headers, now),
            _seconds(ttl_minutes * 60.0) if ttl_minutes else None,
        )
        if d is not None
    ]
    wait = max([wait, *(min(d, MAX_CACHE_DELAY) for d in asked)])
    return now + _jittered(wait, rng)


def backoff(interval: float, error_count: int) -> timedelta:
    """``interval × 2^(errors-1)``, at most ``MAX_BACKOFF`` (or the interval when longer)."""
    doublings = min(max(error_count - 1, 0), 30)
    base = _seconds(interval)
    # In float seconds: a year-long interval doubled 30 times would overflow a timedelta.
    grown = min(base.total_seconds() * 2.0**doublings, MAX_BACKOFF.total_seconds())
    return max(timedelta(seconds=grown), base)


def next_check_after_error(
    now: datetime,
    interval: float,
    error_count: int,
    headers: Mapping[str, str] | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """Exponential backoff; a longer ``Retry-After`` wins.

    ``error_count`` counts this error too (1 after the first failure).  The server's
    Retry-After is honoured exactly (no jitter below it); the backoff is jittered so the
    feeds of a host that went down together do not all come back in the same second.
    """
    wait = _jittered(backoff(interval, error_count), rng)
    delay = retry_after(headers or {}, now)
    if delay is not None and delay > wait:
        wait = delay
    return now + wait
