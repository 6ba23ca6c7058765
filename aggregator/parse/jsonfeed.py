"""JSON Feed 1.0 / 1.1 (https://jsonfeed.org/version/1.1) → :class:`ParsedFeed`.

feedparser does not read JSON Feed, so this small parser does, with the same
output type and the same error policy.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any

import nh3

from aggregator.errors import ParseError
from aggregator.types import ParsedEntry, ParsedFeed

VERSION_PREFIX = "https://jsonfeed.org/version/"


def looks_like_json(body: bytes, content_type: str = "") -> bool:
    if "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def parse_json_feed(url: str, body: bytes) -> ParsedFeed:
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ParseError(url, f"JSON Feed is not UTF-8: {exc.reason}") from exc
    except json.JSONDecodeError as exc:
        raise ParseError(
            url, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise ParseError(url, "JSON nested too deeply") from exc
    if not isinstance(doc, dict):
        raise ParseError(url, "JSON Feed must be an object")
    version = doc.get("version")
    if not isinstance(version, str) or not version.startswith(VERSION_PREFIX):
        raise ParseError(url, f"not a JSON Feed (version is {version!r})")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError(url, "JSON Feed has no items list")
    feed_author = _author(doc)
    entries = tuple(_entry(item, feed_author) for item in items if isinstance(item, dict))
    return ParsedFeed(
        title=_str(doc.get("title")), link=_str(doc.get("home_page_url")), entries=entries
    )


def _str(value: object) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None


def _date(value: object) -> datetime | None:
    text = _str(value)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is past the last UTC datetime
        return None


def _author(obj: dict[str, Any]) -> str | None:
    authors = obj.get("authors")  # 1.1
    if isinstance(authors, list):
        names = [_str(a.get("name")) for a in authors if isinstance(a, dict)]
        joined = ", ".join(n for n in names if n)
        if joined:
            return joined
    author = obj.get("author")  # 1.0
    return _str(author.get("name")) if isinstance(author, dict) else None


def _entry(item: dict[str, Any], feed_author: str | None) -> ParsedEntry:
    html = _str(item.get("content_html"))
    text = _str(item.get("content_text"))
    summary = _str(item.get("summary"))
    if html:
        # Feed-supplied markup is untrusted: RSS/Atom get feedparser's sanitiser, this nh3.
        content, full = nh3.clean(html), True
    elif text:
        content, full = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p), True
    else:
        content, full = escape(summary or ""), False
    return ParsedEntry(
        source_id=_str(item.get("id")),
        link=_str(item.get("url")) or _str(item.get("external_url")),
        title=_str(item.get("title")),
        author=_author(item) or feed_author,
        published=_date(item.get("date_published")),
        updated=_date(item.get("date_modified")),
        content_html=content,
        has_full_content=full,
    )
