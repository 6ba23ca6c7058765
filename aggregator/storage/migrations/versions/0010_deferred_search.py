"""search indexes new and edited items off the storing path: a pending table, drained later

Revision: 0010 (after 0009)
Created: 2026-12-03 22:00:00

The triggers of 0009 indexed each item as it was written; from here they only queue its
id, and ``aggregator.storage.fulltext.catch_up`` indexes what waits.  What 0009 indexed
stays indexed.
"""

from alembic import op

from aggregator.storage.fulltext import catch_up, defer_indexing

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    defer_indexing(op.get_bind())


def downgrade() -> None:
    connection = op.get_bind()
    while catch_up(connection):  # 0009's code reads no pending table: index all first
        pass
    defer_indexing(connection, deferred=False)
