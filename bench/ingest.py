#!/usr/bin/env python3
"""Ingest throughput against lemon24/reader, on one corpus served over loopback HTTP.

    .venv/bin/python bench/ingest.py [--feeds 65] [--items 155] [--rounds 3]
                                     [--text-from DIR] [--corpus DIR] [--cache DIR]
                                     [--skip-reader] [--skip-profile] [--cprofile] [--seed 1]
                                     [--fingerprint-worker] [--ours-here]

1. The generated syndicated corpus (:mod:`bench.corpus`) of ``--feeds`` feeds × ``--items``
   items, about ``--syndicated`` (20 %) of them copies of another feed's story; the text
   from a generated word list, or, with ``--text-from DIR`` (e.g.
   ``../shared/data/syndication-dev``), sentences of that corpus's articles recombined.
   It is written once per parameters to ``bench/.corpus/`` (``--cache DIR``: elsewhere;
   ``--corpus DIR`` serves an existing folder of feed files as it is).
2. A separate process serves it on 127.0.0.1 (:func:`bench.loopback.serve_folder`).
3. Each round runs, one after another, each as a whole process into a fresh database
   (:mod:`bench.contenders`): ours (``aggregator --config CFG poll --once``), reader
   (``update_feeds(workers=2)``) and ``feedparser.parse`` alone over the same files.
   Wall time and peak RSS of each (:mod:`bench.measure`), the peak of the process tree's
   summed PSS, and the items each one ingested, checked against the corpus.
4. Medians, the ratio ours/reader, and a per-stage profile of our pipeline on the same
   corpus (:mod:`bench.stage_profile`: the real ``Pipeline.poll`` with its stage-timing
   hook; ``--cprofile`` adds where the time goes by library and function).

Exit status 1 when a run did not ingest the expected number of items.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/ingest.py`: Python put bench/ first on sys.path;
    # the repository root instead makes `bench` importable as the package it is.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bench import FEED_SUFFIXES, ROOT
from bench.contenders import (
    OURS_VENV,
    READER_VENV,
    clean_env,
    ensure_ours,
    ensure_reader,
    run_feedparser,
    run_ours,
    run_reader,
    version_of,
)
from bench.corpus import CORPUS_CACHE, CorpusSpec, expected_items, feed_files, make_corpus
from bench.cprofile_report import print_cprofile
from bench.loopback import serve_folder
from bench.measure import TIME, Run
from bench.stage_profile import print_profile

Contender = tuple[str, Callable[[Path], Run]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=65)
    parser.add_argument("--items", type=int, default=155, help="items per feed")
    parser.add_argument("--rounds", type=int, default=3, help="0: the profile alone")
    parser.add_argument(
        "--syndicated",
        type=float,
        default=0.2,
        help="share of each feed's items that copy another feed's story",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--text-from",
        type=Path,
        metavar="DIR",
        help="draw article text from the feeds in DIR (e.g. syndication-dev)",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        metavar="DIR",
        help="serve the feed files of DIR as they are instead of generating",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        default=CORPUS_CACHE,
        help="where generated corpora are kept (default bench/.corpus)",
    )
    parser.add_argument("--skip-reader", action="store_true", help="do not run reader")
    parser.add_argument("--skip-profile", action="store_true", help="no per-stage profile")
    parser.add_argument(
        "--fingerprint-worker",
        action="store_true",
        help="also run ours with polling.fingerprint_worker: true",
    )
    parser.add_argument(
        "--cprofile",
        action="store_true",
        help="also print own time by library and function (cProfile)",
    )
    parser.add_argument("--reader-venv", type=Path, default=READER_VENV)
    parser.add_argument(
        "--ours-venv",
        type=Path,
        default=OURS_VENV,
        help="venv for ours without test extras (made on first use)",
    )
    parser.add_argument(
        "--ours-here",
        dest="ours_venv",
        action="store_const",
        const=None,
        help="run ours from this python's venv instead",
    )
    parser.add_argument(
        "--reader-installed-feedparser",
        action="store_true",
        help="reader parses with the installed feedparser release instead of "
        "the copy it vendors (READER_NO_VENDORED_FEEDPARSER=1)",
    )
    return parser.parse_args(argv)


def prepare_corpus(args: argparse.Namespace) -> tuple[Path, int | None]:
    """The folder to serve and the items it holds (None: unknown, for ``--corpus``)."""
    if args.corpus:
        folder = args.corpus.resolve()
    else:
        spec = CorpusSpec(
            args.feeds,
            args.items,
            args.seed,
            args.syndicated,
            args.text_from.resolve() if args.text_from else None,
        )
        folder = make_corpus(spec, args.cache.resolve())
    return folder, expected_items(folder)


def our_command(args: argparse.Namespace) -> str:
    if args.ours_venv is not None:
        return ensure_ours(args.ours_venv)
    aggregator = shutil.which("aggregator", path=str(Path(sys.executable).parent)) or shutil.which(
        "aggregator"
    )
    if aggregator is None:
        raise SystemExit("no `aggregator` command: run with the project's venv python")
    return aggregator


def print_header(
    folder: Path,
    files: list[Path],
    expected: int | None,
    aggregator: str,
    reader_python: Path | None,
) -> None:
    size = sum(f.stat().st_size for f in files)
    print(f"corpus: {folder} ({len(files)} feeds, {expected or '?'} items, {size / 1e6:.1f} MB)")
    newest = max((ROOT / "aggregator").rglob("*.py"), key=lambda f: f.stat().st_mtime)
    print(
        f"code: aggregator/ last changed {datetime.fromtimestamp(newest.stat().st_mtime):%F %T} "
        f"({newest.relative_to(ROOT)})"
    )
    print(
        f"python {sys.version.split()[0]}, feedparser {version_of(sys.executable, 'feedparser')}"
        + (f", reader {version_of(reader_python, 'reader')}" if reader_python else "")
        + f", peak RSS by {'/usr/bin/time' if TIME.exists() else 'getrusage'}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"ours: {aggregator}")


def contenders(
    args: argparse.Namespace,
    aggregator: str,
    reader_python: Path | None,
    urls: list[str],
    files: list[Path],
) -> list[Contender]:
    """The runs of one round, in order."""
    kinds: list[Contender] = [("ours", lambda w: run_ours(aggregator, urls, w))]
    if args.fingerprint_worker:
        kinds.append(
            (
                "ours+fpw",
                lambda w: run_ours(aggregator, urls, w, "polling:\n  fingerprint_worker: true\n"),
            )
        )
    if reader_python:
        kinds.append(
            (
                "reader",
                lambda w: run_reader(reader_python, urls, w, args.reader_installed_feedparser),
            )
        )
    kinds.append(("feedparser", lambda w: run_feedparser(files, w)))
    return kinds


@dataclass
class Rounds:
    expected: int | None
    runs: dict[str, list[Run]] = field(default_factory=lambda: defaultdict(list))
    problems: list[str] = field(default_factory=list)

    def run(self, rounds: int, kinds: list[Contender]) -> None:
        for round_no in range(1, rounds + 1):
            for kind, go in kinds:
                with tempfile.TemporaryDirectory(prefix=f"ingest-{kind}-") as work:
                    run = go(Path(work))
                self.runs[kind].append(run)
                self.expected = self.expected if self.expected is not None else run.items
                ok = run.items == self.expected
                if not ok:
                    self.problems.append(
                        f"round {round_no} {kind}: {run.items} items, expected {self.expected}"
                    )
                print(
                    f"round {round_no}  {kind:<10} {run.wall:7.2f}s  {run.rss_mb:6.0f} MB  "
                    f"PSS {run.pss_mb:4.0f} MB  "
                    f"{run.items:>6} items{'' if ok else ' (MISMATCH)'}"
                    + (f"  [{run.note}]" if run.note else ""),
                    flush=True,
                )

    def print_medians(self, rounds: int) -> None:
        if rounds > 0:
            print(f"\nmedians over {rounds} rounds ({self.expected} items expected):")
        for kind, kind_runs in self.runs.items():
            print(
                f"  {kind:<10} {statistics.median(r.wall for r in kind_runs):7.2f}s wall  "
                f"{max(r.rss_mb for r in kind_runs):6.0f} MB peak RSS (max)  "
                f"{statistics.median(r.rss_mb for r in kind_runs):6.0f} MB (median)  "
                f"{max(r.pss_mb for r in kind_runs):6.0f} MB peak PSS (max)  "
                f"items {sorted({r.items for r in kind_runs})}"
            )
        if "reader" not in self.runs:
            return
        theirs = statistics.median(r.wall for r in self.runs["reader"])
        for kind in [k for k in self.runs if k.startswith("ours")]:
            wall = statistics.median(r.wall for r in self.runs[kind])
            print(
                f"  {kind}/reader: {wall / theirs:.2f} wall (target ≤ 1.0, stretch "
                f"≤ 0.5); {kind}: peak RSS {max(r.rss_mb for r in self.runs[kind]):.0f} MB, "
                f"peak PSS {max(r.pss_mb for r in self.runs[kind]):.0f} MB (target ≤ 150)"
            )
        print(
            "  memory of a run of several processes: 'peak RSS' adds up, at each 50 ms "
            "sample, the peaks so far of the processes alive (an upper bound: shared "
            "pages counted in each); 'peak PSS' is the tree's summed PSS at one "
            "sample"
        )


def stage_profile(urls: list[str], cprofile: bool) -> None:
    """Our pipeline's stages on the same feeds (a process of its own, each time)."""
    command = [sys.executable, "-m", "bench.stage_profile"]
    with tempfile.TemporaryDirectory(prefix="ingest-stages-") as work:
        url_file = Path(work) / "urls.txt"
        url_file.write_text("\n".join(urls))
        out = subprocess.run(
            [*command, str(url_file)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
            env=clean_env(),
        ).stdout
        print_profile(json.loads(out.splitlines()[-1]))
        if cprofile:
            stats = str(Path(work) / "poll.pstats")
            subprocess.run(
                [*command, str(url_file), stats],
                cwd=ROOT,
                check=True,
                capture_output=True,
                env=clean_env(),
            )
            print_cprofile(stats)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    folder, expected = prepare_corpus(args)
    files = feed_files(folder)
    if not files:
        raise SystemExit(f"no feed files ({', '.join(FEED_SUFFIXES)}) in {folder}")
    aggregator = our_command(args)
    reader_python = None if args.skip_reader else ensure_reader(args.reader_venv)
    print_header(folder, files, expected, aggregator, reader_python)
    rounds = Rounds(expected)
    with serve_folder(folder) as base:
        urls = [f"{base}/{f.name}" for f in files]
        rounds.run(args.rounds, contenders(args, aggregator, reader_python, urls, files))
        rounds.print_medians(args.rounds)
        if not args.skip_profile:
            stage_profile(urls, args.cprofile)
    for problem in rounds.problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if rounds.problems else 0


if __name__ == "__main__":
    sys.exit(main())
