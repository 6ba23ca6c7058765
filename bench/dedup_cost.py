#!/usr/bin/env python3
"""Cost of the near-duplicate machinery: per-stage time, index memory, rebuild, scale.

    python bench/dedup_cost.py stages [--items 400] [--corpus DIR]
    python bench/dedup_cost.py index [--items 100000]
    python bench/dedup_cost.py scale [--items 1000000]

``stages``: ~1,000-word articles (paragraphs drawn from a corpus of feeds when given, else
generated) with syndicated copies among them, pushed through each stage of the real code:
fold + boilerplate filter, tokenise, shingle, MinHash (datasketch), decision (index query,
verification, insert, clustering).  Prints µs per item per stage.

``index``: N fingerprints of 1,000-word texts (their real byte format), loaded into the
decision engine a page of 5,000 at a time (as at start), each way in a fresh process:
samples kept in memory, or read back from the stored bytes (as the daemon runs); prints
memory per item (live bytes and RSS delta) against datasketch's ``MinHashLSH`` (threshold
0.3, the baseline) holding the same signatures, and the rebuild time.

``scale``: synthetic random signatures at N items in the window; prints insert and query
µs per item and index bytes per item of the banded index alone.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from aggregator.clean.boilerplate import BoilerplateModel
from aggregator.clean.text import html_to_blocks, words
from aggregator.dedup.engine import Candidate, DedupEngine
from aggregator.dedup.lshindex import BandedIndex
from aggregator.fingerprint import signature as fp_mod

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def paragraphs(corpus: Path | None) -> list[str]:
    if corpus is not None:
        import feedparser

        out: list[str] = []
        folder = corpus / "feeds" if (corpus / "feeds").is_dir() else corpus
        for path in sorted(folder.iterdir()):
            if path.suffix in (".xml", ".atom"):
                for entry in feedparser.parse(path.read_bytes()).entries:
                    for content in entry.get("content", []):
                        out.extend(b for b in html_to_blocks(content.value) if len(b) > 200)
        if out:
            return out
    rng = random.Random(1)
    vocabulary = [f"w{n}" for n in range(20000)]
    return [" ".join(rng.choice(vocabulary) for _ in range(60)) for _ in range(5000)]


def articles(n: int, corpus: Path | None) -> list[str]:
    """~1,000-word texts; every fifth is a copy of an earlier one with one paragraph dropped."""
    pool = paragraphs(corpus)
    rng = random.Random(2)
    texts: list[str] = []
    for i in range(n):
        if i % 5 == 4 and texts:
            base = texts[rng.randrange(len(texts))].split("\n")
            del base[rng.randrange(len(base))]
            texts.append("\n".join(base + ["This article is sponsored by Somebody"]))
            continue
        chosen: list[str] = []
        while sum(len(p.split()) for p in chosen) < 1000:
            chosen.append(rng.choice(pool))
        texts.append("\n".join(chosen))
    return texts


def stages(args: argparse.Namespace) -> None:
    texts = articles(args.items, args.corpus)
    model = BoilerplateModel()
    engine = DedupEngine()
    timing: dict[str, list[float]] = {
        k: [] for k in ("filter", "tokens", "shingles", "minhash", "decide")
    }
    word_counts = []
    for i, text in enumerate(texts):
        t0 = time.perf_counter()
        kept = model.filter(text).kept
        t1 = time.perf_counter()
        tokens: list[str] = []
        for block in kept:
            tokens.extend(words(block))
        t2 = time.perf_counter()
        ordered = fp_mod.shingle_hashes(tokens)
        distinct = np.unique(ordered)
        t3 = time.perf_counter()
        fingerprint = fp_mod.fingerprint_blocks(kept)  # includes the steps above again
        t4 = time.perf_counter()
        engine.decide(
            [Candidate(i, i % 7, 0, NOW - timedelta(minutes=i), False, None, fingerprint, NOW)], NOW
        )
        t5 = time.perf_counter()
        word_counts.append(len(tokens))
        timing["filter"].append(t1 - t0)
        timing["tokens"].append(t2 - t1)
        timing["shingles"].append(t3 - t2)
        timing["minhash"].append(max(0.0, (t4 - t3) - (t2 - t1) - (t3 - t2)))
        timing["decide"].append(t5 - t4)
        del distinct
    print(f"{len(texts)} items, median {statistics.median(word_counts):.0f} words")
    total = 0.0
    for stage, values in timing.items():
        median = statistics.median(values) * 1e6
        total += median
        print(f"  {stage:<9} {median:8.1f} µs/item (median)")
    print(
        f"  {'total':<9} {total:8.1f} µs/item; fingerprint+decision = "
        f"{(total - statistics.median(timing['filter']) * 1e6) / 1000:.3f} ms/item"
    )
    clusters = {engine.cluster_of(i) for i in range(len(texts))}
    print(f"  clusters: {len(clusters)} for {len(texts)} items (copies every fifth item)")


def synthetic_fingerprint(rng: np.random.Generator) -> fp_mod.Fingerprint:
    """A 1,000-word text's fingerprint: ~990 distinct shingles, its real sizes."""
    shingles = np.unique(rng.integers(0, 2**32, size=990, dtype=np.uint64).astype(np.uint32))
    sample = shingles[(shingles & np.uint32(fp_mod.SAMPLE_MASK)) == 0]
    return fp_mod.Fingerprint(
        content_key=None,
        size=int(shingles.size),
        hashes=np.concatenate([sample, np.unique(shingles[: fp_mod.LEAD_VERIFY])]),
        lead_start=int(sample.size),
        signature=rng.integers(0, 2**32, size=fp_mod.NUM_PERM, dtype=np.uint64).astype(np.uint32),
        lead_signature=rng.integers(0, 2**32, size=fp_mod.NUM_PERM, dtype=np.uint64).astype(
            np.uint32
        ),
        word_count=1000,
    )


def build_engine(blobs: list[bytes | None], stored: bool) -> DedupEngine:
    """The engine over these fingerprints; ``stored``: as the daemon runs it, reading the
    samples it verifies with back from the stored bytes (here ``blobs`` stands in for the
    database) instead of keeping them."""

    def source(item_ids: Collection[int]) -> dict[int, fp_mod.Fingerprint]:
        return {
            i: fp_mod.from_bytes(blob, None) for i in item_ids if (blob := blobs[i]) is not None
        }

    engine = DedupEngine(fingerprint_source=source if stored else None)
    # Oldest first, a page of 5,000 at a time, as Pipeline.start reads them from storage.
    order = list(range(len(blobs) - 1, -1, -1))
    for start in range(0, len(order), 5000):
        engine.load(
            (
                Candidate(
                    i,
                    i % 50,
                    0,
                    NOW - timedelta(seconds=i),
                    False,
                    f"https://example.com/{i}",
                    fp_mod.from_bytes(blob, None),
                    NOW,
                )
                for i in order[start : start + 5000]
                if (blob := blobs[i]) is not None
            ),
            [],
        )
    engine.settle(range(len(blobs)))
    return engine


INDEX_MODES = {
    "memory": "samples in memory",
    "stored": "samples read back from storage, as the daemon runs",
    "baseline": "datasketch MinHashLSH(threshold=0.3), signatures only",
}


def index(args: argparse.Namespace) -> None:
    """Each mode in a fresh process: an RSS delta measured after another build in the same
    process would count on heap the first one freed."""
    if args.only:
        print(json.dumps(index_one(args.items, args.only)))
        return
    results = {}
    for mode in INDEX_MODES:
        out = subprocess.run(
            [sys.executable, __file__, "index", "--items", str(args.items), "--only", mode],
            check=True,
            capture_output=True,
            text=True,
        )
        results[mode] = json.loads(out.stdout.splitlines()[-1])
    n = args.items
    for mode, label in INDEX_MODES.items():
        r = results[mode]
        live = f"{r['live'] / n:,.0f} B/item live (tracemalloc), " if "live" in r else ""
        print(
            f"{n} items, {'our engine with ' if mode != 'baseline' else ''}{label}: "
            f"{live}{r['rss'] / n:,.0f} B/item RSS delta"
            + (
                f"; rebuild from stored bytes {r['seconds']:.1f} s "
                f"({r['seconds'] / n * 1e6:.0f} µs/item)"
                if "seconds" in r
                else ""
            )
        )
    for mode in ("memory", "stored"):
        print(
            f"ours ({mode}) / baseline, RSS: "
            f"{results[mode]['rss'] / results['baseline']['rss']:.2f}"
        )


def index_one(n: int, mode: str) -> dict[str, float]:
    rng = np.random.default_rng(3)
    blobs = [fp_mod.to_bytes(synthetic_fingerprint(rng)) for _ in range(n)]
    gc.collect()
    base = rss_bytes()
    if mode == "baseline":
        from datasketch.lean_minhash import LeanMinHash
        from datasketch.lsh import MinHashLSH

        lsh = MinHashLSH(threshold=0.3, num_perm=fp_mod.NUM_PERM)
        for i, blob in enumerate(blobs):
            assert blob is not None
            fingerprint = fp_mod.from_bytes(blob, None)
            lsh.insert(
                i,
                LeanMinHash(
                    seed=fp_mod.SEED,
                    hashvalues=fingerprint.signature,
                    scheme=fp_mod.PERMUTATION_SCHEME,
                ),
            )
        gc.collect()
        return {"rss": rss_bytes() - base}
    stored = mode == "stored"
    started = time.perf_counter()
    engine = build_engine(blobs, stored)
    seconds = time.perf_counter() - started
    gc.collect()
    rss = rss_bytes() - base
    del engine
    gc.collect()
    # Live bytes (Python objects and numpy arrays) as tracemalloc counts them: RSS also
    # holds freed-but-kept heap pages and the temporaries of the load.
    tracemalloc.start()
    engine = build_engine(blobs, stored)
    gc.collect()
    live = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del engine
    return {"rss": rss, "live": live, "seconds": seconds}


def tiny_fingerprint(rng: np.random.Generator) -> fp_mod.Fingerprint:
    """A synthetic fingerprint with real signatures but a token sample (memory at 1M)."""
    hashes = np.unique(rng.integers(0, 2**32, size=16, dtype=np.uint64).astype(np.uint32))
    return fp_mod.Fingerprint(
        content_key=None,
        size=990,
        hashes=hashes,
        lead_start=8,
        signature=rng.integers(0, 2**32, size=fp_mod.NUM_PERM, dtype=np.uint64).astype(np.uint32),
        lead_signature=rng.integers(0, 2**32, size=fp_mod.NUM_PERM, dtype=np.uint64).astype(
            np.uint32
        ),
        word_count=1000,
    )


def scale(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(4)
    scale_index(args.items, rng)
    scale_engine(args.items, rng)


def scale_index(n: int, rng: np.random.Generator) -> None:
    """The banded index alone at ``n`` items: insert and query time, memory.

    Inserted and queried one item at a time (``insert_many`` / ``query_many`` with a batch
    of one; the time includes computing the item's band keys), then queried in batches of
    200 (band keys computed beforehand), as the engine does."""
    gc.collect()
    base = rss_bytes()
    idx = BandedIndex()
    insert_seconds = 0.0
    for start in range(0, n, 10_000):
        signatures = rng.integers(
            0, 2**32, size=(min(10_000, n - start), fp_mod.NUM_PERM), dtype=np.uint64
        ).astype(np.uint32)
        t = time.perf_counter()
        for offset in range(len(signatures)):
            idx.insert_many([start + offset], idx.keys_for(signatures[offset : offset + 1]))
        insert_seconds += time.perf_counter() - t
    gc.collect()
    memory = rss_bytes() - base
    queries = rng.integers(0, 2**32, size=(2000, fp_mod.NUM_PERM), dtype=np.uint64).astype(
        np.uint32
    )
    t = time.perf_counter()
    found = sum(
        len(idx.query_many(idx.keys_for(queries[i : i + 1]))[0]) for i in range(len(queries))
    )
    query_seconds = time.perf_counter() - t
    keys = idx.keys_for(queries)
    t = time.perf_counter()
    for start in range(0, len(keys), 200):
        idx.query_many(keys[start : start + 200])
    batched_seconds = time.perf_counter() - t
    print(
        f"banded index at {n:,} items: insert {insert_seconds / n * 1e6:.1f} µs/item, "
        f"query {query_seconds / len(queries) * 1e6:.1f} µs one at a time, "
        f"{batched_seconds / len(queries) * 1e6:.1f} µs/item in batches of 200 "
        f"({found / len(queries):.2f} spurious candidates/query); "
        f"{idx.nbytes() / n:.0f} B/item (arrays), RSS {memory / n:.0f} B/item"
    )


def scale_engine(n: int, rng: np.random.Generator) -> None:
    """A decision with ``n`` items in the engine's window."""
    gc.collect()
    engine = DedupEngine()
    t = time.perf_counter()
    engine.load(
        (
            Candidate(
                i,
                i % 50,
                0,
                NOW - timedelta(seconds=n - i),
                False,
                None,
                tiny_fingerprint(rng),
                NOW,
            )
            for i in range(n)
        ),
        [],
    )
    engine.settle(range(n))
    print(f"engine loaded with {n:,} items in {time.perf_counter() - t:.0f} s")
    # A first decision runs the hourly eviction scan of the window (amortised over an hour
    # of decisions in a daemon): left out of the steady-state figure.
    engine.decide([Candidate(n + 10_000, 1, 0, NOW, False, None, tiny_fingerprint(rng), NOW)], NOW)
    decided = 0
    t = time.perf_counter()
    for round_ in range(10):
        batch_items = [
            Candidate(n + round_ * 200 + j, 1, 0, NOW, False, None, tiny_fingerprint(rng), NOW)
            for j in range(200)
        ]
        engine.decide(batch_items, NOW)
        decided += len(batch_items)
    seconds = time.perf_counter() - t
    print(
        f"decision at {n:,} items in the window: {seconds / decided * 1e6:.0f} µs/item "
        f"(batches of 200 new items: index search, verification, insert, clustering)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("stages")
    p.add_argument("--items", type=int, default=400)
    p.add_argument("--corpus", type=Path)
    p = sub.add_parser("index")
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--only", choices=sorted(INDEX_MODES), help=argparse.SUPPRESS)
    p = sub.add_parser("scale")
    p.add_argument("--items", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    {"stages": stages, "index": index, "scale": scale}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
