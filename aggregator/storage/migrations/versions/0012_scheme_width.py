"""a wider fingerprint scheme column: the scheme's name had reached its 100 characters

Revision: 0012 (after 0011)
Created: 2026-12-04 09:00:00

The scheme names every parameter a fingerprint depends on, so that a change re-fingerprints
what was stored under the old one; at 100 characters, the next parameter could not be named.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.alter_column(
            "fingerprint_scheme",
            existing_type=sa.String(length=100),
            type_=sa.String(length=200),
            existing_nullable=True,
        )


def downgrade() -> None:
    # A longer name does not fit the old column: those fingerprints are stored again at the
    # next start under whatever scheme that version names.
    op.execute("UPDATE items SET fingerprint_scheme = NULL WHERE length(fingerprint_scheme) > 100")
    with op.batch_alter_table("items") as batch:
        batch.alter_column(
            "fingerprint_scheme",
            existing_type=sa.String(length=200),
            type_=sa.String(length=100),
            existing_nullable=True,
        )
