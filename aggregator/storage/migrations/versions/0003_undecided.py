"""items waiting for the decider

Revision: 0003 (after 0002)
Created: 2026-12-03 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "undecided",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("is_new", sa.Boolean(), nullable=False),
        sa.Column("queued", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_undecided_item_id_items"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_undecided")),
    )
    op.create_index(op.f("ix_undecided_queued"), "undecided", ["queued"], unique=False)
    # Items a running 0.3 left undecided (a crash between storing and deciding) or edited:
    # their evidence was counted when they were stored.
    op.execute(
        "INSERT INTO undecided (item_id, is_new, queued) "
        "SELECT items.id, false, CURRENT_TIMESTAMP FROM items "
        "LEFT JOIN memberships ON memberships.item_id = items.id "
        "WHERE memberships.item_id IS NULL OR items.fingerprint IS NULL"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_undecided_queued"), table_name="undecided")
    op.drop_table("undecided")
