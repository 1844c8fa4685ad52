"""The city forum (Discuz! X3): one account is one department's board, crawled by a Scrapy spider.

This module is light (Scrapy is imported only when a board is crawled, in ``forum_spider``). A
crawl: board list pages down to the cutoff (the horizon, or a day before the previous listing;
sticky threads never stop it), then for each listed thread whose reply count grew, or whose pages
are not all read yet, page 1 and at most ``max_thread_pages`` pages in all, newest first; the
cursor keeps each thread's state (``threads``: replies seen, pages known, page ranges still
unread) so a thread of thousands of pages is read over several crawls. Posts inside the horizon
are returned; the online-exchange record is derived from them in the store (``matrix.exchange``).
Any failure fails the whole crawl, which then returns nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from govmatrix.config import AccountOptions, PlatformSettings, regular_expression
from govmatrix.crawlers import forum_parse as fp
from govmatrix.crawlers.base import CrawlContext, Crawler
from govmatrix.crawlers.http import Budget
from govmatrix.errors import ConfigError
from govmatrix.models import REPLY, THREAD, CrawlResult, Post

# A post can show up after its time (moderation, clocks that differ): list a day past the last listing.
LIST_OVERLAP = timedelta(days=1)


class ForumSettings(PlatformSettings):
    max_thread_pages: Annotated[int, Field(gt=1)] = 50  # pages of one thread per crawl (page 1 included)


class ForumOptions(AccountOptions):
    fid: Annotated[int, Field(gt=0)]  # the department's board
    base_url: str | None = None  # the board's forum, when not the platform's (a provincial portal, ...)
    # The online exchange (网上在线交流), see matrix/exchange.py:
    speakers: list[str] = []  # the department's forum users; empty: the account's own id
    title_pattern: str | None = None  # a regular expression for session titles; empty: the built-in names
    suggestion_keywords: list[str] = ["建议"]  # a citizen post with one of these is a suggestion
    frequency: Literal["monthly", "weekly"] = "monthly"  # how often the department must hold a session

    @field_validator("title_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return regular_expression(value) if value else value


def thread_url(base_url: str, tid: str) -> str:
    """A thread's address (its first floor's link)."""
    return f"{base_url}/forum.php?mod=viewthread&tid={tid}"


def post_url(base_url: str, tid: str, pid: str) -> str:
    """A reply's address: Discuz's ``findpost`` redirect to the right page and floor."""
    return f"{base_url}/forum.php?mod=redirect&goto=findpost&ptid={tid}&pid={pid}"


def _page_ranges(pages: Iterable[int]) -> list[list[int]]:
    ranges: list[list[int]] = []
    for page in sorted(set(pages)):
        if ranges and ranges[-1][1] == page - 1:
            ranges[-1][1] = page
        else:
            ranges.append([page, page])
    return ranges


def plan_thread_pages(total: int, state: dict[str, Any] | None, cap: int, *,
                      grew: bool = True) -> tuple[list[int], dict[str, Any]]:
    """Which pages after page 1 to read this crawl (newest first, at most ``cap - 1``), and the
    thread's new state: the last page count seen and the page ranges still unread. New pages are
    unread, and so is the last known one when the thread ``grew`` (its new replies are there)."""
    state = state or {}
    known = int(state.get("pages") or 0)
    unread = {p for a, b in state.get("unread") or [] for p in range(a, b + 1)}
    unread |= set(range(max(known if grew else known + 1, 2), total + 1))
    unread = {p for p in unread if 2 <= p <= total}
    chosen = sorted(unread, reverse=True)[:cap - 1]
    return chosen, {"pages": total, "unread": _page_ranges(unread - set(chosen))}


def thread_posts(pages: list[fp.ThreadPage], *, base_url: str, listed: fp.ListedThread | None = None) -> list[Post]:
    """The posts of one thread from its fetched pages, in floor order, each once.

    The first floor is the ``thread`` (title, reply and view counts: the thread page's, else the
    board list's); every later floor is a ``reply`` whose parent is the first floor's post.
    """
    if not pages:
        return []
    first_page = min(pages, key=lambda p: p.page)
    by_pid = {post.pid: post for page in sorted(pages, key=lambda p: p.page) for post in page.posts}
    floors = sorted(by_pid.values(), key=lambda p: p.floor)
    opener = floors[0].pid if floors and floors[0].floor == 1 else None
    tid = first_page.tid
    replies = first_page.replies if first_page.replies is not None else (listed.replies if listed else None)
    views = first_page.views if first_page.views is not None else (listed.views if listed else None)
    result = []
    for post in floors:
        first = post.pid == opener
        extra: dict[str, object] = {"tid": tid, "fid": first_page.fid, "floor": post.floor}
        if post.author_uid:
            extra["author_uid"] = post.author_uid
        if post.quote is not None:
            extra["quote"] = post.quote
        result.append(Post(
            platform=fp.PLATFORM, native_id=post.pid, published_at=post.published_at, body=post.body,
            title=first_page.subject if first else "",
            url=thread_url(base_url, tid) if first else post_url(base_url, tid, post.pid), author=post.author,
            kind=THREAD if first else REPLY, parent_native_id=None if first else opener,
            comments=replies if first else None, reads=views if first else None, media=post.media, extra=extra,
            flags=["charset_replaced"] if post.damaged else []))
    return result


def board_url(ctx: CrawlContext, settings: ForumSettings) -> str:
    base = (ctx.options.base_url or settings.base_url).rstrip("/")
    if not base:
        raise ConfigError(f"forum {ctx.native_id}: no forum address (platforms.forum.base_url or the account's "
                          "base_url)")
    return base


def cutoff_of(ctx: CrawlContext) -> datetime:
    """Threads whose last post is older are neither fetched nor listed further."""
    listed_at = ctx.account.cursor.get("listed_at")
    return max(ctx.horizon, datetime.fromisoformat(listed_at) - LIST_OVERLAP) if listed_at else ctx.horizon


def thread_states(cursor: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """tid -> {"replies", "pages", "unread"} from the cursor."""
    return {str(tid): dict(state) for tid, state in (cursor.get("threads") or {}).items()}


class ForumCrawler(Crawler):
    """Crawls one department board per call; every board shares the platform's request budget."""

    platform = "forum"
    settings_model = ForumSettings
    options_model = ForumOptions
    settings: ForumSettings

    def __init__(self, settings: ForumSettings, budget: Budget) -> None:
        super().__init__(settings, budget)
        self._runner: Any = None

    async def crawl(self, ctx: CrawlContext) -> CrawlResult:
        from govmatrix.crawlers import forum_spider

        if self._runner is None:  # one Scrapy runner per process serves every board
            self._runner = forum_spider.make_runner(self.settings)
        base = board_url(ctx, self.settings)
        plan = forum_spider.BoardPlan(account=ctx.native_id, base_url=base, fid=str(ctx.options.fid), now=ctx.now,
                                      cutoff=cutoff_of(ctx), threads=thread_states(ctx.account.cursor),
                                      max_thread_pages=self.settings.max_thread_pages,
                                      allowed_hosts=frozenset(self.settings.allowed_hosts))
        harvest = await forum_spider.run_spider(self._runner, plan, lambda: self.budget.take(ctx.native_id))
        return assemble(harvest, base, ctx)


def assemble(harvest: Any, base_url: str, ctx: CrawlContext) -> CrawlResult:
    """Posts inside the horizon, warnings and the new cursor from a finished spider run (pure)."""
    listed = {thread.tid: thread for thread in harvest.listed}
    posts = [post for tid, pages in harvest.pages.items()
             for post in thread_posts(pages, base_url=base_url, listed=listed.get(tid))
             if post.published_at >= ctx.horizon]
    states = thread_states(ctx.account.cursor)
    kept: dict[str, dict[str, Any]] = {}
    for tid, thread in listed.items():
        state = {**states.get(tid, {}), **harvest.states.get(tid, {})}
        fetched = harvest.pages.get(tid)
        if fetched:  # the list and the pages may disagree while replies come in: keep the larger
            shown = [page.replies or 0 for page in fetched]
            state["replies"] = max(thread.replies or 0, *shown)
        if state:
            kept[tid] = state
    warnings = [w for pages in harvest.pages.values() for page in pages for w in page.warnings] + harvest.warnings
    return CrawlResult(posts=posts, cursor={"threads": kept, "listed_at": ctx.now.isoformat()}, warnings=warnings)
