"""The ``Storage`` class: owns the engine; each public method is one transaction.

Methods take and return :mod:`aggregator.types` values, never ORM rows, so nothing
outside this package sees SQLAlchemy.  Database failures surface as ``StorageError``.

Each domain lives in its own mixin over :class:`StorageBase` (engine, transactions,
schema, settings): ``feeds``, ``items``, ``clusters`` (with corrections), ``evidence``
(the dedup index, fingerprints, boilerplate counts), ``decisions`` (the decider's lease
and the items waiting for it) and ``pages`` (the web read models).
"""

from __future__ import annotations

from aggregator.storage.clusters import ClustersMixin
from aggregator.storage.decisions import DecisionsMixin
from aggregator.storage.evidence import EvidenceMixin
from aggregator.storage.feeds import FeedsMixin
from aggregator.storage.items import ItemsMixin
from aggregator.storage.pages import PagesMixin
from aggregator.storage.readers import ReadersMixin


# ClustersMixin builds on ItemsMixin, so it comes before it here.
class Storage(
    FeedsMixin, ClustersMixin, ItemsMixin, EvidenceMixin, PagesMixin, DecisionsMixin, ReadersMixin
):
    """All persistence of feeds, items, clusters and boilerplate evidence."""
