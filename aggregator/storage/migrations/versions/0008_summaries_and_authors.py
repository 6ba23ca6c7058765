"""entry summaries and structured authors (issue 17)

Revision: 0008 (after 0007)
Created: 2026-12-03 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch copy: SQLite adds a column with a constant default in
    # place, and the items table is the largest there is.  Items stored before have no
    # summary and their display author alone, until their source sends them again.
    op.add_column("items", sa.Column("summary_html", sa.Text(), server_default="", nullable=False))
    op.add_column("items", sa.Column("authors", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    # Not a batch copy either: on SQLite, with foreign keys on, dropping the old items
    # table would first delete its rows and cascade to every membership and reader mark.
    # SQLite drops a plain column in place (3.35 and later).
    op.drop_column("items", "authors")
    op.drop_column("items", "summary_html")
