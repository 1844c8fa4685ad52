"""Ingest benchmark: bulk upserts of synthetic posts through Repo, next to the raw driver.

Loads N posts (24 accounts, realistic Chinese text) into a SQLite file (WAL) and, when a PostgreSQL
URL is given, into PostgreSQL; then the same N again with changed counts (all updates). The baseline is
the raw driver (sqlite3 / psycopg) running the same upsert SQL over the same rows with executemany.

    python bench/ingest.py [--posts 200000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Targets: at least 0.5x the raw baseline on both backends, at least 30,000 posts/s on SQLite for the
first load, peak memory under 300 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import fresh_pg_schema  # noqa: E402

from govmatrix.models import Post  # noqa: E402
from govmatrix.sandbox.texts import everyday_text  # noqa: E402
from govmatrix.storage.db import make_engine, migrate  # noqa: E402
from govmatrix.storage.posts import content_hash, row_values, sqlite_time, upsert_sql  # noqa: E402
from govmatrix.storage.repo import AccountSpec, Repo  # noqa: E402

BATCH = 5_000
ACCOUNTS = 24
START = datetime(2016, 4, 1, tzinfo=UTC)


def synthetic(total: int, round_: int) -> Iterator[list[Post]]:
    """Batches of posts; round 2 changes every post's counts so every row is an update."""
    texts = [everyday_text(7, i, length=1 + i % 3) for i in range(997)]
    for start in range(0, total, BATCH):
        batch = []
        for i in range(start, min(start + BATCH, total)):
            body = texts[i % len(texts)]
            batch.append(Post(
                platform="weibo", native_id=str(4_000_000_000_000_000 + i), body=f"<p>{body}</p>", text=body,
                html=f"<p>{body}</p>", text_norm=body, url=f"https://m.weibo.cn/detail/{4_000_000_000_000_000 + i}",
                author=f"菏泽部门{i % ACCOUNTS}", published_at=START + timedelta(minutes=i),
                reposts=i % 50 + round_, comments=i % 30 + round_, likes=i % 500 + round_,
                raw={"id": str(i), "text": body, "reposts_count": i % 50 + round_},
            ))
        yield batch


def prepare(url: str) -> Engine:
    """A migrated store with the benchmark's accounts."""
    engine = make_engine(url)
    migrate(engine)
    Repo(engine).accounts.sync([AccountSpec(f"部门{n}", f"部门{n}", "weibo", str(n), f"账号{n}", True, None, {})
                                for n in range(ACCOUNTS)])
    return engine


def timed_rounds(write: Callable[[int, list[Post]], None], total: int) -> list[float]:
    """posts/s of a first load and of a reload (all updates); ``write(n, batch)`` stores batch n."""
    rates = []
    for round_ in (1, 2):
        began = time.perf_counter()
        for n, batch in enumerate(synthetic(total, round_)):
            write(n, batch)
        rates.append(total / (time.perf_counter() - began))
    return rates


def run_repo(url: str, total: int) -> list[float]:
    engine = prepare(url)
    repo = Repo(engine)
    ids = [a.id for a in repo.accounts.find()]
    rates = timed_rounds(lambda n, batch: repo.posts.upsert(ids[n % ACCOUNTS], batch, datetime.now(UTC)), total)
    engine.dispose()
    return rates


def raw_rows(batch: list[Post], account_id: int, sqlite_style: bool) -> list[tuple[Any, ...]]:
    """The same row values Repo writes, converted as each driver needs them."""
    now = datetime.now(UTC)
    seen = sqlite_time(now) if sqlite_style else now
    return [row_values(post, account_id, seen, content_hash(post), sqlite_style) for post in batch]


def run_raw(execute_many: Callable[[list[tuple[Any, ...]]], None], total: int, sqlite_style: bool) -> list[float]:
    return timed_rounds(lambda n, batch: execute_many(raw_rows(batch, 1 + n % ACCOUNTS, sqlite_style)), total)


def raw_sqlite(path: Path, total: int) -> list[float]:
    prepare(f"sqlite:///{path}").dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    sql = upsert_sql("?")

    def execute_many(rows: list[tuple[Any, ...]]) -> None:
        with conn:
            conn.executemany(sql, rows)

    try:
        return run_raw(execute_many, total, sqlite_style=True)
    finally:
        conn.close()


def raw_postgres(url: str, total: int) -> list[float]:
    import psycopg

    prepare(url).dispose()
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    sql = upsert_sql("%s")

    def execute_many(rows: list[tuple[Any, ...]]) -> None:
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(sql, rows)

    try:
        return run_raw(execute_many, total, sqlite_style=False)
    finally:
        conn.close()


def report(backend: str, ours: list[float], base: list[float]) -> None:
    for label, o, b in (("first load", ours[0], base[0]), ("reload (updates)", ours[1], base[1])):
        print(f"{backend:<10} {label:<17} govmatrix {o:>9,.0f} posts/s   raw driver {b:>9,.0f} posts/s   "
              f"ratio {o / b:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--pg", default=os.environ.get("GOVMATRIX_TEST_DATABASE_URL", ""))
    args = parser.parse_args()
    print(f"ingest benchmark: {args.posts:,} posts, {ACCOUNTS} accounts, batches of {BATCH:,}")
    with tempfile.TemporaryDirectory() as tmp:
        ours = run_repo(f"sqlite:///{Path(tmp) / 'ours.db'}", args.posts)
        base = raw_sqlite(Path(tmp) / "raw.db", args.posts)
        report("sqlite", ours, base)
        print(f"{'':<10} target: >= 0.5x raw and >= 30,000 posts/s first load -> "
              f"{'met' if ours[0] >= 30_000 and min(o / b for o, b in zip(ours, base, strict=True)) >= 0.5 else 'NOT met'}")
    if args.pg:
        ours = run_repo(fresh_pg_schema(args.pg, "bench_ours"), args.posts)
        base = raw_postgres(fresh_pg_schema(args.pg, "bench_raw"), args.posts)
        report("postgresql", ours, base)
        print(f"{'':<10} target: >= 0.5x raw -> {'met' if min(o / b for o, b in zip(ours, base, strict=True)) >= 0.5 else 'NOT met'}")
        for name in ("bench_ours", "bench_raw"):
            fresh_pg_schema(args.pg, name)
    else:
        print("postgresql: skipped (give --pg URL or set GOVMATRIX_TEST_DATABASE_URL)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak_mb:.0f} MB (target < 300 MB)")


if __name__ == "__main__":
    main()
