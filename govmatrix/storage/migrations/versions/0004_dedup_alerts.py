"""posts: the dedup signature and cluster run, the alerts and their level; clustering runs

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

import govmatrix.storage.schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("alerts", JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("alert_level", sa.SmallInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("minhash", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("cluster_run", sa.BigInteger(), nullable=True))
        batch.create_index("ix_posts_cluster", ["cluster_id"])
        batch.create_index("ix_posts_cluster_run", ["cluster_run"])
    unclustered = sa.text("cluster_id IS NULL AND minhash IS NOT NULL")
    op.create_index("ix_posts_unclustered", "posts", ["published_at"], postgresql_where=unclustered,
                    sqlite_where=unclustered)
    op.create_table(
        "cluster_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", govmatrix.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assigned", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("cluster_runs")
    op.drop_index("ix_posts_unclustered", "posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_index("ix_posts_cluster_run")
        batch.drop_column("cluster_run")
        batch.drop_index("ix_posts_cluster")
        batch.drop_column("minhash")
        batch.drop_column("alert_level")
        batch.drop_column("alerts")
