"""Leases and the scheduler: one claim per due account, expiry after a crash, the SQLite lock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from govmatrix.clock import Clock
from govmatrix.config import load_settings
from govmatrix.models import ORIGINAL, Post
from govmatrix.scheduler import MatrixScheduler, SchedulerLocked, release_dead_leases, sqlite_lock
from govmatrix.storage.db import make_engine
from govmatrix.storage.repo import AccountSpec, Repo, UpsertCounts

from .test_config import BASE, write

NOW = datetime(2016, 7, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
def repo(repo: Repo) -> Repo:
    repo.accounts.sync([AccountSpec("d", "d", "weibo", str(n), f"a{n}", True, None, {}) for n in range(10)])
    return repo


def test_claims_are_exclusive_until_the_lease_expires(repo: Repo) -> None:
    first = repo.accounts.claim_due(NOW, "one", limit=4, lease_seconds=600)
    second = repo.accounts.claim_due(NOW, "two", limit=100, lease_seconds=600)
    assert len(first) == 4 and len(second) == 6
    assert not {a.id for a in first} & {a.id for a in second}
    assert repo.accounts.claim_due(NOW + timedelta(seconds=599), "three", limit=100, lease_seconds=600) == []
    # "one" died: its leases expire and the accounts are claimed again
    assert repo.accounts.release_leases("two") == 6
    again = repo.accounts.claim_due(NOW + timedelta(seconds=601), "three", limit=100, lease_seconds=600)
    assert len(again) == 10


def test_finishing_a_crawl_releases_the_lease(repo: Repo) -> None:
    [account] = repo.accounts.claim_due(NOW, "one", limit=1, lease_seconds=600)
    assert account.id is not None
    repo.runs.record_success(account.id, started=NOW, finished=NOW, counts=UpsertCounts(), requests=1,
                        next_check_at=NOW, cursor=None)
    assert account.id in [a.id for a in repo.accounts.claim_due(NOW, "two", limit=100, lease_seconds=600)]


def test_concurrent_claims_never_overlap(repo: Repo, db_url: str) -> None:
    """Two workers with their own connections claiming at the same time (SKIP LOCKED on PostgreSQL)."""
    other = Repo(make_engine(db_url))

    async def claim(r: Repo, owner: str) -> list[int]:
        got: list[int] = []
        for _ in range(10):
            got += [a.id or 0 for a in await asyncio.to_thread(r.accounts.claim_due, NOW, owner, limit=1, lease_seconds=60)]
        return got

    async def both() -> tuple[list[int], list[int]]:
        return await asyncio.gather(claim(repo, "a"), claim(other, "b"))

    a, b = asyncio.run(both())
    other.engine.dispose()
    assert sorted(a + b) == sorted({*a, *b}) and len(a + b) == 10


def test_daily_snapshot_marks_accounts_without_one(repo: Repo, tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, BASE), env={})
    for account in repo.accounts.find():
        repo.runs.record_success(account.id or 0, started=NOW, finished=NOW, counts=UpsertCounts(), requests=1,
                            next_check_at=NOW + timedelta(days=2), cursor=None)
    scheduler = MatrixScheduler(settings, repo, Clock(fixed=NOW))
    assert scheduler.daily_snapshot() == 10  # every Weibo account (its crawler takes profile snapshots)
    assert len(repo.accounts.due(NOW)) == 10


def test_the_monthly_job_writes_last_months_reports(repo: Repo, tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, BASE), env={})
    settings = settings.model_copy(update={"reports": settings.reports.model_copy(update={"dir": str(tmp_path / "r")})})
    first_of_july = datetime(2016, 7, 1, 6, 0, tzinfo=NOW.tzinfo)
    paths = asyncio.run(MatrixScheduler(settings, repo, Clock(fixed=first_of_july)).monthly_reports())
    names = sorted(Path(p).name for p in paths)
    assert names == sorted(f"{k}-2016-06.{f}" for k in ("matrix", "followers", "exchange") for f in ("xlsx", "html"))
    assert all(Path(p).stat().st_size > 1000 for p in paths)
    blocked = settings.model_copy(update={"reports": settings.reports.model_copy(update={"dir": "/proc/no"})})
    assert asyncio.run(MatrixScheduler(blocked, repo, Clock(fixed=first_of_july)).monthly_reports()) == []


def test_jobs_have_fixed_ids_and_safe_options(repo: Repo, tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, BASE), env={})

    async def jobs() -> dict[str, object]:
        scheduler = MatrixScheduler(settings, repo, Clock(fixed=NOW), tick_seconds=5).build()
        return {job.id: job for job in scheduler.get_jobs()}

    built = asyncio.run(jobs())
    assert set(built) == {"refresh-tick", "daily-snapshot", "monthly-reports", "inspection-alarms"}
    tick, snap, reports = built["refresh-tick"], built["daily-snapshot"], built["monthly-reports"]
    alarms = built["inspection-alarms"].trigger.get_next_fire_time(None, NOW)  # type: ignore[attr-defined]
    assert (alarms.hour, alarms.minute) == (8, 0) and alarms > NOW
    assert isinstance(tick.trigger, IntervalTrigger) and tick.trigger.interval == timedelta(seconds=5)  # type: ignore[attr-defined]
    assert isinstance(snap.trigger, CronTrigger)  # type: ignore[attr-defined]
    first = reports.trigger.get_next_fire_time(None, NOW)  # type: ignore[attr-defined]
    assert (first.day, first.hour) == (1, 6) and first > NOW
    for job in (tick, snap, reports, built["inspection-alarms"]):
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 60)  # type: ignore[attr-defined]


def test_second_scheduler_on_sqlite_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    held = sqlite_lock(url)
    with pytest.raises(SchedulerLocked, match="another `govmatrix run` already uses this SQLite database"):
        sqlite_lock(url)
    assert held is not None
    held.close()
    again = sqlite_lock(url)  # released with its holder
    assert again is not None
    again.close()
    assert sqlite_lock("postgresql+psycopg://x@y/z") is None


def test_leases_of_dead_local_schedulers_are_released(repo: Repo, tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    settings = load_settings(write(tmp_path, BASE), env={})
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_owner = f"{socket.gethostname()}:{gone.stdout.strip()}"
    repo.accounts.claim_due(NOW, dead_owner, limit=3, lease_seconds=600)
    repo.accounts.claim_due(NOW, "elsewhere:1", limit=3, lease_seconds=600)
    assert release_dead_leases(repo) == [dead_owner]
    assert repo.accounts.lease_owners() == {"elsewhere:1"}  # another host's leases wait for expiry
    scheduler = MatrixScheduler(settings, repo, Clock(fixed=NOW))
    assert len(asyncio.run(scheduler.claim())) == 7


def test_the_daily_alarm_job_raises_each_alarm_once(repo: Repo, tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, BASE), env={})
    [account] = repo.accounts.find(native_id="0")
    last = Post(platform="weibo", native_id="1", published_at=NOW - timedelta(days=20), kind=ORIGINAL,
                text="菏泽市召开夏季安全生产工作会议", raw={})
    repo.posts.upsert(account.id or 0, [last], NOW - timedelta(days=20))
    repo.runs.record_success(account.id or 0, started=NOW, finished=NOW, counts=UpsertCounts(), requests=1,
                             next_check_at=NOW + timedelta(hours=1), cursor=None)  # crawled: the silence is real
    scheduler = MatrixScheduler(settings, repo, Clock(fixed=NOW))
    assert asyncio.run(scheduler.inspection_alarms()) >= 1
    [alarm] = [a for a in repo.inspection.alarms(day=NOW.date()) if a["account_id"] == account.id]
    assert alarm["kind"] == "update_lapsed"
    assert asyncio.run(scheduler.inspection_alarms()) == 0  # raised once
