"""Plain dataclasses shared by every layer. No I/O, no SQL, no clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

# Post kinds.
ORIGINAL = "original"
REPOST = "repost"
ARTICLE = "article"
THREAD = "thread"
REPLY = "reply"
KINDS = (ORIGINAL, REPOST, ARTICLE, THREAD, REPLY)
# Review states of a post: nothing reaches the micro-site unless approved or pinned.
REVIEW_STATES = ("pending", "approved", "hidden", "pinned")


@dataclass
class Account:
    """One stored account of a department on one platform, with its crawl state.

    ``options`` is the platform-specific part of its settings as stored (for display and to see
    what changed; crawlers get them typed from the settings), ``cursor`` the platform's resume
    state (newest id seen, ETag, ...).
    """

    id: int
    platform: str
    native_id: str
    name: str
    department: str = ""
    enabled: bool = True
    interval: int | None = None  # seconds; None = adaptive
    options: dict[str, Any] = field(default_factory=dict)
    cursor: dict[str, Any] = field(default_factory=dict)
    next_check_at: datetime | None = None
    error_count: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_success_at: datetime | None = None

    @property
    def label(self) -> str:
        return f"{self.platform} {self.native_id}"


@dataclass
class Post:
    """One item from any platform: a Weibo post, a WeChat article, a forum post, a feed entry.

    A parser fills what the platform said: ``body`` is the post's HTML as served (or plain text),
    ``raw`` the payload it was parsed from. The pipelines derive the rest from them: ``text``
    (readable plain text), ``html`` (safe HTML), ``text_norm`` (the search form) and ``flags``.
    ``published_at`` is always timezone-aware.
    """

    platform: str
    native_id: str
    published_at: datetime
    body: str = ""
    text: str = ""
    title: str = ""
    html: str = ""
    text_norm: str = ""
    url: str = ""
    author: str = ""
    kind: str = ORIGINAL
    parent_native_id: str | None = None
    reposts: int | None = None
    comments: int | None = None
    likes: int | None = None
    reads: int | None = None
    media: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] | None = None
    flags: list[str] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # [{"rule", "severity"}] from the alerts pipeline
    minhash: bytes | None = None  # the dedup pipeline's signature of text_norm
    digest: str = ""  # fingerprint of what the platform said, taken before the pipelines change the display


@dataclass
class FollowerSnapshot:
    """Profile figures of one account at one moment (one row per account, day and source)."""

    taken_at: datetime
    followers: int | None
    following: int | None = None
    posts_count: int | None = None
    source: str = "profile"
    followers_lower_bound: bool = False  # the platform showed "100万+"
    extra: dict[str, Any] = field(default_factory=dict)

    def day(self, tz: Any) -> date:
        """The local calendar day the snapshot belongs to."""
        return self.taken_at.astimezone(tz).date()


@dataclass
class ExchangeQuestion:
    """A citizen's post in an online-exchange session, and the department's answer if any."""

    native_id: str  # the forum post id
    author: str
    text: str
    asked_at: datetime
    answered_at: datetime | None = None
    answer_native_id: str | None = None
    suggestion: bool = False

    @property
    def answer_delay(self) -> float | None:
        """Seconds from question to answer, None while unanswered."""
        return (self.answered_at - self.asked_at).total_seconds() if self.answered_at else None


@dataclass
class ExchangeSession:
    """One monthly (or weekly) online Q&A session of a department on the city forum."""

    native_id: str  # the thread id
    title: str
    start: datetime
    end: datetime
    url: str = ""
    questions: list[ExchangeQuestion] = field(default_factory=list)


@dataclass
class Comment:
    """A comment under one of an account's posts (Weibo), or a reply under such a comment.

    ``root_native_id`` is the root comment of a reply (None for a root); ``by_account`` says the
    account itself wrote it; ``reply_to`` is the comment it answers (a reply's root, or the reply
    it names with 回复@), None for a root.
    """

    platform: str
    native_id: str
    post_native_id: str
    created_at: datetime
    author: str = ""
    author_id: str = ""
    text: str = ""
    root_native_id: str | None = None
    reply_to: str | None = None
    by_account: bool = False
    likes: int | None = None


@dataclass(frozen=True)
class ArticleStats:
    """An owned WeChat article's figures from datacube (``getarticletotal``), cumulative to ``stat_date``."""

    msgid: str  # "<mid>_<idx>": the mid and idx of the article's permanent link
    ref_date: date  # its publication day
    title: str
    stat_date: date
    reads: int
    shares: int
    favorites: int


@dataclass
class CrawlResult:
    """What one crawl of one account produced, before it is stored.

    ``warnings`` name the items that were skipped (unreadable, unstorable); the rest is stored.
    """

    posts: list[Post] = field(default_factory=list)
    snapshots: list[FollowerSnapshot] = field(default_factory=list)
    article_stats: list[ArticleStats] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)  # comments read under the account's posts
    cursor: dict[str, Any] | None = None  # new resume state, None = unchanged
    warnings: list[str] = field(default_factory=list)
