"""Looking before subscribing (:func:`aggregator.ingest.subscribe.discover`) against a real
HTTP server on 127.0.0.1: feeds, sites' pages with ``<link rel="alternate">``, the usual
paths, and what is refused with which reason.  The web face's origin is held to the fetch
policy: loopback counts as public here only where the settings allow it, as an operator
would (``fetch.allow_networks``)."""

from __future__ import annotations

import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from aggregator.config import Settings, settings_from_mapping
from aggregator.ingest.subscribe import LOOKING_TIMEOUTS, USUAL_PATHS, discover, feed_links
from tests.feeds import html, rss, story

RSS = "application/rss+xml"
ATOM_DOC = (
    '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Comments</title>'
    "<id>urn:c</id><updated>2026-01-01T00:00:00Z</updated></feed>"
)


def _settings(**fetch: object) -> Settings:
    return settings_from_mapping(
        {"database": "sqlite:///unused.db", "polling": {"timeout": 5}, "fetch": fetch}, None, {}
    )


def _feed(title: str = "Harbour News") -> bytes:
    return rss(
        title,
        [
            {
                "guid": "a1",
                "title": "Ferries ordered",
                "link": "https://harbour.example/a1",
                "date": "Mon, 02 Nov 2026 08:00:00 +0000",
                "html": html(story(1)),
            }
        ],
    )


def _page(*links: str, body: str = "<p>Welcome</p>") -> str:
    head = f"<title>Site</title>{''.join(links)}"
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


CLI = _settings()
WEB_ALLOWED = _settings(allow_networks=["127.0.0.0/8"])


def test_a_feed_is_a_feed_with_its_title(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(_feed(), content_type=RSS)
    found = discover(httpserver.url_for("/feed.xml"), CLI, origin="cli")
    assert found.is_feed and found.reason is None
    assert [(c.url, c.title) for c in found.candidates] == [
        (httpserver.url_for("/feed.xml"), "Harbour News")
    ]


def test_a_page_offers_its_linked_feeds_that_work_in_page_order(httpserver: HTTPServer) -> None:
    page = _page(
        f'<link rel="alternate" type="{RSS}" title="All posts" href="/feed.xml">',
        '<link rel="alternate" type="application/atom+xml" href="comments.atom">',
        f'<link rel="alternate" type="{RSS}" title="Gone" href="/gone.xml">',
        '<link rel="alternate" hreflang="fr" href="/fr/">',  # a translation, not a feed
        '<link rel="stylesheet" type="text/css" href="/style.css">',
    )
    httpserver.expect_request("/blog/").respond_with_data(page, content_type="text/html")
    httpserver.expect_request("/feed.xml").respond_with_data(_feed(), content_type=RSS)
    httpserver.expect_request("/blog/comments.atom").respond_with_data(
        ATOM_DOC, content_type="application/atom+xml"
    )
    found = discover(httpserver.url_for("/blog/"), CLI, origin="cli")
    assert not found.is_feed and found.reason == "an HTML page, not a feed"
    assert [(c.url, c.title) for c in found.candidates] == [
        (httpserver.url_for("/feed.xml"), "All posts"),
        (httpserver.url_for("/blog/comments.atom"), "Comments"),  # the feed's own title
    ]


def test_a_page_without_links_is_searched_at_the_usual_paths(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/about").respond_with_data(_page(), content_type="text/html")
    httpserver.expect_request("/index.xml").respond_with_data(_feed("Site"), content_type=RSS)
    found = discover(httpserver.url_for("/about"), CLI, origin="cli")
    assert [(c.url, c.title) for c in found.candidates] == [
        (httpserver.url_for("/index.xml"), "Site")
    ]
    assert "/index.xml" in USUAL_PATHS


def test_a_page_with_no_feed_anywhere_is_refused_with_the_reason(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(_page(), content_type="text/html")
    found = discover(httpserver.url_for("/"), CLI, origin="cli")
    assert found.candidates == () and not found.is_feed
    assert found.reason is not None
    assert found.reason.startswith("an HTML page, not a feed, and no feed was found on it")


@pytest.mark.parametrize(
    ("path", "status", "body", "reason"),
    [
        ("/missing.xml", 404, "", "HTTP 404"),
        ("/broken", 500, "", "HTTP 500"),
        ("/notes.txt", 200, "just some words", "not a usable feed"),
    ],
)
def test_what_is_not_a_feed_is_refused_with_the_reason(
    httpserver: HTTPServer, path: str, status: int, body: str, reason: str
) -> None:
    httpserver.expect_request(path).respond_with_data(
        body, status=status, content_type="text/plain"
    )
    found = discover(httpserver.url_for(path), CLI, origin="cli")
    assert found.candidates == () and not found.is_feed
    assert found.reason is not None and reason in found.reason


def test_the_command_line_refuses_what_is_neither_a_url_nor_a_file() -> None:
    found = discover("not-a-url", CLI, origin="cli")
    assert found.reason is not None and found.reason.startswith("not an http(s) URL")
    hinted = discover("news.example.org", CLI, origin="cli")
    assert hinted.reason is not None and "did you mean https://news.example.org?" in hinted.reason
    scheme = discover("ftp://files.example/feed.xml", CLI, origin="cli")
    assert scheme.reason is not None and "unsupported scheme 'ftp'" in scheme.reason


def test_the_web_origin_is_held_to_the_public_address_rule(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(_feed(), content_type=RSS)
    url = httpserver.url_for("/feed.xml")
    refused = discover(url, CLI, origin="web")
    assert refused.candidates == () and refused.reason is not None
    assert refused.reason.startswith("refused by the fetch policy")
    assert discover(url, WEB_ALLOWED, origin="web").is_feed
    assert discover("/etc/passwd", WEB_ALLOWED, origin="web").reason == (
        "only http and https URLs are accepted from outside the config file"
    )


def test_a_page_never_leads_the_web_origin_to_a_private_address(httpserver: HTTPServer) -> None:
    """A public page (127.0.0.1 allowed here) linking to a feed at an address the policy
    does not allow (127.0.0.2, outside the allowed network): the candidate is not
    offered, as its fetch is refused."""
    page = _page(f'<link rel="alternate" type="{RSS}" href="http://127.0.0.2:{httpserver.port}/x">')
    httpserver.expect_request("/").respond_with_data(page, content_type="text/html")
    only_one = _settings(allow_networks=["127.0.0.1/32"])
    found = discover(httpserver.url_for("/"), only_one, origin="web")
    assert found.candidates == ()
    assert httpserver.log and all(
        req.path == "/" or req.path in USUAL_PATHS for req, _ in httpserver.log
    )


def test_feed_links_resolve_against_base_and_skip_repeats() -> None:
    page = _page(
        '<base href="https://cdn.example/site/">',
        f'<link rel="alternate" type="{RSS}" href="feed.xml" title=" Main ">',
        f'<link rel="ALTERNATE home" type="{RSS.upper()}; charset=utf-8" href="feed.xml">',
        '<link rel="alternate" type="application/feed+json" href="/feed.json">',
    ).encode()
    assert feed_links("https://www.example/page", page) == [
        ("https://cdn.example/site/feed.xml", "Main"),
        ("https://cdn.example/feed.json", None),
    ]


def test_discovery_stops_looking_when_its_time_is_up(httpserver: HTTPServer) -> None:
    """A page linking to many feeds that never answer in time: the user waits about two
    fetch timeouts, not one per candidate."""

    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response(_feed(), content_type=RSS)

    links = [f'<link rel="alternate" type="{RSS}" href="/slow{n}.xml">' for n in range(8)]
    httpserver.expect_request("/").respond_with_data(_page(*links), content_type="text/html")
    for n in range(8):
        httpserver.expect_request(f"/slow{n}.xml").respond_with_handler(slow)
    impatient = settings_from_mapping(
        {"database": "sqlite:///x.db", "polling": {"timeout": 1}}, None, {}
    )
    started = time.monotonic()
    found = discover(httpserver.url_for("/"), impatient, origin="cli")
    assert found.candidates == ()
    assert time.monotonic() - started < 1 + LOOKING_TIMEOUTS * 1 + 1.5
