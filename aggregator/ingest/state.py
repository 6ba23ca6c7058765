"""The in-memory state one decider works with, and how it is loaded from the database.

The database is the truth; the boilerplate model and the dedup engine are caches of it,
valid while this process holds the decider's lease (only the lease holder writes
decisions, boilerplate evidence and cluster ids), rebuilt when it takes the lease and
whenever a decision failed halfway (:meth:`DecisionState.invalidate`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

from aggregator.clean.boilerplate import NETWORK_LEARN_AT, BoilerplateModel
from aggregator.config import DedupConfig
from aggregator.dedup.engine import Candidate, DedupEngine
from aggregator.dedup.rules import DedupParams
from aggregator.fingerprint import signature as fp_mod
from aggregator.ingest.memory import release_free_memory
from aggregator.storage import Storage
from aggregator.types import IndexedItem

log = logging.getLogger("aggregator.ingest")


def load_boilerplate(storage: Storage) -> BoilerplateModel:
    """The boilerplate learned so far, from its stored evidence."""
    model = BoilerplateModel()
    model.load(storage.block_counts(samples_from=NETWORK_LEARN_AT))
    return model


def dedup_params(dedup: DedupConfig) -> DedupParams:
    return DedupParams(
        threshold=dedup.threshold,
        containment=dedup.containment,
        window=timedelta(seconds=dedup.window),
    )


def candidate(item: IndexedItem, fingerprint: fp_mod.Fingerprint | None) -> Candidate:
    """What the engine decides with, for one stored item.  An item of a feed kept whole
    (``dedup: false``) comes without fingerprint and link: nothing can match it."""
    if not item.dedup:
        fingerprint = None
    return Candidate(
        item_id=item.item_id,
        feed_id=item.feed_id,
        priority=item.priority,
        sort_time=item.sort_time,
        is_summary=item.is_summary,
        canonical_link=item.canonical_link if item.dedup else None,
        fingerprint=fingerprint,
        first_seen=item.first_seen,
        cluster_id=item.cluster_id,
    )


def stored_candidate(item: IndexedItem) -> Candidate:
    """:func:`candidate` with the item's stored fingerprint."""
    return candidate(
        item, fp_mod.from_bytes(item.fingerprint, item.content_hash) if item.fingerprint else None
    )


class DecisionState:
    """The boilerplate model and the dedup engine of one decider, and the corrections
    already replayed into the engine."""

    def __init__(self, storage: Storage, params: DedupParams) -> None:
        self.storage = storage
        self.params = params
        self.boilerplate = BoilerplateModel()
        self.engine = self._new_engine()
        self.corrections_seen = 0
        self.ready = False
        """False until :meth:`load`, and again after a decision failed halfway or the
        lease was given up."""
        self.lease = storage.decider_lease()

    @property
    def fence(self) -> str | None:
        """The token every decision is written under (see
        :mod:`aggregator.storage.decisions`)."""
        return self.lease.token

    def lead(self) -> list[int] | None:
        """Hold the lease and the state that goes with it.  None: another process decides.
        Otherwise the items to decide at once because their fingerprints are missing or of
        another scheme (empty unless the state was just loaded)."""
        if self.ready and self.lease.held:
            return []
        self.ready = False
        if not self.lease.try_acquire():
            return None
        return self.load(datetime.now(UTC))

    def release(self) -> None:
        """Give the lease up: another process may decide, so this state goes stale."""
        self.lease.release()
        self.ready = False

    def _new_engine(self) -> DedupEngine:
        return DedupEngine(self.params, fingerprint_source=self.stored_fingerprints)

    def invalidate(self) -> None:
        """The engine may now hold a decision the database does not (a read or a write
        failed halfway): the next use loads everything again from the database."""
        self.ready = False

    def load(self, now: datetime) -> list[int]:
        """Rebuild from the database; return the items stored without a decision (or with
        a fingerprint of another scheme), which the caller decides."""
        self.engine = self._new_engine()
        self.corrections_seen = 0  # replayed into the new engine
        self.boilerplate = load_boilerplate(self.storage)
        relearn = self.storage.relearn_keys()
        # Blocks learned whose carriers a crash left undecided: decided again first.  No
        # list at all (a database from before it was kept): every learned block, once.
        self.boilerplate.mark_fresh(
            relearn if relearn is not None else self.boilerplate.learned_keys()
        )
        schemes = self.storage.fingerprint_schemes()
        rescheme = any(s not in (None, fp_mod.SCHEME) for s in schemes)
        if rescheme:
            # Made with other shingling/permutations: comparing them would be meaningless.
            log.info(
                "event=refingerprint reason=scheme-changed schemes=%s",
                sorted(str(s) for s in schemes),
            )
        self.engine.next_cluster_id = self.storage.max_cluster_id() + 1
        stale: list[int] = []
        # A page at a time: the stored fingerprints of a large window never all at once.
        for page in self.storage.indexed_item_pages(since=now - self.params.window):
            unready = {
                i.item_id for i in page if rescheme or i.fingerprint is None or i.cluster_id is None
            }
            stale.extend(i.item_id for i in page if i.item_id in unready)
            self.engine.load(
                (stored_candidate(i) for i in page if i.item_id not in unready),
                (a for i in page if (a := i.assignment()) is not None),
            )
        # The pages' rows and fingerprints are gone: without this, a restart on 10,000
        # items kept the main process at 138 MB instead of 116 while it polled.
        release_free_memory()
        self.ready = True
        return stale

    def stored_fingerprints(self, item_ids: Collection[int]) -> dict[int, fp_mod.Fingerprint]:
        """What the engine verifies older items with: their samples stay in the database."""
        return {
            item_id: fp_mod.from_bytes(blob, None)
            for item_id, blob in self.storage.fingerprint_blobs(item_ids, fp_mod.SCHEME).items()
        }

    def ensure_loaded(self, item_ids: Sequence[int]) -> None:
        """Load items older than the window (and their cluster mates) that a correction
        names, as stored."""
        known = set(self.engine.item_ids())
        missing = [i for i in item_ids if i not in known]
        if not missing:
            return
        infos = self.storage.indexed_items_by_id(missing)
        mates = {
            m
            for info in infos
            if info.cluster_id is not None
            for m in self.storage.cluster_member_ids(info.cluster_id)
        } - known
        infos = self.storage.indexed_items_by_id(sorted(mates | set(missing)))
        self.engine.load(
            [stored_candidate(i) for i in infos],
            [a for i in infos if (a := i.assignment()) is not None],
        )
