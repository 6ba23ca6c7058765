"""The cluster decision: the engine that applies :mod:`aggregator.dedup.rules` to a
stream of items.  No I/O of its own; its state is rebuilt from stored fingerprints, and it
can be given where to read them back when it verifies a pair (a decision that fails in
that read may leave the engine half-changed: the pipeline then rebuilds it).

Items are indexed by their exact keys (link, text) and by two banded LSH indexes (whole
text, lead) that propose pairs; a proposed pair becomes an edge only when the rules
verify it.  Clusters are the connected components of the edges; the components do not
depend on the order items arrive in: the same items give the same clusters.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from aggregator.dedup.lshindex import BandedIndex, band_keys, shared_band_counts
from aggregator.dedup.rules import (
    MIN_CONTAINED_SHINGLES,
    DedupParams,
    Match,
    Method,
    Titles,
    canonical_rank,
    compare,
    evidence_rank,
    identifying_link,
    is_copy,
    is_lead_edge,
    lead_parent_rank,
    lead_score,
    text_key,
)
from aggregator.fingerprint.signature import LEAD_VERIFY, OPENING, Fingerprint
from aggregator.types import Assignment, ClusterChanges, ClusterState, CorrectionRecord

MAX_CANDIDATES = 64
"""An item proposed with more partners than this (near-identical template items: daily
notices, "market closed") is compared with the 64 that share the most bands with it (the
lowest ids among equals); a short text with 64 more found by its first words, and one
long enough to be led with 64 teasers that open as it does, so a feed of thousands of
look-alikes costs n·192 comparisons at most, not n²; they still chain into one cluster."""
QUERY_SHINGLES = 6
"""A short text looks for texts that open with its first six shingles."""
OPENING_MATCHES = 2
"""Of those, at least this many must be in the other text's opening."""
SHORT_TEXT = LEAD_VERIFY
"""Distinct shingles up to which a text looks itself up in the opening index: a teaser,
or a summary or partial copy as long as a lead (a longer one shares enough of the lead
MinHash to be proposed by it).  The lead MinHash alone misses a lead whose words a
byline or a caption pushes back in one copy, and a partial copy that dropped its second
paragraph behind a one-sentence first: the two share their first dozen shingles only."""
EVICT_EVERY = 3600.0
"""Seconds of window time between two eviction scans."""


@dataclass(frozen=True)
class Candidate:
    """An item to decide (new, edited, or reloaded at start)."""

    item_id: int
    feed_id: int
    priority: int
    sort_time: datetime
    is_summary: bool
    canonical_link: str | None
    fingerprint: Fingerprint | None
    first_seen: datetime | None = None
    """When it arrived; an item stays comparable for a window after arrival too, so a
    backlog of old items polled from several feeds still meets its copies."""
    cluster_id: int | None = None
    """The stored cluster, when reloading."""


@dataclass(slots=True)
class _Node:
    item_id: int
    feed_id: int
    priority: int
    sort_ts: float
    """Publication time (UNIX seconds): canonical choice and tie-breaks."""
    is_summary: bool
    url_key: int | None
    text_key: int | None
    """hash() of the content key (exact text after boilerplate removal)."""
    size: int
    """Distinct shingles of the text; -1 when it has no fingerprint (exact keys only)."""
    fp: Fingerprint | None
    """Kept without its MinHash signatures (the index holds their band keys), and only
    when the engine has no :attr:`DedupEngine.fingerprint_source`."""
    last_ts: float
    """The later of publication and arrival: the node leaves the window after it."""


@dataclass(slots=True)
class _Parent:
    item_id: int
    score: float
    same_title: bool
    opens_with: bool


FingerprintSource = Callable[[Collection[int]], Mapping[int, Fingerprint]]
"""Reads the stored fingerprints of indexed items back (those it finds)."""


@dataclass
class DedupEngine:
    params: DedupParams = field(default_factory=DedupParams)
    next_cluster_id: int = 1
    fingerprint_source: FingerprintSource | None = None
    """Where verification reads the shingle samples of items indexed earlier.  With one,
    the engine keeps per item only its keys and band keys (about half the memory: the
    samples are the largest part, and only the few pairs the index proposes need them);
    without one, the samples stay in memory."""

    def __post_init__(self) -> None:
        self._nodes: dict[int, _Node] = {}
        self._links: dict[int, dict[int, tuple[Method, float]]] = {}
        self._parent: dict[int, _Parent] = {}
        self._children: dict[int, set[int]] = {}
        self._cluster_of: dict[int, int] = {}
        # Lists, not sets: most clusters have one member, and a list of one is a third the size.
        self._members: dict[int, list[int]] = {}
        # hash() of each item's last written assignment: enough to tell what changed.
        self._evidence: dict[int, int] = {}
        self._evicted_at = float("-inf")
        self._isolated: set[int] = set()
        self._manual: dict[int, set[int]] = {}
        self._by_url = _MultiMap()
        """hash(canonical link) → items: in-memory only, so the salted hash() is fine."""
        self._by_hash = _MultiMap()
        """hash(content key) → items with that exact text."""
        self._url_firsts: dict[int, dict[int, int]] = {}
        """hash(canonical link) → {feed: its first item with that link}."""
        self._unlinked_urls: set[int] = set()
        self._unlinked_texts: set[int] = set()
        """Exact-key groups that lost a member since they were last linked."""
        self._lsh = BandedIndex()
        # Leads of a summary and of its full text are nearly identical (J ≈ 1), so fewer
        # bands do: 20 bands of 3 still propose a pair of J = 0.6 with probability 0.99.
        self._lead_lsh = BandedIndex(bands=20)
        # A teaser of ten words has 8 of the 32 shingles the lead's MinHash covers: too few
        # to be proposed reliably (J = 0.25).  Texts long enough to be led are indexed by
        # each of their first OPENING shingles, one band per position; a short text looks
        # for its first QUERY_SHINGLES shingles at any position (a dateline or byline may
        # push the story's opening words back in one copy).
        self._opening = BandedIndex(bands=OPENING, rows=1)
        # And the other way: a text decided after a teaser of it looks its opening up among
        # the teasers' first shingles.
        self._teasers: dict[int, set[int]] = {}
        """A short text's first shingle hash → the short texts that start with it."""
        self._teaser_keys: dict[int, tuple[int, ...]] = {}

    # -- public -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._nodes)

    def item_ids(self) -> list[int]:
        return list(self._nodes)

    def item_ids_of_feeds(self, feed_ids: Collection[int]) -> list[int]:
        return [item_id for item_id, node in self._nodes.items() if node.feed_id in feed_ids]

    def settle(self, item_ids: Iterable[int]) -> ClusterChanges:
        """Recompute the clusters of these items from the current edges."""
        return self._recluster(set(item_ids))

    def apply_correction(self, correction: CorrectionRecord) -> set[int]:
        """Replay a user's correction; return the items whose cluster may change.

        ``split``: the item ignores every automatic edge from now on (it stays alone until a
        later ``merge`` names it).  ``merge``: a manual edge joins the two items' clusters.
        Corrections are replayed in the order they were made, so the last one wins.
        """
        a, b = correction.item_id, correction.other_item_id
        touched = {a} | self._component(a) if a in self._nodes else {a}
        if correction.kind == "split":
            for other in self._manual.pop(a, set()):
                self._manual.get(other, set()).discard(a)
            self._isolated.add(a)
        elif correction.kind == "merge" and b is not None:
            self._manual.setdefault(a, set()).add(b)
            self._manual.setdefault(b, set()).add(a)
            if b in self._nodes:
                touched |= self._component(b)
        return touched

    def cluster_of(self, item_id: int) -> int | None:
        return self._cluster_of.get(item_id)

    def forget(self, item_ids: Iterable[int]) -> None:
        """Drop items deleted from storage with their whole clusters (retention): nothing
        may match them, name them as evidence, or count them as members any more."""
        for item_id in item_ids:
            cluster_id = self._cluster_of.get(item_id)
            if item_id in self._nodes:
                self._forget(item_id)
            else:  # a member known by its assignment only
                self._cluster_of.pop(item_id, None)
                self._evidence.pop(item_id, None)
            if cluster_id is not None:
                _drop_member(self._members, cluster_id, item_id)
                if not self._members.get(cluster_id):
                    self._members.pop(cluster_id, None)

    def load(self, candidates: Iterable[Candidate], assignments: Iterable[Assignment]) -> None:
        """Rebuild from storage: nodes and their stored clusters, then edges between them.

        Edges are recomputed (they are a function of the fingerprints), clusters are taken
        as stored; ``decide`` on the same items would give the same partition.
        """
        loaded = sorted(candidates, key=lambda c: (c.sort_time, c.item_id))
        for assignment in assignments:
            self._evidence[assignment.item_id] = _digest(assignment)
            old = self._cluster_of.get(assignment.item_id)
            if old != assignment.cluster_id:
                if old is not None:
                    _drop_member(self._members, old, assignment.item_id)
                self._cluster_of[assignment.item_id] = assignment.cluster_id
                _add_member(self._members, assignment.cluster_id, assignment.item_id)
            self.next_cluster_id = max(self.next_cluster_id, assignment.cluster_id + 1)
        self._add_batch(loaded)

    def decide(self, candidates: Sequence[Candidate], now: datetime) -> ClusterChanges:
        """Place new or edited items; return every membership and cluster that changed."""
        affected: set[int] = set()
        batch = sorted(candidates, key=lambda c: (c.sort_time, c.item_id))
        for candidate in batch:
            if candidate.item_id in self._nodes:  # edited: decided afresh
                affected |= self._remove(candidate.item_id)
        affected |= self._relink_exact()
        affected |= self._add_batch(batch)
        # Every edge a decision adds, moves or removes touches both its ends, so a member
        # outside ``affected`` keeps its evidence unless its cluster changes.
        changes = self._recluster(affected, edges_changed_only_for=affected)
        self._evict(now - self.params.window)
        return changes

    # -- graph ----------------------------------------------------------------------

    def _node(self, c: Candidate) -> _Node:
        fp = c.fingerprint
        sort_ts = c.sort_time.timestamp()
        key = text_key(fp)
        # Without a source to read samples back from, the node keeps its own copy of the
        # fingerprint, less what the index holds (signatures) or the node (the text key).
        kept = (
            None
            if fp is None or self.fingerprint_source is not None
            else replace(fp, signature=None, lead_signature=None, content_key=None)
        )
        node = _Node(
            c.item_id,
            c.feed_id,
            c.priority,
            sort_ts,
            c.is_summary,
            _url_key(c.canonical_link),
            hash(key) if key is not None else None,
            fp.size if fp is not None else -1,
            kept,
            max(sort_ts, c.first_seen.timestamp() if c.first_seen else sort_ts),
        )
        self._nodes[c.item_id] = node
        return node

    def _add_batch(self, batch: list[Candidate]) -> set[int]:
        """Add nodes and their verified edges; return the nodes whose component may change.

        The whole batch is looked up at once (one search of the index for all its band
        keys, one sort of its own keys for pairs inside it), which is what keeps a decision
        cheap at a million indexed items; the edges are those item-by-item adding finds.
        """
        touched: set[int] = set()
        for c in batch:
            touched |= self._add_exact(self._node(c))
        ids: list[int] = []
        signatures: list[np.ndarray] = []
        lead_signatures: list[np.ndarray] = []
        at_hand: dict[int, Fingerprint] = {}
        for c in batch:
            fp = c.fingerprint
            if fp is not None and fp.signature is not None and fp.lead_signature is not None:
                ids.append(c.item_id)
                signatures.append(fp.signature)
                lead_signatures.append(fp.lead_signature)
                at_hand[c.item_id] = fp
        if not ids:
            return touched
        main = self._lsh.keys_for(np.array(signatures))
        lead = self._lead_lsh.keys_for(np.array(lead_signatures))
        # An item whose exact text an earlier item has is joined to it already, and
        # whatever its text resembles, that item's does too: only the first of each text
        # looks for partners (a document of identical items is then one search, not one
        # per item).  All are indexed, so the group stays findable if its first goes.
        ask = [i for i, item_id in enumerate(ids) if self._first_of_its_text(item_id)]
        asking, main_asked, lead_asked = [ids[i] for i in ask], main[ask], lead[ask]
        # Each pair with the bands its two signatures share (whole text and lead): what
        # ranks an item's partners when it has more than it may verify.
        shared = shared_band_counts(asking, main_asked)
        shared.update(shared_band_counts(asking, lead_asked))
        for item_id, hits, lead_hits in zip(
            asking,
            self._lsh.query_counts_many(main_asked),
            self._lead_lsh.query_counts_many(lead_asked),
            strict=True,
        ):
            hits.update(lead_hits)
            shared.update(
                {(min(item_id, o), max(item_id, o)): n for o, n in hits.items() if o != item_id}
            )
        # A teaser and the texts that open with its first words are ranked and capped by
        # their own lookup: among the LSH's look-alikes (a wire's dateline and stock
        # opener are in hundreds of leads) would crowd them out.
        chosen = set(_capped(set(shared), at_hand, shared))
        chosen |= self._opening_pairs([(i, at_hand[i]) for i in asking])
        verified = [(a, b) for a, b in sorted(chosen) if a in self._nodes and b in self._nodes]
        fingerprints = self._fingerprints({i for pair in verified for i in pair}, at_hand)
        for a, b in verified:
            touched |= self._verify(a, b, fingerprints)
        self._lsh.insert_many(ids, main)
        self._lead_lsh.insert_many(ids, lead)
        opened = [i for i in ids if at_hand[i].opening.size >= OPENING]
        if opened:
            self._opening.insert_many(
                opened, band_keys(np.array([at_hand[i].opening for i in opened]), OPENING, 1)
            )
        for item_id in ids:
            fp = at_hand[item_id]
            if _is_short(fp) and item_id not in self._teaser_keys:
                keys = tuple(dict.fromkeys(fp.opening[:QUERY_SHINGLES].tolist()))
                self._teaser_keys[item_id] = keys
                for value in keys:
                    self._teasers.setdefault(value, set()).add(item_id)
        return touched

    def _opening_pairs(self, batch: list[tuple[int, Fingerprint]]) -> set[tuple[int, int]]:
        """Pairs of a short text (a teaser) and a text that opens with its first words:
        indexed texts, and those of the batch."""
        short = [(item_id, fp.opening[:QUERY_SHINGLES]) for item_id, fp in batch if _is_short(fp)]
        pairs = self._teaser_pairs(batch)
        if not short:
            return pairs
        starts: dict[int, set[int]] = {}
        for item_id, fp in batch:
            if fp.opening.size >= OPENING:
                for value in fp.opening.tolist():
                    starts.setdefault(value, set()).add(item_id)
        rows = np.array([[value] * OPENING for _, first in short for value in first.tolist()])
        found = iter(self._opening.query_many(band_keys(rows, OPENING, 1)))
        for item_id, first in short:
            matched: dict[int, int] = {}
            for value in first.tolist():
                for other in next(found) | starts.get(value, set()):
                    if other != item_id:
                        matched[other] = matched.get(other, 0) + 1
            pairs |= _likely_pairs(item_id, matched)
        return pairs

    def _teaser_pairs(self, batch: list[tuple[int, Fingerprint]]) -> set[tuple[int, int]]:
        """Pairs of a text of the batch long enough to be led and an indexed teaser whose
        first shingles (two or more of them) are in its opening."""
        pairs: set[tuple[int, int]] = set()
        for item_id, fp in batch:
            if fp.opening.size < OPENING:
                continue
            matched: dict[int, int] = {}
            for value in set(fp.opening.tolist()):
                for other in self._teasers.get(value, ()):
                    matched[other] = matched.get(other, 0) + 1
            pairs |= _likely_pairs(item_id, matched)
        return pairs

    def _add_exact(self, node: _Node) -> set[int]:
        """Index a node's exact keys and link it to items that share them.

        Items sharing a key are all one story, so a spanning set of edges gives the same
        clusters as every pair would, at a cost linear in the group (a document of
        thousands of identical items made every pair an edge: quadratic time and memory).
        Same text: each item links to the first item of its group.  Same link: the first
        item of each feed links to every item of the other feeds, and every other item to
        the first item of each other feed (a link shared within one feed is no edge)."""
        touched = {node.item_id}
        if node.url_key is not None:
            self._by_url.add(node.url_key, node.item_id)
            firsts = self._url_firsts.setdefault(node.url_key, {})
            if node.feed_id not in firsts:
                firsts[node.feed_id] = node.item_id
            touched |= self._link_same_url(node, firsts)
        if node.text_key is not None:
            first = self._by_hash.first(node.text_key)
            if first is not None and first != node.item_id:
                touched |= self._link_same_text(node.item_id, first)
            self._by_hash.add(node.text_key, node.item_id)
        return touched

    def _link_same_url(self, node: _Node, firsts: Mapping[int, int]) -> set[int]:
        """Link a node to the items its link joins it with (``firsts``: the first item of
        each feed in its group)."""
        assert node.url_key is not None
        if firsts[node.feed_id] == node.item_id:
            partners = [
                o
                for o in self._by_url.members(node.url_key)
                if self._nodes[o].feed_id != node.feed_id
            ]
        else:
            partners = [o for feed, o in firsts.items() if feed != node.feed_id]
        for other in partners:
            self._link(node.item_id, other, (Method.URL, 1.0))
        return set(partners)

    def _first_of_its_text(self, item_id: int) -> bool:
        key = self._nodes[item_id].text_key
        return key is None or self._by_hash.first(key) == item_id

    def _link_same_text(self, item_id: int, other: int) -> set[int]:
        if other in self._links.get(item_id, {}):  # a stronger edge (same link) holds them
            return set()
        self._link(item_id, other, (Method.CONTENT_HASH, 1.0))
        return {other}

    def _relink_exact(self) -> set[int]:
        """Link again the groups that lost a member (their first may be gone); return who
        changed.  Once per removal pass, not per removed item: evicting a large group one
        item at a time must not rebuild it each time."""
        touched: set[int] = set()
        for key in self._unlinked_urls:
            group = self._by_url.members(key)
            firsts: dict[int, int] = {}
            for item_id in group:
                firsts.setdefault(self._nodes[item_id].feed_id, item_id)
            if firsts:
                self._url_firsts[key] = firsts
            else:
                self._url_firsts.pop(key, None)
            for item_id in group:
                if firsts[self._nodes[item_id].feed_id] == item_id:
                    touched |= {item_id} | self._link_same_url(self._nodes[item_id], firsts)
        for key in self._unlinked_texts:
            first = self._by_hash.first(key)
            for item_id in self._by_hash.members(key):
                if first is not None and item_id != first:
                    touched |= {item_id} | self._link_same_text(item_id, first)
        self._unlinked_urls.clear()
        self._unlinked_texts.clear()
        return touched

    def _fingerprints(
        self, ids: Collection[int], at_hand: Mapping[int, Fingerprint]
    ) -> dict[int, Fingerprint]:
        """The fingerprints of these indexed items: the batch's own, then the kept or
        stored ones (one read of the source for all of them)."""
        found = {i: at_hand[i] for i in ids if i in at_hand}
        missing = [i for i in ids if i not in found and self._nodes[i].size >= 0]
        if not missing:
            return found
        if self.fingerprint_source is None:
            found.update((i, fp) for i in missing if (fp := self._nodes[i].fp) is not None)
        else:
            found.update(self.fingerprint_source(missing))
        return found

    def _verify(self, a: int, b: int, fingerprints: Mapping[int, Fingerprint]) -> set[int]:
        """Compare two indexed nodes and record the edges they earn; return who changed.
        An exact edge (same link or text) already there is not replaced by a score."""
        first, second = fingerprints.get(a), fingerprints.get(b)
        if first is None or second is None:  # no fingerprint, or not stored (any more)
            return set()
        touched: set[int] = set()
        match = compare(first, second, self.params)
        if is_copy(match, self.params) and b not in self._links.get(a, {}):
            self._link(a, b, (Method.MINHASH, match.jaccard))
            touched |= {a, b}
        if self._is_lead(match):
            child, parent = (a, b) if first.size < second.size else (b, a)
            current = self._parent.get(child)
            option = _Parent(
                parent, lead_score(match), match.titles is Titles.SAME, match.opens_with
            )
            if current is None or self._better(option, current):
                touched |= self._set_parent(child, option)
        return touched

    def _is_lead(self, m: Match) -> bool:
        return is_lead_edge(m, self.params)

    def _better(self, a: _Parent, b: _Parent) -> bool:
        na, nb = self._nodes[a.item_id], self._nodes[b.item_id]
        return lead_parent_rank(
            a.score, a.same_title, a.opens_with, na.sort_ts, a.item_id
        ) > lead_parent_rank(b.score, b.same_title, b.opens_with, nb.sort_ts, b.item_id)

    def _set_parent(self, child: int, parent: _Parent) -> set[int]:
        touched = {child, parent.item_id}
        old = self._parent.get(child)
        if old is not None:
            self._children.get(old.item_id, set()).discard(child)
            touched.add(old.item_id)
        self._parent[child] = parent
        self._children.setdefault(parent.item_id, set()).add(child)
        return touched

    def _link(self, a: int, b: int, edge: tuple[Method, float]) -> None:
        self._links.setdefault(a, {})[b] = edge
        self._links.setdefault(b, {})[a] = edge

    def _remove(self, item_id: int) -> set[int]:
        """Take a node out (it was edited); its orphaned children find new parents."""
        node = self._nodes.pop(item_id)
        touched = {item_id}
        # Where an orphaned summary finds its next parent: among the removed item's
        # cluster mates (its other copies), which are the texts it is likely to lead.
        mates = set(self._members.get(self._cluster_of.get(item_id, -1), ())) - {item_id}
        for other in self._links.pop(item_id, {}):
            self._links.get(other, {}).pop(item_id, None)
            touched.add(other)
        old = self._parent.pop(item_id, None)
        if old is not None:
            self._children.get(old.item_id, set()).discard(item_id)
            touched.add(old.item_id)
        orphans = self._children.pop(item_id, set())
        if node.url_key is not None:
            self._by_url.discard(node.url_key, item_id)
            self._unlinked_urls.add(node.url_key)
        if node.text_key is not None:
            self._by_hash.discard(node.text_key, item_id)
            self._unlinked_texts.add(node.text_key)
        self._lsh.remove(item_id)
        self._lead_lsh.remove(item_id)
        self._opening.remove(item_id)
        for value in self._teaser_keys.pop(item_id, ()):
            teasers = self._teasers.get(value)
            if teasers is not None:
                teasers.discard(item_id)
                if not teasers:
                    del self._teasers[value]
        for orphan in orphans:
            self._parent.pop(orphan, None)
            touched.add(orphan)
            touched |= self._reparent(orphan, mates)
        return touched

    def _reparent(self, item_id: int, options: set[int]) -> set[int]:
        node = self._nodes.get(item_id)
        if node is None or node.size < 0:
            return set()
        longer = sorted(
            o
            for o in options - {item_id}
            if (other := self._nodes.get(o)) is not None and other.size > node.size
        )
        if not longer:
            return set()
        fingerprints = self._fingerprints([item_id, *longer], {})
        mine = fingerprints.get(item_id)
        best: _Parent | None = None
        for other_id in longer:
            theirs = fingerprints.get(other_id)
            if mine is None or theirs is None:
                continue
            match = compare(mine, theirs, self.params)
            if self._is_lead(match):
                option = _Parent(
                    other_id, lead_score(match), match.titles is Titles.SAME, match.opens_with
                )
                if best is None or self._better(option, best):
                    best = option
        return self._set_parent(item_id, best) if best is not None else set()

    def _neighbours(self, item_id: int) -> Iterable[int]:
        yield from self._manual.get(item_id, ())
        if item_id in self._isolated:
            return
        automatic = list(self._links.get(item_id, {}))
        parent = self._parent.get(item_id)
        if parent is not None:
            automatic.append(parent.item_id)
        automatic.extend(self._children.get(item_id, ()))
        yield from (other for other in automatic if other not in self._isolated)

    # -- clusters ---------------------------------------------------------------------

    def _component(self, start: int) -> set[int]:
        seen = {start}
        stack = [start]
        while stack:
            for other in self._neighbours(stack.pop()):
                if other not in seen and other in self._nodes:
                    seen.add(other)
                    stack.append(other)
        return seen

    def _evidence_for(self, item_id: int, component: set[int]) -> tuple[Method, float, int | None]:
        """The edge an item's membership names: a correction's, else its strongest
        automatic edge inside the component (:func:`~aggregator.dedup.rules.evidence_rank`)."""
        manual = sorted(self._manual.get(item_id, set()) & component)
        if manual:
            return Method.MANUAL, 1.0, manual[0]
        if item_id in self._isolated:
            return (Method.MANUAL if len(component) == 1 else Method.SINGLE), 1.0, None
        edges = [
            (kind, score, other) for other, (kind, score) in self._links.get(item_id, {}).items()
        ]
        parent = self._parent.get(item_id)
        if parent is not None:
            edges.append((Method.CONTAINMENT, parent.score, parent.item_id))
        edges += [
            (Method.CONTAINMENT, self._parent[child].score, child)
            for child in self._children.get(item_id, ())
            if child in self._parent
        ]
        edges = [edge for edge in edges if edge[2] not in self._isolated]
        if not edges or len(component) == 1:
            return Method.SINGLE, 1.0, None
        method, score, other = max(edges, key=lambda e: evidence_rank(*e))
        return method, round(score, 4), other

    def _recluster(
        self, affected: set[int], edges_changed_only_for: set[int] | None = None
    ) -> ClusterChanges:
        """Recompute the clusters of ``affected`` and their components.

        With ``edges_changed_only_for`` (a decision: no correction moved an isolation or a
        manual edge), a member outside that set whose cluster stays keeps its last
        evidence without it being derived again: a large cluster gaining copies batch
        after batch then costs its new members, not all of them each time."""
        components: list[set[int]] = []
        placed: set[int] = set()
        for item_id in sorted(affected, key=self._order):
            if item_id in placed or item_id not in self._nodes:
                continue
            component = self._component(item_id)
            placed |= component
            components.append(component)
        # Members of affected clusters that are out of memory (older than the window) stay.
        old_ids = {
            self._cluster_of[i] for comp in components for i in comp if i in self._cluster_of
        }
        taken: set[int] = set()
        assignments: list[Assignment] = []
        notes: dict[int, str | None] = {}
        components.sort(key=lambda comp: min(self._order(i) for i in comp))
        for component in components:
            previous = sorted(
                {self._cluster_of[i] for i in component if i in self._cluster_of} - taken
            )
            if previous:
                cluster_id = previous[0]
            else:
                cluster_id = self.next_cluster_id
                self.next_cluster_id += 1
            taken.add(cluster_id)
            merged = previous[1:]
            notes[cluster_id] = (
                f"merged clusters {', '.join(map(str, merged))} into "
                f"{cluster_id}: an item matched both"
                if merged
                else None
            )
            for item_id in sorted(component):
                if (
                    edges_changed_only_for is not None
                    and item_id not in edges_changed_only_for
                    and self._cluster_of.get(item_id) == cluster_id
                    and item_id in self._evidence
                ):
                    continue
                method, score, matched = self._evidence_for(item_id, component)
                assignment = Assignment(item_id, cluster_id, method, score, matched)
                digest = _digest(assignment)
                if self._evidence.get(item_id) != digest:
                    assignments.append(assignment)
                    self._evidence[item_id] = digest
                old = self._cluster_of.get(item_id)
                if old != cluster_id:
                    if old is not None:
                        _drop_member(self._members, old, item_id)
                    self._cluster_of[item_id] = cluster_id
                    _add_member(self._members, cluster_id, item_id)
        # States only after every move, so a cluster that lost members is counted right.
        states = [self._state(cluster_id, notes[cluster_id]) for cluster_id in sorted(taken)]
        deleted = []
        for cluster_id in sorted(old_ids - taken):
            if self._members.get(cluster_id):
                states.append(self._state(cluster_id, None))
            else:
                self._members.pop(cluster_id, None)
                deleted.append(cluster_id)
        return ClusterChanges(tuple(assignments), tuple(states), tuple(deleted))

    def _order(self, item_id: int) -> tuple[float, int]:
        node = self._nodes.get(item_id)
        return (node.sort_ts if node else 0.0, item_id)

    def _state(self, cluster_id: int, note: str | None) -> ClusterState:
        members = [self._nodes[i] for i in self._members.get(cluster_id, ()) if i in self._nodes]
        canonical = min(
            members, key=lambda n: canonical_rank(n.is_summary, n.priority, n.sort_ts, n.item_id)
        )
        return ClusterState(
            cluster_id,
            canonical.item_id,
            len(self._members[cluster_id]),
            len({n.feed_id for n in members}),
            note,
        )

    def _evict(self, cutoff: datetime) -> None:
        """Forget clusters whose every member was published *and* arrived before the window.

        A scan of the window, so it runs at most every ``EVICT_EVERY`` of window time: the
        window then holds a little more than its length, and a decision stays cheap.
        """
        stamp = cutoff.timestamp()
        if stamp - self._evicted_at < EVICT_EVERY:
            return
        self._evicted_at = stamp
        old = [i for i, n in self._nodes.items() if n.last_ts < stamp]
        for item_id in old:
            cluster_id = self._cluster_of.get(item_id)
            if item_id not in self._nodes or cluster_id is None:
                continue
            members = self._members.get(cluster_id, [])
            if all(self._nodes[i].last_ts < stamp for i in members if i in self._nodes):
                for member in list(members):
                    if member in self._nodes:
                        self._forget(member)
                self._members.pop(cluster_id, None)
        # What is left of a group lost to eviction is in other clusters, linked already
        # through other edges or by its own first items: linked again, nothing moves.
        self._relink_exact()

    def _forget(self, item_id: int) -> None:
        self._remove(item_id)
        self._isolated.discard(item_id)
        for other in self._manual.pop(item_id, set()):
            self._manual.get(other, set()).discard(item_id)
        self._cluster_of.pop(item_id, None)
        self._evidence.pop(item_id, None)
        self._parent.pop(item_id, None)


def _likely_pairs(item_id: int, matched: Mapping[int, int]) -> set[tuple[int, int]]:
    """Pairs of ``item_id`` and the texts sharing ``OPENING_MATCHES`` or more of a teaser's
    first shingles with it (``matched``: text → how many).  One shingle in common is a
    common phrase ("the company said"); a story's opening holds at least two of a teaser's
    first in a row.  The texts holding the most of them first, at most
    ``MAX_CANDIDATES``: a phrase that opens thousands of texts costs a bounded number of
    comparisons."""
    likely = sorted(
        (other for other, count in matched.items() if count >= OPENING_MATCHES),
        key=lambda other: (-matched[other], other),
    )
    return {(min(item_id, o), max(item_id, o)) for o in likely[:MAX_CANDIDATES]}


def _is_short(fp: Fingerprint) -> bool:
    """A teaser's length: looked up by its first shingles in other texts' openings."""
    return MIN_CONTAINED_SHINGLES <= fp.size <= SHORT_TEXT


def _capped(
    pairs: set[tuple[int, int]],
    new: Collection[int] | None = None,
    shared: Mapping[tuple[int, int], int] | None = None,
) -> list[tuple[int, int]]:
    """The pairs to verify, in order: each ``new`` item (all, when None) keeps its
    ``MAX_CANDIDATES`` partners that share the most bands with it (``shared``; the lowest
    ids among equals), and a pair is verified when a new item of it keeps it.  Items
    already indexed choose nothing: an old item proposed with many new look-alikes would
    otherwise have each of them verified against it and more.  Near-identical look-alikes
    share every band, so they keep their lowest ids and still chain into one cluster; a
    copy among hundreds of texts that open alike (a wire's dateline and house phrase)
    shares more bands with its story than they do."""
    partners: dict[int, list[int]] = {}
    for a, b in pairs:
        partners.setdefault(a, []).append(b)
        partners.setdefault(b, []).append(a)
    choosing = partners.keys() if new is None else [i for i in partners if i in new]
    if all(len(partners[item]) <= MAX_CANDIDATES for item in choosing) and new is None:
        return sorted(pairs)
    kept: set[tuple[int, int]] = set()
    bands = shared or {}
    for item in choosing:
        ranked = sorted(
            partners[item],
            key=lambda other: (-bands.get((min(item, other), max(item, other)), 0), other),
        )
        for other in ranked[:MAX_CANDIDATES]:
            kept.add((min(item, other), max(item, other)))
    return sorted(kept)


def _url_key(canonical_link: str | None) -> int | None:
    """The identifying link's hash, a tenth of the memory of the string."""
    link = identifying_link(canonical_link)
    return hash(link) if link is not None else None


class _MultiMap:
    """key → item ids in insertion order, storing a lone id as a plain int (most links and
    texts belong to one item) and a group as an insertion-ordered dict (constant-time
    adds and removals however large it grows)."""

    __slots__ = ("_map",)

    def __init__(self) -> None:
        self._map: dict[int, int | dict[int, None]] = {}

    def add(self, key: int, item_id: int) -> None:
        current = self._map.get(key)
        if current is None:
            self._map[key] = item_id
        elif isinstance(current, int):
            if current != item_id:
                self._map[key] = {current: None, item_id: None}
        else:
            current[item_id] = None

    def members(self, key: int) -> list[int]:
        current = self._map.get(key)
        if current is None:
            return []
        return [current] if isinstance(current, int) else list(current)

    def first(self, key: int) -> int | None:
        current = self._map.get(key)
        if current is None or isinstance(current, int):
            return current
        return next(iter(current))

    def discard(self, key: int, item_id: int) -> None:
        current = self._map.get(key)
        if current == item_id:
            del self._map[key]
        elif isinstance(current, dict) and item_id in current:
            del current[item_id]
            if len(current) == 1:
                self._map[key] = next(iter(current))


def _digest(a: Assignment) -> int:
    return hash((a.cluster_id, a.method, a.score, a.matched_item_id))


def _add_member(members: dict[int, list[int]], cluster_id: int, item_id: int) -> None:
    """Add an item that is not yet a member (its ``_cluster_of`` says another cluster):
    no search of the list, which grows to thousands in a document of identical items."""
    members.setdefault(cluster_id, []).append(item_id)


def _drop_member(members: dict[int, list[int]], cluster_id: int, item_id: int) -> None:
    current = members.get(cluster_id)
    if current is not None and item_id in current:
        current.remove(item_id)


__all__ = ["Candidate", "DedupEngine", "DedupParams"]
