#!/usr/bin/env python3
"""How far apart copies and different stories are, for word n-shingles of n = 2..5.

    python bench/shingle_margin.py CORPUS_DIR

Polls the labelled corpus (to learn its boilerplate), then compares every pair of items'
story text (boilerplate removed) with exact Jaccard of n-shingle sets and prints, per n:
the lowest Jaccard of two full-text copies of one story, the highest Jaccard of two
different stories, and the lowest containment of a summary in a copy of its story.
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import quality  # noqa: E402

from aggregator.clean.boilerplate import BoilerplateModel  # noqa: E402
from aggregator.clean.text import words  # noqa: E402
from aggregator.storage import Storage  # noqa: E402


def main() -> None:
    corpus = Path(sys.argv[1])
    truth = json.loads((corpus / "truth.json").read_text())
    labels = {(t["feed"], t["guid"]): t for t in truth["items"]}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/q.db"
        quality.poll_corpus(corpus, url)
        storage = Storage(url)
        model = BoilerplateModel()
        model.load(storage.block_counts())
        items = storage.list_items(with_content=True)
        storage.close()
    texts = {(Path(i.feed_url).name, i.guid): words("\n".join(model.filter(i.text).kept))
             for i in items}
    keys = sorted(texts)
    for n in (2, 3, 4, 5):
        sets = {k: {" ".join(t[i:i + n]) for i in range(max(1, len(t) - n + 1))} if t else set()
                for k, t in texts.items()}
        copies: list[float] = []
        summaries: list[float] = []
        different = 0.0
        for a, b in itertools.combinations(keys, 2):
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
        print(f"n={n}: copies min J={min(copies):.3f} (5th percentile "
              f"{np.percentile(copies, 5):.3f}); different stories max J={different:.3f}; "
              f"summaries min containment={min(summaries):.3f}")


if __name__ == "__main__":
    main()
