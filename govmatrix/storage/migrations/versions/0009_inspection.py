"""inspection: comments under the accounts' posts (the interaction evidence) and the day's alarms

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from govmatrix.storage.schema import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "comments",
        sa.Column("id", BigId, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("native_id", sa.String(length=200), nullable=False),
        sa.Column("post_native_id", sa.String(length=200), nullable=False),
        sa.Column("root_native_id", sa.String(length=200), nullable=True),
        sa.Column("reply_to", sa.String(length=200), nullable=True),
        sa.Column("by_account", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("likes", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "native_id", name="uq_comments_platform_native"),
    )
    op.create_index("ix_comments_account_created", "comments", ["account_id", "created_at"])
    op.create_index("ix_comments_post", "comments", ["platform", "post_native_id"])
    op.create_table(
        "inspection_alarms",
        sa.Column("id", BigId, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", Json, nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "key", name="uq_inspection_alarms_account_key"),
    )
    op.create_index("ix_inspection_alarms_day", "inspection_alarms", ["day"])


def downgrade() -> None:
    op.drop_index("ix_inspection_alarms_day", "inspection_alarms")
    op.drop_table("inspection_alarms")
    op.drop_index("ix_comments_post", "comments")
    op.drop_index("ix_comments_account_created", "comments")
    op.drop_table("comments")
