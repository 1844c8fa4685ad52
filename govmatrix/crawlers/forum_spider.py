"""The Scrapy side of the forum crawler: the runner, the spider that walks one Discuz! X3 board, and
the downloader middleware that holds it to the HTTP edge's rules.

How Scrapy runs here: in-process, in the caller's running asyncio loop, in Scrapy's reactorless
mode (``TWISTED_REACTOR_ENABLED = False``; ``AsyncCrawlerRunner``; Scrapy >= 2.15), one runner per
process for every board. No Twisted reactor is ever installed, so the scheduler's long-lived
process runs crawl after crawl, several boards at once, in one event loop. This beats one
subprocess per crawl because the spider takes its pace from the platform's shared request budget
(an asyncio object that cannot cross a process boundary) and a crawl costs no interpreter start.
The price: Scrapy marks reactorless mode and its aiohttp download handler experimental (a choice
made here once: ``DownloadHandler`` says so, instead of a warning per crawl).

The HTTP edge's rules, as Scrapy settings and the ``EdgeMiddleware``: the budget paces every
request (retries and redirect hops included), ``timeout`` is Scrapy's total ``DOWNLOAD_TIMEOUT``,
``max_body_bytes`` its ``DOWNLOAD_MAXSIZE`` (decompressed size too), the one ``RetryPolicy``,
at most ``MAX_REDIRECTS`` hops and only to the board's host or ``allowed_hosts``; failures map to
the same errors and messages as ``crawlers/http.py``'s.

The spider reads the board's thread list page by page (last post first, sticky threads on top)
until the incremental rule stops it, and fetches the pages of each listed thread that
``plan_thread_pages`` picks. It yields the parsed pages as items; all parsing is done by
``forum_parse``. A failure closes the spider: a crawl gets everything it went for or nothing. A
thread that Discuz says is gone (deleted or moderated since it was listed) is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.core.downloader.handlers._aiohttp import AiohttpDownloadHandler
from scrapy.crawler import AsyncCrawlerRunner
from scrapy.crawler import Crawler as ScrapyCrawler
from scrapy.exceptions import (
    CannotResolveHostError,
    CloseSpider,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from govmatrix.crawlers import forum_parse as fp
from govmatrix.crawlers.forum import ForumSettings, plan_thread_pages
from govmatrix.crawlers.http import MAX_REDIRECTS, RETRY, NetworkFailure, classify, status_error
from govmatrix.crawlers.incremental import select_new
from govmatrix.errors import CrawlError, FetchError, LoginRequired

log = logging.getLogger("govmatrix.crawlers.forum")

MAX_LIST_PAGES = 200  # Discuz serves at most 1000 list pages; a runaway walk stops well before
_STOPPING: set[asyncio.Future[None]] = set()  # engines of cancelled crawls being closed (kept referenced)


class DownloadHandler(AiohttpDownloadHandler):
    """Scrapy's aiohttp handler, the one reactorless mode offers; accepted here (see the module doc)."""

    experimental = False


@dataclass(frozen=True)
class BoardPlan:
    """What one crawl of a board should fetch: list down to ``cutoff``; ``threads`` is each
    thread's state from the cursor (``forum.plan_thread_pages``)."""

    account: str
    base_url: str
    fid: str
    now: datetime
    cutoff: datetime
    threads: dict[str, dict[str, Any]] = field(default_factory=dict)
    max_thread_pages: int = 50
    allowed_hosts: frozenset[str] = frozenset()

    def list_url(self, page: int) -> str:
        """A page of the board's thread list (Discuz's default order: last post first)."""
        return f"{self.base_url}/forum.php?mod=forumdisplay&fid={self.fid}&page={page}"

    def thread_url(self, tid: str, page: int) -> str:
        return f"{self.base_url}/forum.php?mod=viewthread&tid={tid}&page={page}"

    def allows(self, url: str) -> bool:
        """A redirect may go to the board's own host and port, or to an allowed host."""
        there, home = urlsplit(url), urlsplit(self.base_url)
        if there.scheme not in ("http", "https"):
            return False
        return (there.hostname, there.port) == (home.hostname, home.port) or bool(
            {there.hostname or "", there.netloc} & self.allowed_hosts)


def scrapy_settings(settings: ForumSettings) -> dict[str, Any]:
    """Scrapy settings from the platform's: reactorless, paced by the shared budget, quiet."""
    return {
        "TWISTED_REACTOR_ENABLED": False,
        "DOWNLOAD_HANDLERS": {"http": f"{__name__}.DownloadHandler", "https": f"{__name__}.DownloadHandler"},
        "USER_AGENT": settings.user_agent,
        "DEFAULT_REQUEST_HEADERS": {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
                                    "Accept-Language": "zh-CN,zh;q=0.9"},
        "CONCURRENT_REQUESTS": settings.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.concurrency,
        "DOWNLOAD_DELAY": 0,  # the pace comes from the shared budget (EdgeMiddleware)
        "DOWNLOAD_TIMEOUT": settings.timeout,
        "DOWNLOAD_MAXSIZE": settings.max_body_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        # Items are parsed pages with nothing slow left to do; Scrapy's default of 100 starts 100
        # asyncio tasks for every response's output, which costs more than the parsing.
        "CONCURRENT_ITEMS": 4,
        "RETRY_TIMES": RETRY.retries,
        "RETRY_HTTP_CODES": sorted(RETRY.statuses),  # not 418/429: being rate limited ends the crawl
        "REDIRECT_MAX_TIMES": MAX_REDIRECTS,
        "COOKIES_ENABLED": True,  # Discuz's anti-CC check wants its cookie back
        "ROBOTSTXT_OBEY": False,
        "DOWNLOADER_MIDDLEWARES": {f"{__name__}.EdgeMiddleware": 990},
        "EXTENSIONS": {"scrapy.extensions.remote_control.RemoteControl": None},  # it would open a port
        "LOG_LEVEL": "ERROR",
    }


def make_runner(settings: ForumSettings) -> AsyncCrawlerRunner:
    return AsyncCrawlerRunner(scrapy_settings(settings))


@dataclass
class Harvest:
    """What one spider run yielded, gathered from Scrapy's signals."""

    listed: list[fp.ListedThread] = field(default_factory=list)
    pages: dict[str, list[fp.ThreadPage]] = field(default_factory=lambda: defaultdict(list))
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: BaseException | None = None

    def item_scraped(self, item: Any, **_: Any) -> None:
        if isinstance(item, fp.ThreadPage):
            self.pages[item.tid].append(item)
        elif isinstance(item, fp.ListedThread):
            self.listed.append(item)
        elif isinstance(item, ThreadState):
            self.states[item.tid] = item.state

    def spider_error(self, failure: Failure, **_: Any) -> None:
        if self.error is None:
            self.error = failure.value


@dataclass(frozen=True)
class ThreadState:
    tid: str
    state: dict[str, Any]


async def run_spider(runner: AsyncCrawlerRunner, plan: BoardPlan, pace: Callable[[], Awaitable[None]]) -> Harvest:
    """Run one ForumSpider to its end in the running loop; raise what made it fail."""
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
    if isinstance(spider, ForumSpider):
        harvest.warnings += spider.warnings
    return harvest


def _abandon(crawler: ScrapyCrawler) -> None:
    """Drop the requests of a cancelled crawl that are not sent yet and close its engine, without waiting."""
    if isinstance(crawler.spider, ForumSpider):
        crawler.spider.cancelled = True
    stopping = asyncio.ensure_future(crawler.stop_async())
    _STOPPING.add(stopping)
    stopping.add_done_callback(_STOPPING.discard)


class EdgeMiddleware:
    """Downloader middleware: each request (retries and redirects included) first waits for the
    spider's ``pace`` (the shared budget); a redirect off the board's host is refused."""

    def __init__(self, crawler: ScrapyCrawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: ScrapyCrawler) -> EdgeMiddleware:
        return cls(crawler)

    async def process_request(self, request: scrapy.Request) -> None:
        spider = self.crawler.spider
        if not isinstance(spider, ForumSpider):
            return
        if request.meta.get("redirect_urls") and not spider.plan.allows(request.url):
            raise IgnoreRequest(f"redirect to another host {urlsplit(request.url).netloc}")
        if not spider.cancelled:
            await spider.pace()
        if spider.cancelled:  # abandoned while it waited for its turn: never sent
            raise IgnoreRequest("crawl cancelled")


class ForumSpider(scrapy.Spider):
    """Walks one board as its ``BoardPlan`` says; see the module docstring."""

    name = "forum"

    def __init__(self, plan: BoardPlan, pace: Callable[[], Awaitable[None]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.pace = pace
        self.failure: CrawlError | None = None
        self.warnings: list[str] = []
        self.cancelled = False  # set when the caller abandons the crawl: requests not sent yet are dropped

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield self._list_request(1)

    def _list_request(self, page: int) -> scrapy.Request:
        return scrapy.Request(self.plan.list_url(page), callback=self.parse_list, errback=self.failed,
                              cb_kwargs={"page": page})

    def _thread_request(self, tid: str, page: int, grew: bool = True) -> scrapy.Request:
        return scrapy.Request(self.plan.thread_url(tid, page), callback=self.parse_thread, errback=self.failed,
                              cb_kwargs={"tid": tid, "page": page, "grew": grew})

    def parse_list(self, response: Response, page: int) -> Iterator[Any]:
        """A list page: the threads to fetch, and the next page unless the walk ends here."""
        try:
            listing = fp.parse_list_page(response.body, _content_type(response), self.plan.now,
                                         account=self.plan.account, requested=page)
        except fp.DiscuzMessage as exc:
            self._fail(LoginRequired(exc.reason, platform=fp.PLATFORM, account=self.plan.account)
                       if exc.login else exc)
        except CrawlError as exc:
            self._fail(exc)
        if listing.page != page:  # Discuz answers a page past its cap with page 1: the list has ended
            return
        threads, stop = select_new(listing.threads, native_id=lambda t: t.tid, published_at=lambda t: t.last_post_at,
                                   horizon=self.plan.cutoff, pinned=lambda t: t.sticky)
        for thread in threads:
            yield thread
            state = self.plan.threads.get(thread.tid, {})
            grew = thread.replies is None or thread.replies > int(state.get("replies", -1))
            if grew or state.get("unread"):
                yield self._thread_request(thread.tid, 1, grew)
        if not stop and listing.threads and page < min(listing.pages, MAX_LIST_PAGES):
            yield self._list_request(page + 1)

    def parse_thread(self, response: Response, tid: str, page: int, grew: bool) -> Iterator[Any]:
        """A thread page: the page as an item; from page 1, the requests for the pages picked."""
        try:
            parsed = fp.parse_thread_page(response.body, _content_type(response), self.plan.now,
                                          account=self.plan.account, tid=tid, requested=page, page_url=response.url)
        except fp.DiscuzMessage as exc:  # deleted, moderated or restricted since it was listed
            self.warnings.append(f"thread {tid} skipped: {exc.reason}")
            return
        except CrawlError as exc:
            self._fail(exc)
        yield parsed
        if page == 1:
            pages, state = plan_thread_pages(parsed.pages, self.plan.threads.get(tid), self.plan.max_thread_pages,
                                             grew=grew)
            yield ThreadState(tid, state)
            if state["unread"]:
                self.warnings.append(f"thread {tid}: {parsed.pages} pages, the rest read on the next crawls")
            for number in pages:
                yield self._thread_request(tid, number)

    def failed(self, failure: Failure) -> None:
        """Errback: a request failed for good (after Scrapy's retries), or was dropped by a cancellation."""
        if not self.cancelled:
            self._fail(map_failure(failure.value, self.plan.account))

    def _fail(self, error: CrawlError) -> NoReturn:
        if self.failure is None:
            self.failure = error
        raise CloseSpider("failed")


def _content_type(response: Response) -> str | None:
    value = response.headers.get("Content-Type")
    return value.decode("latin-1") if value else None


_SCRAPY_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (DownloadTimeoutError, "timeout"), (DownloadConnectionRefusedError, "refused"),
    (CannotResolveHostError, "dns"), (ResponseDataLossError, "cut"), (DownloadCancelledError, "too_large"),
    (IgnoreRequest, "redirect"),
)


def map_failure(exc: BaseException, account: str) -> FetchError:
    """A Scrapy download failure as the HTTP edge's error (the same classes and messages)."""
    if isinstance(exc, HttpError):
        response = exc.response
        headers = {k.decode("latin-1"): v[0].decode("latin-1") for k, v in response.headers.items() if v}
        error = status_error(response.status, response.url, headers, platform=fp.PLATFORM, account=account)
        return error or FetchError(f"HTTP {response.status}", platform=fp.PLATFORM, account=account)
    for cls, kind in _SCRAPY_KINDS:
        if isinstance(exc, cls):
            return NetworkFailure(kind, str(exc) if kind == "redirect" else "", platform=fp.PLATFORM,
                                  account=account, limit=0)
    if isinstance(exc, DownloadFailedError) and exc.__cause__ is not None:
        return NetworkFailure(*classify(exc.__cause__), platform=fp.PLATFORM, account=account)
    return NetworkFailure(*classify(exc), platform=fp.PLATFORM, account=account)
