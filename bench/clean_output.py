#!/usr/bin/env python3
"""How clean the published feeds are: boilerplate left, story text lost, titles, clients.

    python bench/clean_output.py CORPUS_DIR [--limit 500]

Polls a labelled corpus (``truth.json`` and the feeds, as ``bench/quality.py`` takes) into
a fresh SQLite file, serves the web face in this process (Starlette's test client: the
real app and its real routes) and reads ``/feed.rss``, ``/feed.atom`` and ``/feed.json``
twice: cleaned (the default) and with ``?full=1`` (the content as the sources wrote it),
the baseline in the same run.  Every figure is computed from the labels, not from the
cleaner's own rules:

* **known boilerplate**: a text block of a stored item that items of two or more
  different stories carry (a footer, a sponsor line, a share bar, "Advertisement") or
  that a generic pattern matches; image captions are counted apart (they are kept on
  purpose, with their images);
* **story text**: every other block with words: it belongs to one story only.  A story
  block of the canonical copy missing from its published entry is *lost* (and its
  sentences are counted);
* **titles**: for a story with copies in two or more feeds, the origin's own title is the
  longest run of words every copy's title shares (the site names and section labels
  around it differ from feed to feed); the published title must equal it;
* **clients**: feedparser's ``bozo`` on the RSS and Atom documents; the JSON Feed ones
  (feedparser 6.0 reads no JSON Feed) must be read by the project's JSON Feed reader
  without a warning.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/clean_output.py`: see bench/quality.py
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import json
import re
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import feedparser
from starlette.testclient import TestClient

from aggregator.clean.boilerplate import fold_text
from aggregator.clean.published import repair_text
from aggregator.clean.text import fold, generic_boilerplate, html_to_blocks
from aggregator.config import settings_from_mapping
from aggregator.parse.document import parse_feed
from aggregator.publish.app import create_app
from aggregator.storage import Storage
from aggregator.types import ItemView
from bench.quality import feed_files, poll_corpus

FORMATS = ("/feed.rss", "/feed.atom", "/feed.json")
_CAPTION = re.compile(r"<figcaption\b[^>]*>(.*?)</figcaption\s*>", re.IGNORECASE | re.DOTALL)
_SENTENCE_END = re.compile(r"[.!?…](?:\s|$)")


def _folded(block: str) -> str:
    blocks = fold_text(repair_text(block))
    return blocks[0] if blocks else ""


def _blocks(html: str) -> list[str]:
    return [b for b in (_folded(x) for x in html_to_blocks(html)) if b]


@dataclass
class Labels:
    story_of: dict[int, str]
    """item id → story."""
    origins: set[int] = field(default_factory=set)
    """The items truth.json labels ``origin`` (the story's first publication)."""
    stories_of_block: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    captions: set[str] = field(default_factory=set)

    def kind(self, block: str) -> str:
        """``caption``, ``boilerplate`` or ``story``."""
        if block in self.captions:
            return "caption"
        if len(self.stories_of_block[block]) >= 2 or generic_boilerplate(block):
            return "boilerplate"
        return "story"


def label(items: list[ItemView], truth: dict[str, Any]) -> Labels:
    labels = {(t["feed"], t["guid"]): t for t in truth["items"]}
    known = [(i, labels.get((Path(i.feed_url).name, i.guid))) for i in items]
    out = Labels(
        {i.id: str(t["story"]) for i, t in known if t},
        {i.id for i, t in known if t and t["kind"] == "origin"},
    )
    for item in items:
        story = out.story_of.get(item.id)
        for block in _blocks(item.content_html):
            out.stories_of_block[block].add(story or f"item-{item.id}")
        for caption in _CAPTION.findall(item.content_html):
            out.captions.update(_blocks(caption))
    return out


def _common_run(titles: list[str]) -> str:
    """The longest run of words (compared folded) that every title has, in the first
    title's spelling."""
    first = titles[0].split()
    others = [[fold(w) for w in t.split()] for t in titles[1:]]
    for length in range(len(first), 0, -1):
        for start in range(len(first) - length + 1):
            run = [fold(w) for w in first[start : start + length]]
            if all(_contains(words, run) for words in others):
                return " ".join(first[start : start + length]).strip(" :|-–—")
    return ""


def _contains(words: list[str], run: list[str]) -> bool:
    return any(words[i : i + len(run)] == run for i in range(len(words) - len(run) + 1))


def measure(corpus: Path, limit: int) -> dict[str, Any]:
    truth = json.loads((corpus / "truth.json").read_text())
    with tempfile.TemporaryDirectory(prefix="clean-output-") as tmp:
        database = f"sqlite:///{tmp}/bench.db"
        started = time.perf_counter()
        poll_corpus(corpus, database)
        polled = time.perf_counter() - started
        settings = settings_from_mapping(
            {"database": database, "feeds": [{"url": str(f)} for f in feed_files(corpus)]}, None
        )
        storage = Storage(database)
        items = storage.list_items(with_content=True)
        by_id = {i.id: i for i in items}
        labels = label(items, truth)
        documents: dict[str, bytes] = {}
        seconds: dict[str, float] = {}
        with TestClient(create_app(storage, settings), base_url="http://localhost") as client:
            for path in FORMATS:
                for full in (False, True):
                    url = f"{path}?limit={limit}" + ("&full=1" if full else "")
                    started = time.perf_counter()
                    response = client.get(url)
                    seconds[url] = time.perf_counter() - started
                    response.raise_for_status()
                    documents[url] = response.content
        storage.close()
    report: dict[str, Any] = {"items": len(items), "poll_seconds": round(polled, 1)}
    # feedparser 6.0 reads no JSON Feed: that one is read by the project's JSON Feed reader,
    # which raises on a document it cannot use (and notes a survivable problem).
    report["bozo"] = {
        url: int(feedparser.parse(body).bozo)
        if "json" not in url
        else int(parse_feed("http://127.0.0.1" + url, body).warning is not None)
        for url, body in sorted(documents.items())
    }
    report["seconds"] = {url: round(s, 2) for url, s in sorted(seconds.items())}
    for full in (False, True):
        body = documents[f"/feed.json?limit={limit}" + ("&full=1" if full else "")]
        report["full" if full else "cleaned"] = _score(json.loads(body), by_id, labels)
    return report


def _score(document: dict[str, Any], items: dict[int, ItemView], labels: Labels) -> dict[str, Any]:
    bp_total = bp_left = captions_total = captions_left = 0
    story_total = story_lost = sentences_lost = 0
    entries_with_bp = 0
    lost_samples: list[str] = []
    left_samples: list[str] = []
    entry_of_story: dict[str, dict[str, Any]] = {}
    for entry in document["items"]:
        ext = entry["_aggregator"]
        canonical = items[ext["canonical_item_id"]]
        members = [canonical.id, *(c["item_id"] for c in ext["copies"])]
        for member in members:
            story = labels.story_of.get(member)
            if story is not None:
                entry_of_story.setdefault(story, entry)
        published = set(_blocks(entry["content_html"]))
        carries = False
        for block in dict.fromkeys(_blocks(canonical.content_html)):
            kind = labels.kind(block)
            kept = block in published
            if kind == "caption":
                captions_total += 1
                captions_left += kept
            elif kind == "boilerplate":
                bp_total += 1
                bp_left += kept
                carries = carries or kept
                if kept and len(left_samples) < 8:
                    left_samples.append(block[:80])
            elif any(ch.isalnum() for ch in block):
                story_total += 1
                if not kept:
                    story_lost += 1
                    sentences_lost += max(1, len(_SENTENCE_END.findall(block)))
                    if len(lost_samples) < 8:
                        lost_samples.append(block[:80])
        entries_with_bp += carries
    titles = _titles(entry_of_story, items, labels)
    return {
        "entries": len(document["items"]),
        "boilerplate_blocks": bp_total,
        "boilerplate_left": bp_left,
        "boilerplate_left_share": round(bp_left / bp_total, 4) if bp_total else 0.0,
        "entries_with_boilerplate": entries_with_bp,
        "captions": captions_total,
        "captions_kept": captions_left,
        "story_blocks": story_total,
        "story_blocks_lost": story_lost,
        "story_sentences_lost": sentences_lost,
        "lost_samples": lost_samples,
        "left_samples": left_samples,
        **titles,
    }


def _titles(
    entry_of_story: dict[str, dict[str, Any]], items: dict[int, ItemView], labels: Labels
) -> dict[str, Any]:
    titles_of: dict[str, list[tuple[int, str]]] = defaultdict(list)
    # The origin's title first: the reference is spelled as the origin spells it.
    for item_id, story in sorted(labels.story_of.items(), key=lambda p: p[0] not in labels.origins):
        item = items[item_id]
        if item.title:
            titles_of[story].append((item.feed_id, item.title))
    compared = equal = equal_folded = 0
    wrong: list[str] = []
    for story, titles in titles_of.items():
        if len({feed for feed, _ in titles}) < 2 or story not in entry_of_story:
            continue
        reference = _common_run([t for _, t in titles])
        if not reference:
            continue
        compared += 1
        title = entry_of_story[story]["title"]
        equal += title == reference
        equal_folded += fold(title) == fold(reference)
        if title != reference and len(wrong) < 8:
            wrong.append(f"{title!r} != {reference!r}")
    return {
        "titles_compared": compared,
        "titles_equal": equal,
        "titles_equal_share": round(equal / compared, 4) if compared else 0.0,
        "titles_equal_ignoring_case": equal_folded,
        "title_mismatches": wrong,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--limit", type=int, default=500)
    args = parser.parse_args(argv)
    report = measure(args.corpus, args.limit)
    print(json.dumps(report, indent=1, ensure_ascii=False))
    cleaned = report["cleaned"]
    print(
        f"boilerplate_left={cleaned['boilerplate_left_share']:.2%} "
        f"(full: {report['full']['boilerplate_left_share']:.2%}) "
        f"story_sentences_lost={cleaned['story_sentences_lost']} "
        f"titles_equal={cleaned['titles_equal_share']:.2%} "
        f"(full: {report['full']['titles_equal_share']:.2%}) "
        f"bozo={sum(report['bozo'].values())}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
