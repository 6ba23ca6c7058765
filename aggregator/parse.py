"""Feed documents → :class:`ParsedFeed`: feedparser for RSS/Atom/RDF, our reader for JSON Feed.

feedparser only ever receives bytes and the response headers, never a URL (it
would fetch it).  Its ``bozo`` flag becomes a ``ParseError`` unless the problem is
on the survivable list below.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser

from aggregator.errors import ParseError
from aggregator.jsonfeed import looks_like_json, parse_json_feed
from aggregator.types import ParsedEntry, ParsedFeed

# Problems a reader shrugs off: the document still yields its entries as intended.
SURVIVABLE = (
    feedparser.CharacterEncodingOverride,  # declared encoding wrong, another one worked
    feedparser.NonXMLContentType,  # served as text/plain or text/html, but is a feed
)


def parse_feed(url: str, body: bytes, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse one feed document; raise ``ParseError`` naming ``url`` when it is unusable."""
    headers = dict(headers or {})
    if not body.strip():
        raise ParseError(url, "empty document")
    content_type = headers.get("content-type", "")
    if looks_like_json(body, content_type):
        return parse_json_feed(url, body)
    try:
        parsed = feedparser.parse(body, response_headers=headers or {"content-location": url},
                                  sanitize_html=True, resolve_relative_uris=True)
    except Exception as exc:  # feedparser's own bugs must not stop a poll
        raise ParseError(url, f"parser failure: {exc.__class__.__name__}: {exc}") from exc
    warning = None
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        description = _describe(problem)
        if isinstance(problem, feedparser.NonXMLContentType):
            warning = None  # a wrong Content-Type says nothing about the feed itself
        elif isinstance(problem, SURVIVABLE):
            warning = description
        elif parsed.entries and parsed.get("version"):
            # The lenient parser recovered entries from a broken document: keep them,
            # and say what was wrong on the feed.
            warning = f"recovered from: {description}"
        else:
            raise ParseError(url, _not_a_feed(parsed, description))
    if not parsed.get("version") and not parsed.entries:
        raise ParseError(url, _not_a_feed(parsed, "no RSS, Atom or RDF root element"))
    feed = parsed.get("feed", {})
    entries = tuple(_entry(e) for e in parsed.entries)
    return ParsedFeed(title=_text(feed.get("title")), link=_text(feed.get("link")),
                      entries=entries, warning=warning)


def _describe(problem: object) -> str:
    if problem is None:
        return "unknown problem"
    text = str(problem).strip().splitlines()[0] if str(problem).strip() else ""
    return f"{problem.__class__.__name__}: {text}" if text else problem.__class__.__name__


def _not_a_feed(parsed: Any, description: str) -> str:
    content_type = str(parsed.get("headers", {}).get("content-type", ""))
    if "html" in content_type or "<html" in str(parsed.get("feed", {}).get("summary", "")):
        return f"not a feed (an HTML page?): {description}"
    return f"not a usable feed: {description}"


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _date(entry: Any, *keys: str) -> datetime | None:
    for key in keys:
        # dict.get: feedparser's own .get maps updated→published with a deprecation warning.
        value = dict.get(entry, key)
        if isinstance(value, time.struct_time):
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _entry(entry: Any) -> ParsedEntry:
    contents = [c for c in entry.get("content") or [] if c.get("value")]
    html_contents = [c for c in contents if "html" in str(c.get("type", "html"))] or contents
    full = max((str(c["value"]) for c in html_contents), key=len, default="")
    summary = str(entry.get("summary") or "")
    author = entry.get("author")
    return ParsedEntry(
        source_id=_text(entry.get("id")),
        link=_text(entry.get("link")),
        title=_text(entry.get("title")),
        author=_text(author),
        published=_date(entry, "published_parsed", "created_parsed", "updated_parsed"),
        updated=_date(entry, "updated_parsed"),
        content_html=full or summary,
        has_full_content=bool(full) and len(full) >= len(summary),
    )
