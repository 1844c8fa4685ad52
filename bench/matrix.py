"""Matrix benchmark: feed queries on a large store, next to a naive scan, and the monthly report build.

Builds a synthetic store of N posts (default 1,000,000) from 1,000 accounts (600 Weibo, 400 WeChat)
of 50 departments over 365 days, with 365 days of follower snapshots per account and 50 forum
accounts with weekly exchange sessions; on SQLite (a file, WAL) and, with --pg, on PostgreSQL.
Texts are everyday posts of a 30,000-word vocabulary; 食品 is in about 3 % of them, 疫苗 in 0.3 %,
供暖 in 0.03 %. Then, per query kind, 40 queries through ``matrix.feed.page`` (the path every view
uses): filter only (a department, a platform and a month), a two-character word, and a word plus
filters, each first page and the page after it; p50/p95 in ms. The baseline runs the same queries
as one naive SQL statement each: ``text_norm LIKE '%word%'`` (no index can serve it) and, for
filter-only, OFFSET paging to page 20. Last, the monthly matrix report (followers, indices,
exchanges, written as xlsx) for one month. Peak memory is this process's maximum RSS.

    python bench/matrix.py [--posts 1000000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Floor: p95 < 50 ms at 10^6 posts; report build < 5 s for 1,000 accounts.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from support import fresh_pg_schema  # noqa: E402

from govmatrix.matrix.feed import page  # noqa: E402
from govmatrix.matrix.period import Month  # noqa: E402
from govmatrix.matrix.reports import monthly_reports, write_report  # noqa: E402
from govmatrix.models import ExchangeQuestion, ExchangeSession, FollowerSnapshot, Post  # noqa: E402
from govmatrix.storage.db import make_engine, migrate  # noqa: E402
from govmatrix.storage.feed import FeedQuery  # noqa: E402
from govmatrix.storage.repo import AccountSpec, Repo  # noqa: E402
from govmatrix.tz import SHANGHAI  # noqa: E402

START = datetime(2016, 1, 1, tzinfo=SHANGHAI)
DAYS = 365
DEPARTMENTS = [f"菏泽市第{i}局" for i in range(50)]
WORDS = {"食品": 0.03, "疫苗": 0.003, "供暖": 0.0003}
REPS = 40
NOW = datetime(2017, 1, 1, tzinfo=UTC)


def vocabulary(r: random.Random) -> list[str]:
    chars = [bytes([hi, lo]).decode("gb2312") for hi in range(0xB0, 0xD8) for lo in range(0xA1, 0xFF)
             if (hi, lo) < (0xD7, 0xFA)]
    words = ["".join(r.choices(chars, k=r.choice((2, 2, 3)))) for _ in range(30_000)]
    return [w for w in words if not any(k in w for k in WORDS)]


def specs() -> list[AccountSpec]:
    out = []
    for i in range(1050):
        platform = "weibo" if i < 600 else "wechat" if i < 1000 else "forum"
        options: dict[str, Any] = {"fid": i} if platform == "forum" else {}
        out.append(AccountSpec(department=DEPARTMENTS[i % 50], department_short=f"第{i % 50}局", platform=platform,
                               native_id=str(10_000 + i), name=f"账号{i}", enabled=True, interval=None,
                               options=options))
    return out


def load(repo: Repo, total: int) -> float:
    r = random.Random(5)
    words = vocabulary(r)
    repo.accounts.sync(specs())
    accounts = [a for a in repo.accounts.find() if a.platform != "forum"]
    started = time.perf_counter()
    per_account = total // len(accounts)
    for n, account in enumerate(accounts):
        posts = []
        for k in range(per_account):
            body = "".join(r.choices(words, k=r.randint(20, 45)))
            for word, share in WORDS.items():
                if r.random() < share:
                    cut = r.randrange(len(body))
                    body = body[:cut] + word + body[cut:]
            when = START + timedelta(seconds=r.randrange(DAYS * 86_400))
            posts.append(Post(platform=account.platform, native_id=f"{account.native_id}-{k}", text=body, body=body,
                              text_norm=body, published_at=when, reposts=r.randrange(50), comments=r.randrange(30),
                              likes=r.randrange(500), kind="article" if account.platform == "wechat" else "original",
                              extra={"index": 1 + k % 3} if account.platform == "wechat" else {}))
        repo.posts.upsert(account.id, posts, NOW)
        snaps = [FollowerSnapshot(taken_at=START + timedelta(days=d, hours=20), followers=1000 + n * 10 + d * 3,
                                  source="profile" if account.platform == "weibo" else "datacube") for d in range(DAYS)]
        repo.snapshots.upsert(account.id, snaps, SHANGHAI)
        if n % 100 == 0:
            print(f"  loaded {n * per_account:,} posts", file=sys.stderr)
    for account in repo.accounts.find(platform="forum"):
        sessions = []
        for week in range(52):
            at = START + timedelta(weeks=week, hours=9)
            questions = [ExchangeQuestion(native_id=f"{account.native_id}-{week}-{q}", author="网友", text="请问？",
                                          asked_at=at + timedelta(minutes=q), answered_at=at + timedelta(minutes=q + 5),
                                          answer_native_id=f"a{q}", suggestion=q == 0) for q in range(8)]
            sessions.append(ExchangeSession(native_id=f"{account.native_id}-{week}", title="网上在线交流", url="",
                                            start=at, end=at + timedelta(hours=1), questions=questions))
        repo.exchanges.replace(account.id, sessions, NOW)
    return time.perf_counter() - started


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def naive(repo: Repo, word: str | None, department: str | None, platform: str | None, offset: int = 0) -> Any:
    where = ["1 = 1"]
    params: dict[str, Any] = {"offset": offset}
    if word:
        where.append("p.text_norm LIKE :pattern")
        params["pattern"] = f"%{word}%"
    if department:
        where.append("d.name = :department")
        params["department"] = department
    if platform:
        where.append("p.platform = :platform")
        params["platform"] = platform
    sql = text("SELECT p.id, p.title, p.text, p.published_at, a.name FROM posts p JOIN accounts a ON a.id = p.account_id "
               "LEFT JOIN departments d ON d.id = a.department_id WHERE " + " AND ".join(where) +
               " ORDER BY p.published_at DESC, p.id DESC LIMIT 50 OFFSET :offset")
    with repo.engine.connect() as conn:
        return conn.execute(sql, params).all()


def queries(r: random.Random) -> dict[str, list[dict[str, Any]]]:
    month = lambda: START + timedelta(days=30 * r.randrange(11))  # noqa: E731
    kinds: dict[str, list[dict[str, Any]]] = {"filter only": [], "two-character word": [], "word + filters": []}
    for i in range(REPS):
        since = month()
        kinds["filter only"].append({"department": r.choice(DEPARTMENTS), "platform": r.choice(("weibo", "wechat")),
                                     "since": since, "until": since + timedelta(days=30)})
        kinds["two-character word"].append({"search": list(WORDS)[i % 3]})
        kinds["word + filters"].append({"search": list(WORDS)[i % 3], "department": r.choice(DEPARTMENTS),
                                        "platform": r.choice(("weibo", "wechat"))})
    return kinds


def measure(repo: Repo, label: str) -> None:
    kinds = queries(random.Random(9))
    print(f"\n{label}: feed query latency, ms (p50 / p95 of {REPS} queries, first page and the next)")
    print(f"  {'query':<20} {'govmatrix':>18} {'naive scan':>18}")
    for kind, qs in kinds.items():
        ours, base = [], []
        for q in qs:
            result = page(repo, SHANGHAI, FeedQuery(limit=50, **q))
            ours.append(timed(lambda q=q: page(repo, SHANGHAI, FeedQuery(limit=50, **q))))
            if result.cursor:
                ours.append(timed(lambda q=q, c=result.cursor: page(repo, SHANGHAI, FeedQuery(limit=50, **q), c)))
            word, dept, platform = q.get("search"), q.get("department"), q.get("platform")
            offset = 950 if kind == "filter only" else 0
            base.append(timed(lambda w=word, d=dept, p=platform, o=offset: naive(repo, w, d, p, o)))
            if kind != "filter only" and len(base) % 4 == 0:
                base.append(timed(lambda w=word, d=dept, p=platform: naive(repo, w, d, p, 50)))
        print(f"  {kind:<20} {_p(ours):>18} {_p(base):>18}")


def _p(values: list[float]) -> str:
    values = sorted(values)
    return f"{statistics.median(values):.1f} / {values[int(len(values) * 0.95) - 1]:.1f}"


def report_build(repo: Repo, out: Path) -> None:
    started = time.perf_counter()
    report = monthly_reports(repo, ["matrix"], Month(2016, 6), SHANGHAI)["matrix"]
    write_report(report, "xlsx", out)
    print(f"  monthly matrix report (1,000 followed accounts, 365 days of snapshots): "
          f"{time.perf_counter() - started:.2f} s")


def run(url: str, label: str, total: int, tmp: Path) -> None:
    engine = make_engine(url)
    migrate(engine)
    repo = Repo(engine)
    seconds = load(repo, total)
    print(f"\n{label}: loaded {total:,} posts (search index included) in {seconds:.0f} s "
          f"({total / seconds:,.0f} posts/s)")
    if repo.dialect == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    measure(repo, label)
    report_build(repo, tmp / f"{label}.xlsx")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--pg", help="a PostgreSQL URL (a fresh schema is made and dropped)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", "SQLite", args.posts, Path(tmp))
        if args.pg:
            run(fresh_pg_schema(args.pg, "bench_matrix"), "PostgreSQL", args.posts, Path(tmp))
    print(f"\npeak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print("floor: p95 < 50 ms at 10^6 posts; report build < 5 s")


if __name__ == "__main__":
    main()
