"""When to poll next (``aggregator.ingest.timing``), pure: honest and hostile headers alike.

Servers send what they like in Retry-After, Cache-Control, Expires and Age; none of it
may crash the writer, make a feed polled more often than its interval, or silence it
beyond the caps.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from aggregator.ingest.timing import (
    JITTER,
    MAX_BACKOFF,
    MAX_CACHE_DELAY,
    MAX_INTERVAL,
    MAX_SERVER_DELAY,
    backoff,
    next_check_after_error,
    next_check_after_success,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _wait(when: datetime) -> float:
    return (when - NOW).total_seconds()


def test_success_waits_the_interval_plus_bounded_positive_jitter() -> None:
    rng = random.Random(1)
    waits = [_wait(next_check_after_success(NOW, 600, {}, rng=rng)) for _ in range(200)]
    assert min(waits) >= 600 and max(waits) <= 600 * (1 + JITTER)
    assert max(waits) - min(waits) > 30  # spread, so feeds do not fire in lockstep


@pytest.mark.parametrize(
    "headers,at_least",
    [
        ({"cache-control": "public, max-age=7200"}, 7200),
        ({"cache-control": 'max-age="7200"'}, 7200),
        ({"cache-control": "max-age=7200", "age": "7000"}, 600),  # stale soon: the interval
        ({"expires": format_datetime(NOW + timedelta(hours=3), usegmt=True)}, 3 * 3600),
        ({"cache-control": "max-age=60"}, 600),  # never more often than the interval
        ({"expires": "0"}, 600),  # "already expired"
    ],
)
def test_freshness_headers_delay_but_never_hasten(headers: dict[str, str], at_least: float) -> None:
    wait = _wait(next_check_after_success(NOW, 600, headers))
    assert at_least <= wait <= at_least * (1 + JITTER)


def test_ttl_minutes_count_and_caps_hold() -> None:
    assert _wait(next_check_after_success(NOW, 60, {}, ttl_minutes=120)) >= 7200
    huge = {"cache-control": "max-age=31536000"}
    assert _wait(next_check_after_success(NOW, 60, huge)) <= MAX_CACHE_DELAY.total_seconds() * (
        1 + JITTER
    )
    assert _wait(
        next_check_after_success(NOW, 60, {}, ttl_minutes=9_999_999)
    ) <= MAX_CACHE_DELAY.total_seconds() * (1 + JITTER)


def test_backoff_doubles_per_consecutive_error_up_to_the_cap() -> None:
    assert [backoff(60, n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(60, 50) == MAX_BACKOFF
    assert backoff(2 * 86400, 10) == timedelta(days=2)  # a longer interval stays the floor
    rng = random.Random(2)
    waits = [_wait(next_check_after_error(NOW, 60, 3, rng=rng)) for _ in range(100)]
    assert min(waits) >= 240 and max(waits) <= 240 * (1 + JITTER)


@pytest.mark.parametrize(
    "retry_after,expected",
    [
        ("3600", 3600),
        (format_datetime(NOW + timedelta(hours=2), usegmt=True), 7200),
        ("99999999999", MAX_SERVER_DELAY.total_seconds()),
        ("9" * 400, MAX_SERVER_DELAY.total_seconds()),
    ],
)
def test_retry_after_wins_when_longer(retry_after: str, expected: float) -> None:
    wait = _wait(next_check_after_error(NOW, 60, 1, {"retry-after": retry_after}))
    assert wait == pytest.approx(expected, abs=1)


@pytest.mark.parametrize("value", ["²", "soon", "-5", "1e9", "", "Wed, 99 Foo 2026", "\x00", "١٢٣"])
def test_garbage_headers_fall_back_to_the_schedule(value: str) -> None:
    headers = {
        "retry-after": value,
        "cache-control": f"max-age={value}",
        "expires": value,
        "age": value,
    }
    assert 60 <= _wait(next_check_after_error(NOW, 60, 1, headers)) <= 60 * (1 + JITTER)
    assert (
        60 <= _wait(next_check_after_success(NOW, 60, headers)) <= MAX_CACHE_DELAY.total_seconds()
    )


@pytest.mark.parametrize(
    ("interval", "clamped"),
    [
        (float("nan"), 0.0),
        (0.0, 0.0),
        (-1.0, 0.0),  # no wait at all, never one in the past
        (float("inf"), MAX_INTERVAL.total_seconds()),
        (1e30, MAX_INTERVAL.total_seconds()),
    ],
)
def test_any_interval_is_clamped(interval: float, clamped: float) -> None:
    for when in (
        next_check_after_success(NOW, interval, {}),
        next_check_after_error(NOW, interval, 40),
    ):
        assert clamped <= _wait(when) <= clamped * (1 + JITTER)
