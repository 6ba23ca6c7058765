"""``StorageBase``: the engine, transactions, the schema and settings.

The domain mixins (feeds, items, clusters, evidence, pages) build on it; it also holds
the ``StorageError`` mapping of public methods and the small bulk-write helpers they share.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import create_engine, event, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from aggregator.errors import DatabaseUnusable, StorageError
from aggregator.storage import migrate
from aggregator.storage.models import Setting

P = ParamSpec("P")
R = TypeVar("R")


def _storage_errors(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Map any database failure of a public method to ``StorageError`` naming the action."""

    def wrap(method: Callable[P, R]) -> Callable[P, R]:
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except SQLAlchemyError as exc:
                raise StorageError(
                    f"storage: unable to {what}: {exc.__class__.__name__}: "
                    f"{str(exc).splitlines()[0]}"
                ) from exc

        wrapper.__name__ = method.__name__
        wrapper.__doc__ = method.__doc__
        return wrapper

    return wrap


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (CLI, web pages) work while the daemon writes; the busy timeout
    # makes a second writer wait instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class StorageBase:
    """Owns the engine and the per-thread unit of work; each public method is one
    transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            # pool_pre_ping: a pooled connection that died with a database restart is
            # replaced before use instead of failing the next statement.
            self.engine: Engine = create_engine(url, future=True, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            # StorageError masks the URL's password (and the driver's text, which may
            # quote the URL).
            raise DatabaseUnusable(f"storage: cannot open database {url!r}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._unit = threading.local()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        current = getattr(self._unit, "session", None)
        if current is not None:  # inside unit(): the unit commits, once, at its end
            yield current
            return
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def unit(self) -> Iterator[None]:
        """Make the storage calls of this thread inside the block one transaction: all of
        them land, or (on an exception, or a kill) none.  Ingest writes what one feed
        document brought — items, boilerplate evidence, feed status — as one unit."""
        if getattr(self._unit, "session", None) is not None:
            yield  # already inside one
            return
        try:
            with self._sessions.begin() as session:
                self._unit.session = session
                yield
        except SQLAlchemyError as exc:
            raise StorageError(
                f"storage: unable to commit: {exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"
            ) from exc
        finally:
            self._unit.session = None

    # -- schema ---------------------------------------------------------------

    @_storage_errors("upgrade the schema")
    def upgrade(self) -> str | None:
        """Apply pending migrations; return the schema revision.  A schema newer than this
        version knows raises :class:`DatabaseUnusable` naming the version that made it."""
        return migrate.upgrade(self.engine)

    @_storage_errors("read the schema revision")
    def schema_revision(self) -> str | None:
        return migrate.current_revision(self.engine)

    @_storage_errors("read the schema revision")
    def known_schema_revision(self) -> str | None:
        """:meth:`schema_revision`, refused (``DatabaseUnusable``) when newer than this
        version knows: the check every command makes before it starts."""
        return migrate.known_revision(self.engine)

    @_storage_errors("read a setting")
    def get_setting(self, key: str) -> str | None:
        with self._tx() as s:
            row = s.get(Setting, key)
            return None if row is None else row.value

    @_storage_errors("write a setting")
    def set_setting(self, key: str, value: str) -> None:
        with self._tx() as s:
            s.merge(Setting(key=key, value=value))


@contextmanager
def savepoint(s: Session) -> Iterator[None]:
    """A savepoint inside the session's transaction: an error in the block undoes the
    block only, and the transaction goes on (on PostgreSQL, too, where a failed statement
    otherwise aborts all of it).

    SQLite's driver opens a transaction only at the first write, and a savepoint opened
    before one would be the outermost, whose release commits everything so far: the
    transaction is begun first."""
    if s.get_bind().dialect.name == "sqlite":
        connection = s.connection()
        if not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
            connection.exec_driver_sql("BEGIN")
    with s.begin_nested():
        yield


def _upsert(
    s: Session, model: Any, key: Any, rows: list[dict[str, Any]], on_insert: dict[str, Any]
) -> None:
    """Insert the rows whose key is new, update the others; both as executemany."""
    if not rows:
        return
    keys = [row[key.key] for row in rows]
    existing: set[Any] = set()
    for chunk in _chunks(keys, 500):
        existing.update(s.scalars(select(key).where(key.in_(chunk))))
    fresh = [{**on_insert, **row} for row in rows if row[key.key] not in existing]
    known = [row for row in rows if row[key.key] in existing]
    if fresh:
        s.execute(insert(model), fresh)
    if known:
        s.execute(update(model), known)


def _chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
