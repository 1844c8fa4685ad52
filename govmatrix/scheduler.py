"""APScheduler wiring: when refreshes, the daily follower snapshot, the monthly reports and the day's
inspection alarms run, in one long-lived process.

The database decides what is due (``accounts.next_check_at``); jobs hold no state of their own.
A refresh tick claims due accounts with a lease (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so
several ``govmatrix run`` processes share the accounts; SQLite: one scheduler at a time, enforced
by a lock file) and starts one task per account without waiting for the others, so a slow platform
never holds up the rest. After a crash, leases expire and the accounts are claimed again; since a
crawl stores nothing until it has finished, nothing is lost or duplicated. A store that cannot be
written stops the scheduler: it releases what it holds and reports the one reason.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import logging
import os
import socket
from pathlib import Path
from typing import IO

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from govmatrix.clock import Clock
from govmatrix.config import Settings
from govmatrix.crawlers.base import snapshot_platforms
from govmatrix.errors import MatrixError, StoreError
from govmatrix.models import Account
from govmatrix.refresh import CrawlerPool, RefreshOutcome, refresh_account
from govmatrix.storage.repo import Repo

log = logging.getLogger("govmatrix.scheduler")

TICK_SECONDS = 15.0
MISFIRE_GRACE = 60  # a job that could not start on time still runs if at most this late
SHUTDOWN_GRACE = 5.0  # SIGTERM: in-flight crawls get this long, then they are abandoned
REPORTS_AT = (6, 0)  # on the 1st, local time: last month is complete, datacube has yesterday
SNAPSHOT_AT = (23, 30)  # local time: every account of a snapshot platform gets a follower snapshot each day
ALARMS_AT = (8, 0)  # local time: the day's inspection alarms (matrix/inspection.py) for the review desk


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


def owner_name(role: str = "") -> str:
    """A lease owner: host and process, so dead owners on this host can be told apart."""
    return f"{role}{socket.gethostname()}:{os.getpid()}"


def release_dead_leases(repo: Repo) -> list[str]:
    """Release the leases of owners on this host whose process is gone (killed, crashed).

    Leases of other hosts are left to expire.
    """
    host = socket.gethostname()
    dead = []
    for owner in repo.accounts.lease_owners():
        owner_host, _, pid = owner.rpartition(":")
        if owner_host.rpartition("@")[2] == host and pid.isdigit() and not _alive(int(pid)):
            repo.accounts.release_leases(owner)
            dead.append(owner)
    return dead


class MatrixScheduler:
    """Claims due accounts, refreshes them concurrently, and keeps the daily snapshot job."""

    def __init__(self, settings: Settings, repo: Repo, clock: Clock, *, tick_seconds: float = TICK_SECONDS,
                 batch: int = 200) -> None:
        self.settings, self.repo, self.clock = settings, repo, clock
        self.tick_seconds, self.batch = tick_seconds, batch
        self.owner = owner_name()
        self.pool = CrawlerPool(settings)
        self.in_flight: dict[int, asyncio.Task[RefreshOutcome]] = {}
        self.outcomes: list[RefreshOutcome] = []
        self.claimed = 0
        self.failure: StoreError | None = None
        self.stop = asyncio.Event()

    async def claim(self) -> list[Account]:
        room = self.batch - len(self.in_flight)
        if room <= 0 or self.failure is not None:
            return []
        accounts = await asyncio.to_thread(
            self.repo.accounts.claim_due, self.clock.now(), self.owner, limit=room,
            lease_seconds=self.settings.scheduler.lease_seconds, exclude=list(self.in_flight))
        self.claimed += len(accounts)
        return accounts

    async def tick(self) -> int:
        """Start a refresh for every account that is due and not running yet; returns how many started."""
        try:
            accounts = await self.claim()
        except StoreError as exc:
            self._store_failed(exc)
            return 0
        for account in accounts:
            task = asyncio.create_task(refresh_account(account, self.pool, self.repo, self.clock))
            self.in_flight[account.id] = task
            task.add_done_callback(functools.partial(self._finished, account.id))
        return len(accounts)

    def _finished(self, key: int, task: asyncio.Task[RefreshOutcome]) -> None:
        self.in_flight.pop(key, None)
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, StoreError):
            self._store_failed(error)
        elif error is None:
            self.outcomes.append(task.result())

    def _store_failed(self, error: StoreError) -> None:
        if self.failure is None:
            self.failure = error
            log.error("stopping: %s", error)
        self.stop.set()

    def daily_snapshot(self) -> int:
        """Make every account of a snapshot platform without a follower snapshot today due now."""
        now = self.clock.now()
        ids = self.repo.accounts.without_snapshot(now.astimezone(self.settings.tz).date(), snapshot_platforms())
        self.repo.accounts.mark_due(now, ids)
        return len(ids)

    async def monthly_reports(self) -> list[str]:
        """Last month's reports into ``[reports] dir`` (run on the 1st); a failure is logged, never raised."""
        from govmatrix import monthly

        try:
            paths = await asyncio.to_thread(monthly.write_last_month, self.repo, self.settings, self.clock.now())
        except (OSError, MatrixError) as exc:
            log.error("monthly reports: %s", exc)
            return []
        log.info("monthly reports written: %s", ", ".join(map(str, paths)))
        return [str(p) for p in paths]

    async def inspection_alarms(self) -> int:
        """Raise the day's inspection alarms (stored for the desk and `govmatrix status`); a failure is
        logged, never raised. Returns how many were new."""
        from govmatrix.matrix.inspection import raise_day_alarms

        try:
            raised = await asyncio.to_thread(raise_day_alarms, self.repo, self.settings, self.clock.now())
        except MatrixError as exc:
            log.error("inspection alarms: %s", exc)
            return 0
        except Exception:  # a bug must not stop the scheduler: the crawls go on
            log.exception("inspection alarms failed")
            return 0
        for alarm in raised:
            log.warning("inspection alarm: %s", alarm["message"])
        return len(raised)

    async def run_once(self) -> list[RefreshOutcome]:
        """One pass: claim everything due, refresh it all, wait, return the outcomes (for cron users)."""
        release_dead_leases(self.repo)
        try:
            while await self.tick():
                await asyncio.gather(*self.in_flight.values(), return_exceptions=True)
            await asyncio.gather(*self.in_flight.values(), return_exceptions=True)
        finally:
            await self.shutdown()
        if self.failure is not None:
            raise self.failure
        return self.outcomes

    def build(self) -> AsyncIOScheduler:
        """The APScheduler jobs, with fixed ids so a restart replaces rather than duplicates them."""
        scheduler = AsyncIOScheduler(timezone=self.settings.tz)
        common = {"replace_existing": True, "coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE}
        scheduler.add_job(self.tick, IntervalTrigger(seconds=self.tick_seconds), id="refresh-tick", **common)
        scheduler.add_job(self.daily_snapshot, CronTrigger(hour=SNAPSHOT_AT[0], minute=SNAPSHOT_AT[1],
                                                           timezone=self.settings.tz),
                          id="daily-snapshot", **common)
        scheduler.add_job(self.monthly_reports, CronTrigger(day=1, hour=REPORTS_AT[0], minute=REPORTS_AT[1],
                                                            timezone=self.settings.tz),
                          id="monthly-reports", **common)
        scheduler.add_job(self.inspection_alarms, CronTrigger(hour=ALARMS_AT[0], minute=ALARMS_AT[1],
                                                              timezone=self.settings.tz),
                          id="inspection-alarms", **common)
        return scheduler

    async def serve(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` (or a store failure) is set, then finish or abandon in-flight crawls
        within the grace time; a store failure is raised after the shutdown."""
        for owner in await asyncio.to_thread(release_dead_leases, self.repo):
            log.info("released the leases of %s, which is no longer running", owner)
        scheduler = self.build()
        scheduler.start()
        watcher = asyncio.ensure_future(stop.wait()) if stop is not None else None
        if watcher is not None:
            watcher.add_done_callback(lambda _: self.stop.set())
        try:
            await self.tick()  # the first tick now, not one interval from now
            await self.inspection_alarms()  # today's, if the scheduler starts after ALARMS_AT (none twice)
            await self.stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            if watcher is not None:
                watcher.cancel()
            await self.shutdown()
        if self.failure is not None:
            raise self.failure

    async def shutdown(self) -> None:
        pending = list(self.in_flight.values())
        if pending:
            done, still = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE)
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
            log.info("shutdown: %d crawls finished, %d abandoned (fetched again next time)", len(done), len(still))
        try:
            await asyncio.to_thread(self.repo.accounts.release_leases, self.owner)
        except StoreError as exc:  # they expire by themselves
            log.warning("leases not released (%s); they expire after %d s", exc, self.settings.scheduler.lease_seconds)
        await self.pool.aclose()
