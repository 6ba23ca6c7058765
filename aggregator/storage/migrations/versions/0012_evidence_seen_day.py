"""block_counts.seen_day: the UTC day a block was last counted, so that the evidence of
blocks seen once can be forgotten when it grows old

Revision: 0012 (after 0011)
Created: 2026-12-04 11:50:00

Every short block of every new item is counted for its feed, and almost all of them are
story sentences counted once: without an age the table, and the decider's memory of it,
only grew. Rows that were there before this revision are aged from the day it ran.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both databases (no table rebuild on SQLite).  SQLite commits
    # it on its own, before the version is stamped: after a kill during the UPDATE the
    # column is there at 0011, so the next upgrade must not add it again.
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("block_counts")}
    if "seen_day" not in columns:
        op.add_column(
            "block_counts",
            sa.Column("seen_day", sa.Integer(), nullable=False, server_default="0"),
        )
    today = (datetime.now(UTC).date() - datetime(1970, 1, 1).date()).days
    op.execute(
        sa.text("UPDATE block_counts SET seen_day = :today WHERE seen_day = 0").bindparams(
            today=today
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("block_counts") as batch:
        batch.drop_column("seen_day")
