#!/usr/bin/env python3
"""Ingest throughput against lemon24/reader, on one corpus served over loopback HTTP.

    .venv/bin/python bench/ingest.py [--feeds 65] [--items 155] [--rounds 3]
                                     [--text-from DIR] [--corpus DIR] [--skip-reader]
                                     [--skip-profile] [--cprofile] [--seed 1]
                                     [--fingerprint-worker] [--ours-here]

1. A corpus of ``--feeds`` feeds × ``--items`` items (RSS 2.0 with ``content:encoded``,
   every fifth feed Atom) of article HTML of 400-1,000 words: paragraphs, a subhead, a
   figure with a relative image, links, now and then an embedded ``<script>``, a sponsor
   line and a network footer.  About ``--syndicated`` (20 %) of the items are copies of a
   story first published by another feed: another footer and sponsor line, a title suffix,
   ``utm_`` parameters on the link, sometimes a dropped paragraph or curly quotes.  The text
   is English-like, made from a generated word list, or, with ``--text-from DIR`` (e.g.
   ``../shared/data/syndication-dev``), sentences of that corpus's articles recombined.
   It is written once per parameters to ``bench/.corpus/`` (or ``--corpus DIR`` serves an
   existing folder of feed files as it is).
2. A separate process serves it on 127.0.0.1 (stdlib ``ThreadingHTTPServer``, HTTP/1.1).
3. Each round runs, one after another, each as a whole process into a fresh database:
   (a) ``aggregator --config CFG poll --once``;
   (b) reader (lemon24/reader from PyPI, installed by this script into ``.bench-venv/``):
       ``make_reader(db)``, ``add_feed`` each URL, ``update_feeds(workers=2)``;
   (c) ``feedparser.parse(bytes)`` over the same files, nothing else.
   Wall time and peak RSS of each (``/usr/bin/time -f "%e %M"``, else ``getrusage`` of a
   fresh child; for a run of several processes, the highest sum, at one 50 ms sample,
   of the peaks so far of the processes alive), the peak of the process tree's summed
   PSS, and the items each one ingested, checked against the corpus.
4. Medians, the ratio ours/reader, and a per-stage profile of our pipeline on the same
   corpus (the real ``Pipeline.poll`` with timers around its steps; ``--cprofile`` adds
   where the time goes by library and function).

Exit status 1 when a run did not ingest the expected number of items.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import html
import itertools
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

ROOT = Path(__file__).resolve().parent.parent
CORPUS_CACHE = ROOT / "bench" / ".corpus"
READER_VENV = ROOT / ".bench-venv"
OURS_VENV = ROOT / ".bench-venv-ours"
"""Ours as a user installs it (``pip install -e .``, no test extras): the test extras bring
packages (trio, rich, pygments) that httpx and httpcore import when they are present,
~4 MB that a user's process does not have."""
READER_REQUIREMENTS = ("reader>=3.20,<4", "sgmllib3k")
"""reader 3.x parses with a feedparser it vendors (a development snapshot newer than the
6.0.x release) by default; that copy imports ``sgmllib``, which reader does not declare."""
GENERATOR_VERSION = 3
"""Bump when the corpus generator changes, so cached corpora are made again."""
FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf", ".json")
TIME = Path("/usr/bin/time")

# -- text ---------------------------------------------------------------------------------

_FUNCTION_WORDS = (
    "the of and to a in that is was for on it with as he said by at from his her an be "
    "have has had not are were they which this but their its who been or will would one "
    "after there also new more than when about two up other into over last could some year "
    "people first out all she no time may only years many before those against such most "
    "while what so under three since during then because where between through both each "
    "week government city officials state told local public report plan"
)
FUNCTION_WORDS = _FUNCTION_WORDS.split()
_SYLLABLES = (
    "ba be bi bo bu ca ce co cu da de di do du fa fe fi fo ga ge go gu ha he hi ho la le li "
    "lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te "
    "ti to tu va ve vi vo za ze an en in on ar er ir or st tr pl gr br cl dr sh ch th "
    "ment tion ly ing ed er est al ous ive ist"
)
SYLLABLES = _SYLLABLES.split()


class Words:
    """English-like text: function words at their usual rate, a Zipf-distributed made-up
    vocabulary for the rest, proper names, numbers and punctuation."""

    def __init__(self, rng: random.Random, size: int = 6000) -> None:
        self.rng = rng
        vocab: set[str] = set()
        while len(vocab) < size:
            n = rng.choice((1, 2, 2, 2, 3, 3, 4))
            vocab.add("".join(rng.choice(SYLLABLES[:-9]) for _ in range(n))
                      + (rng.choice(SYLLABLES[-9:]) if rng.random() < 0.3 else ""))
        self.vocab = sorted(vocab)
        rng.shuffle(self.vocab)
        self.cum = list(itertools.accumulate(1 / (rank + 1) ** 1.05
                                             for rank in range(len(self.vocab))))
        self.fcum = list(itertools.accumulate(1 / (rank + 1)
                                              for rank in range(len(FUNCTION_WORDS))))

    def sentence(self, low: int = 7, high: int = 28) -> str:
        rng = self.rng
        n = rng.randint(low, high)
        content = rng.choices(self.vocab, cum_weights=self.cum, k=n)
        function = rng.choices(FUNCTION_WORDS, cum_weights=self.fcum, k=n)
        out = []
        for i in range(n):
            r = rng.random()
            if r < 0.42:
                word = function[i]
            elif r < 0.47:
                word = content[i].capitalize()
            elif r < 0.485:
                word = rng.choice((str(rng.randint(2, 99)), f"{rng.randint(1, 999)},"
                                   f"{rng.randint(0, 999):03d}", f"{rng.randint(1, 90)} per cent"))
            else:
                word = content[i]
            if i and i < n - 2 and rng.random() < 0.06:
                word += ","
            out.append(word)
        if rng.random() < 0.12:
            out.insert(0, "“" + out.pop(0))
            out[-1] += ",” " + self.rng.choice(("she said", "he said", "they said"))
        text = " ".join(out)
        return text[0].upper() + text[1:] + rng.choice(".....?!")

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 5)))

    def phrase(self, n: int) -> str:
        return " ".join(self.rng.choices(self.vocab, cum_weights=self.cum, k=n))


class CorpusText(Words):
    """Sentences of a real corpus's articles, recombined into new paragraphs, with about one
    word in twelve swapped for another word of the corpus, so that no paragraph recurs."""

    def __init__(self, rng: random.Random, folder: Path) -> None:
        super().__init__(rng, size=2000)
        self.sentences = corpus_sentences(folder)
        if len(self.sentences) < 200:
            raise SystemExit(f"--text-from {folder}: only {len(self.sentences)} sentences found")
        pool = Counter(w.strip(".,;:!?“”\"'()").lower() for s in self.sentences for w in s.split())
        self.pool = [w for w, n in pool.items() if w.isalpha() and n >= 2]

    def sentence(self, low: int = 7, high: int = 28) -> str:
        words = self.rng.choice(self.sentences).split()
        for i in range(1, len(words) - 1):
            if self.rng.random() < 0.08 and words[i].isalpha() and words[i].islower():
                words[i] = self.rng.choice(self.pool)
        return " ".join(words)


def corpus_sentences(folder: Path) -> list[str]:
    """Distinct sentences (6-45 words) of the articles of every feed file under ``folder``,
    without those carried by four items or more (footers, sponsor lines)."""
    import feedparser  # the project's dependency; only needed to read --text-from

    seen_in: Counter[str] = Counter()
    for path in sorted(p for p in folder.rglob("*") if p.suffix in FEED_SUFFIXES):
        bodies: list[str] = []
        if path.suffix == ".json":
            with contextlib.suppress(ValueError):
                doc = json.loads(path.read_bytes())
                bodies = [str(i.get("content_html") or i.get("content_text") or "")
                          for i in doc.get("items", []) if isinstance(i, dict)]
        else:
            for entry in feedparser.parse(path.read_bytes(), sanitize_html=False,
                                          resolve_relative_uris=False).entries:
                values = [c.get("value", "") for c in entry.get("content", [])]
                bodies.append(max(values + [entry.get("summary", "")], key=len))
        for body in bodies:
            text = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S | re.I)
            text = re.sub(r"</?(p|div|br|li|h\d|blockquote)\b[^>]*>", "\n", text, flags=re.I)
            text = html.unescape(re.sub(r"<[^>]+>", "", text))
            found = set()
            for block in text.split("\n"):
                for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z“\"])", " ".join(block.split())):
                    if 6 <= len(sentence.split()) <= 45 and "]]>" not in sentence:
                        found.add(sentence)
            seen_in.update(found)
    return sorted(s for s, n in seen_in.items() if n < 4)


# -- corpus -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CorpusSpec:
    feeds: int
    items: int
    seed: int
    syndicated: float
    text_from: Path | None


@dataclass
class Story:
    key: int
    title: str
    paragraphs: list[str]
    link: str
    published: datetime
    author: str
    topic: str


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
    entries: list[tuple[Story, str, str, str, datetime]] = field(default_factory=list)
    """(story, title, link, guid, published) of each item, the feed's own and copies."""


def corpus_key(spec: CorpusSpec) -> str:
    source: list[Any] = []
    if spec.text_from is not None:
        source = [(str(p.relative_to(spec.text_from)), p.stat().st_size)
                  for p in sorted(spec.text_from.rglob("*")) if p.suffix in FEED_SUFFIXES]
    raw = json.dumps([GENERATOR_VERSION, spec.feeds, spec.items, spec.seed, spec.syndicated,
                      str(spec.text_from), source])
    return hashlib.sha1(raw.encode()).hexdigest()[:10]


def make_corpus(spec: CorpusSpec) -> Path:
    """The corpus folder for ``spec``, generated unless the cache has it."""
    folder = CORPUS_CACHE / f"f{spec.feeds}-i{spec.items}-{corpus_key(spec)}"
    if (folder / "manifest.json").exists():
        return folder
    started = time.perf_counter()
    rng = random.Random(spec.seed)
    text = CorpusText(rng, spec.text_from) if spec.text_from else Words(rng)
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    networks = [text.phrase(1).capitalize() + " " + rng.choice(("Media", "News Group", "Wire",
                                                               "Press", "Digital"))
                for _ in range((spec.feeds + 4) // 5)]
    plans: list[FeedPlan] = []
    for i in range(spec.feeds):
        network = networks[i // 5]
        section = rng.choice(("News", "Local", "Business", "Sport", "Politics", "World",
                              "Science", "Culture", "Opinion", "Tech"))
        name = f"{network.split()[0]} {section}"
        host = f"{network.split()[0].lower()}-{section.lower()}-{i}.example"
        brand = text.phrase(2).title()
        plans.append(FeedPlan(
            index=i, slug=f"feed-{i:03d}", name=name, host=host, network=network,
            atom=i % 5 == 2,
            sponsor=rng.choice((f"This article is sponsored by {brand}.",
                                f"Sponsored by {brand} — {text.phrase(3)}.",
                                f"Brought to you by {brand}.")),
            footer=(f"© {base.year} {network}. All rights reserved. Follow our other networks: "
                    f"{', '.join(n for n in networks if n != network)[:160]}. This story first "
                    f"appeared on {name}; republication needs a licence."),
            read_more=rng.random() < 0.5))
    # Originals first: every feed's own stories.
    copies_per_feed = round(spec.items * spec.syndicated)
    own: dict[int, list[Story]] = {}
    keys = itertools.count(1)
    for plan in plans:
        own[plan.index] = []
        for n in range(spec.items - copies_per_feed):
            words_wanted = rng.randint(400, 1000)
            paragraphs: list[str] = []
            while sum(len(p.split()) for p in paragraphs) < words_wanted:
                paragraphs.append(text.paragraph())
            title = text.sentence(5, 11).rstrip(".?!")
            slug = "-".join(re.findall(r"[a-z0-9]+", title.lower())[:8])
            story = Story(key=next(keys), title=title, paragraphs=paragraphs,
                          link=f"https://{plan.host}/{base:%Y/%m/%d}/{slug}-{n}",
                          # At least 7 h old, so that no copy (published up to 6 h
                          # later) is in the future, which the aggregator would clamp.
                          published=base - timedelta(minutes=rng.randint(7 * 60, 3 * 24 * 60)),
                          author=f"{text.phrase(1).title()} {text.phrase(1).title()}",
                          topic=rng.choice(("politics", "economy", "weather", "sport",
                                            "health", "transport", "courts", "science")))
            own[plan.index].append(story)
            plan.entries.append((story, title, story.link,
                                 f"tag:{plan.host},{base.year}:post-{n}", story.published))
    # Then the copies: a story of another feed (of the same network, mostly), never twice
    # into one feed, with the copying feed's own title suffix, link and publication time.
    for plan in plans:
        same = [p.index for p in plans if p.network == plan.network and p.index != plan.index]
        other = [p.index for p in plans if p.network != plan.network]
        taken: set[int] = set()
        for n in range(copies_per_feed if same or other else 0):
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
                link = (f"{story.link}?utm_source={plan.slug}&utm_medium=rss"
                        f"&utm_campaign=syndication")
            else:
                link = f"https://{plan.host}{story.link[story.link.index('/', 8):]}"
            plan.entries.append((story, title, link, f"tag:{plan.host},{base.year}:copy-{n}",
                                 story.published + timedelta(minutes=rng.randint(5, 360))))
    CORPUS_CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=CORPUS_CACHE))
    total_bytes = 0
    for plan in plans:
        entries = sorted(plan.entries, key=lambda e: e[4], reverse=True)
        body = (_atom if plan.atom else _rss)(plan, entries, rng, base)
        (tmp / f"{plan.slug}{'.atom' if plan.atom else '.xml'}").write_bytes(body)
        total_bytes += len(body)
    items = sum(len(p.entries) for p in plans)
    (tmp / "manifest.json").write_text(json.dumps({
        "feeds": len(plans), "items": items,
        "copies": sum(len(p.entries) for p in plans) - sum(len(v) for v in own.values()),
        "bytes": total_bytes, "text_from": str(spec.text_from) if spec.text_from else None,
        "seed": spec.seed, "generator": GENERATOR_VERSION}, indent=1))
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    print(f"corpus: wrote {len(plans)} feeds, {items} items, {total_bytes / 1e6:.1f} MB to "
          f"{folder} in {time.perf_counter() - started:.1f}s", flush=True)
    return folder


def _article_html(plan: FeedPlan, story: Story, rng: random.Random, copy: bool) -> str:
    paragraphs = list(story.paragraphs)
    if copy and len(paragraphs) > 3 and rng.random() < 0.5:
        del paragraphs[rng.randrange(1, len(paragraphs))]  # a dropped paragraph
    if copy and rng.random() < 0.3:
        paragraphs = [p.replace("'", "’") for p in paragraphs]
    out: list[str] = []
    for n, para in enumerate(paragraphs):
        words = html.escape(para, quote=False).split(" ")
        if n == 0 and len(words) > 6:
            at = rng.randrange(1, len(words) - 3)
            words[at] = f'<a href="/topics/{story.topic}">{words[at]}'
            words[at + 2] += "</a>"
        elif len(words) > 8 and rng.random() < 0.3:
            at = rng.randrange(0, len(words) - 3)
            tag = rng.choice(("strong", "em", "b", "i"))
            words[at] = f"<{tag}>{words[at]}"
            words[at + 1] += f"</{tag}>"
        out.append(f"<p>{' '.join(words)}</p>")
        if n == 2 and story.key % 2:
            out.append(f"<h2>{html.escape(' '.join(para.split()[:6]).rstrip('.,'))}</h2>")
        if n == 1 and story.key % 3 == 0:
            out.append(f'<figure><img src="/media/{story.key}/photo.jpg" alt="" width="800" '
                       f'height="450" loading="lazy"><figcaption>'
                       f"{html.escape(' '.join(para.split()[:9]))}</figcaption></figure>")
        if n == 3 and story.key % 10 == 7:
            out.append('<blockquote class="embed-post"><p>'
                       f"{html.escape(' '.join(para.split()[:14]))}</p></blockquote>"
                       '<script async src="https://embed.example/widgets.js"></script>')
    out.append(f"<p><em>{html.escape(plan.sponsor)}</em></p>")
    if plan.read_more:
        out.append(f'<p><a href="{html.escape(story.link)}" rel="nofollow">Continue reading on '
                   f"{html.escape(plan.name)}</a></p>")
    out.append(f'<div class="footer"><p>{html.escape(plan.footer)}</p></div>')
    return "\n".join(out).replace("]]>", "]] >")


def _summary(story: Story) -> str:
    words = " ".join(story.paragraphs).split()
    return " ".join(words[:45]) + " …"


def _rss(plan: FeedPlan, entries: list[Any], rng: random.Random, base: datetime) -> bytes:
    out = ['<?xml version="1.0" encoding="utf-8"?>\n'
           '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
           'xmlns:dc="http://purl.org/dc/elements/1.1/" '
           'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
           f"<title>{escape(plan.name)}</title>\n<link>https://{plan.host}/</link>\n"
           f"<description>{escape(plan.name)}: the latest stories</description>\n"
           f"<language>en</language>\n<lastBuildDate>{format_datetime(base)}</lastBuildDate>\n"
           f'<atom:link href="https://{plan.host}/feed" rel="self" '
           'type="application/rss+xml"/>\n']
    for story, title, link, guid, published in entries:
        copy = not guid.rsplit(":", 1)[1].startswith("post-")
        out.append(
            f"<item>\n<title>{escape(title)}</title>\n<link>{escape(link)}</link>\n"
            f'<guid isPermaLink="false">{escape(guid)}</guid>\n'
            f"<pubDate>{format_datetime(published)}</pubDate>\n"
            f"<dc:creator>{escape(story.author)}</dc:creator>\n"
            f"<category>{story.topic}</category>\n"
            f"<description>{escape(_summary(story))}</description>\n"
            f"<content:encoded><![CDATA[{_article_html(plan, story, rng, copy)}]]>"
            "</content:encoded>\n</item>\n")
    out.append("</channel>\n</rss>\n")
    return "".join(out).encode("utf-8")


def _atom(plan: FeedPlan, entries: list[Any], rng: random.Random, base: datetime) -> bytes:
    def stamp(when: datetime) -> str:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    out = ['<?xml version="1.0" encoding="utf-8"?>\n'
           '<feed xmlns="http://www.w3.org/2005/Atom">\n'
           f"<title>{escape(plan.name)}</title>\n"
           f'<link rel="alternate" href="https://{plan.host}/"/>\n'
           f'<link rel="self" href="https://{plan.host}/feed.atom"/>\n'
           f"<id>https://{plan.host}/</id>\n<updated>{stamp(base)}</updated>\n"]
    for story, title, link, guid, published in entries:
        copy = not guid.rsplit(":", 1)[1].startswith("post-")
        out.append(
            f"<entry>\n<title>{escape(title)}</title>\n"
            f"<link rel=\"alternate\" href={quoteattr(link)}/>\n<id>{escape(guid)}</id>\n"
            f"<published>{stamp(published)}</published>\n<updated>{stamp(published)}</updated>\n"
            f"<author><name>{escape(story.author)}</name></author>\n"
            f'<category term="{story.topic}"/>\n'
            f"<summary>{escape(_summary(story))}</summary>\n"
            f'<content type="html">{escape(_article_html(plan, story, rng, copy))}</content>\n'
            "</entry>\n")
    out.append("</feed>\n")
    return "".join(out).encode("utf-8")


def feed_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.suffix in FEED_SUFFIXES and p.name not in ("manifest.json", "truth.json"))


# -- the server (a child process) ---------------------------------------------------------

def serve(folder: str) -> None:
    """``bench/ingest.py _serve DIR``: serve DIR on 127.0.0.1, print the port, run until killed."""
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real feed servers do
        extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                          ".xml": "application/rss+xml", ".atom": "application/atom+xml",
                          ".json": "application/feed+json"}

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=folder, **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


@contextlib.contextmanager
def served(folder: Path) -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, __file__, "_serve", str(folder)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


# -- measured runs ------------------------------------------------------------------------

READER_SCRIPT = """\
import sys
from reader import make_reader
db, urls = sys.argv[1], open(sys.argv[2]).read().split()
reader = make_reader(db)
for url in urls:
    reader.add_feed(url)
reader.update_feeds(workers=2)
reader.close()
"""

FEEDPARSER_SCRIPT = """\
import sys, pathlib, feedparser
entries = 0
for path in sys.argv[1:]:
    entries += len(feedparser.parse(pathlib.Path(path).read_bytes()).entries)
print(entries)
"""

RUSAGE_WRAPPER = """\
import resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[2:])
elapsed = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    out.write(f"{elapsed:.2f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
sys.exit(code)
"""


@dataclass
class Run:
    wall: float
    rss_mb: float
    """Peak RSS: ``%M`` for one process; for several, :attr:`TreeSampler.bound_mb`."""
    items: int
    note: str = ""
    pss_mb: float = 0.0
    """Peak of the summed proportional set size (shared pages split between the processes
    that map them, as ``smem`` counts) of the process tree, sampled every 50 ms."""


class TreeSampler(threading.Thread):
    """Samples the summed RSS and PSS of a process and its descendants every 50 ms.

    ``%M`` (and ``ru_maxrss``) is the peak of the *largest single* process: a measured
    program that spreads its work over worker processes would look smaller than it is.
    This catches that case (the wrapper itself is not counted).  RSS counts a page shared
    by two processes (the interpreter, numpy's libraries) in both; PSS splits it, so the
    summed PSS is the tree's real footprint, and the summed RSS an upper bound of it."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak_mb, self.most_processes = root, 0.0, 0
        self.pss_peak_mb = 0.0
        self.bound_mb = 0.0
        """The highest sum, over the processes alive at one sample, of each one's own peak
        so far (``VmHWM``): not below the true peak of the sum, which can fall between two
        samples (unless a process lived less than 50 ms), yet without adding up peaks of
        processes that were not alive at the same time (one child after another) nor a
        process's later peak."""
        self.largest_mb: dict[int, float] = {}
        """Each process's own peak (``VmHWM``)."""
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            parents: dict[int, int] = {}
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    with contextlib.suppress(OSError, ValueError, IndexError):
                        stat = Path(entry.path, "stat").read_text()
                        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            tree, frontier = set(), {self.root}
            while frontier:
                tree |= frontier
                frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - tree
            tree.discard(self.root)  # /usr/bin/time or the getrusage wrapper
            total = pss = bound = 0.0
            for pid in tree:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    status = Path(f"/proc/{pid}/status").read_text()
                    rss = int(status.split("\nVmRSS:", 1)[1].split()[0]) / 1024
                    hwm = int(status.split("\nVmHWM:", 1)[1].split()[0]) / 1024
                    total += rss
                    bound += hwm
                    self.largest_mb[pid] = hwm
                with contextlib.suppress(OSError, ValueError, IndexError):
                    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                    pss += int(rollup.split("\nPss:", 1)[1].split()[0]) / 1024
            self.peak_mb = max(self.peak_mb, total)
            self.bound_mb = max(self.bound_mb, bound)
            self.pss_peak_mb = max(self.pss_peak_mb, pss)
            self.most_processes = max(self.most_processes, len(tree))


def measured(cmd: list[str], cwd: Path,
             env: dict[str, str]) -> tuple[float, float, str, str, float]:
    """Run ``cmd`` as a whole process: (wall seconds, peak RSS MB, stdout, note, peak PSS
    MB of the tree)."""
    stats = cwd / "time.txt"
    if TIME.exists():
        wrapped = [str(TIME), "-f", "%e %M", "-o", str(stats), *cmd]
    else:
        wrapped = [sys.executable, "-c", RUSAGE_WRAPPER, str(stats), *cmd]
    started = time.perf_counter()
    proc = subprocess.Popen(wrapped, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n"
                         f"{stdout[-2000:]}\n{stderr[-4000:]}")
    rss_mb = int(stats.read_text().split()[-1]) / 1024
    note = ""
    if sampler.most_processes > 1:
        rss_mb = max(rss_mb, sampler.peak_mb, sampler.bound_mb)
        note = (f"RSS of {len(sampler.largest_mb)} processes, at most "
                f"{sampler.most_processes} at once: the highest sum of the peaks so far of "
                f"those alive together (largest alone {max(sampler.largest_mb.values()):.0f} "
                f"MB, largest sum at one sample {sampler.peak_mb:.0f} MB)")
    return wall, rss_mb, stdout, note, sampler.pss_peak_mb


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}


def run_ours(aggregator: str, urls: list[str], work: Path, polling: str = "") -> Run:
    db = work / "agg.db"
    config = work / "config.yaml"
    config.write_text(f"database: sqlite:///{db}\n{polling}feeds:\n"
                      + "".join(f"  - url: {u}\n" for u in urls))
    wall, rss, out, tree, pss = measured(
        [aggregator, "--config", str(config), "poll", "--once"], work, clean_env())
    with contextlib.closing(sqlite3.connect(db)) as con:
        items = con.execute("select count(*) from items").fetchone()[0]
        multi = con.execute("select count(*), coalesce(sum(size), 0) from clusters "
                            "where size > 1").fetchone()
    failed = re.search(r"\((\d+) failed\)", out)
    note = "; ".join(filter(None, [f"{multi[0]} clusters with copies holding {multi[1]} items",
                                   f"{failed.group(1) if failed else '?'} feeds failed", tree]))
    return Run(wall, rss, items, note, pss)


def run_reader(python: Path, urls: list[str], work: Path, installed_feedparser: bool) -> Run:
    db = work / "reader.sqlite"
    script, url_file = work / "reader_poll.py", work / "urls.txt"
    script.write_text(READER_SCRIPT)
    url_file.write_text("\n".join(urls))
    env = clean_env()
    if installed_feedparser:
        env["READER_NO_VENDORED_FEEDPARSER"] = "1"
    wall, rss, _, tree, pss = measured([str(python), str(script), str(db), str(url_file)],
                                       work, env)
    with contextlib.closing(sqlite3.connect(db)) as con:
        items = con.execute("select count(*) from entries").fetchone()[0]
        errors = con.execute("select count(*) from feeds where last_exception is not null")\
            .fetchone()[0]
    return Run(wall, rss, items, "; ".join(filter(None, [f"{errors} feeds failed", tree])), pss)


def run_feedparser(files: list[Path], work: Path) -> Run:
    wall, rss, out, tree, pss = measured([sys.executable, "-c", FEEDPARSER_SCRIPT,
                                          *map(str, files)], work, clean_env())
    return Run(wall, rss, int(out.split()[-1]), tree, pss)


def ensure_reader(venv: Path) -> Path:
    """The reader venv's python, creating the venv and installing reader when missing."""
    python = venv / "bin" / "python"
    marker, wanted = venv / ".requirements", " ".join(READER_REQUIREMENTS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    print(f"reader: installing {wanted} into {venv} ...", flush=True)
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    *READER_REQUIREMENTS], check=True)
    marker.write_text(wanted)
    return python


def ensure_ours(venv: Path) -> str:
    """The ``aggregator`` command of a venv holding this checkout (editable) and its runtime
    dependencies only, made when missing or when ``pyproject.toml`` changed."""
    command = venv / "bin" / "aggregator"
    marker = venv / ".pyproject-sha1"
    wanted = hashlib.sha1((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if command.exists() and marker.exists() and marker.read_text() == wanted:
        return str(command)
    print(f"ours: installing this checkout (no extras) into {venv} ...", flush=True)
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", "-e", str(ROOT)], check=True)
    marker.write_text(wanted)
    return str(command)


def version_of(python: str | Path, package: str) -> str:
    done = subprocess.run([str(python), "-c", "import importlib.metadata as m, sys; "
                           "print(m.version(sys.argv[1]))", package],
                          capture_output=True, text=True)
    return done.stdout.strip() or "?"


# -- per-stage profile (a child process: the real Pipeline with timers around its steps) --

STAGES = (
    ("imports", "import aggregator (CLI process startup not included)"),
    ("start", "Pipeline.start: feed sync, boilerplate + index load"),
    ("schema", "Storage.upgrade: Alembic migrations on an empty database"),
    ("wait for fetch", "writer idle, waiting for a fetch to complete"),
    ("wait for worker", "writer idle, waiting for the worker process (documents, fingerprints)"),
    ("parse", "parse_feed: feedparser + mapping its entries"),
    ("clean", "clean_entry: HTML → text blocks, canonical URL, identity, revision hash"),
    ("boilerplate", "BoilerplateModel: learn and filter boilerplate blocks (+ fold_text)"),
    ("fingerprint", "fingerprint_blocks + to_bytes: tokens, shingles, MinHash"),
    ("decide", "DedupEngine: LSH, verification, clustering"),
    ("store items", "Storage.save_items (ORM inserts)"),
    ("store decisions", "Storage.apply_cluster_changes (fingerprints, memberships, clusters)"),
    ("store other", "other Storage calls: block counts, feed status, lookups"),
    ("other", "not inside any of the above (metrics, logging, glue)"),
)


def _maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class StageClock:
    """Self time per stage (wall and CPU of the calling thread); nested stages pause the
    enclosing one, so no second is counted twice.  For the writer (main) thread also the net
    change of the resident set during each stage's self time: what the stage left behind."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.threads: set[str] = set()
        self.rss_mb: dict[str, float] = defaultdict(float)
        self._statm = os.open("/proc/self/statm", os.O_RDONLY)
        self._page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        self._rss = self._current_rss()
        self._local = threading.local()

    def _current_rss(self) -> float:
        return int(os.pread(self._statm, 200, 0).split()[1]) * self._page_mb

    def _stack(self) -> list[list[Any]]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def _account_rss(self, stack: list[list[Any]]) -> None:
        # Only at the writer's boundaries: fetch threads allocate little, and a process-wide
        # figure read from two threads would credit one with what the other did.
        if threading.current_thread() is threading.main_thread():
            rss = self._current_rss()
            self.rss_mb[stack[-1][0] if stack else "other"] += rss - self._rss
            self._rss = rss

    def enter(self, stage: str) -> None:
        stack, wall, cpu = self._stack(), time.perf_counter(), time.thread_time()
        self._account_rss(stack)
        if stack:
            parent = stack[-1]
            self.wall[parent[0]] += wall - parent[1]
            self.cpu[parent[0]] += cpu - parent[2]
        stack.append([stage, wall, cpu])

    def exit(self) -> None:
        stack, wall, cpu = self._stack(), time.perf_counter(), time.thread_time()
        self._account_rss(stack)
        stage, wall0, cpu0 = stack.pop()
        self.wall[stage] += wall - wall0
        self.cpu[stage] += cpu - cpu0
        self.calls[stage] += 1
        if threading.current_thread() is not threading.main_thread():
            self.threads.add(stage)
        if stack:
            stack[-1][1], stack[-1][2] = wall, cpu

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack = self._stack()
            if stack and stack[-1][0] == stage:
                return fn(*args, **kwargs)  # a step of the stage already being timed
            self.enter(stage)
            try:
                return fn(*args, **kwargs)
            finally:
                self.exit()
        return timed

    def wrap_iter(self, stage: str, fn: Callable[..., Iterator[Any]]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            it = fn(*args, **kwargs)
            while True:
                self.enter(stage)
                try:
                    value = next(it)
                except StopIteration:
                    return
                finally:
                    self.exit()
                yield value
        return timed


def instrument(clock: StageClock) -> None:
    """Put timers around the steps ``Pipeline`` calls, in this process only.

    By module, not by name, so that a step renamed or added in ``aggregator/`` still lands
    in its stage: every function ``aggregator.ingest.pipeline`` imports from a step module, every
    public function of ``aggregator.fingerprint.signature``, every public method of
    ``BoilerplateModel``, ``DedupEngine`` and ``Storage``."""
    import inspect

    import aggregator.fingerprint.signature as fp_mod
    import aggregator.ingest.pipeline as ingest
    import aggregator.ingest.poll as poll_mod
    from aggregator.clean.boilerplate import BoilerplateModel
    from aggregator.dedup.engine import DedupEngine
    from aggregator.ingest.child import WorkerProcess
    from aggregator.storage import Storage

    by_module = {"aggregator.parse.document": "parse", "aggregator.parse.jsonfeed": "parse",
                 "aggregator.clean.text": "clean", "aggregator.clean.boilerplate": "boilerplate",
                 "aggregator.fingerprint.signature": "fingerprint", "aggregator.dedup.engine": "decide",
                 "aggregator.ingest.child": "fingerprint"}  # the writer's own share of a chunk
    for name, value in list(vars(ingest).items()):
        if inspect.isfunction(value) and value.__module__ in by_module:
            setattr(ingest, name, clock.wrap(by_module[value.__module__], value))
    # aggregator.ingest.poll calls fetch and fetch_concurrently (imported from fetch.http)
    poll_mod.fetch = clock.wrap("fetch", poll_mod.fetch)  # type: ignore[attr-defined]
    poll_mod.fetch_concurrently = clock.wrap_iter(  # type: ignore[attr-defined]
        "wait for fetch", poll_mod.fetch_concurrently)  # type: ignore[attr-defined]
    for name, value in list(vars(fp_mod).items()):
        if inspect.isfunction(value) and value.__module__ == fp_mod.__name__ \
                and not name.startswith("_"):
            setattr(fp_mod, name, clock.wrap("fingerprint", value))
    stages = {BoilerplateModel: "boilerplate", DedupEngine: "decide", Storage: "store other"}
    for cls, stage in stages.items():
        for name, value in list(vars(cls).items()):
            if name.startswith("_") or not inspect.isfunction(value):
                continue
            if cls is Storage:
                stage = {"save_items": "store items", "apply_cluster_changes": "store decisions",
                         "upgrade": "schema"}.get(name, f"store other:{name}")
            setattr(cls, name, clock.wrap(stage, value))
    # With a worker process, parse and clean run there; the writer's wait for an answer
    # (zero when the worker is ahead) is what the writer pays for them.
    for name in ("document", "fingerprints"):
        setattr(WorkerProcess, name, clock.wrap("wait for worker", getattr(WorkerProcess, name)))
    ingest.Pipeline.start = clock.wrap("start", ingest.Pipeline.start)  # type: ignore[method-assign]
    ingest.Pipeline.poll = clock.wrap("other", ingest.Pipeline.poll)  # type: ignore[method-assign]


def profile(urls_file: str, cprofile_out: str | None) -> None:
    """``bench/ingest.py _profile URLS_FILE [PSTATS]``: one poll, print the stage table."""
    started = time.perf_counter()
    clock = StageClock()
    clock.enter("imports")
    sys.path.insert(0, str(ROOT))
    from aggregator.config import settings_from_mapping
    from aggregator.ingest.pipeline import Pipeline
    from aggregator.storage import Storage
    clock.exit()
    urls = Path(urls_file).read_text().split()
    with tempfile.TemporaryDirectory(prefix="ingest-profile-") as work:
        database = f"sqlite:///{work}/agg.db"
        settings = settings_from_mapping({"database": database,
                                          "feeds": [{"url": u} for u in urls]}, None, env={})
        if cprofile_out:
            import cProfile

            profiler = cProfile.Profile()
            pipeline = Pipeline(Storage(database), settings)
            profiler.enable()
            pipeline.start()
            outcomes = pipeline.poll()
            profiler.disable()
            profiler.dump_stats(cprofile_out)
            print(json.dumps({"items": pipeline.storage.counts()["items"]}))
            return
        instrument(clock)
        pipeline = Pipeline(Storage(database), settings)
        pipeline.start()
        outcomes = pipeline.poll()
        total = time.perf_counter() - started
        items = pipeline.storage.counts()["items"]
    main_wall = {k: v for k, v in clock.wall.items() if k not in clock.threads}
    main_wall["other"] = main_wall.get("other", 0.0) + total - sum(main_wall.values())
    store_other = {k.split(":", 1)[1]: v for k, v in main_wall.items()
                   if k.startswith("store other:")}
    for key in ("wall", "cpu", "calls", "rss"):
        tables: dict[str, dict[str, Any]] = {"wall": main_wall, "cpu": clock.cpu,
                                             "calls": clock.calls, "rss": clock.rss_mb}
        table = tables[key]
        for name in [k for k in table if k.startswith("store other:")]:
            table["store other"] = table.get("store other", 0) + table.pop(name)
    print(json.dumps({"total": total, "items": items, "peak_mb": _maxrss_mb(),
                      "rss": dict(clock.rss_mb), "store_other": store_other,
                      "failed": sum(o.status == "error" for o in outcomes),
                      "wall": main_wall, "cpu": dict(clock.cpu),
                      "calls": dict(clock.calls),
                      "fetch_wall": clock.wall.get("fetch", 0.0),
                      "fetch_cpu": clock.cpu.get("fetch", 0.0)}))


def print_profile(result: dict[str, Any]) -> None:
    total = result["total"]
    print(f"\nper-stage profile of our pipeline (one poll in-process, {result['items']} items, "
          f"{result['failed']} feeds failed): self time of the writer thread; RSS +MB is the "
          "net growth of the resident set during it (memory freed earlier is reused, so it "
          "shows where the process grew, not who holds what):")
    print(f"  {'stage':<16} {'wall s':>7} {'cpu s':>7} {'share':>6}  {'calls':>6} "
          f"{'RSS +MB':>8}  what")
    for stage, what in STAGES:
        wall = result["wall"].get(stage, 0.0)
        cpu = result["cpu"].get(stage, wall if stage == "other" else 0.0)
        print(f"  {stage:<16} {wall:7.2f} {cpu:7.2f} {wall / total:6.1%}  "
              f"{result['calls'].get(stage, 0):>6} {result['rss'].get(stage, 0.0):8.0f}  {what}")
    print(f"  {'total':<16} {total:7.2f} {'':>7} {1:6.1%}  {'':>6} {result['peak_mb']:8.0f}"
          "  (peak RSS of the profiling process)")
    other = sorted(result["store_other"].items(), key=lambda kv: -kv[1])
    print("  store other: " + ", ".join(f"{k} {v:.2f}s" for k, v in other if v >= 0.01))
    print(f"  fetch on worker threads (overlaps the writer): {result['fetch_wall']:.2f}s wall "
          f"summed over fetches, {result['fetch_cpu']:.2f}s CPU")


def library_of(key: tuple[str, int, str]) -> str:
    """Where a cProfile entry's own time belongs: a package (feedparser split by module,
    aggregator by module, sqlalchemy by subpackage), a stdlib module, or a C extension."""
    filename, _, name = key
    if filename == "~":
        match = re.search(r"of '([\w.]+?)\.\w+' objects|built-in method ([\w.]+)\.", name)
        module = next((g for g in match.groups() if g), "") if match else ""
        return f"{module or 'builtins'} (C)"
    parts = Path(filename).parts
    if "site-packages" in parts:
        rest = list(parts[parts.index("site-packages") + 1:])
        depth = 2 if rest[0] in ("feedparser", "sqlalchemy", "aggregator") else 1
        return ".".join(rest[:depth]).removesuffix(".py")
    if "aggregator" in parts:
        rest = list(parts[len(parts) - 1 - parts[::-1].index("aggregator"):])
        return ".".join(rest[:3 if rest[1:2] == ["storage"] else 2]).removesuffix(".py")
    if any(p.startswith("python3") for p in parts):
        return "stdlib " + Path(filename).stem
    return Path(filename).stem


def print_cprofile(path: str) -> None:
    import pstats

    stats = pstats.Stats(path)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    by_library: Counter[str] = Counter()
    for key, value in raw.items():
        by_library[library_of(key)] += value[2]
    print(f"\ncProfile of the writer thread ({total:.1f}s of own time under the profiler, "
          "which slows Python code ~1.5-2×): own time by library")
    for library, seconds in by_library.most_common(18):
        print(f"  {library:<34} {seconds:7.2f}s {seconds / total:6.1%}")
    print("top functions by own time:")
    top = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:18]
    for (filename, line, name), value in top:
        where = f"{Path(filename).name}:{line}" if filename != "~" else ""
        print(f"  {value[2]:7.2f}s {value[1]:>9} calls  {name[:60]} {where}")


# -- main ---------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=65)
    parser.add_argument("--items", type=int, default=155, help="items per feed")
    parser.add_argument("--rounds", type=int, default=3, help="0: the profile alone")
    parser.add_argument("--syndicated", type=float, default=0.2,
                        help="share of each feed's items that copy another feed's story")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--text-from", type=Path, metavar="DIR",
                        help="draw article text from the feeds in DIR (e.g. syndication-dev)")
    parser.add_argument("--corpus", type=Path, metavar="DIR",
                        help="serve the feed files of DIR as they are instead of generating")
    parser.add_argument("--skip-reader", action="store_true", help="do not run reader")
    parser.add_argument("--skip-profile", action="store_true", help="no per-stage profile")
    parser.add_argument("--fingerprint-worker", action="store_true",
                        help="also run ours with polling.fingerprint_worker: true")
    parser.add_argument("--cprofile", action="store_true",
                        help="also print own time by library and function (cProfile)")
    parser.add_argument("--reader-venv", type=Path, default=READER_VENV)
    parser.add_argument("--ours-venv", type=Path, default=OURS_VENV,
                        help="venv for ours without test extras (made on first use)")
    parser.add_argument("--ours-here", dest="ours_venv", action="store_const", const=None,
                        help="run ours from this python's venv instead")
    parser.add_argument("--reader-installed-feedparser", action="store_true",
                        help="reader parses with the installed feedparser release instead of "
                             "the copy it vendors (READER_NO_VENDORED_FEEDPARSER=1)")
    args = parser.parse_args()

    if args.corpus:
        folder = args.corpus.resolve()
        manifest = folder / "manifest.json"
        expected = json.loads(manifest.read_text())["items"] if manifest.exists() else None
    else:
        spec = CorpusSpec(args.feeds, args.items, args.seed, args.syndicated,
                          args.text_from.resolve() if args.text_from else None)
        folder = make_corpus(spec)
        expected = json.loads((folder / "manifest.json").read_text())["items"]
    files = feed_files(folder)
    if not files:
        raise SystemExit(f"no feed files ({', '.join(FEED_SUFFIXES)}) in {folder}")
    if args.ours_venv is not None:
        aggregator: str | None = ensure_ours(args.ours_venv)
    else:
        aggregator = shutil.which("aggregator", path=str(Path(sys.executable).parent)) \
            or shutil.which("aggregator")
    if aggregator is None:
        raise SystemExit("no `aggregator` command: run with the project's venv python")
    reader_python = None if args.skip_reader else ensure_reader(args.reader_venv)
    size = sum(f.stat().st_size for f in files)
    print(f"corpus: {folder} ({len(files)} feeds, {expected or '?'} items, {size / 1e6:.1f} MB)")
    newest = max((ROOT / "aggregator").rglob("*.py"), key=lambda f: f.stat().st_mtime)
    print(f"code: aggregator/ last changed {datetime.fromtimestamp(newest.stat().st_mtime):%F %T} "
          f"({newest.relative_to(ROOT)})")
    print(f"python {sys.version.split()[0]}, feedparser {version_of(sys.executable, 'feedparser')}"
          + (f", reader {version_of(reader_python, 'reader')}" if reader_python else "")
          + f", peak RSS by {'/usr/bin/time' if TIME.exists() else 'getrusage'}, "
          f"{os.cpu_count()} CPUs")
    print(f"ours: {aggregator}")

    runs: dict[str, list[Run]] = defaultdict(list)
    problems: list[str] = []
    with served(folder) as base:
        urls = [f"{base}/{f.name}" for f in files]
        for round_no in range(1, args.rounds + 1):
            kinds: list[tuple[str, Callable[[Path], Run]]] = [
                ("ours", lambda w: run_ours(aggregator, urls, w))]
            if args.fingerprint_worker:
                kinds.append(("ours+fpw", lambda w: run_ours(
                    aggregator, urls, w, "polling:\n  fingerprint_worker: true\n")))
            if reader_python:
                kinds.append(("reader", lambda w: run_reader(
                    reader_python, urls, w, args.reader_installed_feedparser)))
            kinds.append(("feedparser", lambda w: run_feedparser(files, w)))
            for kind, go in kinds:
                with tempfile.TemporaryDirectory(prefix=f"ingest-{kind}-") as work:
                    run = go(Path(work))
                runs[kind].append(run)
                expected = expected if expected is not None else run.items
                ok = run.items == expected
                if not ok:
                    problems.append(f"round {round_no} {kind}: {run.items} items, "
                                    f"expected {expected}")
                print(f"round {round_no}  {kind:<10} {run.wall:7.2f}s  {run.rss_mb:6.0f} MB  "
                      f"PSS {run.pss_mb:4.0f} MB  "
                      f"{run.items:>6} items{'' if ok else ' (MISMATCH)'}"
                      + (f"  [{run.note}]" if run.note else ""), flush=True)

        if args.rounds > 0:
            print(f"\nmedians over {args.rounds} rounds ({expected} items expected):")
        for kind, kind_runs in runs.items():
            print(f"  {kind:<10} {statistics.median(r.wall for r in kind_runs):7.2f}s wall  "
                  f"{max(r.rss_mb for r in kind_runs):6.0f} MB peak RSS (max)  "
                  f"{statistics.median(r.rss_mb for r in kind_runs):6.0f} MB (median)  "
                  f"{max(r.pss_mb for r in kind_runs):6.0f} MB peak PSS (max)  "
                  f"items {sorted({r.items for r in kind_runs})}")
        if "reader" in runs:
            theirs = statistics.median(r.wall for r in runs["reader"])
            for kind in [k for k in runs if k.startswith("ours")]:
                wall = statistics.median(r.wall for r in runs[kind])
                print(f"  {kind}/reader: {wall / theirs:.2f} wall (target ≤ 1.0, stretch "
                      f"≤ 0.5); {kind}: peak RSS {max(r.rss_mb for r in runs[kind]):.0f} MB, "
                      f"peak PSS {max(r.pss_mb for r in runs[kind]):.0f} MB (target ≤ 150)")
            print("  memory of a run of several processes: 'peak RSS' adds up, at each 50 ms "
                  "sample, the peaks so far of the processes alive (an upper bound: shared "
                  "pages counted in each); 'peak PSS' is the tree's summed PSS at one "
                  "sample")

        if not args.skip_profile:
            with tempfile.TemporaryDirectory(prefix="ingest-stages-") as work:
                url_file = Path(work) / "urls.txt"
                url_file.write_text("\n".join(urls))
                out = subprocess.run([sys.executable, __file__, "_profile", str(url_file)],
                                     check=True, capture_output=True, text=True,
                                     env=clean_env()).stdout
                print_profile(json.loads(out.splitlines()[-1]))
                if args.cprofile:
                    stats = str(Path(work) / "poll.pstats")
                    subprocess.run([sys.executable, __file__, "_profile", str(url_file), stats],
                                   check=True, capture_output=True, env=clean_env())
                    print_cprofile(stats)
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["_serve"]:
        serve(sys.argv[2])
    elif sys.argv[1:2] == ["_profile"]:
        profile(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        sys.exit(main())
