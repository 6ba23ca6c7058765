"""What every part of the web face reads besides clusters: feeds, the boilerplate model,
the site's own address.  Request handlers call these; storage stays the only source."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from starlette.requests import Request

from aggregator.clean.boilerplate import BoilerplateModel
from aggregator.clean.titles import TitleAffixes, TitleRow, learn_affixes
from aggregator.ingest.state import load_boilerplate
from aggregator.publish.redact import public_feed
from aggregator.storage import Storage
from aggregator.types import FeedView

BOILERPLATE_TTL = 60.0
"""Seconds a loaded boilerplate model is reused: it changes only when a poll learns a
block, and loading it reads the whole evidence table."""


@dataclass
class BoilerplateCache:
    """The learned-boilerplate model, reloaded from storage at most once a minute."""

    _model: BoilerplateModel | None = None
    _loaded_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, storage: Storage) -> BoilerplateModel:
        with self._lock:
            if self._model is None or time.monotonic() - self._loaded_at > BOILERPLATE_TTL:
                self._model, self._loaded_at = load_boilerplate(storage), time.monotonic()
            return self._model


TITLES_PER_FEED = 300
"""Each feed's newest titles its affixes are learned from: enough for a label on every
title and for a suffix only copies carry (one title in twenty)."""
TITLES_TTL = 600.0
"""Seconds learned title affixes are reused: a feed's labels change rarely, and learning
reads every feed's recent titles (about two seconds per 100,000 titles)."""


@dataclass
class TitleAffixCache:
    """Every feed's learned title affixes, learned again at most every ten minutes (they
    change only as new titles arrive)."""

    _affixes: TitleAffixes | None = None
    _loaded_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, storage: Storage) -> TitleAffixes:
        with self._lock:
            if self._affixes is None or time.monotonic() - self._loaded_at > TITLES_TTL:
                rows = [TitleRow(*row) for row in storage.recent_titles(TITLES_PER_FEED)]
                names = {f.id: [n for n in (f.name, f.title) if n] for f in storage.list_feeds()}
                self._affixes, self._loaded_at = learn_affixes(rows, names), time.monotonic()
            return self._affixes


def storage_of(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def public_feeds(storage: Storage) -> list[FeedView]:
    """Every feed as the web face shows it: addresses without credentials."""
    return [public_feed(f) for f in storage.list_feeds()]


def feeds_by_id(storage: Storage) -> dict[int, FeedView]:
    """Every feed by id, as the web face shows it (see :func:`public_feeds`)."""
    return {f.id: f for f in public_feeds(storage)}


def base_url(request: Request) -> str:
    """The site's address as the client reached it, without a trailing slash."""
    return str(request.base_url).rstrip("/")


def is_boilerplate(model: BoilerplateModel, block: str) -> bool:
    """Whether a displayed text block is one the dedup decision leaves out."""
    return bool(model.filter(block).removed)
