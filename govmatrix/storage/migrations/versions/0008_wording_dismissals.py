"""wording_dismissals: a reviewer's dismissal of a wording hit, which then no longer blocks approval

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 08:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from govmatrix.storage.schema import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wording_dismissals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("post_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("post_id", "key", name="uq_wording_dismissals_post_key"),
    )


def downgrade() -> None:
    op.drop_table("wording_dismissals")
