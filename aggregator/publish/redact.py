"""What a feed's address may show in public: no credentials.

A feed URL may carry a password (``https://user:pass@host/feed``) or a key in its query
(``?apikey=…``, ``&token=…``, ``&sig=…``).  The daemon needs them to fetch the feed, so
they are stored and used as written; every output of the web face — ``/opml``,
``/api/feeds``, ``/api/items``, ``/api/clusters``, the ``/feeds`` and cluster pages, the
source and copies of ``/feed.rss|atom|json`` — shows the address through
:func:`redact_url`.  The rule itself is :mod:`aggregator.clean.redact`'s (the parser
applies it too, to the base of relative links); it is re-exported here for the web face.
"""

from __future__ import annotations

import dataclasses

from aggregator.clean.redact import is_secret_param, redact_url
from aggregator.types import FeedView

__all__ = ["is_secret_param", "public_feed", "redact_url"]


def public_feed(feed: FeedView) -> FeedView:
    """``feed`` as the web face shows it: its addresses redacted."""
    url = redact_url(feed.url) or ""
    fetch_url = redact_url(feed.fetch_url) or ""
    if url == feed.url and fetch_url == feed.fetch_url:
        return feed
    return dataclasses.replace(feed, url=url, fetch_url=fetch_url)
