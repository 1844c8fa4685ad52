"""One account, one refresh: crawl -> pipelines -> store. The only orchestrator.

A crawl failure is data, never a crashed pass: it is recorded on the account (error count, last
error, a crawl-run row, a back-off) and the pass goes on with the other accounts. Nothing of a
failed crawl is stored, so the next run fetches again everything that was in flight; an item a
crawl could not read is skipped with a warning on its crawl run, and the rest is stored. A store
that cannot be written (``StoreError``: locked, full, read-only) is not a crawl failure: it stops
the pass, which releases what it holds and says why.

The crawl runs in the event loop; the store's work (synchronous SQL) runs in a worker thread, so
a slow write never holds up the other crawls, the scheduler's ticks or a shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from govmatrix.clock import Clock
from govmatrix.config import Settings
from govmatrix.crawlers.base import REGISTRY, CrawlContext, Crawler, crawler_class
from govmatrix.crawlers.http import Budget
from govmatrix.crawlers.incremental import CURSOR_KEY, horizon_of
from govmatrix.errors import ConfigError, CrawlError, FetchError, StoreError
from govmatrix.matrix import exchange
from govmatrix.matrix.clusters import Clusterer
from govmatrix.models import Account, CrawlResult, Post
from govmatrix.pacing import WEEK, backoff_delay, next_check_after_success
from govmatrix.pipelines import base as pipelines
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
    warnings: list[str] = field(default_factory=list)


def redact(message: str, secrets: Sequence[str]) -> str:
    """``message`` with every known secret value replaced (a platform may echo a token back)."""
    for secret in secrets:
        message = message.replace(secret, "***")
    return message


class CrawlerPool:
    """One crawler (and one shared request budget) per platform, reused across refreshes, and the
    configured pipelines."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pipelines = pipelines.build(settings.pipelines.order, settings)
        self.clusterer = Clusterer.of(settings.pipelines)
        self._crawlers: dict[str, Crawler] = {}

    def get(self, platform: str) -> Crawler:
        if platform not in REGISTRY:
            raise ConfigError(f"{platform}: no crawler for this platform (registered: {', '.join(REGISTRY)})")
        if platform not in self._crawlers:
            section = self.settings.platform(platform)
            self._crawlers[platform] = crawler_class(platform)(section, Budget.of(section))
        return self._crawlers[platform]

    async def aclose(self) -> None:
        for crawler in self._crawlers.values():
            await crawler.aclose()
        self._crawlers.clear()


async def refresh_account(account: Account, pool: CrawlerPool, repo: Repo, clock: Clock) -> RefreshOutcome:
    """Crawl one account and store the result, or record the failure. Raises only StoreError."""
    settings = pool.settings
    started = clock.now()
    crawler: Crawler | None = None
    try:
        crawler = pool.get(account.platform)
        options = settings.account(account.platform, account.native_id).options
        section = settings.platform(account.platform)
        ctx = CrawlContext(account=account, options=options, now=started,
                           horizon=horizon_of(account.cursor, started, section.horizon_days),
                           known=lambda ids: repo.posts.known_ids(account.platform, ids))
        before = crawler.budget.requests[account.native_id]
        try:
            async with asyncio.timeout(section.crawl_timeout):
                result = await crawler.crawl(ctx)
        except TimeoutError:
            raise FetchError(f"crawl took longer than {section.crawl_timeout:g} s (crawl_timeout)",
                             platform=account.platform, account=account.native_id) from None
    except (CrawlError, ConfigError) as exc:
        return await _failed(account, repo, settings, started, clock, str(exc), crawler, exc)
    except Exception as exc:  # a bug must not stop the pass: record it on the account, log the traceback
        log.error("%s: unexpected error\n%s", account.label, traceback.format_exc())
        return await _failed(account, repo, settings, started, clock, f"{account.label}: internal error: {exc!r}",
                             crawler, exc)
    requests = crawler.budget.requests[account.native_id] - before
    try:
        return await asyncio.to_thread(_store, account, options, result, ctx, requests, pool, repo, clock)
    except StoreError:
        raise
    except Exception as exc:  # the result could not be stored (a bug, or a value the database refused)
        log.error("%s: storing the crawl failed\n%s", account.label, traceback.format_exc())
        return await _failed(account, repo, settings, started, clock, f"{account.label}: cannot store: {exc!r}",
                             crawler, exc)


def _store(account: Account, options: Any, result: CrawlResult, ctx: CrawlContext, requests: int,
           pool: CrawlerPool, repo: Repo, clock: Clock) -> RefreshOutcome:
    """Pipelines and the store's writes for a finished crawl (run in a worker thread)."""
    settings, started = pool.settings, ctx.now
    warnings = [redact(w, settings.secret_values()) for w in result.warnings + pipelines.prepare(result.posts, started)]
    fresh = repo.posts.changed(result.posts)
    account_settings = settings.account(account.platform, account.native_id)
    pipelines.run(pool.pipelines, fresh, lambda post: account_settings)
    counts = _upsert(repo, account, fresh, started, warnings)
    if pool.clusterer is not None and fresh:
        pool.clusterer.run(repo, started)
    repo.snapshots.upsert(account.id, result.snapshots, settings.tz)
    if result.article_stats:
        repo.articles.upsert(account.id, result.article_stats)
    if result.comments:
        repo.comments.upsert(account.id, result.comments, started)
    threads = sorted({str(p.extra["tid"]) for p in fresh if p.extra.get("tid") is not None})
    if threads:
        exchange.derive(repo, account, options, started, threads)
    cursor = {**account.cursor, **(result.cursor or {}), CURSOR_KEY: ctx.horizon.isoformat()}
    sched = settings.scheduler
    finished = clock.now()
    next_at = next_check_after_success(
        finished, override=account.interval, min_interval=sched.min_interval, max_interval=sched.max_interval,
        posts_last_week=repo.posts.recent_count(account.id, started - timedelta(seconds=WEEK)))
    repo.runs.record_success(account.id, started=started, finished=finished, counts=counts, requests=requests,
                             next_check_at=next_at, cursor=cursor, warnings=warnings)
    for warning in warnings[:3]:
        log.warning("%s: %s", account.label, warning)
    return RefreshOutcome(account, True, counts, requests, None, next_at, warnings)


def _upsert(repo: Repo, account: Account, posts: list[Post], now: datetime, warnings: list[str]) -> UpsertCounts:
    """All posts in bulk; when the database refuses the batch, one by one, skipping those it refuses."""
    try:
        return repo.posts.upsert(account.id, posts, now)
    except StoreError:
        raise
    except SQLAlchemyError:
        log.warning("%s: a batch of %d posts was refused; storing them one by one", account.label, len(posts))
    counts = UpsertCounts()
    for post in posts:
        try:
            counts += repo.posts.upsert(account.id, [post], now)
        except StoreError:
            raise
        except SQLAlchemyError as exc:
            warnings.append(f"post {post.native_id}: not stored ({type(getattr(exc, 'orig', None) or exc).__name__})")
    return counts


async def _failed(account: Account, repo: Repo, settings: Settings, started: datetime, clock: Clock, error: str,
                  crawler: Crawler | None, exc: BaseException) -> RefreshOutcome:
    error = redact(error, settings.secret_values())
    requests = crawler.budget.requests[account.native_id] if crawler else 0
    retry_after = exc.retry_after if isinstance(exc, FetchError) else None
    if isinstance(exc, ConfigError):  # a person must fix the settings: do not hammer meanwhile
        retry_after = float(settings.scheduler.max_interval)
    delay = backoff_delay(account.error_count + 1, min_interval=settings.scheduler.min_interval,
                          max_interval=settings.scheduler.max_interval, retry_after=retry_after)
    finished = clock.now()
    next_at = finished + timedelta(seconds=delay)
    await asyncio.to_thread(repo.runs.record_failure, account.id, started=started, finished=finished, error=error,
                            requests=requests, next_check_at=next_at)
    log.warning("%s", error)
    return RefreshOutcome(account, False, UpsertCounts(), requests, error, next_at)


async def refresh_many(accounts: Sequence[Account], repo: Repo, settings: Settings, clock: Clock, *,
                       pool: CrawlerPool | None = None, in_flight: int = ACCOUNTS_IN_FLIGHT,
                       on_done: Callable[[RefreshOutcome], None] | None = None) -> list[RefreshOutcome]:
    """Refresh accounts concurrently; each platform's shared budget paces its requests.

    At most ``in_flight`` accounts are crawled at once: a crawl holds its pages in memory until it
    is stored, so starting thousands together would hold them all. A StoreError stops the pass:
    the other crawls are cancelled and the error raised.
    """
    own_pool = pool is None
    pool = pool or CrawlerPool(settings)
    slots = asyncio.Semaphore(in_flight)

    async def one(account: Account) -> RefreshOutcome:
        async with slots:
            outcome = await refresh_account(account, pool, repo, clock)
        if on_done is not None:
            on_done(outcome)
        return outcome

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(account)) for account in accounts]
    except* StoreError as failures:
        raise failures.exceptions[0] from None
    finally:
        if own_pool:
            await pool.aclose()
    return [task.result() for task in tasks]
