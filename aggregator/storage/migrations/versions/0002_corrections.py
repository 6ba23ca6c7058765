"""user corrections

Revision: 0002 (after 0001)
Created: 2026-11-27 00:37:09.845931
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("other_item_id", sa.Integer(), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_corrections_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["other_item_id"],
            ["items.id"],
            name=op.f("fk_corrections_other_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrections")),
    )


def downgrade() -> None:
    op.drop_table("corrections")
