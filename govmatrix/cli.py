"""The ``govmatrix`` command: parses arguments and calls into the package. No logic lives here.

It holds the one ``Clock`` and imports the sandbox, Scrapy and the web app only in the commands
that use them, so ``status`` or ``feed`` start in a fraction of a second. Exit status: 0 done,
1 the work failed (a store that cannot be written, nothing crawled), 2 a start-up problem the
operator can fix (settings, database URL, a database missing or not initialised), each one line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from typing import Any

from govmatrix import __version__
from govmatrix.clock import Clock
from govmatrix.config import Settings, load_settings
from govmatrix.errors import ConfigError, MatrixError, StoreError
from govmatrix.models import KINDS, REVIEW_STATES
from govmatrix.tz import parse_instant

Command = Callable[[argparse.Namespace, Settings, Clock], int]
SANDBOX_URL = "http://127.0.0.1:8700"
# Commands that never crawl run without the WeChat secrets; they say which accounts cannot be crawled.
NO_SECRETS = frozenset({"init", "accounts", "status", "feed", "exchange", "followers", "rankings", "exchanges",
                        "report", "user", "publish", "serve"})


def _local(value: datetime | None, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else "-"


_OPENED: list[Any] = []  # the stores a command opened, closed when it returns


def _repo(settings: Settings, *, write: bool = False) -> object:
    from govmatrix.bootstrap import open_repo
    from govmatrix.storage.db import check_writable

    try:
        if write:
            check_writable(settings.storage.url)
        repo = open_repo(settings)
    except StoreError as exc:  # a start-up problem: the operator fixes it
        raise ConfigError(str(exc)) from None
    _OPENED.append(repo)
    return repo


def cmd_init(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from govmatrix.bootstrap import initialize
    from govmatrix.storage.db import redacted

    try:
        repo, report = initialize(settings, clock.now())
    except StoreError as exc:
        raise ConfigError(str(exc)) from None
    _OPENED.append(repo)
    url = redacted(settings.storage.url)
    print(f"database: {url} ({'schema upgraded' if report.migrated else 'schema up to date'})")
    sync = report.sync
    for label, items in (("added", sync.added), ("updated", sync.updated), ("disabled", sync.disabled)):
        for item in items:
            print(f"  {label:<8} {item}")
    if not sync.changed:
        print("accounts: in step with the settings, nothing changed")
    else:
        print(f"accounts: {len(sync.added)} added, {len(sync.updated)} updated, {len(sync.disabled)} disabled")
    for label in report.rederived:
        print(f"  exchange record re-derived for {label} (its rules changed)")
    return 0


def cmd_accounts(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from govmatrix.render import table

    accounts = _repo(settings).accounts.find()  # type: ignore[attr-defined]
    rows = [(a.department, a.platform, a.native_id, a.name, "yes" if a.enabled else "no",
             a.interval or "adaptive") for a in accounts]
    print(table(("department", "platform", "id", "name", "enabled", "interval"), rows))
    print(f"{len(accounts)} accounts")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from govmatrix.status import status_table

    print(status_table(_repo(settings), settings, clock.now()))  # type: ignore[arg-type]
    return 0


def cmd_feed(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from govmatrix.matrix.feed import also_posted_line, page
    from govmatrix.render import clip, table
    from govmatrix.storage.feed import FeedQuery

    query = FeedQuery(
        department=args.department, platform=args.platform, account=args.account, kind=args.kind,
        review_state=args.review_state, since=args.since, until=args.until, alerts=args.alerts, flag=args.flag,
        search=args.search, collapsed=args.cluster == "collapsed", order=args.order, limit=args.limit)
    result = page(_repo(settings), settings.tz, query, args.after)  # type: ignore[arg-type]
    records = result.records
    if args.format == "json":
        print(json.dumps(records, ensure_ascii=False, indent=2))
    elif args.format == "jsonl":
        for record in records:
            print(json.dumps(record, ensure_ascii=False))
    else:
        rows = [(r["published_at"][:16].replace("T", " "), r["platform"], clip(r["account"], 12),
                 clip(" ".join(filter(None, (r["title"] or r["text"], also_posted_line(r)))), 72)) for r in records]
        print(table(("published", "platform", "account", "text"), rows))
    if result.cursor:
        print(f"more: add --after {result.cursor}", file=sys.stderr)
    return 0


def cmd_crawl(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from govmatrix import passes

    repo = _repo(settings, write=True)
    return passes.crawl_command(repo, settings, clock, platform=args.platform, account=args.account,  # type: ignore[arg-type]
                                everything=args.all)


def cmd_run(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from govmatrix import passes

    repo = _repo(settings, write=True)
    return passes.run_command(repo, settings, clock, once=args.once, tick=args.tick)  # type: ignore[arg-type]


def cmd_reprocess(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from govmatrix import passes

    repo = _repo(settings, write=True)
    return passes.reprocess_command(repo, settings, clock, platform=args.platform, since=args.since)  # type: ignore[arg-type]


def cmd_monthly(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from govmatrix import monthly

    month = monthly.month_arg(args.month, clock.now(), settings)
    print(monthly.show(_repo(settings), settings, args.command, month, args.format,  # type: ignore[arg-type]
                       getattr(args, "department", None)))
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from pathlib import Path

    from govmatrix import monthly

    if args.kind in ("inspection", "register"):
        from govmatrix import readiness

        day = readiness.date_arg(args.date, clock.now(), settings)
        out = readiness.write(_repo(settings), settings, args.kind, day, args.format,  # type: ignore[arg-type]
                              Path(args.out) if args.out else None, clock.now())
        print(f"{args.kind} report as of {day} written to {out}")
        return 0
    month = monthly.month_arg(args.month, clock.now(), settings)
    out = monthly.write(_repo(settings), settings, args.kind, month, args.format,  # type: ignore[arg-type]
                        Path(args.out) if args.out else None)
    print(f"{args.kind} report for {month} written to {out}")
    return 0


def cmd_exchange(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from govmatrix import passes

    repo = _repo(settings, write=True)
    return passes.rebuild_exchanges(repo, settings, clock.now(), account=args.account)  # type: ignore[arg-type]


def cmd_demo(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from govmatrix.demo import run_demo

    return run_demo(settings, days=args.days, serve=not args.no_serve)


def cmd_serve(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from govmatrix.web.commands import serve

    if args.scheduler and (missing := settings.missing_secrets()):
        raise ConfigError(f"{settings.path}: {missing[0][0]}: environment variable {missing[0][1].env} is not set "
                          "(serve --scheduler crawls)")
    repo = _repo(settings, write=True)
    return serve(repo, settings, clock, host=args.host or settings.web.host,  # type: ignore[arg-type]
                 port=args.port or settings.web.port, scheduler=args.scheduler)


def cmd_user(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from govmatrix.web.commands import user_command

    repo = _repo(settings, write=args.action != "list")
    return user_command(repo, clock, args.action, args.name, args.role, args.departments)  # type: ignore[arg-type]


def cmd_publish(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from govmatrix.web.commands import publish_command

    return publish_command(_repo(settings), settings, args.out, args.base_url)  # type: ignore[arg-type]


def cmd_sandbox(args: argparse.Namespace, settings: Settings | None, clock: Clock | None) -> int:
    from govmatrix.sandbox import cli as sandbox_cli

    return sandbox_cli.main(args.sandbox_args)


def _time_arg(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 date or time, got {text!r}") from exc


def _clock(now: str | None) -> Clock:
    if now == "sandbox":
        from govmatrix.sandbox.remote import SandboxUnreachable, read_clock

        url = os.environ.get("GOVMATRIX_SANDBOX_URL", SANDBOX_URL)

        def sandbox_now() -> datetime:
            try:
                return read_clock(url)
            except SandboxUnreachable as exc:
                raise ConfigError(f"--now sandbox: {exc}") from None

        return Clock(source=sandbox_now)
    return Clock(fixed=parse_instant(now) if now else None)


def _platforms() -> list[str]:
    from govmatrix.crawlers.base import REGISTRY

    return list(REGISTRY)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="govmatrix", description="Government new-media matrix aggregator.")
    parser.add_argument("--version", action="version", version=f"govmatrix {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (INFO)")
    parser.add_argument("--config", help="settings file (default: $GOVMATRIX_CONFIG or settings.toml)")
    parser.add_argument("--now", help="take this time as now: ISO 8601, or `sandbox` to follow the sandbox's clock "
                        f"($GOVMATRIX_SANDBOX_URL, default {SANDBOX_URL}); default: the system clock")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("init", help="create or upgrade the database and sync accounts from the settings").set_defaults(
        func=cmd_init)
    sub.add_parser("accounts", help="list departments and accounts").set_defaults(func=cmd_accounts)
    sub.add_parser("status", help="state, last crawl, last error and next check of every account").set_defaults(
        func=cmd_status)
    c = sub.add_parser("crawl", help="one pass over the due accounts (or all of them)")
    c.add_argument("--platform", choices=_platforms())
    c.add_argument("--account", help="crawl only this account (its native id), due or not")
    c.add_argument("--all", action="store_true", help="crawl every enabled account, due or not (back-off included)")
    c.set_defaults(func=cmd_crawl)
    s = sub.add_parser("sandbox", add_help=False, help="serve the simulated platforms on loopback (see --help)")
    s.add_argument("sandbox_args", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_sandbox)
    d = sub.add_parser("demo", help="start the sandbox, crawl simulated days into the store, show the result")
    d.add_argument("--days", type=int, default=30, help="simulated days to crawl (default 30)")
    d.add_argument("--no-serve", action="store_true", help="stop after crawling (do not serve the web app)")
    d.set_defaults(func=cmd_demo)
    r = sub.add_parser("run", help="keep the whole matrix fresh: the long-running scheduler")
    r.add_argument("--once", action="store_true", help="one pass over the due accounts, then exit (for cron)")
    r.add_argument("--tick", type=float, default=15.0, help="seconds between looks for due accounts")
    r.set_defaults(func=cmd_run)
    f = sub.add_parser("feed", help="newest posts from the store")
    f.add_argument("--department", help="full or short department name")
    f.add_argument("--platform", choices=_platforms())
    f.add_argument("--since", type=_time_arg, help="published at or after (ISO 8601, Asia/Shanghai if no offset)")
    f.add_argument("--until", type=_time_arg, help="published before")
    f.add_argument("--account", help="account name or platform id")
    f.add_argument("--kind", choices=KINDS)
    f.add_argument("--review-state", choices=REVIEW_STATES)
    f.add_argument("--alerts", action="store_true", help="only posts with an alert")
    f.add_argument("--flag", help="only posts with this flag (mojibake, charset_replaced, ...; * for any)")
    f.add_argument("--search", help="words or a phrase, traditional or simplified (two characters or more use the index)")
    f.add_argument("--cluster", choices=("expanded", "collapsed"), default="expanded",
                   help="collapsed: each near-duplicate cluster once, with the accounts that also posted it")
    f.add_argument("--order", choices=("newest", "alerts"), default="newest")
    f.add_argument("--after", help="the cursor a previous page printed")
    f.add_argument("--limit", type=int, default=50)
    f.add_argument("--format", choices=("table", "json", "jsonl"), default="table")
    f.set_defaults(func=cmd_feed)
    p = sub.add_parser("reprocess", help="run the pipelines again over stored posts")
    p.add_argument("--platform", choices=_platforms())
    p.add_argument("--since", type=_time_arg, help="only posts published at or after this time")
    p.set_defaults(func=cmd_reprocess)
    e = sub.add_parser("exchange", help="the online-exchange record")
    e.add_argument("action", choices=("rebuild",), help="rebuild: derive every session again from stored posts")
    e.add_argument("--account", help="only this forum account (its native id)")
    e.set_defaults(func=cmd_exchange)
    month_help = "YYYY-MM (default: last month)"
    for name, what in (("followers", "follower statistics of a month"), ("rankings", "rankings and indices of a month"),
                       ("exchanges", "the online exchanges of a month, missed first")):
        m = sub.add_parser(name, help=what)
        m.add_argument("--month", help=month_help)
        if name == "followers":
            m.add_argument("--department", help="only this department (full name or part of it)")
        m.add_argument("--format", choices=("table", "json"), default="table")
        m.set_defaults(func=cmd_monthly)
    rp = sub.add_parser("report", help="write a monthly report file, the inspection report or the account register")
    rp.add_argument("kind", choices=("followers", "exchange", "matrix", "inspection", "register"))
    rp.add_argument("--month", help=month_help + "; followers, exchange, matrix")
    rp.add_argument("--date", help="YYYY-MM-DD (default: today): the day inspection and register are as of")
    rp.add_argument("--format", choices=("xlsx", "html", "csv"), default="xlsx")
    rp.add_argument("--out", help="the file to write (default: [reports] dir / KIND-YYYY-MM.FORMAT, "
                    "KIND-YYYY-MM-DD.FORMAT for inspection and register)")
    rp.set_defaults(func=cmd_report)
    sv = sub.add_parser("serve", help="serve the micro-site, the review desk, the dashboards and the API")
    sv.add_argument("--host", help="address to listen on (default [web] host, 127.0.0.1)")
    sv.add_argument("--port", type=int, help="port (default [web] port, 8800)")
    sv.add_argument("--scheduler", action="store_true", help="also run the crawl scheduler in this process")
    sv.set_defaults(func=cmd_serve)
    u = sub.add_parser("user", help="the web app's users: add, list, passwd, disable, enable, token")
    u.add_argument("action", choices=("add", "list", "passwd", "disable", "enable", "token"))
    u.add_argument("name", nargs="?")
    u.add_argument("--role", choices=("admin", "reviewer", "viewer"), help="with add")
    u.add_argument("--departments", nargs="*", default=[], metavar="SHORT_NAME",
                   help="with add: a reviewer acts only on these departments' items (default: all)")
    u.set_defaults(func=cmd_user)
    pb = sub.add_parser("publish", help="write the micro-site as static files (incrementally)")
    pb.add_argument("--out", help="the folder (default [web] publish_dir)")
    pb.add_argument("--base-url", help="the micro-site's public address, for its feeds (default [web] base_url)")
    pb.set_defaults(func=cmd_publish)
    return parser


class _LocalTime(logging.Formatter):
    """Log times in the display zone with their offset, as ``status`` shows them."""

    def __init__(self, tz: tzinfo) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.tz = tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created, self.tz).isoformat(timespec="seconds")


def setup_logging(verbose: bool, tz: tzinfo | None = None) -> None:
    """WARNING by default, INFO with -v. httpx logs full URLs (WeChat puts the access token there)
    and Scrapy several lines per crawl, so both stay quiet."""
    from govmatrix.tz import SHANGHAI

    handler = logging.StreamHandler()
    handler.setFormatter(_LocalTime(tz or SHANGHAI))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    for name in ("httpx", "httpcore", "scrapy", "asyncio"):
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        command: Command = args.func
        if command is cmd_sandbox:  # the sandbox needs no settings
            return cmd_sandbox(args, None, None)
        settings = load_settings(args.config, require_secrets=args.command not in NO_SECRETS)
        setup_logging(args.verbose, settings.tz)
        if args.command in NO_SECRETS:
            _missing_secrets(settings)
        return command(args, settings, _clock(args.now))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except MatrixError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        while _OPENED:
            _OPENED.pop().close()


def _missing_secrets(settings: Settings) -> None:
    for where, secret in settings.missing_secrets():
        print(f"note: {where}: environment variable {secret.env} is not set; `crawl` and `run` need it",
              file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
