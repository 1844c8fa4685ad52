"""The city forum (Discuz! X3): one account is one department's board, crawled by a Scrapy spider.

How Scrapy runs here: in-process, in the caller's running asyncio loop, in Scrapy's reactorless
mode (``TWISTED_REACTOR_ENABLED = False``; ``AsyncCrawlerRunner``; Scrapy >= 2.15, installed 2.19).
No Twisted reactor is ever installed, so there is nothing to restart: the scheduler's long-lived
process runs crawl after crawl, several boards at once, in one event loop or in a new one each time.
This beats one subprocess per crawl because the spider takes its pace from the platform's shared
request budget (``PlatformClient.budget``, an asyncio object that cannot cross a process
boundary), each request is counted where refresh reads it, and a crawl costs no interpreter start.
The price: Scrapy marks reactorless mode and its aiohttp download handler experimental, and a
process that installs a Twisted reactor (anything importing ``twisted.internet.reactor``) cannot
run these crawls; such a run fails with an error recorded on the account, like any other failure.

A crawl: board list pages down to the cutoff (the horizon, or a day before the previous crawl),
every page of each thread whose reply count grew, then posts (those inside the horizon) and the
account's online-exchange sessions (``matrix.exchange``). The cursor keeps the reply count of
every thread listed (``replies``) and when the board was last listed (``listed_at``). Any failure
fails the whole crawl, which then returns nothing; a cancelled crawl (a scheduler shutting down)
raises CancelledError, never a partial result, and its engine is closed in the background.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from scrapy import signals
from scrapy.crawler import AsyncCrawlerRunner
from scrapy.crawler import Crawler as ScrapyCrawler
from twisted.python.failure import Failure

from govmatrix.config import PlatformSettings
from govmatrix.crawlers import forum_parse as fp
from govmatrix.crawlers.base import CrawlContext, Crawler
from govmatrix.crawlers.forum_spider import BoardPlan, ForumSpider
from govmatrix.errors import ConfigError, FetchError
from govmatrix.matrix.exchange import ExchangeRules, build_sessions
from govmatrix.models import REPLY, THREAD, CrawlResult, Post

# A post can show up after its time (moderation, clocks that differ): list a day past the last listing.
LIST_OVERLAP = timedelta(days=1)
_HANDLER_LOGGER = "scrapy.core.downloader.handlers._base_streaming"
_STOPPING: set[asyncio.Future[None]] = set()  # engines of cancelled crawls being closed (kept referenced)


class _KnownExperimentalHandler(logging.Filter):
    """Drops Scrapy's per-crawl "handler is experimental" warning: the choice is made, see the docstring."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "is experimental" not in record.getMessage()


logging.getLogger(_HANDLER_LOGGER).addFilter(_KnownExperimentalHandler())


def scrapy_settings(settings: PlatformSettings) -> dict[str, Any]:
    """Scrapy settings from the platform's: reactorless, paced by the shared budget, quiet."""
    return {
        "TWISTED_REACTOR_ENABLED": False,
        "USER_AGENT": settings.user_agent,
        "DEFAULT_REQUEST_HEADERS": {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
                                    "Accept-Language": "zh-CN,zh;q=0.9"},
        "CONCURRENT_REQUESTS": settings.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.concurrency,
        "DOWNLOAD_DELAY": 0,  # the pace comes from the shared budget (PacingMiddleware)
        "DOWNLOAD_TIMEOUT": settings.timeout,
        # Items are parsed pages with nothing slow left to do; Scrapy's default of 100 starts 100
        # asyncio tasks for every response's output, which costs more than the parsing.
        "CONCURRENT_ITEMS": 4,
        "RETRY_TIMES": 2,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 408],  # not 418/429: being rate limited ends the crawl
        "COOKIES_ENABLED": True,  # Discuz's anti-CC check wants its cookie back
        "ROBOTSTXT_OBEY": False,
        "DOWNLOADER_MIDDLEWARES": {"govmatrix.crawlers.forum_spider.PacingMiddleware": 990},
        "EXTENSIONS": {"scrapy.extensions.remote_control.RemoteControl": None},  # it would open a port
        "LOG_LEVEL": "WARNING",
    }


@dataclass
class Harvest:
    """What one spider run yielded, gathered from Scrapy's signals."""

    listed: list[fp.ListedThread] = field(default_factory=list)
    pages: dict[str, list[fp.ThreadPage]] = field(default_factory=lambda: defaultdict(list))
    error: BaseException | None = None

    def item_scraped(self, item: Any, **_: Any) -> None:
        if isinstance(item, fp.ThreadPage):
            self.pages[item.tid].append(item)
        elif isinstance(item, fp.ListedThread):
            self.listed.append(item)

    def spider_error(self, failure: Failure, **_: Any) -> None:
        if self.error is None:
            self.error = failure.value


async def run_spider(plan: BoardPlan, settings: dict[str, Any],
                     pace: Callable[[], Awaitable[None]] | None = None) -> Harvest:
    """Run one ForumSpider to its end in the running loop; raise what made it fail."""
    runner = AsyncCrawlerRunner(settings)
    crawler = runner.create_crawler(ForumSpider)
    harvest = Harvest()
    crawler.signals.connect(harvest.item_scraped, signal=signals.item_scraped)
    crawler.signals.connect(harvest.spider_error, signal=signals.spider_error)
    await runner.crawl(crawler, plan=plan, pace=pace)
    current = asyncio.current_task()
    if current is not None and current.cancelling():
        # Scrapy's crawl task swallows a cancellation and leaves its engine running; what it gathered
        # is partial. Stop the engine in the background and let the caller's cancellation through.
        _abandon(crawler)
        raise asyncio.CancelledError(f"forum {plan.account}: crawl cancelled")
    spider = crawler.spider
    if isinstance(spider, ForumSpider) and spider.failure is not None:
        raise spider.failure
    if harvest.error is not None:
        raise harvest.error
    reason = crawler.stats.get_value("finish_reason") if crawler.stats else None
    if reason != "finished":
        raise FetchError(f"crawl ended early ({reason})", platform=fp.PLATFORM, account=plan.account)
    return harvest


def _abandon(crawler: ScrapyCrawler) -> None:
    """Drop the requests of a cancelled crawl that are not sent yet and close its engine, without waiting."""
    if isinstance(crawler.spider, ForumSpider):
        crawler.spider.cancelled = True
    stopping = asyncio.ensure_future(crawler.stop_async())
    _STOPPING.add(stopping)
    stopping.add_done_callback(_STOPPING.discard)


def thread_url(base_url: str, tid: str) -> str:
    """A thread's address (its first floor's link)."""
    return f"{base_url}/forum.php?mod=viewthread&tid={tid}"


def post_url(base_url: str, tid: str, pid: str) -> str:
    """A reply's address: Discuz's ``findpost`` redirect to the right page and floor."""
    return f"{base_url}/forum.php?mod=redirect&goto=findpost&ptid={tid}&pid={pid}"


def thread_posts(pages: list[fp.ThreadPage], *, base_url: str) -> list[Post]:
    """The posts of one thread from all its fetched pages, in floor order, each once.

    The first floor is the ``thread`` (title, reply and view counts); every later floor is a ``reply``
    whose parent is the first floor's post.
    """
    if not pages:
        return []
    first_page = min(pages, key=lambda p: p.page)
    by_pid = {post.pid: post for page in sorted(pages, key=lambda p: p.page) for post in page.posts}
    floors = sorted(by_pid.values(), key=lambda p: p.floor)
    opener = floors[0].pid if floors and floors[0].floor == 1 else None
    tid = first_page.tid
    result = []
    for post in floors:
        first = post.pid == opener
        extra: dict[str, object] = {"tid": tid, "fid": first_page.fid, "floor": post.floor}
        if post.author_uid:
            extra["author_uid"] = post.author_uid
        if post.quote is not None:
            extra["quote"] = post.quote
        result.append(Post(
            platform=fp.PLATFORM, native_id=post.pid, published_at=post.published_at, text=post.text,
            title=first_page.subject if first else "", html=post.html,
            url=thread_url(base_url, tid) if first else post_url(base_url, tid, post.pid), author=post.author,
            kind=THREAD if first else REPLY, parent_native_id=None if first else opener,
            comments=first_page.replies if first else None, reads=first_page.views if first else None,
            media=post.media, extra=extra))
    return result


def plan_for(ctx: CrawlContext, base_url: str) -> BoardPlan:
    """The plan of one crawl from the account and its cursor."""
    account = ctx.account
    fid = account.options.get("fid")
    if fid is None:
        raise ConfigError(f"forum {account.native_id}: the account has no fid")
    cutoff = ctx.horizon
    listed_at = account.cursor.get("listed_at")
    if listed_at:
        cutoff = max(cutoff, datetime.fromisoformat(listed_at) - LIST_OVERLAP)
    replies = {str(tid): int(n) for tid, n in (account.cursor.get("replies") or {}).items()}
    return BoardPlan(account=account.native_id, base_url=base_url.rstrip("/"), fid=str(fid), now=ctx.now,
                     cutoff=cutoff, replies=replies)


def assemble(harvest: Harvest, plan: BoardPlan, ctx: CrawlContext) -> CrawlResult:
    """Posts inside the horizon, exchange sessions and the new cursor from a finished run (pure)."""
    threads = [thread_posts(pages, base_url=plan.base_url) for pages in harvest.pages.values()]
    posts: list[Post] = [p for thread in threads for p in thread if p.published_at >= ctx.horizon]
    sessions = build_sessions(threads, ExchangeRules.for_account(ctx.account), since=ctx.horizon)
    replies: dict[str, int] = {}
    for listed in harvest.listed:
        fetched = harvest.pages.get(listed.tid)
        if fetched:  # the list and the thread pages may disagree while replies come in: keep the larger
            shown = [page.replies or 0 for page in fetched] + [sum(len(page.posts) for page in fetched) - 1]
            replies[listed.tid] = max(listed.replies or 0, *shown)
        elif listed.tid in plan.replies:
            replies[listed.tid] = plan.replies[listed.tid]
    cursor = {"replies": replies, "listed_at": ctx.now.isoformat()}
    return CrawlResult(posts=posts, exchanges=sessions, cursor=cursor)


class ForumCrawler(Crawler):
    """Crawls one department board per call; all boards share the platform client's request budget."""

    platform = "forum"

    async def crawl(self, ctx: CrawlContext) -> CrawlResult:
        plan = plan_for(ctx, self.settings.base_url)
        account = ctx.account.native_id

        async def pace() -> None:
            await self.client.budget.take()
            self.client.requests[account] += 1

        before = self.client.requests[account]
        harvest = await run_spider(plan, scrapy_settings(self.settings), pace)
        result = assemble(harvest, plan, ctx)
        result.requests = self.client.requests[account] - before
        return result
