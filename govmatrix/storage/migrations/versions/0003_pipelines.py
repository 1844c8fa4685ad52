"""posts keep the body as served and the pipelines' outputs; crawl runs count skipped items

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("body", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("text_norm", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("flags", JSON, nullable=False, server_default="[]"))
    # What was stored before is the best body there is: reprocess derives the rest from it.
    op.execute("UPDATE posts SET body = html")
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("warnings", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("warning_samples", JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_column("warning_samples")
        batch.drop_column("warnings")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("flags")
        batch.drop_column("text_norm")
        batch.drop_column("body")
