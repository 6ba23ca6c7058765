#!/usr/bin/env python3
"""Quality by kind: poll a labelled corpus into a fresh database and score its clusters by
the kind of each item (``bench/hard_corpus.py`` writes such a corpus).

    python bench/hard_quality.py CORPUS_DIR [--shuffle SEED] [--database URL] [--dump FILE]
                                 [--json FILE] [--examples N]
    python bench/hard_quality.py --generate SEED [--items N] …

``--generate`` scores a corpus that ``bench/hard_corpus.py`` writes (with that seed and
about N items) into a temporary folder.

The corpus is polled as ``bench/quality.py`` polls it (the real pipeline, a fresh SQLite
database unless ``--database``) and scored against its ``truth.json`` (items ``{"feed",
"guid", "story", "kind", "traits"?}``; two items are duplicates when their story is equal).
It prints:

* pairwise precision, recall and F1 overall (:func:`bench.quality.score`: the figures of
  ``../shared/data/score.py``);
* by kind: the items, the positive pairs (two items of one story) with an item of the
  kind and the share of them in one cluster (recall), the pairs in one cluster with an
  item of the kind and the share of them of one story (precision), the items kept apart
  from some item of their story, and the items in a cluster with another story's item;
* missed pairs and false merges (pairs of different stories in one cluster) by kind pair;
* wrong edges: the evidence an item is stored with (its method and the item it matched)
  when that item is another story's — the decisions behind the false merges — by kind
  pair and method;
* recall and false merges by trait (template family, dateline, byline, noise, query
  link, the kind a category feed repeats, …), when the truth has traits;
* ``--examples N``: up to N missed pairs of each kind and N wrong edges of each kind pair,
  each with what ``aggregator clusters explain`` says of the pair (the rule, Jaccard,
  containment, the boilerplate removed from each item);

and last the line ``precision=P recall=R f1=F``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/hard_quality.py`: the repository root instead of
    # bench/ first on sys.path makes `bench` importable as the package it is.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import json
import random
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aggregator.config import settings_from_mapping
from aggregator.ingest.explain import explain
from aggregator.ingest.state import dedup_params, load_boilerplate
from aggregator.storage import Storage
from bench.hard_corpus import DEFAULT_ITEMS, make_hard_corpus
from bench.quality import Key, pairs_within, poll_corpus, score


@dataclass
class Tally:
    """What the scorer counts for one kind (or trait, or kind pair)."""

    items: int = 0
    positives: int = 0
    found: int = 0
    merged: int = 0
    false: int = 0
    apart: int = 0
    """Items kept apart from at least one item of their story."""
    joined: int = 0
    """Items in a cluster with an item of another story."""

    @property
    def recall(self) -> float:
        return self.found / self.positives if self.positives else 1.0

    @property
    def precision(self) -> float:
        return (self.merged - self.false) / self.merged if self.merged else 1.0


@dataclass
class Breakdown:
    kinds: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    traits: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    missed_pairs: Counter[str] = field(default_factory=Counter)
    false_pairs: Counter[str] = field(default_factory=Counter)
    missed: dict[str, list[tuple[Key, Key]]] = field(default_factory=lambda: defaultdict(list))
    """Missed pairs by kind (each pair under each of its kinds)."""


def trait_names(row: dict[str, Any]) -> set[str]:
    """An item's traits, without the story ids some carry (``quotes:s00012`` → ``quotes``)."""
    out = set()
    for trait in row.get("traits", []):
        name, _, rest = trait.partition(":")
        out.add(name if rest.startswith("s0") else trait)
    return out


def pair_name(a: str, b: str) -> str:
    return "+".join(sorted((a, b)))


def breakdown(truth: dict[str, Any], items: list[dict[str, Any]]) -> Breakdown:
    """The scores by kind and trait of the clusters of ``items`` (as :func:`score` takes
    them: ``feed_url``, ``guid``, ``cluster_id``) against ``truth``."""
    labels = {(t["feed"], t["guid"]): t for t in truth["items"]}
    gray = {frozenset(pair) for pair in truth.get("gray_sources", [])}
    cluster: dict[Key, object] = {}
    for item in items:
        key = (Path(item["feed_url"]).name, str(item["guid"]))
        if key in labels:
            cluster[key] = item["cluster_id"]
    for n, key in enumerate(k for k in labels if k not in cluster):
        cluster[key] = f"missing-{n}"
    traits = {key: trait_names(row) for key, row in labels.items()}

    def scored(a: Key, b: Key) -> bool:
        pair = frozenset((labels[a].get("source"), labels[b].get("source")))
        return len(pair) == 1 or pair not in gray

    out = Breakdown()
    apart: set[Key] = set()
    joined: set[Key] = set()
    for a, b in pairs_within(cluster, lambda key: labels[key]["story"], scored):
        same = cluster[a] == cluster[b]
        ka, kb = labels[a]["kind"], labels[b]["kind"]
        for kind in {ka, kb}:
            out.kinds[kind].positives += 1
            out.kinds[kind].found += same
            if not same:
                out.missed[kind].append((a, b))
        for trait in traits[a] | traits[b]:
            out.traits[trait].positives += 1
            out.traits[trait].found += same
        if not same:
            out.missed_pairs[pair_name(ka, kb)] += 1
            apart.update((a, b))
    for a, b in pairs_within(cluster, lambda key: cluster[key], scored):
        false = labels[a]["story"] != labels[b]["story"]
        ka, kb = labels[a]["kind"], labels[b]["kind"]
        for kind in {ka, kb}:
            out.kinds[kind].merged += 1
            out.kinds[kind].false += false
        for trait in traits[a] | traits[b]:
            out.traits[trait].merged += 1
            out.traits[trait].false += false
        if false:
            out.false_pairs[pair_name(ka, kb)] += 1
            joined.update((a, b))
    for key, row in labels.items():
        tallies = [out.kinds[row["kind"]], *(out.traits[t] for t in traits[key])]
        for tally in tallies:
            tally.items += 1
            tally.apart += key in apart
            tally.joined += key in joined
    return out


@dataclass(frozen=True)
class Stored:
    """An item as the database holds it."""

    id: int
    key: Key
    cluster_id: int | None
    method: str | None
    matched: int | None
    title: str


def stored_items(database: str) -> dict[int, Stored]:
    storage = Storage(database)
    try:
        views = storage.list_items()
        matched = {i.item_id: i for i in storage.indexed_items_by_id([v.id for v in views])}
    finally:
        storage.close()
    out = {}
    for v in views:
        m = matched.get(v.id)
        out[v.id] = Stored(
            id=v.id,
            key=(Path(v.feed_url).name, v.guid),
            cluster_id=v.cluster_id,
            method=v.method,
            matched=m.matched_item_id if m is not None else None,
            title=v.title or "",
        )
    return out


def wrong_edges(
    truth: dict[str, Any], stored: dict[int, Stored]
) -> tuple[Counter[str], list[tuple[str, Stored, Stored]]]:
    """Each item's stored evidence that names another story's item: counts by kind pair and
    method, and the edges themselves."""
    labels = {(t["feed"], t["guid"]): t for t in truth["items"]}
    counts: Counter[str] = Counter()
    edges: list[tuple[str, Stored, Stored]] = []
    for item in stored.values():
        other = stored.get(item.matched) if item.matched is not None else None
        if other is None or item.key not in labels or other.key not in labels:
            continue
        a, b = labels[item.key], labels[other.key]
        if a["story"] != b["story"]:
            name = f"{pair_name(a['kind'], b['kind'])} ({item.method})"
            counts[name] += 1
            edges.append((name, item, other))
    return counts, edges


def table(rows: Iterable[tuple[object, ...]], header: tuple[str, ...]) -> str:
    """Rows under a header, the first column left-aligned; ``  none`` for no rows."""
    body = [tuple(str(c) for c in r) for r in rows]
    if not body:
        return "  none"
    cells = [tuple(str(c) for c in header), *body]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for row in cells:
        first, *rest = row
        lines.append(
            "  "
            + first.ljust(widths[0])
            + "".join("  " + c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))
        )
    return "\n".join(lines)


def tally_rows(tallies: dict[str, Tally]) -> list[tuple[object, ...]]:
    return [
        (
            name,
            t.items,
            t.positives,
            f"{t.recall:.4f}",
            t.merged,
            t.false,
            f"{t.precision:.4f}",
            t.apart,
            t.joined,
        )
        for name, t in sorted(tallies.items(), key=lambda kv: (kv[1].recall, kv[1].precision))
    ]


TALLY_HEADER = (
    "",
    "items",
    "pos.pairs",
    "recall",
    "merged",
    "false",
    "precision",
    "items apart",
    "items joined",
)


def describe_pair(
    database: str, stored: dict[int, Stored], labels: dict[Key, Any], a: int, b: int
) -> str:
    """What ``clusters explain A B`` says of two items, in a few lines."""
    settings = settings_from_mapping({"database": database, "feeds": []}, None, env={})
    storage = Storage(database)
    try:
        report = explain(storage, load_boilerplate(storage), dedup_params(settings.dedup), [a, b])
    finally:
        storage.close()
    lines = []
    for evidence in report.items:
        item = stored[evidence.item.id]
        row = labels[item.key]
        long_blocks = [r for r in evidence.boilerplate_removed if r.count(" ") >= 11]
        lines.append(
            f"    item {item.id} [{row['kind']}] {row['feed']} story {row['story']} "
            f"cluster {item.cluster_id} via {item.method} (matched {item.matched}): "
            f"{evidence.words} words after removing {len(evidence.boilerplate_removed)} "
            f"blocks ({len(long_blocks)} of 12+ words); {item.title[:60]!r}"
        )
    if report.comparison is not None:
        lines.append(f"    → {report.comparison.reason}")
    return "\n".join(lines)


def examples(
    database: str,
    truth: dict[str, Any],
    stored: dict[int, Stored],
    parts: Breakdown,
    edges: list[tuple[str, Stored, Stored]],
    per: int,
) -> str:
    if per <= 0:
        return ""
    labels = {(t["feed"], t["guid"]): t for t in truth["items"]}
    ids = {s.key: s.id for s in stored.values()}
    rng = random.Random(0)
    out = []
    for kind, pairs in sorted(parts.missed.items()):
        if kind == "origin":
            continue  # the pairs are shown under their other item's kind
        out.append(f"missed pairs with a {kind} item ({len(pairs)}):")
        for a, b in rng.sample(pairs, min(per, len(pairs))):
            if a in ids and b in ids:
                out.append(describe_pair(database, stored, labels, ids[a], ids[b]))
    by_name: dict[str, list[tuple[Stored, Stored]]] = defaultdict(list)
    for name, item, other in edges:
        by_name[name].append((item, other))
    for name, pairs_ in sorted(by_name.items()):
        out.append(f"wrong edges {name} ({len(pairs_)}):")
        for item, other in rng.sample(pairs_, min(per, len(pairs_))):
            out.append(describe_pair(database, stored, labels, item.id, other.id))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("corpus", type=Path, nargs="?")
    parser.add_argument("--generate", type=int, metavar="SEED", help="score a new corpus")
    parser.add_argument("--items", type=int, default=DEFAULT_ITEMS, help="with --generate")
    parser.add_argument("--shuffle", type=int, default=None, metavar="SEED")
    parser.add_argument("--database", help="SQLAlchemy URL (default: a fresh SQLite file)")
    parser.add_argument("--dump", type=Path, help="write the items JSON here")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    parser.add_argument("--examples", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)
    if (args.corpus is None) == (args.generate is None):
        parser.error("give a corpus folder or --generate SEED")
    with tempfile.TemporaryDirectory() as tmp:
        if args.generate is not None:
            args.corpus = Path(tmp) / f"hard-s{args.generate}"
            manifest = make_hard_corpus(args.corpus, seed=args.generate, items=args.items)
            print(f"generated: seed {args.generate}, {manifest['feeds']} feeds")
        truth = json.loads((args.corpus / "truth.json").read_text(encoding="utf-8"))
        database = args.database or f"sqlite:///{tmp}/hard-quality.db"
        started = time.perf_counter()
        items = poll_corpus(args.corpus, database, args.shuffle)
        seconds = time.perf_counter() - started
        stored = stored_items(database)
        overall = score(truth, items)
        parts = breakdown(truth, items)
        edge_counts, edges = wrong_edges(truth, stored)
        shown = examples(database, truth, stored, parts, edges, args.examples)
    if args.dump:
        args.dump.write_text(json.dumps(items, indent=1))
    stories = len({t["story"] for t in truth["items"]})
    print(
        f"corpus: {args.corpus}: {overall['items']} items, {stories} stories; polled in "
        f"{seconds:.1f} s into {len({i['cluster_id'] for i in items})} clusters"
    )
    for key in ("positive_pairs", "tp", "fp"):
        print(f"{key}: {overall[key]}")
    print("\nby kind (pairs: those with an item of the kind)")
    print(table(tally_rows(parts.kinds), TALLY_HEADER))
    print("\nmissed pairs by kind pair")
    print(table(parts.missed_pairs.most_common(), ("", "pairs")))
    print("\nfalse merges by kind pair")
    print(table(parts.false_pairs.most_common(), ("", "pairs")))
    print("\nwrong edges (an item's stored evidence names another story's item), by kind pair")
    print(table(edge_counts.most_common(), ("", "items")))
    if parts.traits:
        print("\nby trait")
        print(table(tally_rows(parts.traits), TALLY_HEADER))
    if shown:
        print("\nexamples\n" + shown)
    if args.json:
        tallies = {
            group: {name: {**vars(t), "recall": t.recall, "precision": t.precision}
                    for name, t in getattr(parts, group).items()}
            for group in ("kinds", "traits")
        }  # fmt: skip
        args.json.write_text(
            json.dumps(
                {
                    **overall,
                    "seconds": round(seconds, 2),
                    **tallies,
                    "missed_pairs": dict(parts.missed_pairs),
                    "false_pairs": dict(parts.false_pairs),
                    "wrong_edges": dict(edge_counts),
                },
                indent=1,
            )
        )
    print(f"precision={overall['precision']} recall={overall['recall']} f1={overall['f1']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
