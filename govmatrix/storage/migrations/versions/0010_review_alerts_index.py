"""the desk's queue index: a review state's posts, alerts first, newest first

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 17:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_posts_review_alerts", "posts", ["review_state", "alert_level", "published_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_posts_review_alerts", "posts")
