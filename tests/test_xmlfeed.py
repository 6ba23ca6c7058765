"""The fast RSS/Atom reader agrees with the feedparser path, or declines the document."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from aggregator.clean.text import html_to_blocks
from aggregator.parse.document import parse_feed, parse_with_feedparser
from aggregator.parse.fast_xml import NeedsFeedparser, absolute_links, read_plain_feed
from aggregator.types import ParsedFeed

ROOT = Path(__file__).resolve().parent.parent
BASE = "https://news.example/feeds/main.xml"
XML = {"content-type": "application/rss+xml; charset=utf-8"}
FIELDS = (
    "source_id",
    "link",
    "title",
    "author",
    "authors",
    "published",
    "updated",
    "has_full_content",
)


def _targets(markup: str) -> list[str]:
    found = re.findall(r"""\s(?:href|src)="([^"]*)\"""", markup)
    return [html.unescape(t) for t in found if t.startswith(("http:", "https:"))]


def assert_agree(body: bytes, headers: dict[str, str] = XML) -> ParsedFeed:
    fast = read_plain_feed(body, headers, BASE)
    slow = parse_with_feedparser(BASE, body, headers, BASE)
    assert (fast.title, fast.link, fast.ttl_minutes, fast.warning) == (
        slow.title,
        slow.link,
        slow.ttl_minutes,
        slow.warning,
    )
    assert len(fast.entries) == len(slow.entries)
    for mine, theirs in zip(fast.entries, slow.entries, strict=True):
        assert {f: getattr(mine, f) for f in FIELDS} == {f: getattr(theirs, f) for f in FIELDS}
        assert html_to_blocks(mine.content_html) == html_to_blocks(theirs.content_html)
        assert _targets(mine.content_html) == _targets(theirs.content_html)
        assert html_to_blocks(mine.summary_html) == html_to_blocks(theirs.summary_html)
        assert _targets(mine.summary_html) == _targets(theirs.summary_html)
    return fast


def rss(items: str, channel: str = "<title>Daily Watch</title><link>/</link>") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        f'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmlns:atom="http://www.w3.org/2005/Atom"><channel>{channel}'
        f'<atom:link rel="self" href="{BASE}"/>{items}</channel></rss>'
    ).encode()


def atom(body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom">{body}</feed>'
    ).encode()


AGREEING = {
    "permalink guid, relative": rss("<item><guid>/2026/story-1</guid><title>One</title></item>"),
    "guid not a permalink": rss(
        '<item><guid isPermaLink="false">story-2</guid>'
        "<link>/2026/story-2?a=1&amp;amp;b=2</link></item>"
    ),
    "link before and after guid": rss(
        "<item><link>/a</link><guid>/b</guid></item><item><guid>/c</guid><link>/d</link></item>"
    ),
    "query entities in the feed's and an entry's link": rss(
        "<item><guid>/1</guid><link>/y?a=1&amp;amp;b=2&amp;c;</link></item>",
        channel="<title>T</title><link>/x?a=1&amp;amp;b=2&amp;c;</link>",
    ),
    "empty link": rss("<item><guid>/e</guid><link/></item>"),
    "authors with e-mail": rss(
        "<item><title>a</title><author>lena@example.com (Lena Ortiz)</author></item>"
        "<item><title>b</title><author>Lena Ortiz &lt;lena@example.com&gt;</author></item>"
        "<item><title>c</title><author>lena@example.com</author></item>"
        "<item><title>d</title><dc:creator>Lena Ortiz</dc:creator></item>"
    ),
    "titles that look like HTML": rss(
        "<item><title>Bonnie &amp;amp; Clyde</title></item>"
        "<item><title>&lt;b&gt;Bold&lt;/b&gt; move</title></item>"
        "<item><title>Fish &amp; chips &lt; 5</title></item>"
    ),
    "content and description in either order": rss(
        "<item><guid>/1</guid><description>Short.</description>"
        "<content:encoded><![CDATA[<p>Long text <img src='/i.png'> here.</p>]]>"
        "</content:encoded></item>"
        "<item><guid>/2</guid><content:encoded>&lt;p&gt;Only content.&lt;/p&gt;"
        "</content:encoded></item>"
        '<item><guid>/3</guid><description>&lt;p&gt;Only a &lt;a href="../x"&gt;'
        "summary&lt;/a&gt;.&lt;/p&gt;</description></item>"
    ),
    "mojibake and C1 quotes": rss(
        "<item><title>Caf\u00c3\u00a9 \u0093quoted\u0094</title><guid>/m</guid></item>"
    ),
    "dates in several styles": rss(
        "<item><guid>/d1</guid><pubDate>Thu, 26 Nov 2026 22:28:00 EST</pubDate></item>"
        "<item><guid>/d2</guid><pubDate>26 Nov 2026</pubDate>"
        "<dc:date>2026-11-26T10:00:00Z</dc:date></item>"
        "<item><guid>/d3</guid><pubDate>not a date</pubDate></item>"
    ),
    "attribute values holding > = and quotes": rss(
        "<item><guid>/q</guid><content:encoded><![CDATA[<p><a href=/story?id=5>s</a> "
        '<img alt="growth > 5%" src="c.png"> shows it <a title=\'see src=x\' '
        "href='https:foo'>t</a> <br><br>end</p>]]></content:encoded></item>"
    ),
    "ttl and skipped channel parts": rss(
        "<item><guid>/t</guid><category>x</category><enclosure url='/a.mp3'/></item>",
        channel="<title>T</title><ttl>45</ttl><image><url>/logo.png</url><title>Logo</title>"
        "<link>/</link></image><language>en</language>",
    ),
    "atom basics": atom(
        '<title>Atom Watch</title><link href="/"/><id>urn:x</id>'
        "<author><name>Desk</name></author>"
        '<entry><id>entry-1</id><title type="html">A &amp;lt;i&amp;gt;big&amp;lt;/i&amp;gt; '
        'day</title><link rel="alternate" href="/a"/><link href="/b" type="text/html"/>'
        '<link rel="enclosure" href="/c.mp3"/><updated>2026-11-26T10:00:00+01:00</updated>'
        '<content type="html">&lt;p&gt;See &lt;a href="more"&gt;more&lt;/a&gt;&lt;/p&gt;'
        "</content></entry>"
        "<entry><id>urn:uuid:2</id><author><email>e@example.com</email></author>"
        "<summary>Plain &lt;text&gt; summary</summary><published>2026-11-25</published></entry>"
        "<entry><id>tag:x,2026:3</id><title>No link</title>"
        '<content type="text">1 &lt; 2</content><summary>short</summary></entry>'
    ),
}


@pytest.mark.parametrize("name", sorted(AGREEING))
def test_fast_reader_agrees_with_feedparser(name: str) -> None:
    assert_agree(
        AGREEING[name],
        XML if b"<rss" in AGREEING[name] else {"content-type": "application/atom+xml"},
    )


def test_agreement_on_the_bundled_feeds() -> None:
    files = [
        p
        for p in sorted((ROOT / "seeds").iterdir()) + sorted((ROOT / "tests" / "golden").iterdir())
        if p.suffix in (".xml", ".atom", ".rss")
    ]
    taken = 0
    for path in files:
        body = path.read_bytes()
        try:
            read_plain_feed(body, {"content-type": "application/xml"}, BASE)
        except NeedsFeedparser:
            continue
        assert_agree(body, {"content-type": "application/xml"})
        taken += 1
    assert taken >= 8  # the seeds and most well-formed golden feeds go the fast way


DECLINED = {
    "doctype": (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "b">]><rss version="2.0">'
        b"<channel><item><title>&a;</title></item></channel></rss>",
        "DOCTYPE",
    ),
    "html entity": (rss("<item><title>A&nbsp;B</title></item>"), "not well-formed"),
    "xml:base": (rss('<item xml:base="http://other.example/"><link>x</link></item>'), "base"),
    "latin-1": (
        '<?xml version="1.0" encoding="ISO-8859-1"?><rss><channel><item><title>'
        "Café</title></item></channel></rss>".encode("latin-1"),
        "declared encoding",
    ),
    "unknown item element": (rss("<item><source url='/s'>S</source></item>"), "item element"),
    "element inside an ignored one": (
        rss("<item><category>c<image><title>T</title></image></category></item>"),
        "inside",
    ),
    "link with href in an RSS item": (
        rss("<item><title>t</title><link href='https://n/a'/></item>"),
        "attributes on <link>",
    ),
    "a base attribute without the xml prefix": (
        rss("<item base='http://o/d/'><guid>x</guid></item>"),
        "attribute base",
    ),
    "base64 content": (
        atom('<entry><id>1</id><content type="text" mode="base64">eA==</content></entry>'),
        "attribute mode",
    ),
    "rel in capitals": (
        atom('<entry><id>1</id><link rel="Alternate" href="/a"/></entry>'),
        "lower case",
    ),
    "field twice": (
        rss("<item><description>a</description><description>b</description></item>"),
        "twice",
    ),
    "markup in a field": (rss("<item><description>a <b>b</b></description></item>"), "markup"),
    "atom xhtml": (
        atom(
            '<entry><id>1</id><content type="xhtml"><div xmlns='
            '"http://www.w3.org/1999/xhtml">x</div></content></entry>'
        ),
        "type",
    ),
    "rdf": (
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns='
        b'"http://purl.org/rss/1.0/"><item rdf:about="https://n.example/1"><title>T</title>'
        b"</item></rdf:RDF>",
        "root",
    ),
}


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_fast_reader_declines_what_it_does_not_handle_exactly(name: str) -> None:
    body, reason = DECLINED[name]
    with pytest.raises(NeedsFeedparser, match=reason):
        read_plain_feed(body, XML, BASE)
    assert parse_feed(BASE, body, XML).entries  # feedparser still reads it


def test_utf16_under_a_utf8_header_is_left_to_feedparser() -> None:
    body = '<rss version="2.0"><channel></channel></rss>'.encode("utf-16-le")
    with pytest.raises(NeedsFeedparser, match="UTF-16"):
        read_plain_feed(body, XML, BASE)


@pytest.mark.parametrize(
    "content_type", ["text/xml", "text/html", "application/xml; charset=iso-8859-1"]
)
def test_headers_that_change_the_encoding_rules_go_to_feedparser(content_type: str) -> None:
    with pytest.raises(NeedsFeedparser):
        read_plain_feed(rss("<item><guid>/1</guid></item>"), {"content-type": content_type}, BASE)


def test_absolute_links_rewrites_only_url_attributes_of_tags() -> None:
    markup = (
        '<p title="href=x">see <a href="../a?x=1&amp;y=2">a</a> <img src=/i.png> '
        '<a href="https://abs.example/">b</a> <a href="mailto:x@y.z">c</a> href="t"</p>'
    )
    out = absolute_links(markup, BASE)
    assert 'href="https://news.example/a?x=1&amp;y=2"' in out
    assert 'src="https://news.example/i.png"' in out
    assert 'href="https://abs.example/"' in out and 'href="mailto:x@y.z"' in out
    assert out.endswith(' href="t"</p>') and 'title="href=x"' in out  # text is not a tag


def test_switching_parser_paths_re_decides_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database filled by the feedparser path (every earlier version) polled again by
    the fast XML parser: the stored HTML is refreshed, no item counts as updated."""
    import aggregator.parse.document as parse_module
    from aggregator.config import settings_from_mapping
    from aggregator.ingest.pipeline import Pipeline
    from aggregator.storage import Storage

    database = f"sqlite:///{tmp_path / 'agg.db'}"
    crafted = tmp_path / "markup.xml"  # markup feedparser writes differently
    crafted.write_bytes(
        rss(
            "".join(
                f"<item><guid>/m{n}</guid><title>Story {n}</title>"
                f"<content:encoded><![CDATA[<p>Line "
                f"one of story {n}<br>line two <img src=/i{n}.png alt=x> <A HREF='rel{n}'>more</A>"
                f"</p>]]></content:encoded></item>"
                for n in range(3)
            )
        )
    )
    feeds = [
        {"url": str(p)} for p in sorted((ROOT / "seeds").iterdir()) if p.suffix in (".xml", ".atom")
    ] + [{"url": str(crafted)}]
    settings = settings_from_mapping(
        {"database": database, "feeds": feeds, "polling": {"worker_processes": 0}}, None
    )

    def decline(*_args: object) -> None:
        raise NeedsFeedparser("forced")

    with monkeypatch.context() as patched:
        patched.setattr(parse_module, "read_plain_feed", decline)
        first = Pipeline(Storage(database), settings).poll()
    before = {i.id: (i.cluster_id, i.text) for i in Storage(database).list_items(with_content=True)}
    html_before = {i.id: i.content_html for i in Storage(database).list_items(with_content=True)}
    again = Pipeline(Storage(database), settings).poll()
    assert sum(o.new for o in first) == len(before) > 0
    assert [(o.new, o.updated) for o in again] == [(0, 0)] * len(again)
    after = {i.id: (i.cluster_id, i.text) for i in Storage(database).list_items(with_content=True)}
    assert after == before
    html_after = {i.id: i.content_html for i in Storage(database).list_items(with_content=True)}
    assert html_after != html_before  # the markup did change: feedparser re-serialises it


def test_a_tag_that_never_closes_costs_linear_time() -> None:
    """A hostile item: 40,000 attributes in a tag that never ends (quadratic in a naive
    pattern: minutes at this size, hours at max_bytes).  A hang guard, not a benchmark."""
    import time

    hostile = "<p>" + "<a " + "href=x " * 40_000
    started = time.monotonic()
    assert absolute_links(hostile, BASE) == hostile
    assert html_to_blocks(hostile)
    assert time.monotonic() - started < 10
