#!/usr/bin/env python3
"""The hard corpus: syndicated feeds with what real networks also do (issue 13), labelled.

    python bench/hard_corpus.py --out DIR [--seed N] [--items 2000] [--days 5] [--base ISO]

(about 2,000 items in 30 feeds by default; one seed and base give the same bytes.)

Writes ``DIR/feeds/`` (about 30 RSS 2.0, Atom 1.0 and JSON Feed 1.1 documents of eight
site networks), ``DIR/truth.json`` and ``DIR/manifest.json``, in the layout of
``../shared/data/syndication-dev`` (``bench/quality.py``, ``bench/hard_quality.py`` and
``../shared/data/score.py`` read it).  The text comes from :class:`bench.words.Words` (a
generated vocabulary) and from this module's own templates and phrasings; several
phrasings of each case, so that no detector can learn one wording.

truth.json: ``{"items": [{"feed", "site", "guid", "link", "story", "kind", "source",
"traits", ...}], "gray_sources": [], "kinds": {KIND: what it is}}``.  Two items are
duplicates when their ``story`` is equal.  The same item repeated in a second feed (a
category feed) is a second entry ``(feed, guid)`` with the same story (scorers key items
by feed file and guid), with ``same_item_as`` naming the first.  ``kind`` says which case
an item was made for (:data:`KINDS`); ``traits`` add what else it shows (its template
family, a dateline or byline, interjected lines, markup noise, a query-string link, a
tracking link, the kind of the item a category feed repeats, ...).

The networks (at ``--items 2000``, 5 days; every count scales with ``--items``):

* a regional newspaper chain: four sites, two with a category feed; updates and
  follow-ups; one site's template interjects bylines, "Updated …" lines, "READ MORE:",
  "Advertisement", newsletter boxes and photo captions; the sites copy each other's
  stories and the wire's;
* a wire service with datelines ("CITY (Wire) — ") and four partners: full copies, partial
  copies ("Read the full story at …"), a teaser-only headlines feed, a site whose CMS
  adds markup noise (&nbsp;, soft hyphens, zero-width spaces, entities, drop caps, links
  inside and around words);
* a markets network of fund/ticker template stories ("Fund raises stake in Company
  (NYSE:TICK)") with two publishers' templates, WordPress ``?p=`` and ``article.php?id=``
  links, a category feed and a sister site republishing some of them;
* a sports network of score template stories (two templates) and a sister site;
* a local network of town weather forecasts (two templates; neighbouring towns share their
  zone's forecast) and local news, one site republishing its sister's forecasts;
* a digest network: a "Morning Briefing" of the leads of five stories, and a headlines feed
  of teasers, among them teasers of each briefing's first story;
* a blog network with ``?p=`` and ``view.php?id=`` links, category feeds, follow-ups and a
  feed whose descriptions are escaped twice;
* a national pair of sites copying each other (one interjecting US-style lines).

Rates at the defaults (seeds 1-3, share of items): origin 24 %, template 15 % (fund,
score, weather), copy 12 %, category 10 %, interrupted 9 %, teaser 7 %, querylink 5.5 %,
markup 4.5 %, update 3.5 %, partial 3.3 %, template-copy 2.5 %, followup 2 %,
query-tracked 0.5 %, digest and digest-teaser 0.3 % each.  A story of the corpus can meet
several cases at once, as in real feeds: a wire story with a dateline, updated twice,
copied, teased in two headline feeds and led into a briefing.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/hard_corpus.py`: the repository root instead
    # of bench/ first on sys.path makes `bench` importable as the package it is.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import html
import itertools
import json
import random
import re
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from bench import corpus
from bench.feedxml import embellishments, paragraph_markup
from bench.words import Words

GENERATOR_VERSION = 1
DEFAULT_ITEMS = 2000
DEFAULT_DAYS = 5
DEFAULT_BASE = datetime(2026, 11, 27, 12, tzinfo=UTC)
"""The corpus's end unless ``--base``: fixed, so that one seed gives the same bytes (items
older than the dedup window are still compared: they were first seen within it)."""
RATE = 2.7
"""Items per day of each site are its rate below × RATE × items / DEFAULT_ITEMS."""

KINDS: dict[str, str] = {
    "origin": "a story's first publication, plain",
    "copy": "a plain syndicated copy: another footer, sponsor or attribution line, title "
    "style, link with tracking parameters, maybe a dropped paragraph or curled quotes",
    "template": "a story generated from a template (fund/ticker, sports score, town "
    "weather; family in traits): shares most of its text with other stories of its "
    "template, a different story from each of them",
    "template-copy": "a template story republished on a sister site: the same story",
    "category": "the same item (guid, link, content) repeated in a category feed of its "
    "site; traits name the kind of the item it repeats",
    "update": "the story republished by its site hours later, an UPDATE line on top and "
    "one paragraph rewritten (or a sister site's copy of that update): the same story",
    "teaser": "the first 10-30 words of a story, sometimes behind a dateline or byline",
    "interrupted": "the full story with lines before and between its paragraphs: byline, "
    "dateline, 'Updated …', 'READ MORE: <another title>', 'Related: …', newsletter box, "
    "'Advertisement', photo captions with agency credits",
    "partial": "the first 2-3 paragraphs, then 'Read the full story at <origin>' or a "
    "footer naming the item's own title",
    "markup": "the full story with markup noise: words split or glued by inline links and "
    "spans, a drop cap, &nbsp;, soft hyphens, zero-width spaces, entities, or an RSS "
    "description escaped twice",
    "digest": "a briefing made of the leads of 5 stories with links: a story of its own",
    "digest-teaser": "a teaser of a digest's first story: that story, not the digest",
    "followup": "a new story quoting a background paragraph or two of an older one: a "
    "different story",
    "querylink": "a story of a site whose links differ only in an identifying query "
    "string (?p=1234, article.php?id=): different links, different stories",
    "query-tracked": "a copy carrying such a link plus tracking parameters (utm_*): the same story",
}

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TLDS = (".com", ".net", ".org", ".news", ".co.uk", ".com.au")
DASHES = (" — ", " – ", " - ")
TEASER_WORDS = (10, 30)
"""The words of a teaser (issue 13, case 3)."""


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _clock(when: datetime, style: int) -> str:
    """A time of day as sites write it: 3:45 p.m., 3:45 PM, 15:45."""
    h12 = when.hour % 12 or 12
    if style == 0:
        return f"{h12}:{when.minute:02d} {'a.m.' if when.hour < 12 else 'p.m.'}"
    if style == 1:
        return f"{h12}:{when.minute:02d} {'AM' if when.hour < 12 else 'PM'}"
    return f"{when.hour:02d}:{when.minute:02d}"


def _day(when: datetime | date) -> str:
    return f"{MONTHS[when.month - 1]} {when.day}"


_SENTENCE_END = re.compile(r"(?<=[.?!”])\s+(?=[A-Z“\"])")


def sentences(paragraph: str) -> list[str]:
    return _SENTENCE_END.split(paragraph)


def _slug(text: str, words: int = 8) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower())[:words])


# -- the model ----------------------------------------------------------------------------


@dataclass
class Site:
    slug: str
    name: str
    host: str
    network: str
    links: str = "path"
    """How its links identify an article: ``path``, ``wp`` (``/?p=N``), ``php`` (a script
    and an ``id`` parameter)."""
    style: str = "plain"
    """How it dresses a story: ``plain``, ``interrupt-uk``, ``interrupt-us``, ``noisy``."""
    fmt: str = "rss"
    """Its main feed: ``rss`` (content:encoded), ``rss-desc`` (description only),
    ``rss-escaped`` (description escaped twice), ``atom``, ``atom-summary``, ``json``."""
    wire: bool = False
    """Its stories start with a dateline naming it."""
    footer: str = ""
    sponsor: str = ""
    attribution: str = ""
    """How it credits a story it republishes (``{origin}``)."""
    read_more: bool = False
    newsletter: str = ""
    agency: str = ""
    apostrophe: str = "’"
    link_style: int = 0
    php_path: str = "article.php?id={n}"
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    taken: set[str] = field(default_factory=set)
    """Its links so far."""
    feeds: list[Feed] = field(default_factory=list)

    @property
    def main(self) -> Feed:
        return self.feeds[0]

    @property
    def category(self) -> Feed | None:
        return self.feeds[1] if len(self.feeds) > 1 else None


@dataclass
class Feed:
    slug: str
    title: str
    site: Site
    fmt: str
    share: float = 1.0
    """A category feed: the share of its site's items it repeats."""
    tracking: str = ""
    """A category feed that appends these parameters to each link."""
    entries: list[Entry] = field(default_factory=list)

    @property
    def filename(self) -> str:
        suffix = {"atom": ".atom", "atom-summary": ".atom", "json": ".json"}.get(self.fmt, ".xml")
        return self.slug + suffix


@dataclass
class Story:
    id: str
    key: int
    title: str
    paragraphs: list[str]
    """As its first publisher wrote it (dateline included)."""
    site: Site
    published: datetime
    author: str
    section: str
    city: str
    dateline: str = ""
    family: str = ""
    link: str = ""

    def legacy(self) -> corpus.Story:
        """As :mod:`bench.feedxml` takes a story (its inline markup and embellishments)."""
        return corpus.Story(
            key=self.key,
            title=self.title,
            paragraphs=self.paragraphs,
            link=self.link,
            published=self.published,
            author=self.author,
            topic=self.section.lower(),
            origin=self.site.slug,
        )


@dataclass
class Entry:
    feed: Feed
    story: Story
    kind: str
    guid: str
    link: str
    title: str
    published: datetime
    html: str
    paragraphs: list[str]
    """The story text of this version (an update's differs), before the site dresses it."""
    traits: list[str] = field(default_factory=list)
    same_as: Entry | None = None
    text_only: bool = False
    """``html`` is plain text (a teaser)."""


# -- the generator --------------------------------------------------------------------------


class Builder:
    def __init__(self, seed: int, items: int, days: int, base: datetime) -> None:
        self.rng = random.Random(seed)
        self.words = Words(self.rng)
        self.base = base
        self.days = days
        self.start = base - timedelta(days=days)
        self.scale = RATE * items / DEFAULT_ITEMS * DEFAULT_DAYS / days
        self.sites: dict[str, Site] = {}
        self.stories: list[Story] = []
        self.by_site: dict[str, list[Story]] = defaultdict(list)
        self.entries: dict[str, list[Entry]] = defaultdict(list)
        """Story id → its entries."""
        self.story_numbers = itertools.count(1)
        self.guid_numbers = itertools.count(1)
        self.companies: list[Company] = []
        self.funds: list[str] = []
        self._company_days: dict[tuple[str, date], dict[str, Any]] = {}
        self.rosters: dict[str, list[str]] = {}
        """Team → six players and a goalkeeper (last)."""
        self._standings: dict[tuple[str, date], str] = {}
        self.games: dict[str, list[tuple[str, str, date]]] = defaultdict(list)

    # ---- words --------------------------------------------------------------------------

    def proper(self) -> str:
        """A name: any word of the vocabulary, not its frequent ones."""
        return self.rng.choice(self.words.vocab).title()

    def distinct(self, make: Callable[[], str], n: int) -> list[str]:
        """``n`` different names from ``make``."""
        out: dict[str, None] = {}
        while len(out) < n:
            out[make()] = None
        return list(out)

    def person(self) -> str:
        return f"{self.proper()} {self.proper()}"

    def town(self) -> str:
        return self.proper() + self.rng.choice(
            ("", "", "", "ville", " Falls", " Springs", "ton", " Heights", "field", " Bay")
        )

    def sentence(self, low: int = 7, high: int = 28) -> str:
        return self._possessive(self.words.sentence(low, high))

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(1, 4)))

    def _possessive(self, text: str) -> str:
        """Now and then a name takes an apostrophe ("Bavelo’s"), as English text does."""
        if self.rng.random() > 0.3:
            return text
        tokens = text.split(" ")
        spots = [i for i, t in enumerate(tokens[1:-1], 1) if t[:1].isupper() and t.isalpha()]
        if spots:
            tokens[self.rng.choice(spots)] += "’s"
        return " ".join(tokens)

    def body(self, low: int, high: int) -> list[str]:
        wanted = self.rng.randint(low, high)
        out: list[str] = []
        while sum(len(p.split()) for p in out) < wanted:
            out.append(self.paragraph())
        return out

    def title(self) -> str:
        text = self.words.sentence(5, 11)
        while "“" in text:
            text = self.words.sentence(5, 11)
        return text.rstrip(".?!")

    def count(self, per_day: float) -> int:
        """Items over the corpus's days at ``per_day`` (scaled), at least one."""
        expected = per_day * self.days * self.scale
        return max(1, round(expected * self.rng.uniform(0.85, 1.15)))

    def moment(self, earliest: float = 0.0, latest: float = 1.0) -> datetime:
        """A time between the corpus's start and ``base - 1 h`` (fractions of the span)."""
        span = (self.base - timedelta(hours=1) - self.start).total_seconds()
        at = self.start + timedelta(seconds=span * self.rng.uniform(earliest, latest))
        return at.replace(second=0, microsecond=0)

    def later(self, when: datetime, low_min: int, high_min: int) -> datetime | None:
        """``when`` plus some minutes, None when that is past the corpus's end."""
        at = when + timedelta(minutes=self.rng.randint(low_min, high_min))
        return at if at <= self.base - timedelta(minutes=5) else None

    # ---- sites ----------------------------------------------------------------------------

    def site(
        self,
        slug: str,
        name: str,
        network: str,
        *,
        category: tuple[str, float] | None = None,
        category_tracking: str = "",
        **options: Any,
    ) -> Site:
        rng = self.rng
        host = re.sub(r"[^a-z0-9]+", "", name.lower()) + rng.choice(TLDS)
        brand = self.words.phrase(2).title()
        site = Site(
            slug=slug,
            name=name,
            host=host,
            network=network,
            sponsor=rng.choice(
                (
                    f"This article is sponsored by {brand}.",
                    f"Sponsored by {brand}.",
                    f"Brought to you by {brand}.",
                    f"Supported by {brand} — {self.words.phrase(3)}.",
                    "",
                )
            ),
            attribution=rng.choice(
                (
                    "This story originally appeared on {origin}.",
                    "This article was first published by {origin} and is republished "
                    "here under a content-sharing agreement.",
                    "Republished with permission from {origin}.",
                    "Source: {origin}",
                    "",
                )
            ),
            read_more=rng.random() < 0.4,
            newsletter=rng.choice(
                (
                    f"Sign up for the {name} morning newsletter and get the day’s top "
                    "stories in your inbox.",
                    f"Get {name} in your inbox: our free daily newsletter, every weekday at 7 a.m.",
                    f"Never miss a story: subscribe to {name}’s free email briefing.",
                    f"Enjoying this article? Join 40,000 readers of the {name} newsletter.",
                )
            ),
            agency=rng.choice(
                (
                    f"{self.proper()} Press Agency",
                    f"{self.proper()} Images",
                    f"{self.proper()} Photo",
                    f"{self.proper()} News Service",
                )
            ),
            apostrophe=rng.choice(("’", "'")),
            link_style=rng.randrange(3),
            numbers=itertools.count(rng.randint(1000, 90000), rng.randint(1, 7)),
            **options,
        )
        site.feeds.append(Feed(slug, name, site, site.fmt))
        if category is not None:
            section, share = category
            site.feeds.append(
                Feed(
                    f"{slug}-{section.lower()}",
                    f"{name} » {section}",
                    site,
                    "atom" if site.fmt == "atom" else "rss",
                    share=share,
                    tracking=category_tracking,
                )
            )
        self.sites[slug] = site
        return site

    def footers(self, network: str, sites: Sequence[Site]) -> None:
        """The network's footer, carried by every item of its sites."""
        rng = self.rng
        names = ", ".join(s.name for s in sites)
        text = rng.choice(
            (
                f"© {self.base.year} {network}. All rights reserved. Read more from our "
                f"network: {names}.",
                f"{network} — {names}. Copyright {self.base.year}; republication needs a licence.",
                f"Part of {network}. Follow our sites: {names}. Tips? Write to the newsroom.",
                f"Copyright © {self.base.year} {network}, all rights reserved. This material "
                "may not be published, broadcast, rewritten or redistributed.",
            )
        )
        for site in sites:
            site.footer = text

    def link(self, site: Site, title: str, when: datetime, section: str) -> str:
        n = next(site.numbers)
        if site.links == "wp":
            return f"https://{site.host}/?p={n}"
        if site.links == "php":
            return f"https://{site.host}/" + site.php_path.format(n=n, c=len(section))
        slug = _slug(title)
        if site.link_style == 0:
            # As WordPress does: a slug already taken that day gets a number.
            link = f"https://{site.host}/{when:%Y/%m/%d}/{slug}/"
            for again in itertools.count(2):
                if link not in site.taken:
                    break
                link = f"https://{site.host}/{when:%Y/%m/%d}/{slug}-{again}/"
            site.taken.add(link)
            return link
        if site.link_style == 1:
            return f"https://{site.host}/{section.lower()}/{slug}-{n}.html"
        return f"https://{site.host}/news/{n}/{slug}"

    def guid(self, site: Site, link: str) -> str:
        if site.links == "wp" and "?p=" not in link:
            return f"https://{site.host}/?p={next(site.numbers)}"
        if site.links in ("wp", "php") or site.link_style == 2:
            return link
        return f"tag:{site.host},{self.base.year}:{next(self.guid_numbers)}"

    def tracked(self, link: str, site: Site) -> str:
        """``link`` with tracking parameters, as a syndicating feed writes it."""
        sep = "&" if "?" in link else "?"
        params = self.rng.choice(
            (
                f"utm_source={site.slug}&utm_medium=rss&utm_campaign=syndication",
                f"utm_source=feed&utm_medium=referral&utm_content={self.rng.randint(1, 999)}",
                f"utm_campaign=partner&utm_source={site.host.split('.')[0]}",
                f"at_medium=RSS&at_campaign={site.slug}",
                f"fbclid=IwAR{self.rng.randint(10**8, 10**9)}",
            )
        )
        return link + sep + params

    # ---- stories ------------------------------------------------------------------------

    def new_story(
        self,
        site: Site,
        when: datetime,
        paragraphs: list[str],
        title: str,
        *,
        section: str = "",
        family: str = "",
        city: str = "",
    ) -> Story:
        n = next(self.story_numbers)
        city = city or self.town()
        dateline = ""
        if site.wire:
            dateline = f"{city.upper()} ({site.name}){self.rng.choice(DASHES[:2])}"
            paragraphs = [dateline + paragraphs[0], *paragraphs[1:]]
        story = Story(
            id=f"s{n:05d}",
            key=n,
            title=title,
            paragraphs=paragraphs,
            site=site,
            published=when,
            author=self.person(),
            section=section or self.rng.choice(corpus.SECTIONS),
            city=city,
            dateline=dateline,
            family=family,
        )
        story.link = self.link(site, title, when, story.section)
        self.stories.append(story)
        self.by_site[site.slug].append(story)
        return story

    def add(
        self,
        feed: Feed,
        story: Story,
        kind: str,
        *,
        html_text: str,
        paragraphs: list[str],
        title: str | None = None,
        link: str | None = None,
        published: datetime | None = None,
        traits: Sequence[str] = (),
        text_only: bool = False,
    ) -> Entry:
        site = feed.site
        link = link or story.link
        guid = self.guid(site, link)
        if any(e.guid == guid for e in feed.entries):  # an update keeping its story's link
            guid = f"tag:{site.host},{self.base.year}:{next(self.guid_numbers)}"
        entry = Entry(
            feed=feed,
            story=story,
            kind=kind,
            guid=guid,
            link=link,
            title=title or story.title,
            published=published or story.published,
            html=html_text,
            paragraphs=paragraphs,
            traits=list(dict.fromkeys(traits)),
            text_only=text_only,
        )
        if re.search(r"/\?p=\d|\.php\?", link):
            entry.traits.append("query-link")
        if re.search(r"[?&](utm_|at_|fbclid)", link):
            entry.traits.append("tracking-link")
        feed.entries.append(entry)
        self.entries[story.id].append(entry)
        return entry

    def publish(self, story: Story, kind: str = "", traits: Sequence[str] = ()) -> Entry:
        """A story on its own site, dressed by the site; kind from the site when not given."""
        site = story.site
        dressed, more = self.dress(site, story, story.paragraphs, origin=None)
        if not kind:
            kind = {"interrupt-uk": "interrupted", "interrupt-us": "interrupted"}.get(
                site.style, "markup" if site.style == "noisy" else "origin"
            )
            if kind == "origin" and site.links != "path":
                kind = "querylink"
        return self.add(
            site.main,
            story,
            kind,
            html_text=dressed,
            paragraphs=story.paragraphs,
            traits=[*traits, *more],
        )

    # ---- how a site dresses a story ---------------------------------------------------------

    def dress(
        self, site: Site, story: Story, paragraphs: list[str], origin: Site | None
    ) -> tuple[str, list[str]]:
        """The item's HTML on ``site`` and the traits its dressing adds."""
        paragraphs = [self._apostrophes(p, site) for p in paragraphs]
        if site.style.startswith("interrupt"):
            blocks, traits = self.interrupted(site, story, paragraphs)
        elif site.style == "noisy":
            blocks, traits = self.noisy(site, story, paragraphs)
        else:
            blocks, traits = self.plain(story, paragraphs), []
        if site.fmt == "rss-escaped":
            traits.append("escaped")
        return "\n".join(blocks + self.chrome(site, story, origin)), traits

    def _apostrophes(self, text: str, site: Site) -> str:
        return text.replace("’", "'") if site.apostrophe == "'" else text

    def plain(self, story: Story, paragraphs: list[str]) -> list[str]:
        legacy = story.legacy()
        out: list[str] = []
        for n, para in enumerate(paragraphs):
            if para.startswith("## "):
                out.append(f"<h3>{html.escape(para[3:])}</h3>")
                continue
            out.append(f"<p>{paragraph_markup(n, para, legacy, self.rng)}</p>")
            if not story.family:
                out.extend(embellishments(n, para, legacy))
        return out

    def chrome(self, site: Site, story: Story, origin: Site | None) -> list[str]:
        rng = self.rng
        out: list[str] = []
        if origin is not None and site.attribution and rng.random() < 0.85:
            out.append(
                f"<p><em>{html.escape(site.attribution.format(origin=origin.name))}</em></p>"
            )
        if site.sponsor and rng.random() < 0.7:
            out.append(f"<p><em>{html.escape(site.sponsor)}</em></p>")
        if site.read_more:
            out.append(
                f'<p><a href="{html.escape(story.link)}">Continue reading on '
                f"{html.escape(site.name)}</a></p>"
            )
        if site.footer:
            out.append(f'<div class="footer"><p>{html.escape(site.footer)}</p></div>')
        return out

    def byline(self, site: Site, author: str) -> str:
        return self.rng.choice(
            (
                f"By {author}, Staff Reporter",
                f"By {author.upper()}",
                f"{author} | {site.name}",
                f"By {author} For {site.name}",
                f"Written by {author}",
                f"{author}, {self.rng.choice(('Political', 'Crime', 'Local', 'Senior'))} "
                "Correspondent",
            )
        )

    def stamp(self, when: datetime, us: bool) -> str:
        rng = self.rng
        upd = when + timedelta(minutes=rng.randint(10, 300))
        zone = "ET" if us else rng.choice(("GMT", "BST"))
        return rng.choice(
            (
                f"Updated {_clock(upd, 0)} {zone}",
                f"Published {_clock(when, 1)} {zone}, {_day(when)} {when.year} | Updated "
                f"{_clock(upd, 1)} {zone}",
                f"Last updated: {_day(upd)}, {upd.year} at {_clock(upd, 1)}",
                f"Posted: {_clock(when, 0)} {zone} {WEEKDAYS[when.weekday()]}",
                f"{when.day} {MONTHS[when.month - 1]} {when.year}, {_clock(when, 2)} {zone}",
            )
        )

    def caption(self, site: Site) -> str:
        rng = self.rng
        person = self.person()
        credit = rng.choice(
            (
                f"({site.agency} Photo/{person})",
                f"Picture: {site.agency}",
                f"Photo: {person}/{site.agency}",
                f"{person.upper()}/{site.agency.upper()}",
                "(File photo)",
                f"Image credit: {person} via {site.agency}",
            )
        )
        return f"{self.sentence(6, 16).rstrip('.?!')}. {credit}"

    def other_title(self, site: Site, when: datetime) -> str:
        older = [s for s in self.by_site[site.slug] if s.published < when and not s.family]
        pool = older or [s for s in self.stories if not s.family] or []
        return self.rng.choice(pool).title if pool else self.title()

    def interrupted(
        self, site: Site, story: Story, paragraphs: list[str]
    ) -> tuple[list[str], list[str]]:
        """The story with the lines a site's template puts before and between paragraphs."""
        rng = self.rng
        us = site.style == "interrupt-us"
        traits = ["interjections"]
        top: list[str] = []
        if rng.random() < 0.85:
            top.append(f'<p class="byline">{html.escape(self.byline(site, story.author))}</p>')
            traits.append("byline")
        if rng.random() < 0.7:
            stamp = self.stamp(story.published, us)
            top.append(f'<p class="timestamp">{html.escape(stamp)}</p>')
        if rng.random() < 0.35:
            top.append(self._figure(site, story))
        paras = list(paragraphs)
        if not story.dateline and rng.random() < 0.35:
            paras[0] = f"{story.city.upper()} ({site.name}){rng.choice(DASHES)}{paras[0]}"
            traits.append("dateline")
        elif story.dateline and paras[0].startswith(story.dateline):
            traits.append("dateline")
        body = self.plain(story, paras)
        inserts: list[str] = []
        for _ in range(rng.randint(2, 5)):
            what = rng.random()
            if what < 0.25:
                label = rng.choice(("READ MORE", "Read more", "READ MORE", "MORE"))
                title = self.other_title(site, story.published)
                inserts.append(
                    f'<p><strong>{label}:</strong> <a href="https://{site.host}/news/'
                    f'{rng.randint(100, 99999)}">{html.escape(title)}</a></p>'
                )
            elif what < 0.4:
                if us and rng.random() < 0.5:
                    titles = [self.other_title(site, story.published) for _ in range(3)]
                    inserts.append(
                        "<p><strong>Related Articles</strong></p><ul>"
                        + "".join(f"<li><a href='#'>{html.escape(t)}</a></li>" for t in titles)
                        + "</ul>"
                    )
                else:
                    label = rng.choice(("Related", "RELATED", "See also"))
                    title = self.other_title(site, story.published)
                    inserts.append(f"<p>{label}: <a href='#'>{html.escape(title)}</a></p>")
            elif what < 0.6:
                inserts.append(
                    rng.choice(
                        (
                            '<div class="ad"><p>Advertisement</p></div>',
                            "<p>ADVERTISEMENT</p>",
                            '<p class="ad-label">Story continues below advertisement</p>',
                            "<p>Article continues below</p>",
                        )
                    )
                )
            elif what < 0.78:
                inserts.append(
                    f'<aside class="newsletter"><p>{html.escape(site.newsletter)}</p>'
                    f'<p><a href="https://{site.host}/newsletters">Sign up</a></p></aside>'
                )
            else:
                inserts.append(self._figure(site, story))
        positions = sorted(rng.randint(1, max(1, len(body) - 1)) for _ in inserts)
        for offset, (at, block) in enumerate(zip(positions, inserts, strict=True)):
            body.insert(at + offset, block)
        return top + body, traits

    def _figure(self, site: Site, story: Story) -> str:
        return (
            f'<figure><img src="/media/{story.key}/{self.rng.randint(1, 9)}.jpg" alt="">'
            f"<figcaption>{html.escape(self.caption(site))}</figcaption></figure>"
        )

    NOISE = ("entities", "nbsp", "shy", "zwsp", "dropcap", "inline", "glued", "br")

    def noisy(self, site: Site, story: Story, paragraphs: list[str]) -> tuple[list[str], list[str]]:
        """The story as a careless CMS writes it (two to four kinds of noise per item)."""
        rng = self.rng
        ops = set(rng.sample(self.NOISE, rng.randint(2, 4)))
        out: list[str] = []
        for n, para in enumerate(paragraphs):
            if para.startswith("## "):
                out.append(f"<h3>{html.escape(para[3:])}</h3>")
                continue
            words = [self._noisy_word(w, ops) for w in para.split(" ")]
            if "inline" in ops or "glued" in ops:
                self._inline(words, site, ops)
            text = ""
            for i, word in enumerate(words):
                if i:
                    nbsp = "nbsp" in ops and (
                        words[i - 1][-1:] in ".,"
                        or word[:1].isdigit()
                        or (word[:1].isupper() and rng.random() < 0.5)
                        or rng.random() < 0.05
                    )
                    text += rng.choice(("&nbsp;", "&#160;", "\u00a0")) if nbsp else " "
                    if nbsp and words[i - 1].endswith(".") and rng.random() < 0.5:
                        text += " "
                text += word
            if n == 0 and "dropcap" in ops and text[:1].isalpha():
                tag = rng.choice(
                    (
                        '<span class="dropcap">{}</span>',
                        '<span class="first-letter">{}</span>',
                        "<big>{}</big>",
                        '<strong class="drop-cap">{}</strong>',
                    )
                )
                text = tag.format(text[0]) + text[1:]
            out.append(text)
        if "br" in ops:
            return ["<div>" + "<br><br>\n".join(out) + "</div>"], [
                "noise:" + o for o in sorted(ops)
            ]
        return [f"<p>{t}</p>" for t in out], ["noise:" + o for o in sorted(ops)]

    def _noisy_word(self, word: str, ops: set[str]) -> str:
        rng = self.rng
        escaped = html.escape(word, quote=False)
        if "shy" in ops and len(word) >= 8 and word.isalpha() and rng.random() < 0.35:
            at = rng.randint(3, len(word) - 3)
            escaped = word[:at] + rng.choice(("&shy;", "\u00ad", "&#173;")) + word[at:]
        elif "zwsp" in ops and len(word) >= 6 and word.isalpha() and rng.random() < 0.15:
            at = rng.randint(2, len(word) - 2)
            escaped = word[:at] + rng.choice(("&#8203;", "\u200b", "&#x200B;")) + word[at:]
        if "entities" in ops:
            for char, names in (
                ("’", ("&rsquo;", "&#8217;", "&#x2019;")),
                ("“", ("&ldquo;", "&#8220;")),
                ("”", ("&rdquo;", "&#8221;")),
                ("—", ("&mdash;", "&#8212;")),
                ("'", ("&#39;", "&#039;", "&apos;")),
            ):
                if char in escaped:
                    escaped = escaped.replace(char, rng.choice(names))
        return escaped

    def _inline(self, words: list[str], site: Site, ops: set[str]) -> None:
        """Links and spans over some words: around a phrase, inside a word, and (``glued``)
        without the spaces around them that the source had."""
        rng = self.rng
        for _ in range(rng.randint(1, 3)):
            if len(words) < 6:
                return
            at = rng.randrange(1, len(words) - 3)
            span = rng.randint(1, 3)
            href = f"https://{site.host}/tag/{_slug(words[at], 2) or 'x'}"
            glued = "glued" in ops and rng.random() < 0.5
            style = rng.random()
            if glued:
                # The CMS dropped the whitespace next to the tags: words run together.
                words[at - 1] += f'<a href="{href}">' + words[at]
                del words[at]
                end = min(at + span - 2, len(words) - 2)
                words[end] += "</a>" + words[end + 1]
                del words[end + 1]
            elif style < 0.4:
                words[at] = f'<a href="{href}">{words[at]}'
                words[at + span - 1] += "</a>"
            elif style < 0.7:
                # Spaces inside the link instead of around it.
                words[at - 1] += f'<a href="{href}">'
                words[at + span - 1] += "</a>"
            else:
                word = words[at]
                cut = len(word) // 2
                if cut >= 2 and word.isalpha():
                    tag = rng.choice(("span", "a"))
                    attr = ' class="hl"' if tag == "span" else f' href="{href}"'
                    words[at] = f"{word[:cut]}<{tag}{attr}>{word[cut:]}</{tag}>"

    # ---- news -------------------------------------------------------------------------------

    def news(self, site: Site, per_day: float, *, followups: float = 0.0) -> list[Story]:
        """The site's own stories over the corpus's days; ``followups`` of them quote a
        background paragraph or two of an older story of the network."""
        rng = self.rng
        made: list[Story] = []
        for when in sorted(self.moment() for _ in range(self.count(per_day))):
            older = [
                s
                for s in self.stories
                if s.site.network == site.network
                and not s.family
                and timedelta(hours=4) <= when - s.published <= timedelta(days=4)
                and len(s.paragraphs) >= 3
            ]
            if older and rng.random() < followups:
                made.append(self.followup(site, rng.choice(older), when))
                continue
            story = self.new_story(site, when, self.body(150, 900), self.title())
            self.publish(story)
            made.append(story)
        return made

    def followup(self, site: Site, older: Story, when: datetime) -> Story:
        """A new story that quotes one or two paragraphs of ``older`` as background."""
        rng = self.rng
        fresh = self.body(200, 700)
        source = older.paragraphs
        if older.dateline:
            source = [source[0][len(older.dateline) :], *source[1:]]
        first = 0 if rng.random() < 0.5 else rng.randrange(1, len(source))
        quoted = source[first : first + rng.choice((1, 1, 2))]
        if rng.random() < 0.3:
            lead = quoted[0]
            quoted[0] = (
                rng.choice(
                    (
                        f"As {older.site.name} reported on {WEEKDAYS[older.published.weekday()]}, ",
                        "As previously reported, ",
                        "Earlier this week, ",
                    )
                )
                + lead[0].lower()
                + lead[1:]
            )
        if rng.random() < 0.2:
            quoted.insert(0, "## " + rng.choice(("Background", "How we got here", "Context")))
        at = rng.choice((1, 2, 2, 3, len(fresh)))
        paragraphs = fresh[:at] + quoted + fresh[at:]
        story = self.new_story(site, when, paragraphs, self.title())
        self.publish(story, kind="followup", traits=[f"quotes:{older.id}"])
        return story

    # ---- copies -------------------------------------------------------------------------

    def copy_title(self, title: str, site: Site) -> str:
        rng = self.rng
        suffix = rng.choice((f" | {site.name}", f" - {site.network}", "", "", " (video)"))
        return (title.upper() if rng.random() < 0.08 else title) + suffix

    def copy_paragraphs(self, story: Story, paragraphs: list[str], drop: float) -> list[str]:
        rng = self.rng
        paras = list(paragraphs)
        if story.dateline and paras[0].startswith(story.dateline) and rng.random() < drop:
            paras[0] = paras[0][len(story.dateline) :]
        if len(paras) > 4 and rng.random() < 0.3:
            del paras[rng.randrange(1, len(paras))]  # a dropped paragraph
        if rng.random() < 0.25:
            paras = [p.replace("'", "’") for p in paras]
        return paras

    def copy(
        self,
        entry: Entry,
        site: Site,
        *,
        kind: str = "",
        traits: Sequence[str] = (),
        delay: tuple[int, int] = (5, 360),
    ) -> Entry | None:
        """A full copy of ``entry`` on ``site``, dressed as that site dresses stories."""
        rng = self.rng
        story = entry.story
        when = self.later(entry.published, *delay)
        if when is None:
            return None
        paras = self.copy_paragraphs(story, entry.paragraphs, drop=0.4)
        dressed, more = self.dress(site, story, paras, origin=story.site)
        if rng.random() < 0.45:
            link = self.tracked(entry.link, site)
            via = "query-tracked" if story.site.links != "path" else ""
        else:
            link = self.link(site, story.title, when, story.section)
            via = ""
        if not kind:
            if site.style.startswith("interrupt"):
                kind = "interrupted"
            elif site.style == "noisy":
                kind = "markup"
            else:
                kind = via or "copy"
        return self.add(
            site.main,
            story,
            kind,
            html_text=dressed,
            paragraphs=paras,
            link=link,
            title=self.copy_title(entry.title, site),
            published=when,
            traits=[*traits, *more],
        )

    def partial(self, entry: Entry, site: Site) -> Entry | None:
        """The first two or three paragraphs and a line sending readers to the origin."""
        rng = self.rng
        story = entry.story
        when = self.later(entry.published, 10, 480)
        if when is None:
            return None
        paras = self.copy_paragraphs(story, entry.paragraphs, drop=0.3)
        keep = rng.choice((2, 2, 3)) if len(paras) >= 5 else 1 if len(paras) < 3 else 2
        origin = story.site
        title = entry.title
        ending = rng.choice(
            (
                f"Read the full story at {origin.name}.",
                f"This is an excerpt. Read the full article at {origin.name}.",
                f"This article is an excerpt from {origin.name}; the full version is on "
                f"{origin.host}.",
                f"Continue reading “{title}” at {origin.name}.",
                f"“{title}” was originally published on {origin.name} and is republished "
                "here in part with permission.",
                f"The post {title} appeared first on {origin.name}.",
                f"Read more of “{title}” on {origin.host} »",
                f"{title} — read the rest of this story at {origin.name}",
            )
        )
        body = self.plain(story, paras[:keep])
        body.append(f'<p><a href="{html.escape(entry.link)}">{html.escape(ending)}</a></p>')
        body += self.chrome(site, story, None)
        link = self.tracked(entry.link, site) if rng.random() < 0.3 else None
        return self.add(
            site.main,
            story,
            "partial",
            html_text="\n".join(body),
            paragraphs=paras[:keep],
            title=self.copy_title(title, site),
            published=when,
            link=link or self.link(site, title, when, story.section),
            traits=["names-own-title"] if title in ending else [],
        )

    def teaser_text(self, story: Story, paragraphs: list[str]) -> tuple[str, list[str]]:
        """10-30 words of the story's beginning, sometimes behind a dateline or byline."""
        rng = self.rng
        first = paragraphs[0]
        dateline = ""
        if story.dateline and first.startswith(story.dateline):
            dateline, first = story.dateline, first[len(story.dateline) :]
        # Sentences of the first paragraphs, enough for the longest teaser: a story may open
        # with one short sentence and a heading.
        pool = sentences(first) + (sentences(paragraphs[1]) if len(paragraphs) > 1 else [])
        for paragraph in paragraphs[2:]:
            if len(" ".join(pool).split()) >= TEASER_WORDS[1]:
                break
            pool += sentences(paragraph)
        # A heading reads as its words in a teaser, not as its markup.
        pool = [sentence.removeprefix("## ") for sentence in pool]
        target = rng.randint(*TEASER_WORDS)
        taken: list[str] = []
        for sentence in pool:
            if len(taken) + len(sentence.split()) > target:
                break
            taken += sentence.split()
        if len(taken) >= 10 and rng.random() < 0.5:
            text = " ".join(taken) + rng.choice(("", "", " …", " Read more »", " [...]"))
        else:
            words = " ".join(pool).split()[:target]
            text = " ".join(words).rstrip(",;:") + rng.choice(
                ("…", " …", "...", " […]", " [...]", "… Read more", "… (more)")
            )
        traits: list[str] = []
        if dateline and rng.random() < 0.7:
            text = dateline + text
            traits.append("dateline")
        elif rng.random() < 0.2:
            text = (
                rng.choice(
                    (
                        f"By {story.author} — ",
                        f"{story.author}, {story.site.name} | ",
                        f"{story.author.upper()}: ",
                    )
                )
                + text
            )
            traits.append("byline")
        elif not dateline and rng.random() < 0.1:
            text = f"{story.city.upper()}{rng.choice(DASHES)}{text}"
            traits.append("dateline")
        return text, traits

    def teaser(self, entry: Entry, site: Site, kind: str = "teaser") -> Entry | None:
        rng = self.rng
        story = entry.story
        when = self.later(entry.published, 2, 240)
        if when is None:
            return None
        text, traits = self.teaser_text(story, entry.paragraphs)
        link = (
            self.tracked(entry.link, site)
            if rng.random() < 0.3
            else self.link(site, story.title, when, story.section)
        )
        return self.add(
            site.main,
            story,
            kind,
            html_text=text,
            paragraphs=[text],
            text_only=True,
            title=self.copy_title(entry.title, site),
            published=when,
            link=link,
            traits=traits,
        )

    def syndicate(self, source: Site, targets: Sequence[tuple[Site, float, str]]) -> None:
        """Copies of ``source``'s news stories: each target takes each story with its
        probability, as a full copy, a partial copy or a teaser."""
        for story in list(self.by_site[source.slug]):
            if story.family:
                continue  # template stories travel by template_copy
            first = self.entries[story.id][0]
            for site, chance, how in targets:
                if self.rng.random() >= chance:
                    continue
                if how == "partial":
                    self.partial(first, site)
                elif how == "teaser":
                    self.teaser(first, site)
                else:
                    self.copy(first, site)

    # ---- updates --------------------------------------------------------------------------

    def update_line(self, when: datetime) -> str:
        rng = self.rng
        weekday = WEEKDAYS[when.weekday()]
        what = rng.choice(
            (
                "comment from the council",
                "new figures",
                "a statement from the company",
                "reaction",
                "details from the hearing",
                "the latest numbers",
            )
        )
        return rng.choice(
            (
                f"UPDATE: {self.sentence(8, 20)}",
                f"UPDATE ({_clock(when, 0)}): This story has been updated with {what}.",
                f"Updated at {_clock(when, 2)} {rng.choice(('GMT', 'BST', 'ET'))} with {what}.",
                f"Editor’s note: This story was updated on {weekday} at {_clock(when, 0)} "
                f"to include {what}.",
                f"UPDATED {_day(when).upper()}, {when.year}, {_clock(when, 1)}: "
                f"{self.sentence(8, 20)}",
                f"Update, {_clock(when, 2)}: {self.sentence(8, 20)}",
            )
        )

    def updated(self, paragraphs: list[str], story: Story, when: datetime) -> list[str]:
        """The text of an update: a line on top (or at the end), one paragraph rewritten,
        sometimes one added."""
        rng = self.rng
        paras = list(paragraphs)
        at = 0 if rng.random() < 0.15 or len(paras) < 2 else rng.randrange(1, len(paras))
        old = paras[at]
        head = story.dateline if at == 0 and old.startswith(story.dateline) else ""
        parts = sentences(old[len(head) :])
        if len(parts) > 1 and rng.random() < 0.5:
            for i in rng.sample(range(len(parts)), max(1, len(parts) // 2)):
                parts[i] = self.sentence()
            paras[at] = head + " ".join(parts)
        else:
            paras[at] = head + self.paragraph()
        if rng.random() < 0.4:
            paras.insert(rng.randint(1, len(paras)), self.paragraph())
        line = self.update_line(when)
        return paras + [line] if rng.random() < 0.15 else [line, *paras]

    def updates(self, site: Site, chance: float) -> None:
        """Some of the site's stories are republished as updates hours later (some twice);
        the sites that copied a version copy the update too, now and then."""
        rng = self.rng
        for story in list(self.by_site[site.slug]):
            if story.family or rng.random() >= chance:
                continue
            previous = self.entries[story.id][0]
            for round_ in range(2 if rng.random() < 0.2 else 1):
                when = self.later(previous.published, 120, 600)
                if when is None:
                    break
                paras = self.updated(previous.paragraphs, story, when)
                dressed, more = self.dress(site, story, paras, origin=None)
                r = rng.random()
                link = (
                    previous.link
                    if r < 0.3 and site.links == "path"
                    else self.link(site, story.title + " update", when, story.section)
                )
                title = rng.choice(
                    (
                        story.title,
                        f"UPDATE: {story.title}",
                        f"UPDATED: {story.title}",
                        f"{story.title} (updated)",
                        self.title(),
                    )
                )
                traits = [*more] + (["second-update"] if round_ else [])
                update = self.add(
                    site.main,
                    story,
                    "update",
                    html_text=dressed,
                    paragraphs=paras,
                    link=link,
                    title=title,
                    published=when,
                    traits=traits,
                )
                copied = {
                    e.feed.site.slug: e
                    for e in self.entries[story.id]
                    if e.kind in ("copy", "interrupted", "markup", "query-tracked")
                }
                for copy in copied.values():
                    if rng.random() < 0.5:
                        self.copy(
                            update,
                            copy.feed.site,
                            kind="update",
                            traits=["update-copy"],
                            delay=(5, 120),
                        )
                previous = update

    # ---- digests ----------------------------------------------------------------------------

    def digests(self, site: Site, headlines: Site, pool_sites: Sequence[Site]) -> None:
        """A morning briefing every day (and an evening one on some days) made of the leads
        of five recent stories; the headlines feed often teases the first of them."""
        rng = self.rng
        variant = rng.randrange(3)
        day = self.start.date() + timedelta(days=1)
        editions = 0
        while day <= self.base.date():
            for hour, name in ((6, "Morning"), (17, "Evening")):
                if name == "Evening" and rng.random() < 0.5:
                    continue
                when = datetime(day.year, day.month, day.day, hour, rng.randint(0, 50), tzinfo=UTC)
                if when > self.base - timedelta(minutes=30):
                    continue
                pool = [
                    s
                    for p in pool_sites
                    for s in self.by_site[p.slug]
                    if timedelta(minutes=30) <= when - s.published <= timedelta(hours=20)
                ]
                if len(pool) < 5:
                    continue
                picked = rng.sample(pool, 5)
                editions += 1
                self.digest(site, when, name, picked, variant)
                first = self.entries[picked[0].id][0]
                teasers = [e for e in self.entries[picked[0].id] if e.feed.site is headlines]
                if teasers:
                    teasers[0].kind = "digest-teaser"
                elif rng.random() < 0.85:
                    at = when + timedelta(minutes=rng.randint(-60, 60))
                    entry = self.teaser(first, headlines, kind="digest-teaser")
                    if entry is not None and at <= self.base:
                        entry.published = max(at, first.published + timedelta(minutes=2))
            day += timedelta(days=1)

    def digest(
        self, site: Site, when: datetime, edition: str, picked: list[Story], variant: int
    ) -> None:
        rng = self.rng
        weekday = WEEKDAYS[when.weekday()]
        greeting = (
            f"Good morning, it’s {self.person()} with the news you need to start the day."
            if edition == "Morning"
            else f"Good evening. These are the stories that mattered on {weekday}."
        )
        intro = rng.choice(
            (
                f"Good {edition.lower()}. Here’s what you need to know on {weekday}, {_day(when)}.",
                f"Today’s top stories, in five minutes. It’s {weekday}.",
                greeting,
                f"Welcome to the {edition} Briefing from {site.name}, {weekday}, {_day(when)}.",
            )
        )
        blocks = [f"<p>{html.escape(intro)}</p>"]
        paragraphs = [intro]
        for n, story in enumerate(picked, 1):
            first = self.entries[story.id][0]
            lead_source = first.paragraphs[0]
            if story.dateline and lead_source.startswith(story.dateline) and rng.random() < 0.5:
                lead_source = lead_source[len(story.dateline) :]
            parts = sentences(lead_source)
            lead = parts[0]
            if len(lead.split()) < 15 and len(parts) > 1:
                lead += " " + parts[1]
            href = html.escape(first.link)
            title = html.escape(story.title)
            if variant == 0:
                blocks += [
                    f"<h3>{title}</h3>",
                    f"<p>{html.escape(lead)}</p>",
                    f'<p><a href="{href}">'
                    f"{rng.choice(('Read more', 'Full story', 'Read the story'))}</a></p>",
                ]
            elif variant == 1:
                blocks.append(
                    f"<p><strong>{title}.</strong> {html.escape(lead)} "
                    f'<a href="{href}">→ {html.escape(story.site.name)}</a></p>'
                )
            else:
                blocks += [
                    f"<p><b>{n}. {title}</b></p>",
                    f'<p>{html.escape(lead)} (<a href="{href}">{html.escape(story.site.name)}'
                    "</a>)</p>",
                ]
            paragraphs.append(lead)
        outro = rng.choice(
            (
                "That’s it for today. Forward this briefing to a friend who’d enjoy it.",
                "Thanks for reading. See you tomorrow.",
                f"Know someone who’d like the {site.name} briefing? Send them this link.",
            )
        )
        blocks.append(f"<p>{html.escape(outro)}</p>")
        blocks += self.chrome(site, picked[0], None)
        title = rng.choice(
            (
                f"{edition} Briefing",
                f"{edition} Briefing: {picked[0].title}",
                f"Your {weekday} {edition.lower()} briefing",
                f"The {edition} Five: {_day(when)}",
            )
        )
        story = self.new_story(site, when, paragraphs, title, section="Briefing")
        story.link = f"https://{site.host}/briefing/{when:%Y-%m-%d}-{edition.lower()}"
        self.add(
            site.main,
            story,
            "digest",
            html_text="\n".join(blocks),
            paragraphs=paragraphs,
            traits=[f"leads:{s.id}" for s in picked],
        )

    # ---- category feeds -------------------------------------------------------------------

    def categories(self) -> None:
        """Each category feed repeats some of its site's items (the same item: guid, link,
        content); an update follows the story it updates into the category feed."""
        rng = self.rng
        for site in self.sites.values():
            feed = site.category
            if feed is None:
                continue
            chosen: dict[str, bool] = {}
            for entry in list(site.main.entries):
                sid = entry.story.id
                if sid not in chosen:
                    chosen[sid] = rng.random() < feed.share
                elif rng.random() < 0.1:
                    continue  # an update filed under another section only
                if not chosen[sid]:
                    continue
                link = self.tracked(entry.link, site) if feed.tracking else entry.link
                repeat = Entry(
                    feed=feed,
                    story=entry.story,
                    kind="category",
                    guid=entry.guid,
                    link=link,
                    title=entry.title,
                    published=entry.published,
                    html=entry.html,
                    paragraphs=entry.paragraphs,
                    traits=list(
                        dict.fromkeys(
                            [f"of:{entry.kind}", *entry.traits]
                            + (["tracking-link"] if feed.tracking else [])
                        )
                    ),
                    same_as=entry,
                    text_only=entry.text_only,
                )
                feed.entries.append(repeat)
                self.entries[sid].append(repeat)

    # ---- templates --------------------------------------------------------------------------

    def market_data(self) -> None:
        rng = self.rng
        sectors = (
            "financial services",
            "medical",
            "retail/wholesale",
            "computer and technology",
            "oils and energy",
            "industrial products",
            "consumer staples",
        )
        tickers: set[str] = set()
        for name in self.distinct(
            lambda: (
                self.proper()
                + rng.choice(
                    (" Inc.", " Corp.", " Holdings", " Group", " Industries", " Systems Inc.")
                )
            ),
            40,
        ):
            ticker = ""
            while not ticker or ticker in tickers:
                letters = re.sub(r"[^A-Z]", "", name.upper())
                ticker = (letters[:2] + "".join(rng.choices("ABCDEFGHKLMNPRSTVX", k=2)))[
                    : rng.randint(3, 4)
                ]
            tickers.add(ticker)
            self.companies.append(
                Company(
                    name=name,
                    ticker=ticker,
                    exchange=rng.choice(("NYSE", "NASDAQ", "NYSE", "NASDAQ", "NYSEARCA")),
                    sector=rng.choice(sectors),
                    about=" ".join(self.sentence(12, 28) for _ in range(rng.randint(2, 4))),
                    weight=1 / (len(self.companies) + 1) ** 0.6,
                    others=[self._fund_name() for _ in range(4)],
                    insider=self.person() if rng.random() < 0.6 else "",
                )
            )
        self.funds = self.distinct(self._fund_name, 60)

    def _fund_name(self) -> str:
        return self.proper() + self.rng.choice(
            (
                " Capital Management LLC",
                " Advisors LLC",
                " Wealth Partners",
                " Asset Management Inc.",
                " Investment Counsel Inc.",
                " & Co.",
                " Financial Group Inc.",
                " Trust Co",
            )
        )

    def company_day(self, company: Company, day: date) -> dict[str, Any]:
        """A company's figures of one day: every article on it that day repeats them."""
        key = (company.ticker, day)
        if key not in self._company_days:
            r = random.Random(f"{company.ticker}{day}{self.rng.random()}")
            price = r.uniform(8, 420)
            self._company_days[key] = {
                "price": price,
                "cap": price * r.uniform(0.05, 2.5),
                "pe": r.uniform(6, 80),
                "beta": r.uniform(0.3, 1.9),
                "ma50": price * r.uniform(0.85, 1.15),
                "ma200": price * r.uniform(0.75, 1.25),
                "eps": r.uniform(0.05, 4.5),
                "est": r.uniform(0.05, 4.5),
                "rev": r.uniform(0.2, 30),
                "target": price * r.uniform(0.9, 1.5),
                "brokers": [self.proper() + " Securities", self.proper() + " & Partners"],
                "holds": r.randint(1, 9),
                "buys": r.randint(1, 14),
                "inst": r.uniform(20, 95),
                "reported": day - timedelta(days=r.randint(3, 40)),
            }
        return self._company_days[key]

    def fund_story(self, site: Site, variant: int, when: datetime, taken: set[Any]) -> Story:
        """One fund/ticker story of a publisher's template (``variant``)."""
        rng = self.rng
        for _ in range(50):
            company = rng.choices(self.companies, weights=[c.weight for c in self.companies])[0]
            fund = rng.choice(self.funds)
            if (company.ticker, fund, when.date()) not in taken:
                break
        taken.add((company.ticker, fund, when.date()))
        d = self.company_day(company, when.date())
        c, t, x = company.name, company.ticker, company.exchange
        action = rng.choices(("raise", "cut", "new"), weights=(5, 4, 2))[0]
        pct = round(rng.uniform(0.4, 240), 1)
        shares = rng.randint(800, 2_500_000)
        delta = max(1, int(shares * pct / (100 + pct)))
        value = shares * d["price"]
        quarter = rng.choice(("third", "fourth", "fourth"))
        weekday = WEEKDAYS[when.weekday()]
        tag = f"({x}:{t})"
        if variant == 0:
            verb = {
                "raise": rng.choice(("Raises", "Boosts", "Increases", "Lifts")),
                "cut": rng.choice(("Trims", "Cuts", "Lowers", "Reduces")),
                "new": "Buys New",
            }[action]
            noun = rng.choice(("Stake", "Position", "Holdings"))
            title = rng.choice(
                (
                    f"{fund} {verb} {noun} in {c} {tag}",
                    f"{c} {tag} {noun} {'Increased' if action != 'cut' else 'Lowered'} by {fund}",
                )
            )
            if action == "new":
                p1 = (
                    f"{fund} bought a new {noun.lower()} in {c} {tag} in the {quarter} "
                    f"quarter, according to its most recent Form 13F filing with the "
                    f"Securities & Exchange Commission. The fund bought {shares:,} shares of "
                    f"the company’s stock, valued at approximately ${value:,.0f}."
                )
            else:
                moved = "raised" if action == "raise" else "trimmed"
                got = "buying" if action == "raise" else "selling"
                p1 = (
                    f"{fund} {moved} its {noun.lower()} in {c} {tag} by {pct}% in the "
                    f"{quarter} quarter, according to its most recent Form 13F filing with the "
                    f"Securities & Exchange Commission. The institutional investor owned "
                    f"{shares:,} shares of the company’s stock after {got} "
                    f"{'an additional ' if action == 'raise' else ''}{delta:,} shares during "
                    f"the period. {fund}’s holdings in {c} were worth ${value:,.0f} at the end "
                    "of the most recent reporting period."
                )
            others = company.others
            paragraphs = [
                p1,
                f"A number of other hedge funds and other institutional investors have also "
                f"recently made changes to their positions in {t}. {others[0]} bought a new "
                f"position in {c} during the {quarter} quarter worth about "
                f"${d['cap'] * 91:,.0f}. {others[1]} raised its holdings in shares of {c} by "
                f"{d['pe'] / 3:.1f}% during the {quarter} quarter. {others[2]} now owns "
                f"{int(d['cap'] * 1000):,} shares of the company’s stock. Institutional "
                f"investors own {d['inst']:.2f}% of the company’s stock.",
                f"## {c} Stock Performance",
                f"{t} opened at ${d['price']:.2f} on {weekday}. The firm has a market "
                f"capitalization of ${d['cap']:.2f} billion, a price-to-earnings ratio of "
                f"{d['pe']:.2f} and a beta of {d['beta']:.2f}. The business’s fifty day "
                f"moving average is ${d['ma50']:.2f} and its 200-day moving average is "
                f"${d['ma200']:.2f}.",
                f"{c} {tag} last issued its quarterly earnings results on "
                f"{WEEKDAYS[d['reported'].weekday()]}, {_day(d['reported'])}. The company "
                f"reported ${d['eps']:.2f} earnings per share for the quarter, "
                f"{'topping' if d['eps'] > d['est'] else 'missing'} analysts’ consensus "
                f"estimates of ${d['est']:.2f} by ${abs(d['eps'] - d['est']):.2f}. The firm "
                f"had revenue of ${d['rev']:.2f} billion for the quarter.",
                "## Analyst Ratings Changes",
                f"Several analysts have recently commented on {t} shares. {d['brokers'][0]} "
                f"raised their price target on {c} to ${d['target']:.2f} in a report on "
                f"{weekday}. {d['holds']} investment analysts have rated the stock with a hold "
                f"rating and {d['buys']} have given a buy rating to the company’s stock. "
                f"{c} has an average rating of “Moderate Buy” and a consensus target price "
                f"of ${d['target']:.2f}.",
                f"## About {c}",
                company.about,
            ]
            if company.insider:
                paragraphs.insert(
                    -3,
                    f"In related news, insider {company.insider} sold {d['buys'] * 1000:,} "
                    f"shares of the stock in a transaction dated {_day(d['reported'])}. "
                    "The sale was disclosed in a legal filing with the SEC.",
                )
            paragraphs.append(
                f"Want to see what other hedge funds are holding {t}? Visit {site.name} to get "
                f"the latest 13F filings and insider trades for {c} {tag}."
            )
        else:
            verb = {
                "raise": rng.choice(("Acquires", "Purchases", "Buys")),
                "cut": rng.choice(("Sells", "Unloads", "Disposes of")),
                "new": "Invests in",
            }[action]
            title = rng.choice(
                (
                    f"{fund} {verb} {delta:,} Shares of {c} ({t})",
                    f"{c} ({t}) Shares {'Sold' if action == 'cut' else 'Bought'} by {fund}",
                    f"{fund} {verb} {c} ({x}:{t})",
                )
            )
            lessened = {"raise": "increased", "cut": "lessened", "new": "opened"}[action]
            paragraphs = [
                f"{fund} {lessened} its stake in shares of {c} ({x}:{t}) "
                + (f"by {pct}% " if action != "new" else "")
                + f"during the {quarter} quarter, according to the company in its most recent "
                f"disclosure with the SEC. The firm owned {shares:,} shares of the "
                f"{company.sector} company’s stock after "
                f"{'selling' if action == 'cut' else 'acquiring'} {delta:,} shares during the "
                f"period. {c} comprises about {rng.uniform(0.1, 4):.1f}% of {fund}’s "
                f"portfolio, making the stock its {_ordinal(rng.randint(5, 90))} biggest "
                f"holding. {fund}’s holdings in {c} were worth ${value:,.0f} as of its most "
                "recent SEC filing.",
                f"## {c} Price Performance",
                f"Shares of {x}:{t} opened at ${d['price']:.2f} on {weekday}. {c} has a 12 "
                f"month low of ${d['price'] * 0.7:.2f} and a 12 month high of "
                f"${d['price'] * 1.3:.2f}. The company has a market cap of ${d['cap']:.2f} "
                f"billion, a PE ratio of {d['pe']:.2f} and a beta of {d['beta']:.2f}.",
                "## Wall Street Analysts Forecast Growth",
                f"{d['brokers'][1]} reissued a “buy” rating on shares of {c} in a research note "
                f"on {weekday}. Based on data from {site.name}, the stock has a consensus "
                f"rating of “Moderate Buy” and an average price target of "
                f"${d['target']:.2f}.",
                f"## Institutional Trading of {c}",
                f"{company.others[3]} raised its position in {c} by "
                f"{d['beta'] * 10:.1f}% in the second quarter. {company.others[0]} purchased a "
                f"new position in {c} in the {quarter} quarter. {d['inst']:.1f}% of the stock "
                "is owned by hedge funds and other institutional investors.",
                f"## {c} Company Profile",
                company.about,
                "## Featured Stories",
                f"Five stocks we like better than {c} · How to trade ex-dividend stocks · "
                f"{t} insider buying and selling",
            ]
        return self.new_story(site, when, paragraphs, title, section="Markets", family="fund")

    def teams(self, n: int) -> list[str]:
        mascots = (
            "Hawks", "Rovers", "United", "Wolves", "Comets", "Pirates", "Tigers", "Bears",
            "Giants", "Rangers", "Storm", "Lions", "Falcons", "Mariners", "Raiders", "Knights",
        )  # fmt: skip
        names = [
            f"{t} {m}"
            for t, m in zip(self.distinct(self.town, n), self.rng.sample(mascots, n), strict=True)
        ]
        for name in names:
            self.rosters[name] = [self.person() for _ in range(7)]
        return names

    def leaders(self, team: str) -> str:
        players = self.rosters[team]
        r = random.Random(team)
        return (
            f"{team}: goals, {players[0]} ({r.randint(4, 19)}); assists, {players[1]} "
            f"({r.randint(4, 19)}); points, {players[2]} ({r.randint(9, 30)}); saves, "
            f"{players[-1]} ({r.randint(150, 600)})."
        )

    def standings(self, teams: list[str], day: date) -> str:
        key = (teams[0], day)
        if key not in self._standings:
            r = random.Random(f"{key}{self.rng.random()}")
            rows = sorted((r.randint(3, 20), r.randint(3, 20), r.randint(0, 5), t) for t in teams)
            self._standings[key] = f"Standings after {WEEKDAYS[day.weekday()]}: " + ", ".join(
                f"{t} {w}-{lost}-{d}" for w, lost, d, t in reversed(rows)
            )
        return self._standings[key]

    def score_story(
        self, site: Site, variant: int, when: datetime, teams: list[str], taken: set[Any]
    ) -> Story:
        """One automated game recap of a publisher's template."""
        rng = self.rng
        games = self.games[site.slug]
        series = [g for g in games if (when.date() - g[2]).days == 1]
        for _ in range(50):
            if variant == 0 and series and rng.random() < 0.4:
                # The next game of a series: the same two teams, the day after.
                a, b = rng.sample(rng.choice(series)[:2], 2)
            else:
                a, b = rng.sample(teams, 2)
            if (a, b, when.date()) not in taken and (b, a, when.date()) not in taken:
                break
        taken.add((a, b, when.date()))
        games.append((a, b, when.date()))
        weekday = WEEKDAYS[when.weekday()]
        city = a.rsplit(" ", 1)[0]
        if variant == 0:
            x = rng.randint(1, 6)
            y = rng.randint(0, x - 1)
            scorer, second = rng.sample(self.rosters[a][:-1], 2)
            other = rng.choice(self.rosters[b][:-1])
            title = rng.choice(
                (
                    f"{a} beat {b} {x}-{y}",
                    f"{a} top {b} {x}-{y}",
                    f"{scorer} scores {'twice' if x > 1 else 'late'} as {a} beat {b} {x}-{y}",
                    f"{a} {x}, {b} {y}",
                )
            )
            paragraphs = [
                f"{city.upper()} ({site.name}) — {scorer} scored "
                f"{'twice' if x > 1 else 'the only goal'} and the {a} beat the {b} {x}-{y} on "
                f"{weekday} {rng.choice(('night', 'afternoon', 'evening'))}.",
                f"{second} {rng.choice(('added a goal', 'also scored', 'had two assists'))} "
                f"for the {a}, who {rng.choice(('have won', 'are unbeaten in'))} "
                f"{rng.randint(2, 7)} straight. {self.rosters[a][-1]} made "
                f"{rng.randint(14, 40)} saves.",
                (
                    f"{other} scored for the {b}, who have lost {rng.randint(2, 5)} of their "
                    f"last {rng.randint(6, 9)}. {self.rosters[b][-1]} stopped "
                    f"{rng.randint(10, 35)} shots."
                    if y
                    else f"{self.rosters[b][-1]} made {rng.randint(10, 35)} saves for the {b}."
                ),
                f"The {a} went ahead {rng.randint(1, 19)}:{rng.randint(0, 59):02d} into the "
                f"{rng.choice(('first', 'second', 'third'))} period when {scorer} "
                f"{rng.choice(('converted a pass from', 'finished a rebound set up by'))} "
                f"{rng.choice([p for p in self.rosters[a][:-1] if p != scorer])}.",
                "## UP NEXT",
                f"{a}: {rng.choice(('At', 'Host'))} {rng.choice(teams)} on "
                f"{rng.choice(WEEKDAYS)}. {b}: {rng.choice(('At', 'Host'))} "
                f"{rng.choice(teams)} on {rng.choice(WEEKDAYS)}.",
                f"This story was generated automatically using data from {site.agency}.",
            ]
            if rng.random() < 0.6:  # each team's season leaders: the same all week
                paragraphs[-1:-1] = ["## Team leaders", self.leaders(a), self.leaders(b)]
            if rng.random() < 0.5:  # the day's table, the same in every recap of the day
                paragraphs[-1:-1] = ["## Standings", self.standings(teams, when.date())]
        else:
            x = rng.randint(7, 63)
            y = rng.randint(0, x - 1)
            margin = x - y
            sport = rng.choice(("football", "basketball"))
            state = site.network.split()[0]
            if margin > 20:
                p1 = rng.choice(
                    (
                        f"{a} didn’t mess around on {weekday}, racing to a {x}-{y} victory "
                        f"over {b} in {state} high school {sport}.",
                        f"{a} dominated from start to finish in an imposing {x}-{y} win over "
                        f"{b} in {state} high school {sport} on {weekday}.",
                    )
                )
                verb = rng.choice(("dominates", "crushes", "routs"))
            elif margin > 7:
                p1 = rng.choice(
                    (
                        f"{a} knocked off {b} {x}-{y} in a {state} high school {sport} game "
                        f"on {weekday}.",
                        f"{a} got past {b} {x}-{y} in {state} high school {sport} action on "
                        f"{weekday}.",
                    )
                )
                verb = rng.choice(("tops", "downs", "defeats"))
            else:
                p1 = rng.choice(
                    (
                        f"{a} edged {b} {x}-{y} in a tight {state} high school {sport} "
                        f"matchup on {weekday}.",
                        f"{a} survived {b} for a narrow {x}-{y} win in {state} high school "
                        f"{sport} on {weekday}.",
                    )
                )
                verb = rng.choice(("edges", "outlasts", "slips past"))
            q = sorted(rng.randint(0, x) for _ in range(3))
            r = sorted(rng.randint(0, y) for _ in range(3))
            title = rng.choice((f"{a} {verb} {b} {x}-{y}", f"{a} {x}, {b} {y}"))
            paragraphs = [
                p1,
                rng.choice(
                    (
                        f"The first quarter gave {a} a {q[0]}-{r[0]} lead over {b}.",
                        f"{a} opened with a {q[0]}-{r[0]} advantage over {b} through the "
                        "first quarter.",
                    )
                ),
                rng.choice(
                    (
                        f"{a} fought to a {q[1]}-{r[1]} halftime margin at {b}’s expense.",
                        f"{b} trailed {q[1]}-{r[1]} at the intermission.",
                    )
                ),
                f"{a} charged to a {q[2]}-{r[2]} lead heading into the final quarter.",
                f"Recently on {_day(when - timedelta(days=rng.randint(6, 12)))}, {a} squared "
                f"off with {rng.choice(teams)} in a {sport} game.",
                f"Scores are reported to {site.name} by coaches and {site.agency}.",
            ]
        return self.new_story(site, when, paragraphs, title, section="Sport", family="score")

    def zone_forecast(self, rng: random.Random) -> list[tuple[str, int]]:
        """A zone's forecast (four periods): what the towns of the zone share."""
        conditions = (
            "Patchy fog before 10am, then mostly sunny",
            "Rain, mainly after 2pm",
            "Mostly cloudy",
            "Sunny",
            "A chance of showers and thunderstorms",
            "Partly sunny",
            "Snow likely, mainly before noon",
            "Areas of drizzle",
            "Clear",
            "Mostly clear",
            "Breezy, with a chance of rain",
        )
        winds = (
            "Calm wind becoming south around 5 mph in the afternoon",
            "West wind 10 to 15 mph, with gusts as high as 25 mph",
            "Light and variable wind",
            "Northeast wind around 10 mph",
            "South wind 5 to 10 mph",
        )
        base = rng.randint(25, 88)
        out = []
        for period in range(4):
            bound = "high near" if period % 2 == 0 else "low around"
            text = f"{rng.choice(conditions)}, with a {bound} {{t}}. {rng.choice(winds)}."
            out.append((text, base + (0 if period % 2 == 0 else -rng.randint(8, 20))))
        return out

    def weather_story(
        self, site: Site, variant: int, town: str, when: datetime, zone: list[tuple[str, int]]
    ) -> Story:
        rng = self.rng
        weekday = WEEKDAYS[when.weekday()]
        tomorrow = WEEKDAYS[(when.weekday() + 1) % 7]
        temps = [t + rng.randint(-2, 2) for _, t in zone]
        headline = zone[0][0].split(",")[0]
        if variant == 0:
            title = rng.choice(
                (
                    f"{town} Weather Forecast For {weekday}: {headline}",
                    f"{town} forecast for {weekday}: {headline.lower()}",
                    f"{weekday} weather in {town}: {headline.lower()}, high {temps[0]}",
                )
            )
            names = (weekday, f"{weekday} Night", tomorrow, f"{tomorrow} Night")
            paragraphs = [
                f"Here is the weather forecast for {town} for {weekday}, {_day(when)}.",
                *(
                    f"{n}: {text.format(t=t)}"
                    for n, (text, _), t in zip(names, zone, temps, strict=True)
                ),
                f"{town} readers can find current conditions, radar and alerts at "
                f"{site.host}/weather. Forecasts are provided by the National Weather Service.",
            ]
        else:
            cond = zone[0][0].split(",")[0].lower()
            title = f"{weekday}’s forecast in {town}: {cond} and {temps[0]} degrees"
            paragraphs = [
                f"{town} can expect {cond} on {weekday}, according to {site.agency}. "
                f"Temperatures will peak at {temps[0]} degrees, dipping to {temps[1]} "
                "overnight.",
                f"Wind: {rng.choice(('north', 'south', 'west', 'east'))} around "
                f"{rng.randint(2, 20)} mph. Chance of precipitation: {rng.randint(0, 100)}%. "
                f"Humidity: {rng.randint(30, 98)}%.",
                f"Sunrise is at 6:{rng.randint(10, 59)} a.m. and sunset at "
                f"{rng.randint(4, 8)}:{rng.randint(10, 59)} p.m.",
                f"This forecast was compiled automatically by {site.name} from "
                f"{site.agency} data and is updated every morning.",
            ]
        return self.new_story(
            site, when, paragraphs, title, section="Weather", family="weather", city=town
        )

    def template_entry(self, story: Story, traits: Sequence[str] = ()) -> Entry:
        return self.publish(story, kind="template", traits=[story.family, *traits])

    def template_copy(self, entry: Entry, site: Site) -> Entry | None:
        return self.copy(
            entry, site, kind="template-copy", traits=[entry.story.family], delay=(5, 180)
        )


@dataclass
class Company:
    name: str
    ticker: str
    exchange: str
    sector: str
    about: str
    weight: float
    others: list[str]
    insider: str


# -- the networks ------------------------------------------------------------------------------


def build(b: Builder) -> None:
    rng = b.rng
    w = b.words

    def brand() -> str:
        return w.phrase(1).title()

    # 1. A regional newspaper chain.
    p = brand()
    chain = f"{p} Media Group"
    courier = b.site("courier", f"{p} Courier", chain, category=("Local", 0.4))
    herald = b.site("herald", f"{brand()} Herald", chain, category=("Politics", 0.35))
    gazette = b.site("gazette", f"{brand()} Gazette", chain, style="interrupt-uk", fmt="atom")
    post = b.site("evening-post", f"{brand()} Evening Post", chain, fmt="json")
    b.footers(chain, [courier, herald, gazette, post])
    # 2. A wire service and its partners.
    q = brand()
    wire_net = f"{q} Wire Network"
    wire = b.site("wire", f"{q} Wire", wire_net, wire=True)
    daily = b.site("daily", f"{brand()} Daily", wire_net, fmt="atom")
    reader = b.site("reader", f"{brand()} Reader", wire_net)
    headlines = b.site("headlines", f"{brand()} Headlines", wire_net, fmt="rss-desc")
    online = b.site("online", f"{brand()} Online", wire_net, style="noisy")
    b.footers(wire_net, [wire, daily, reader, headlines, online])
    # 3. Markets: fund/ticker templates.
    m = brand()
    markets = f"{m} Markets"
    watch = b.site(
        "market-watch", f"{m} Market Watch", markets, links="wp", category=("Holdings", 0.5)
    )
    ticker = b.site(
        "ticker-report",
        f"{brand()} Ticker Report",
        markets,
        links="php",
        fmt="atom",
        php_path="article.php?id={n}",
    )
    finance = b.site("finance-daily", f"{brand()} Finance Daily", markets)
    b.footers(markets, [watch, ticker, finance])
    # 4. Sports: score templates.
    s = brand()
    sports = f"{s} Sports"
    desk = b.site("sports-desk", f"{s} Sports Desk", sports, category=("Scores", 0.4))
    prep = b.site("prep-sports", f"{brand()} Prep Sports", sports, fmt="json")
    b.footers(sports, [desk, prep])
    # 5. Local sites: town weather templates.
    t = brand()
    local = f"{t} Local"
    patch_a = b.site("local-a", f"{t} Today", local, links="wp")
    patch_b = b.site("local-b", f"{brand()} Now", local, fmt="atom")
    patch_c = b.site("local-c", f"{brand()} Weather Desk", local)
    b.footers(local, [patch_a, patch_b, patch_c])
    # 6. Digests and headlines.
    d = brand()
    digest_net = f"{d} Daily Network"
    briefing = b.site("briefing", f"{d} Briefing", digest_net)
    teasers = b.site("top-headlines", f"{brand()} Top Headlines", digest_net, fmt="atom-summary")
    b.footers(digest_net, [briefing, teasers])
    # 7. Blogs with query-string links.
    g = brand()
    blogs = f"{g} Digital"
    blog = b.site("blog", f"{g} Blog", blogs, links="wp", category=("Reviews", 0.35))
    mag = b.site("magazine", f"{brand()} Magazine", blogs, fmt="rss-escaped", style="noisy")
    forum = b.site(
        "forum",
        f"{brand()} Forum",
        blogs,
        links="php",
        php_path="news/view.php?id={n}&cat={c}",
        category=("Community", 0.4),
        category_tracking="utm",
    )
    b.footers(blogs, [blog, mag, forum])
    # 8. A national pair.
    n = brand()
    national = f"{n} National"
    times = b.site("times", f"{n} Times", national)
    usa = b.site("national-post", f"{brand()} National Post", national, style="interrupt-us")
    b.footers(national, [times, usa])

    # Templates first: they are independent of the news.
    b.market_data()
    for site, variant, per_day in ((watch, 0, 5.0), (ticker, 1, 4.0)):
        taken: set[Any] = set()
        for when in sorted(b.moment() for _ in range(b.count(per_day))):
            b.template_entry(b.fund_story(site, variant, when, taken))
    league = b.teams(14)
    prep_teams = b.teams(16)
    for site, variant, per_day, teams in ((desk, 0, 4.5, league), (prep, 1, 4.0, prep_teams)):
        taken = set()
        for when in sorted(b.moment() for _ in range(b.count(per_day))):
            b.template_entry(b.score_story(site, variant, when, teams, taken))
    towns = b.distinct(b.town, 12)
    zones = {town: i // 4 for i, town in enumerate(towns)}
    coverage = ((patch_a, 0, towns[0:4]), (patch_b, 0, towns[2:6]), (patch_c, 1, towns[6:12]))
    day = b.start.date() + timedelta(days=1)
    share = min(1.0, b.scale)
    while day <= b.base.date():
        forecast = {z: b.zone_forecast(random.Random(rng.random())) for z in range(3)}
        morning = datetime(day.year, day.month, day.day, 5, 0, tzinfo=UTC)
        made: dict[str, Entry] = {}
        for site, variant, covered in coverage:
            for town in covered:
                when = morning + timedelta(minutes=rng.randint(0, 90))
                if when > b.base - timedelta(hours=1) or rng.random() > share:
                    continue
                if town in made:  # the sister site republishes the forecast it has
                    b.template_copy(made[town], site)
                    continue
                story = b.weather_story(site, variant, town, when, forecast[zones[town]])
                made[town] = b.template_entry(story)
        day += timedelta(days=1)

    # News, oldest networks' stories first (follow-ups quote older stories).
    b.news(wire, 9.0)
    b.news(courier, 6.0, followups=0.12)
    b.news(herald, 5.0, followups=0.1)
    b.news(gazette, 2.0)
    b.news(post, 3.0, followups=0.1)
    b.news(daily, 1.0)
    b.news(online, 1.0)
    b.news(finance, 2.0)
    b.news(desk, 2.0)
    b.news(patch_a, 2.0)
    b.news(patch_b, 1.5)
    b.news(patch_c, 1.0)
    b.news(blog, 4.0, followups=0.15)
    b.news(mag, 1.0)
    b.news(forum, 3.0, followups=0.12)
    b.news(times, 6.0, followups=0.1)
    b.news(usa, 4.0)

    # Updates before copies of updates; copies of the originals first.
    chain_sites = (courier, herald, gazette, post)
    for source in chain_sites:
        b.syndicate(source, [(o, 0.18, "copy") for o in chain_sites if o is not source])
        b.syndicate(source, [(teasers, 0.2, "teaser")])
    b.syndicate(
        wire,
        [
            (daily, 0.45, "copy"),
            (reader, 0.45, "partial"),
            (headlines, 0.5, "teaser"),
            (online, 0.3, "copy"),
            *((o, 0.1, "copy") for o in chain_sites),
            (times, 0.12, "copy"),
            (usa, 0.12, "copy"),
        ],
    )
    b.syndicate(times, [(usa, 0.3, "copy"), (teasers, 0.25, "teaser"), (reader, 0.1, "partial")])
    b.syndicate(usa, [(times, 0.1, "copy"), (teasers, 0.15, "teaser")])
    b.syndicate(desk, [(prep, 0.3, "copy")])
    for source in (patch_a, patch_b, patch_c):
        b.syndicate(
            source, [(o, 0.2, "copy") for o in (patch_a, patch_b, patch_c) if o is not source]
        )
    b.syndicate(blog, [(mag, 0.3, "copy"), (times, 0.1, "copy"), (courier, 0.05, "copy")])
    b.syndicate(forum, [(mag, 0.3, "copy"), (times, 0.1, "copy"), (usa, 0.05, "copy")])
    b.syndicate(finance, [(watch, 0.1, "copy")])
    for source, target, chance in (
        (watch, finance, 0.2),
        (ticker, finance, 0.2),
        (desk, prep, 0.25),
    ):
        for story in list(b.by_site[source.slug]):
            if story.family and rng.random() < chance:
                b.template_copy(b.entries[story.id][0], target)
    for site, chance in (
        (wire, 0.12),
        (courier, 0.1),
        (herald, 0.1),
        (times, 0.1),
        (blog, 0.06),
        (post, 0.05),
    ):
        b.updates(site, chance)
    b.digests(briefing, teasers, [courier, herald, wire, times, post])
    b.categories()


# -- documents ---------------------------------------------------------------------------------


def _plain_summary(entry: Entry) -> str:
    text = " ".join(" ".join(entry.paragraphs).replace("## ", "").split()[:45])
    return text + " …"


def rss_document(feed: Feed, base: datetime) -> bytes:
    site = feed.site
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
        f"<title>{escape(feed.title)}</title>\n<link>https://{site.host}/</link>\n"
        f"<description>{escape(feed.title)}: latest stories</description>\n"
        f"<lastBuildDate>{format_datetime(base)}</lastBuildDate>\n"
    ]
    for e in sorted(feed.entries, key=lambda e: e.published, reverse=True):
        permalink = "true" if e.guid == e.link else "false"
        out.append(
            f"<item>\n<title>{escape(e.title)}</title>\n<link>{escape(e.link)}</link>\n"
            f'<guid isPermaLink="{permalink}">{escape(e.guid)}</guid>\n'
            f"<pubDate>{format_datetime(e.published)}</pubDate>\n"
            f"<dc:creator>{escape(e.story.author)}</dc:creator>\n"
            f"<category>{escape(e.story.section)}</category>\n"
        )
        if e.text_only:
            out.append(f"<description>{escape(e.html)}</description>\n")
        elif feed.fmt == "rss-escaped":
            out.append(f"<description>{escape(escape(e.html))}</description>\n")
        elif feed.fmt == "rss-desc":
            out.append(f"<description>{escape(e.html)}</description>\n")
        else:
            out.append(
                f"<description>{escape(_plain_summary(e))}</description>\n"
                f"<content:encoded><![CDATA[{e.html.replace(']]>', ']] >')}]]>"
                "</content:encoded>\n"
            )
        out.append("</item>\n")
    out.append("</channel>\n</rss>\n")
    return "".join(out).encode("utf-8")


def atom_document(feed: Feed, base: datetime) -> bytes:
    def stamp(when: datetime) -> str:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    site = feed.site
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>{escape(feed.title)}</title>\n"
        f'<link rel="alternate" href="https://{site.host}/"/>\n'
        f"<id>https://{site.host}/{feed.slug}</id>\n<updated>{stamp(base)}</updated>\n"
    ]
    for e in sorted(feed.entries, key=lambda e: e.published, reverse=True):
        out.append(
            f"<entry>\n<title>{escape(e.title)}</title>\n"
            f'<link rel="alternate" href={quoteattr(e.link)}/>\n<id>{escape(e.guid)}</id>\n'
            f"<published>{stamp(e.published)}</published>\n"
            f"<updated>{stamp(e.published)}</updated>\n"
            f"<author><name>{escape(e.story.author)}</name></author>\n"
        )
        if e.text_only:
            out.append(f'<summary type="text">{escape(e.html)}</summary>\n')
        elif feed.fmt == "atom-summary":
            out.append(f'<summary type="html">{escape(e.html)}</summary>\n')
        else:
            out.append(f'<content type="html">{escape(e.html)}</content>\n')
        out.append("</entry>\n")
    out.append("</feed>\n")
    return "".join(out).encode("utf-8")


def json_document(feed: Feed) -> bytes:
    site = feed.site
    items = []
    for e in sorted(feed.entries, key=lambda e: e.published, reverse=True):
        item: dict[str, Any] = {
            "id": e.guid,
            "url": e.link,
            "title": e.title,
            "date_published": e.published.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "authors": [{"name": e.story.author}],
        }
        item["content_text" if e.text_only else "content_html"] = e.html
        items.append(item)
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "home_page_url": f"https://{site.host}/",
        "items": items,
    }
    return json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8")


def document(feed: Feed, base: datetime) -> bytes:
    if feed.fmt == "json":
        return json_document(feed)
    if feed.fmt.startswith("atom"):
        return atom_document(feed, base)
    return rss_document(feed, base)


def truth_row(entry: Entry) -> dict[str, Any]:
    row: dict[str, Any] = {
        "feed": entry.feed.filename,
        "site": entry.feed.site.name,
        "guid": entry.guid,
        "link": entry.link,
        "story": entry.story.id,
        "kind": entry.kind,
        "source": entry.story.id,
        "traits": entry.traits,
    }
    if entry.same_as is not None:
        row["same_item_as"] = {"feed": entry.same_as.feed.filename, "guid": entry.same_as.guid}
    return row


def write(b: Builder, out: Path, seed: int) -> dict[str, Any]:
    feeds_dir = out / "feeds"
    if feeds_dir.exists():
        shutil.rmtree(feeds_dir)
    feeds_dir.mkdir(parents=True)
    feeds = [f for site in b.sites.values() for f in site.feeds if f.entries]
    rows = []
    total = 0
    for feed in feeds:
        body = document(feed, b.base)
        (feeds_dir / feed.filename).write_bytes(body)
        total += len(body)
        rows += [truth_row(e) for e in feed.entries]
    keys = Counter((r["feed"], r["guid"]) for r in rows)
    doubled = [k for k, n in keys.items() if n > 1]
    if doubled:
        raise SystemExit(f"hard_corpus: an item twice in one feed: {doubled[:3]}")
    again = Counter(
        (r["feed"], r["story"])
        for r in rows
        if r["kind"] != "update" and "of:update" not in r["traits"]
    )
    if max(again.values()) > 1:  # a story twice in one feed is an update of it
        raise SystemExit(f"hard_corpus: a story twice in one feed: {again.most_common(2)}")
    stories_of: dict[str, set[str]] = defaultdict(set)
    for r in rows:  # one link (tracking parameters aside) is one story
        stories_of[re.sub(r"[?&](utm_|at_|fbclid).*$", "", r["link"])].add(r["story"])
    shared = [link for link, ids in stories_of.items() if len(ids) > 1]
    if shared:
        raise SystemExit(f"hard_corpus: one link for two stories: {shared[:3]}")
    truth = {"items": rows, "gray_sources": [], "kinds": KINDS}
    (out / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False))
    stories = Counter(r["story"] for r in rows)
    manifest = {
        "generator": GENERATOR_VERSION,
        "seed": seed,
        "base": b.base.isoformat(),
        "days": b.days,
        "feeds": len(feeds),
        "items": len(rows),
        "stories": len(stories),
        "stories_with_copies": sum(1 for n in stories.values() if n > 1),
        "bytes": total,
        "kinds": dict(Counter(r["kind"] for r in rows).most_common()),
        "traits": dict(
            Counter(
                t.split(":")[0] if t.startswith(("quotes:", "leads:")) else t
                for r in rows
                for t in r["traits"]
            ).most_common()
        ),
        "feed_items": {f.filename: len(f.entries) for f in feeds},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def make_hard_corpus(
    out: Path,
    seed: int = 1,
    items: int = DEFAULT_ITEMS,
    days: int = DEFAULT_DAYS,
    base: datetime = DEFAULT_BASE,
) -> dict[str, Any]:
    """Generate the corpus into ``out``; return its manifest."""
    builder = Builder(seed, items, days, base)
    build(builder)
    return write(builder, out, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--items", type=int, default=DEFAULT_ITEMS, help="about this many")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="days of news")
    parser.add_argument(
        "--base", help=f"the corpus's end, ISO 8601 (default {DEFAULT_BASE:%Y-%m-%dT%H:%MZ})"
    )
    args = parser.parse_args(argv)
    base = DEFAULT_BASE
    if args.base:
        base = datetime.fromisoformat(args.base)
        base = base.replace(tzinfo=UTC) if base.tzinfo is None else base.astimezone(UTC)
    started = time.perf_counter()
    manifest = make_hard_corpus(args.out, args.seed, args.items, args.days, base)
    print(
        f"hard corpus: {manifest['feeds']} feeds, {manifest['items']} items, "
        f"{manifest['stories']} stories ({manifest['stories_with_copies']} with copies), "
        f"{manifest['bytes'] / 1e6:.1f} MB in {args.out} "
        f"({time.perf_counter() - started:.1f}s)"
    )
    width = max(len(k) for k in KINDS)
    for kind, n in manifest["kinds"].items():
        print(f"  {kind:<{width}}  {n:5d}  {100 * n / manifest['items']:5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
