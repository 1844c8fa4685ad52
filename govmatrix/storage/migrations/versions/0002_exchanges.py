"""online exchanges: sessions and questions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 22:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govmatrix.storage.schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_sessions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("native_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("start_at", govmatrix.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", govmatrix.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_seen_at", govmatrix.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", govmatrix.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "native_id", name="uq_exchange_sessions_account_native"),
    )
    with op.batch_alter_table("exchange_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_sessions_start", ["start_at"], unique=False)

    op.create_table(
        "exchange_questions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("native_id", sa.String(length=200), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("asked_at", govmatrix.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", govmatrix.storage.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer_native_id", sa.String(length=200), nullable=True),
        sa.Column("answer_delay", sa.Integer(), nullable=True),
        sa.Column("suggestion", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["exchange_sessions.id"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "native_id", name="uq_exchange_questions_session_native"),
    )


def downgrade() -> None:
    op.drop_table("exchange_questions")
    with op.batch_alter_table("exchange_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_sessions_start")

    op.drop_table("exchange_sessions")
