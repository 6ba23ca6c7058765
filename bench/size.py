"""Size: the decider's start-up, memory and decision cost, and the database's size, at N items.

    .venv/bin/python bench/size.py [--items 1000000] [--small 10000] [--feeds 1000]
        [--batch 2000] [--rounds 3] [--days 6] [--keep]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432]
        [--target-feeds 1000000] [--target-items 10000000] [--peak 3]
        [--feeds-per-worker 23.5] [--poll-interval 1800]

Needs PostgreSQL (the one on this machine by default).  Two fresh databases are filled
directly, without polling: one of ``--items`` items (the large one) and one of ``--small``
items, both over the same ``--feeds`` feeds (five to a network, as in
:mod:`bench.corpus`).  About 20 % of the items are syndicated copies of another feed's
story (a tenth of them summaries: the first 45 words); the rest are stories of their own,
published over the last ``--days`` days (inside the dedup window, so the decider loads them
all).  Each item is made the way the corpus makes one (text by the model of
:mod:`bench.words`, every sentence new; HTML from :mod:`bench.feedxml` with the feed's
sponsor line and footer), cleaned by the project's ``clean_entry``, fingerprinted by its
fingerprint code with the feeds' learned boilerplate removed, and its short blocks counted
as boilerplate evidence, as a decider counts them.  The clusters and memberships are the
project's ``DedupEngine`` decisions on those fingerprints, in arrival order.  Rows go in
with psycopg ``COPY`` into the schema ``Storage.upgrade()`` builds, from worker processes
(items, evidence) and this process (the engine's decisions); the database is then vacuumed
and analysed, and holds what a decider of this version leaves (the ``boilerplate-relearn``
list, empty).

Then, each in a fresh child process that imports what ``aggregator decider`` imports:

1. start-up: ``Pipeline.lead()`` — what the decider role's every round calls first — takes
   the lease and loads the state (the boilerplate evidence, the window's items into the
   engine, corrections); its time, and the resident set (RSS), its peak, and the live heap
   (pymalloc blocks + malloc in use) after it; then a second pass timing its parts; and
   the first decision after it (with the items it re-fingerprints, from the pipeline's
   ``event=refingerprint`` log line);
2. decision: batches of ``--batch`` new items (20 % copies of stored stories) stored the way
   a worker stores them, then ``Pipeline.decide_waiting()`` (what the role calls next); the
   same batches on both databases, in alternating order, after a warm-up batch; µs per item
   and items per second at each size, and their ratio (the machine is shared: the ratio is
   the figure to trust);
3. the database's size: ``pg_database_size`` and each table's ``pg_total_relation_size``.

Last, "on paper": what ``--target-feeds`` feeds and ``--target-items`` items a day would
need, computed from the measured figures (each line says which figures it derives from).
The databases are dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/size.py`: the repository root, not bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import ctypes
import gc
import html
import json
import logging
import math
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from sqlalchemy import insert

from aggregator.clean.blockcounts import utc_day
from aggregator.clean.boilerplate import (
    FORGETS_BELOW,
    LEARN_AT,
    NETWORK_LEARN_AT,
    evidence,
    filter_blocks,
    fold_text,
)
from aggregator.clean.text import clean_entry
from aggregator.config import DedupConfig
from aggregator.dedup.engine import Candidate, DedupEngine
from aggregator.fingerprint import signature as fp_mod
from aggregator.ingest.retention import EVIDENCE_DAYS
from aggregator.ingest.state import dedup_params
from aggregator.storage import Storage
from aggregator.storage.evidence import RELEARN_SETTING
from aggregator.storage.models import Base, BlockCount, Cluster, Feed, Item, Membership, Setting
from aggregator.types import Assignment, CleanItem, ClusterState, ParsedEntry
from bench import ROOT
from bench.corpus import TOPICS, Story, plan_feeds
from bench.feedxml import article_html, summary
from bench.scale import fresh_database
from bench.words import FUNCTION_WORDS, Words

ORIGIN, COPY, SUMMARY = 0, 1, 2
"""An item's kind: a story's first publication, a full copy, a summary copy."""
SUMMARY_SHARE = 0.1
"""Share of the copies that are summaries (the first 45 words and "…")."""
SYNDICATED = 0.2
"""Share of the items that copy another feed's story (as in :mod:`bench.corpus`)."""
SEED_STRIDE = 1_000_003
BATCH_KEYS = 1 << 40
"""Story keys and item serials of the decision batches start here (the stored ones below)."""
CHUNK = 1000
"""Items a generator process makes, copies in and hands to the engine at once."""
MASK64 = (1 << 64) - 1
WINDOW_DAYS = DedupConfig().window / 86400


# -- the items ------------------------------------------------------------------------------


def origin_feed(key: int, feeds: int, seed: int) -> int:
    """The feed that first publishes story ``key``: a function of the key alone, so a story
    is the same in every database made with the same seed and feeds."""
    x = (key * 0x9E3779B97F4A7C15 + seed) & MASK64
    x ^= x >> 31
    x = (x * 0xBF58476D1CE4E5B9) & MASK64
    x ^= x >> 29
    return x % feeds


class Prose:
    """Article text by the model of :meth:`bench.words.Words.sentence` — its vocabulary and
    Zipf weights, function words for 42 % of the words, capitalised words, numbers, commas,
    quotations — drawn with numpy a story at a time: every sentence of every story new
    (a story that reused another's sentences would look like it to the index), at a tenth
    of the cost of calling ``Words.sentence`` for each."""

    def __init__(self, words: Words) -> None:
        self.vocab = words.vocab
        # Quantile tables: a uniform 20-bit draw indexes the word it falls on (one gather
        # instead of a binary search of the cumulative weights per word).
        quantiles = (np.arange(1 << 20) + 0.5) / (1 << 20)
        self.content = np.searchsorted(np.asarray(words.cum) / words.cum[-1], quantiles)
        self.function = np.searchsorted(np.asarray(words.fcum) / words.fcum[-1], quantiles)
        numbers = [str(n) for n in range(2, 100)] + [f"{n} per cent" for n in range(1, 91)]
        plain = [*FUNCTION_WORDS, *(w.capitalize() for w in words.vocab), *words.vocab, *numbers]
        # One lexicon, then the same with a comma: a story is one gather of it.
        self.lexicon = np.array(plain + [w + "," for w in plain], dtype=object)
        self.capitals = len(FUNCTION_WORDS)
        self.lower = self.capitals + len(words.vocab)
        self.numbers = (self.lower + len(words.vocab), len(numbers))
        self.comma = len(plain)

    def sentences(
        self, rng: np.random.Generator, words: int, low: int = 7, high: int = 28
    ) -> list[str]:
        """Sentences of ``low``-``high`` words, as many as hold ``words`` words."""
        lengths = rng.integers(low, high + 1, size=words // low + 1)
        ends = np.cumsum(lengths)
        count = min(int(np.searchsorted(ends, words)) + 1, lengths.size)
        lengths, ends = lengths[:count], ends[:count]
        n = int(ends[-1])
        kind = rng.random(n)
        content = self.content[rng.integers(0, 1 << 20, n)]
        index = np.where(
            kind < 0.42,
            self.function[rng.integers(0, 1 << 20, n)],
            np.where(kind < 0.47, self.capitals + content, self.lower + content),
        )
        number = (kind >= 0.47) & (kind < 0.485)
        first, choices = self.numbers
        index[number] = first + rng.integers(0, choices, int(number.sum()))
        starts = ends - lengths
        position = np.arange(n) - np.repeat(starts, lengths)
        comma = (position >= 1) & (position < np.repeat(lengths, lengths) - 2)
        index[comma & (rng.random(n) < 0.06)] += self.comma
        out: list[str] = self.lexicon[index].tolist()
        quoted = (rng.random(count) < 0.12).tolist()
        said = rng.integers(0, 3, count).tolist()
        stops = rng.integers(0, 7, count).tolist()
        texts: list[str] = []
        for i, (start, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            text = " ".join(out[start:end])
            if quoted[i]:
                text = f"“{text},” {('she said', 'he said', 'they said')[said[i]]}"
            texts.append(text[0].upper() + text[1:] + ".....?!"[stops[i]])
        return texts


class Writer:
    """Stories and the items that publish them: article text by :class:`Prose`, HTML as
    :mod:`bench.feedxml` writes it, cleaned by the project's ``clean_entry``."""

    def __init__(self, seed: int, feeds: int) -> None:
        self.seed = seed
        self.prose = Prose(Words(random.Random(seed)))
        base = datetime.now(UTC)
        self.feeds = plan_feeds(feeds, random.Random(seed), Words(random.Random(seed + 1)), base)

    def story(self, key: int) -> Story:
        """Story ``key``: the same in every database made with the same seed and feeds."""
        r = random.Random(self.seed * SEED_STRIDE + key)
        g = np.random.default_rng([self.seed, key])
        sentences = self.prose.sentences(g, r.randint(400, 1000))
        # The headline: the lead's first words (titles are never evidence).
        title = " ".join(sentences[0].split()[: r.randint(5, 11)]).strip("“”,.?!")
        paragraphs: list[str] = []
        while sentences:
            take = r.randint(2, 5)
            paragraphs.append(" ".join(sentences[:take]))
            del sentences[:take]
        slug = "-".join(re.findall(r"[a-z0-9]+", title.lower())[:8])
        plan = self.feeds[origin_feed(key, len(self.feeds), self.seed)]
        names = [self.prose.vocab[i] for i in self.prose.content[g.integers(0, 1 << 20, 2)]]
        return Story(
            key=key,
            title=title,
            paragraphs=paragraphs,
            link=f"https://{plan.host}/news/{slug}-{key}",
            published=datetime(2026, 1, 1, tzinfo=UTC),  # unused: items carry their own
            author=f"{names[0].title()} {names[1].title()}",
            topic=r.choice(TOPICS),
            origin=plan.slug,
        )

    def item(
        self, kind: int, story: Story, feed: int, published: datetime, serial: int
    ) -> CleanItem:
        """One feed's item of ``story``, as :mod:`bench.corpus` writes it, then cleaned."""
        plan = self.feeds[feed]
        r = random.Random((self.seed + 7) * SEED_STRIDE + serial)
        if kind == ORIGIN:
            title, link = story.title, story.link
            guid = f"tag:{plan.host},{published.year}:post-{story.key}"
            content, full = article_html(plan, story, r, False), True
        else:
            suffix = r.choice((f" | {plan.name}", f" - {plan.network}", "", " (video)"))
            title = (story.title.upper() if r.random() < 0.1 else story.title) + suffix
            if r.random() < 0.5:
                link = (
                    f"{story.link}?utm_source={plan.slug}&utm_medium=rss&utm_campaign=syndication"
                )
            else:
                link = f"https://{plan.host}{story.link[story.link.index('/', 8) :]}"
            guid = f"tag:{plan.host},{published.year}:copy-{serial}"
            if kind == SUMMARY:
                content, full = f"<p>{html.escape(summary(story))}</p>", False
            else:
                content, full = article_html(plan, story, r, True), True
        return clean_entry(
            ParsedEntry(guid, link, title, story.author, published, None, content, full)
        )

    def learned_blocks(self) -> dict[str, str]:
        """``block key → folded block`` of every feed's own boilerplate (sponsor line,
        "continue reading", footer): the blocks every item of the feed carries, which the
        boilerplate model learns after a feed's third item."""
        out: dict[str, str] = {}
        for index, plan in enumerate(self.feeds):
            seen: list[dict[str, str]] = []
            for n in (1, 2):
                story = Story(
                    key=-n,
                    title="t",
                    paragraphs=[f"story number {n} of feed {index} has one paragraph"],
                    link=f"https://{plan.host}/news/t-{n}",
                    published=datetime(2026, 1, 1, tzinfo=UTC),
                    author="A",
                    topic="sport",
                    origin=plan.slug,
                )
                item = self.item(ORIGIN, story, index, story.published, -n)
                seen.append(dict(evidence(fold_text(item.text))))
            out.update((key, folded) for key, folded in seen[0].items() if key in seen[1])
        return out


@dataclass
class Plan:
    """Every item of a database, in arrival (id) order: item ``i`` has id ``i + 1``."""

    feed: npt.NDArray[np.int64]
    story: npt.NDArray[np.int64]
    kind: npt.NDArray[np.int64]
    published: npt.NDArray[np.float64]
    first_seen: npt.NDArray[np.float64]
    stories: int

    def __len__(self) -> int:
        return int(self.feed.size)


def make_plan(items: int, feeds: int, days: float, seed: int, now: float) -> Plan:
    """Stories published over ``days`` (up to 6 h ago); copies 5 min-6 h after their
    story, by another feed of the story's network (70 %) or any other feed; each item
    first seen 1-30 min after its publication."""
    rng = np.random.default_rng([seed, items])
    copies = round(items * SYNDICATED)
    stories = items - copies
    origin = np.array([origin_feed(k, feeds, seed) for k in range(stories)], dtype=np.int64)
    span = max(days * 86400 - 6 * 3600, 3600.0)
    story_time = now - 6 * 3600 - rng.random(stories) * span
    copy_story = rng.integers(0, stories, copies)
    copy_origin = origin[copy_story]
    network = copy_origin // 5
    size = np.minimum(5, feeds - network * 5)
    offset = 1 + (rng.random(copies) * np.maximum(size - 1, 1)).astype(np.int64)
    in_network = network * 5 + (copy_origin - network * 5 + offset) % size
    elsewhere = (copy_origin + 1 + rng.integers(0, max(feeds - 1, 1), copies)) % feeds
    copy_feed = np.where((rng.random(copies) < 0.7) & (size > 1), in_network, elsewhere)
    for _ in range(50):  # never one story twice into one feed (as bench.corpus)
        _, first = np.unique(copy_story * feeds + copy_feed, return_index=True)
        again = np.ones(copies, dtype=bool)
        again[first] = False
        if not again.any():
            break
        redrawn = rng.integers(0, max(feeds - 1, 1), int(again.sum()))
        copy_feed[again] = (copy_origin[again] + 1 + redrawn) % feeds
    copy_time = np.minimum(story_time[copy_story] + rng.uniform(300, 6 * 3600, copies), now - 60)
    kind = np.concatenate(
        [
            np.full(stories, ORIGIN, dtype=np.int64),
            np.where(rng.random(copies) < SUMMARY_SHARE, SUMMARY, COPY).astype(np.int64),
        ]
    )
    feed = np.concatenate([origin, copy_feed])
    story = np.concatenate([np.arange(stories, dtype=np.int64), copy_story])
    published = np.concatenate([story_time, copy_time])
    first_seen = np.minimum(published + rng.uniform(60, 1800, items), now)
    order = np.argsort(first_seen, kind="stable")
    return Plan(
        feed[order], story[order], kind[order], published[order], first_seen[order], stories
    )


# -- filling a database ------------------------------------------------------------------------

ITEM_COLUMNS = [c.name for c in Item.__table__.columns]
CLUSTER_COLUMNS = [c.name for c in Cluster.__table__.columns]
MEMBERSHIP_COLUMNS = [c.name for c in Membership.__table__.columns]
BLOCK_COLUMNS = [c.name for c in BlockCount.__table__.columns]
STAGING = "bench_size_evidence"
"""Evidence counted by the generator processes, per chunk; summed into ``block_counts``."""
LEARNED = "bench_size_learned"


def copy_into(table: str, columns: Sequence[str]) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )


def naive(ts: float) -> datetime:
    """UNIX seconds as the naive UTC the schema stores."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


Decidable = tuple[int, int, float, bool, str | None, float, bytes | None, str | None]
"""What the engine needs of a generated item: id, feed id, sort time, summary, canonical
link, first seen, stored fingerprint, content key."""


@dataclass
class _Job:
    """What a generator process works from (inherited when the pool forks)."""

    url: str
    plan: Plan
    writer: Writer
    learned: frozenset[str]
    connection: psycopg.Connection[Any] | None = None


_JOB: _Job | None = None


def _make_chunk(span: tuple[int, int]) -> tuple[list[Decidable], float, float]:
    """Make, fingerprint and copy in items ``span``; count their evidence.  Returns what
    the engine needs, and the seconds spent making the items and copying them in."""
    started = time.perf_counter()
    job = _JOB
    assert job is not None
    if job.connection is None:
        job.connection = psycopg.connect(libpq(job.url))
    plan, writer = job.plan, job.writer
    rows: list[tuple[Any, ...]] = []
    out: list[Decidable] = []
    counts: Counter[tuple[int, str]] = Counter()
    for index in range(*span):
        feed = int(plan.feed[index])
        published = datetime.fromtimestamp(float(plan.published[index]), UTC)
        item = writer.item(
            int(plan.kind[index]), writer.story(int(plan.story[index])), feed, published, index
        )
        folded = fold_text(item.text)
        fingerprint = fp_mod.fingerprint_blocks(filter_blocks(folded, job.learned).kept)
        blob = fp_mod.to_bytes(fingerprint)
        counts.update((feed + 1, key) for key, _ in evidence(folded))
        first_seen = float(plan.first_seen[index])
        sort_time = min(float(plan.published[index]), first_seen)
        values = {
            "id": index + 1,
            "feed_id": feed + 1,
            "entry_id": item.entry_id,
            "guid": item.guid,
            "link": item.link,
            "canonical_link": item.canonical_link,
            "title": item.title,
            "author": item.author,
            "published": naive(float(plan.published[index])),
            "updated": None,
            "sort_time": naive(sort_time),
            "first_seen": naive(first_seen),
            "content_html": item.content_html,
            "summary_html": item.summary_html or "",
            "authors": None,
            "text": item.text,
            "is_summary": item.is_summary,
            "content_hash": fingerprint.content_key,
            "revision": item.revision,
            "fingerprint": blob,
            "fingerprint_scheme": fp_mod.SCHEME,
        }
        rows.append(tuple(values[c] for c in ITEM_COLUMNS))
        out.append(
            (
                index + 1,
                feed + 1,
                sort_time,
                item.is_summary,
                item.canonical_link,
                first_seen,
                blob,
                fingerprint.content_key,
            )
        )
    made = time.perf_counter()
    connection = job.connection
    with connection.cursor() as cursor:
        with cursor.copy(copy_into("items", ITEM_COLUMNS)) as copy:
            for row in rows:
                copy.write_row(row)
        with cursor.copy(copy_into(STAGING, ["feed_id", "block_key", "items"])) as copy:
            for (feed_id, key), n in counts.items():
                copy.write_row((feed_id, key, n))
    connection.commit()
    return out, made - started, time.perf_counter() - made


@dataclass
class Filled:
    items: int
    stories: int
    copies: int
    seconds: float
    engine_seconds: float
    make_seconds: float
    copy_seconds: float
    finish_seconds: float
    clusters: int
    multi: int
    evidence_rows: int
    kept_rows: int
    """Of them, those counting enough items never to be forgotten as old."""
    unplanned_learned: int
    """Blocks the learning rule learns that are not a feed's own boilerplate (their items
    were fingerprinted with them; 0 expected)."""


def fill(url: str, plan: Plan, writer: Writer, now: float, processes: int, label: str) -> Filled:
    """The database at ``url`` holding ``plan``'s items, decided (see the module docstring)."""
    global _JOB
    started = time.perf_counter()
    storage = Storage(url)
    storage.upgrade()  # the migrated schema: create_all + stamp on an empty database
    feeds = writer.feeds
    with storage.engine.begin() as connection:
        connection.execute(
            insert(Feed),
            [
                {
                    "id": n + 1,
                    "url": f"https://{p.host}/feed",
                    "fetch_url": f"https://{p.host}/feed",
                    "name": p.name,
                    "title": p.name,
                    "group_name": p.network,
                    "priority": 1 if n % 20 == 0 else 0,
                    "etag": f'"{uuid.UUID(int=n).hex}"',
                    "last_checked": naive(now - 300),
                    "last_success": naive(now - 300),
                    "next_check": naive(now + 1500),
                    "created": naive(now - 30 * 86400),
                }
                for n, p in enumerate(feeds)
            ],
        )
        # Every learned block's carriers decided again, as a decider leaves it.
        connection.execute(insert(Setting), [{"key": RELEARN_SETTING, "value": "[]"}])
    priority = {n + 1: 1 if n % 20 == 0 else 0 for n in range(len(feeds))}
    learned = writer.learned_blocks()
    admin = psycopg.connect(libpq(url), autocommit=True)
    admin.execute(
        sql.SQL("CREATE UNLOGGED TABLE {} (feed_id integer, block_key text, items integer)").format(
            sql.Identifier(STAGING)
        )
    )
    admin.execute(
        sql.SQL("CREATE TABLE {} (block_key text PRIMARY KEY, sample text)").format(
            sql.Identifier(LEARNED)
        )
    )
    with admin.cursor() as cursor, cursor.copy(copy_into(LEARNED, ["block_key", "sample"])) as copy:
        for key, folded in learned.items():
            copy.write_row((key, folded[:500]))
    engine = DedupEngine(dedup_params(DedupConfig()))
    decided_now = datetime.fromtimestamp(now, UTC)
    members: dict[int, Assignment] = {}
    clusters: dict[int, ClusterState] = {}
    engine_seconds = make_seconds = copy_seconds = 0.0
    spans = [(start, min(start + CHUNK, len(plan))) for start in range(0, len(plan), CHUNK)]
    _JOB = _Job(url, plan, writer, frozenset(learned))
    context = multiprocessing.get_context("fork")
    done, shown = 0, 0.0
    with context.Pool(processes) as pool:
        for chunk, making, copying in pool.imap(_make_chunk, spans):
            make_seconds += making
            copy_seconds += copying
            t = time.perf_counter()
            batch = [
                Candidate(
                    item_id=item_id,
                    feed_id=feed_id,
                    priority=priority[feed_id],
                    sort_time=datetime.fromtimestamp(sort_ts, UTC),
                    is_summary=is_summary,
                    canonical_link=link,
                    fingerprint=(
                        fp_mod.from_bytes(blob, key)
                        if blob is not None
                        else fp_mod.Fingerprint(key, 0, np.empty(0, np.uint32), 0, None, None, 0)
                    ),
                    first_seen=datetime.fromtimestamp(first_ts, UTC),
                )
                for item_id, feed_id, sort_ts, is_summary, link, first_ts, blob, key in chunk
            ]
            changes = engine.decide(batch, decided_now)
            members.update((a.item_id, a) for a in changes.assignments)
            clusters.update((c.cluster_id, c) for c in changes.clusters)
            for cluster_id in changes.deleted_clusters:
                clusters.pop(cluster_id, None)
            engine_seconds += time.perf_counter() - t
            done += len(chunk)
            elapsed = time.perf_counter() - started
            if elapsed - shown >= 30 or done == len(plan):
                shown = elapsed
                print(
                    f"  {label}: {done:,}/{len(plan):,} items in {elapsed:.0f} s "
                    f"(engine {engine_seconds:.0f} s; generator processes: making "
                    f"{make_seconds:.0f} s, COPY {copy_seconds:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    _JOB = None
    finish = time.perf_counter()
    del engine
    gc.collect()
    first_seen = plan.first_seen
    created: dict[int, float] = {}
    updated: dict[int, float] = {}
    for a in members.values():
        seen = float(first_seen[a.item_id - 1])
        created[a.cluster_id] = min(created.get(a.cluster_id, seen), seen)
        updated[a.cluster_id] = max(updated.get(a.cluster_id, seen), seen)
    with admin.transaction(), admin.cursor() as cursor:
        with cursor.copy(copy_into("clusters", CLUSTER_COLUMNS)) as copy:
            for c in clusters.values():
                values: dict[str, Any] = {
                    "id": c.cluster_id,
                    "canonical_item_id": c.canonical_item_id,
                    "size": c.size,
                    "feed_count": c.feed_count,
                    "note": c.note,
                    "created": naive(created[c.cluster_id]),
                    "updated": naive(updated[c.cluster_id]),
                }
                copy.write_row(tuple(values[k] for k in CLUSTER_COLUMNS))
        # A story's id is its lowest item id (storage/stories.py).
        story: dict[int, int] = {}
        for a in members.values():
            story[a.cluster_id] = min(story.get(a.cluster_id, a.item_id), a.item_id)
        with cursor.copy(copy_into("memberships", MEMBERSHIP_COLUMNS)) as copy:
            for a in sorted(members.values(), key=lambda a: a.item_id):
                values = {
                    "story_id": story[a.cluster_id],
                    "canonical": clusters[a.cluster_id].canonical_item_id == a.item_id,
                    "item_id": a.item_id,
                    "cluster_id": a.cluster_id,
                    "method": a.method,
                    "score": a.score,
                    "matched_item_id": a.matched_item_id,
                    "decided_at": naive(float(first_seen[a.item_id - 1]) + 1),
                }
                copy.write_row(tuple(values[k] for k in MEMBERSHIP_COLUMNS))
        # Block counts in arrival order of their (feed, block), as the decider adds them.
        admin.execute(
            sql.SQL(
                "INSERT INTO block_counts ({}) SELECT e.feed_id, e.block_key, sum(e.items), "
                "coalesce(max(l.sample), ''), %s FROM {} e LEFT JOIN {} l USING (block_key) "
                "GROUP BY e.feed_id, e.block_key"
            ).format(
                sql.SQL(", ").join(sql.Identifier(c) for c in BLOCK_COLUMNS),
                sql.Identifier(STAGING),
                sql.Identifier(LEARNED),
            ),
            (utc_day(datetime.now(UTC)),),  # counted today: none is old yet
        )
        row = admin.execute(
            sql.SQL(
                "SELECT count(*) FROM (SELECT block_key FROM block_counts GROUP BY block_key "
                "HAVING max(items) >= %s OR count(*) FILTER (WHERE items >= %s) >= 2) k "
                "WHERE block_key NOT IN (SELECT block_key FROM {})"
            ).format(sql.Identifier(LEARNED)),
            (LEARN_AT, NETWORK_LEARN_AT),
        ).fetchone()
        unplanned = int(row[0]) if row else 0
        for table in (STAGING, LEARNED):
            admin.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))
        for table, last in (("items", len(plan)), ("feeds", len(feeds))):
            admin.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", (table, max(last, 1))
            )
    admin.execute("VACUUM ANALYZE")
    evidence_rows = admin.execute("SELECT count(*) FROM block_counts").fetchone()
    kept_rows = admin.execute(
        "SELECT count(*) FROM block_counts WHERE items >= %s", (FORGETS_BELOW,)
    ).fetchone()
    admin.close()
    storage.close()
    end = time.perf_counter()
    return Filled(
        items=len(plan),
        stories=plan.stories,
        copies=len(plan) - plan.stories,
        seconds=end - started,
        engine_seconds=engine_seconds,
        make_seconds=make_seconds,
        copy_seconds=copy_seconds,
        finish_seconds=end - finish,
        clusters=len(clusters),
        multi=sum(1 for c in clusters.values() if c.size > 1),
        evidence_rows=int(evidence_rows[0]) if evidence_rows else 0,
        kept_rows=int(kept_rows[0]) if kept_rows else 0,
        unplanned_learned=unplanned,
    )


@contextmanager
def database(server: str, keep: bool) -> Iterator[str]:
    """A fresh database (``bench.scale.fresh_database``), or with ``keep`` one that stays."""
    if not keep:
        with fresh_database(server) as url:
            yield url
        return
    name = f"bench_size_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(server) + "/test", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield f"{server}/{name}"


def sizes(url: str) -> dict[str, Any]:
    """``pg_database_size``, and per table its rows, total, heap, TOAST and index bytes."""
    with psycopg.connect(libpq(url), autocommit=True) as connection:
        row = connection.execute("SELECT pg_database_size(current_database())").fetchone()
        out: dict[str, Any] = {"database": int(row[0]) if row else 0, "tables": {}}
        for table in Base.metadata.sorted_tables:
            found = connection.execute(
                "SELECT pg_total_relation_size(%s), pg_relation_size(%s), pg_table_size(%s), "
                "pg_indexes_size(%s)",
                (table.name,) * 4,
            ).fetchone()
            count = connection.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table.name))
            ).fetchone()
            assert found is not None and count is not None
            total, heap, with_toast, indexes = (int(v) for v in found)
            out["tables"][table.name] = {
                "rows": int(count[0]),
                "total": total,
                "heap": heap,
                "toast": with_toast - heap,
                "indexes": indexes,
            }
    return out


# -- the decider, in a child process -------------------------------------------------------


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def heap_bytes() -> int:
    """Live heap: the bytes of pymalloc's allocated blocks (Python objects up to 512 bytes,
    in arenas of their own) plus what glibc's malloc has handed out and not taken back
    (numpy arrays, larger objects, C libraries): what the process holds, without the free
    pages RSS also counts."""
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        os.dup2(captured.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        report = captured.read().decode("utf-8", "replace")
    found = re.search(r"# bytes in allocated blocks\s*=\s*([\d,]+)", report)
    pymalloc = int(found.group(1).replace(",", "")) if found else 0
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except AttributeError:  # not glibc ≥ 2.33
        return pymalloc
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return pymalloc + int(info.uordblks) + int(info.hblkhd)


def _status(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) * 1024
    return 0


class _Refingerprinted(logging.Handler):
    """Counts the items the decider re-fingerprints because a block became boilerplate
    (its ``event=refingerprint reason=boilerplate-learned`` log line)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.items = 0

    def emit(self, record: logging.LogRecord) -> None:
        found = _REFINGERPRINT.search(record.getMessage())
        if found:
            self.items += int(found.group(1))


_REFINGERPRINT = re.compile(
    r"event=refingerprint reason=boilerplate-learned blocks=\d+ items=(\d+)"
)


def decider_child(url: str) -> int:
    """A decider, driven over stdin/stdout (one JSON object a line each way)."""
    started = time.perf_counter()
    from aggregator.config import settings_from_mapping
    from aggregator.daemon import roles  # noqa: F401 - what `aggregator decider` imports
    from aggregator.ingest.pipeline import Pipeline
    from aggregator.ingest.state import load_boilerplate
    from bench.stage_profile import StageTotals

    imported = time.perf_counter() - started
    settings = settings_from_mapping({"database": url}, None, env={})
    totals = StageTotals()
    storage = Storage(url)
    # As roles.Decider makes it: one pipeline that keeps the lease.
    pipeline = Pipeline(storage, settings, timer=totals)
    refingerprinted = _Refingerprinted()
    logger = logging.getLogger("aggregator.ingest")
    logger.setLevel(logging.INFO)
    logger.addHandler(refingerprinted)
    for line in sys.stdin:
        command = json.loads(line)
        reply: dict[str, Any] = {}
        if command["do"] == "start":
            gc.collect()
            reply.update(rss_before=_status("VmRSS"), heap_before=heap_bytes(), imports=imported)
            t = time.perf_counter()
            storage.upgrade()  # what run_decider does before its first round
            storage.sync_feeds(settings.feeds)
            reply["schema"] = time.perf_counter() - t
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM from here
            t = time.perf_counter()
            leads = pipeline.lead()
            reply.update(lead=time.perf_counter() - t, leads=leads, items=len(pipeline.engine))
            reply.update(rss=_status("VmRSS"), peak=_status("VmHWM"), heap=heap_bytes())
        elif command["do"] == "parts":
            # The parts of a start, again (warm caches): the boilerplate evidence (its heap
            # while both models are alive), and the read of the window's rows alone.
            before, rss = heap_bytes(), _status("VmRSS")
            Path("/proc/self/clear_refs").write_text("5")
            t = time.perf_counter()
            model = load_boilerplate(storage)
            reply["boilerplate"] = time.perf_counter() - t
            reply["boilerplate_peak"] = _status("VmHWM") - rss
            reply["boilerplate_heap"] = heap_bytes() - before
            del model
            window = timedelta(seconds=settings.dedup.window)
            t = time.perf_counter()
            rows = sum(len(p) for p in storage.indexed_item_pages(datetime.now(UTC) - window))
            reply.update(read=time.perf_counter() - t, rows=rows)
            gc.collect()
        elif command["do"] == "drain":
            totals.seconds.clear()
            totals.calls.clear()
            refingerprinted.items = 0
            t = time.perf_counter()
            decided = pipeline.decide_waiting()
            seconds = time.perf_counter() - t
            reply["seconds"] = seconds
            reply["assignments"] = decided.assignments if decided is not None else -1
            reply["refingerprinted"] = refingerprinted.items
            reply["stages"] = dict(totals.seconds) | {
                "other": seconds - sum(totals.seconds.values())
            }
            reply["rss"] = _status("VmRSS")
        else:
            break
        print(json.dumps(reply), flush=True)
    pipeline.close()
    return 0


class DeciderProcess:
    """``decider_child`` in a process of its own (its memory is its own)."""

    def __init__(self, url: str, log: Path) -> None:
        self.log = log
        self._log: IO[bytes] = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.size", "--decider", url],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )

    def ask(self, do: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"do": do}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the decider child exited: see {self.log}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"do": "quit"}) + "\n")
            self.process.stdin.close()
            self.process.wait(60)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self._log.close()


# -- decision batches ------------------------------------------------------------------------


def batch(
    writer: Writer, round_: int, size: int, stored_stories: int
) -> list[tuple[int, CleanItem]]:
    """``size`` new items for both databases: every fifth a copy of a story both hold (a
    tenth of those a summary), the others new stories; published in the last 30 minutes."""
    r = random.Random(writer.seed * SEED_STRIDE + round_)
    now = datetime.now(UTC)
    feeds = len(writer.feeds)
    out: list[tuple[int, CleanItem]] = []
    for j in range(size):
        serial = BATCH_KEYS + round_ * 1_000_000 + j
        published = now - timedelta(seconds=r.uniform(0, 1800))
        if j % 5 == 0:
            story = writer.story(r.randrange(stored_stories))
            origin = origin_feed(story.key, feeds, writer.seed)
            feed = (origin + 1 + r.randrange(feeds - 1)) % feeds
            kind = SUMMARY if j % 50 == 0 else COPY
        else:
            story = writer.story(serial)
            feed, kind = origin_feed(serial, feeds, writer.seed), ORIGIN
        out.append((feed + 1, writer.item(kind, story, feed, published, serial)))
    return out


def store(url: str, items: list[tuple[int, CleanItem]]) -> None:
    """As a worker stores a document: the items and their place in the decider's queue,
    one transaction per feed."""
    storage = Storage(url)
    by_feed: dict[int, list[CleanItem]] = {}
    for feed_id, item in items:
        by_feed.setdefault(feed_id, []).append(item)
    for feed_id, feed_items in by_feed.items():
        with storage.unit():
            saved = storage.save_items(feed_id, feed_items)
            storage.queue_for_decision([(s.item_id, True) for s in saved if s.status == "new"])
    storage.close()


def joined(url: str, first_id: int) -> int:
    """Items from ``first_id`` on that joined a cluster with others."""
    with psycopg.connect(libpq(url)) as connection:
        row = connection.execute(
            "SELECT count(*) FROM memberships m JOIN clusters c ON c.id = m.cluster_id "
            "WHERE m.item_id >= %s AND c.size > 1",
            (first_id,),
        ).fetchone()
    return int(row[0]) if row else 0


def max_item_id(url: str) -> int:
    with psycopg.connect(libpq(url)) as connection:
        row = connection.execute("SELECT coalesce(max(id), 0) FROM items").fetchone()
    return int(row[0]) if row else 0


# -- the run ----------------------------------------------------------------------------------


def progress(started: float, what: str) -> None:
    print(f"  {time.perf_counter() - started:.0f} s: {what}", file=sys.stderr, flush=True)


def mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB" if n < 10e9 else f"{n / 1e9:,.1f} GB"


def human(n: float) -> str:
    """Bytes with a unit that reads at any size."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,.0f} B"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000, help="items of the small database")
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=2000, help="new items per decision round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--days", type=float, default=6.0, help="publication span of the items")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--target-feeds", type=int, default=1_000_000)
    parser.add_argument("--target-items", type=int, default=10_000_000, help="new items a day")
    parser.add_argument("--peak", type=float, default=3.0, help="peak / average item rate")
    parser.add_argument(
        "--feeds-per-worker",
        type=float,
        default=23.5,
        help="feeds/s of one `aggregator worker` (bench/scale.py, 8 threads, 300 ms latency)",
    )
    parser.add_argument(
        "--poll-interval", type=float, default=1800, help="seconds between polls of a feed"
    )
    parser.add_argument("--decider", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.decider:
        return decider_child(args.decider)
    if args.days >= WINDOW_DAYS:
        parser.error(f"--days must be under the dedup window ({WINDOW_DAYS:g} days)")
    if args.feeds < 2 or args.items < 10 or args.small < 10:
        parser.error("at least 2 feeds and 10 items in each database")
    folder = Path(tempfile.mkdtemp(prefix="bench-size-"))
    started = time.perf_counter()
    writer = Writer(args.seed, args.feeds)
    now = time.time()
    with database(args.pg, args.keep) as big_url, database(args.pg, args.keep) as small_url:
        urls = {"large": big_url, "small": small_url}
        counts = {"large": args.items, "small": args.small}
        filled: dict[str, Filled] = {}
        for name in ("large", "small"):
            plan = make_plan(counts[name], args.feeds, args.days, args.seed, now)
            filled[name] = fill(urls[name], plan, writer, now, args.processes, name)
        big, small = filled["large"], filled["small"]
        print(
            f"generated: {big.items:,} items ({big.copies:,} copies of {big.stories:,} "
            f"stories) over {args.feeds:,} feeds in {big.seconds:.0f} s = "
            f"{big.items / big.seconds:,.0f} items/s; {args.processes} generator processes "
            f"making items {big.make_seconds / big.items * 1e6:,.0f} µs/item and waiting on "
            f"COPY {big.copy_seconds / big.items * 1e6:,.0f} µs/item, the engine here "
            f"{big.engine_seconds:.0f} s, then clusters, memberships, block counts and VACUUM "
            f"{big.finish_seconds:.0f} s; the small database: {small.items:,} items in "
            f"{small.seconds:.0f} s",
            flush=True,
        )
        print(
            f"decided by the engine: {big.clusters:,} clusters, {big.multi:,} with copies; "
            f"{big.evidence_rows:,} block_counts rows = {big.evidence_rows / big.items:.1f} per "
            f"item, {big.kept_rows / big.items:.2f} per item counting {FORGETS_BELOW}+ items "
            f"(never forgotten); blocks learned beyond the feeds' own: {big.unplanned_learned}",
            flush=True,
        )
        size = {name: sizes(url) for name, url in urls.items()}
        progress(started, "sizes measured; the deciders' start-up")
        deciders: dict[str, DeciderProcess] = {}
        try:
            start: dict[str, dict[str, Any]] = {}
            parts: dict[str, dict[str, Any]] = {}
            for name in ("small", "large"):
                deciders[name] = DeciderProcess(urls[name], folder / f"decider-{name}.log")
                start[name] = deciders[name].ask("start")
                if not start[name]["leads"]:
                    raise RuntimeError(f"the {name} decider did not take the lease")
            progress(started, "started; their parts")
            for name in ("small", "large"):
                parts[name] = deciders[name].ask("parts")
            progress(started, "decision rounds")
            rounds = decide_rounds(args, writer, urls, filled, deciders)
        finally:
            for decider in deciders.values():
                decider.close()
        report(args, filled, size, start, parts, rounds)
    print(f"logs: {folder}")
    return 0


Rounds = dict[str, Any]


def decide_rounds(
    args: argparse.Namespace,
    writer: Writer,
    urls: dict[str, str],
    filled: dict[str, Filled],
    deciders: dict[str, DeciderProcess],
) -> Rounds:
    """A warm-up batch (the first decision after start-up), a VACUUM ANALYZE (what
    autovacuum would do after it) and the database size again, then ``--rounds`` batches,
    each into both databases and decided there, the order alternating."""
    common = min(f.stories for f in filled.values())
    out: Rounds = {"warm": {}, "seconds": {n: [] for n in urls}, "stages": {n: [] for n in urls}}
    out["joined"] = {n: 0 for n in urls}
    out["copies"] = 0
    for round_ in range(args.rounds + 1):
        size = max(10, args.batch // 10) if round_ == 0 else args.batch
        items = batch(writer, round_, size, common)
        order = ["small", "large"] if round_ % 2 else ["large", "small"]
        for name in order:
            first = max_item_id(urls[name]) + 1
            store(urls[name], items)
            reply = deciders[name].ask("drain")
            if reply["assignments"] < size:
                raise RuntimeError(f"{name}: {reply['assignments']} of {size} items decided")
            if round_ == 0:
                out["warm"][name] = reply
                continue
            out["seconds"][name].append(reply["seconds"])
            out["stages"][name].append(reply["stages"])
            out["joined"][name] += joined(urls[name], first)
        if round_ == 0:
            out["warm_size"] = size
            out["after_warm"] = {}
            for name, url in urls.items():
                with psycopg.connect(libpq(url), autocommit=True) as connection:
                    connection.execute("VACUUM ANALYZE")
                out["after_warm"][name] = sizes(url)["database"]
        else:
            out["copies"] += (size + 4) // 5
    return out


def report(
    args: argparse.Namespace,
    filled: dict[str, Filled],
    size: dict[str, dict[str, Any]],
    start: dict[str, dict[str, Any]],
    parts: dict[str, dict[str, Any]],
    rounds: Rounds,
) -> None:
    """The measured figures, one headline line each (details indented under it)."""
    n, s = filled["large"].items, filled["small"].items
    big, small = start["large"], start["small"]
    print(
        f"start-up: Pipeline.lead() (lease, boilerplate evidence, the window into the engine, "
        f"corrections) {big['lead']:.1f} s at {n:,} items = {big['lead'] / n * 1e6:.0f} "
        f"µs/item; {small['lead']:.2f} s at {s:,} items; "
        f"{big['lead'] / max(small['lead'], 1e-9):.0f}× the time for {n / s:.0f}× the items "
        f"(before it: imports {big['imports']:.1f} s, schema check {big['schema']:.2f} s)"
    )
    p = parts["large"]
    print(
        f"  its parts at {n:,} items (a second pass, warm caches): boilerplate evidence "
        f"{p['boilerplate']:.1f} s ({filled['large'].evidence_rows:,} rows; loading them "
        f"peaks {mb(p['boilerplate_peak'])} above the RSS before), reading the "
        f"window's {p['rows']:,} rows {p['read']:.1f} s, the engine (the rest) "
        f"{big['lead'] - p['boilerplate'] - p['read']:.1f} s"
    )
    rss_item = (big["rss"] - small["rss"]) / (n - s) if n != s else 0.0
    print(
        f"memory: the decider's RSS after start-up {mb(big['rss'])} at {n:,} items (before "
        f"loading {mb(big['rss_before'])}), peak during it {mb(big['peak'])}; at {s:,} items "
        f"{mb(small['rss'])}, peak {mb(small['peak'])}; {rss_item:,.0f} B/item between the two"
    )
    heap = big["heap"] - big["heap_before"]
    bp_heap = p["boilerplate_heap"]
    rows = filled["large"].evidence_rows
    print(
        f"  live heap loaded: {mb(heap)} = {heap / n:,.0f} B/item: boilerplate evidence "
        f"{mb(bp_heap)} ({bp_heap / max(rows, 1):.0f} B/row × {rows / n:.1f} rows/item), "
        f"the engine and the rest {(heap - bp_heap) / n:,.0f} B/item"
    )
    warm, warm_size = rounds["warm"], rounds["warm_size"]
    redone = warm["large"]["refingerprinted"]
    per_redone = warm["large"]["seconds"] / redone * 1e6 if redone else 0.0
    print(
        f"first decision after start-up: {warm['large']['seconds']:.1f} s at {n:,} items, "
        f"{warm['small']['seconds']:.1f} s at {s:,}, for {warm_size:,} new items (with the "
        f"engine's hourly eviction scan of the window); window items re-fingerprinted "
        f"because of boilerplate learned: {redone:,} at {n:,} items"
        + (f" ({per_redone:,.0f} µs each)" if redone else "")
        + f", {warm['small']['refingerprinted']:,} at {s:,}"
    )
    after = rounds["after_warm"]
    print(
        f"  the database after it and VACUUM ANALYZE: {mb(after['large'])} at {n:,} items "
        f"({after['large'] / size['large']['database'] - 1:+.0%}), {mb(after['small'])} at "
        f"{s:,} ({after['small'] / size['small']['database'] - 1:+.0%})"
    )
    med = {name: statistics.median(v) for name, v in rounds["seconds"].items()}
    per = {name: med[name] / args.batch * 1e6 for name in med}
    rate = {name: args.batch / med[name] for name in med}
    print(
        f"decision: {per['large']:,.0f} µs/item = {rate['large']:,.0f} items/s at {n:,} items; "
        f"{per['small']:,.0f} µs/item = {rate['small']:,.0f} items/s at {s:,} items; ratio "
        f"{per['large'] / per['small']:.2f} (Pipeline.decide_waiting, median of {args.rounds} "
        f"batches of {args.batch:,} new items, 20% copies of stored stories, each on both)"
    )
    stage_names = sorted({k for stages in rounds["stages"]["large"] for k in stages})
    stage = {
        name: {
            k: statistics.median(st.get(k, 0.0) for st in rounds["stages"][name]) / args.batch * 1e6
            for k in stage_names
        }
        for name in ("large", "small")
    }
    print(
        f"  by stage, µs/item at {n:,} / {s:,} items: "
        + ", ".join(f"{k} {stage['large'][k]:,.0f} / {stage['small'][k]:,.0f}" for k in stage_names)
    )
    print(
        f"  new items that joined a stored story: {rounds['joined']['large']:,} at {n:,} items, "
        f"{rounds['joined']['small']:,} at {s:,} (the batches held {rounds['copies']:,} copies)"
    )
    db_big, db_small = size["large"]["database"], size["small"]["database"]
    db_item = (db_big - db_small) / (n - s) if n != s else 0.0
    print(
        f"database: {mb(db_big)} at {n:,} items = {db_big / n:,.0f} B/item "
        f"(pg_database_size, after VACUUM ANALYZE); {mb(db_small)} at {s:,} items; "
        f"{db_item:,.0f} B/item between the two"
    )
    tables = size["large"]["tables"]
    print(
        "  by table (pg_total_relation_size = heap + TOAST + indexes): "
        + "; ".join(
            f"{name} {mb(t['total'])} = {t['total'] / n:,.0f} B/item ({t['rows']:,} rows; heap "
            f"{mb(t['heap'])}, TOAST {mb(t['toast'])}, indexes {mb(t['indexes'])})"
            for name, t in sorted(tables.items(), key=lambda kv: -kv[1]["total"])
            if t["rows"]
        )
    )
    on_paper(
        args,
        Measured(
            items=n,
            rate=rate["large"],
            cost_ratio=per["large"] / per["small"],
            evidence_share=stage["large"].get("boilerplate", 0.0) / per["large"],
            db_item=db_item,
            rss_item=rss_item,
            engine_item=(heap - bp_heap) / n,
            evidence_row=bp_heap / max(rows, 1),
            rows_item=rows / n,
            kept_rows_item=filled["large"].kept_rows / n,
            lead_item=big["lead"] / n,
            redone_item=per_redone / 1e6,
            peak_ratio=big["peak"] / max(big["rss"], 1),
        ),
    )


@dataclass(frozen=True)
class Measured:
    """The measured figures the paper figures are derived from (per item at ``items``)."""

    items: int
    rate: float
    """Items/s of one decider."""
    cost_ratio: float
    evidence_share: float
    """Share of a decision's time spent counting boilerplate evidence."""
    db_item: float
    rss_item: float
    engine_item: float
    evidence_row: float
    rows_item: float
    kept_rows_item: float
    """Evidence rows per item that are never forgotten (counting 2+ items)."""
    lead_item: float
    redone_item: float
    peak_ratio: float


def on_paper(args: argparse.Namespace, m: Measured) -> None:
    """What ``--target-feeds`` and ``--target-items`` a day need, from the measured figures:
    [m] measured above, [o] an option of this benchmark, [d] derived from those."""
    day = args.target_items
    average, window, month = day / 86400, day * WINDOW_DAYS, day * 30
    peak = average * args.peak
    print(
        f"on paper: {args.target_feeds:,} feeds and {day:,} new items a day "
        f"([m] measured above, [o] an option, [d] derived from those)"
    )
    print(
        f"  decider rate: needed {average:,.0f} items/s on average [d], {peak:,.0f} at a peak "
        f"of {args.peak:g}× [o]; one decider does {m.rate:,.0f} at {m.items:,} items [m] = "
        f"{m.rate / average:.1f}× the average, {m.rate / peak:.2f}× the peak [d]; counting "
        f"boilerplate evidence is {m.evidence_share:.0%} of its time [m]"
    )
    print(
        f"  decider window: dedup.window {WINDOW_DAYS:g} d holds {window:,.0f} items [d], "
        f"{window / m.items:,.0f}× the size measured; the cost per item was {m.cost_ratio:.2f}× "
        f"from {args.small:,} to {m.items:,} items [m] (not extrapolated further)"
    )
    feeds_per_s = args.target_feeds / args.poll_interval
    print(
        f"  workers: {args.target_feeds:,} feeds every {args.poll_interval:,.0f} s [o] = "
        f"{feeds_per_s:,.0f} feeds/s; at {args.feeds_per_worker:g} feeds/s per worker process "
        f"(bench/scale.py, 8 threads, 300 ms latency) [o]: "
        f"{math.ceil(feeds_per_s / args.feeds_per_worker):,} worker processes [d] "
        f"({day / (feeds_per_s * 86400):.2f} new items per poll)"
    )
    print(
        f"  database growth: {m.db_item:,.0f} B/item [m] × {day:,} = {human(m.db_item * day)} "
        f"a day, {human(m.db_item * month)} in 30 days [d] (nothing is ever deleted)"
    )
    engine = m.engine_item * window
    recent_rows = m.rows_item * day * EVIDENCE_DAYS
    evidence_bytes = m.evidence_row * (recent_rows + m.kept_rows_item * month)
    print(
        f"  decider memory at 30 days: the engine holds the window (evicted hourly): "
        f"{window:,.0f} × {m.engine_item:,.0f} B/item [m] = {human(engine)} [d]; the "
        f"boilerplate evidence of the last {EVIDENCE_DAYS} days [o] ({day * EVIDENCE_DAYS:,} "
        f"items × {m.rows_item:.1f} rows/item) and the rows counting {FORGETS_BELOW}+ items of "
        f"30 days ({m.kept_rows_item:.2f} rows/item, never forgotten) × {m.evidence_row:.0f} "
        f"B/row [m] = {human(evidence_bytes)} [d], "
        f"+{human(m.evidence_row * m.kept_rows_item * day)} a day after that; heap ≈ "
        f"{human(engine + evidence_bytes)} [d] (by RSS: {m.rss_item:,.0f} B/item [m] × "
        f"{window:,.0f} = {human(m.rss_item * window)}); start-up peak {m.peak_ratio:.1f}× "
        f"the settled RSS [m]"
    )
    redone = (
        f"then the first decision re-fingerprints the window: {m.redone_item * 1e6:,.0f} "
        f"µs/item [m] × {window:,.0f} = {m.redone_item * window / 3600:,.1f} h [d, linear]; "
        if m.redone_item
        else "the first decision after it re-fingerprinted nothing [m]; "
    )
    print(
        f"  decider restart at 30 days: lead() {m.lead_item * 1e6:.0f} µs/item [m] × "
        f"{window:,.0f} = {m.lead_item * window / 3600:,.1f} h [d, linear], {redone}"
        f"{recent_rows + m.kept_rows_item * month:,.0f} block_counts rows to read [d]"
    )


if __name__ == "__main__":
    raise SystemExit(main())
