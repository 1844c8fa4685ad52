"""``govmatrix demo``: the whole pipeline offline, against the sandbox, in one command.

Starts the sandbox on the address the example settings point at, creates a fresh store, crawls
every account of the simulated city day by day through 30 simulated days (so follower history
comes from real crawls), shows what was stored, creates two demo users (their passwords printed
once), approves some items, and serves the web app with the scheduler, which keeps the demo fresh
from the sandbox: its clock runs a simulated minute per second until serve is stopped.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from govmatrix.bootstrap import initialize
from govmatrix.clock import Clock
from govmatrix.config import Settings
from govmatrix.errors import ConfigError
from govmatrix.matrix.feed import feed
from govmatrix.refresh import refresh_many
from govmatrix.render import clip, table
from govmatrix.sandbox.app import SandboxConfig, SandboxServer
from govmatrix.sandbox.remote import advance_clock
from govmatrix.storage.repo import Repo
from govmatrix.tz import SHANGHAI

DEMO_START = datetime(2016, 6, 1, 9, 0, tzinfo=SHANGHAI)  # the era of the model city's matrix
DEMO_DAYS = 30
DEMO_RATE = 200.0  # requests per second and platform: politeness is for the real platforms
DEMO_STORE = "demo.db"  # the demo's own SQLite store, made fresh each time (unless GOVMATRIX_DATABASE_URL is set)
DEMO_SPEED = 60  # simulated seconds per second while the demo is served
DEMO_APPROVED = 12  # newest original items approved, two of them pinned


def write_reports(repo: Repo, settings: Settings, now: datetime) -> None:
    """The month so far as the department's report (the scheduler writes complete months on the 1st)."""
    from govmatrix import monthly
    from govmatrix.matrix.period import Month

    month = Month.of(now.astimezone(settings.tz).date())
    paths = [monthly.write(repo, settings, "matrix", month, fmt, None) for fmt in ("xlsx", "html")]
    print(f"\nthe monthly report of {month} so far: {', '.join(map(str, paths))} (govmatrix report --help)")


def sandbox_address(settings: Settings) -> tuple[str, int]:
    """Host and port of the sandbox the settings point at (from the Weibo base URL)."""
    parts = urlsplit(settings.platform("weibo").base_url)
    if parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None:
        raise ConfigError(f"{settings.path}: platforms.weibo.base_url: the demo needs the sandbox's "
                          f"http://127.0.0.1:PORT/weibo, got {settings.platform('weibo').base_url!r}")
    return parts.hostname, parts.port


def local_budget(settings: Settings) -> Settings:
    """The same settings with the request budget lifted: the sandbox is on this machine."""
    platforms = {name: section.model_copy(update={"rate": DEMO_RATE, "concurrency": 8})
                 for name, section in settings.platforms.items()}
    return settings.model_copy(update={"platforms": platforms})


def without_comments(settings: Settings) -> Settings:
    """The settings with Weibo's comments left unread: the days before the last are crawled without
    them (each day's crawl would read the last 14 days' comments again); the last day and the scheduler
    read them."""
    platforms = dict(settings.platforms)
    if "weibo" in platforms:
        platforms["weibo"] = platforms["weibo"].model_copy(update={"comment_days": 0})
    return settings.model_copy(update={"platforms": platforms})


def demo_store(settings: Settings) -> Settings:
    """The settings with the demo's own fresh SQLite store (GOVMATRIX_DATABASE_URL, if set, is used as it is)."""
    if os.environ.get("GOVMATRIX_DATABASE_URL"):
        return settings
    for suffix in ("", "-wal", "-shm", ".scheduler.lock"):
        Path(DEMO_STORE + suffix).unlink(missing_ok=True)
    return settings.model_copy(update={"storage": settings.storage.model_copy(update={"url": f"sqlite:///{DEMO_STORE}"})})


def demo_users(repo: Repo, now: datetime) -> None:
    """An admin and a reviewer with new random passwords, printed once."""
    from govmatrix.web.auth import hash_password

    print("\ndemo users of the review desk (passwords shown once):")
    for name, role in (("admin", "admin"), ("reviewer", "reviewer")):
        password = secrets.token_urlsafe(9)
        if repo.users.by_name(name):
            repo.users.change(name, now, password_hash=hash_password(password), disabled=False)
        else:
            repo.users.add(name, role, hash_password(password), now)
        print(f"    {name} / {password}  ({role})")


def approve_some(repo: Repo, settings: Settings, now: datetime) -> int:
    """The newest original items approved by the demo admin (each cluster once), the two newest pinned."""
    from govmatrix.storage.feed import FeedQuery

    rows = repo.feed.page(FeedQuery(kind="original", collapsed=True, limit=DEMO_APPROVED))
    rows += repo.feed.page(FeedQuery(kind="article", collapsed=True, limit=DEMO_APPROVED))
    ids = [r["id"] for r in rows]
    repo.reviews.set_state(ids[2:], "approved", actor="admin", now=now, note="演示数据")
    repo.reviews.set_state(ids[:2], "pinned", actor="admin", now=now, note="演示数据")
    return len(ids)


def run_demo(settings: Settings, days: int = DEMO_DAYS, start: datetime = DEMO_START, *, serve: bool = True) -> int:
    host, port = sandbox_address(settings)
    settings = local_budget(demo_store(settings))
    with SandboxServer(SandboxConfig(seed=1, start=start), host=host, port=port) as sandbox:
        print(f"sandbox: serving the simulated city on {sandbox.url} (clock starts {start:%Y-%m-%d %H:%M})")
        repo, report = initialize(settings, sandbox.state.now)
        print(f"store: {settings.storage.url}; {len(repo.accounts.find(enabled_only=True))} accounts "
              f"({len(report.sync.added)} added now)")
        catch_up = without_comments(settings)
        for day in range(days):
            if day:
                advance_clock(sandbox.url, 86_400)
            crawl_day(repo, settings if day == days - 1 else catch_up, sandbox.state.now)
        show(repo, settings)
        write_reports(repo, settings, sandbox.state.now)
        demo_users(repo, sandbox.state.now)
        print(f"approved {approve_some(repo, settings, sandbox.state.now)} items for the micro-site (2 pinned)")
        if not serve:
            return 0
        from govmatrix.web.commands import serve as serve_web

        print(f"\nthe sandbox's clock now runs {DEMO_SPEED} simulated seconds per second; the scheduler crawls "
              "what is due")
        clock = Clock(source=lambda: sandbox.state.now)
        return serve_web(repo, settings, clock, host=settings.web.host, port=settings.web.port, scheduler=True,
                         also=lambda: _run_clock(sandbox))
    return 0


async def _run_clock(sandbox: SandboxServer) -> None:
    while True:
        await asyncio.sleep(1)
        sandbox.state.set_now(sandbox.state.now + timedelta(seconds=DEMO_SPEED))


def crawl_day(repo: Repo, settings: Settings, now: datetime) -> None:
    accounts = repo.accounts.find(enabled_only=True)
    outcomes = asyncio.run(refresh_many(accounts, repo, settings, Clock(fixed=now)))
    failed = [o for o in outcomes if not o.ok]
    new = sum(o.counts.new for o in outcomes)
    print(f"{now.astimezone(SHANGHAI):%Y-%m-%d}: crawled {len(outcomes)} accounts, {new} new posts, "
          f"{len(failed)} failed")
    for o in failed:
        print(f"    {clip(o.error or '', 100)}")


def show(repo: Repo, settings: Settings) -> None:
    counts = repo.posts.platform_counts()
    print("\nposts stored: " + ", ".join(f"{p} {n}" for p, n in sorted(counts.items())))
    rows = [(r["published_at"][:16].replace("T", " "), r["platform"], clip(r["account"], 14),
             clip(r["title"] or r["text"], 50)) for r in feed(repo, settings.tz, limit=8)]
    print("\nnewest in the unified feed (govmatrix feed):\n" + table(("published", "platform", "account", "text"), rows))
    followers = []
    for account in repo.accounts.find(platform="weibo", enabled_only=True):
        series = [s for s in repo.snapshots.of_account(account.id) if s["followers"] is not None]
        if series:
            followers.append((account.name, series[-1]["followers"], series[-1]["followers"] - series[0]["followers"],
                              len(series)))
    followers.sort(key=lambda row: -row[1])
    print("\nWeibo followers (from daily profile snapshots):\n"
          + table(("account", "followers", "growth", "days"), followers[:8]))
    sessions = repo.exchanges.sessions()
    answered = sum(s.get("answered", 0) or 0 for s in sessions)
    asked = sum(s.get("questions", 0) or 0 for s in sessions)
    print(f"\nonline exchanges on the forum: {len(sessions)} sessions, {asked} questions, {answered} answered")
    print(f"\nthe store: {settings.storage.url}; with GOVMATRIX_DATABASE_URL={settings.storage.url} try govmatrix "
          "status | feed --search 疫苗 | followers | rankings | exchanges")
