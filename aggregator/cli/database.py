"""``aggregator db prune`` and ``db vacuum``: retention and space (``db upgrade`` is in
:mod:`.verbs`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from aggregator.config import Settings, retention_days
from aggregator.errors import ConfigError
from aggregator.types import PruneReport

Verb = Callable[[Any, str, Callable[[argparse.Namespace, Settings], int], str], Any]


def register(db: Any, verb: Verb) -> None:
    """Add ``prune`` and ``vacuum`` to the ``db`` noun."""
    prune = verb(
        db,
        "prune",
        db_prune,
        "drop stories whose every item is older than retention.max_age days "
        "(or --max-age), and say what went",
    )
    prune.add_argument("--dry-run", action="store_true", help="count only, drop nothing")
    prune.add_argument(
        "--max-age",
        metavar="DAYS",
        default=None,
        help="days to keep (default: retention.max_age; at least the dedup window)",
    )
    verb(
        db,
        "vacuum",
        db_vacuum,
        "give the space of dropped rows back (SQLite: VACUUM; PostgreSQL: VACUUM ANALYZE)",
    )


def db_prune(args: argparse.Namespace, settings: Settings) -> int:
    from aggregator.ingest.pipeline import Pipeline
    from aggregator.storage import Storage

    if args.max_age is not None:
        max_age = retention_days(_number(args.max_age), "--max-age", settings.dedup.window)
    elif settings.retention.max_age is not None:
        max_age = settings.retention.max_age
    else:
        raise ConfigError(
            "--max-age", "retention.max_age is not set in the config: give --max-age DAYS"
        )
    # The command line decides only while no daemon does, and gives the lease back.
    pipeline = Pipeline(Storage(settings.database), settings, keep_lease=False)
    try:
        pipeline.storage.upgrade()
        report = pipeline.prune(max_age, dry_run=args.dry_run)
    finally:
        pipeline.close()
    print(describe(report, max_age, args.dry_run))
    return 0


def describe(report: PruneReport, max_age: float, dry_run: bool) -> str:
    verb = "would drop" if dry_run else "dropped"
    return (
        f"{verb} {report.items} items in {report.clusters} stories older than {max_age:g} "
        f"days, with {report.reader_marks} read or starred marks and "
        f"{report.corrections} corrections; {'would forget' if dry_run else 'forgot'} "
        f"{report.evidence} rows of old boilerplate evidence (blocks a feed counted once)"
    )


def db_vacuum(args: argparse.Namespace, settings: Settings) -> int:
    from aggregator.storage import Storage

    storage = Storage(settings.database)
    try:
        storage.upgrade()
        before = storage.size_on_disk()
        storage.vacuum()
        after = storage.size_on_disk()
    finally:
        storage.close()
    print(f"vacuumed: {_mb(before)} before, {_mb(after)} after")
    return 0


def _mb(size: int | None) -> str:
    return "size unknown" if size is None else f"{size / 1e6:.1f} MB"


def _number(text: str) -> float | str:
    """``--max-age`` as the config would hold it: a number of days, or a duration."""
    try:
        return float(text)
    except ValueError:
        return text
