"""The Scrapy spider that walks one Discuz! X3 board, and the downloader middleware that paces it.

The spider reads the board's thread list page by page (``forumdisplay``, last post first, sticky
threads on top) until a thread's last post is older than the plan's cutoff, and fetches every page
of each listed thread whose reply count grew since it was last fetched. It yields the parsed pages
as items (``ListedThread`` for each thread it looked at, ``ThreadPage`` for each thread page); all
parsing is done by the pure functions of ``forum_parse``.

A failure (an HTTP error after Scrapy's retries, a timeout, a page that cannot be read) is mapped
into the govmatrix error tree, kept in ``spider.failure`` and closes the spider: a crawl either
gets everything it went for or nothing. A thread that Discuz says is gone (deleted or moderated
since it was listed) is skipped, not a failure. ``spider.cancelled`` makes the pacing middleware
drop every request not sent yet, so an abandoned crawl winds down at once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DownloadTimeoutError, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from govmatrix.crawlers import forum_parse as fp
from govmatrix.crawlers.http import LOGIN_STATUS, RATE_LIMIT_STATUS, retry_after_seconds
from govmatrix.errors import CrawlError, FetchError, LoginRequired, RateLimited

log = logging.getLogger("govmatrix.crawlers.forum")

MAX_LIST_PAGES = 200  # Discuz serves at most 1000 list pages; a runaway walk stops well before


@dataclass(frozen=True)
class BoardPlan:
    """What one crawl of a board should fetch.

    ``cutoff``: threads whose last post is older are neither fetched nor listed further.
    ``replies``: the reply count of each thread when it was last fetched (tid -> count).
    """

    account: str
    base_url: str
    fid: str
    now: datetime
    cutoff: datetime
    replies: dict[str, int] = field(default_factory=dict)

    def list_url(self, page: int) -> str:
        """A page of the board's thread list (Discuz's default order: last post first)."""
        return f"{self.base_url}/forum.php?mod=forumdisplay&fid={self.fid}&page={page}"

    def thread_url(self, tid: str, page: int) -> str:
        """A page of a thread."""
        return f"{self.base_url}/forum.php?mod=viewthread&tid={tid}&page={page}"


class PacingMiddleware:
    """Downloader middleware: each request (retries included) first waits for the spider's ``pace``.

    ``pace`` is where the platform's shared request budget is taken and the request counted.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PacingMiddleware:
        return cls(crawler)

    async def process_request(self, request: scrapy.Request) -> None:
        spider = self.crawler.spider
        if not isinstance(spider, ForumSpider) or spider.pace is None:
            return
        if not spider.cancelled:
            await spider.pace()
        if spider.cancelled:  # abandoned while it waited for its turn: never sent
            raise IgnoreRequest("crawl cancelled")


class ForumSpider(scrapy.Spider):
    """Walks one board as its ``BoardPlan`` says; see the module docstring."""

    name = "forum"

    def __init__(self, plan: BoardPlan, pace: Callable[[], Awaitable[None]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.pace = pace
        self.failure: CrawlError | None = None
        self.cancelled = False  # set when the caller abandons the crawl: requests not sent yet are dropped

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield self._list_request(1)

    def _list_request(self, page: int) -> scrapy.Request:
        return scrapy.Request(self.plan.list_url(page), callback=self.parse_list, errback=self.failed,
                              cb_kwargs={"page": page})

    def _thread_request(self, tid: str, page: int) -> scrapy.Request:
        return scrapy.Request(self.plan.thread_url(tid, page), callback=self.parse_thread, errback=self.failed,
                              cb_kwargs={"tid": tid, "page": page})

    def parse_list(self, response: Response, page: int) -> Iterator[Any]:
        """A list page: the threads to fetch, and the next page unless the cutoff was reached."""
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
        reached_cutoff = False
        for thread in listing.threads:
            if thread.last_post_at is not None and thread.last_post_at < self.plan.cutoff:
                if thread.sticky:  # pinned on top whatever its age: skip it, keep reading
                    continue
                reached_cutoff = True
                break
            yield thread
            if thread.replies is None or thread.replies > self.plan.replies.get(thread.tid, -1):
                yield self._thread_request(thread.tid, 1)
        if not reached_cutoff and listing.threads and page < min(listing.pages, MAX_LIST_PAGES):
            yield self._list_request(page + 1)

    def parse_thread(self, response: Response, tid: str, page: int) -> Iterator[Any]:
        """A thread page: the page as an item; from page 1, the requests for the others."""
        try:
            parsed = fp.parse_thread_page(response.body, _content_type(response), self.plan.now,
                                          account=self.plan.account, tid=tid, requested=page,
                                          page_url=response.url)
        except fp.DiscuzMessage as exc:  # deleted, moderated or restricted since it was listed
            log.warning("%s: thread %s skipped: %s", self.plan.account, tid, exc.reason)
            return
        except CrawlError as exc:
            self._fail(exc)
        yield parsed
        if page == 1:
            for number in range(2, parsed.pages + 1):
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


def map_failure(exc: BaseException, account: str) -> FetchError:
    """A Scrapy download failure as a govmatrix error: RateLimited, LoginRequired or FetchError."""
    if isinstance(exc, HttpError):
        status = exc.response.status
        raw_retry = exc.response.headers.get("Retry-After")
        retry_after = retry_after_seconds(raw_retry.decode("latin-1") if raw_retry else None)
        if status in RATE_LIMIT_STATUS:
            suffix = f", retry in {retry_after:.0f} s" if retry_after else ""
            return RateLimited(f"rate limited (HTTP {status}){suffix}", platform=fp.PLATFORM, account=account,
                               status=status, retry_after=retry_after)
        if status in LOGIN_STATUS:
            return LoginRequired(f"login or fresh cookie required (HTTP {status})", platform=fp.PLATFORM,
                                 account=account, status=status)
        url = exc.response.url.split("?")[0]
        return FetchError(f"HTTP {status} from {url}", platform=fp.PLATFORM, account=account, status=status,
                          retry_after=retry_after)
    if isinstance(exc, DownloadTimeoutError):
        return FetchError(f"timed out ({exc})", platform=fp.PLATFORM, account=account)
    return FetchError(f"network error: {type(exc).__name__}: {exc}", platform=fp.PLATFORM, account=account)
