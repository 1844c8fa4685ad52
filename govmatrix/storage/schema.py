"""Table definitions (SQLAlchemy Core). Migrations in migrations/versions must match them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData()

# BIGINT ids on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware time, stored in UTC on every backend and read back as aware UTC.

    SQLite has no time zone type, so naive values would silently lose their offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: govmatrix stores only timezone-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


departments = Table(
    "departments", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("short_name", String(100), nullable=False),
)

accounts = Table(
    "accounts", metadata,
    Column("id", Integer, primary_key=True),
    Column("department_id", Integer, ForeignKey("departments.id"), nullable=True),
    Column("platform", String(20), nullable=False),
    Column("native_id", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("interval", Integer, nullable=True),
    Column("options", Json, nullable=False, default=dict),
    Column("cursor", Json, nullable=False, default=dict),
    Column("next_check_at", UTCDateTime, nullable=True),
    Column("error_count", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("last_error_at", UTCDateTime, nullable=True),
    Column("last_success_at", UTCDateTime, nullable=True),
    Column("lease_owner", String(100), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    UniqueConstraint("platform", "native_id", name="uq_accounts_platform_native"),
    Index("ix_accounts_due", "enabled", "next_check_at"),
)

posts = Table(
    "posts", metadata,
    Column("id", BigId, primary_key=True),
    Column("platform", String(20), nullable=False),
    Column("native_id", String(200), nullable=False),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("url", Text, nullable=False, default=""),
    Column("title", Text, nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("html", Text, nullable=False, default=""),
    Column("body", Text, nullable=False, default=""),  # as served: what the pipelines start from
    Column("text_norm", Text, nullable=False, default=""),  # the search form (simplified, NFKC)
    Column("flags", Json, nullable=False, default=list),
    Column("author", String(200), nullable=False, default=""),
    Column("published_at", UTCDateTime, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("reposts", BigInteger, nullable=True),
    Column("comments", BigInteger, nullable=True),
    Column("likes", BigInteger, nullable=True),
    Column("reads", BigInteger, nullable=True),
    Column("kind", String(20), nullable=False),
    Column("parent_native_id", String(200), nullable=True),
    Column("media", Json, nullable=False, default=list),
    Column("extra", Json, nullable=False, default=dict),
    Column("raw", Json, nullable=True),
    Column("content_hash", String(32), nullable=False),
    Column("review_state", String(20), nullable=False, default="pending"),
    Column("cluster_id", BigInteger, nullable=True),  # the id of the cluster's first post (dedup)
    Column("cluster_run", BigInteger, nullable=True),  # the clustering run that assigned it
    Column("alerts", Json, nullable=False, default=list),  # [{"rule", "severity"}]
    Column("alert_level", SmallInteger, nullable=False, default=0),  # the highest severity: 0 none .. 3 high
    Column("minhash", LargeBinary, nullable=True),  # the dedup signature of text_norm
    UniqueConstraint("platform", "native_id", name="uq_posts_platform_native"),
    Index("ix_posts_account_published", "account_id", "published_at"),
    Index("ix_posts_published_id", "published_at", "id"),  # keyset paging of the feed, newest first
    Index("ix_posts_cluster", "cluster_id"),
    Index("ix_posts_unclustered", "published_at", postgresql_where=text("cluster_id IS NULL AND minhash IS NOT NULL"),
          sqlite_where=text("cluster_id IS NULL AND minhash IS NOT NULL")),
    Index("ix_posts_cluster_run", "cluster_run"),
    # the micro-site's approved items and the desk's pending queue, newest first
    Index("ix_posts_review_published", "review_state", "published_at", "id"),
    Index("ix_posts_review_alerts", "review_state", "alert_level", "published_at", "id"),  # the desk: alerts first
)

# An owned WeChat article's figures from datacube (getarticletotal); ``post_id`` is the stored
# article it belongs to (found by its msgid, ``posts.extra.msgid``), NULL until that is stored.
article_stats = Table(
    "article_stats", metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("msgid", String(64), nullable=False),
    Column("ref_date", Date, nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("stat_date", Date, nullable=False),
    Column("reads", BigInteger, nullable=False),
    Column("shares", BigInteger, nullable=False),
    Column("favorites", BigInteger, nullable=False),
    Column("post_id", BigInteger, ForeignKey("posts.id"), nullable=True),
    UniqueConstraint("account_id", "msgid", name="uq_article_stats_account_msgid"),
    Index("ix_article_stats_post", "post_id"),
)

follower_snapshots = Table(
    "follower_snapshots", metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("day", Date, nullable=False),
    Column("source", String(20), nullable=False),
    Column("taken_at", UTCDateTime, nullable=False),
    Column("followers", BigInteger, nullable=True),
    Column("followers_lower_bound", Boolean, nullable=False, default=False),
    Column("following", BigInteger, nullable=True),
    Column("posts_count", BigInteger, nullable=True),
    Column("extra", Json, nullable=False, default=dict),
    UniqueConstraint("account_id", "day", "source", name="uq_snapshots_account_day_source"),
)

crawl_runs = Table(
    "crawl_runs", metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("status", String(20), nullable=False),  # ok | error
    Column("new_posts", Integer, nullable=False, default=0),
    Column("updated_posts", Integer, nullable=False, default=0),
    Column("requests", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Column("warnings", Integer, nullable=False, default=0),  # items skipped
    Column("warning_samples", Json, nullable=False, default=list),  # the first reasons
    Index("ix_crawl_runs_account_started", "account_id", "started_at"),
)

# One row per clustering run (matrix/clusters.py), which run one at a time under a lock: a worker
# catches up with the runs of the others by their ids.
cluster_runs = Table(
    "cluster_runs", metadata,
    Column("id", BigId, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("assigned", Integer, nullable=False, default=0),
)

review_events = Table(
    "review_events", metadata,
    Column("id", BigId, primary_key=True),
    Column("post_id", BigInteger, ForeignKey("posts.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("from_state", String(20), nullable=False),
    Column("to_state", String(20), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Index("ix_review_events_post", "post_id"),
)

# Online exchanges (网上在线交流): one row per session thread of an account, one per citizen question.
exchange_sessions = Table(
    "exchange_sessions", metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("native_id", String(200), nullable=False),  # the thread id
    Column("title", Text, nullable=False, default=""),
    Column("url", Text, nullable=False, default=""),
    Column("start_at", UTCDateTime, nullable=False),
    Column("end_at", UTCDateTime, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "native_id", name="uq_exchange_sessions_account_native"),
    Index("ix_exchange_sessions_start", "start_at"),
)

exchange_questions = Table(
    "exchange_questions", metadata,
    Column("id", BigId, primary_key=True),
    Column("session_id", BigInteger, ForeignKey("exchange_sessions.id", ondelete="CASCADE"), nullable=False),
    Column("native_id", String(200), nullable=False),  # the question's post id
    Column("author", String(200), nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("asked_at", UTCDateTime, nullable=False),
    Column("answered_at", UTCDateTime, nullable=True),
    Column("answer_native_id", String(200), nullable=True),
    Column("answer_delay", Integer, nullable=True),  # seconds; kept so reports can average it in SQL
    Column("suggestion", Boolean, nullable=False, default=False),
    UniqueConstraint("session_id", "native_id", name="uq_exchange_questions_session_native"),
)

# The web app's people: staff who review (the desk) and read the dashboards. ``departments`` limits a
# reviewer to some departments (their short names; empty: every department). ``token_hash`` is the
# SHA-256 of the user's API token for scripts (NULL: none issued).
users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("departments", Json, nullable=False, default=list),
    Column("password_hash", Text, nullable=False),
    Column("token_hash", String(64), nullable=True, unique=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Failed logins, for throttling: one row per failure, by user name and by client address.
login_failures = Table(
    "login_failures", metadata,
    Column("id", BigId, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("address", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_login_failures_name_at", "name", "at"),
    Index("ix_login_failures_address_at", "address", "at"),
)

# A reviewer's dismissal of one wording hit (pipelines/wording.py) on one post: the hit no longer
# blocks approval. ``key`` identifies the hit (its list, the text matched and the suggestion).
wording_dismissals = Table(
    "wording_dismissals", metadata,
    Column("id", BigId, primary_key=True),
    Column("post_id", BigInteger, ForeignKey("posts.id"), nullable=False),
    Column("key", String(300), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("note", Text, nullable=False, default=""),
    UniqueConstraint("post_id", "key", name="uq_wording_dismissals_post_key"),
)

# Comments under the accounts' posts (Weibo ``comments/hotflow``) and the replies under them: the
# inspection's evidence that an account answers. ``post_native_id`` is the post's native id on the
# same platform; ``reply_to`` the comment a reply answers; ``by_account`` marks the account's own.
comments = Table(
    "comments", metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("native_id", String(200), nullable=False),
    Column("post_native_id", String(200), nullable=False),
    Column("root_native_id", String(200), nullable=True),
    Column("reply_to", String(200), nullable=True),
    Column("by_account", Boolean, nullable=False, default=False),
    Column("author", String(200), nullable=False, default=""),
    Column("author_id", String(64), nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("likes", BigInteger, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("platform", "native_id", name="uq_comments_platform_native"),
    Index("ix_comments_account_created", "account_id", "created_at"),
    Index("ix_comments_post", "platform", "post_native_id"),
)

# The inspection's alarms (matrix/inspection.py), raised by the scheduler each day for the review desk
# and `govmatrix status`: one per account and ``key`` (what it is about, e.g. the last update it
# counts from), so a day's job run twice, or a job catching up, never raises one twice.
inspection_alarms = Table(
    "inspection_alarms", metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("day", Date, nullable=False),  # the local day it was raised
    Column("kind", String(40), nullable=False),
    Column("key", String(300), nullable=False),
    Column("message", Text, nullable=False),
    Column("details", Json, nullable=False, default=dict),
    Column("raised_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "key", name="uq_inspection_alarms_account_key"),
    Index("ix_inspection_alarms_day", "day"),
)
