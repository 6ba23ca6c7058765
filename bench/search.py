"""Search: how fast ``Storage.search_stories`` answers at N items, on SQLite and PostgreSQL.

    .venv/bin/python bench/search.py [--items 100000] [--feeds 100] [--repeat 7]
        [--write-items 5000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432]
        [--no-pg] [--seed 1]

A fresh database of each kind gets the schema ``Storage.upgrade()`` builds (search index
and its triggers included), then ``--items`` items over ``--feeds`` feeds, inserted with
the driver in batches (the triggers queue their ids), then indexed by the catch-up the
daemon and every search run (``Storage.update_search_index``), timed apart: article text of 6–30
sentences drawn from a pool made by :mod:`bench.words` (so common words are common and
rare ones rare), each item also naming a person from a large pool (a word in about five
items); about 20 % of the items are copies of an earlier item (the same text, some cut to
a summary) and join its cluster, the rest are stories of their own.

The queries are words picked by how many items hold them (read from the SQLite index),
from a name in a handful of items to a word in nearly all, then word pairs and triples, a
word no item holds, and the medium and common words again wrapped in quotes and operators
(they are words to search, so it finds what the pair finds).  Each query is answered by
``search_stories`` (20 stories with snippets), after one warm-up, ``--repeat`` times; the
median is printed beside the baseline, a ``LIKE '%word%'`` scan of titles and texts for
the same words that stops at the first 20 stories (no ranking), and their ratio.

Last, the write cost: ``--write-items`` items inserted the same way into a database with
the index (then caught up) and into one without it (the index dropped), per item, and the
ratio.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/search.py`: the repository root, not bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from aggregator.storage import Storage
from aggregator.storage.fulltext import drop_index
from bench.words import Words

NOW = datetime(2026, 12, 1, tzinfo=UTC)
ITEM_COLUMNS = (
    *("id", "feed_id", "entry_id", "guid", "link", "canonical_link", "title", "published"),
    *("sort_time", "first_seen", "content_html", "text", "is_summary", "revision"),
)
LIMIT = 20


@dataclass(frozen=True)
class Corpus:
    items: list[dict[str, Any]]
    clusters: list[dict[str, Any]]
    memberships: list[dict[str, Any]]


def make_corpus(items: int, feeds: int, seed: int, first_id: int = 1) -> Corpus:
    rng = random.Random(seed)
    words = Words(rng)
    pool = [words.sentence() for _ in range(min(40_000, max(2_000, items // 3)))]
    names = [words.phrase(1).capitalize() + "son" for _ in range(max(20, items // 5))]
    rows: list[dict[str, Any]] = []
    clusters: dict[int, dict[str, Any]] = {}
    memberships: list[dict[str, Any]] = []
    for n in range(items):
        item_id = first_id + n
        published = NOW - timedelta(seconds=rng.uniform(0, 30 * 86400))
        origin = rows[rng.randrange(len(rows))] if rows and rng.random() < 0.2 else None
        if origin is None:
            body = " ".join(rng.choices(pool, k=rng.randint(6, 30)))
            text = f"{rng.choice(names)} {body}"
            title = words.sentence(4, 10).rstrip(".?!")
            cluster_id = item_id
            clusters[cluster_id] = {"id": cluster_id, "canonical_item_id": item_id, "size": 0}
        else:
            summary = rng.random() < 0.1
            text = " ".join(origin["text"].split()[:45]) if summary else origin["text"]
            title = origin["title"]
            cluster_id = origin["cluster_id"]
        clusters[cluster_id]["size"] += 1
        feed_id = 1 + rng.randrange(feeds)
        rows.append(
            {
                "id": item_id,
                "feed_id": feed_id,
                "entry_id": f"urn:bench:{item_id}",
                "guid": f"urn:bench:{item_id}",
                "link": f"https://feed{feed_id}.example/{item_id}",
                "canonical_link": f"https://feed{feed_id}.example/{item_id}",
                "title": title,
                "published": published,
                "sort_time": published,
                "first_seen": published,
                "content_html": "",
                "text": text,
                "is_summary": False,
                "revision": "",
                "cluster_id": cluster_id,
            }
        )
        memberships.append(
            {"item_id": item_id, "cluster_id": cluster_id, "method": "single", "score": 1.0}
        )
    return Corpus(rows, list(clusters.values()), memberships)


def naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _item_tuple(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(naive(v) if isinstance(v, datetime) else v for v in map(row.get, ITEM_COLUMNS))


def _cluster_tuple(c: dict[str, Any]) -> tuple[Any, ...]:
    return (c["id"], c["canonical_item_id"], c["size"], 1, naive(NOW), naive(NOW))


def _member_values(m: dict[str, Any]) -> dict[str, Any]:
    """A membership's columns; ``story_id`` and ``canonical`` where the schema has them
    (a cluster's id here is its first item's, which is its canonical item)."""
    return {
        "item_id": m["item_id"],
        "cluster_id": m["cluster_id"],
        "method": m["method"],
        "score": m["score"],
        "decided_at": naive(NOW),
        "story_id": m["cluster_id"],
        "canonical": m["item_id"] == m["cluster_id"],
    }


def member_columns(names: set[str]) -> list[str]:
    return [c for c in _member_values(SAMPLE_MEMBER) if c in names]


SAMPLE_MEMBER = {"item_id": 1, "cluster_id": 1, "method": "single", "score": 1.0}


FEED_COLUMNS = "id, url, fetch_url, priority, dedup, disabled, error_count, created, origin"
CLUSTER_COLUMNS = "id, canonical_item_id, size, feed_count, created, updated"


def _feed_tuples(feeds: int) -> list[tuple[Any, ...]]:
    return [
        (f, f"https://feed{f}.example/rss", f"https://feed{f}.example/rss", 0, True, False, 0,
         naive(NOW), "config")
        for f in range(1, feeds + 1)
    ]  # fmt: skip


def fill_sqlite(path: Path, corpus: Corpus, feeds: int | None) -> float:
    """Insert the corpus (and the feeds, unless None); the seconds the items took."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    marks = ", ".join("?" * len(ITEM_COLUMNS))
    with db:
        if feeds is not None:
            db.executemany(
                f"INSERT INTO feeds ({FEED_COLUMNS}) VALUES ({', '.join('?' * 9)})",
                _feed_tuples(feeds),
            )
    started = time.perf_counter()
    for chunk in _chunks(corpus.items, 2000):
        with db:
            db.executemany(
                f"INSERT INTO items ({', '.join(ITEM_COLUMNS)}) VALUES ({marks})",
                [_item_tuple(r) for r in chunk],
            )
    took = time.perf_counter() - started
    with db:
        db.executemany(
            f"INSERT INTO clusters ({CLUSTER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            [_cluster_tuple(c) for c in corpus.clusters],
        )
        names = {row[1] for row in db.execute("PRAGMA table_info(memberships)")}
        columns = member_columns(names)
        db.executemany(
            f"INSERT INTO memberships ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            [tuple(map(_member_values(m).get, columns)) for m in corpus.memberships],
        )
    db.execute("ANALYZE")
    db.close()
    return took


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def fill_pg(url: str, corpus: Corpus, feeds: int | None) -> float:
    with psycopg.connect(libpq(url)) as db:
        if feeds is not None:
            with db.cursor().copy(f"COPY feeds ({FEED_COLUMNS}) FROM STDIN") as copy:
                for row in _feed_tuples(feeds):
                    copy.write_row(row)
            db.commit()
        started = time.perf_counter()
        for chunk in _chunks(corpus.items, 2000):
            with db.cursor().copy(f"COPY items ({', '.join(ITEM_COLUMNS)}) FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row(_item_tuple(row))
            db.commit()
        took = time.perf_counter() - started
        with db.cursor().copy(f"COPY clusters ({CLUSTER_COLUMNS}) FROM STDIN") as copy:
            for c in corpus.clusters:
                copy.write_row(_cluster_tuple(c))
        names = {
            str(row[0])
            for row in db.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'memberships'"
            )
        }
        columns = member_columns(names)
        with db.cursor().copy(f"COPY memberships ({', '.join(columns)}) FROM STDIN") as copy:
            for m in corpus.memberships:
                copy.write_row(tuple(map(_member_values(m).get, columns)))
        db.execute("SELECT setval('items_id_seq', (SELECT max(id) FROM items))")
        db.commit()
    with psycopg.connect(libpq(url), autocommit=True) as db:
        db.execute("VACUUM ANALYZE")
    return took


def catch_up(url: str) -> float:
    """Index what the inserts queued, as the daemon's catch-up does; the seconds it took."""
    storage = Storage(url)
    started = time.perf_counter()
    storage.update_search_index()
    took = time.perf_counter() - started
    storage.close()
    return took


def _chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@contextmanager
def pg_database(server: str) -> Iterator[str]:
    name = f"bench_search_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq(server) + "/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(libpq(server) + "/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pick_queries(sqlite_path: Path, items: int) -> list[tuple[str, str]]:
    """``(label, query)``: words by how many items hold them, read from the FTS5 index."""
    db = sqlite3.connect(sqlite_path)
    db.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, item_search, 'row')")
    counts: dict[str, int] = {
        str(term): int(doc)
        for term, doc in db.execute("SELECT term, doc FROM temp.vocab")
        if term.isalpha() and len(term) > 3
    }
    db.close()

    def near(share: float, skip: Sequence[str] = ()) -> str:
        goal = max(1.0, share * items)
        return min((t for t in counts if t not in skip), key=lambda t: (abs(counts[t] - goal), t))

    rare, few = near(5 / max(items, 1)), near(0.001)
    medium, common, frequent = near(0.01), near(0.1), near(0.5)
    other = near(0.1, skip=(common,))
    return [
        (f"rare ({counts[rare]} items)", rare),
        (f"uncommon ({counts[few]})", few),
        (f"medium ({counts[medium]})", medium),
        (f"common ({counts[common]})", common),
        (f"frequent ({counts[frequent]})", frequent),
        ("'the' (nearly all)", "the"),
        ("medium + common", f"{medium} {common}"),
        ("common + common", f"{common} {other}"),
        ("three words", f"{frequent} {common} {medium}"),
        ("no match", "qqqzzzxx"),
        ("syntax (= medium+common)", f'"{common}" ({medium}* -^:'),
    ]


def timed(call: Callable[[], object], repeat: int) -> tuple[float, object]:
    result = call()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def like_baseline(storage: Storage, query: str) -> Callable[[], object]:
    """The stories whose titles or texts contain every word, by scanning: what search
    costs without an index (no ranking, no snippets; it stops at the first 20 stories)."""
    from aggregator.storage.fulltext import query_terms

    terms = query_terms(query)
    operator = "ILIKE" if storage.engine.dialect.name == "postgresql" else "LIKE"
    where = " AND ".join(
        f"(coalesce(i.title, '') {operator} ? OR i.text {operator} ?)" for _ in terms
    )
    params: list[str] = []
    for term in terms:
        params += [f"%{term}%", f"%{term}%"]
    sql = (
        "SELECT DISTINCT m.cluster_id FROM items AS i JOIN memberships AS m ON m.item_id = i.id"
        f" WHERE {where or 'false'} LIMIT {LIMIT}"
    )
    if storage.engine.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")

    def run() -> object:
        connection = storage.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            return cursor.fetchall()
        finally:
            connection.close()

    return run


def measure(label: str, url: str, queries: list[tuple[str, str]], repeat: int) -> None:
    storage = Storage(url)
    storage.upgrade()
    print(f"\n{label}: median of {repeat} after a warm-up; {LIMIT} stories a query")
    print(f"  {'query':<24} {'search ms':>10} {'stories':>8} {'LIKE scan ms':>13} {'ratio':>7}")
    for name, query in queries:
        took, hits = timed(lambda q=query: storage.search_stories(q, limit=LIMIT), repeat)  # type: ignore[misc]
        base, _ = timed(like_baseline(storage, query), max(1, repeat // 3))
        count = len(hits) if isinstance(hits, list) else 0
        print(
            f"  {name:<24} {took * 1000:>10.1f} {count:>8} {base * 1000:>13.1f}"
            f" {base / took if took else float('nan'):>7.1f}"
        )
    storage.close()


def write_cost(args: argparse.Namespace, folder: Path) -> None:
    """µs per inserted item with the index and without it, on each database."""
    corpus = make_corpus(args.write_items, args.feeds, args.seed + 1)
    print(
        f"\nwrite cost: {args.write_items:,} items inserted in batches of 2,000 "
        "(with the index: and indexed by a catch-up)"
    )
    runs: list[tuple[str, Callable[[bool], float]]] = []

    def sqlite_run(indexed: bool) -> float:
        path = folder / f"write-{indexed}-{uuid.uuid4().hex[:6]}.db"
        storage = Storage(f"sqlite:///{path}")
        storage.upgrade()
        if not indexed:
            with storage.engine.begin() as connection:
                drop_index(connection)
        storage.close()
        took = fill_sqlite(path, corpus, args.feeds)
        return took + (catch_up(f"sqlite:///{path}") if indexed else 0.0)

    runs.append(("SQLite", sqlite_run))
    if not args.no_pg:

        def pg_run(indexed: bool) -> float:
            with pg_database(args.pg) as url:
                storage = Storage(url)
                storage.upgrade()
                if not indexed:
                    with storage.engine.begin() as connection:
                        drop_index(connection)
                storage.close()
                took = fill_pg(url, corpus, args.feeds)
                return took + (catch_up(url) if indexed else 0.0)

        runs.append(("PostgreSQL", pg_run))
    for name, run in runs:
        with_index, without = run(True), run(False)
        per = 1e6 / args.write_items
        print(
            f"  {name:<11} with index {with_index * per:8.0f} µs/item, without "
            f"{without * per:8.0f} µs/item, ratio {with_index / without:.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--write-items", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    corpus = make_corpus(args.items, args.feeds, args.seed)
    chars = sum(len(r["text"]) for r in corpus.items) / max(1, len(corpus.items))
    print(
        f"generated: {len(corpus.items):,} items ({len(corpus.clusters):,} stories) over "
        f"{args.feeds} feeds, {chars:,.0f} characters of text an item, in "
        f"{time.perf_counter() - started:.1f} s"
    )
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        folder = Path(tmp)
        path = folder / "search.db"
        storage = Storage(f"sqlite:///{path}")
        storage.upgrade()
        storage.close()
        took = fill_sqlite(path, corpus, args.feeds)
        indexing = catch_up(f"sqlite:///{path}")
        print(
            f"SQLite filled in {took:.1f} s ({took / len(corpus.items) * 1e6:.0f} µs/item), "
            f"indexed in {indexing:.1f} s ({indexing / len(corpus.items) * 1e6:.0f} µs/item); "
            f"file {path.stat().st_size / 1e6:,.0f} MB"
        )
        queries = pick_queries(path, len(corpus.items))
        measure(f"SQLite at {len(corpus.items):,} items", f"sqlite:///{path}", queries, args.repeat)
        if not args.no_pg:
            with pg_database(args.pg) as url:
                storage = Storage(url)
                storage.upgrade()
                storage.close()
                took = fill_pg(url, corpus, args.feeds)
                indexing = catch_up(url)
                with psycopg.connect(libpq(url), autocommit=True) as db:
                    db.execute("ANALYZE item_search")  # its statistics choose the walk
                with psycopg.connect(libpq(url)) as db:
                    row = db.execute(
                        "SELECT pg_total_relation_size('item_search'),"
                        " pg_total_relation_size('items')"
                    ).fetchone()
                assert row is not None
                print(
                    f"\nPostgreSQL filled in {took:.1f} s "
                    f"({took / len(corpus.items) * 1e6:.0f} µs/item), indexed in "
                    f"{indexing:.1f} s ({indexing / len(corpus.items) * 1e6:.0f} µs/item); "
                    f"search index {row[0] / 1e6:,.0f} MB beside items {row[1] / 1e6:,.0f} MB"
                )
                measure(f"PostgreSQL at {len(corpus.items):,} items", url, queries, args.repeat)
        write_cost(args, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
