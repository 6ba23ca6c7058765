"""Run the Alembic migrations shipped as ``aggregator.storage.migrations``.

Alembic is imported only when there is something to migrate: importing it costs ~15 MB
of memory and a tenth of a second, and a database already at the newest revision (every
start of a running installation) needs none of it.  A brand-new, empty database is
built the way Alembic's documentation recommends for one — ``create_all`` from the
models, then stamped with the newest revision — which ``tests/test_migrations.py`` holds
to the schema the migrations themselves build.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine

from aggregator import __version__
from aggregator.errors import DatabaseUnusable, StorageError
from aggregator.storage.fulltext import create_index, drop_index, is_search_table
from aggregator.storage.models import Base, Setting

if TYPE_CHECKING:
    from alembic.config import Config

HEAD_REVISION = "0012"
"""The newest revision under ``migrations/versions`` (a test checks it is Alembic's head)."""

# Alembic's own bookkeeping table, as Alembic creates it.
_VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("aggregator.storage.migrations")))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


_MIGRATE_LOCK = 0x61676773  # the advisory lock that serialises upgrades on PostgreSQL


def upgrade(engine: Engine) -> str | None:
    """Bring the schema to the newest revision; return the revision it is at.

    On PostgreSQL, processes that start together (workers on several machines) upgrade
    one at a time, under an advisory lock: the others then find the schema done."""
    if engine.dialect.name != "postgresql":
        return _upgrade(engine)
    with engine.connect() as connection:
        at_head = _revision(connection) == HEAD_REVISION
        if not at_head:
            _refuse_newer(connection)
        connection.commit()  # hold no snapshot or table lock while others migrate
        if at_head:
            return HEAD_REVISION
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATE_LOCK})
        connection.commit()
        try:
            return _upgrade(engine)
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATE_LOCK})
            connection.commit()


def _upgrade(engine: Engine) -> str | None:
    with engine.begin() as connection:
        current = _revision(connection)
        if current == HEAD_REVISION:
            return current
        _refuse_newer(connection)
        if current is None and _new_or_interrupted(connection):
            drop_index(connection)  # what an interrupted first start left
            Base.metadata.drop_all(connection)
            Base.metadata.create_all(connection)
            create_index(connection)  # not a model: migration 0009 builds it the same way
            _VERSION_TABLE.create(connection)
            connection.execute(_VERSION_TABLE.insert().values(version_num=HEAD_REVISION))
            _note_upgrader(connection)
            return HEAD_REVISION
    revision = upgrade_with_alembic(engine)
    with engine.begin() as connection:
        _note_upgrader(connection)
    return revision


UPGRADED_BY = "schema-upgraded-by"
"""The settings key naming the aggregator version that last changed the schema: an older
version that meets the database can then say which version it needs."""


def known_revisions() -> frozenset[str]:
    """The revisions this version ships (from the file names, without importing Alembic)."""
    folder = resources.files("aggregator.storage.migrations").joinpath("versions")
    return frozenset(
        entry.name.split("_", 1)[0]
        for entry in folder.iterdir()
        if entry.name.endswith(".py") and entry.name[:4].isdigit()
    )


def _refuse_newer(connection: Connection) -> None:
    """A schema this version does not know (the code was rolled back): one clear error
    instead of Alembic's "Can't locate revision" traceback, on every command."""
    current = _revision(connection)
    if current is None or current in known_revisions():
        return
    made_by = None
    if inspect(connection).has_table(Setting.__tablename__):
        made_by = connection.execute(
            select(Setting.value).where(Setting.key == UPGRADED_BY)
        ).scalar()
    needed = (
        f"aggregator {made_by} or newer" if made_by else "the newer aggregator that upgraded it"
    )
    raise DatabaseUnusable(
        f"storage: the database schema is at revision {current}, newer than aggregator "
        f"{__version__} knows (up to {HEAD_REVISION}): run {needed} "
        "(`aggregator db upgrade` only moves forward)"
    )


def _note_upgrader(connection: Connection) -> None:
    connection.execute(delete(Setting).where(Setting.key == UPGRADED_BY))
    connection.execute(insert(Setting).values(key=UPGRADED_BY, value=__version__))


def _new_or_interrupted(connection: Connection) -> bool:
    """No tables, or only some of ours and all empty: a first start that died between
    creating the tables and stamping them (SQLite runs DDL outside the transaction)."""
    names = {n for n in inspect(connection).get_table_names() if not is_search_table(n)}
    ours = {table.name: table for table in Base.metadata.sorted_tables}
    if not names <= set(ours):
        return False
    return all(
        connection.execute(select(func.count()).select_from(ours[name])).scalar() == 0
        for name in names
    )


def upgrade_with_alembic(engine: Engine) -> str | None:
    """Run the migrations themselves (any database not at the newest revision)."""
    from alembic import command
    from alembic.util import CommandError

    config = alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except CommandError as exc:
        raise StorageError(f"storage: cannot upgrade the schema: {exc}") from exc
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return _revision(connection)


def known_revision(engine: Engine) -> str | None:
    """The schema's revision (None: no schema yet); a revision newer than this version
    knows raises :class:`DatabaseUnusable`.  Reads only."""
    with engine.connect() as connection:
        _refuse_newer(connection)
        return _revision(connection)


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(_VERSION_TABLE.select()).scalars().all()
    return rows[0] if len(rows) == 1 else None


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
