"""SQLAlchemy 2.0 typed models.  Times are stored as naive UTC and read back aware."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    fetch_url: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    group_name: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    dedup: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    interval_seconds: Mapped[float | None] = mapped_column(Float)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_checked: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    next_check: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    origin: Mapped[str] = mapped_column(String(10), default="config", server_default="config")
    """Where the URL came from (``config``, ``cli``, ``opml``, ``web``): the fetch policy
    holds feeds from outside the operator's hands to public addresses."""


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("feed_id", "entry_id", name="uq_items_feed_id_entry_id"),
        # A feed's items by time, and (covering on SQLite) each feed's count and newest
        # time without reading the wide rows: the reader APIs' unread counts.
        Index("ix_items_feed_id_sort_time", "feed_id", "sort_time"),
        # Items by time, covering what a reader's story page reads of each item it walks
        # (the order, the id its marks and membership are found by, the feed it is shown
        # in): a page passes every item the user has read before it reaches the unread
        # ones, and reads none of their wide rows (on PostgreSQL once vacuum has marked
        # their pages all-visible).  It serves every use of the index on time alone it
        # replaced (migration 0011).
        Index("ix_items_sort_time_id_feed_id", "sort_time", "id", "feed_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    entry_id: Mapped[str] = mapped_column(Text)
    guid: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    canonical_link: Mapped[str | None] = mapped_column(Text, index=True)
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sort_time: Mapped[datetime] = mapped_column(UTCDateTime)
    """Publication time, else first-seen time: what the dedup window and lists order by."""
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    content_html: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    is_summary: Mapped[bool] = mapped_column(Boolean, default=False)
    summary_html: Mapped[str] = mapped_column(Text, default="", server_default="")
    """The source's other, shorter text beside ``content_html`` (a summary, or a teaser
    content beside a longer description); empty when it gave one text."""
    authors: Mapped[list[dict[str, str]] | None] = mapped_column(JSON(none_as_null=True))
    """The authors as the source gave them: objects of ``name``, ``email`` and ``url`` (the
    parts given), in its order.  NULL: none, or stored before they were (``author`` then
    stands alone)."""
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    revision: Mapped[str] = mapped_column(String(64), default="")
    """Hash of what the source sent; a change means the entry was edited."""
    fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary)
    fingerprint_scheme: Mapped[str | None] = mapped_column(String(100))


class Cluster(Base):
    __tablename__ = "clusters"

    # Ids are allocated by the single writer (the dedup engine), not by the database.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # No foreign key: clusters and items reference each other, and SQLite cannot add the
    # constraint afterwards; the writer keeps it consistent (checked by the tests).
    canonical_item_id: Mapped[int | None] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer, default=0)
    feed_count: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Membership(Base):
    """Which cluster an item belongs to, how that was decided, and how strongly."""

    __tablename__ = "memberships"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float, default=1.0)
    matched_item_id: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    story_id: Mapped[int] = mapped_column(Integer, index=True)
    """The story's id: the lowest item id of the cluster (what the reader APIs call an
    item).  Kept by :mod:`aggregator.storage.stories` wherever members change, so a
    reader query finds a story's copies by an index."""
    canonical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """This item is its cluster's canonical copy (the one the reader APIs show); kept
    beside ``story_id`` so a story list walks the items' time index."""


class BlockCount(Base):
    """How many distinct items of a feed carried a (short) text block: boilerplate evidence."""

    __tablename__ = "block_counts"

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    )
    block_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    items: Mapped[int] = mapped_column(Integer, default=0)
    sample: Mapped[str] = mapped_column(Text, default="")
    seen_day: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """The UTC day (days since 1970-01-01) an item last counted the block: the evidence of a
    block seen once is forgotten when it is old (:mod:`aggregator.ingest.retention`)."""


class Correction(Base):
    """A user's correction, replayed in order by every later decision."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    """``split`` (item_id leaves its cluster and stays alone) or ``merge`` (item_id and
    other_item_id belong together)."""
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    other_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Undecided(Base):
    """An item stored and not yet decided: the hand-off from whichever process stored it
    to the one decider, which deletes the row in the transaction that decides the item."""

    __tablename__ = "undecided"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    is_new: Mapped[bool] = mapped_column(Boolean, default=True)
    """Its boilerplate evidence is still to be counted (a new item, not an edit)."""
    queued: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Setting(Base):
    """Small key/value facts about the data (e.g. the fingerprint scheme it was made with)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ReaderUser(Base):
    """A person who reads through the Google Reader or Fever API (``aggregator users``)."""

    __tablename__ = "reader_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    """Argon2id, as the password-hashing library writes it."""
    fever_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 of the Fever ``api_key`` (MD5 of ``name:password``); none: no Fever."""
    feeds_seen: Mapped[int] = mapped_column(Integer, default=0)
    """The highest feed id this user was subscribed to automatically (newer server feeds
    join the user's subscriptions when the user next reads)."""
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReaderToken(Base):
    """An API session token (Google Reader ``Auth``), stored as its SHA-256."""

    __tablename__ = "reader_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("reader_users.id", ondelete="CASCADE"), index=True
    )
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReaderSubscription(Base):
    """A feed one user reads, with the user's own title and folder (none: the feed's)."""

    __tablename__ = "reader_subscriptions"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("reader_users.id", ondelete="CASCADE"), primary_key=True
    )
    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    title: Mapped[str | None] = mapped_column(Text)
    folder: Mapped[str | None] = mapped_column(String(200))


class ReaderAddedFeed(Base):
    """A feed a reader added through the API: other users are not subscribed to it."""

    __tablename__ = "reader_added_feeds"

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("reader_users.id", ondelete="CASCADE"), index=True
    )


class ReaderRead(Base):
    """One user has read this item; a story is read when any of its items is."""

    __tablename__ = "reader_read"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("reader_users.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReaderStarred(Base):
    """One user starred this item; a story is starred when any of its items is."""

    __tablename__ = "reader_starred"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("reader_users.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
