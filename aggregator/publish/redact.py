"""What a feed's address may show in public: no credentials.

A feed URL may carry a password (``https://user:pass@host/feed``) or a key in its query
(``?apikey=…``, ``&token=…``, ``&sig=…``).  The daemon needs them to fetch the feed, so
they are stored and used as written; every output of the web face — ``/opml``,
``/api/feeds``, ``/api/items``, ``/api/clusters``, the ``/feeds`` and cluster pages, the
source and copies of ``/feed.rss|atom|json`` — shows the address through
:func:`redact_url`, the one rule, which drops the user-info and every secret-looking
query parameter (the parameter, not only its value: an empty ``apikey=`` still says a
key exists).
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aggregator.types import FeedView

__all__ = ["is_secret_param", "public_feed", "redact_url"]

_SECRET_NAME = re.compile(
    r"(?:^|[_.-])(?:key|sig|auth)$"  # key, api_key, x-auth, s.sig
    r"|password|passwd|pwd|secret|token|apikey|api[_-]?key|access[_-]?key|signature"
    r"|^(?:authorization|credentials?|session|sessionid|sid|jwt|code)$",
    re.IGNORECASE,
)


def is_secret_param(name: str) -> bool:
    """Whether a query parameter's name looks like it carries a credential."""
    return bool(_SECRET_NAME.search(name.strip()))


def redact_url(url: str | None) -> str | None:
    """``url`` without user-info and without secret-looking query parameters (the other
    parameters keep their order and spelling).  A URL without either comes back as is."""
    if not url or ("@" not in url and "?" not in url):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None  # not a URL we can take apart: nothing of it is shown
    netloc = parts.netloc.rpartition("@")[2] if "@" in parts.netloc else parts.netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not is_secret_param(k)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def public_feed(feed: FeedView) -> FeedView:
    """``feed`` as the web face shows it: its addresses redacted."""
    url = redact_url(feed.url) or ""
    fetch_url = redact_url(feed.fetch_url) or ""
    if url == feed.url and fetch_url == feed.fetch_url:
        return feed
    return dataclasses.replace(feed, url=url, fetch_url=fetch_url)
