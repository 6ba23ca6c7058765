"""Our pipeline's time per stage on one poll, from its stage-timing hook.

    python -m bench.stage_profile URLS_FILE [PSTATS]

A process of its own (so that its imports and memory are the poll's alone): the real
``Pipeline`` over the URLs of URLS_FILE into a fresh SQLite database, started, then one
``poll``, with a :class:`StageTotals` as its ``timer`` (``Pipeline(…, timer=…)``: the
pipeline reports each stage's wall time in the writer thread as the stage ends).  Prints
one JSON line, which :func:`print_profile` turns into the table ``bench/ingest.py`` shows.
With PSTATS the start and the poll run under cProfile instead (no stage table: the
profiler slows Python code) and the stats are written there.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aggregator.ingest.pipeline import Pipeline
    from aggregator.ingest.stages import Stage, StageTimer

WHAT = {
    "fetch wait": "writer idle, waiting for a fetch to complete",
    "read": "parse + clean a document (here, or waiting for the parser child)",
    "store": "Storage: a document's items and feed status",
    "boilerplate": "count the blocks of new items as boilerplate evidence",
    "fingerprint": "tokens, shingles, MinHash (this thread's share, or waiting for the child's)",
    "decide": "DedupEngine: LSH, verification, clustering",
    "store decisions": "Storage: fingerprints, memberships, clusters",
    "other": "outside every stage: glue, lookups, metrics, logging",
}
"""What each stage covers (``aggregator/ingest/stages.py``); a new stage prints too."""


class StageTotals:
    """A ``StageTimer``: sums the wall time the pipeline reports for each stage, counts
    them, and notes the highest resident set of this process as a stage ended."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.rss_mb: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    def __call__(self, stage: Stage, seconds: float) -> None:
        rss = current_rss_mb()
        with self._lock:
            self.seconds[stage.value] += seconds
            self.calls[stage.value] += 1
            self.rss_mb[stage.value] = max(self.rss_mb[stage.value], rss)


def current_rss_mb() -> float:
    """The resident set of this process now (0 without ``/proc``)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def new_pipeline(urls: list[str], work: str, timer: StageTimer | None = None) -> Pipeline:
    """A pipeline of its own database in ``work``, the URLs its feeds."""
    from aggregator.config import settings_from_mapping
    from aggregator.ingest.pipeline import Pipeline
    from aggregator.ingest.stages import no_timer
    from aggregator.storage import Storage

    database = f"sqlite:///{work}/agg.db"
    settings = settings_from_mapping(
        {"database": database, "feeds": [{"url": u} for u in urls]}, None, env={}
    )
    return Pipeline(Storage(database), settings, timer=timer or no_timer)


def profile(urls: list[str]) -> dict[str, Any]:
    """One start and one poll of the URLs, timed by stage."""
    started = time.perf_counter()
    import aggregator.ingest.pipeline  # noqa: F401  (the imports a poll needs, timed)
    import aggregator.storage  # noqa: F401
    from aggregator.ingest.stages import Stage

    imports = time.perf_counter() - started
    rss = {"imports": current_rss_mb()}
    totals = StageTotals()
    with tempfile.TemporaryDirectory(prefix="ingest-profile-") as work:
        pipeline = new_pipeline(urls, work, totals)
        started = time.perf_counter()
        pipeline.start()
        start, rss["start"] = time.perf_counter() - started, current_rss_mb()
        writer_cpu, process_cpu = time.thread_time(), time.process_time()
        started = time.perf_counter()
        outcomes = pipeline.poll()
        poll = time.perf_counter() - started
        writer_cpu, process_cpu = (
            time.thread_time() - writer_cpu,
            time.process_time() - process_cpu,
        )
        rss["poll"] = current_rss_mb()
        items = pipeline.storage.counts()["items"]
        pipeline.storage.close()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    stages = {
        s.value: [totals.seconds[s.value], totals.calls[s.value], totals.rss_mb[s.value]]
        for s in Stage
    }
    return {
        "imports": imports,
        "start": start,
        "poll": poll,
        "items": items,
        "failed": sum(o.status == "error" for o in outcomes),
        "stages": stages,
        "writer_cpu": writer_cpu,
        "process_cpu": process_cpu,
        "children_cpu": children.ru_utime + children.ru_stime,
        "fetches": len(outcomes),
        "fetch_seconds": sum(o.seconds for o in outcomes),
        "rss": rss,
        "peak_mb": peak_rss_mb(),
    }


def profile_with_cprofile(urls: list[str], stats: str) -> dict[str, Any]:
    """The same start and poll under cProfile, its stats written to ``stats``."""
    import cProfile

    with tempfile.TemporaryDirectory(prefix="ingest-profile-") as work:
        pipeline = new_pipeline(urls, work)
        profiler = cProfile.Profile()
        profiler.enable()
        pipeline.start()
        pipeline.poll()
        profiler.disable()
        profiler.dump_stats(stats)
        items = pipeline.storage.counts()["items"]
        pipeline.storage.close()
    return {"items": items}


def print_profile(result: dict[str, Any]) -> None:
    total = result["poll"]
    print(
        f"\nper-stage profile of our pipeline (one poll in-process, {result['items']} items, "
        f"{result['failed']} feeds failed): the writer thread's wall time in each stage, as "
        "the pipeline reports it to its stage-timing hook (Pipeline(timer=…)); RSS MB is "
        "the highest resident set of the process as the stage ended"
    )
    print(
        f"  {'stage':<16} {'wall s':>7} {'share':>6} {'calls':>6} {'ms/call':>8} "
        f"{'RSS MB':>7}  what"
    )
    rows = dict(result["stages"])
    # The stages do not nest: what the writer spent outside all of them is the rest.
    rows["other"] = [total - sum(r[0] for r in rows.values()), 0, None]
    for stage, (wall, calls, rss) in rows.items():
        per_call = f"{wall / calls * 1000:8.1f}" if calls else f"{'':>8}"
        rss_mb = f"{rss:7.0f}" if rss is not None else f"{'':>7}"
        print(
            f"  {stage:<16} {wall:7.2f} {wall / total:6.1%} {calls or '':>6} {per_call} "
            f"{rss_mb}  {WHAT.get(stage, '')}"
        )
    print(
        f"  {'poll':<16} {total:7.2f} {1:6.1%} {'':>6} {'':>8} {result['peak_mb']:7.0f}"
        "  the whole poll; RSS: the peak of the profiling process"
    )
    print(
        f"  before the poll: imports {result['imports']:.2f}s, start {result['start']:.2f}s "
        "(schema, feeds, in-memory state); RSS after imports "
        f"{result['rss']['imports']:.0f} MB, after start {result['rss']['start']:.0f} MB"
    )
    print(
        f"  CPU during the poll: writer thread {result['writer_cpu']:.2f}s, other threads "
        f"{result['process_cpu'] - result['writer_cpu']:.2f}s (fetches; fingerprinting "
        f"beside the writer), child processes {result['children_cpu']:.2f}s (the parser "
        "child)"
    )
    print(
        f"  fetches: {result['fetches']}, {result['fetch_seconds']:.2f}s wall summed over "
        "them (on their own threads: they overlap the writer)"
    )


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    urls = Path(args[0]).read_text().split()
    result = profile_with_cprofile(urls, args[1]) if len(args) > 1 else profile(urls)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
