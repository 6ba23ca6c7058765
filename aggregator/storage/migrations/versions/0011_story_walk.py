"""items by time with their id and feed in the index: a reader's story page walks the
items' time index past every item the user has read, and no longer reads their rows

Revision: 0011 (after 0010)
Created: 2026-12-04 01:40:00

An unread page for a user who has read most stories passes every item read before it:
reading each such item's row (its texts) cost more than the rest of the query. The index
on ``sort_time`` alone goes: the new one, led by ``sort_time``, serves each of its uses,
and ingest keeps as many indexes to write.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_index(batch.f("ix_items_sort_time"))
        batch.create_index(
            "ix_items_sort_time_id_feed_id", ["sort_time", "id", "feed_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_index("ix_items_sort_time_id_feed_id")
        batch.create_index(batch.f("ix_items_sort_time"), ["sort_time"], unique=False)
