"""Before subscribing: is this URL a feed, and if it is a site's page, which feeds does the
site offer?

One fetch of the URL, through the same fetcher and fetch policy as every poll.  A feed is
what parses as one.  An HTML page is searched for ``<link rel="alternate">`` to feeds,
then, when those give none, the paths where sites usually keep theirs; every candidate
is fetched and parsed before it is offered, so nothing is offered that the first poll
would refuse.  Nothing is stored here: the caller (``feeds add``, the web form) decides
what to subscribe to.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from aggregator.config import Settings, resolve_feed_url
from aggregator.errors import ConfigError, FeedError
from aggregator.fetch.http import USER_AGENT, FetchLimits, fetch, new_client
from aggregator.fetch.policy import TRUSTED_ORIGINS, FetchPolicy, check_outside_url
from aggregator.parse.document import parse_feed
from aggregator.types import FeedToPoll, FetchResult

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json",
        "text/xml",
        "application/xml",
    }
)
"""``type`` values of a ``<link rel="alternate">`` that points at a feed."""
USUAL_PATHS = (
    "/feed",
    "/rss",
    "/feed.xml",
    "/atom.xml",
    "/rss.xml",
    "/index.xml",
    "/feed.json",
    "/atom",
    "/feed/atom",
    "/rss/index.xml",
)
"""Where sites without a ``<link rel="alternate">`` usually keep their feed, tried at the
site's root."""
MAX_LINKED = 10
"""Most ``<link>`` candidates fetched: a page listing hundreds must not become hundreds of
requests."""
LOOKING_TIMEOUTS = 2
"""One discovery may take this many fetch timeouts in all (``polling.timeout`` each):
someone waits for the answer at a terminal or behind a web form, and a slow site with
many candidates must not hold them for minutes."""


@dataclass(frozen=True)
class Candidate:
    """A feed that was fetched and parsed as one."""

    url: str
    title: str | None
    """The page's ``<link title>`` for it, else the feed's own title."""


@dataclass(frozen=True)
class Discovery:
    """What one look at a URL found."""

    url: str
    """The URL as given, stripped (a command-line path: resolved against the cwd)."""
    candidates: tuple[Candidate, ...]
    """The feeds found: the URL itself when it is one, else the page's feeds."""
    is_feed: bool
    """The URL itself is a feed."""
    reason: str | None
    """Why the URL cannot be subscribed to as given (None when it is a feed)."""


def discover(url: str, settings: Settings, origin: str = "web") -> Discovery:
    """Fetch ``url`` once and say whether it is a feed or which feeds its page offers.

    ``origin`` says who typed the URL: ``cli`` (the operator, trusted like the config
    file: paths and private addresses allowed) or ``web``/``opml`` (held to the fetch
    policy's public-address rule from the first hop).  Problems are answered in
    :attr:`Discovery.reason`, never raised."""
    policy = FetchPolicy.from_config(settings.fetch)
    polling = settings.polling
    limits = FetchLimits(
        timeout=polling.timeout,
        max_bytes=polling.max_bytes,
        max_redirects=polling.max_redirects,
        user_agent=polling.user_agent or USER_AGENT,
    )
    try:
        url = _vetted(url, policy, origin)
    except FeedError as exc:
        return Discovery(url.strip(), (), False, exc.message)
    with new_client(limits, 2, policy) as client:
        look = _Look(client, limits, policy, origin)
        try:
            result = look.fetch(url)
        except FeedError as exc:
            return Discovery(url, (), False, exc.message)
        title, problem = _as_feed(url, result)
        if problem is None:
            return Discovery(url, (Candidate(url, title),), True, None)
        if not _is_html(result):
            return Discovery(url, (), False, problem)
        found = look.linked(url, result.body or b"") or look.usual(url)
        if found:
            return Discovery(url, tuple(found), False, "an HTML page, not a feed")
        return Discovery(
            url,
            (),
            False,
            "an HTML page, not a feed, and no feed was found on it: no working "
            '<link rel="alternate"> to a feed, and none at ' + ", ".join(USUAL_PATHS),
        )


def _vetted(url: str, policy: FetchPolicy, origin: str) -> str:
    url = url.strip()
    if not url:
        raise FeedError(url, "no URL given")
    if origin not in TRUSTED_ORIGINS:
        return check_outside_url(url, policy)
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        if not urlsplit(url).hostname:
            raise FeedError(url, "the URL has no host")
        return url
    try:
        resolved = resolve_feed_url(url, Path.cwd())
    except ConfigError as exc:
        raise FeedError(url, exc.message) from None
    if scheme != "file" and not Path(resolved).exists():
        hint = f"; did you mean https://{url}?" if "." in url and "/" not in url else ""
        raise FeedError(url, f"not an http(s) URL, and no file {resolved} exists{hint}")
    return resolved


class _Look:
    """The fetches of one discovery, over one client."""

    def __init__(
        self, client: httpx.Client, limits: FetchLimits, policy: FetchPolicy, origin: str
    ) -> None:
        self._client = client
        self._limits = limits
        self._policy = policy
        self._origin = origin
        self._deadline = time.monotonic() + LOOKING_TIMEOUTS * limits.timeout

    def fetch(self, url: str) -> FetchResult:
        feed = FeedToPoll(id=0, url=url, fetch_url=url, origin=self._origin)
        return fetch(feed, self._limits, self._client, self._policy)

    def feed_title(self, url: str) -> tuple[bool, str | None]:
        """Is ``url`` a working feed, and its title (not looked at once time is up)."""
        if time.monotonic() > self._deadline:
            return False, None
        try:
            result = self.fetch(url)
        except FeedError:
            return False, None
        title, problem = _as_feed(url, result)
        return problem is None, title

    def linked(self, page_url: str, body: bytes) -> list[Candidate]:
        """The page's ``<link rel="alternate">`` feeds that work, in page order."""
        found: list[Candidate] = []
        for url, link_title in feed_links(page_url, body)[:MAX_LINKED]:
            if urlsplit(url).scheme.lower() not in ("http", "https"):
                continue  # a page never leads to a local file
            ok, title = self.feed_title(url)
            if ok:
                found.append(Candidate(url, link_title or title))
        return found

    def usual(self, page_url: str) -> list[Candidate]:
        """Feeds at the usual paths of the page's site."""
        if urlsplit(page_url).scheme.lower() not in ("http", "https"):
            return []
        found: list[Candidate] = []
        for path in USUAL_PATHS:
            url = urljoin(page_url, path)
            ok, title = self.feed_title(url)
            if ok:
                found.append(Candidate(url, title))
                break  # one feed at the usual places is the site's feed; the rest alias it
        return found


def _as_feed(url: str, result: FetchResult) -> tuple[str | None, str | None]:
    """(the feed's title, None) when the fetched document is a feed; (None, why not)
    otherwise."""
    if result.body is None:
        return None, "the server answered 304 Not Modified to a request without validators"
    try:
        parsed = parse_feed(url, result.body, result.headers)
    except FeedError as exc:
        return None, exc.message
    return parsed.title, None


def _is_html(result: FetchResult) -> bool:
    if "html" in result.headers.get("content-type", "").lower():
        return True
    head = (result.body or b"")[:2048].lower()
    return b"<html" in head or b"<!doctype html" in head


def feed_links(page_url: str, body: bytes) -> list[tuple[str, str | None]]:
    """``(absolute URL, title)`` of each ``<link rel="alternate">`` to a feed on the page,
    in page order, without repeats; relative ones resolved against ``<base href>`` or
    the page's URL."""
    reader = _LinkReader()
    try:
        reader.feed(body.decode("utf-8", errors="replace"))
        reader.close()
    except AssertionError:  # html.parser's own complaint about a broken declaration
        pass
    base = urljoin(page_url, reader.base) if reader.base else page_url
    seen: dict[str, str | None] = {}
    for href, title in reader.links:
        url = urljoin(base, href.strip())
        if url not in seen:
            seen[url] = title
    return list(seen.items())


class _LinkReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str | None]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): (value or "") for name, value in attrs}
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"].strip()
        if tag not in ("link", "a"):
            return
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";")[0].strip()
        if "alternate" in rels and kind in FEED_TYPES and values.get("href", "").strip():
            self.links.append((values["href"], values.get("title", "").strip() or None))
