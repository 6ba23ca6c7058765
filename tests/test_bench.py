"""The benchmarks' shared parts do what the benchmarks rely on, and each benchmark runs.

The generated syndicated corpus (:mod:`bench.corpus`) served over loopback
(:mod:`bench.loopback`) ingests with the item count of its manifest and every copy in its
story's cluster; the generated feeds of ``bench/poll.py`` and ``bench/soak.py`` change
from one cycle to the next.  Then every benchmark runs at a tiny size, as a process of its
own (as ``python bench/NAME.py`` or ``python -m bench.NAME``), exits 0 and prints its
headline figures.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from aggregator.config import settings_from_mapping
from aggregator.ingest.pipeline import Pipeline
from aggregator.ingest.stages import Stage
from aggregator.storage import Storage
from bench import ROOT
from bench.corpus import CorpusSpec, expected_items, feed_files, make_corpus
from bench.cprofile_report import library_of
from bench.hard_corpus import KINDS
from bench.loopback import serve_folder, serve_generated
from bench.quality import score
from bench.stage_profile import StageTotals
from bench.wild_corpus import KINDS as WILD

TINY = CorpusSpec(feeds=4, items=10)
"""4 feeds (one Atom) of 10 items, 2 of them copies of another feed's story."""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_corpus(TINY, cache=tmp_path_factory.mktemp("corpus"))


def test_the_corpus_is_written_once_with_its_labels(corpus: Path) -> None:
    manifest = json.loads((corpus / "manifest.json").read_text())
    assert (manifest["feeds"], manifest["items"], manifest["copies"]) == (4, 40, 8)
    assert expected_items(corpus) == 40
    assert [f.name for f in feed_files(corpus)] == [
        "feed-000.xml",
        "feed-001.xml",
        "feed-002.atom",
        "feed-003.xml",
    ]
    truth = json.loads((corpus / "truth.json").read_text())["items"]
    assert len(truth) == 40
    copies = [t for t in truth if t["kind"] == "copy"]
    assert len(copies) == 8
    origins = {t["story"]: t for t in truth if t["kind"] == "origin"}
    for copy in copies:  # a copy is another feed's story, labelled with that feed
        origin = origins[copy["story"]]
        assert origin["feed"] != copy["feed"]
        assert copy["source"] == origin["source"] == origin["feed"].split(".")[0]
    written = {p.name: p.stat().st_mtime_ns for p in corpus.iterdir()}
    assert make_corpus(TINY, cache=corpus.parent) == corpus  # cached: not written again
    assert {p.name: p.stat().st_mtime_ns for p in corpus.iterdir()} == written


def test_served_corpus_ingests_whole_and_its_copies_cluster(corpus: Path, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'bench.db'}"
    totals = StageTotals()
    with serve_folder(corpus, thread=True) as base:
        urls = [f"{base}/{f.name}" for f in feed_files(corpus)]
        settings = settings_from_mapping(
            {"database": database, "feeds": [{"url": u} for u in urls]}, None, env={}
        )
        pipeline = Pipeline(Storage(database), settings, timer=totals)
        pipeline.start()
        outcomes = pipeline.poll()
    assert [o.status for o in outcomes] == ["ok"] * 4
    items = [
        {"feed_url": i.feed_url, "guid": i.guid, "cluster_id": i.cluster_id}
        for i in pipeline.storage.list_items()
    ]
    pipeline.storage.close()
    assert len(items) == expected_items(corpus) == 40
    result = score(json.loads((corpus / "truth.json").read_text()), items)
    assert (result["precision"], result["recall"]) == (1.0, 1.0)
    assert result["tp"] == result["positive_pairs"] >= 8  # every copy with its story
    assert len({i["cluster_id"] for i in items}) == 40 - 8
    # The profile of bench/ingest.py sums what the pipeline reports: every stage of a
    # cold poll, each a positive time.
    assert set(totals.calls) == {s.value for s in Stage}
    assert all(seconds > 0 for seconds in totals.seconds.values())


def test_folder_server_in_its_own_process(corpus: Path) -> None:
    with serve_folder(corpus) as base, httpx.Client() as client:
        rss = client.get(f"{base}/feed-000.xml")
        atom = client.get(f"{base}/feed-002.atom")
        assert client.get(f"{base}/nothing.xml").status_code == 404
    assert (rss.status_code, rss.http_version) == (200, "HTTP/1.1")
    assert rss.headers["content-type"] == "application/rss+xml"
    assert rss.content == (corpus / "feed-000.xml").read_bytes()
    assert atom.headers["content-type"] == "application/atom+xml"


def test_generated_feeds_answer_304_until_they_change() -> None:
    with (
        serve_generated(feeds=3, hosts=2, items=2, changed_share=1.0) as served,
        httpx.Client() as client,
    ):
        assert served.urls[1].startswith("http://127.0.0.2:")
        first = client.get(served.urls[1])
        etag = first.headers["etag"]
        again = client.get(served.urls[1], headers={"If-None-Match": etag})
        served.cycle = 2  # every feed (changed_share 1.0) gains an item
        changed = client.get(served.urls[1], headers={"If-None-Match": etag})
    assert (first.status_code, again.status_code, changed.status_code) == (200, 304, 200)
    assert first.text.count("<item>") == changed.text.count("<item>") == 2
    assert changed.headers["etag"] != etag


def test_library_of_a_profile_entry() -> None:
    assert (
        library_of((str(ROOT / "aggregator/ingest/poll.py"), 1, "poll")) == "aggregator.ingest.poll"
    )
    assert library_of(("~", 0, "<method 'execute' of 'sqlite3.Cursor' objects>")) == "sqlite3 (C)"


# -- every benchmark at a tiny size ---------------------------------------------------------

FIGURE = r"[\d.,]+"
MAYBE = r"(?:[\d.,]+|nan)"
"""A figure of a phase a tiny run may not reach (the stream's steady state): printed nan."""
HARD_KINDS = tuple(KINDS)
"""Every case of bench/hard_corpus.py is in its corpus, even a small one."""
WILD_KINDS = tuple(WILD)
"""And of bench/wild_corpus.py, the corpus written apart from it."""

STREAM = [
    "bench/stream.py",
    *("--feeds", "20", "--slow", "1", "--slow-seconds", "2", "--interval", "4", "--hosts", "2"),
]
"""The stream bench at a tiny size (each run adds its length and, for the roles, more)."""

SMOKE: dict[str, tuple[list[str], list[str]]] = {
    "quality": (
        ["bench/quality.py", "seeds"],
        [
            r"positive_pairs: \d+",
            r"recall_by_kind: \{",
            rf"precision={FIGURE} "
            rf"recall={FIGURE} f1={FIGURE}$",
        ],
    ),
    "hard_corpus": (
        ["bench/hard_corpus.py", "--out", "{tmp}/hard", "--seed", "2", "--items", "300"],
        [
            r"hard corpus: 30 feeds, \d+ items, \d+ stories \(\d+ with copies\)",
            *(rf"^  {kind} +[1-9]\d* " for kind in HARD_KINDS),
        ],
    ),
    "wild_corpus": (
        ["bench/wild_corpus.py", "--out", "{tmp}/wild", "--seed", "2", "--items", "300"],
        [r"^\d+ items, \d+ stories$", *(rf"^  {kind} +[1-9]\d* " for kind in WILD_KINDS)],
    ),
    "hard_quality": (
        ["bench/hard_quality.py", "--generate", "2", "--items", "300", "--examples", "1"],
        [
            r"corpus: .*: \d+ items, \d+ stories; polled in",
            r"by kind \(pairs: those with an item of the kind\)",
            *(rf"^  {kind} +\d+ +\d+ +{FIGURE} +\d+ +\d+ +{FIGURE}" for kind in HARD_KINDS),
            r"false merges by kind pair",
            r"wrong edges .* by kind pair",
            r"by trait",
            rf"precision={FIGURE} recall={FIGURE} f1={FIGURE}$",
        ],
    ),
    "dedup_cost stages": (
        ["-m", "bench.dedup_cost", "stages", "--items", "100"],
        [
            r"100 items, median \d+ words",
            rf"minhash +{FIGURE} µs/item \(median\)",
            rf"fingerprint\+decision = {FIGURE} ms/item",
            r"clusters: \d+ for 100 items",
        ],
    ),
    "dedup_cost index": (
        ["bench/dedup_cost.py", "index", "--items", "1000"],
        [
            rf"samples in memory: {FIGURE} B/item live \(tracemalloc\), {FIGURE} B/item RSS",
            rf"rebuild from stored bytes {FIGURE} s",
            rf"datasketch MinHashLSH.*: {FIGURE} B/item",
            rf"ours \(memory\) / baseline, RSS: {FIGURE}",
            rf"ours \(stored\) / baseline, RSS: {FIGURE}",
        ],
    ),
    "dedup_cost scale": (
        ["-m", "bench.dedup_cost", "scale", "--items", "5000"],
        [
            rf"banded index at 5,000 items: insert {FIGURE} µs/item, query {FIGURE} µs one at "
            rf"a time, {FIGURE} µs/item in batches of 200",
            rf"decision at 5,000 items in the window: {FIGURE} µs/item",
        ],
    ),
    "shingle_margin": (
        ["-m", "bench.shingle_margin", "seeds"],
        [
            *(
                rf"n={n}: copies min J={FIGURE} .* different stories max J={FIGURE}"
                for n in (2, 3, 4, 5)
            )
        ],
    ),
    "parse_agreement": (
        ["bench/parse_agreement.py", "seeds", "tests/golden"],
        [
            r"\d+ documents: fast XML parser took [1-9]\d*, declined \d+",
            rf"time on the documents it took: fast {FIGURE}s, feedparser {FIGURE}s",
        ],
    ),
    "poll": (
        ["-m", "bench.poll", "--feeds", "12", "--hosts", "2", "--compare", "3", "--latency", "5"],
        [
            r"cycle 1: cold, every feed 200 .* ok=12 304=0 errors=0  new=36",
            r"cycle 2: steady, 10% changed, rest 304 .* errors=0",
            rf"threads x8 \(fetch_concurrently\) +{FIGURE} s +{FIGURE} fetches/s",
            rf"asyncio x8 \(httpx.AsyncClient\) +{FIGURE} s",
            r"full pipeline, steady cycle on 3 feeds, 5 ms latency per request",
            r"concurrency 8 .* errors=0",
        ],
    ),
    "soak": (
        [
            "bench/soak.py",
            "--duration",
            # The daemon's start (imports, schema) took over 3 s on a busy machine: no
            # cycle was sampled.
            "8",
            "--feeds",
            "10",
            "--hosts",
            "2",
            "--interval",
            "1s",
            "--change-every",
            "1",
            "--sample-every",
            "1",
        ],
        [
            rf"t= +\d+s  RSS +{FIGURE} MB  cycles +[1-9]",
            rf"RSS at start .* MB, half-way .* MB, end .* {FIGURE} MB; peak sample",
            r"SIGTERM: exit status 0 after",
        ],
    ),
    "stream": (
        [*STREAM, "--seconds", "8"],
        [
            r"items stored: [1-9]\d*, decided: [1-9]\d*, still waiting: \d+",
            rf"decision latency \(fetch end → cluster\), steady state: \d+ items: p50 {MAYBE} s, "
            rf"p95 {MAYBE} s",
            rf"cold start \(every feed polled, the backlog empty (after|not within) {MAYBE} s\): "
            r"\d+ items: p50",
            rf"punctuality: {MAYBE}% of \d+ fetches",
        ],
    ),
    "stream-roles": (
        [*STREAM, "--seconds", "10", "--workers", "1", "--threads", "2"],
        [
            r"1 worker\(s\) × 2 threads and a decider, PostgreSQL",
            r"items stored: [1-9]\d*, decided: [1-9]\d*, still waiting: \d+",
            rf"punctuality: {MAYBE}% of [1-9]\d* fetches",
            r"CPU seconds: \d+ \([\d.]+ per 1,000 fetches\): decider \d+, worker 1 \d+",
        ],
    ),
    "brokers": (
        ["bench/brokers.py", "--tasks", "50", "--redelivery-wait", "5"],
        [r"rabbitmq: 50 tasks sent at [\d,]+/s, done at [\d,]+/s .* runs again after"],
    ),
    "faults": (
        ["bench/faults.py", "--repeat", "1", "--feeds", "5"],
        [
            rf"repetition 1: worker killed mid-feed: lost 0, doubled 0; decider killed: .* "
            rf"after {FIGURE} s",
            r"1 repetitions: lost 0, doubled 0",
        ],
    ),
    "scale": (
        ["bench/scale.py", "--feeds", "20", "--workers", "1", "--threads", "2", "--latency", "0"],
        [
            rf"1 worker\(s\) × 2 threads: 20 feeds \(60 items\) in {FIGURE} s",
            rf"decider alone: 60 waiting items decided in {FIGURE} s",
        ],
    ),
    "size": (
        [
            "bench/size.py",
            "--items",
            "300",
            "--small",
            "100",
            "--feeds",
            "20",
            "--batch",
            "40",
            "--rounds",
            "1",
        ],
        [
            rf"generated: 300 items \(60 copies of 240 stories\) over 20 feeds in {FIGURE} s",
            r"blocks learned beyond the feeds' own: 0$",
            rf"start-up: Pipeline.lead\(\) .* {FIGURE} s at 300 items = {FIGURE} µs/item",
            rf"memory: the decider's RSS after start-up {FIGURE} MB at 300 items",
            rf"first decision after start-up: {FIGURE} s at 300 items",
            rf"decision: {FIGURE} µs/item = {FIGURE} items/s at 300 items; .* ratio {FIGURE}",
            r"new items that joined a stored story: 8 at 300 items, 8 at 100",
            rf"database: {FIGURE} MB at 300 items = {FIGURE} B/item",
            rf"^  decider rate: .* one decider does {FIGURE} at 300 items",
            rf"^  database growth: {FIGURE} B/item",
        ],
    ),
    "copies": (
        ["bench/copies.py", "--items", "40"],
        [
            r"one document of N copies of one story, polled once \(SQLite\)",
            rf"^ +10 +{FIGURE} +{FIGURE} +-$",
            rf"^ +40 +{FIGURE} +{FIGURE} +{FIGURE}$",
        ],
    ),
    "search": (
        [
            "bench/search.py",
            "--items",
            "300",
            "--feeds",
            "10",
            "--repeat",
            "1",
            "--write-items",
            "100",
        ],
        [
            rf"generated: 300 items \([\d,]+ stories\) over 10 feeds, {FIGURE} characters",
            *(rf"^{engine} at 300 items: median of 1" for engine in ("SQLite", "PostgreSQL")),
            rf"^  rare \(\d+ items\) +{FIGURE} +\d+ +{FIGURE} +{FIGURE}$",
            rf"^  syntax \(= medium\+common\) +{FIGURE} +\d+ +{FIGURE} +{FIGURE}$",
            rf"^  SQLite +with index +{FIGURE} µs/item, without +{FIGURE} µs/item, ratio {FIGURE}",
            rf"^  PostgreSQL +with index +{FIGURE} µs/item, without +{FIGURE} µs/item, ratio",
        ],
    ),
    "reader_api": (
        ["bench/reader_api.py", "--items", "3000", "--page", "100", "--repeat", "1"],
        [
            r"database: sqlite, 3000 items in \d+ stories, 50 feeds",
            *(
                rf"^{call} +{FIGURE} ms +floor +{FIGURE} ms +x *{FIGURE}$"
                for call in (
                    r"stream/contents n=100 \(unread\)",
                    r"edit-tag 100 items a=read",
                    r"edit-tag 100 items r=read",
                )
            ),
            rf"^stream/items/ids n=1000 +{FIGURE} ms",
            rf"^unread-count \(\d+ unread\) +{FIGURE} ms",
        ],
    ),
    "ingest": (
        [
            "bench/ingest.py",
            "--feeds",
            "4",
            "--items",
            "5",
            "--rounds",
            "1",
            "--skip-reader",
            "--ours-here",
            "--cprofile",
            "--cache",
            "{tmp}",
        ],
        [
            rf"round 1  ours +{FIGURE}s +{FIGURE} MB  PSS +{FIGURE} MB +20 items  \[",
            r"round 1  feedparser .* 20 items",
            r"medians over 1 rounds \(20 items expected\)",
            r"per-stage profile of our pipeline \(one poll in-process, 20 items, 0 feeds failed\)",
            *(rf"^  {stage.value} +{FIGURE} +{FIGURE}%" for stage in Stage),
            rf"^  poll +{FIGURE} +100.0%",
            r"before the poll: imports",
            r"CPU during the poll",
            r"cProfile of the writer thread",
            r"top functions by own time",
        ],
    ),
}


@pytest.mark.processes
@pytest.mark.parametrize("name", SMOKE)
def test_each_benchmark_runs_at_a_tiny_size(name: str, tmp_path: Path) -> None:
    argv, figures = SMOKE[name]
    # Untraced under --cov: a tracer multiplies a benchmark's cost and its figures would
    # measure coverage, not the code; what a benchmark reaches is tested elsewhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGGREGATOR_", "COVERAGE_"))}
    done = subprocess.run(
        [sys.executable, *(a.format(tmp=tmp_path) for a in argv)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    for figure in figures:
        assert re.search(figure, done.stdout, re.M), f"no /{figure}/ in:\n{done.stdout}"
    assert "MISMATCH" not in done.stdout
