"""The ``Storage`` class: owns the engine; each public method is one transaction.

Methods take and return :mod:`aggregator.types` values, never ORM rows, so nothing
outside this package sees SQLAlchemy.  Database failures surface as ``StorageError``.

Each domain lives in its own mixin over :class:`StorageBase` (engine, transactions,
schema, settings): ``feeds``, ``items``, ``clusters`` (with corrections), ``evidence``
(the dedup index, fingerprints, boilerplate counts), ``decisions`` (the decider's lease
and the items waiting for it), ``pages`` (the web read models), ``search`` (full-text
search over stories) and ``retention`` (dropping old stories).
"""

from __future__ import annotations

from aggregator.storage.clusters import ClustersMixin
from aggregator.storage.decisions import DecisionsMixin
from aggregator.storage.evidence import EvidenceMixin
from aggregator.storage.feeds import FeedsMixin
from aggregator.storage.items import ItemsMixin
from aggregator.storage.pages import PagesMixin
from aggregator.storage.readers import ReadersMixin
from aggregator.storage.retention import RetentionMixin
from aggregator.storage.search import SearchMixin


# ClustersMixin builds on ItemsMixin, so it comes before it here.
class Storage(
    FeedsMixin,
    ClustersMixin,
    ItemsMixin,
    EvidenceMixin,
    PagesMixin,
    DecisionsMixin,
    ReadersMixin,
    SearchMixin,
    RetentionMixin,
):
    """All persistence of feeds, items, clusters and boilerplate evidence."""
