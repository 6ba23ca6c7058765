"""The generated syndicated corpus: feeds of articles, some of them copies of another feed's.

``make_corpus(CorpusSpec(feeds, items, seed, syndicated, text_from))`` writes, once per
parameters, a folder of ``feeds`` feed files (RSS 2.0 with ``content:encoded``, every fifth
feed Atom) of ``items`` items each: articles of 400-1,000 words (paragraphs, a subhead, a
figure with a relative image, links, now and then an embedded ``<script>``, a sponsor line
and a network footer).  About ``syndicated`` (20 %) of each feed's items are copies of a
story first published by another feed (of the same network, mostly): another footer and
sponsor line, a title suffix, ``utm_`` parameters on the link, sometimes a dropped
paragraph or curly quotes.  The text comes from :class:`bench.words.Words`, or, with
``text_from``, from the sentences of that folder's articles recombined.

Beside the feeds: ``manifest.json`` (feeds, items, copies, bytes, …) and ``truth.json``,
the labels ``bench/quality.py`` scores against (each item's feed file, guid and story;
kind ``origin`` or ``copy``; source: the feed that first published the story).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import FEED_SUFFIXES, ROOT
from bench.feedxml import atom_document, rss_document
from bench.words import CorpusText, Words

CORPUS_CACHE = ROOT / "bench" / ".corpus"
GENERATOR_VERSION = 4
"""Bump when the corpus generator changes, so cached corpora are made again (4: the
folder holds ``truth.json``; the feeds are those of version 3)."""
SECTIONS = (
    "News",
    "Local",
    "Business",
    "Sport",
    "Politics",
    "World",
    "Science",
    "Culture",
    "Opinion",
    "Tech",
)
TOPICS = ("politics", "economy", "weather", "sport", "health", "transport", "courts", "science")


@dataclass(frozen=True)
class CorpusSpec:
    feeds: int
    items: int
    """Items per feed, its own and copies."""
    seed: int = 1
    syndicated: float = 0.2
    """Share of each feed's items that copy another feed's story."""
    text_from: Path | None = None


@dataclass
class Story:
    key: int
    title: str
    paragraphs: list[str]
    link: str
    published: datetime
    author: str
    topic: str
    origin: str = ""
    """The slug of the feed that published it first."""


@dataclass(frozen=True)
class Entry:
    """One item of a feed: its own story, or a copy of another feed's."""

    story: Story
    title: str
    link: str
    guid: str
    published: datetime
    copy: bool


@dataclass
class FeedPlan:
    index: int
    slug: str
    name: str
    host: str
    network: str
    atom: bool
    sponsor: str
    footer: str
    read_more: bool
    entries: list[Entry] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return f"{self.slug}{'.atom' if self.atom else '.xml'}"


def corpus_key(spec: CorpusSpec) -> str:
    source: list[Any] = []
    if spec.text_from is not None:
        source = [
            (str(p.relative_to(spec.text_from)), p.stat().st_size)
            for p in sorted(spec.text_from.rglob("*"))
            if p.suffix in FEED_SUFFIXES
        ]
    raw = json.dumps(
        [
            GENERATOR_VERSION,
            spec.feeds,
            spec.items,
            spec.seed,
            spec.syndicated,
            str(spec.text_from),
            source,
        ]
    )
    return hashlib.sha1(raw.encode()).hexdigest()[:10]


def make_corpus(spec: CorpusSpec, cache: Path = CORPUS_CACHE) -> Path:
    """The corpus folder for ``spec`` under ``cache``, generated unless it is there."""
    folder = cache / f"f{spec.feeds}-i{spec.items}-{corpus_key(spec)}"
    if (folder / "manifest.json").exists():
        return folder
    started = time.perf_counter()
    rng = random.Random(spec.seed)
    text = CorpusText(rng, spec.text_from) if spec.text_from else Words(rng)
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    plans = plan_feeds(spec.feeds, rng, text, base)
    copies_per_feed = round(spec.items * spec.syndicated)
    keys = itertools.count(1)
    own = {
        plan.index: add_originals(plan, spec.items - copies_per_feed, rng, text, base, keys)
        for plan in plans
    }
    for plan in plans:
        add_copies(plan, plans, own, copies_per_feed, rng, base)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache))
    manifest = write_corpus(tmp, plans, rng, base)
    manifest.update(
        text_from=str(spec.text_from) if spec.text_from else None,
        seed=spec.seed,
        generator=GENERATOR_VERSION,
    )
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    print(
        f"corpus: wrote {len(plans)} feeds, {manifest['items']} items, "
        f"{manifest['bytes'] / 1e6:.1f} MB to {folder} in "
        f"{time.perf_counter() - started:.1f}s",
        flush=True,
    )
    return folder


def plan_feeds(feeds: int, rng: random.Random, text: Words, base: datetime) -> list[FeedPlan]:
    """The feeds, five to a network: names, hosts, sponsor lines and footers."""
    networks = [
        text.phrase(1).capitalize()
        + " "
        + rng.choice(("Media", "News Group", "Wire", "Press", "Digital"))
        for _ in range((feeds + 4) // 5)
    ]
    plans: list[FeedPlan] = []
    for i in range(feeds):
        network = networks[i // 5]
        section = rng.choice(SECTIONS)
        name = f"{network.split()[0]} {section}"
        host = f"{network.split()[0].lower()}-{section.lower()}-{i}.example"
        brand = text.phrase(2).title()
        plans.append(
            FeedPlan(
                index=i,
                slug=f"feed-{i:03d}",
                name=name,
                host=host,
                network=network,
                atom=i % 5 == 2,
                sponsor=rng.choice(
                    (
                        f"This article is sponsored by {brand}.",
                        f"Sponsored by {brand} — {text.phrase(3)}.",
                        f"Brought to you by {brand}.",
                    )
                ),
                footer=(
                    f"© {base.year} {network}. All rights reserved. Follow our other networks: "
                    f"{', '.join(n for n in networks if n != network)[:160]}. This story first "
                    f"appeared on {name}; republication needs a licence."
                ),
                read_more=rng.random() < 0.5,
            )
        )
    return plans


def add_originals(
    plan: FeedPlan, count: int, rng: random.Random, text: Words, base: datetime, keys: Iterator[int]
) -> list[Story]:
    """The feed's own stories (``count`` of them, keys drawn from ``keys``), added to its
    entries."""
    stories: list[Story] = []
    for n in range(count):
        words_wanted = rng.randint(400, 1000)
        paragraphs: list[str] = []
        while sum(len(p.split()) for p in paragraphs) < words_wanted:
            paragraphs.append(text.paragraph())
        title = text.sentence(5, 11).rstrip(".?!")
        slug = "-".join(re.findall(r"[a-z0-9]+", title.lower())[:8])
        story = Story(
            key=next(keys),
            title=title,
            paragraphs=paragraphs,
            link=f"https://{plan.host}/{base:%Y/%m/%d}/{slug}-{n}",
            # At least 7 h old, so that no copy (published up to 6 h
            # later) is in the future, which the aggregator would clamp.
            published=base - timedelta(minutes=rng.randint(7 * 60, 3 * 24 * 60)),
            author=f"{text.phrase(1).title()} {text.phrase(1).title()}",
            topic=rng.choice(TOPICS),
            origin=plan.slug,
        )
        stories.append(story)
        plan.entries.append(
            Entry(
                story,
                title,
                story.link,
                f"tag:{plan.host},{base.year}:post-{n}",
                story.published,
                copy=False,
            )
        )
    return stories


def add_copies(
    plan: FeedPlan,
    plans: list[FeedPlan],
    own: dict[int, list[Story]],
    count: int,
    rng: random.Random,
    base: datetime,
) -> None:
    """``count`` copies of other feeds' stories (of the same network, mostly), never one
    story twice into one feed, each with the copying feed's own title suffix, link and
    publication time."""
    same = [p.index for p in plans if p.network == plan.network and p.index != plan.index]
    other = [p.index for p in plans if p.network != plan.network]
    taken: set[int] = set()
    for n in range(count if same or other else 0):
        for _ in range(100):
            pool = same if same and (rng.random() < 0.7 or not other) else other
            story = rng.choice(own[rng.choice(pool)])
            if story.key not in taken:
                break
        else:
            break  # a tiny corpus ran out of stories to copy
        taken.add(story.key)
        suffix = rng.choice((f" | {plan.name}", f" - {plan.network}", "", " (video)"))
        title = (story.title.upper() if rng.random() < 0.1 else story.title) + suffix
        if rng.random() < 0.5:
            link = f"{story.link}?utm_source={plan.slug}&utm_medium=rss&utm_campaign=syndication"
        else:
            link = f"https://{plan.host}{story.link[story.link.index('/', 8) :]}"
        plan.entries.append(
            Entry(
                story,
                title,
                link,
                f"tag:{plan.host},{base.year}:copy-{n}",
                story.published + timedelta(minutes=rng.randint(5, 360)),
                copy=True,
            )
        )


def write_corpus(
    folder: Path, plans: list[FeedPlan], rng: random.Random, base: datetime
) -> dict[str, Any]:
    """Write each feed's document (newest item first) and ``truth.json``; return the
    manifest's counts."""
    total_bytes = 0
    for plan in plans:
        entries = sorted(plan.entries, key=lambda e: e.published, reverse=True)
        body = (atom_document if plan.atom else rss_document)(plan, entries, rng, base)
        (folder / plan.filename).write_bytes(body)
        total_bytes += len(body)
    truth = [
        {
            "feed": plan.filename,
            "guid": e.guid,
            "link": e.link,
            "story": e.story.key,
            "kind": "copy" if e.copy else "origin",
            "source": e.story.origin,
        }
        for plan in plans
        for e in plan.entries
    ]
    (folder / "truth.json").write_text(json.dumps({"items": truth}, indent=1))
    return {
        "feeds": len(plans),
        "items": len(truth),
        "copies": sum(1 for t in truth if t["kind"] == "copy"),
        "bytes": total_bytes,
    }


def feed_files(folder: Path) -> list[Path]:
    """The feed files of a corpus folder, by name."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix in FEED_SUFFIXES and p.name not in ("manifest.json", "truth.json")
    )


def expected_items(folder: Path) -> int | None:
    """The item count of a generated corpus (its manifest), None for another folder."""
    manifest = folder / "manifest.json"
    return int(json.loads(manifest.read_text())["items"]) if manifest.exists() else None
