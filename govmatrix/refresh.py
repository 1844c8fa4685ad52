"""One account, one refresh: fetch -> parse -> pipelines -> store. The only orchestrator.

A failure is data, never a crashed run: it is recorded on the account (error count, last error,
a crawl-run row, a back-off) and the pass goes on with the other accounts. Nothing of a failed
crawl is stored, so the next run fetches again everything that was in flight.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from govmatrix.config import Settings
from govmatrix.crawlers.base import CrawlContext, Crawler, crawler_class, make_client
from govmatrix.errors import CrawlError, FetchError
from govmatrix.models import Account
from govmatrix.pacing import WEEK, backoff_delay, next_check_after_success
from govmatrix.storage.exchanges import ExchangeStore
from govmatrix.storage.repo import Repo, UpsertCounts

log = logging.getLogger("govmatrix.refresh")

ACCOUNTS_IN_FLIGHT = 32  # accounts crawled at once by one pass; the platform budgets pace the requests


@dataclass(frozen=True)
class RefreshOutcome:
    account: Account
    ok: bool
    counts: UpsertCounts
    requests: int
    error: str | None
    next_check_at: datetime


async def refresh_account(account: Account, crawler: Crawler, repo: Repo, settings: Settings,
                          clock: Callable[[], datetime]) -> RefreshOutcome:
    """Crawl one account and store the result, or record the failure. Never raises a CrawlError."""
    assert account.id is not None
    started = clock()
    platform = settings.platform(account.platform)
    ctx = CrawlContext(account=account, now=started, known=lambda ids: repo.known_native_ids(account.platform, ids),
                       horizon_days=platform.horizon_days)
    before = crawler.client.requests[account.native_id]
    try:
        result = await crawler.crawl(ctx)
        counts = repo.upsert_posts(account.id, result.posts, started)
        repo.upsert_snapshots(account.id, result.snapshots, settings.tz)
        if result.exchanges:
            ExchangeStore(repo.engine).upsert_sessions(account.id, result.exchanges, started)
    except (CrawlError, NotImplementedError) as exc:
        return _failed(account, repo, settings, started, clock(), str(exc), crawler, before, exc)
    except Exception as exc:  # a bug must not stop the pass: record it on the account, log the traceback
        log.error("%s: unexpected error\n%s", account.label, traceback.format_exc())
        return _failed(account, repo, settings, started, clock(), f"{account.label}: internal error: {exc!r}",
                       crawler, before, exc)
    requests = crawler.client.requests[account.native_id] - before
    cursor = {**account.cursor, **(result.cursor or {}), "horizon": ctx.horizon.isoformat()}
    sched = settings.scheduler
    next_at = next_check_after_success(
        clock(), override=account.interval, min_interval=sched.min_interval, max_interval=sched.max_interval,
        posts_last_week=repo.recent_post_count(account.id, started - timedelta(seconds=WEEK)))
    repo.record_success(account.id, started=started, finished=clock(), counts=counts, requests=requests,
                        next_check_at=next_at, cursor=cursor)
    return RefreshOutcome(account, True, counts, requests, None, next_at)


def _failed(account: Account, repo: Repo, settings: Settings, started: datetime, finished: datetime, error: str,
            crawler: Crawler, before: int, exc: BaseException) -> RefreshOutcome:
    assert account.id is not None
    requests = crawler.client.requests[account.native_id] - before
    retry_after = exc.retry_after if isinstance(exc, FetchError) else None
    delay = backoff_delay(account.error_count + 1, min_interval=settings.scheduler.min_interval,
                          max_interval=settings.scheduler.max_interval, retry_after=retry_after)
    next_at = finished + timedelta(seconds=delay)
    repo.record_failure(account.id, started=started, finished=finished, error=error, requests=requests,
                        next_check_at=next_at)
    log.warning("%s", error)
    return RefreshOutcome(account, False, UpsertCounts(), requests, error, next_at)


class CrawlerPool:
    """One crawler (and one shared, budgeted client) per platform, reused across refreshes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._crawlers: dict[str, Crawler] = {}

    def get(self, platform: str) -> Crawler:
        """The platform's crawler; NotImplementedError for a platform without one."""
        if platform not in self._crawlers:
            section = self.settings.platform(platform)
            self._crawlers[platform] = crawler_class(platform)(section, make_client(platform, section))
        return self._crawlers[platform]

    async def aclose(self) -> None:
        for crawler in self._crawlers.values():
            await crawler.client.aclose()
        self._crawlers.clear()


def unsupported(account: Account, error: NotImplementedError, now: datetime) -> RefreshOutcome:
    """The outcome for an account whose platform has no crawler yet (nothing is recorded)."""
    return RefreshOutcome(account, False, UpsertCounts(), 0, str(error), now)


async def refresh_many(accounts: Sequence[Account], repo: Repo, settings: Settings,
                       clock: Callable[[], datetime], *, pool: CrawlerPool | None = None,
                       in_flight: int = ACCOUNTS_IN_FLIGHT) -> list[RefreshOutcome]:
    """Refresh accounts concurrently; each platform's shared client keeps to its request budget.

    At most ``in_flight`` accounts are crawled at once: a crawl holds its pages in memory until it
    is stored, so starting thousands together would hold them all.
    """
    own_pool = pool is None
    pool = pool or CrawlerPool(settings)
    slots = asyncio.Semaphore(in_flight)
    outcomes: list[RefreshOutcome] = []

    async def one(account: Account, crawler: Crawler) -> RefreshOutcome:
        async with slots:
            return await refresh_account(account, crawler, repo, settings, clock)

    jobs = []
    try:
        for account in accounts:
            try:
                jobs.append(one(account, pool.get(account.platform)))
            except NotImplementedError as exc:
                outcomes.append(unsupported(account, exc, clock()))
        outcomes += await asyncio.gather(*jobs)
    finally:
        if own_pool:
            await pool.aclose()
    return outcomes
