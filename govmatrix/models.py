"""Plain dataclasses shared by every layer. No I/O, no SQL, no clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

PLATFORMS = ("weibo", "wechat", "forum", "feeds")

# Post kinds.
ORIGINAL = "original"
REPOST = "repost"
ARTICLE = "article"
THREAD = "thread"
REPLY = "reply"
KINDS = (ORIGINAL, REPOST, ARTICLE, THREAD, REPLY)

# Review states of a post in the unified feed.
REVIEW_STATES = ("pending", "approved", "hidden", "pinned")


@dataclass(frozen=True)
class Department:
    """A city department that runs one or more accounts."""

    name: str
    short_name: str


@dataclass
class Account:
    """One account of a department on one platform, with its crawl state.

    ``options`` holds the platform-specific settings (feed URL, forum board, ...),
    ``cursor`` the platform's resume state (newest id seen, ETag, ...).
    """

    platform: str
    native_id: str
    name: str
    department: str = ""
    enabled: bool = True
    interval: int | None = None  # seconds; None = adaptive
    options: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
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

    ``published_at`` is always timezone-aware. ``raw`` is the payload it was parsed from,
    kept so that a better parser can re-parse history.
    """

    platform: str
    native_id: str
    published_at: datetime
    text: str = ""
    title: str = ""
    html: str = ""
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
class CrawlResult:
    """What one refresh of one account produced, before it is stored."""

    posts: list[Post] = field(default_factory=list)
    snapshots: list[FollowerSnapshot] = field(default_factory=list)
    exchanges: list[ExchangeSession] = field(default_factory=list)
    cursor: dict[str, Any] | None = None  # new resume state, None = unchanged
    requests: int = 0
