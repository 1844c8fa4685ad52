"""The passes behind ``crawl``, ``run``, ``reprocess`` and ``exchange rebuild``: what they claim,
what they print, how they end. The CLI parses arguments and calls these.

``crawl`` and ``run`` never crawl the same account at once: ``crawl`` leases what it crawls as
``run`` does (on PostgreSQL a scheduler's accounts are skipped), and on SQLite it refuses while a
scheduler holds the database. Both sync the accounts from the settings first, as ``init`` does.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import datetime
from typing import IO

from govmatrix.bootstrap import sync
from govmatrix.clock import Clock
from govmatrix.config import Settings
from govmatrix.errors import MatrixError, StoreError
from govmatrix.matrix import exchange
from govmatrix.matrix.clusters import Clusterer
from govmatrix.models import Account
from govmatrix.pipelines import base as pipelines
from govmatrix.progress import Reporter
from govmatrix.refresh import RefreshOutcome, refresh_many
from govmatrix.render import clip
from govmatrix.scheduler import MatrixScheduler, SchedulerLocked, owner_name, release_dead_leases, sqlite_lock
from govmatrix.storage.repo import Repo


def _store_failed(exc: StoreError) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 1


def _crawl_lock(settings: Settings) -> IO[str] | None:
    try:
        return sqlite_lock(settings.storage.url)
    except SchedulerLocked:
        raise MatrixError(f"{settings.storage.url}: a `govmatrix run` (or another crawl) is using this SQLite "
                          "database; stop it, or let it do the crawling") from None


def outcome_line(o: RefreshOutcome) -> str:
    head = f"{o.account.label} {o.account.name}"
    if not o.ok:
        return f"{head}: ERROR {o.error}"
    skipped = f", {len(o.warnings)} items skipped" if o.warnings else ""
    return f"{head}: {o.counts.new} new, {o.counts.updated} updated, {o.requests} requests{skipped}"


def _choose(repo: Repo, settings: Settings, now: datetime, owner: str, *, platform: str | None,
            account: str | None, everything: bool) -> tuple[list[Account], int]:
    """Lease the accounts to crawl; also how many were wanted but held by someone else."""
    lease = settings.scheduler.lease_seconds
    if not (account or everything):
        due = repo.accounts.due(now, limit=100_000, platform=platform)
        claimed = repo.accounts.claim_due(now, owner, limit=len(due) or 1, lease_seconds=lease,
                                          ids=[a.id for a in due]) if due else []
        return claimed, len(due) - len(claimed)
    wanted = repo.accounts.find(platform=platform, native_id=account, enabled_only=not account)
    if not wanted:
        return [], 0
    claimed = repo.accounts.claim_due(now, owner, limit=len(wanted), lease_seconds=lease, ids=[a.id for a in wanted])
    return claimed, len(wanted) - len(claimed)


def _nothing_due(repo: Repo, settings: Settings, now: datetime) -> None:
    waiting = repo.accounts.backing_off(now)
    if not waiting:
        print("no account is due")
        return
    soonest = waiting[0].next_check_at
    when = soonest.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") if soonest else "-"
    print(f"no account is due; {len(waiting)} accounts are in back-off after errors (the first until {when}); "
          "`govmatrix crawl --all` crawls them now")


def crawl_command(repo: Repo, settings: Settings, clock: Clock, *, platform: str | None, account: str | None,
                  everything: bool) -> int:
    """One pass over the due accounts (or all of them, or one)."""
    lock = _crawl_lock(settings)
    owner = owner_name("crawl@")
    try:
        now = clock.now()
        release_dead_leases(repo)  # of a crawl or a scheduler on this host that died holding some
        repo.accounts.release_leases(owner)  # ours from an earlier pass that could not release them
        sync(settings, repo, now)
        accounts, busy = _choose(repo, settings, now, owner, platform=platform, account=account, everything=everything)
        if busy:
            print(f"{busy} accounts are being crawled by a scheduler right now; left to it")
        if not accounts:
            if account:
                print("no such account" if not busy else f"{account} is being crawled by a scheduler")
                return 1
            _nothing_due(repo, settings, now)
            return 0
        with Reporter(len(accounts), "crawl") as report:
            def done(outcome: RefreshOutcome) -> None:
                report.line(outcome_line(outcome))
                report.advance()

            outcomes = asyncio.run(refresh_many(accounts, repo, settings, clock, on_done=done))
    except StoreError as exc:
        _release(repo, owner)
        return _store_failed(exc)
    finally:
        if lock is not None:
            lock.close()
    new, updated, failed = (sum(o.counts.new for o in outcomes), sum(o.counts.updated for o in outcomes),
                            sum(not o.ok for o in outcomes))
    print(f"total: {len(outcomes)} accounts, {new} new posts, {updated} updated, {failed} failed")
    return 0 if any(o.ok or o.requests for o in outcomes) else 1


def _release(repo: Repo, owner: str) -> None:
    try:
        repo.accounts.release_leases(owner)
    except StoreError:
        pass  # the leases expire by themselves


def run_command(repo: Repo, settings: Settings, clock: Clock, *, once: bool, tick: float) -> int:
    """The scheduler, until SIGTERM or Ctrl-C (or one pass with ``once``)."""
    lock = sqlite_lock(settings.storage.url)
    try:
        if lock is not None:
            repo.accounts.release_leases()  # we are the only scheduler: any lease left is from a process that died
        sync(settings, repo, clock.now())
        scheduler = MatrixScheduler(settings, repo, clock, tick_seconds=tick)
        if once:
            outcomes = asyncio.run(scheduler.run_once())
            failed = sum(not o.ok for o in outcomes)
            print(f"run --once: {scheduler.claimed} accounts claimed, {len(outcomes) - failed} refreshed, "
                  f"{failed} failed")
            return 0
        print(f"govmatrix run: scheduler {scheduler.owner} started (tick {tick:g} s); SIGTERM or Ctrl-C stops it",
              flush=True)
        asyncio.run(_serve(scheduler))
        print("govmatrix run: stopped")
        return 0
    except StoreError as exc:
        return _store_failed(exc)
    finally:
        if lock is not None:
            lock.close()


async def _serve(scheduler: MatrixScheduler) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await scheduler.serve(stop)


def reprocess_command(repo: Repo, settings: Settings, clock: Clock, *, platform: str | None,
                      since: datetime | None) -> int:
    """The pipelines again over stored posts, from their body as served; idempotent."""
    steps = pipelines.build(settings.pipelines.order, settings)
    total = repo.posts.count(platform=platform, since=since)
    done = 0
    try:
        with Reporter(total, "reprocess") as report:
            owners = {a.id: _settings_of(settings, a) for a in repo.accounts.find()}
            for batch in repo.posts.iter_stored(platform=platform, since=since):
                of_post = {id(post): owners.get(account_id) for _, account_id, post in batch}
                pipelines.run(steps, [post for _, _, post in batch], lambda post: of_post[id(post)])  # noqa: B023
                done += repo.posts.update_processed([(post_id, post) for post_id, _, post in batch])
                report.advance(len(batch))
    except StoreError as exc:
        return _store_failed(exc)
    clustered = 0
    clusterer = Clusterer.of(settings.pipelines)
    if clusterer is not None:  # signatures may have changed: cluster the history again
        repo.clusters.reset(clock.now())
        clustered = clusterer.run(repo, clock.now())
    print(f"reprocess: {done} posts through {', '.join(settings.pipelines.order) or 'no pipelines'}"
          + (f"; {clustered} clustered" if clustered else ""))
    return 0


def _settings_of(settings: Settings, account: Account) -> object:
    """The account's settings, None for an account that left them."""
    try:
        return settings.account(account.platform, account.native_id)
    except MatrixError:
        return None


def rebuild_exchanges(repo: Repo, settings: Settings, now: datetime, *, account: str | None) -> int:
    """Every online-exchange session derived again from the stored posts."""
    rebuilt = 0
    for acc in repo.accounts.find(native_id=account, enabled_only=not account):
        try:
            options = settings.account(acc.platform, acc.native_id).options
        except MatrixError:
            continue
        counts = exchange.derive(repo, acc, options, now)
        if counts is not None:
            rebuilt += 1
            print(f"{acc.label} {clip(acc.name, 20)}: {counts.new} sessions added, {counts.updated} changed or removed")
    if not rebuilt:
        print("no forum account to rebuild" if not account else f"{account}: no such forum account")
        return 1 if account else 0
    return 0
