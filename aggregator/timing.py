"""When to poll a feed next.  Pure: interval, response headers and error count in.

After a success the feed waits its interval, or longer when the server asks
(``Cache-Control: max-age``, ``Expires``) — never shorter than the interval.  After an
error it backs off exponentially (capped), and ``Retry-After`` on 429/503 is honoured.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_BACKOFF = timedelta(hours=24)
MAX_SERVER_DELAY = timedelta(days=7)
JITTER = 0.1
"""Up to ±10 % of the interval, so feeds added together do not fire in lockstep."""


def _http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def server_delay(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """How long the server asked us to wait (Retry-After, max-age, Expires), if it did."""
    retry_after = headers.get("retry-after", "").strip()
    if retry_after:
        if retry_after.isdigit():
            return min(timedelta(seconds=int(retry_after)), MAX_SERVER_DELAY)
        when = _http_date(retry_after)
        if when is not None:
            return min(max(when - now, timedelta(0)), MAX_SERVER_DELAY)
    for directive in headers.get("cache-control", "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() == "max-age" and value.strip().isdigit():
            return min(timedelta(seconds=int(value.strip())), MAX_SERVER_DELAY)
    expires = headers.get("expires", "").strip()
    if expires:
        when = _http_date(expires)
        if when is not None:
            return min(max(when - now, timedelta(0)), MAX_SERVER_DELAY)
    return None


def _jittered(seconds: float, rng: random.Random | None) -> timedelta:
    spread = (rng or random).uniform(-JITTER, JITTER)
    return timedelta(seconds=seconds * (1 + spread))


def next_check_after_success(now: datetime, interval: float, headers: Mapping[str, str],
                             ttl_minutes: int | None = None,
                             rng: random.Random | None = None) -> datetime:
    wait = _jittered(interval, rng)
    delay = server_delay(headers, now)
    if delay is not None and delay > wait:
        wait = delay
    if ttl_minutes and timedelta(minutes=ttl_minutes) > wait:
        wait = min(timedelta(minutes=ttl_minutes), MAX_SERVER_DELAY)
    return now + wait


def next_check_after_error(now: datetime, interval: float, error_count: int,
                           headers: Mapping[str, str] | None = None,
                           rng: random.Random | None = None) -> datetime:
    """``error_count`` counts this error too (1 after the first failure)."""
    doublings = min(max(error_count - 1, 0), 30)
    backoff = min(timedelta(seconds=interval) * (1 << doublings), MAX_BACKOFF)
    wait = max(backoff, _jittered(interval, rng))
    delay = server_delay(headers or {}, now)
    if delay is not None and delay > wait:
        wait = delay
    return now + wait
