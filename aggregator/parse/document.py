"""Feed documents → :class:`ParsedFeed`: our parsers for JSON Feed and for plain
well-formed RSS 2.0 / Atom 1.0 (``fast_xml.py``), feedparser for everything else.

feedparser only ever receives bytes and the response headers, never a URL (it
would fetch it).  Its ``bozo`` flag becomes a ``ParseError`` unless the problem is
on the survivable list below.
"""

from __future__ import annotations

import dataclasses
import html
import io
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from aggregator.clean.redact import redact_url
from aggregator.clean.text import html_to_blocks
from aggregator.errors import ParseError
from aggregator.parse.fast_xml import NeedsFeedparser, read_plain_feed
from aggregator.parse.feedvalues import (
    FEED_URL,
    Text,
    entry_texts,
    person,
    ttl_minutes,
    utc_datetime,
    web_link,
)
from aggregator.parse.jsonfeed import looks_like_json, parse_json_feed
from aggregator.types import ParsedEntry, ParsedFeed, Person

# Problems feedparser shrugs off: the document still yields its entries as intended.
SURVIVABLE = (
    feedparser.CharacterEncodingOverride,  # declared encoding wrong, another one worked
    feedparser.NonXMLContentType,  # served as text/plain or text/html, but is a feed
)


def parse_feed(url: str, body: bytes, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse one feed document; raise ``ParseError`` naming ``url`` when it is unusable."""
    headers = dict(headers or {})
    feed_url = headers.pop(FEED_URL, None) or url
    if not body.strip():
        raise ParseError(url, "empty document")
    content_type = headers.get("content-type", "")
    if looks_like_json(body, content_type):
        return parse_json_feed(url, body)
    # The base for relative links: the server's Content-Location, relative to the URL.
    # Redacted: what resolves against it (links, ids, URLs in content) is published, and
    # must not carry the URL's password or API key.  Only fetching uses the whole URL.
    location = headers.get("content-location", "")
    base = redact_url(urljoin(url, location)) or ""
    id_base = redact_url(urljoin(feed_url, location)) or ""
    try:
        return read_plain_feed(body, headers, base, id_base)
    except NeedsFeedparser:
        pass  # anything unusual is feedparser's job
    return parse_with_feedparser(url, body, headers, base, id_base)


def parse_with_feedparser(
    url: str, body: bytes, headers: Mapping[str, str], base: str, id_base: str | None = None
) -> ParsedFeed:
    """The general path: any RSS/Atom/RDF dialect, ill-formed documents included."""
    content_type = headers.get("content-type", "")
    response_headers = {**headers, "content-location": base}
    try:
        # BytesIO, never bytes: feedparser would open() a body that names a local file.
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers=response_headers,
            sanitize_html=False,
            resolve_relative_uris=True,
        )
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
            raise ParseError(url, _not_a_feed(body, content_type, description))
    if not parsed.get("version") and not parsed.entries:
        raise ParseError(url, _not_a_feed(body, content_type, "no RSS, Atom or RDF root element"))
    feed = parsed.get("feed", {})
    version = str(parsed.get("version") or "")
    entries = tuple(_entry(e, feed, version) for e in parsed.entries)
    if id_base is not None and id_base != base:
        entries = _ids_against(id_base, body, headers, entries)
    return ParsedFeed(
        title=_text(feed.get("title")),
        link=_text(feed.get("link")),
        entries=entries,
        warning=warning,
        ttl_minutes=ttl_minutes(feed.get("ttl")),
    )


def _ids_against(
    id_base: str, body: bytes, headers: Mapping[str, str], entries: tuple[ParsedEntry, ...]
) -> tuple[ParsedEntry, ...]:
    """``entries`` with their ids as resolved against ``id_base``.  feedparser resolves
    ids against the one base it is given, so a moved feed's document (rare on this path)
    is read a second time for them; the entries come in the same order."""
    try:
        again = feedparser.parse(
            io.BytesIO(body),
            response_headers={**headers, "content-location": id_base},
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception:  # it read the document once: keep the ids of that reading
        return entries
    if len(again.entries) != len(entries):
        return entries
    return tuple(
        dataclasses.replace(entry, source_id=_text(other.get("id")))
        for entry, other in zip(entries, again.entries, strict=True)
    )


def _describe(problem: object) -> str:
    if problem is None:
        return "unknown problem"
    text = str(problem).strip().splitlines()[0] if str(problem).strip() else ""
    return f"{problem.__class__.__name__}: {text}" if text else problem.__class__.__name__


def _not_a_feed(body: bytes, content_type: str, description: str) -> str:
    head = body[:2048].lower()
    if "html" in content_type.lower() or b"<html" in head or b"<!doctype html" in head:
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
        when = utc_datetime(value) if isinstance(value, time.struct_time) else None
        if when is not None:
            return when
    return None


def _as_html(value: object, detail: Any) -> Text:
    """Markup as HTML: plain-text constructs (Atom type="text") are escaped, not trusted."""
    text = str(value or "")
    markup = "html" in str((detail or {}).get("type", "text/html"))
    return Text(text if markup else html.escape(text, quote=False), markup)


def _plain_title(entry: Any) -> str | None:
    title = entry.get("title")
    if title is None:
        return None
    kind = str((entry.get("title_detail") or {}).get("type", "text/plain"))
    if "html" in kind:
        return " ".join(html_to_blocks(str(title))) or None
    return _text(title)


def _display_name(source: Any) -> str | None:
    # author_detail.name: "Lena Ortiz", not feedparser's "Lena Ortiz (lena@…)".
    detail = source.get("author_detail") or {}
    return _text(detail.get("name")) or _text(source.get("author"))


def _people(source: Any) -> tuple[Person, ...]:
    details = [d for d in source.get("authors") or [] if isinstance(d, Mapping)]
    if not details and isinstance(source.get("author_detail"), Mapping):
        details = [source["author_detail"]]
    people = (
        person(_own(d, before, "name"), _own(d, before, "email"), d.get("href"))
        for d, before in zip(details, [{}, *details], strict=False)  # each with the one before
    )
    found = tuple(p for p in people if p is not None)
    if not found and _text(source.get("author")):
        return (Person(name=_text(source.get("author"))),)
    return found


def _own(detail: Mapping[str, Any], before: Mapping[str, Any], key: str) -> Any:
    """An author's name or e-mail address, unless it is the previous author's: feedparser
    copies those into each later author before reading its own (an author who gives no
    e-mail address gets the one before's).  Two authors truly sharing one lose it on the
    second."""
    value = detail.get(key)
    return None if value is not None and value == before.get(key) else value


def _authors(entry: Any, feed: Any, version: str) -> tuple[str | None, tuple[Person, ...]]:
    """The entry's own authors, else (Atom, RFC 4287 4.2.1) its ``<source>``'s, else the
    feed's.  Only Atom entries inherit: RSS's channel author is an editor."""
    sources = [entry]
    if version.startswith("atom"):
        named = "author_detail" in feed or "authors" in feed  # not some other "author"
        sources += [entry.get("source") or {}, feed if named else {}]
    for source in sources:
        people, name = _people(source), _display_name(source)
        if people or name:
            return name, people
    return None, ()


def _entry(entry: Any, feed: Any, version: str) -> ParsedEntry:
    given = [c for c in entry.get("content") or [] if c.get("value")]
    summary = entry.get("summary")
    if any(c["value"] == summary for c in given):
        summary = None  # feedparser's copy of a content into a missing summary, or the same
    texts = entry_texts(
        [_as_html(c["value"], c) for c in given],
        _as_html(summary, entry.get("summary_detail")) if summary else None,
    )
    author, authors = _authors(entry, feed, version)
    return ParsedEntry(
        source_id=_text(entry.get("id")),
        link=web_link(_text(entry.get("link")), _text(entry.get("id"))),
        title=_plain_title(entry),
        author=author,
        published=_date(entry, "published_parsed", "created_parsed", "updated_parsed"),
        updated=_date(entry, "updated_parsed"),
        content_html=texts.content_html,
        has_full_content=texts.has_full_content,
        summary_html=texts.summary_html,
        authors=authors,
    )
