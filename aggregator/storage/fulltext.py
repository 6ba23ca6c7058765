"""The full-text index over items: SQLite FTS5 or PostgreSQL text search, one interface.

Triggers on ``items`` keep the index's books, so each way an item is written or removed
(ingest, an edited entry, a feed's removal, a bulk ``COPY``) needs no code of its own; but
they do not index.  A new or edited item's id goes to a *pending* table, and
:func:`catch_up` indexes what waits there, in batches, off the path that stores items:
reading a text into words is most of the cost of storing it, and a poll should not wait
for it (the daemon catches up on a timer, and a search catches up before it answers, so
no search misses a stored item).  Every item is in exactly one of the two places: in the
index, or pending; a removed or edited item leaves the index through the values that
were indexed (FTS5 needs them to forget a row).

A result is a *story*: matching items are grouped by the cluster they belong to when the
query runs, so a split or a merge needs no re-indexing.  Items not yet decided belong to
no story and are found once placed.

The index is not made of SQLAlchemy models (an FTS5 virtual table, a ``tsvector``): the
functions here build it, for a new database (the ``create_all`` path of
:mod:`aggregator.storage.migrate`) and for an existing one (migration 0009) alike, and
:func:`include_name` keeps it out of the comparison of models and migrations.

What a user types is never query syntax: :func:`query_terms` keeps its words only, and
each backend quotes them, so quotes, operators and parentheses find what their words find.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

INDEX_NAME = "item_search"
"""The index's table; its other parts (FTS5's shadow tables, triggers) start with it."""
PENDING = f"{INDEX_NAME}_pending"
"""The ids of items stored or edited since they were last indexed."""
CATCH_UP_BATCH = 2_000
"""Items indexed per transaction: a writer waiting behind one waits a fraction of a second."""
MAX_TERMS = 16
"""Words of a query beyond these are ignored: each one costs a pass over its postings."""
MAX_TERM_CHARS = 64
MAX_RANKED = 2_000
"""Matching items ranked per query, the most recently stored: ranking reads each one, and a
word found in more items than this says little about any one of them."""
MAX_LIMIT = 500
PG_INDEXED_CHARS = 200_000
"""PostgreSQL indexes this much of an item's text: a ``tsvector`` holds at most 1 MB of
words, and a longer text would make the item itself fail to store."""
_WORD = re.compile(r"[^\W_]+")
"""Letters and digits: the characters both databases' tokenizers keep in a word."""
START_MARK, END_MARK = "\ue000", "\ue001"
"""Private-use characters around each match in a snippet.  A text that carried them itself
would only misplace a highlight: the parts are text, escaped wherever they are shown."""
_SNIPPET_WORDS = 24
_SPACE = re.compile(r"\s+")


def query_terms(query: str) -> tuple[str, ...]:
    """The words of ``query``, in order, without repeats; nothing of it is syntax."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(unicodedata.normalize("NFKC", query)):
        seen.setdefault(word[:MAX_TERM_CHARS].lower(), None)
        if len(seen) == MAX_TERMS:
            break
    return tuple(seen)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name`` hook: the search index is not part of the models."""
    return not (type_ == "table" and name is not None and is_search_table(name))


def is_search_table(name: str) -> bool:
    return name == INDEX_NAME or name.startswith(INDEX_NAME + "_")


class Backend(Protocol):
    def create(self, connection: Connection) -> None: ...
    def keep(self, connection: Connection, *, deferred: bool) -> None:
        """(Re)place the triggers: ``deferred``, new and edited items wait in the pending
        table; else (the schema of revision 0009) each is indexed as it is written."""
        ...

    def fill(self, connection: Connection) -> None: ...
    def catch_up(self, connection: Connection, limit: int) -> int:
        """Index up to ``limit`` pending items, the oldest ids first; how many."""
        ...

    def drop(self, connection: Connection) -> None: ...
    def best_items(
        self, connection: Connection, terms: Sequence[str], limit: int
    ) -> list[tuple[int, int | None]]:
        """``(item_id, cluster_id)`` of the ``limit`` best-matching items, best first (the
        cluster None for an item not yet decided), among the newest :data:`MAX_RANKED`
        matching items."""
        ...

    def snippets(
        self, connection: Connection, terms: Sequence[str], item_ids: Sequence[int]
    ) -> dict[int, str]:
        """``item_id → text around its matches``, the matches between the marks."""
        ...


class _Fts5:
    """SQLite: an FTS5 table over ``items`` (external content: the text is not stored
    twice), kept by triggers; ranked by BM25 with a title match worth more."""

    def create(self, connection: Connection) -> None:
        connection.exec_driver_sql(
            f"CREATE VIRTUAL TABLE {INDEX_NAME} USING fts5(title, text, content='items', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 2', detail=column)"
        )
        self.keep(connection, deferred=True)

    # FTS5 forgets a row only when given the values it indexed: old.*, and only for a row
    # it holds (one still pending was never indexed).
    _FORGET_OLD = (
        f"INSERT INTO {INDEX_NAME}({INDEX_NAME}, rowid, title, text) "
        "SELECT 'delete', old.id, old.title, old.text"
        f" WHERE NOT EXISTS (SELECT 1 FROM {PENDING} WHERE item_id = old.id);"
    )
    _INDEX_NEW = (
        f"INSERT INTO {INDEX_NAME}(rowid, title, text) VALUES (new.id, new.title, new.text);"
    )
    _QUEUE_NEW = f"INSERT OR IGNORE INTO {PENDING}(item_id) VALUES (new.id);"

    def keep(self, connection: Connection, *, deferred: bool) -> None:
        self._drop_triggers(connection)
        connection.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {PENDING} (item_id INTEGER PRIMARY KEY)"
        )
        on_write = self._QUEUE_NEW if deferred else self._INDEX_NEW
        for statement in (
            f"CREATE TRIGGER {INDEX_NAME}_insert AFTER INSERT ON items BEGIN {on_write} END",
            f"CREATE TRIGGER {INDEX_NAME}_delete AFTER DELETE ON items BEGIN "
            f"{self._FORGET_OLD} DELETE FROM {PENDING} WHERE item_id = old.id; END",
            f"CREATE TRIGGER {INDEX_NAME}_update AFTER UPDATE OF title, text ON items BEGIN "
            f"{self._FORGET_OLD} {on_write} END",
        ):
            connection.exec_driver_sql(statement)

    def fill(self, connection: Connection) -> None:
        connection.exec_driver_sql(f"INSERT INTO {INDEX_NAME}({INDEX_NAME}) VALUES ('rebuild')")
        connection.exec_driver_sql(f"DELETE FROM {PENDING}")  # 'rebuild' indexed them all

    def catch_up(self, connection: Connection, limit: int) -> int:
        # Taken from the pending table first: that write holds the database's one write
        # lock, so no other writer moves an item between the two statements.
        ids = [
            row[0]
            for row in connection.execute(
                text(
                    f"DELETE FROM {PENDING} WHERE item_id IN (SELECT item_id FROM {PENDING}"
                    " ORDER BY item_id LIMIT :limit) RETURNING item_id"
                ),
                {"limit": limit},
            )
        ]
        if ids:
            connection.execute(
                text(
                    f"INSERT INTO {INDEX_NAME}(rowid, title, text)"
                    " SELECT id, title, text FROM items WHERE id IN :ids ORDER BY id"
                ).bindparams(bindparam("ids", expanding=True)),
                {"ids": ids},
            )
        return len(ids)

    @staticmethod
    def _drop_triggers(connection: Connection) -> None:
        for kind in ("insert", "delete", "update"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {INDEX_NAME}_{kind}")

    def drop(self, connection: Connection) -> None:
        self._drop_triggers(connection)
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {PENDING}")
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {INDEX_NAME}")

    @staticmethod
    def _match(terms: Sequence[str]) -> str:
        # Each word a quoted string: FTS5 reads nothing inside one as an operator.
        return " ".join('"' + term.replace('"', '""') + '"' for term in terms)

    def best_items(
        self, connection: Connection, terms: Sequence[str], limit: int
    ) -> list[tuple[int, int | None]]:
        rows = connection.execute(
            text(
                f"SELECT hit.item_id, m.cluster_id FROM ("
                " SELECT item_id, score FROM ("
                f"  SELECT rowid AS item_id, bm25({INDEX_NAME}, 4.0, 1.0) AS score"
                f"  FROM {INDEX_NAME} WHERE {INDEX_NAME} MATCH :match"
                "   ORDER BY rowid DESC LIMIT :ranked)"
                " ORDER BY score, item_id DESC LIMIT :limit) AS hit"
                " LEFT JOIN memberships AS m ON m.item_id = hit.item_id"
                " ORDER BY hit.score, hit.item_id DESC"
            ),
            {"match": self._match(terms), "ranked": MAX_RANKED, "limit": limit},
        )
        return [(row.item_id, row.cluster_id) for row in rows]

    def snippets(
        self, connection: Connection, terms: Sequence[str], item_ids: Sequence[int]
    ) -> dict[int, str]:
        query = text(
            f"SELECT rowid AS item_id, snippet({INDEX_NAME}, 1, :start, :end, '…', "
            f"{_SNIPPET_WORDS}) AS snippet FROM {INDEX_NAME}"
            f" WHERE {INDEX_NAME} MATCH :match AND rowid IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        rows = connection.execute(
            query,
            {"match": self._match(terms), "start": START_MARK, "end": END_MARK, "ids": item_ids},
        )
        return {row.item_id: row.snippet or "" for row in rows}


class _PgText:
    """PostgreSQL: a narrow table of ``tsvector`` documents (the title weighted above the
    text) under a GIN index, kept by a trigger; ranked by ``ts_rank``.  Its own table, not a
    column of ``items``: a match is read from small rows, never from the wide item rows."""

    _DOCUMENT = (
        "setweight(to_tsvector('simple', coalesce({row}.title, '')), 'A') || "
        f"setweight(to_tsvector('simple', left({{row}}.text, {PG_INDEXED_CHARS})), 'D')"
    )

    def create(self, connection: Connection) -> None:
        connection.exec_driver_sql(
            f"CREATE TABLE {INDEX_NAME} ("
            " item_id integer PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,"
            " document tsvector NOT NULL)"
        )
        connection.exec_driver_sql(
            f"CREATE INDEX ix_{INDEX_NAME}_document ON {INDEX_NAME} USING gin (document)"
        )
        self.keep(connection, deferred=True)

    def keep(self, connection: Connection, *, deferred: bool) -> None:
        # A removed item leaves both tables by their foreign keys; an edited one leaves
        # the index for the pending table, as on SQLite.
        self._drop_function(connection)
        connection.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {PENDING} ("
            " item_id integer PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE)"
        )
        on_write = (
            f"DELETE FROM {INDEX_NAME} WHERE item_id = NEW.id; "
            f"INSERT INTO {PENDING} (item_id) VALUES (NEW.id) ON CONFLICT DO NOTHING"
            if deferred
            else f"INSERT INTO {INDEX_NAME} (item_id, document) "
            f"VALUES (NEW.id, {self._DOCUMENT.format(row='NEW')}) "
            "ON CONFLICT (item_id) DO UPDATE SET document = EXCLUDED.document"
        )
        connection.exec_driver_sql(
            f"CREATE FUNCTION {INDEX_NAME}_sync() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {on_write}; RETURN NULL; END $$"
        )
        connection.exec_driver_sql(
            f"CREATE TRIGGER {INDEX_NAME}_sync AFTER INSERT OR UPDATE OF title, text ON items "
            f"FOR EACH ROW EXECUTE FUNCTION {INDEX_NAME}_sync()"
        )

    def fill(self, connection: Connection) -> None:
        connection.exec_driver_sql(
            f"INSERT INTO {INDEX_NAME} (item_id, document) "
            f"SELECT items.id, {self._DOCUMENT.format(row='items')} FROM items "
            "ON CONFLICT (item_id) DO NOTHING"
        )
        connection.exec_driver_sql(f"DELETE FROM {PENDING}")

    def catch_up(self, connection: Connection, limit: int) -> int:
        # SKIP LOCKED: processes catching up at once take different items.
        result = connection.execute(
            text(
                f"WITH batch AS (DELETE FROM {PENDING} WHERE item_id IN ("
                f" SELECT item_id FROM {PENDING} ORDER BY item_id LIMIT :limit"
                " FOR UPDATE SKIP LOCKED) RETURNING item_id)"
                f" INSERT INTO {INDEX_NAME} (item_id, document)"
                f" SELECT items.id, {self._DOCUMENT.format(row='items')}"
                " FROM items JOIN batch ON batch.item_id = items.id"
                " ON CONFLICT (item_id) DO UPDATE SET document = EXCLUDED.document"
            ),
            {"limit": limit},
        )
        return int(result.rowcount or 0)

    @staticmethod
    def _drop_function(connection: Connection) -> None:
        # CASCADE takes the trigger too (and works where ``items`` is gone already).
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {INDEX_NAME}_sync() CASCADE")

    def drop(self, connection: Connection) -> None:
        self._drop_function(connection)
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {PENDING}")
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {INDEX_NAME}")

    @staticmethod
    def _query(terms: Sequence[str]) -> str:
        # plainto_tsquery reads its argument as words, never as tsquery syntax.
        return " ".join(terms)

    def best_items(
        self, connection: Connection, terms: Sequence[str], limit: int
    ) -> list[tuple[int, int | None]]:
        # The newest matches come from one of two walks, chosen here because the planner
        # misjudges them (it does not count the reading of each document a filter needs):
        # for common words, the items newest first, testing each, soon finds enough; for
        # the others, the GIN index gives every match (the ``+ 0`` keeps the planner from
        # the primary key's order).
        order = "s.item_id" if self._common(connection, terms) else "s.item_id + 0"
        rows = connection.execute(
            text(
                "WITH recent AS ("
                f" SELECT s.item_id FROM {INDEX_NAME} AS s"
                " WHERE s.document @@ plainto_tsquery('simple', :words)"
                f" ORDER BY {order} DESC LIMIT :ranked),"
                # Only the chosen items' documents are read to rank them.
                " hit AS ("
                " SELECT recent.item_id, ("
                "  SELECT ts_rank(d.document, plainto_tsquery('simple', :words))"
                f"  FROM {INDEX_NAME} AS d WHERE d.item_id = recent.item_id) AS score"
                " FROM recent ORDER BY score DESC, recent.item_id DESC LIMIT :limit)"
                " SELECT hit.item_id, m.cluster_id FROM hit"
                " LEFT JOIN memberships AS m ON m.item_id = hit.item_id"
                " ORDER BY hit.score DESC, hit.item_id DESC"
            ),
            {"words": self._query(terms), "ranked": MAX_RANKED, "limit": limit},
        )
        return [(row.item_id, row.cluster_id) for row in rows]

    @staticmethod
    def _common(connection: Connection, terms: Sequence[str]) -> bool:
        """Whether items holding every word are so frequent that walking the items newest
        first finds :data:`MAX_RANKED` of them sooner than the index lists them all: the
        walk reads about ``MAX_RANKED / share`` items, the index ``share × items``, so it
        pays above a share of ``sqrt(MAX_RANKED / items)``.  The share comes from the
        table's statistics (the most common words and their frequencies, as ANALYZE
        keeps them); a word not among them is rare, and so is a table without them."""
        row = connection.execute(
            text(
                "SELECT s.most_common_elems::text::text[] AS words,"
                " s.most_common_elem_freqs AS shares, c.reltuples AS items"
                " FROM pg_stats AS s JOIN pg_class AS c ON c.relname = s.tablename"
                " WHERE s.tablename = :table AND s.attname = 'document'"
                " AND s.schemaname = current_schema()"
            ),
            {"table": INDEX_NAME},
        ).first()
        if row is None or not row.words or not row.items or row.items <= MAX_RANKED:
            return False
        shares = dict(zip(row.words, row.shares, strict=False))
        share = 1.0
        for term in terms:
            share *= shares.get(term, 0.0)  # as if the words occurred independently
        return bool(share >= math.sqrt(MAX_RANKED / row.items))

    def snippets(
        self, connection: Connection, terms: Sequence[str], item_ids: Sequence[int]
    ) -> dict[int, str]:
        options = (
            f"StartSel={START_MARK}, StopSel={END_MARK}, MaxWords={_SNIPPET_WORDS}, "
            "MinWords=8, MaxFragments=1, FragmentDelimiter=…"
        )
        query = text(
            "SELECT items.id AS item_id, ts_headline('simple', "
            f"left(items.text, {PG_INDEXED_CHARS}), plainto_tsquery('simple', :words), "
            ":options) AS snippet FROM items WHERE items.id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        rows = connection.execute(
            query, {"words": self._query(terms), "options": options, "ids": item_ids}
        )
        return {row.item_id: row.snippet or "" for row in rows}


def backend_of(connection: Connection) -> Backend:
    return _PgText() if connection.dialect.name == "postgresql" else _Fts5()


def create_index(connection: Connection) -> None:
    """Build the (empty) search index and the triggers that keep it."""
    backend_of(connection).create(connection)


def fill_index(connection: Connection) -> None:
    """Index the items already stored (an existing database gaining the index)."""
    backend_of(connection).fill(connection)


def drop_index(connection: Connection) -> None:
    backend_of(connection).drop(connection)


def defer_indexing(connection: Connection, deferred: bool = True) -> None:
    """Index new and edited items later, by :func:`catch_up` (``deferred``), or as each is
    written (revision 0009's way, which a downgrade restores)."""
    backend_of(connection).keep(connection, deferred=deferred)


def catch_up(connection: Connection, limit: int = CATCH_UP_BATCH) -> int:
    """Index up to ``limit`` of the items waiting to be; how many were."""
    return backend_of(connection).catch_up(connection, limit)


def snippet_parts(snippet: str) -> tuple[tuple[str, bool], ...]:
    """``snippet`` as ``(text, is_match)`` parts, from the marks around its matches."""
    parts: list[tuple[str, bool]] = []
    for index, piece in enumerate(re.split(f"[{START_MARK}{END_MARK}]", snippet)):
        chunk = _SPACE.sub(" ", piece)  # the text's blocks are lines; a snippet is one
        if chunk:
            parts.append((chunk, index % 2 == 1))
    return tuple(parts)


__all__ = [
    "CATCH_UP_BATCH",
    "INDEX_NAME",
    "PENDING",
    "Backend",
    "backend_of",
    "catch_up",
    "create_index",
    "defer_indexing",
    "drop_index",
    "fill_index",
    "include_name",
    "query_terms",
    "snippet_parts",
]
