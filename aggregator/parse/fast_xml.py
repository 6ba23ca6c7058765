"""A fast parser for the plain, well-formed RSS 2.0 and Atom 1.0 documents most feeds are.

feedparser reads every feed ever written, and pays for it: about 1 ms per entry of
article HTML, most of it in pure-Python SAX handlers and in re-serialising each
entry's HTML to resolve its relative links.  This module reads the common case with
expat and a few C-level regular expressions, at a fraction of that, and produces the
same :class:`ParsedFeed` values as ``parse.py``'s feedparser path for the fields we
keep.  It is deliberately narrow: the moment a document holds anything it does not
understand exactly — a DOCTYPE, an encoding other than UTF-8, ``xml:base``, an element
outside the lists below, a field given twice, markup inside a text field, Atom XHTML
or out-of-line content — it gives up with :class:`NeedsFeedparser`, and the caller
hands the document to feedparser.  Giving up costs one expat pass; guessing wrong
would change an entry's identity, so every rule here errs toward giving up.

What "the same values" means, field by field (``tests/test_xmlfeed.py`` compares the
two paths on every bundled and test feed; ``bench/parse_agreement.py`` on a corpus):
identity (``source_id``), link, title, author and dates are equal; the entry HTML is
the source's markup with relative links made absolute, where feedparser re-serialises
it, so the two agree on text and on link targets, not byte for byte.
"""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin
from xml.parsers import expat

from feedparser.datetimes import _parse_date as feedparser_date  # identical date rules
from feedparser.mixin import _FeedParserMixin

from aggregator.clean.text import html_to_blocks
from aggregator.parse.feedvalues import (
    Text,
    entry_texts,
    person,
    ttl_minutes,
    utc_datetime,
    web_link,
)
from aggregator.types import ParsedEntry, ParsedFeed, Person

ATOM = "http://www.w3.org/2005/Atom"
XML_NS = "http://www.w3.org/XML/1998/namespace"
DC = "http://purl.org/dc/elements/1.1/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
_SEP = "\x1f"  # expat joins namespace URI and local name with this


_XML_LANG = f"{XML_NS}{_SEP}lang"
_ALLOWED_ATTRIBUTES = {
    "rss": frozenset({"version"}),
    "guid": frozenset({"isPermaLink"}),
    "title": frozenset({"type"}),
    "summary": frozenset({"type"}),
    "content": frozenset({"type"}),
    "link": frozenset({"href", "rel", "type", "hreflang", "title", "length"}),
}
"""Attributes an element we read (not skip) may carry, by local name; any other attribute
sends the document to feedparser.  RSS elements of the same names get a stricter check
where they are read (an RSS <title> takes no type, an RSS <link> no href)."""


class NeedsFeedparser(Exception):
    """The document is outside what this parser handles exactly; the reason says why."""


def _qname(namespace: str, local: str) -> str:
    return f"{namespace}{_SEP}{local}" if namespace else local


# -- what each element means --------------------------------------------------------------
# Fields of an entry (or of the feed) that we read.  The value names the field.
_RSS_ITEM_FIELDS = {
    "title": "title",
    "link": "link",
    "guid": "guid",
    "description": "summary",
    _qname(DC, "description"): "summary",
    "pubDate": "published",
    _qname(DC, "date"): "updated",
    "author": "author",
    _qname(DC, "creator"): "author",
    _qname(CONTENT, "encoded"): "content",
}
_RSS_CHANNEL_FIELDS = {"title": "title", "link": "link", "ttl": "ttl"}
_ATOM_ENTRY_FIELDS = {
    _qname(ATOM, "id"): "guid",
    _qname(ATOM, "title"): "title",
    _qname(ATOM, "published"): "published",
    _qname(ATOM, "updated"): "updated",
    _qname(ATOM, "summary"): "summary",
    _qname(ATOM, "content"): "content",
}
_ATOM_FEED_FIELDS = {_qname(ATOM, "title"): "title", _qname(ATOM, "id"): "guid"}

# Elements feedparser keeps only in fields we never read: skipped with their subtree.
_WFW = "http://wellformedweb.org/CommentAPI/"
_SLASH = "http://purl.org/rss/1.0/modules/slash/"
_SY = "http://purl.org/rss/1.0/modules/syndication/"
_MEDIA = "http://search.yahoo.com/mrss/"
_THR = "http://purl.org/syndication/thread/1.0"
_RSS_ITEM_IGNORED = frozenset(
    {
        "category",
        "comments",
        "enclosure",
        _qname(_WFW, "commentRss"),
        _qname(_SLASH, "comments"),
        _qname(_MEDIA, "thumbnail"),
    }
)
_RSS_CHANNEL_IGNORED = frozenset(
    {
        "description",
        "language",
        "copyright",
        "lastBuildDate",
        "pubDate",
        "generator",
        "docs",
        "managingEditor",
        "webMaster",
        "category",
        "cloud",
        "image",
        "textInput",
        "skipHours",
        "skipDays",
        "rating",
        _qname(_SY, "updatePeriod"),
        _qname(_SY, "updateFrequency"),
        _qname(_SY, "updateBase"),
        _qname(DC, "language"),
        _qname(DC, "rights"),
    }
)
_ATOM_ENTRY_IGNORED = frozenset(
    {
        _qname(ATOM, "category"),
        _qname(ATOM, "contributor"),
        _qname(ATOM, "rights"),
        _qname(_THR, "total"),
        _qname(_THR, "in-reply-to"),
        _qname(_MEDIA, "thumbnail"),
    }
)
_ATOM_FEED_IGNORED = frozenset(
    {
        _qname(ATOM, "updated"),
        _qname(ATOM, "subtitle"),
        _qname(ATOM, "rights"),
        _qname(ATOM, "generator"),
        _qname(ATOM, "icon"),
        _qname(ATOM, "logo"),
        _qname(ATOM, "category"),
        _qname(ATOM, "contributor"),
    }
)
_PERSON = frozenset({_qname(ATOM, "name"), _qname(ATOM, "email"), _qname(ATOM, "uri")})
_IGNORED_CHILDREN = {
    "image": frozenset({"url", "title", "link", "width", "height", "description"}),
    "textInput": frozenset({"title", "description", "name", "link"}),
    "skipHours": frozenset({"hour"}),
    "skipDays": frozenset({"day"}),
    _qname(ATOM, "contributor"): _PERSON,
}
"""The children an ignored element may have; any other child sends the document to feedparser."""
_ATOM_AUTHOR_PARTS = {
    _qname(ATOM, "name"): "name",
    _qname(ATOM, "email"): "email",
    _qname(ATOM, "uri"): "uri",
}
_ATOM_TEXT_TYPES = {
    None: "text/plain",
    "text": "text/plain",
    "html": "text/html",
    "text/plain": "text/plain",
    "text/html": "text/html",
}
"""Atom text-construct types we render; xhtml (inline XML) and other media go to feedparser."""

_ACCEPTED_MEDIA_TYPES = frozenset(
    {
        "",
        "application/rss+xml",
        "application/atom+xml",
        "application/xml",
        "text/xml",
        "application/x-rss+xml",
        "application/rdf+xml",
    }
)
_XML_DECLARATION = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


@dataclass
class _Entry:
    """What was read of one entry (or of the feed itself), before interpretation."""

    values: dict[str, str] = field(default_factory=dict)
    """Field name → stripped text."""
    types: dict[str, str] = field(default_factory=dict)
    """Field name → media type (text/plain or text/html) of its text."""
    guid_is_link: bool = False
    author: dict[str, str] = field(default_factory=dict)
    """Atom author parts: name, email, uri."""


# -- the parser ---------------------------------------------------------------------------


def read_plain_feed(
    body: bytes, headers: Mapping[str, str], base: str, id_base: str | None = None
) -> ParsedFeed:
    """Read ``body`` as a plain RSS 2.0 / Atom 1.0 document, or raise :class:`NeedsFeedparser`.

    ``base`` is the URL relative links resolve against (the document's URL, or its
    Content-Location), the same base feedparser is given; ``id_base`` (default: ``base``)
    the one relative entry ids resolve against.
    """
    _check_encoding(body, headers)
    handler = _Handler(base, id_base or base)
    parser = expat.ParserCreate("utf-8", namespace_separator=_SEP)
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.ordered_attributes = False
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.text
    parser.StartDoctypeDeclHandler = _refuse("a DOCTYPE")
    parser.ProcessingInstructionHandler = _refuse("a processing instruction")
    parser.EntityDeclHandler = _refuse("an entity declaration")
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise NeedsFeedparser(f"not well-formed XML: {exc}") from None
    return handler.result()


def _refuse(what: str) -> Callable[..., None]:
    def handler(*_args: object) -> None:
        raise NeedsFeedparser(f"the document has {what}")

    return handler


def _check_encoding(body: bytes, headers: Mapping[str, str]) -> None:
    """UTF-8 that every reading of RFC 3023 agrees on, or give up.

    feedparser weighs the HTTP charset, the XML declaration and byte-order marks
    against each other (``text/xml`` without a charset even means US-ASCII); rather
    than repeat those rules we only take the case where they all say UTF-8.
    """
    media_type, _, params = headers.get("content-type", "").partition(";")
    media_type = media_type.strip().lower()
    if media_type not in _ACCEPTED_MEDIA_TYPES:
        raise NeedsFeedparser(f"content type {media_type!r}")
    charset = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.I)
    if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
        raise NeedsFeedparser(f"charset {charset.group(1)}")
    if media_type == "text/xml" and not charset:
        raise NeedsFeedparser("text/xml without a charset")
    head = body[3:] if body.startswith(b"\xef\xbb\xbf") else body
    # A NUL among the first bytes: UTF-16 or UTF-32, with or without a byte-order mark.
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4]:
        raise NeedsFeedparser("UTF-16/32 document")
    declared = _XML_DECLARATION.match(head.lstrip()[:200])
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise NeedsFeedparser(f"declared encoding {declared.group(1).decode('ascii')}")


class _Handler:
    """expat callbacks: a small state machine over root → channel/feed → item/entry."""

    def __init__(self, base: str, id_base: str) -> None:
        self.base = base
        self.id_base = id_base
        self.kind = ""  # "rss" or "atom", from the root element
        self.path: list[str] = []
        self.skip_depth = 0  # >0 while inside an ignored element
        self.skip_children: frozenset[str] = frozenset()  # what that element may contain
        self.feed = _Entry()
        self.entries: list[_Entry] = []
        self.entry: _Entry | None = None
        self.field: str | None = None  # the field whose text is being collected
        self.in_author = False
        self.pieces: list[str] = []

    # expat callbacks ------------------------------------------------------------------

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.skip_depth:
            # An ignored element holds only the children we know feedparser files
            # away from the fields we read (an <image>'s <title> is not the feed's).
            if self.skip_depth > 1 or name not in self.skip_children:
                raise NeedsFeedparser(f"<{_local(name)}> inside an ignored element")
            self.skip_depth += 1
            return
        if self.field is not None:
            raise NeedsFeedparser(f"markup inside <{_local(self.path[-1])}>")
        attrs = {a: v for a, v in attrs.items() if a != _XML_LANG}  # xml:lang changes nothing
        for attribute in attrs:
            # feedparser takes a base URL from xml:base, and from any attribute named
            # "base" in any namespace or case: never ours to guess.
            if _local(attribute).lower() == "base" or attribute.startswith(XML_NS):
                raise NeedsFeedparser(f"attribute {_local(attribute)}")
        depth = len(self.path)
        self.path.append(name)
        if depth == 0:
            self._root(name, attrs)
        elif self.kind == "rss":
            self._rss(name, attrs, depth)
        else:
            self._atom(name, attrs, depth)
        if not self.skip_depth:
            # Elements we read take only the attributes we understand: feedparser honours
            # many others (mode="base64", type="html" on RSS, url= on a link…).
            allowed = _ALLOWED_ATTRIBUTES.get(_local(name), frozenset())
            for attribute in attrs:
                if attribute not in allowed:
                    raise NeedsFeedparser(f"attribute {_local(attribute)} on <{_local(name)}>")

    def end(self, name: str) -> None:
        if self.skip_depth:
            self.skip_depth -= 1
            if self.skip_depth:
                return
        elif self.field is not None:
            self._store_field()
        elif name in (_qname(ATOM, "author"),):
            self.in_author = False
        elif name in ("item", _qname(ATOM, "entry")) and self.entry is not None:
            self.entries.append(self.entry)
            self.entry = None
        self.path.pop()

    def text(self, data: str) -> None:
        if self.field is not None:
            self.pieces.append(data)

    # element rules ---------------------------------------------------------------------

    def _root(self, name: str, attrs: dict[str, str]) -> None:
        if name == "rss" and attrs.get("version", "2.0").strip() in ("2.0", "0.91", "0.92"):
            self.kind = "rss"
        elif name == _qname(ATOM, "feed"):
            self.kind = "atom"
        else:
            raise NeedsFeedparser(f"root element <{_local(name)}>")

    def _rss(self, name: str, attrs: dict[str, str], depth: int) -> None:
        if depth == 1:
            if name != "channel" or attrs:
                raise NeedsFeedparser(f"<{_local(name)}> outside <channel>, or with attributes")
        elif depth == 2:
            if name == "item":
                if attrs:
                    raise NeedsFeedparser("attributes on <item>")
                self.entry = _Entry()
            elif name in _RSS_CHANNEL_FIELDS:
                if attrs:
                    raise NeedsFeedparser(f"attributes on <{_local(name)}>")
                self._begin(self.feed, _RSS_CHANNEL_FIELDS[name], "text/plain")
            elif (
                name == _qname(ATOM, "link")
                and attrs.get("rel") not in (None, "alternate")
                and attrs.get("href")
                and set(attrs) <= _ALLOWED_ATTRIBUTES["link"]
                and attrs["rel"] == attrs["rel"].strip().lower()
            ):
                self._ignore(name)  # rel="self", "hub", "next"…: never the feed's link
            elif name in _RSS_CHANNEL_IGNORED:
                self._ignore(name)
            else:
                raise NeedsFeedparser(f"channel element <{_local(name)}>")
        elif depth == 3 and self.entry is not None:
            if name in _RSS_ITEM_FIELDS:
                kind = _RSS_ITEM_FIELDS[name]
                if any(a != "isPermaLink" or kind != "guid" for a in attrs):
                    raise NeedsFeedparser(f"attributes on <{_local(name)}>")
                self._begin(self.entry, kind, _RSS_TYPES.get(kind, "text/plain"))
                if kind == "guid":
                    self.entry.guid_is_link = attrs.get("isPermaLink", "true") == "true"
                    if any(a.lower() == "ispermalink" and a != "isPermaLink" for a in attrs):
                        raise NeedsFeedparser("isPermaLink in another case")
            elif name in _RSS_ITEM_IGNORED:
                self._ignore(name)
            else:
                raise NeedsFeedparser(f"item element <{_local(name)}>")
        else:
            raise NeedsFeedparser(f"<{_local(name)}> nested at depth {depth}")

    def _atom(self, name: str, attrs: dict[str, str], depth: int) -> None:
        target = self.entry if depth >= 2 and self.entry is not None else self.feed
        if self.in_author:
            part = _ATOM_AUTHOR_PARTS.get(name)
            if part is None:
                raise NeedsFeedparser(f"author element <{_local(name)}>")
            self._begin(target, "author." + part, "text/plain")
            return
        if depth == 1 and name == _qname(ATOM, "entry"):
            self.entry = _Entry()
            return
        if depth not in (1, 2) or (depth == 2 and self.entry is None):
            raise NeedsFeedparser(f"<{_local(name)}> nested at depth {depth}")
        fields = _ATOM_ENTRY_FIELDS if depth == 2 else _ATOM_FEED_FIELDS
        ignored = _ATOM_ENTRY_IGNORED if depth == 2 else _ATOM_FEED_IGNORED
        if name == _qname(ATOM, "link"):
            self._atom_link(target, attrs)
            self._ignore(name)
        elif name == _qname(ATOM, "author"):
            if target.author or "author" in target.values:
                raise NeedsFeedparser("more than one author")
            target.values["author"] = ""
            self.in_author = True
        elif name in fields:
            kind = fields[name]
            if "src" in attrs:
                raise NeedsFeedparser("out-of-line content")
            media = _ATOM_TEXT_TYPES.get(attrs.get("type"))
            if media is None:
                raise NeedsFeedparser(f"{kind} of type {attrs.get('type')!r}")
            self._begin(target, kind, media)
        elif name in ignored:
            self._ignore(name)
        else:
            raise NeedsFeedparser(f"{'entry' if depth == 2 else 'feed'} element <{_local(name)}>")

    def _ignore(self, name: str) -> None:
        self.skip_depth = 1
        self.skip_children = _IGNORED_CHILDREN.get(name, frozenset())

    def _atom_link(self, target: _Entry, attrs: dict[str, str]) -> None:
        # Like feedparser: rel defaults to alternate and type to text/html; the last
        # alternate HTML link is the link.
        href = attrs.get("href")
        if href is None:
            raise NeedsFeedparser("<link> without href")
        rel = attrs.get("rel", "alternate")
        media = attrs.get("type", "application/atom+xml" if rel == "self" else "text/html")
        if rel != rel.strip().lower() or media != media.strip().lower():
            raise NeedsFeedparser("<link> rel or type not in lower case")  # feedparser folds
        if rel == "alternate" and media in ("text/html", "application/xhtml+xml", "html", "xhtml"):
            target.values["link"] = _absolute(self.base, href)

    def _begin(self, target: _Entry, kind: str, media: str) -> None:
        key = kind
        if key in target.values or key.removeprefix("author.") in target.author:
            raise NeedsFeedparser(f"{kind} given twice")
        self.field = key
        self.pieces = []
        target.types[key] = media
        self._target = target

    def _store_field(self) -> None:
        assert self.field is not None
        target, key = self._target, self.field
        value = _text_fixups("".join(self.pieces).strip())
        if key.startswith("author."):
            target.author[key.removeprefix("author.")] = value
        else:
            target.values[key] = value
        self.field = None
        self.pieces = []

    # result ----------------------------------------------------------------------------

    def result(self) -> ParsedFeed:
        if not self.kind:
            raise NeedsFeedparser("no root element")
        feed = self.feed
        feed_author = self._atom_author(feed) if self.kind == "atom" else None
        entries = tuple(self._entry(e, feed_author) for e in self.entries)
        title = feed.values.get("title")
        if title and (
            feed.types.get("title") == "text/html"
            or (self.kind == "rss" and _FeedParserMixin.looks_like_html(title))
        ):
            raise NeedsFeedparser("feed title in HTML")  # feedparser re-serialises it
        link, _ = self._link_and_id(feed)
        return ParsedFeed(
            title=title or None,
            link=link or None,
            entries=entries,
            warning=None,
            ttl_minutes=ttl_minutes(feed.values.get("ttl")),
        )

    def _link_and_id(self, entry: _Entry) -> tuple[str | None, str | None]:
        """feedparser's link and id: the id is made absolute when it may be a link (an
        RSS guid not marked ``isPermaLink="false"``, every Atom id), and stands in for
        a missing link."""
        values = entry.values
        source_id = raw_id = values.get("guid")
        id_is_link = entry.guid_is_link if self.kind == "rss" else True
        if source_id and id_is_link:
            # Against the feed's own URL, not wherever it moved: an id must not change
            # when the feed does.
            source_id = _absolute(self.id_base, source_id)
        link = values.get("link")
        if link and self.kind == "rss":
            link = _absolute(self.base, link)
            # feedparser's repair of "&name;" in a link's query: for entries it first turns
            # "&amp;" into "&", for the feed's own link it does not.
            link = (
                _fix_link_query(link) if entry is not self.feed else _ENTITY_LEFT.sub(r"&\1", link)
            )
        if link is None and raw_id and id_is_link:
            link = _absolute(self.base, raw_id)
        return link, source_id

    def _atom_author(self, entry: _Entry) -> tuple[str | None, Person] | None:
        parts = entry.author
        uri = parts.get("uri")
        who = person(
            parts.get("name"), parts.get("email"), _absolute(self.base, uri) if uri else None
        )
        if who is None:
            return None
        return (who.name or who.email or None), who

    def _entry(self, entry: _Entry, feed_author: tuple[str | None, Person] | None) -> ParsedEntry:
        values = entry.values
        link, source_id = self._link_and_id(entry)
        if self.kind == "rss":
            author, authors = _rss_author(values.get("author"))
        else:
            # The entry's author, else the feed's (a <source> sends the entry to feedparser).
            own = self._atom_author(entry) or feed_author
            author, authors = (own[0], (own[1],)) if own else (None, ())
        content = self._text(values.get("content"), entry.types.get("content"))
        summary = self._text(values.get("summary"), entry.types.get("summary"))
        texts = entry_texts([content] if content else [], summary)
        return ParsedEntry(
            source_id=source_id or None,
            link=web_link(link or None, source_id or None),
            title=self._title(values.get("title"), entry.types.get("title")),
            author=author,
            published=_date(values.get("published")) or _date(values.get("updated")),
            updated=_date(values.get("updated")),
            content_html=texts.content_html,
            has_full_content=texts.has_full_content,
            summary_html=texts.summary_html,
            authors=authors,
        )

    def _title(self, value: str | None, media: str | None) -> str | None:
        if value is None:
            return None
        if media == "text/html" or (self.kind == "rss" and _FeedParserMixin.looks_like_html(value)):
            return " ".join(html_to_blocks(value)) or None
        return value or None

    def _text(self, value: str | None, media: str | None) -> Text | None:
        if not value:
            return None
        if media == "text/html":
            return Text(absolute_links(value, self.base), True)
        return Text(html.escape(value, quote=False), False)


_RSS_TYPES = {"summary": "text/html", "content": "text/html"}


def _local(name: str) -> str:
    return name.rpartition(_SEP)[2]


# -- values -------------------------------------------------------------------------------

# feedparser's last two touches on every text value of a UTF-8 document: UTF-8 that was
# decoded as Latin-1 somewhere upstream is repaired, and C1 control characters are
# read as the Windows-1252 characters the author meant.
_C1_AS_CP1252 = {
    code: bytes([code]).decode("cp1252", "ignore") or chr(code) for code in range(0x80, 0xA0)
}

_C1 = re.compile("[\x80-\x9f]")


def _text_fixups(value: str) -> str:
    if value.isascii():
        return value
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("iso-8859-1").decode("utf-8")
    # translate() walks every character in Python-level lookups: only when needed.
    return value.translate(_C1_AS_CP1252) if _C1.search(value) else value


_SCHEME_SLASHES = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)/*")


def _absolute(base: str, uri: str) -> str:
    """``uri`` resolved against ``base`` as feedparser does (extra slashes after the
    scheme dropped; a URL urllib cannot parse becomes empty)."""
    uri = _SCHEME_SLASHES.sub(r"\1", uri, count=1)
    try:
        return urljoin(base, uri)
    except ValueError:
        return ""


_ENTITY_LEFT = re.compile(r"&([A-Za-z0-9_]+);")


def _fix_link_query(link: str) -> str:
    # feedparser undoes a common publishing bug, "&amp;" left in a link's query.
    return _ENTITY_LEFT.sub(r"&\1", link.replace("&amp;", "&"))


_EMAIL = re.compile(
    r"[A-Za-z0-9_.+-]+@(?:\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.|"
    r"(?:[A-Za-z0-9-]+\.)+)(?:[A-Za-z]{2,4}|[0-9]{1,3})\]?(?:\?subject=\S+)?"
)


def _rss_author(value: str | None) -> tuple[str | None, tuple[Person, ...]]:
    """The name in "lena@example.com (Lena Ortiz)" or "Lena Ortiz <lena@…>", as feedparser
    finds it: the first e-mail-like run and the brackets around it removed; with no name
    left, the value as written.  With it, the author's name and e-mail address."""
    if not value:
        return None, ()
    email = _EMAIL.search(value)
    if email is None:
        return value, (Person(name=value),)
    name = value.replace(email.group(0), "")
    for empty in ("()", "<>", "&lt;&gt;"):
        name = name.replace(empty, "")
    name = name.strip()
    name = name[1:] if name.startswith("(") else name
    name = name[:-1] if name.endswith(")") else name
    name = name.strip()
    return name or value, (Person(name=name or None, email=email.group(0)),)


def _date(value: str | None) -> datetime | None:
    return utc_datetime(feedparser_date(value)) if value else None


# -- links inside entry HTML --------------------------------------------------------------

_URL_NAMES = frozenset(
    {
        "href",
        "src",
        "cite",
        "poster",
        "background",
        "action",
        "longdesc",
        "usemap",
        "codebase",
        "data",
        "classid",
        "profile",
    }
)
# A start tag, quote-aware (a ">" inside a quoted value does not end it).  Every
# alternative starts with a different character, so matching stays linear in the input
# however a hostile document nests them.
_START_TAG = re.compile(r"""<[A-Za-z][^\s<>"'/]*(?:[^<>"']|"[^"]*"|'[^']*')*>""")
# One attribute of a start tag: name, then an optional value in one of three forms.
_ATTRIBUTE = re.compile(
    r"""(\s+)([^\s"'<>/=]+)(?:(\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s"'<>`]+)))?"""
)
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def absolute_links(markup: str, base: str) -> str:
    """``markup`` with the URL attributes of its tags resolved against ``base``."""
    if not base or "=" not in markup:
        return markup

    def attribute(match: re.Match[str]) -> str:
        space, name, equals, double, single, bare = match.groups()
        if equals is None or name.lower() not in _URL_NAMES:
            return match.group(0)
        raw = double if double is not None else single if single is not None else bare
        value = html.unescape(raw).strip()
        if (
            _ABSOLUTE.match(value)
            and "//" not in value[:12]
            and not value[:6].lower().startswith(("http:", "https:"))
        ):
            return match.group(0)  # mailto:, data:, javascript: … left for the sanitiser
        resolved = _absolute(base, value)
        if resolved == value:
            return match.group(0)
        return f'{space}{name}{equals}"{html.escape(resolved, quote=True)}"'

    def tag(match: re.Match[str]) -> str:
        text = match.group(0)
        return _ATTRIBUTE.sub(attribute, text) if "=" in text else text

    return _START_TAG.sub(tag, markup)
