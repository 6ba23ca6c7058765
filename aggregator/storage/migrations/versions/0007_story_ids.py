"""reader state by story (issue 15): each membership carries its story's id and whether
it is the canonical copy, indexed, so the reader APIs find a story's copies and list
stories by time without a subquery per story; items are indexed by (feed, time)

Revision: 0007 (after 0006)
Created: 2026-12-03 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The rule as it stands at this revision (its home is aggregator/storage/stories.py): a
# story's id is its cluster's lowest item id; the canonical copy is the cluster's
# canonical item.  Written out here so the migration does not change with the models.
FILL = """
UPDATE memberships SET
    story_id = (SELECT min(first.item_id) FROM memberships AS first
                WHERE first.cluster_id = memberships.cluster_id),
    canonical = CASE WHEN memberships.item_id = (
        SELECT clusters.canonical_item_id FROM clusters
        WHERE clusters.id = memberships.cluster_id) THEN {true} ELSE {false} END
"""


def upgrade() -> None:
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("story_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("canonical", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.execute(FILL.format(true="1" if sqlite else "TRUE", false="0" if sqlite else "FALSE"))
    with op.batch_alter_table("memberships") as batch:
        batch.alter_column("story_id", existing_type=sa.Integer(), nullable=False)
        batch.create_index(batch.f("ix_memberships_story_id"), ["story_id"], unique=False)
    # Unread counts per feed read (feed, time) from an index, not from the wide rows;
    # the index on the feed alone it replaces had nothing this one does not serve.
    with op.batch_alter_table("items") as batch:
        batch.drop_index(batch.f("ix_items_feed_id"))
        batch.create_index("ix_items_feed_id_sort_time", ["feed_id", "sort_time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_index("ix_items_feed_id_sort_time")
        batch.create_index(batch.f("ix_items_feed_id"), ["feed_id"], unique=False)
    with op.batch_alter_table("memberships") as batch:
        batch.drop_index(batch.f("ix_memberships_story_id"))
        batch.drop_column("canonical")
        batch.drop_column("story_id")
