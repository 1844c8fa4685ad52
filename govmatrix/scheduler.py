"""APScheduler wiring: when refreshes and the daily follower snapshot run, in one long-lived process.

The database decides what is due (``accounts.next_check_at``); jobs hold no state of their own.
A refresh tick claims due accounts with a lease (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so
several ``govmatrix run`` processes share the accounts; SQLite: one scheduler at a time, enforced
by a lock file) and starts one task per account without waiting for the others, so a slow platform
never holds up the rest. After a crash, leases expire and the accounts are claimed again; since a
crawl stores nothing until it has finished, nothing is lost or duplicated.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from govmatrix.config import Settings
from govmatrix.errors import MatrixError
from govmatrix.models import Account
from govmatrix.refresh import CrawlerPool, RefreshOutcome, refresh_account, unsupported
from govmatrix.storage.repo import Repo

log = logging.getLogger("govmatrix.scheduler")

TICK_SECONDS = 15.0
LEASE_SECONDS = 900.0  # longer than any crawl; an expired lease means its worker died
MISFIRE_GRACE = 60  # a job that could not start on time still runs if at most this late
SHUTDOWN_GRACE = 8.0  # SIGTERM: in-flight crawls get this long, then they are abandoned
SNAPSHOT_AT = (23, 30)  # Asia/Shanghai: every Weibo account gets a follower snapshot each day


class SchedulerLocked(MatrixError):
    """Another scheduler already runs on this SQLite database."""


def sqlite_lock(url: str) -> IO[str] | None:
    """Hold an exclusive lock next to a SQLite file; None for other databases.

    The operating system drops the lock when the process dies, even on kill -9.
    """
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url.removeprefix("sqlite:///") + ".scheduler.lock")
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SchedulerLocked(f"{url}: another `govmatrix run` already uses this SQLite database; "
                              "SQLite allows one scheduler (use PostgreSQL to run several)") from None
    return handle


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


class MatrixScheduler:
    """Claims due accounts, refreshes them concurrently, and keeps the daily snapshot job."""

    def __init__(self, settings: Settings, repo: Repo, clock: Callable[[], datetime], *,
                 tick_seconds: float = TICK_SECONDS, batch: int = 200) -> None:
        self.settings, self.repo, self.clock = settings, repo, clock
        self.tick_seconds, self.batch = tick_seconds, batch
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.pool = CrawlerPool(settings)
        self.in_flight: dict[int, asyncio.Task[RefreshOutcome]] = {}
        self.outcomes: list[RefreshOutcome] = []

    def release_dead_leases(self) -> list[str]:
        """Release the leases of schedulers on this host whose process is gone (killed, crashed).

        Leases of other hosts are left to expire.
        """
        host = socket.gethostname()
        dead = []
        for owner in self.repo.lease_owners():
            owner_host, _, pid = owner.rpartition(":")
            if owner_host == host and pid.isdigit() and not _alive(int(pid)):
                self.repo.release_leases(owner)
                dead.append(owner)
        return dead

    def claim(self) -> list[Account]:
        room = self.batch - len(self.in_flight)
        if room <= 0:
            return []
        return self.repo.claim_due(self.clock(), self.owner, limit=room, lease_seconds=LEASE_SECONDS,
                                   exclude=self.in_flight)

    async def tick(self) -> int:
        """Start a refresh for every account that is due and not running yet; returns how many started."""
        started = 0
        for account in self.claim():
            try:
                crawler = self.pool.get(account.platform)
            except NotImplementedError as exc:
                self.outcomes.append(unsupported(account, exc, self.clock()))
                self.repo.record_failure(account.id or 0, started=self.clock(), finished=self.clock(),
                                         error=str(exc), requests=0,
                                         next_check_at=self.clock() + timedelta(days=1))
                continue
            task = asyncio.create_task(refresh_account(account, crawler, self.repo, self.settings, self.clock))
            self.in_flight[account.id or 0] = task
            task.add_done_callback(functools.partial(self._finished, account.id or 0))
            started += 1
        return started

    def _finished(self, key: int, task: asyncio.Task[RefreshOutcome]) -> None:
        self.in_flight.pop(key, None)
        if not task.cancelled() and task.exception() is None:
            self.outcomes.append(task.result())

    def daily_snapshot(self) -> int:
        """Make every Weibo account without a follower snapshot today due now."""
        now = self.clock()
        ids = self.repo.accounts_without_snapshot(now.astimezone(self.settings.tz).date())
        self.repo.mark_due(now, ids)
        return len(ids)

    async def run_once(self) -> list[RefreshOutcome]:
        """One pass: claim everything due, refresh it all, wait, return the outcomes (for cron users)."""
        self.release_dead_leases()
        while await self.tick():
            await asyncio.gather(*self.in_flight.values(), return_exceptions=True)
        await asyncio.gather(*self.in_flight.values(), return_exceptions=True)
        return self.outcomes

    def build(self) -> AsyncIOScheduler:
        """The APScheduler jobs, with fixed ids so a restart replaces rather than duplicates them."""
        scheduler = AsyncIOScheduler(timezone=self.settings.tz)
        common = {"replace_existing": True, "coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE}
        scheduler.add_job(self.tick, IntervalTrigger(seconds=self.tick_seconds), id="refresh-tick",
                          next_run_time=datetime.now(self.settings.tz), **common)
        scheduler.add_job(self.daily_snapshot, CronTrigger(hour=SNAPSHOT_AT[0], minute=SNAPSHOT_AT[1],
                                                           timezone=self.settings.tz),
                          id="daily-snapshot", **common)
        return scheduler

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then finish or abandon in-flight crawls within the grace time."""
        for owner in self.release_dead_leases():
            log.info("released the leases of %s, which is no longer running", owner)
        scheduler = self.build()
        scheduler.start()
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            await self.shutdown()

    async def shutdown(self) -> None:
        pending = list(self.in_flight.values())
        if pending:
            done, still = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE)
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
            log.info("shutdown: %d crawls finished, %d abandoned (fetched again next time)", len(done), len(still))
        self.repo.release_leases(self.owner)
        await self.pool.aclose()
