"""a feed can be kept whole: feeds.dedup

Revision: 0004 (after 0003)
Created: 2026-12-03 15:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("dedup", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("dedup")
