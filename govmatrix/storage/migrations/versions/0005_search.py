"""the bigram search index (storage/search.py), filled from the stored posts; an index for keyset paging

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 05:00:00.000000
"""

from __future__ import annotations

from alembic import op

from govmatrix.storage.search import SearchIndex, create_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    for statement in create_sql(postgres):
        op.execute(statement)
    op.drop_index("ix_posts_published", "posts")
    op.create_index("ix_posts_published_id", "posts", ["published_at", "id"])
    index, last = SearchIndex(postgres), 0
    while True:
        rows = conn.exec_driver_sql(
            f"SELECT id, account_id, text_norm FROM posts WHERE id > {last} ORDER BY id LIMIT 5000").all()
        if not rows:
            break
        for account_id in {row[1] for row in rows}:
            index.replace(conn, account_id, [(post_id, None, norm) for post_id, a, norm in rows if a == account_id])
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_posts_published_id", "posts")
    op.create_index("ix_posts_published", "posts", ["published_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE post_grams")
    else:
        op.execute("DROP TABLE post_search")
