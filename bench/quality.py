#!/usr/bin/env python3
"""Quality benchmark: poll a labelled corpus into a fresh database and score the clusters.

    python bench/quality.py CORPUS_DIR [--shuffle SEED] [--database URL] [--dump FILE]

CORPUS_DIR holds ``truth.json`` and the feed files (directly or under ``feeds/``), as
``seeds/``, ``../shared/data/syndication-dev`` and the corpora :mod:`bench.corpus`
generates do.  truth.json lists items as
``{"feed": FILE, "guid": ENTRY_ID, "story": ID, "kind": KIND, "source": ID}``; two items
are duplicates when their story is equal; pairs whose sources are listed together in
``gray_sources`` are not scored.

Prints pairwise precision, recall and F1, recall by kind, false merges by kind, and the
last line ``precision=P recall=R f1=F``.  ``--shuffle`` polls the feeds in a shuffled
order (one feed at a time) to check that the order changes no cluster.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/quality.py`: Python put bench/ first on sys.path;
    # the repository root instead makes `bench` importable as the package it is.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import json
import random
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from itertools import combinations
from typing import Any

from aggregator.config import settings_from_mapping
from aggregator.ingest.pipeline import Pipeline
from aggregator.storage import Storage


def feed_files(corpus: Path) -> list[Path]:
    folder = corpus / "feeds" if (corpus / "feeds").is_dir() else corpus
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix in (".xml", ".atom", ".json", ".rss", ".rdf")
        and p.name not in ("truth.json", "manifest.json")
    )


def poll_corpus(corpus: Path, database: str, shuffle: int | None = None) -> list[dict[str, Any]]:
    files = feed_files(corpus)
    settings = settings_from_mapping(
        {"database": database, "feeds": [{"url": str(f)} for f in files]}, None
    )
    pipeline = Pipeline(Storage(database), settings)
    pipeline.start()
    if shuffle is None:
        pipeline.poll()
    else:
        feeds = pipeline.storage.feeds_to_poll()
        random.Random(shuffle).shuffle(feeds)
        for feed in feeds:
            pipeline.poll([feed])
    return [
        {"feed_url": i.feed_url, "guid": i.guid, "cluster_id": i.cluster_id}
        for i in pipeline.storage.list_items()
    ]


Key = tuple[str, str]
"""An item as truth.json names it: (feed file name, guid)."""


def score(truth: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """Pairwise precision, recall and F1 of the clusters of ``items`` against ``truth``."""
    labels = {(t["feed"], t["guid"]): t for t in truth["items"]}
    gray = {frozenset(pair) for pair in truth.get("gray_sources", [])}
    cluster: dict[Key, object] = {}
    for item in items:
        key = (Path(item["feed_url"]).name, str(item["guid"]))
        if key in labels:
            cluster[key] = item["cluster_id"]
    for n, key in enumerate(k for k in labels if k not in cluster):
        cluster[key] = f"missing-{n}"

    def scored(a: Key, b: Key) -> bool:
        pair = frozenset((labels[a].get("source"), labels[b].get("source")))
        return len(pair) == 1 or pair not in gray

    tp = fp = 0
    false_merges: Counter[str] = Counter()
    for a, b in pairs_within(cluster, lambda key: cluster[key], scored):
        if labels[a]["story"] == labels[b]["story"]:
            tp += 1
        else:
            fp += 1
            false_merges["+".join(sorted((labels[a]["kind"], labels[b]["kind"])))] += 1
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for a, b in pairs_within(cluster, lambda key: labels[key]["story"], scored):
        kind = "summary" if "summary" in (labels[a]["kind"], labels[b]["kind"]) else "full"
        total[kind] += 1
        found[kind] += cluster[a] == cluster[b]
    positives = sum(total.values())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / positives if positives else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "items": len(labels),
        "positive_pairs": positives,
        "tp": tp,
        "fp": fp,
        "recall_by_kind": {k: round(found[k] / total[k], 4) for k in sorted(total)},
        "false_merges_by_kinds": dict(false_merges.most_common()),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def pairs_within(
    keys: Iterable[Key], group_of: Callable[[Key], object], scored: Callable[[Key, Key], bool]
) -> Iterator[tuple[Key, Key]]:
    """The scored pairs of keys in one group (a cluster, or a story)."""
    groups: dict[object, list[Key]] = defaultdict(list)
    for key in keys:
        groups[group_of(key)].append(key)
    for group in groups.values():
        yield from ((a, b) for a, b in combinations(group, 2) if scored(a, b))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--shuffle", type=int, default=None, metavar="SEED")
    parser.add_argument("--database", help="SQLAlchemy URL (default: a fresh SQLite file)")
    parser.add_argument("--dump", type=Path, help="write the items JSON here")
    args = parser.parse_args(argv)
    truth = json.loads((args.corpus / "truth.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        database = args.database or f"sqlite:///{tmp}/quality.db"
        started = time.perf_counter()
        items = poll_corpus(args.corpus, database, args.shuffle)
        seconds = time.perf_counter() - started
    if args.dump:
        args.dump.write_text(json.dumps(items, indent=1))
    result = score(truth, items)
    result["clusters"] = len({i["cluster_id"] for i in items})
    result["seconds"] = round(seconds, 2)
    for key, value in result.items():
        if key not in ("precision", "recall", "f1"):
            print(f"{key}: {value}")
    print(f"precision={result['precision']} recall={result['recall']} f1={result['f1']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
