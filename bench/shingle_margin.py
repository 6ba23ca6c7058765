#!/usr/bin/env python3
"""How far apart copies and different stories are, for word n-shingles of n = 2..5.

    python bench/shingle_margin.py CORPUS_DIR

Polls the labelled corpus (to learn its boilerplate), then compares every pair of items'
story text (boilerplate removed) with exact Jaccard of n-shingle sets and prints, per n:
the lowest Jaccard of two full-text copies of one story, the highest Jaccard of two
different stories, and the lowest containment of a summary in a copy of its story.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/shingle_margin.py`: Python put bench/ first on
    # sys.path; the repository root instead makes `bench` importable as the package it is.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import itertools
import json
import tempfile
from typing import Any

import numpy as np

from aggregator.clean.boilerplate import BoilerplateModel
from aggregator.clean.text import words
from aggregator.storage import Storage
from bench.quality import poll_corpus

Key = tuple[str, str]


def story_words(corpus: Path) -> dict[Key, list[str]]:
    """Each item's story text (learned boilerplate removed) as words, by (feed, guid)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/q.db"
        poll_corpus(corpus, url)
        storage = Storage(url)
        model = BoilerplateModel()
        model.load(storage.block_counts())
        items = storage.list_items(with_content=True)
        storage.close()
    return {
        (Path(i.feed_url).name, i.guid): words("\n".join(model.filter(i.text).kept)) for i in items
    }


def margins(texts: dict[Key, list[str]], labels: dict[Key, dict[str, Any]], n: int) -> str:
    """One line: how far apart copies, different stories and summaries are for ``n``."""
    sets = {
        k: {" ".join(t[i : i + n]) for i in range(max(1, len(t) - n + 1))} if t else set()
        for k, t in texts.items()
    }
    copies: list[float] = []
    summaries: list[float] = []
    different = 0.0
    for a, b in itertools.combinations(sorted(texts), 2):
        first, second = sets[a], sets[b]
        if not first or not second:
            continue
        common = len(first & second)
        jaccard = common / len(first | second)
        if labels[a]["story"] != labels[b]["story"]:
            different = max(different, jaccard)
        elif "summary" in (labels[a]["kind"], labels[b]["kind"]):
            summaries.append(common / min(len(first), len(second)))
        else:
            copies.append(jaccard)
    return (
        f"n={n}: copies min J={min(copies, default=float('nan')):.3f} (5th percentile "
        f"{np.percentile(copies, 5) if copies else float('nan'):.3f}); different stories "
        f"max J={different:.3f}; summaries min containment="
        f"{min(summaries, default=float('nan')):.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("corpus", type=Path, help="a folder with truth.json and the feeds")
    args = parser.parse_args(argv)
    truth = json.loads((args.corpus / "truth.json").read_text())
    labels = {(t["feed"], t["guid"]): t for t in truth["items"]}
    texts = story_words(args.corpus)
    for n in (2, 3, 4, 5):
        print(margins(texts, labels, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
