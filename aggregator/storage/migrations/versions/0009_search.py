"""full-text search over stories: the search index, filled with the items stored so far

Revision: 0009 (after 0008)
Created: 2026-12-03 18:00:00

The index is not a model (an FTS5 table on SQLite, a ``tsvector`` table on PostgreSQL,
each with the triggers that keep it): a new database gets it from the same functions
(``aggregator.storage.fulltext``) right after ``create_all``, so both paths build one
schema.
"""

from alembic import op

from aggregator.storage.fulltext import create_index, drop_index, fill_index

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    create_index(connection)
    fill_index(connection)


def downgrade() -> None:
    drop_index(op.get_bind())
