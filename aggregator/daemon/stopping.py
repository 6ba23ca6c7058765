"""Stop signals: SIGTERM and SIGINT ask a process to stop, and its main thread notices.

Python runs a signal handler in the main thread only, between two bytecodes.  The kernel
may hand a process's signal to any of its threads; when it picks another one, a main
thread blocked in an untimed wait is never woken, and the handler never runs.  A daemon
with fetch, scheduler and web threads once ignored SIGTERM that way until it was killed.
So a main thread that waits for a stop waits in short slices.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

STOP_CHECK = 0.5
"""Seconds between two looks for a stop signal while the main thread waits."""

Handler = Callable[[int, FrameType | None], None]


def on_stop_signals(handler: Handler) -> None:
    """Call ``handler`` on SIGTERM and SIGINT (from the main thread, as Python requires)."""
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def wait_until_set(event: threading.Event) -> None:
    """Block the main thread until ``event`` is set, running signal handlers meanwhile."""
    while not event.wait(STOP_CHECK):
        pass
