"""ORM row → :mod:`aggregator.types` value conversions shared by several mixins."""

from __future__ import annotations

from collections.abc import Sequence

from aggregator.storage.models import Cluster, Item, Membership
from aggregator.types import ClusterView, ItemView, Person


def _item_view(
    item: Item,
    feed_url: str,
    member: Membership | None,
    canonical_id: int | None,
    with_content: bool,
) -> ItemView:
    return ItemView(
        id=item.id,
        feed_id=item.feed_id,
        feed_url=feed_url,
        guid=item.guid or item.entry_id,
        link=item.link,
        canonical_link=item.canonical_link,
        title=item.title,
        author=item.author,
        published=item.published,
        updated=item.updated,
        is_summary=item.is_summary,
        cluster_id=member.cluster_id if member else None,
        canonical=member is not None and canonical_id == item.id,
        method=member.method if member else None,
        score=member.score if member else None,
        content_html=item.content_html if with_content else "",
        text=item.text if with_content else "",
        summary_html=item.summary_html,
        authors=_authors(item),
    )


def _authors(item: Item) -> tuple[Person, ...]:
    if item.authors is None:  # none given, or stored before authors were kept
        return (Person(name=item.author),) if item.author else ()
    return tuple(
        Person(name=a.get("name"), email=a.get("email"), url=a.get("url")) for a in item.authors
    )


def _cluster_view(c: Cluster, members: Sequence[ItemView]) -> ClusterView:
    ordered = sorted(
        members,
        key=lambda m: (not m.canonical, m.published is None, m.published or c.created, m.id),
    )
    return ClusterView(
        id=c.id,
        canonical_item_id=c.canonical_item_id,
        size=c.size,
        feed_count=c.feed_count,
        created=c.created,
        updated=c.updated,
        members=tuple(ordered),
        note=c.note,
    )
