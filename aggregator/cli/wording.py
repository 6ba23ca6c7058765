"""How the command line words numbers: one home for plurals."""

from __future__ import annotations


def counted(n: int, word: str, plural: str | None = None) -> str:
    """``1 item``, ``2 items``, ``0 items``: a number with its noun in the right form."""
    return f"{n} {word if n == 1 else plural or word + 's'}"
