"""Reader-app users: accounts, API tokens, per-user subscriptions, and read and starred
state per story.

**State lives on items, and a story is read when any of its current items is read.**
Marking a story read writes a row for every item the story has at that moment; marking
it unread deletes the rows of all of them (starred likewise).  No reader row is written
when clusters change (the decider only keeps each membership's story columns, see
:mod:`aggregator.storage.stories`), and every way a cluster id can change stays right:
a copy that arrives later for a read story joins a cluster with a read item (it arrives
read); a better canonical copy changes nothing (the story keeps its read items); a merge
is read when either story was.  Two changes can leave a part of a story without the
marked items, so before them every copy is given the marks the story has
(:func:`spread_marks`): a split (a correction), after which each part keeps the state the
story had, and a feed's removal, after which the copies left keep it.

**A story's id is its first item's id** (the lowest item id among its members, stored
on every membership as ``story_id``; the queries find a story's copies by it): it does
not change when the canonical copy does, when a copy arrives later, or when `dedup
rebuild` renumbers clusters; after a merge the survivor's id is one of the two, and an id
a client still holds for the other one resolves (through its item) to the merged story.

**A story is shown once per user**, in one feed: the canonical item's feed when the user
reads that feed, else the user's feed holding the story's oldest item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from aggregator.storage.base import StorageBase, _chunks, _storage_errors
from aggregator.storage.models import (
    Feed,
    Item,
    Membership,
    ReaderAddedFeed,
    ReaderRead,
    ReaderStarred,
    ReaderSubscription,
    ReaderToken,
    ReaderUser,
    utcnow,
)

CHUNK = 500


@dataclass(frozen=True)
class ReaderAccount:
    id: int
    name: str
    password_hash: str
    fever: bool
    created: datetime
    tokens: int = 0


@dataclass(frozen=True)
class ReaderFeed:
    """One subscription of one user."""

    feed_id: int
    url: str
    fetch_url: str
    title: str
    """The user's title, else the feed's name, title or address."""
    folder: str | None
    """The user's folder, else the feed's group."""
    created: datetime
    last_success: datetime | None = None
    """When the feed was last fetched without an error (Fever ``last_updated_on_time``)."""


@dataclass(frozen=True)
class StoryQuery:
    """Which stories of one user's reading list; every field narrows it."""

    feed_ids: Sequence[int] | None = None
    """Stories shown in these feeds (a feed stream, or a folder's feeds)."""
    unread_only: bool = False
    read_only: bool = False
    starred_only: bool = False
    exclude_starred: bool = False
    newer_than: datetime | None = None
    """The story's time is at or after this (Google Reader ``ot``)."""
    older_than: datetime | None = None
    """The story's time is before this (``nt``)."""
    oldest_first: bool = False
    after: tuple[datetime, int] | None = None
    """Continuation: ``(time, canonical item id)`` of the last story already returned."""
    min_story_id: int | None = None
    """Fever ``since_id``: stories whose id is above this."""
    max_story_id: int | None = None
    """Fever ``max_id``: stories whose id is below this."""
    story_ids: Sequence[int] | None = None
    """Only these stories (their ids)."""


@dataclass(frozen=True)
class StoryRef:
    """One story as one user sees it."""

    story_id: int
    cluster_id: int
    item_id: int
    """The item shown: the canonical copy."""
    feed_id: int
    """The feed the story is shown in, for this user."""
    time: datetime
    """The canonical copy's time (its publication, else when it was first seen)."""
    read: bool
    starred: bool


@dataclass(frozen=True)
class StoryItem:
    """The shown item's fields a reader app displays."""

    item_id: int
    feed_id: int
    title: str | None
    link: str | None
    author: str | None
    published: datetime | None
    updated: datetime | None
    first_seen: datetime
    content_html: str


class ReadersMixin(StorageBase):
    """Users, tokens, subscriptions and story state of the reader APIs."""

    # -- users and tokens ---------------------------------------------------------

    @_storage_errors("add a user")
    def add_reader(
        self, name: str, password_hash: str, fever_key: str | None = None
    ) -> ReaderAccount | None:
        """A new user (None: the name is taken), subscribed to every feed of the server."""
        try:
            with self._tx() as s:
                if s.scalar(select(ReaderUser.id).where(ReaderUser.name == name)) is not None:
                    return None
                user = ReaderUser(
                    name=name,
                    password_hash=password_hash,
                    fever_key=fever_key,
                    feeds_seen=0,
                    created=utcnow(),
                )
                s.add(user)
                s.flush()
                _follow_new_feeds(s, user)
                return _account(user)
        except IntegrityError:
            return None

    @_storage_errors("read a user")
    def reader(self, name: str) -> ReaderAccount | None:
        with self._tx() as s:
            user = s.scalar(select(ReaderUser).where(ReaderUser.name == name))
            return None if user is None else _account(user)

    @_storage_errors("list users")
    def list_readers(self) -> list[ReaderAccount]:
        with self._tx() as s:
            tokens = dict(
                s.execute(
                    select(ReaderToken.user_id, func.count()).group_by(ReaderToken.user_id)
                ).all()
            )
            return [
                _account(u, tokens.get(u.id, 0))
                for u in s.scalars(select(ReaderUser).order_by(ReaderUser.name))
            ]

    @_storage_errors("remove a user")
    def remove_reader(self, name: str) -> bool:
        """Remove a user with their tokens, subscriptions and state."""
        with self._tx() as s:
            user_id = s.scalar(select(ReaderUser.id).where(ReaderUser.name == name))
            if user_id is None:
                return False
            # Explicitly, not only by ON DELETE CASCADE: SQLite files made without
            # foreign keys enforced would keep the rows.
            for model in (ReaderRead, ReaderStarred, ReaderSubscription, ReaderToken):
                s.execute(delete(model).where(model.user_id == user_id))
            s.execute(delete(ReaderAddedFeed).where(ReaderAddedFeed.user_id == user_id))
            s.execute(delete(ReaderUser).where(ReaderUser.id == user_id))
            return True

    @_storage_errors("change a password")
    def set_reader_password(self, name: str, password_hash: str, fever_key: str | None) -> bool:
        """New password (and Fever key); every token of the user is revoked."""
        with self._tx() as s:
            user = s.scalar(select(ReaderUser).where(ReaderUser.name == name))
            if user is None:
                return False
            user.password_hash = password_hash
            user.fever_key = fever_key
            s.execute(delete(ReaderToken).where(ReaderToken.user_id == user.id))
            return True

    @_storage_errors("store a token")
    def add_reader_token(self, user_id: int, token_hash: str) -> None:
        with self._tx() as s:
            s.add(ReaderToken(token_hash=token_hash, user_id=user_id, created=utcnow()))

    @_storage_errors("check a token")
    def reader_for_token(self, token_hash: str) -> ReaderAccount | None:
        with self._tx() as s:
            user = s.scalar(
                select(ReaderUser)
                .join(ReaderToken, ReaderToken.user_id == ReaderUser.id)
                .where(ReaderToken.token_hash == token_hash)
            )
            return None if user is None else _account(user)

    @_storage_errors("check a Fever key")
    def reader_for_fever_key(self, key_hash: str) -> ReaderAccount | None:
        with self._tx() as s:
            user = s.scalar(select(ReaderUser).where(ReaderUser.fever_key == key_hash))
            return None if user is None else _account(user)

    @_storage_errors("revoke tokens")
    def revoke_reader_tokens(self, name: str) -> int | None:
        """Revoke every token of a user, and their Fever key (``users passwd --fever``
        gives one again); how many tokens (None: no such user)."""
        with self._tx() as s:
            user = s.scalar(select(ReaderUser).where(ReaderUser.name == name))
            if user is None:
                return None
            user_id = user.id
            user.fever_key = None
            result = s.execute(delete(ReaderToken).where(ReaderToken.user_id == user_id))
            return int(getattr(result, "rowcount", 0) or 0)

    # -- subscriptions ------------------------------------------------------------

    @_storage_errors("read subscriptions")
    def reader_feeds(self, user_id: int) -> list[ReaderFeed]:
        """The user's subscriptions, after subscribing them to server feeds added since."""
        with self._tx() as s:
            user = s.get(ReaderUser, user_id)
            if user is None:
                return []
            _follow_new_feeds(s, user)
            rows = s.execute(
                select(Feed, ReaderSubscription.title, ReaderSubscription.folder)
                .join(ReaderSubscription, ReaderSubscription.feed_id == Feed.id)
                .where(ReaderSubscription.user_id == user_id)
                .order_by(Feed.id)
            )
            return [
                ReaderFeed(
                    feed_id=feed.id,
                    url=feed.url,
                    fetch_url=feed.fetch_url,
                    title=title or feed.name or feed.title or feed.url,
                    folder=folder if folder is not None else feed.group_name,
                    created=feed.created,
                    last_success=feed.last_success,
                )
                for feed, title, folder in rows
            ]

    @_storage_errors("subscribe")
    def reader_subscribe(
        self,
        user_id: int,
        feed_id: int,
        *,
        title: str | None = None,
        folder: str | None = None,
        added_by_user: bool = False,
    ) -> None:
        """Subscribe (or, subscribed, set the title and folder given)."""
        with self._tx() as s:
            row = s.get(ReaderSubscription, (user_id, feed_id))
            if row is None:
                s.add(
                    ReaderSubscription(user_id=user_id, feed_id=feed_id, title=title, folder=folder)
                )
            else:
                if title is not None:
                    row.title = title
                if folder is not None:
                    row.folder = folder or None
            if added_by_user and s.get(ReaderAddedFeed, feed_id) is None:
                s.add(ReaderAddedFeed(feed_id=feed_id, user_id=user_id))

    @_storage_errors("unsubscribe")
    def reader_unsubscribe(self, user_id: int, feed_id: int) -> bool:
        with self._tx() as s:
            result = s.execute(
                delete(ReaderSubscription).where(
                    ReaderSubscription.user_id == user_id, ReaderSubscription.feed_id == feed_id
                )
            )
            return bool(getattr(result, "rowcount", 0))

    @_storage_errors("find a feed")
    def feed_exists(self, feed_id: int) -> bool:
        with self._tx() as s:
            return s.get(Feed, feed_id) is not None

    @_storage_errors("find a feed")
    def feed_id_by_url(self, url: str) -> int | None:
        with self._tx() as s:
            return s.scalar(
                select(Feed.id).where(or_(Feed.url == url, Feed.fetch_url == url)).limit(1)
            )

    # -- stories ------------------------------------------------------------------

    @_storage_errors("list stories")
    def reader_stories(
        self, user_id: int, query: StoryQuery, limit: int | None, *, marks: bool = True
    ) -> list[StoryRef]:
        """The user's stories matching ``query``, newest first (or oldest first).
        ``marks=False``: read and starred are not looked up (False unless the query
        fixes them), for a caller that lists ids only."""
        with self._tx() as s:
            view = _stories(s, user_id, query, page=limit is not None)
            if view is None:
                return []
            time_col, id_col = view.canon.sort_time, view.canon.id
            if query.oldest_first:
                stmt = view.stmt.order_by(time_col.asc(), id_col.asc())
            else:
                stmt = view.stmt.order_by(time_col.desc(), id_col.desc())
            return _refs(s, view, stmt if limit is None else stmt.limit(limit), marks=marks)

    @_storage_errors("list stories")
    def reader_stories_by_id(
        self, user_id: int, query: StoryQuery, limit: int | None, *, descending: bool = False
    ) -> list[StoryRef]:
        """The user's stories matching ``query`` in the order of their story ids (Fever
        pages by id: ``since_id`` upwards, ``max_id`` downwards)."""
        with self._tx() as s:
            view = _stories(s, user_id, query, page=limit is not None)
            if view is None:
                return []
            story_id = view.shown.story_id
            stmt = view.stmt.order_by(story_id.desc() if descending else story_id.asc())
            return _refs(s, view, stmt if limit is None else stmt.limit(limit))

    @_storage_errors("count stories")
    def reader_story_count(self, user_id: int, query: StoryQuery) -> int:
        """How many of the user's stories match ``query`` (Fever ``total_items``)."""
        with self._tx() as s:
            view = _stories(s, user_id, query)
            if view is None:
                return 0
            inner = view.stmt.with_only_columns(view.shown.story_id).subquery()
            return int(s.scalar(select(func.count()).select_from(inner)) or 0)

    @_storage_errors("read stories")
    def reader_story_items(self, item_ids: Sequence[int]) -> dict[int, StoryItem]:
        """The shown items' fields, by item id."""
        out: dict[int, StoryItem] = {}
        with self._tx() as s:
            for chunk in _chunks(sorted(set(item_ids)), CHUNK):
                for row in s.execute(
                    select(
                        Item.id,
                        Item.feed_id,
                        Item.title,
                        Item.link,
                        Item.author,
                        Item.published,
                        Item.updated,
                        Item.first_seen,
                        Item.content_html,
                    ).where(Item.id.in_(chunk))
                ):
                    out[row[0]] = StoryItem(*row)
        return out

    @_storage_errors("resolve stories")
    def reader_story_refs(self, user_id: int, ids: Sequence[int]) -> list[StoryRef]:
        """The user's stories that hold these item ids (a story id is an item id)."""
        with self._tx() as s:
            found: dict[int, StoryRef] = {}
            for chunk in _chunks(sorted(set(ids)), CHUNK):
                view = _stories(s, user_id, StoryQuery(story_ids=chunk))
                if view is None:
                    return []
                found.update((r.story_id, r) for r in _refs(s, view, view.stmt))
            return list(found.values())

    @_storage_errors("mark stories")
    def reader_mark(
        self,
        user_id: int,
        ids: Sequence[int],
        *,
        read: bool | None = None,
        starred: bool | None = None,
    ) -> int:
        """Mark the user's stories holding these item ids read/unread, starred/unstarred
        (None: unchanged); every current item of each story gets the mark.  A story the
        user cannot see (a feed they do not read) is left alone.  Returns how many
        stories were marked."""
        with self._tx() as s:
            visible: set[int] = set()
            for chunk in _chunks(sorted(set(ids)), CHUNK):
                view = _stories(s, user_id, StoryQuery(story_ids=chunk))
                if view is None:
                    return 0
                visible.update(s.scalars(view.stmt.with_only_columns(view.shown.story_id)))
            for model, flag in ((ReaderRead, read), (ReaderStarred, starred)):
                if flag is None:
                    continue
                for chunk in _chunks(sorted(visible), CHUNK):
                    members = select(Membership.item_id).where(Membership.story_id.in_(chunk))
                    _set_marks(s, model, user_id, members, flag)
            return len(visible)

    @_storage_errors("mark stories read")
    def reader_mark_all_read(self, user_id: int, query: StoryQuery) -> None:
        """Mark every story of the user matching ``query`` read."""
        with self._tx() as s:
            view = _stories(s, user_id, query)
            if view is None:
                return
            stories = view.stmt.with_only_columns(view.shown.story_id)
            members = select(Membership.item_id).where(Membership.story_id.in_(stories))
            _set_marks(s, ReaderRead, user_id, members, True)

    @_storage_errors("keep the state of stories")
    def spread_reader_marks(self, item_ids: Sequence[int]) -> None:
        """Give every copy of the stories holding these items the read and starred marks
        any copy of them carries, per user (see :func:`spread_marks`)."""
        with self._tx() as s:
            spread_marks(s, item_ids)

    @_storage_errors("count unread stories")
    def reader_unread_counts(self, user_id: int) -> list[tuple[int, int, datetime]]:
        """``(feed_id, unread stories, newest unread time)`` per feed of the user."""
        with self._tx() as s:
            view = _stories(s, user_id, StoryQuery(unread_only=True))
            if view is None:
                return []
            inner = view.stmt.with_only_columns(
                view.home.label("feed_id"), view.canon.sort_time.label("time")
            ).subquery()
            return [
                (int(f), int(n), t)
                for f, n, t in s.execute(
                    select(inner.c.feed_id, func.count(), func.max(inner.c.time)).group_by(
                        inner.c.feed_id
                    )
                ).all()
                if f is not None
            ]

    @_storage_errors("list story ids")
    def reader_story_ids(
        self, user_id: int, *, read: bool | None = None, starred: bool | None = None
    ) -> list[int]:
        """Every story id of the user that is unread (``read=False``) or starred (Fever
        ``unread_item_ids``, ``saved_item_ids``)."""
        query = StoryQuery(
            unread_only=read is False,
            read_only=read is True,
            starred_only=starred is True,
        )
        with self._tx() as s:
            view = _stories(s, user_id, query)
            if view is None:
                return []
            stmt = view.stmt.with_only_columns(view.shown.story_id)
            return sorted(int(i) for i in s.scalars(stmt))


# -- helpers ----------------------------------------------------------------------


def _account(user: ReaderUser, tokens: int = 0) -> ReaderAccount:
    return ReaderAccount(
        id=user.id,
        name=user.name,
        password_hash=user.password_hash,
        fever=user.fever_key is not None,
        created=user.created,
        tokens=tokens,
    )


def _follow_new_feeds(s: Session, user: ReaderUser) -> None:
    """Subscribe the user to the server's feeds added since they last read (not those
    another user added through the API)."""
    newest = s.scalar(select(func.max(Feed.id))) or 0
    if newest <= user.feeds_seen:
        return
    fresh = select(Feed.id).where(
        Feed.id > user.feeds_seen,
        ~exists().where(ReaderAddedFeed.feed_id == Feed.id),
        ~exists().where(
            ReaderSubscription.user_id == user.id, ReaderSubscription.feed_id == Feed.id
        ),
    )
    s.execute(
        insert(ReaderSubscription).from_select(
            ["user_id", "feed_id"], select(literal(user.id), fresh.subquery().c.id)
        )
    )
    user.feeds_seen = int(newest)


def _subscribed(s: Session, user_id: int) -> list[int]:
    user = s.get(ReaderUser, user_id)
    if user is None:
        return []
    _follow_new_feeds(s, user)
    return list(
        s.scalars(select(ReaderSubscription.feed_id).where(ReaderSubscription.user_id == user_id))
    )


@dataclass(frozen=True)
class _StoryView:
    """The user's stories as a select over their shown (canonical) items: ``canon`` is
    the item, ``shown`` its membership (story id, cluster), ``home`` the feed the story
    is shown in."""

    stmt: Select[Any]
    canon: type[Item]
    shown: type[Membership]
    home: ColumnElement[int]
    query: StoryQuery
    user_id: int


def _stories(
    s: Session, user_id: int, query: StoryQuery, *, page: bool = False
) -> _StoryView | None:
    """The user's stories matching ``query`` (None: the user reads no feed).

    The select starts from the items and keeps the canonical ones by their membership's
    ``canonical`` flag, so both databases can walk the items' time index and stop at a
    page's end; a story's copies are found by the indexed ``story_id``.  ``page``: the
    caller reads a page (a limit), so a read or starred filter is written for that walk
    (see :func:`_marked`)."""
    subscribed = _subscribed(s, user_id)
    if not subscribed:
        return None
    if page:
        _without_jit(s)
    canon = aliased(Item, name="canon")
    shown = aliased(Membership, name="shown")
    every_feed = set(subscribed) >= set(s.scalars(select(Feed.id)))
    if every_feed:
        home: ColumnElement[int] = canon.feed_id.expression
    else:
        copy = aliased(Item, name="copy")
        holder = aliased(Membership, name="holder")
        first_copy = (
            select(copy.feed_id)
            .join(holder, holder.item_id == copy.id)
            .where(holder.story_id == shown.story_id, copy.feed_id.in_(subscribed))
            .order_by(copy.id)
            .limit(1)
            .scalar_subquery()
        )
        home = case((canon.feed_id.in_(subscribed), canon.feed_id), else_=first_copy)
    stmt: Select[Any] = (
        select(shown.story_id)
        .select_from(canon)
        .join(shown, and_(shown.item_id == canon.id, shown.canonical))
    )
    if not every_feed:
        stmt = stmt.where(home.is_not(None))
    if query.feed_ids is not None:
        stmt = stmt.where(home.in_(list(query.feed_ids)))
    if query.unread_only or query.read_only:
        read = _marked(ReaderRead, user_id, shown.story_id, canon.id if page else None)
        stmt = stmt.where(~read if query.unread_only else read)
    if query.starred_only or query.exclude_starred:
        starred = _marked(ReaderStarred, user_id, shown.story_id, canon.id if page else None)
        stmt = stmt.where(starred if query.starred_only else ~starred)
    if query.newer_than is not None:
        stmt = stmt.where(canon.sort_time >= query.newer_than)
    if query.older_than is not None:
        stmt = stmt.where(canon.sort_time < query.older_than)
    if query.after is not None:
        time, item_id = query.after
        if query.oldest_first:
            stmt = stmt.where(
                or_(canon.sort_time > time, and_(canon.sort_time == time, canon.id > item_id))
            )
        else:
            stmt = stmt.where(
                or_(canon.sort_time < time, and_(canon.sort_time == time, canon.id < item_id))
            )
    if query.min_story_id is not None:
        stmt = stmt.where(shown.story_id > query.min_story_id)
    if query.max_story_id is not None:
        stmt = stmt.where(shown.story_id < query.max_story_id)
    if query.story_ids is not None:
        # The stories holding these items (an id is an item id; see the docstring),
        # resolved first: a list of story ids lets the planner probe the story index
        # whatever its statistics say.
        holders = s.scalars(
            select(Membership.story_id).where(Membership.item_id.in_(list(query.story_ids)))
        )
        stmt = stmt.where(shown.story_id.in_(sorted(set(holders))))
    return _StoryView(stmt, canon, shown, home, query, user_id)


def _marked(
    model: type[ReaderRead] | type[ReaderStarred],
    user_id: int,
    story_id: Any,
    shown_id: Any = None,
    *,
    column: bool = False,
) -> ColumnElement[bool]:
    """Whether any item of the story carries the user's mark.

    Alone (no ``shown_id``), for a filter over all the user's stories (counts, id
    lists): PostgreSQL makes a ``NOT EXISTS`` of it an anti-join, one hash of the
    stories the user marked, the cheapest way to check them all.

    With the story's shown item, for a page, its mark is checked first: marking a story
    marks every copy, so a marked story almost always has its shown item marked, and the
    members are walked only for a story that got its shown copy after the mark. As an
    OR, on purpose: PostgreSQL cannot make an anti-join of it, so both checks stay
    filters and an unread page walks the items' time index (it covers the walk, see
    ``Item``) and stops at its end, where the anti-join hashed every story the user
    marked and then read the time of every unread one to sort them. The shown item's
    check is an ``IN`` (one hash of the user's marks: the walk passes many marked items)
    because PostgreSQL costs an ``EXISTS`` it would hash as if it probed per row, which
    put the page's estimate far above its cost; ``column``: an ``EXISTS``, as a result
    column is asked for the page's rows only.

    The members' probe is nested, so both databases walk the story's members and probe
    the mark's primary key (a join lets SQLite scan all the user's marks for every
    story)."""
    member = aliased(Membership, name="member")
    any_member = (
        select(literal(1))
        .select_from(member)
        .where(member.story_id == story_id, _has_mark(model, user_id, member.item_id))
        .exists()
    )
    if shown_id is None:
        return any_member
    if column:
        shown = _has_mark(model, user_id, shown_id)
    else:
        shown = shown_id.in_(select(model.item_id).where(model.user_id == user_id))
    return or_(shown, any_member)


def _without_jit(s: Session) -> None:
    """No JIT compilation for the rest of this transaction on PostgreSQL: a page's
    estimate counts every probe the walk might make (it stops at the page's end), which
    passes the JIT thresholds at a page of a thousand; compiling then costs more than
    the query."""
    bind = s.get_bind()
    if bind.dialect.name == "postgresql" and (bind.dialect.server_version_info or (0,)) >= (11,):
        s.execute(text("SET LOCAL jit = off"))


def _has_mark(
    model: type[ReaderRead] | type[ReaderStarred], user_id: int, item_id: Any
) -> ColumnElement[bool]:
    return (
        select(literal(1))
        .select_from(model)
        .where(model.user_id == user_id, model.item_id == item_id)
        .exists()
    )


def _refs(s: Session, view: _StoryView, stmt: Select[Any], *, marks: bool = True) -> list[StoryRef]:
    """The stories ``stmt`` (a select of ``view``) finds, in its order, with their marks
    read in the same statement (a filter that fixed a mark answers it without a probe;
    ``marks=False``: the others are left False)."""
    query, shown = view.query, view.shown
    columns: list[Any] = [
        shown.story_id,
        shown.cluster_id,
        view.canon.id,
        view.home,
        view.canon.sort_time,
    ]
    read_fixed = query.unread_only or query.read_only or not marks
    starred_fixed = query.starred_only or query.exclude_starred or not marks
    # The shown item's mark first (see _marked), for every result row.
    if not read_fixed:
        columns.append(
            _marked(ReaderRead, view.user_id, shown.story_id, view.canon.id, column=True)
        )
    if not starred_fixed:
        columns.append(
            _marked(ReaderStarred, view.user_id, shown.story_id, view.canon.id, column=True)
        )
    refs = []
    for row in s.execute(stmt.with_only_columns(*columns)):
        story_id, cluster_id, item_id, feed_id, time, *found = row
        read = query.read_only if read_fixed else bool(found.pop(0))
        starred = query.starred_only if starred_fixed else bool(found.pop(0))
        refs.append(StoryRef(story_id, cluster_id, item_id, feed_id, time, read, starred))
    return refs


def spread_marks(s: Session, item_ids: Sequence[int]) -> None:
    """Mark every copy of the stories holding these items with each user's read and
    starred marks that any copy of the story carries.

    Marks are per item, and a copy that joined a story after the user marked it carries
    none: the story is read through its other copies.  When those copies may leave it (a
    split, a feed's removal), this runs first, so whatever part a copy ends up in keeps
    the state the story had.  It changes no story's state (a story is marked when any
    copy is), so it may run in its own transaction before the change."""
    at = utcnow()
    for chunk in _chunks(sorted(set(item_ids)), CHUNK):
        stories = select(Membership.story_id).where(Membership.item_id.in_(chunk))
        for model in (ReaderRead, ReaderStarred):
            marked = (
                select(model.user_id, Membership.story_id)
                .join(Membership, Membership.item_id == model.item_id)
                .where(Membership.story_id.in_(stories))
                .distinct()
                .subquery()
            )
            copy = aliased(Membership, name="copy")
            unmarked = (
                select(marked.c.user_id, copy.item_id, literal(at, type_=model.at.type))
                .join(copy, copy.story_id == marked.c.story_id)
                .where(
                    ~exists().where(
                        model.user_id == marked.c.user_id, model.item_id == copy.item_id
                    )
                )
            )
            s.execute(insert(model).from_select(["user_id", "item_id", "at"], unmarked))


def _set_marks(
    s: Session,
    model: type[ReaderRead] | type[ReaderStarred],
    user_id: int,
    items: Select[Any],
    on: bool,
) -> None:
    """Give (or take) the user's mark to every item ``items`` selects, in one statement."""
    if not on:
        s.execute(delete(model).where(model.user_id == user_id, model.item_id.in_(items)))
        return
    sub = items.subquery()
    fresh = select(literal(user_id), sub.c[0], literal(utcnow(), type_=model.at.type)).where(
        ~exists().where(model.user_id == user_id, model.item_id == sub.c[0])
    )
    s.execute(insert(model).from_select(["user_id", "item_id", "at"], fresh))
