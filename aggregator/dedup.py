"""The cluster decision.  Pure: no I/O; its state is rebuilt from stored fingerprints.

Clusters are the connected components of a graph whose edges are *verified*:

============  ===================================================  =======================
edge          when                                                 why this value
============  ===================================================  =======================
url           same canonical link, different feeds, link has a      tracking parameters are
              path (a homepage link identifies nothing)            the only difference
content-hash  same text after boilerplate removal (≥ 8 words)      exact republication
minhash       Jaccard of word 3-shingles ≥ ``threshold`` (default   copies with another
              0.5), verified on the shingles (exact up to 256,     footer/sponsor/typography
              a 1-in-4 sample beyond); the LSH (42 bands of 3)     or a dropped paragraph
              proposes pairs at J = 0.5 with probability 0.996
                                                                   score 0.6–1.0 on
                                                                   syndication-dev; two
                                                                   stories on one topic
                                                                   score < 0.1
containment   a shorter text (≥ 15 shingles, ≤ 80 % of the other)  "first 50 words … Read
              is the *beginning* of a longer one: ≥ ``containment``   more" summaries: Jaccard
              (0.8) of its first 128 shingles are in the other's   is low (0.05–0.3) but
              first 128 (and, for longer texts, of all its         nearly all of the lead
              shingles in the other text)
                                                                   is found; requiring the
                                                                   *lead* keeps a quoted
                                                                   passage from joining
============  ===================================================  =======================

A shorter text keeps a containment edge only to its single best longer text (highest
score, then earliest published), so a lead shared by a story and its rewritten update
cannot bridge the two.  Components of verified edges do not depend on the order items
arrive in: the same items give the same clusters.  Titles are never evidence: recurring
titles ("Morning Briefing") over different bodies stay apart.

The canonical item of a cluster is the first by: full text before summary, higher feed
``priority``, earlier publication, lower id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import numpy as np

from aggregator.fingerprint import LEAD_VERIFY, Fingerprint, overlap
from aggregator.lshindex import BandedIndex
from aggregator.types import Assignment, ClusterChanges, ClusterState, CorrectionRecord

MIN_CONTAINED_SHINGLES = 15
MAX_LEAD_RATIO = 0.8


@dataclass(frozen=True)
class DedupParams:
    threshold: float = 0.5
    containment: float = 0.8
    window: timedelta = timedelta(days=7)


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


@dataclass(frozen=True)
class Match:
    """How two items compare (used by decisions and by ``clusters explain``)."""

    jaccard: float
    containment: float
    """Share of the shorter text's shingles found in the longer one."""
    lead_containment: float
    """Share of the shorter text's lead found in the longer text's lead."""
    shorter: int
    longer: int


@dataclass
class _Node:
    item_id: int
    feed_id: int
    priority: int
    sort_time: datetime
    is_summary: bool
    url_key: str | None
    fp: Fingerprint | None
    """Kept without its MinHash signatures: the index holds their band keys."""
    last_relevant: datetime
    lead_keys: np.ndarray | None = None
    """Band keys of the lead signature, to look for a new parent if this one goes."""


@dataclass
class _Parent:
    item_id: int
    score: float


@dataclass
class DedupEngine:
    params: DedupParams = field(default_factory=DedupParams)
    next_cluster_id: int = 1

    def __post_init__(self) -> None:
        self._nodes: dict[int, _Node] = {}
        self._links: dict[int, dict[int, tuple[str, float]]] = {}
        self._parent: dict[int, _Parent] = {}
        self._children: dict[int, set[int]] = {}
        self._cluster_of: dict[int, int] = {}
        self._members: dict[int, set[int]] = {}
        self._evidence: dict[int, Assignment] = {}
        self._isolated: set[int] = set()
        self._manual: dict[int, set[int]] = {}
        self._by_url: dict[str, set[int]] = {}
        self._by_hash: dict[str, set[int]] = {}
        self._lsh = BandedIndex()
        self._lead_lsh = BandedIndex()

    # -- public -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._nodes)

    def item_ids(self) -> list[int]:
        return list(self._nodes)

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

    def members_of(self, cluster_id: int) -> set[int]:
        return set(self._members.get(cluster_id, set()))

    def cluster_of(self, item_id: int) -> int | None:
        return self._cluster_of.get(item_id)

    def load(self, candidates: Iterable[Candidate], assignments: Iterable[Assignment]) -> None:
        """Rebuild from storage: nodes and their stored clusters, then edges between them.

        Edges are recomputed (they are a function of the fingerprints), clusters are taken
        as stored; ``decide`` on the same items would give the same partition.
        """
        loaded = sorted(candidates, key=lambda c: (c.sort_time, c.item_id))
        for assignment in assignments:
            self._evidence[assignment.item_id] = assignment
            self._cluster_of[assignment.item_id] = assignment.cluster_id
            self._members.setdefault(assignment.cluster_id, set()).add(assignment.item_id)
            self.next_cluster_id = max(self.next_cluster_id, assignment.cluster_id + 1)
        for candidate in loaded:
            self._add(candidate)

    def decide(self, candidates: Sequence[Candidate], now: datetime) -> ClusterChanges:
        """Place new or edited items; return every membership and cluster that changed."""
        affected: set[int] = set()
        for candidate in sorted(candidates, key=lambda c: (c.sort_time, c.item_id)):
            if candidate.item_id in self._nodes:
                affected |= self._remove(candidate.item_id)
            affected |= self._add(candidate)
            affected.add(candidate.item_id)
        changes = self._recluster(affected)
        self._evict(now - self.params.window)
        return changes

    def compare(self, a: Fingerprint, b: Fingerprint) -> Match:
        return compare(a, b)

    # -- graph ----------------------------------------------------------------------

    def _add(self, c: Candidate) -> set[int]:
        """Add a node and its verified edges; return the nodes whose component may change."""
        fp = c.fingerprint
        node = _Node(c.item_id, c.feed_id, c.priority, c.sort_time, c.is_summary,
                     _url_key(c.canonical_link),
                     replace(fp, signature=None, lead_signature=None) if fp else None,
                     max(c.sort_time, c.first_seen or c.sort_time))
        self._nodes[c.item_id] = node
        self._links.setdefault(c.item_id, {})
        touched = {c.item_id}

        exact: dict[int, tuple[str, float]] = {}
        if node.url_key:
            for same_url in self._by_url.get(node.url_key, ()):
                if self._nodes[same_url].feed_id != node.feed_id:
                    exact[same_url] = ("url", 1.0)
            self._by_url.setdefault(node.url_key, set()).add(c.item_id)
        if fp is not None and fp.content_key:
            for same_text in self._by_hash.get(fp.content_key, ()):
                exact.setdefault(same_text, ("content-hash", 1.0))
            self._by_hash.setdefault(fp.content_key, set()).add(c.item_id)
        for other_id, edge in exact.items():
            self._link(c.item_id, other_id, edge)
            touched.add(other_id)

        if fp is None or fp.signature is None or fp.lead_signature is None:
            return touched
        keys = self._lsh.keys_for(fp.signature)
        node.lead_keys = self._lead_lsh.keys_for(fp.lead_signature)
        proposed = self._lsh.query(keys) | self._lead_lsh.query(node.lead_keys)
        proposed.discard(c.item_id)
        best_parent: _Parent | None = None
        for other_id in sorted(proposed):
            other = self._nodes.get(other_id)
            if other is None or other.fp is None:
                continue
            match = compare(fp, other.fp)
            if match.jaccard >= self.params.threshold and other_id not in exact:
                self._link(c.item_id, other_id, ("minhash", match.jaccard))
                touched.add(other_id)
            if not self._is_lead(match):
                continue
            if fp.size < other.fp.size:
                option = _Parent(other_id, match.containment)
                if best_parent is None or self._better(option, best_parent):
                    best_parent = option
            else:
                current = self._parent.get(other_id)
                option = _Parent(c.item_id, match.containment)
                if current is None or self._better(option, current):
                    touched |= self._set_parent(other_id, option)
        if best_parent is not None:
            touched |= self._set_parent(c.item_id, best_parent)
        self._lsh.insert(c.item_id, keys)
        self._lead_lsh.insert(c.item_id, node.lead_keys)
        return touched

    def _is_lead(self, m: Match) -> bool:
        return is_lead(m, self.params.containment)

    def _better(self, a: _Parent, b: _Parent) -> bool:
        na, nb = self._nodes[a.item_id], self._nodes[b.item_id]
        return (round(a.score, 9), -na.sort_time.timestamp(), -a.item_id) > \
            (round(b.score, 9), -nb.sort_time.timestamp(), -b.item_id)

    def _set_parent(self, child: int, parent: _Parent) -> set[int]:
        touched = {child, parent.item_id}
        old = self._parent.get(child)
        if old is not None:
            self._children.get(old.item_id, set()).discard(child)
            touched.add(old.item_id)
        self._parent[child] = parent
        self._children.setdefault(parent.item_id, set()).add(child)
        return touched

    def _link(self, a: int, b: int, edge: tuple[str, float]) -> None:
        self._links.setdefault(a, {})[b] = edge
        self._links.setdefault(b, {})[a] = edge

    def _remove(self, item_id: int) -> set[int]:
        """Take a node out (it was edited); its orphaned children find new parents."""
        node = self._nodes.pop(item_id)
        touched = {item_id}
        for other in self._links.pop(item_id, {}):
            self._links.get(other, {}).pop(item_id, None)
            touched.add(other)
        old = self._parent.pop(item_id, None)
        if old is not None:
            self._children.get(old.item_id, set()).discard(item_id)
            touched.add(old.item_id)
        orphans = self._children.pop(item_id, set())
        for key_index, key in ((self._by_url, node.url_key),
                               (self._by_hash, node.fp.content_key if node.fp else None)):
            if key and key in key_index:
                key_index[key].discard(item_id)
                if not key_index[key]:
                    del key_index[key]
        self._lsh.remove(item_id)
        self._lead_lsh.remove(item_id)
        for orphan in orphans:
            self._parent.pop(orphan, None)
            touched.add(orphan)
            touched |= self._reparent(orphan)
        return touched

    def _reparent(self, item_id: int) -> set[int]:
        node = self._nodes.get(item_id)
        if node is None or node.fp is None or node.lead_keys is None:
            return set()
        best: _Parent | None = None
        for other_id in sorted(self._lead_lsh.query(node.lead_keys) - {item_id}):
            other = self._nodes.get(other_id)
            if other is None or other.fp is None or other.fp.size <= node.fp.size:
                continue
            match = compare(node.fp, other.fp)
            if self._is_lead(match):
                option = _Parent(other_id, match.containment)
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

    def _evidence_for(self, item_id: int, component: set[int]) -> tuple[str, float, int | None]:
        manual = sorted(self._manual.get(item_id, set()) & component)
        if manual:
            return "manual", 1.0, manual[0]
        if item_id in self._isolated:
            return ("manual", 1.0, None) if len(component) == 1 else ("single", 1.0, None)
        rank = {"url": 4, "content-hash": 3, "minhash": 2, "containment": 1}
        best: tuple[int, float, int] | None = None
        method = "single"
        for other, (kind, score) in self._links.get(item_id, {}).items():
            if other in self._isolated:
                continue
            key = (rank[kind], score, -other)
            if best is None or key > best:
                best, method = key, kind
        edges = [(p.item_id, p.score) for p in [self._parent.get(item_id)]
                 if p is not None and p.item_id not in self._isolated]
        edges += [(child, self._parent[child].score) for child in self._children.get(item_id, ())
                  if child in self._parent and child not in self._isolated]
        for other, score in edges:
            key = (rank["containment"], score, -other)
            if best is None or key > best:
                best, method = key, "containment"
        if best is None or len(component) == 1:
            return "single", 1.0, None
        return method, round(best[1], 4), -best[2]

    def _recluster(self, affected: set[int]) -> ClusterChanges:
        components: list[set[int]] = []
        placed: set[int] = set()
        for item_id in sorted(affected, key=self._order):
            if item_id in placed or item_id not in self._nodes:
                continue
            component = self._component(item_id)
            placed |= component
            components.append(component)
        # Members of affected clusters that are out of memory (older than the window) stay.
        old_ids = {self._cluster_of[i] for comp in components for i in comp
                   if i in self._cluster_of}
        taken: set[int] = set()
        assignments: list[Assignment] = []
        notes: dict[int, str | None] = {}
        components.sort(key=lambda comp: min(self._order(i) for i in comp))
        for component in components:
            previous = sorted({self._cluster_of[i] for i in component if i in self._cluster_of}
                              - taken)
            if previous:
                cluster_id = previous[0]
            else:
                cluster_id = self.next_cluster_id
                self.next_cluster_id += 1
            taken.add(cluster_id)
            merged = previous[1:]
            notes[cluster_id] = (f"merged clusters {', '.join(map(str, merged))} into "
                                 f"{cluster_id}: an item matched both" if merged else None)
            for item_id in sorted(component):
                method, score, matched = self._evidence_for(item_id, component)
                assignment = Assignment(item_id, cluster_id, method, score, matched)
                if self._evidence.get(item_id) != assignment:
                    assignments.append(assignment)
                    self._evidence[item_id] = assignment
                old = self._cluster_of.get(item_id)
                if old is not None and old != cluster_id:
                    self._members.get(old, set()).discard(item_id)
                self._cluster_of[item_id] = cluster_id
                self._members.setdefault(cluster_id, set()).add(item_id)
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
        return (node.sort_time.timestamp() if node else 0.0, item_id)

    def _state(self, cluster_id: int, note: str | None) -> ClusterState:
        members = [self._nodes[i] for i in self._members.get(cluster_id, set()) if i in self._nodes]
        canonical = min(members, key=lambda n: (n.is_summary, -n.priority, n.sort_time,
                                                n.item_id))
        return ClusterState(cluster_id, canonical.item_id, len(self._members[cluster_id]),
                            len({n.feed_id for n in members}), note)

    def _evict(self, cutoff: datetime) -> None:
        """Forget clusters whose every member was published *and* arrived before the window."""
        old_clusters = {self._cluster_of.get(i) for i, n in self._nodes.items()
                        if n.last_relevant < cutoff}
        for cluster_id in old_clusters:
            if cluster_id is None:
                continue
            members = self._members.get(cluster_id, set())
            if all(self._nodes[i].last_relevant < cutoff for i in members if i in self._nodes):
                for item_id in list(members):
                    if item_id in self._nodes:
                        self._forget(item_id)
                self._members.pop(cluster_id, None)

    def _forget(self, item_id: int) -> None:
        self._remove(item_id)
        self._isolated.discard(item_id)
        for other in self._manual.pop(item_id, set()):
            self._manual.get(other, set()).discard(item_id)
        self._cluster_of.pop(item_id, None)
        self._evidence.pop(item_id, None)
        self._parent.pop(item_id, None)


def compare(a: Fingerprint, b: Fingerprint) -> Match:
    """Similarity of two fingerprints: exact when both keep all their shingles, else on
    the 1-in-4 sample both share; lead containment is always exact."""
    short, long_ = (a, b) if a.size <= b.size else (b, a)
    if a.sampled or b.sampled:
        xs, ys = short.comparable_sample(), long_.comparable_sample()
    else:
        xs, ys = short.sample, long_.sample
    common = overlap(xs, ys)
    union = xs.size + ys.size - common
    lead_common = overlap(short.lead, long_.lead)
    return Match(
        jaccard=common / union if union else 0.0,
        containment=common / xs.size if xs.size else 0.0,
        lead_containment=lead_common / short.lead.size if short.lead.size else 0.0,
        shorter=short.size,
        longer=long_.size,
    )


def is_lead(m: Match, threshold: float) -> bool:
    """Whether the shorter text is the beginning of the longer one (a summary of it)."""
    if m.shorter < MIN_CONTAINED_SHINGLES or m.shorter > MAX_LEAD_RATIO * m.longer:
        return False
    if m.lead_containment < threshold:
        return False
    # A text longer than the lead must also be found, as a whole, in the other one.
    return m.shorter <= LEAD_VERIFY or m.containment >= threshold


def _url_key(canonical_link: str | None) -> str | None:
    """A canonical link identifies an article only when it has a path (not a homepage)."""
    if not canonical_link:
        return None
    path = urlsplit(canonical_link).path
    return canonical_link if path not in ("", "/") else None


__all__ = ["Candidate", "DedupEngine", "DedupParams", "Match", "compare", "is_lead"]
