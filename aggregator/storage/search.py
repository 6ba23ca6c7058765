"""Search over stories (the ``Storage`` mixin): the full-text index of
:mod:`aggregator.storage.fulltext` finds items; results are their stories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from aggregator.storage.base import StorageBase, _storage_errors
from aggregator.storage.fulltext import (
    CATCH_UP_BATCH,
    MAX_LIMIT,
    MAX_RANKED,
    Backend,
    backend_of,
    catch_up,
    query_terms,
    snippet_parts,
)
from aggregator.storage.models import Cluster, Feed, Item
from aggregator.types import SearchHit


@dataclass
class _Story:
    cluster_id: int
    matched_item_id: int


class SearchMixin(StorageBase):
    """``search_stories``: the stories whose items' titles or texts hold every word;
    ``update_search_index``: index the items stored since the last catch-up."""

    @_storage_errors("index for search")
    def update_search_index(self, batch: int = CATCH_UP_BATCH) -> int:
        """Index every item waiting to be, ``batch`` per transaction; how many were.
        Safe beside other writers and other processes catching up."""
        indexed = 0
        while True:
            with self._tx() as s:
                done = catch_up(s.connection(), batch)
            indexed += done
            if done < batch:
                return indexed

    @_storage_errors("search")
    def search_stories(self, query: str, *, limit: int = 20, offset: int = 0) -> list[SearchHit]:
        """The stories matching every word of ``query``, best match first: each story once,
        with its canonical item and a snippet of its best-matching item.  The best among
        the :data:`~aggregator.storage.fulltext.MAX_RANKED` most recently stored matching
        items: a word in more items than that ranks the recent ones."""
        terms = query_terms(query)
        start = max(0, offset)
        wanted = start + max(0, min(limit, MAX_LIMIT))
        if not terms or wanted <= start or start >= MAX_RANKED:
            return []
        self.update_search_index()  # what was stored since the last catch-up is found too
        with self._tx() as s:
            connection = s.connection()
            backend = backend_of(connection)
            stories = _best_stories(backend, connection, terms, wanted)[start:wanted]
            if not stories:
                return []
            snippets = backend.snippets(connection, terms, [h.matched_item_id for h in stories])
            canonical = {
                row.id: row
                for row in s.execute(
                    select(
                        Cluster.id,
                        Cluster.size,
                        Cluster.canonical_item_id,
                        Item.title,
                        Item.link,
                        Item.feed_id,
                        Item.published,
                        Feed.url,
                    )
                    .join(Item, Item.id == Cluster.canonical_item_id)
                    .join(Feed, Feed.id == Item.feed_id)
                    .where(Cluster.id.in_([h.cluster_id for h in stories]))
                )
            }
        return [
            SearchHit(
                cluster_id=story.cluster_id,
                size=row.size,
                canonical_item_id=row.canonical_item_id,
                title=row.title,
                link=row.link,
                feed_id=row.feed_id,
                feed_url=row.url,
                published=row.published,
                matched_item_id=story.matched_item_id,
                snippet=snippet_parts(snippets.get(story.matched_item_id, "")),
            )
            for story in stories
            if (row := canonical.get(story.cluster_id)) is not None
        ]


def _best_stories(
    backend: Backend, connection: Connection, terms: Sequence[str], wanted: int
) -> list[_Story]:
    """The ``wanted`` best stories: the best items, read in widening rounds until they
    span that many clusters (the copies of one story take one place) or run out."""
    reach = max(4 * wanted, 100)
    while True:
        items = backend.best_items(connection, terms, reach)
        stories: dict[int, _Story] = {}
        for item_id, cluster_id in items:
            if cluster_id is not None:
                stories.setdefault(cluster_id, _Story(cluster_id, item_id))
        if len(stories) >= wanted or len(items) < reach:
            return list(stories.values())
        reach *= 4
