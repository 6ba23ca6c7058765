"""where each feed's URL came from

Revision: 0005 (after 0004)
Created: 2026-12-10 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Feeds stored before this revision were subscribed by the operator (the config file,
    # `feeds add`) or by an OPML import that could not be told apart: they keep the rules
    # they were fetched under.
    with op.batch_alter_table("feeds") as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(length=10), server_default="config", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch_op:
        batch_op.drop_column("origin")
