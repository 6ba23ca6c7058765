"""reader-app users: tokens, subscriptions, read and starred state

Revision: 0006 (after 0005)
Created: 2026-12-12 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _marks(table: str) -> None:
    op.create_table(
        table,
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f(f"fk_{table}_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["reader_users.id"],
            name=op.f(f"fk_{table}_user_id_reader_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "item_id", name=op.f(f"pk_{table}")),
    )
    op.create_index(op.f(f"ix_{table}_item_id"), table, ["item_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "reader_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("fever_key", sa.String(length=64), nullable=True),
        sa.Column("feeds_seen", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reader_users")),
        sa.UniqueConstraint("fever_key", name=op.f("uq_reader_users_fever_key")),
        sa.UniqueConstraint("name", name=op.f("uq_reader_users_name")),
    )
    op.create_table(
        "reader_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["reader_users.id"],
            name=op.f("fk_reader_tokens_user_id_reader_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_reader_tokens")),
    )
    op.create_index(op.f("ix_reader_tokens_user_id"), "reader_tokens", ["user_id"], unique=False)
    op.create_table(
        "reader_subscriptions",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("folder", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
            name=op.f("fk_reader_subscriptions_feed_id_feeds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["reader_users.id"],
            name=op.f("fk_reader_subscriptions_user_id_reader_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "feed_id", name=op.f("pk_reader_subscriptions")),
    )
    op.create_index(
        op.f("ix_reader_subscriptions_feed_id"), "reader_subscriptions", ["feed_id"], unique=False
    )
    op.create_table(
        "reader_added_feeds",
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
            name=op.f("fk_reader_added_feeds_feed_id_feeds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["reader_users.id"],
            name=op.f("fk_reader_added_feeds_user_id_reader_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("feed_id", name=op.f("pk_reader_added_feeds")),
    )
    op.create_index(
        op.f("ix_reader_added_feeds_user_id"), "reader_added_feeds", ["user_id"], unique=False
    )
    _marks("reader_read")
    _marks("reader_starred")


def downgrade() -> None:
    for table in ("reader_starred", "reader_read"):
        op.drop_index(op.f(f"ix_{table}_item_id"), table_name=table)
        op.drop_table(table)
    op.drop_index(op.f("ix_reader_added_feeds_user_id"), table_name="reader_added_feeds")
    op.drop_table("reader_added_feeds")
    op.drop_index(op.f("ix_reader_subscriptions_feed_id"), table_name="reader_subscriptions")
    op.drop_table("reader_subscriptions")
    op.drop_index(op.f("ix_reader_tokens_user_id"), table_name="reader_tokens")
    op.drop_table("reader_tokens")
    op.drop_table("reader_users")
