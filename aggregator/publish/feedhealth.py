"""A feed's health in one word, for /api/feeds and the feeds page."""

from __future__ import annotations

from typing import Any

from aggregator.publish.views import feed_dict
from aggregator.types import FeedView

STATUSES = ("ok", "warning", "failing", "never-polled", "disabled")


def feed_status(feed: FeedView) -> str:
    """``ok``; ``warning`` (the last fetch worked but the document had a survivable
    problem, kept in ``last_error``); ``failing`` (consecutive errors); ``never-polled``;
    ``disabled``."""
    if feed.disabled:
        return "disabled"
    if feed.error_count > 0:
        return "failing"
    if feed.last_checked is None:
        return "never-polled"
    if feed.last_error:
        return "warning"
    return "ok"


def feed_health(feed: FeedView) -> dict[str, Any]:
    return {**feed_dict(feed), "status": feed_status(feed)}
