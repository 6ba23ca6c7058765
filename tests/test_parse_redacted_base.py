"""Relative links, ids and the URLs inside content resolve against the document's URL
without its credentials (issue 18, defect 3): what they resolve to is published.  For a
URL without credentials nothing changes — the stored ids of such feeds stay as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

import pytest

from aggregator.parse import document
from aggregator.parse.document import parse_feed, parse_with_feedparser
from aggregator.parse.fast_xml import NeedsFeedparser, read_plain_feed
from aggregator.parse.feedvalues import FEED_URL
from aggregator.types import ParsedFeed

RSS = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
    b"<channel><title>T</title><link>/home</link><description>d</description>"
    b"<item><title>One</title><link>/story/1</link><guid>g1</guid>"
    b'<content:encoded><![CDATA[<p>Text <img src="/img.png"> <a href="#notes">n</a> '
    b'<a href="?page=2">p</a> <a href="other.html">o</a></p>]]></content:encoded></item>'
    b'<item><title>Two</title><guid isPermaLink="false">plain-2</guid>'
    b'<description>&lt;a href="#top"&gt;top&lt;/a&gt;</description></item>'
    b"</channel></rss>"
)
ATOM = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>feed-id</id>'
    b'<link href="/home"/><updated>2026-01-01T00:00:00Z</updated>'
    b'<entry><title>One</title><id>#e1</id><link href="/story/1"/>'
    b"<updated>2026-01-01T00:00:00Z</updated>"
    b"<author><name>N</name><uri>/people/n</uri></author>"
    b'<content type="html">&lt;img src="/img.png"&gt; &lt;a href="#notes"&gt;n&lt;/a&gt;'
    b"</content></entry></feed>"
)
XML = {"content-type": "application/xml"}

PLAIN_URLS = [
    "https://news.example/feed.xml",
    "https://news.example/dir/feed.php?format=rss&lang=en",
    "https://medium.com/feed/@someone",  # an "@" in the path is no user-info
    "http://127.0.0.1:8080/a/b.xml?page=2&keyword=x&author=bob",
]
HEADERS = [
    XML,
    {**XML, "content-location": "/moved/feed.xml"},
    {**XML, FEED_URL: "https://old.example/feed.xml?lang=en"},
]


def _old_fast(url: str, body: bytes, headers: dict[str, str]) -> ParsedFeed:
    """What parse_feed gave before the redaction: bases joined from the whole URL."""
    rest = dict(headers)
    feed_url = rest.pop(FEED_URL, None) or url
    location = rest.get("content-location", "")
    return read_plain_feed(body, rest, urljoin(url, location), urljoin(feed_url, location))


def _old_slow(url: str, body: bytes, headers: dict[str, str]) -> ParsedFeed:
    rest = dict(headers)
    feed_url = rest.pop(FEED_URL, None) or url
    location = rest.get("content-location", "")
    return parse_with_feedparser(
        url, body, rest, urljoin(url, location), urljoin(feed_url, location)
    )


def _decline(*_args: object) -> ParsedFeed:
    raise NeedsFeedparser("forced")


@pytest.mark.parametrize("body", [RSS, ATOM], ids=["rss", "atom"])
@pytest.mark.parametrize("url", PLAIN_URLS)
def test_without_credentials_nothing_changes(
    url: str, body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    for headers in HEADERS:
        fast = parse_feed(url, body, headers)
        assert fast == _old_fast(url, body, headers), headers
        assert fast.entries and fast.entries[0].source_id
    with monkeypatch.context() as patched:
        patched.setattr(document, "read_plain_feed", _decline)
        for headers in HEADERS:
            assert parse_feed(url, body, headers) == _old_slow(url, body, headers), headers


SECRET_URL = "http://alice:pa55word@news.example/dir/feed.xml?apikey=K3Y&lang=en&token=T0K"
PUBLIC_URL = "http://news.example/dir/feed.xml?lang=en"


@pytest.mark.parametrize("body", [RSS, ATOM], ids=["rss", "atom"])
@pytest.mark.parametrize("old", [_old_fast, _old_slow], ids=["fast", "feedparser"])
def test_credentials_stay_out_of_every_resolved_url(
    body: bytes,
    old: Callable[[str, bytes, dict[str, str]], ParsedFeed],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if old is _old_slow:
        monkeypatch.setattr(document, "read_plain_feed", _decline)
    headers = [
        XML,
        {**XML, "content-location": "moved.xml"},
        {**XML, FEED_URL: SECRET_URL.replace("feed.xml", "old.xml")},
    ]
    for given in headers:
        parsed = parse_feed(SECRET_URL, body, given)
        for secret in ("alice", "pa55word", "K3Y", "T0K", "apikey", "token"):
            assert secret not in repr(parsed), (given, secret)
        # The same as resolving against the address without them.
        public = {k: v.replace(SECRET_URL, PUBLIC_URL) for k, v in given.items()}
        public.pop(FEED_URL, None)
        if FEED_URL in given:
            public[FEED_URL] = PUBLIC_URL.replace("feed.xml", "old.xml")
        assert parsed == old(PUBLIC_URL, body, public), given
    first = parse_feed(SECRET_URL, body, XML).entries[0]
    assert first.link == "http://news.example/story/1"
    assert first.content_html and 'src="http://news.example/img.png"' in first.content_html
    assert f'href="{PUBLIC_URL}#notes"' in first.content_html


def test_a_relative_guid_loses_only_the_credentials() -> None:
    """The one change: a feed whose URL has credentials gets its relative guids without
    them (once; a changed password no longer changes them)."""
    (one, _two) = parse_feed(SECRET_URL, RSS, XML).entries
    assert one.source_id == "http://news.example/dir/g1"
    other_password = SECRET_URL.replace("pa55word", "changed").replace("K3Y", "NEW")
    assert parse_feed(other_password, RSS, XML).entries[0].source_id == one.source_id
