"""Give freed heap memory back to the operating system between batches.

glibc keeps memory a program frees for its next allocations; after a stored feed or a
decided chunk — megabytes of texts, parsed documents and statement parameters gone at
once — that leaves the resident set tens of megabytes above what the process holds
(measured on a cold 10,000-item poll: 193 → 167 MB peak).  ``malloc_trim(0)`` returns
the free pages; it takes well under a millisecond here.  Elsewhere (musl, macOS) it is
a no-op.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable


def _find_trim() -> Callable[[int], int] | None:
    try:
        # The process's own symbols, libc's among them: ``ctypes.util.find_library``
        # would run ``ldconfig`` in a child process to find the same library.
        libc = ctypes.CDLL(None)
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_trim = _find_trim()


def release_free_memory() -> None:
    """Return the heap's free pages to the system (glibc); nothing elsewhere."""
    if _trim is not None:
        _trim(0)
