"""The ``govmatrix`` command: parses arguments and calls into the package. No logic lives here."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo

from govmatrix import __version__
from govmatrix.bootstrap import initialize, open_repo
from govmatrix.clock import SANDBOX_URL, Clock, parse_instant, sandbox_time
from govmatrix.config import Settings, load_settings
from govmatrix.demo import DEMO_DAYS, run_demo
from govmatrix.errors import ConfigError, MatrixError
from govmatrix.matrix.feed import feed
from govmatrix.models import PLATFORMS
from govmatrix.pacing import needs_attention
from govmatrix.refresh import refresh_many
from govmatrix.render import clip, table
from govmatrix.sandbox import cli as sandbox_cli
from govmatrix.scheduler import TICK_SECONDS, MatrixScheduler, sqlite_lock
from govmatrix.storage.db import current_revision, head_revision

Command = Callable[[argparse.Namespace, Settings, Clock], int]


def _local(value: datetime | None, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else "-"


def cmd_init(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    _repo, report = initialize(settings)
    print(f"database: {settings.storage.url} ({'schema upgraded' if report.migrated else 'schema up to date'})")
    sync = report.sync
    for label, items in (("added", sync.added), ("updated", sync.updated), ("disabled", sync.disabled)):
        for item in items:
            print(f"  {label:<8} {item}")
    if not sync.changed:
        print("accounts: in step with the settings, nothing changed")
    else:
        print(f"accounts: {len(sync.added)} added, {len(sync.updated)} updated, {len(sync.disabled)} disabled")
    return 0


def cmd_accounts(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    accounts = open_repo(settings).accounts()
    rows = [(a.department, a.platform, a.native_id, a.name, "yes" if a.enabled else "no",
             a.interval or "adaptive") for a in accounts]
    print(table(("department", "platform", "id", "name", "enabled", "interval"), rows))
    print(f"{len(accounts)} accounts")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    repo, tz, now = open_repo(settings), settings.tz, clock.now()
    runs, failing = repo.last_runs(), repo.failing_since()
    rows, flagged = [], 0
    for a in repo.accounts():
        run = runs.get(a.id or -1)
        last = f"{run['status']} +{run['new_posts']}/~{run['updated_posts']}" if run else "never"
        since = failing.get(a.id or -1)
        attention = needs_attention(since, now, after_days=settings.scheduler.attention_after_days)
        flagged += attention
        state = ("disabled" if not a.enabled else "ATTENTION" if attention else "back-off" if a.error_count
                 else "ok" if run else "new")
        rows.append((a.platform, a.native_id, clip(a.name, 16), state, last, _local(a.last_success_at, tz),
                     a.error_count or "", _local(since, tz) if since else "", clip(a.last_error or "", 60),
                     _local(a.next_check_at, tz)))
    headers = ("platform", "id", "name", "state", "last crawl", "last success", "errors", "failing since",
               "last error", "next check")
    print(table(headers, rows))
    if flagged:
        print(f"{flagged} accounts need attention: failing for {settings.scheduler.attention_after_days} days or more")
    return 0


def cmd_feed(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    records = feed(open_repo(settings), settings.tz, department=args.department, platform=args.platform,
                   since=args.since, until=args.until, limit=args.limit)
    if args.format == "json":
        print(json.dumps(records, ensure_ascii=False, indent=2))
    elif args.format == "jsonl":
        for record in records:
            print(json.dumps(record, ensure_ascii=False))
    else:
        rows = [(r["published_at"][:16].replace("T", " "), r["platform"], clip(r["account"], 12),
                 clip(r["title"] or r["text"], 60)) for r in records]
        print(table(("published", "platform", "account", "text"), rows))
    return 0


def cmd_crawl(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    repo = open_repo(settings)
    if current_revision(repo.engine) != head_revision():
        raise MatrixError(f"{settings.storage.url}: the database is not initialised; run `govmatrix init` first")
    if args.all or args.account:
        accounts = repo.accounts(platform=args.platform, native_id=args.account, enabled_only=not args.account)
    else:
        accounts = repo.due_accounts(clock.now(), limit=100_000, platform=args.platform)
    if not accounts:
        print("no account is due" if not (args.all or args.account) else "no such account")
        return 0 if not args.account else 1
    outcomes = asyncio.run(refresh_many(accounts, repo, settings, clock.now))
    new = updated = failed = 0
    for o in sorted(outcomes, key=lambda o: (o.account.platform, o.account.native_id)):
        head = f"{o.account.label} {o.account.name}"
        if o.ok:
            print(f"{head}: {o.counts.new} new, {o.counts.updated} updated, {o.requests} requests")
        else:
            print(f"{head}: ERROR {o.error}")
        new, updated, failed = new + o.counts.new, updated + o.counts.updated, failed + (not o.ok)
    print(f"total: {len(outcomes)} accounts, {new} new posts, {updated} updated, {failed} failed")
    ran = any(o.ok or o.requests for o in outcomes)
    return 0 if ran else 1


def cmd_demo(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    return run_demo(settings, days=args.days)


def cmd_run(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    repo = open_repo(settings)
    if current_revision(repo.engine) != head_revision():
        raise MatrixError(f"{settings.storage.url}: the database is not initialised; run `govmatrix init` first")
    lock = sqlite_lock(settings.storage.url)
    if lock is not None:
        repo.release_leases()  # we are the only scheduler: any lease left is from a process that died
    scheduler = MatrixScheduler(settings, repo, clock.now, tick_seconds=args.tick)
    if args.once:
        outcomes = asyncio.run(scheduler.run_once())
        failed = sum(not o.ok for o in outcomes)
        print(f"run --once: {len(outcomes)} accounts refreshed, {failed} failed")
        return 0
    print(f"govmatrix run: scheduler {scheduler.owner} started (tick {args.tick:g} s); SIGTERM or Ctrl-C stops it")
    asyncio.run(_serve(scheduler))
    print("govmatrix run: stopped")
    return 0


async def _serve(scheduler: MatrixScheduler) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await scheduler.serve(stop)


def _time_arg(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 date or time, got {text!r}") from exc


def _clock(now: str | None) -> Clock:
    if now == "sandbox":
        return Clock(source=sandbox_time(os.environ.get("GOVMATRIX_SANDBOX_URL", SANDBOX_URL)))
    return Clock(fixed=parse_instant(now) if now else None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="govmatrix", description="Government new-media matrix aggregator.")
    parser.add_argument("--version", action="version", version=f"govmatrix {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (INFO)")
    parser.add_argument("--config", help="settings file (default: $GOVMATRIX_CONFIG or settings.toml)")
    parser.add_argument("--now", help="take this time as now: ISO 8601, or `sandbox` to follow the sandbox's clock "
                        "($GOVMATRIX_SANDBOX_URL, default http://127.0.0.1:8700); default: the system clock")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("init", help="create or upgrade the database and sync accounts from the settings").set_defaults(
        func=cmd_init)
    sub.add_parser("accounts", help="list departments and accounts").set_defaults(func=cmd_accounts)
    sub.add_parser("status", help="last crawl, last error and next check of every account").set_defaults(
        func=cmd_status)
    c = sub.add_parser("crawl", help="one pass over the due accounts (or all of them)")
    c.add_argument("--platform", choices=PLATFORMS)
    c.add_argument("--account", help="crawl only this account (its native id), due or not")
    c.add_argument("--all", action="store_true", help="crawl every enabled account, due or not")
    c.set_defaults(func=cmd_crawl)
    sandbox_cli.register(sub)
    d = sub.add_parser("demo", help="start the sandbox, crawl a simulated week into the store, show the result")
    d.add_argument("--days", type=int, default=DEMO_DAYS, help=f"simulated days to crawl (default {DEMO_DAYS})")
    d.set_defaults(func=cmd_demo)
    r = sub.add_parser("run", help="keep the whole matrix fresh: the long-running scheduler")
    r.add_argument("--once", action="store_true", help="one pass over the due accounts, then exit (for cron)")
    r.add_argument("--tick", type=float, default=TICK_SECONDS, help="seconds between looks for due accounts")
    r.set_defaults(func=cmd_run)
    f = sub.add_parser("feed", help="newest posts from the store")
    f.add_argument("--department", help="full or short department name")
    f.add_argument("--platform", choices=PLATFORMS)
    f.add_argument("--since", type=_time_arg, help="published at or after (ISO 8601, Asia/Shanghai if no offset)")
    f.add_argument("--until", type=_time_arg, help="published before")
    f.add_argument("--limit", type=int, default=50)
    f.add_argument("--format", choices=("table", "json", "jsonl"), default="table")
    f.set_defaults(func=cmd_feed)
    return parser


def setup_logging(verbose: bool) -> None:
    """WARNING by default, INFO with -v. httpx logs full URLs (WeChat puts the access token there)
    and Scrapy logs several lines per crawl, so both stay at WARNING."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("httpx", "httpcore", "scrapy"):
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        command: Command = args.func
        if command is sandbox_cli.cmd_sandbox:  # the sandbox needs no settings
            return command(args, None, None)
        settings = load_settings(args.config)
        return command(args, settings, _clock(args.now))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except MatrixError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
