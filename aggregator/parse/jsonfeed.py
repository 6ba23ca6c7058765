"""JSON Feed 1.0 / 1.1 (https://jsonfeed.org/version/1.1) → :class:`ParsedFeed`.

feedparser does not read JSON Feed, so this small parser does, with the same
output type and the same error policy.  Values of the wrong type are dropped and
named in the feed's warning; texts and authors follow the rules the XML readers share
(:mod:`aggregator.parse.feedvalues`).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from html import escape
from typing import Any

import nh3

from aggregator.errors import ParseError
from aggregator.parse.feedvalues import Text, entry_texts, person
from aggregator.types import ParsedEntry, ParsedFeed, Person

log = logging.getLogger(__name__)

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
    values = _Values()
    feed_authors = _authors(doc, "", values)
    entries = []
    for n, item in enumerate(items):
        if isinstance(item, dict):
            entries.append(_entry(item, f"items[{n}].", feed_authors, values))
        else:
            values.wrong(f"items[{n}]", item)
    title = values.string(doc, "title", "")
    link = values.string(doc, "home_page_url", "")
    warning = values.warning()
    if warning:
        log.debug("event=json-feed-values url=%s %s", url, warning)
    return ParsedFeed(title=title, link=link, entries=tuple(entries), warning=warning)


_MOST_NOTED = 5
"""How many wrong values the warning names (the rest are counted)."""


class _Values:
    """Typed reads of a JSON Feed: a value of the wrong type is dropped and noted, never
    turned into text (``"url": 1.2`` is no link, ``"title": 1000`` no title)."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def wrong(self, where: str, value: object) -> None:
        self.notes.append(f"{where} ({_json_type(value)})")

    def string(self, obj: dict[str, Any], key: str, where: str) -> str | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.wrong(where + key, value)
            return None
        return value.strip() or None

    def identifier(self, obj: dict[str, Any], key: str, where: str) -> str | None:
        # "If an id is presented as a number or other type, a JSON Feed reader must
        # coerce it to a string" (1.1): a number is kept as text, anything else dropped.
        value = obj.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return self.string(obj, key, where)

    def warning(self) -> str | None:
        if not self.notes:
            return None
        named = ", ".join(self.notes[:_MOST_NOTED])
        more = len(self.notes) - _MOST_NOTED
        tail = f" and {more} more" if more > 0 else ""
        return f"JSON Feed values of the wrong type ignored: {named}{tail}"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _date(text: str | None) -> datetime | None:
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


def _authors(obj: dict[str, Any], where: str, values: _Values) -> tuple[Person, ...]:
    """``authors`` (1.1), else ``author`` (1.0): each an object of name, url and avatar;
    a ``mailto:`` URL also gives the e-mail address."""
    listed = obj.get("authors")
    if listed is not None and not isinstance(listed, list):
        values.wrong(where + "authors", listed)
        listed = None
    found: list[Person] = []
    for n, author in enumerate(listed or []):
        at = f"{where}authors[{n}]"
        if not isinstance(author, dict):
            values.wrong(at, author)
        elif who := _person(author, at + ".", values):
            found.append(who)
    if found:
        return tuple(found)
    single = obj.get("author")
    if single is None:
        return ()
    if not isinstance(single, dict):
        values.wrong(where + "author", single)
        return ()
    who = _person(single, where + "author.", values)
    return (who,) if who else ()


def _person(author: dict[str, Any], where: str, values: _Values) -> Person | None:
    name = values.string(author, "name", where)
    url = values.string(author, "url", where)
    email = (
        url[len("mailto:") :].split("?")[0] or None if url and url.startswith("mailto:") else None
    )
    return person(name, email, url)


def _display(authors: tuple[Person, ...]) -> str | None:
    names = [a.name for a in authors if a.name]
    if names:
        return ", ".join(names)
    return next((a.email for a in authors if a.email), None)


def _entry(
    item: dict[str, Any], where: str, feed_authors: tuple[Person, ...], values: _Values
) -> ParsedEntry:
    html = values.string(item, "content_html", where)
    text = values.string(item, "content_text", where)
    summary = values.string(item, "summary", where)
    contents = []
    if html:
        # Cleaned here as it always was; RSS and Atom markup is stored as sent, and every
        # format's markup is sanitised again where it is shown (clean/sanitize.py).
        contents.append(Text(nh3.clean(html), True))
    if text:
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p)
        contents.append(Text(paragraphs, False))
    texts = entry_texts(contents, Text(escape(summary), False) if summary else None)
    # JSON Feed 1.1: the top-level authors are those of the items that give none.
    authors = _authors(item, where, values) or feed_authors
    link = values.string(item, "url", where)
    return ParsedEntry(
        source_id=values.identifier(item, "id", where),
        link=link or values.string(item, "external_url", where),
        title=values.string(item, "title", where),
        author=_display(authors),
        published=_date(values.string(item, "date_published", where)),
        updated=_date(values.string(item, "date_modified", where)),
        content_html=texts.content_html,
        has_full_content=texts.has_full_content,
        summary_html=texts.summary_html,
        authors=authors,
    )
