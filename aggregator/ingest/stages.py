"""The stages of a poll, as a caller can time them (benchmarks, profiles).

A :class:`StageTimer` is handed to the pipeline; each stage's wall time in the writer
thread is reported to it as it ends.  The default reports nowhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum


class Stage(StrEnum):
    FETCH_WAIT = "fetch wait"
    """The writer waits for the next fetch to finish (nothing else to do)."""
    READ = "read"
    """Parse and clean one document (in the writer, or waiting for the child process)."""
    STORE = "store"
    """Write one document's items, evidence and feed status."""
    BOILERPLATE = "boilerplate"
    """Count the blocks of new items as boilerplate evidence."""
    FINGERPRINT = "fingerprint"
    """Fingerprint the items to decide (the writer's share, or waiting for the child's)."""
    DECIDE = "decide"
    """Place fingerprinted items in clusters (the dedup engine)."""
    STORE_DECISIONS = "store decisions"
    """Write fingerprints, memberships and clusters."""


StageTimer = Callable[[Stage, float], None]


def no_timer(stage: Stage, seconds: float) -> None:
    """The default :data:`StageTimer`: times go nowhere."""


@contextmanager
def timed(timer: StageTimer, stage: Stage) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timer(stage, time.perf_counter() - started)
