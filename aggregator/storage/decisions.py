"""Who decides, and what waits for a decision.

Any process may store items; one process at a time decides them (the *decider*).  Stored
items wait in the ``undecided`` table until the decider places them; the row goes in the
transaction that stores the decision, so a crash anywhere leaves each item either
decided once or still waiting.

The decider holds a lease: on PostgreSQL a session advisory lock on a connection of its
own, on SQLite an ``flock`` on a file beside the database.  Both end with the process (or
its connection), so a standby takes over when the holder dies.  Taking the lease writes a
new *fencing token*; every decision checks, in its own transaction, that the token is
still the one it was given, so a decider that lost its lease without noticing (a
connection that died under it) cannot write over its successor.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from aggregator.errors import StorageError
from aggregator.storage.base import StorageBase, _chunks, _storage_errors
from aggregator.storage.models import Setting, Undecided, utcnow

FENCE_KEY = "decider"
_ADVISORY_KEY = 0x61676772  # "aggr": the lease's advisory lock on PostgreSQL


class LostLease(StorageError):
    """Another process has become the decider: this one must stop deciding."""


def check_fence(s: Session, token: str | None) -> None:
    """Inside a decision's transaction: fail unless ``token`` is still the decider's."""
    if token is None:
        return
    result: Any = s.execute(
        update(Setting).where(Setting.key == FENCE_KEY, Setting.value == token).values(value=token)
    )
    if result.rowcount != 1:
        raise LostLease("storage: another process has become the decider")


def record_decided(s: Session, item_ids: Sequence[int]) -> None:
    """Inside a decision's transaction: these items no longer wait."""
    for chunk in _chunks(list(item_ids), 500):
        s.execute(delete(Undecided).where(Undecided.item_id.in_(chunk)))


class DeciderLease:
    """The right to decide, for one process at a time (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._file: IO[bytes] | None = None
        self._connection: Connection | None = None
        self.token: str | None = None

    @property
    def held(self) -> bool:
        """Whether this process still holds the lease (a PostgreSQL connection that died
        took the lock with it)."""
        if self.token is None:
            return False
        if self._connection is None:
            return True
        try:
            self._connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            self._drop()
            return False

    def try_acquire(self) -> bool:
        """Take the lease if no other process holds it; True when this process holds it."""
        if self.held:
            return True
        if not self._lock():
            return False
        self.token = uuid.uuid4().hex
        try:
            with Session(self._engine) as s, s.begin():
                s.merge(Setting(key=FENCE_KEY, value=self.token))
        except SQLAlchemyError:
            self.release()
            raise
        return True

    def release(self) -> None:
        self.token = None
        self._drop()

    def _lock(self) -> bool:
        if self._engine.dialect.name == "postgresql":
            connection = self._engine.connect()
            try:
                got = connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": _ADVISORY_KEY}
                ).scalar()
                connection.commit()
            except SQLAlchemyError:
                connection.close()
                raise
            if not got:
                connection.close()
                return False
            self._connection = connection
            return True
        path = self._engine.url.database
        if self._engine.dialect.name != "sqlite" or not path or path == ":memory:":
            return True  # one process by construction (an in-memory database)
        handle = open(f"{path}.decider.lock", "ab")  # noqa: SIM115 - held for the lease
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        os.set_inheritable(handle.fileno(), False)  # a child process must not keep it
        self._file = handle
        return True

    def _drop(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                # Closing only returns the connection to the pool, where the session (and
                # the lock with it) would live on: unlock first.
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_KEY})
                connection.commit()
            except SQLAlchemyError:
                connection.invalidate()  # a dead connection took the lock with it
            with contextlib.suppress(SQLAlchemyError):
                connection.close()
        if self._file is not None:
            self._file.close()  # closing the file releases the flock
            self._file = None


class DecisionsMixin(StorageBase):
    """The ``undecided`` hand-off and the decider's lease."""

    def decider_lease(self) -> DeciderLease:
        return DeciderLease(self.engine)

    @_storage_errors("queue items for a decision")
    def queue_for_decision(self, rows: Sequence[tuple[int, bool]]) -> None:
        """``(item_id, is_new)``: these items wait for the decider (a repeat is kept once;
        an item waiting as new stays new)."""
        if not rows:
            return
        now = utcnow()
        with self._tx() as s:
            ids = [item_id for item_id, _ in rows]
            waiting: set[int] = set()
            for chunk in _chunks(ids, 500):
                waiting.update(
                    s.scalars(select(Undecided.item_id).where(Undecided.item_id.in_(chunk)))
                )
            fresh = {item_id: is_new for item_id, is_new in rows if item_id not in waiting}
            if fresh:
                s.execute(
                    insert(Undecided),
                    [{"item_id": i, "is_new": n, "queued": now} for i, n in fresh.items()],
                )

    @_storage_errors("read the items waiting for a decision")
    def undecided(self, limit: int) -> list[tuple[int, bool]]:
        """The oldest waiting items: ``(item_id, is_new)``."""
        with self._tx() as s:
            return [
                (r.item_id, r.is_new)
                for r in s.execute(
                    select(Undecided.item_id, Undecided.is_new)
                    .order_by(Undecided.queued, Undecided.item_id)
                    .limit(limit)
                )
            ]

    @_storage_errors("read the decision backlog")
    def decision_backlog(self) -> tuple[int, datetime | None]:
        """How many items wait for the decider, and since when the oldest has."""
        with self._tx() as s:
            count, oldest = s.execute(select(func.count(), func.min(Undecided.queued))).one()
            return int(count or 0), oldest

    @_storage_errors("read the items waiting for a decision")
    def waiting(self, item_ids: Sequence[int]) -> set[int]:
        """Which of these items still wait for a decision."""
        out: set[int] = set()
        with self._tx() as s:
            for chunk in _chunks(list(item_ids), 500):
                out.update(s.scalars(select(Undecided.item_id).where(Undecided.item_id.in_(chunk))))
        return out

    @_storage_errors("count boilerplate evidence")
    def evidence_counted(self, item_ids: Sequence[int], fence: str | None) -> None:
        """Their evidence is counted (in the caller's unit, with the counts)."""
        with self._tx() as s:
            check_fence(s, fence)
            for chunk in _chunks(list(item_ids), 500):
                s.execute(
                    update(Undecided).where(Undecided.item_id.in_(chunk)).values(is_new=False)
                )
